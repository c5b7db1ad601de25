"""Tests of the natural-gradient optimizer plugin."""

from __future__ import annotations

import io
import subprocess
import sys

import attrs
import pytest
import torch
import torch.nn.functional as F
from methodlab.components import Batch, Loss, OutputLoss
from methodlab.curvature import flatten, unflatten_like
from methodlab.step import StepContext
from methodlab.testing import conformance_suite
from methodlab_natural_gradient import methodlab_optimizers
from methodlab_natural_gradient.config import NaturalGradientParams
from methodlab_natural_gradient.optimizer import (
    NaturalGradient,
    build,
    levenberg_marquardt,
    natural_direction,
)
from torch import nn
from torch.autograd.functional import hessian, jacobian
from torch.func import functional_call

DTYPE = torch.float64

test_conformance = conformance_suite("natural-gradient")


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-natural-gradient", "natural-gradient")


class HalfSquaredError(OutputLoss):
    def from_outputs(self, outputs, targets):
        return 0.5 * (outputs - targets).pow(2).sum(-1).mean()


class BernoulliCrossEntropy(OutputLoss):
    def from_outputs(self, outputs, targets):
        return F.binary_cross_entropy_with_logits(outputs, targets, reduction="sum") / len(outputs)

    def sample_targets(self, outputs, generator):
        return torch.bernoulli(torch.sigmoid(outputs.detach()), generator=generator)


def autoencoder(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 3), nn.Tanh(), nn.Linear(3, 8)
    ).to(DTYPE)


def binary_patterns(n: int, seed: int = 0) -> torch.Tensor:
    """(n, 8) pixels in [0, 1] from 3 latent factors, so a 3-unit code can reconstruct them."""
    generator = torch.Generator().manual_seed(seed)
    codes = torch.randn(n, 3, generator=generator, dtype=DTYPE)
    mixing = torch.randn(3, 8, generator=generator, dtype=DTYPE)
    return torch.sigmoid(2.0 * codes @ mixing)


def regression_problem(seed: int = 0) -> tuple[nn.Module, Batch]:
    generator = torch.Generator().manual_seed(seed + 10)
    x = torch.randn(128, 4, generator=generator, dtype=DTYPE)
    y = torch.stack([torch.sin(2 * x[:, 0]) * x[:, 1], torch.tanh(x[:, 2] - x[:, 3])], dim=1)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2)).to(DTYPE)
    return model, Batch(x, y)


def dense_ggn(model: nn.Module, loss: OutputLoss, x: torch.Tensor, targets) -> torch.Tensor:
    """Explicit J^T H J of shape (P, P)."""
    names = [name for name, _ in model.named_parameters()]
    like = [p.detach() for p in model.parameters()]

    def forward(theta):
        values = unflatten_like(theta, like)
        return functional_call(model, dict(zip(names, values, strict=True)), (x,))

    theta = flatten(like)
    outputs = forward(theta).detach()
    jac = jacobian(forward, theta).reshape(outputs.numel(), -1)  # (B C, P)
    out_hessian = hessian(
        lambda z: loss.from_outputs(z.view_as(outputs), targets), outputs.reshape(-1)
    )  # (B C, B C)
    return jac.T @ out_hessian @ jac


def run(optimizer: torch.optim.Optimizer, context: StepContext, steps: int) -> list[float]:
    closure = context.closure_for(optimizer)
    losses = []
    for _ in range(steps):
        if getattr(optimizer, "needs_step_context", False):
            losses.append(float(optimizer.step(closure, context=context)))
        else:
            losses.append(float(closure().detach()))
            optimizer.step()
    return losses


# --- Fisher-vector products --------------------------------------------------------------------


@pytest.mark.parametrize("loss", [HalfSquaredError(), BernoulliCrossEntropy()])
def test_fisher_product_matches_explicit_jacobian(loss):
    model = autoencoder(0)
    x = binary_patterns(16)
    optimizer = NaturalGradient(model.parameters())
    context = StepContext(model=model, loss=loss, batch=Batch(x, x))
    v = torch.randn(sum(p.numel() for p in model.parameters()), dtype=DTYPE)
    expected = dense_ggn(model, loss, x, x) @ v
    actual = optimizer.fisher_operator(context)(v)
    torch.testing.assert_close(actual, expected, rtol=1e-6, atol=1e-12)


def test_fisher_on_unlabeled_curvature_inputs():
    model = autoencoder(0)
    loss = BernoulliCrossEntropy()
    x, unlabeled = binary_patterns(16, seed=0), binary_patterns(24, seed=1)
    optimizer = NaturalGradient(model.parameters(), fisher_source="curvature")
    context = StepContext(model=model, loss=loss, batch=Batch(x, x), curvature_inputs=unlabeled)
    v = torch.randn(sum(p.numel() for p in model.parameters()), dtype=DTYPE)
    # The Bernoulli output Hessian does not depend on the targets, so any targets will do.
    expected = dense_ggn(model, loss, unlabeled, unlabeled) @ v
    torch.testing.assert_close(
        optimizer.fisher_operator(context)(v), expected, rtol=1e-6, atol=1e-12
    )


def test_fisher_subsample_uses_requested_rows():
    model = autoencoder(0)
    loss = HalfSquaredError()
    x = binary_patterns(32)
    optimizer = NaturalGradient(model.parameters(), fisher_batch_size=8)
    context = StepContext(model=model, loss=loss, batch=Batch(x, x))
    v = torch.randn(sum(p.numel() for p in model.parameters()), dtype=DTYPE)
    rows = torch.randperm(32, generator=torch.Generator().manual_seed(0))[:8]
    expected = dense_ggn(model, loss, x[rows], x[rows]) @ v
    torch.testing.assert_close(
        optimizer.fisher_operator(context)(v), expected, rtol=1e-6, atol=1e-12
    )


# --- the update --------------------------------------------------------------------------------


def test_natural_direction_solves_damped_system():
    generator = torch.Generator().manual_seed(0)
    m = torch.randn(12, 12, generator=generator, dtype=DTYPE)
    fisher = m @ m.T
    g = torch.randn(12, generator=generator, dtype=DTYPE)
    expected = torch.linalg.solve(fisher + 0.5 * torch.eye(12, dtype=DTYPE), g)
    for solver in ("cg", "minres"):
        d, info = natural_direction(
            lambda v: fisher @ v, g, damping=0.5, solver=solver, max_iter=100, tol=1e-12
        )
        torch.testing.assert_close(d, expected, rtol=1e-8, atol=1e-10)
        assert info.converged


def test_levenberg_marquardt_rule():
    kw = {"boost": 1.5, "drop": 0.5, "min_damping": 0.1}
    assert levenberg_marquardt(1.0, 0.1, **kw) == 1.5
    assert levenberg_marquardt(1.0, float("nan"), **kw) == 1.5
    assert levenberg_marquardt(1.0, 0.5, **kw) == 1.0
    assert levenberg_marquardt(1.0, 0.9, **kw) == 0.5
    assert levenberg_marquardt(0.15, 0.9, **kw) == 0.1


def test_decreases_loss_faster_than_sgd_per_update():
    steps = 15
    losses = {}
    for name in ("natural-gradient", "sgd-0.1", "sgd-0.3", "sgd-1.0"):
        model, batch = regression_problem()
        if name == "natural-gradient":
            optimizer = NaturalGradient(model.parameters())
        else:
            lr = float(name.split("-")[1])
            optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        context = StepContext(model=model, loss=HalfSquaredError(), batch=batch)
        run(optimizer, context, steps)
        losses[name] = float(HalfSquaredError()(model, batch).detach())
    best_sgd = min(value for name, value in losses.items() if name.startswith("sgd"))
    assert losses["natural-gradient"] < 0.1 * best_sgd, losses


def test_counts_and_damping_adaptation_in_state():
    model, batch = regression_problem()
    optimizer = NaturalGradient(model.parameters(), damping=10.0, max_iter=5)
    run(optimizer, StepContext(model=model, loss=HalfSquaredError(), batch=batch), 3)
    state = optimizer.state[next(iter(model.parameters()))]
    assert state["n_iter"] == 3
    assert state["func_evals"] == 6  # closure plus the reduction-ratio evaluation
    assert state["fisher_products"] == 3 * (state["solver_iterations"] + 1)
    assert state["damping"] < 10.0  # an accurate model lowers the damping


def test_batchnorm_running_stats_updated_only_by_the_closure():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 2))
    model = model.to(DTYPE).train()
    _, batch = regression_problem()
    optimizer = NaturalGradient(model.parameters(), max_iter=5)
    run(optimizer, StepContext(model=model, loss=HalfSquaredError(), batch=batch), 2)
    assert int(model[1].num_batches_tracked) == 2


def test_state_dict_round_trip_gives_bitwise_identical_steps():
    def make():
        model = autoencoder(1)
        optimizer = NaturalGradient(
            model.parameters(), warm_start=True, fisher_batch_size=20, max_iter=8
        )
        return model, optimizer

    x = binary_patterns(48)
    loss = BernoulliCrossEntropy()
    model, optimizer = make()
    run(optimizer, StepContext(model=model, loss=loss, batch=Batch(x, x)), 3)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True)
    resumed_model, resumed = make()
    resumed_model.load_state_dict(checkpoint["model"])
    resumed.load_state_dict(checkpoint["optimizer"])

    original = run(optimizer, StepContext(model=model, loss=loss, batch=Batch(x, x)), 3)
    again = run(resumed, StepContext(model=resumed_model, loss=loss, batch=Batch(x, x)), 3)
    assert original == again
    for p, q in zip(model.parameters(), resumed_model.parameters(), strict=True):
        assert torch.equal(p, q)
    assert (
        optimizer.state[model[0].weight]["damping"]
        == resumed.state[resumed_model[0].weight]["damping"]
    )


# --- errors ------------------------------------------------------------------------------------


def test_step_without_context_explains_what_is_needed():
    model, batch = regression_problem()
    optimizer = NaturalGradient(model.parameters())
    context = StepContext(model=model, loss=HalfSquaredError(), batch=batch)
    with pytest.raises(ValueError, match=r"StepContext\(model=model, loss="):
        optimizer.step(context.closure_for(optimizer))


def test_step_with_plain_loss_raises():
    class PenalisedLoss(Loss):
        def __call__(self, model, batch):
            penalty = sum(p.square().sum() for p in model.parameters())
            return HalfSquaredError()(model, batch) + penalty

    model, batch = regression_problem()
    optimizer = NaturalGradient(model.parameters())
    context = StepContext(model=model, loss=PenalisedLoss(), batch=batch)
    with pytest.raises(TypeError, match="OutputLoss"):
        optimizer.step(context.closure_for(optimizer), context=context)


def test_step_with_unstructured_batch_raises():
    model, batch = regression_problem()
    optimizer = NaturalGradient(model.parameters())
    context = StepContext(model=model, loss=HalfSquaredError(), batch=(batch.inputs, batch.targets))
    with pytest.raises(TypeError, match="Batch"):
        optimizer.fisher_operator(context)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 0.0},
        {"damping": -1.0},
        {"min_damping": -1.0},
        {"damping_boost": 0.5},
        {"damping_drop": 1.5},
        {"solver": "lsqr"},
        {"max_iter": 0},
        {"tol": -1.0},
        {"fisher_source": "labels"},
        {"fisher_batch_size": -1},
    ],
)
def test_invalid_hyperparameters_raise(kwargs):
    model, _ = regression_problem()
    name = next(iter(kwargs)).replace("lr", "learning rate")
    with pytest.raises(ValueError, match=f"Invalid {name}"):
        NaturalGradient(model.parameters(), **kwargs)
    with pytest.raises(ValueError):
        NaturalGradientParams(**kwargs)


def test_rejects_parameter_groups():
    model, _ = regression_problem()
    groups = [{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.5}]
    with pytest.raises(ValueError, match="parameter groups"):
        NaturalGradient(groups)


# --- registration ------------------------------------------------------------------------------


def test_build_uses_params_and_trainable_parameters():
    model, _ = regression_problem()
    model[0].bias.requires_grad_(False)
    params = NaturalGradientParams(lr=0.5, solver="minres", max_iter=7)
    optimizer = build(params, model=model)
    group = optimizer.param_groups[0]
    assert len(group["params"]) == 3
    expected = attrs.asdict(params)
    assert {key: group[key] for key in expected} == expected


def test_hookimpl_registers_lazily():
    specs = {spec.name: spec for spec in methodlab_optimizers()}
    assert set(specs) == {"natural-gradient", "hessian-free", "ksd", "tonga", "natural-cg"}
    spec = specs["natural-gradient"]
    assert spec.params_cls is NaturalGradientParams
    assert spec.load_factory() is build
    code = (
        "import sys, methodlab_natural_gradient as p; list(p.methodlab_optimizers()); "
        "list(p.methodlab_environments()); list(p.methodlab_models()); "
        "list(p.methodlab_evaluators()); "
        "assert 'torch' not in sys.modules, 'registration imported torch'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
