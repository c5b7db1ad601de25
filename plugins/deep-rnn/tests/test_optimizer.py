"""Clipped Adam: the clipping rule, agreement with Adam below the threshold, non-finite steps."""

from __future__ import annotations

import io

import pytest
import torch
from methodlab_deep_rnn.optimizer import ClippedAdam, clip_by_global_norm_


def test_clipping_rescales_to_the_threshold_and_keeps_the_direction():
    grads = [torch.tensor([3.0, 0.0]), torch.tensor([[4.0]])]
    assert clip_by_global_norm_(grads, 2.5) == pytest.approx(5.0)
    torch.testing.assert_close(grads[0], torch.tensor([1.5, 0.0]))
    torch.testing.assert_close(grads[1], torch.tensor([[2.0]]))
    # Below the threshold nothing changes.
    assert clip_by_global_norm_(grads, 10.0) == pytest.approx(2.5)
    torch.testing.assert_close(grads[0], torch.tensor([1.5, 0.0]))


def test_equals_adam_when_gradients_are_small():
    torch.manual_seed(0)
    start = torch.randn(5, dtype=torch.float64)
    a, b = start.clone().requires_grad_(), start.clone().requires_grad_()
    clipped = ClippedAdam([a], lr=0.1, max_norm=100.0)
    plain = torch.optim.Adam([b], lr=0.1)
    for _ in range(4):
        for p, opt in ((a, clipped), (b, plain)):
            opt.zero_grad()
            (p ** 2).sum().backward()
            opt.step()
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_large_gradients_take_a_clipped_step():
    # The first Adam step moves each coordinate by lr whatever the scale, so compare moments.
    w = torch.zeros(2, requires_grad=True)
    opt = ClippedAdam([w], lr=0.1, max_norm=1.0)
    (w @ torch.tensor([300.0, 400.0])).backward()
    opt.step()
    torch.testing.assert_close(opt.state[w]["exp_avg"], 0.1 * torch.tensor([0.6, 0.8]))


def test_a_non_finite_gradient_skips_the_step_and_is_counted():
    w = torch.ones(1, requires_grad=True)
    opt = ClippedAdam([w], lr=0.1, max_norm=1.0)
    for x in (1.0, 2.0, 1e20, 0.5):
        opt.zero_grad()
        ((w * x) ** 2).sum().backward()  # overflows to inf at x = 1e20 (float32)
        before = w.detach().clone()
        opt.step()
        if x == 1e20:
            torch.testing.assert_close(w.detach(), before, rtol=0, atol=0)
    assert torch.isfinite(w).all()
    assert opt.param_groups[0]["skipped_steps"] == 1
    assert int(opt.state[w]["step"]) == 3

    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    restored = ClippedAdam([torch.ones(1, requires_grad=True)], max_norm=1.0)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert restored.param_groups[0]["skipped_steps"] == 1


def test_rejects_bad_settings():
    with pytest.raises(ValueError, match="max_norm must be positive"):
        ClippedAdam([torch.ones(1, requires_grad=True)], max_norm=0.0)
    with pytest.raises(ValueError, match="one parameter group"):
        ClippedAdam([{"params": [torch.ones(1, requires_grad=True)]},
                     {"params": [torch.ones(1, requires_grad=True)]}])
