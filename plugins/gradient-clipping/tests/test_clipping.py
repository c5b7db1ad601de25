"""ClippedSGD: clipping, momentum, state, and steps whose gradient norm is not finite."""

from __future__ import annotations

import copy
import io
import logging
import math

import pytest
import torch
from methodlab_gradient_clipping.clipping import (
    ClippedSGD,
    NonFiniteGradientError,
    clip_by_norm,
    gradient_norm,
)
from torch import nn


def make_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()


def batches(n: int, scale: float = 1.0):
    generator = torch.Generator().manual_seed(1)
    return [(scale * torch.randn(8, 3, generator=generator, dtype=torch.float64),
             torch.randn(8, 2, generator=generator, dtype=torch.float64)) for _ in range(n)]


def train(model: nn.Module, optimizer: torch.optim.Optimizer, data) -> list[float]:
    losses = []
    for x, y in data:
        optimizer.zero_grad()
        loss = (model(x) - y).pow(2).sum()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("threshold", [0.05, 1.0, 100.0])
def test_clipping_matches_torch_clip_grad_norm(threshold):
    grads = [torch.randn(3, 4, dtype=torch.float64), torch.randn(5, dtype=torch.float64)]
    expected = [g.clone() for g in grads]
    expected_original = [g.clone() for g in grads]
    params = [nn.Parameter(torch.zeros_like(g)) for g in expected]
    for p, g in zip(params, expected, strict=True):
        p.grad = g
    torch_norm = nn.utils.clip_grad_norm_(params, threshold)
    norm = clip_by_norm(grads, threshold)
    assert norm == pytest.approx(float(torch_norm), rel=1e-12)
    factor = min(1.0, threshold / norm)  # the paper's rule, exactly
    for g, p, original in zip(grads, params, expected_original, strict=True):
        torch.testing.assert_close(g, factor * original, rtol=1e-14, atol=0)
        # torch divides by ‖g‖ + 1e-6, hence the looser agreement.
        torch.testing.assert_close(g, p.grad, rtol=1e-5, atol=0)
    assert float(gradient_norm(grads)) == pytest.approx(min(norm, threshold), rel=1e-12)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_infinite_threshold_is_torch_sgd(momentum):
    data = batches(6, scale=5.0)
    ours, reference = make_model(), make_model()
    a = train(ours, ClippedSGD(ours.parameters(), lr=0.05, momentum=momentum,
                               threshold=math.inf), data)
    b = train(reference, torch.optim.SGD(reference.parameters(), lr=0.05, momentum=momentum),
              data)
    assert a == b
    for p, q in zip(ours.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)


def test_clipped_step_is_sgd_on_the_rescaled_gradient():
    model = make_model()
    reference = copy.deepcopy(model)
    optimizer = ClippedSGD(model.parameters(), lr=0.1, threshold=0.5)
    x, y = batches(1, scale=10.0)[0]
    for net in (model, reference):
        (net(x) - y).pow(2).sum().backward()
    norm = float(gradient_norm([p.grad for p in reference.parameters()]))
    assert norm > 0.5
    optimizer.step()
    assert optimizer.last_norm == pytest.approx(norm, rel=1e-12)
    with torch.no_grad():
        for p, q in zip(model.parameters(), reference.parameters(), strict=True):
            torch.testing.assert_close(p, q - 0.1 * 0.5 * q.grad / norm, rtol=1e-12, atol=0)


def overflow_run(nonfinite: str):
    """FT-10: w = 1 (float32), loss (w x)², x = 1e20 at step 3 overflows."""
    w = nn.Parameter(torch.tensor([1.0]))
    optimizer = ClippedSGD([w], lr=0.01, threshold=1.0, nonfinite=nonfinite)
    history = []
    for step, x in enumerate([1.0, 2.0, 1e20, 1.0, 0.5], start=1):
        optimizer.zero_grad()
        loss = (w * x).pow(2).sum()
        loss.backward()
        optimizer.step()
        assert torch.isfinite(w).all(), f"step {step} wrote {w}"
        history.append(w.item())
    return history, optimizer


def test_nonfinite_norm_skips_the_step(caplog):
    with caplog.at_level(logging.WARNING, logger="methodlab_gradient_clipping.clipping"):
        history, optimizer = overflow_run("skip")
    assert math.isinf(float((torch.tensor([1e20]) ** 2).sum()))  # the premise: it overflows
    assert history[2] == history[1]  # step 3 left the parameter as step 2 did
    assert history[3] != history[2]  # and training goes on
    assert optimizer.skipped_steps == 1
    assert math.isfinite(optimizer.last_norm)  # the norm of step 5
    (record,) = caplog.records
    assert "step 3" in record.getMessage() and "inf" in record.getMessage()


def test_nonfinite_norm_can_raise():
    with pytest.raises(NonFiniteGradientError, match="step 3: gradient norm is inf"):
        overflow_run("raise")


def test_nan_gradient_never_reaches_parameters_or_momentum():
    w = nn.Parameter(torch.tensor([1.0, 2.0]))
    optimizer = ClippedSGD([w], lr=0.1, momentum=0.9, threshold=math.inf)
    w.grad = torch.tensor([1.0, 1.0])
    optimizer.step()
    before = (w.detach().clone(), optimizer.state[w]["momentum_buffer"].clone())
    w.grad = torch.tensor([float("nan"), 1.0])
    optimizer.step()
    assert torch.equal(w.detach(), before[0])
    assert torch.equal(optimizer.state[w]["momentum_buffer"], before[1])
    assert optimizer.skipped_steps == 1


def test_state_round_trip_continues_identically():
    data = batches(6, scale=3.0)
    model = make_model()
    optimizer = ClippedSGD(model.parameters(), lr=0.05, momentum=0.5, threshold=0.3)
    train(model, optimizer, data[:3])
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    restored = make_model(seed=5)
    restored.load_state_dict(state["model"])
    restored_optimizer = ClippedSGD(restored.parameters(), lr=0.05, momentum=0.5,
                                    threshold=0.3)
    restored_optimizer.load_state_dict(state["optimizer"])
    assert restored_optimizer.last_norm == optimizer.last_norm
    assert train(model, optimizer, data[3:]) == train(restored, restored_optimizer, data[3:])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"lr": 0.0}, "learning rate"),
    ({"momentum": 1.0}, "momentum"),
    ({"threshold": -1.0}, "threshold"),
    ({"threshold": math.nan}, "threshold"),
    ({"nonfinite": "ignore"}, "nonfinite"),
])
def test_invalid_settings_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClippedSGD(make_model().parameters(), **kwargs)


def test_one_parameter_group_only():
    model = make_model()
    with pytest.raises(ValueError, match="one parameter group"):
        ClippedSGD([{"params": model[0].parameters()}, {"params": model[2].parameters()}])
