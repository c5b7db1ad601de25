"""Tests of Hessian-free, KSD, TONGA, NatCG and the training-order components."""

from __future__ import annotations

import io
import itertools
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from methodlab import curvature
from methodlab.builtins.losses import CrossEntropy
from methodlab.components import Batch, OutputLoss
from methodlab.step import StepContext
from methodlab_natural_gradient.config import (
    FixedInitMLPParams,
    HessianFreeParams,
    OrderedDigitsParams,
    TongaParams,
)
from methodlab_natural_gradient.fixed_init import build as build_fixed_init
from methodlab_natural_gradient.hessian_free import HessianFree, backtrack, kept_iterations
from methodlab_natural_gradient.ksd import KrylovSubspaceDescent, krylov_basis
from methodlab_natural_gradient.natural_cg import NaturalConjugateGradient, model_coefficients
from methodlab_natural_gradient.ordered_digits import build as build_ordered_digits
from methodlab_natural_gradient.tonga import Tonga, covariance_matvec, low_rank, woodbury_solve
from torch import nn

DTYPE = torch.float64
RUNS = Path(__file__).resolve().parents[1] / "runs"


class HalfSquaredError(OutputLoss):
    def from_outputs(self, outputs, targets):
        return 0.5 * (outputs - targets).pow(2).sum(-1).mean()


def regression_problem(seed: int = 0) -> tuple[nn.Module, Batch]:
    generator = torch.Generator().manual_seed(seed + 10)
    x = torch.randn(64, 4, generator=generator, dtype=DTYPE)
    y = torch.stack([torch.sin(2 * x[:, 0]) * x[:, 1], torch.tanh(x[:, 2] - x[:, 3])], dim=1)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).to(DTYPE)
    return model, Batch(x, y)


def flat(model: nn.Module) -> torch.Tensor:
    return curvature.flatten(p.detach() for p in model.parameters())


def run(optimizer, context: StepContext, steps: int) -> list[float]:
    closure = context.closure_for(optimizer)
    return [float(optimizer.step(closure, context=context)) for _ in range(steps)]


OPTIMIZERS = {
    "hessian-free": lambda params: HessianFree(params, max_iter=10),
    "ksd": lambda params: KrylovSubspaceDescent(params, subspace_dim=5, inner_iter=5),
    "tonga": lambda params: Tonga(params, lr=0.5, damping=0.1, decay=0.5, rank=16),
    "natural-cg": lambda params: NaturalConjugateGradient(params, max_iter=10),
}


# --- Hessian-free --------------------------------------------------------------------------------


def test_kept_iterations_are_geometric_and_include_the_last():
    assert kept_iterations(0, 1.3) == []
    assert kept_iterations(1, 1.3) == [1]
    kept = kept_iterations(50, 1.3)
    assert kept[-1] == 50 and kept[:6] == [1, 2, 3, 4, 5, 7]
    assert len(kept) < 20


@pytest.mark.parametrize(
    ("losses", "chosen"),
    [([5.0, 3.0, 2.0, 4.0], 2), ([3.0, 2.0, 1.0], 2), ([1.0, 2.0, 3.0], 0), ([1.0, 3.0, 2.0], 2)],
)
def test_backtrack_steps_back_while_the_loss_decreases(losses, chosen):
    index, value = backtrack([torch.tensor(x) for x in losses], float)
    assert index == chosen and value == losses[chosen]
    # Martens' rule: no worse than the last iterate, and better than its predecessor.
    assert value <= losses[-1]
    assert index == 0 or losses[index - 1] >= value


def test_hessian_free_update_is_the_backtracked_cg_iterate_with_lowest_loss():
    model, batch = regression_problem()
    loss = HalfSquaredError()
    optimizer = HessianFree(model.parameters(), max_iter=30, line_search=False, damping=1e-3)
    context = StepContext(model=model, loss=loss, batch=batch)
    theta = flat(model)
    context.closure_for(optimizer)()
    gradient = optimizer._gather_flat_grad()
    operator = curvature.ggn_operator(model, loss, batch.inputs, targets=batch.targets)
    _, info = curvature.conjugate_gradient(
        operator, -gradient, max_iter=30, tol=1e-6, damping=1e-3, store_iterates=True
    )

    @torch.no_grad()
    def loss_at(delta: torch.Tensor) -> float:
        for p, value in zip(model.parameters(), curvature.unflatten_like(theta + delta, list(
                model.parameters())), strict=True):
            p.data.copy_(value)
        return float(loss(model, batch))

    candidates = [info.iterates[i - 1] for i in kept_iterations(info.iterations, 1.3)]
    candidate_losses = [loss_at(d) for d in candidates]
    loss_at(torch.zeros_like(theta))
    run(optimizer, context, 1)
    chosen = optimizer.state[next(iter(model.parameters()))]["backtracked_to"]
    after = float(loss(model, batch).detach())
    assert after == pytest.approx(candidate_losses[chosen], rel=1e-10)
    assert after <= candidate_losses[-1]
    assert chosen == 0 or candidate_losses[chosen - 1] >= after


def test_hessian_free_warm_starts_from_the_decayed_last_iterate():
    model, batch = regression_problem()
    optimizer = HessianFree(model.parameters(), max_iter=5, warm_start_decay=0.5)
    context = StepContext(model=model, loss=HalfSquaredError(), batch=batch)
    run(optimizer, context, 2)
    state = optimizer.state[next(iter(model.parameters()))]
    # Two solves of 5 iterations, one start-point product for the warm start, two for rho.
    assert state["curvature_products"] == 5 + 1 + 5 + 2
    assert state["cg_last"].shape == flat(model).shape


def test_hessian_free_line_search_never_increases_the_loss():
    model, batch = regression_problem()
    loss = HalfSquaredError()
    optimizer = HessianFree(model.parameters(), max_iter=20, damping=1e-6, min_damping=1e-6)
    context = StepContext(model=model, loss=loss, batch=batch)
    losses = [*run(optimizer, context, 8), float(loss(model, batch).detach())]
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(losses))


# --- KSD -----------------------------------------------------------------------------------------


def test_krylov_basis_is_orthonormal_and_contains_g_gg_and_the_previous_step():
    generator = torch.Generator().manual_seed(0)
    m = torch.randn(30, 30, generator=generator, dtype=DTYPE)
    gauss_newton = m @ m.T
    g = torch.randn(30, generator=generator, dtype=DTYPE)
    previous = torch.randn(30, generator=generator, dtype=DTYPE)
    basis = krylov_basis(lambda v: gauss_newton @ v, g, 4, previous)
    assert basis.shape == (30, 5)
    torch.testing.assert_close(basis.T @ basis, torch.eye(5, dtype=DTYPE))
    for vector in (g, gauss_newton @ g, gauss_newton @ gauss_newton @ g, previous):
        torch.testing.assert_close(basis @ (basis.T @ vector), vector)


def test_ksd_step_lies_in_the_subspace_and_lowers_the_loss():
    model, batch = regression_problem()
    loss = HalfSquaredError()
    optimizer = KrylovSubspaceDescent(model.parameters(), subspace_dim=4, inner_iter=10)
    context = StepContext(model=model, loss=loss, batch=batch)
    run(optimizer, context, 1)
    before = flat(model)
    previous = optimizer.state[next(iter(model.parameters()))]["previous"]
    context.closure_for(optimizer)()
    gradient = optimizer._gather_flat_grad()
    operator = curvature.ggn_operator(model, loss, batch.inputs, targets=batch.targets)
    basis = krylov_basis(operator, gradient, 4, previous)
    start = float(loss(model, batch).detach())
    run(optimizer, context, 1)
    step = flat(model) - before
    torch.testing.assert_close(basis @ (basis.T @ step), step)
    assert float(loss(model, batch).detach()) < start


# --- TONGA ---------------------------------------------------------------------------------------


def test_tonga_covariance_matvec_equals_explicit_per_example_gradient_covariance():
    model, batch = regression_problem()
    loss = HalfSquaredError()
    optimizer = Tonga(model.parameters())
    context = StepContext(model=model, loss=loss, batch=batch)
    rows = optimizer.per_example_gradients(context)
    explicit = []
    for x, y in zip(batch.inputs, batch.targets, strict=True):
        model.zero_grad()
        loss(model, Batch(x[None], y[None])).backward()
        explicit.append(curvature.flatten(p.grad for p in model.parameters()))
    explicit = torch.stack(explicit)
    torch.testing.assert_close(rows, explicit)
    covariance = explicit.T @ explicit / len(explicit)  # (1/B) sum_i g_i g_i^T
    v = torch.randn(rows.shape[1], dtype=DTYPE)
    factor = rows / len(rows) ** 0.5
    torch.testing.assert_close(covariance_matvec(factor)(v), covariance @ v)


def test_woodbury_solve_equals_dense_solve():
    generator = torch.Generator().manual_seed(1)
    factor = torch.randn(6, 20, generator=generator, dtype=DTYPE)
    g = torch.randn(20, generator=generator, dtype=DTYPE)
    dense = torch.linalg.solve(factor.T @ factor + 0.3 * torch.eye(20, dtype=DTYPE), g)
    torch.testing.assert_close(woodbury_solve(factor, g, 0.3), dense)


def test_low_rank_factor_keeps_the_leading_eigenpairs():
    generator = torch.Generator().manual_seed(2)
    factor = torch.randn(8, 20, generator=generator, dtype=DTYPE)
    values, vectors = torch.linalg.eigh(factor.T @ factor)
    best = vectors[:, -3:] @ torch.diag(values[-3:]) @ vectors[:, -3:].T
    reduced = low_rank(factor, 3)
    assert reduced.shape == (3, 20)
    torch.testing.assert_close(reduced.T @ reduced, best)


def test_tonga_moving_average_keeps_a_rank_k_factor():
    model, batch = regression_problem()
    optimizer = Tonga(model.parameters(), decay=0.9, rank=5, damping=0.1)
    run(optimizer, StepContext(model=model, loss=HalfSquaredError(), batch=batch), 3)
    state = optimizer.state[next(iter(model.parameters()))]
    assert state["factor"].shape == (5, flat(model).numel())
    assert state["per_example_gradients"] == 3 * 64


def test_tonga_rejects_a_moving_average_without_rank():
    with pytest.raises(ValueError, match="rank"):
        TongaParams(decay=0.5)


# --- NatCG ---------------------------------------------------------------------------------------


def test_natcg_coefficients_minimise_the_quadratic_model():
    generator = torch.Generator().manual_seed(3)
    m = torch.randn(15, 15, generator=generator, dtype=DTYPE)
    fisher = m @ m.T
    g = torch.randn(15, generator=generator, dtype=DTYPE)
    directions = [torch.randn(15, generator=generator, dtype=DTYPE) for _ in range(2)]
    damping = 0.2
    a = model_coefficients(g, directions, [fisher @ d for d in directions], damping)
    damped = fisher + damping * torch.eye(15, dtype=DTYPE)

    def model(coefficients: torch.Tensor) -> float:
        step = coefficients[0] * directions[0] + coefficients[1] * directions[1]
        return float(g @ step + 0.5 * step @ damped @ step)

    d = torch.stack(directions, 1)
    torch.testing.assert_close(d.T @ (g + damped @ (d @ a)), torch.zeros(2, dtype=DTYPE))
    for _ in range(20):
        assert model(a) <= model(a + 0.1 * torch.randn(2, generator=generator, dtype=DTYPE))


def test_natcg_fits_two_coefficients_after_the_first_update():
    model, batch = regression_problem()
    optimizer = NaturalConjugateGradient(model.parameters(), max_iter=10)
    context = StepContext(model=model, loss=HalfSquaredError(), batch=batch)
    state = optimizer.state
    run(optimizer, context, 1)
    assert len(state[next(iter(model.parameters()))]["coefficients"]) == 1
    run(optimizer, context, 1)
    assert len(state[next(iter(model.parameters()))]["coefficients"]) == 2


# --- all four ------------------------------------------------------------------------------------


# TONGA's metric, the empirical gradient covariance, is not a model of the curvature: on this
# small regression it does not beat the best of three SGD runs in 10 updates (on the
# autoencoder it beats SGD at equal update counts; see the README).
@pytest.mark.parametrize("name", ["hessian-free", "ksd", "natural-cg"])
def test_decreases_loss_faster_than_sgd_per_update(name):
    losses = {}
    for arm in (name, "sgd-0.1", "sgd-0.3", "sgd-1.0"):
        model, batch = regression_problem()
        context = StepContext(model=model, loss=HalfSquaredError(), batch=batch)
        if arm == name:
            run(OPTIMIZERS[name](model.parameters()), context, 10)
        else:
            sgd = torch.optim.SGD(model.parameters(), lr=float(arm.split("-")[1]), momentum=0.9)
            for _ in range(10):
                context.closure_for(sgd)()
                sgd.step()
        losses[arm] = float(HalfSquaredError()(model, batch).detach())
    assert losses[name] < min(value for arm, value in losses.items() if arm != name), losses


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_gives_bitwise_identical_steps(name):
    def make():
        model, batch = regression_problem(1)
        return model, batch, OPTIMIZERS[name](model.parameters())

    model, batch, optimizer = make()
    loss = HalfSquaredError()
    run(optimizer, StepContext(model=model, loss=loss, batch=batch), 2)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True)
    resumed_model, _, resumed = make()
    resumed_model.load_state_dict(checkpoint["model"])
    resumed.load_state_dict(checkpoint["optimizer"])
    original = run(optimizer, StepContext(model=model, loss=loss, batch=batch), 2)
    again = run(resumed, StepContext(model=resumed_model, loss=loss, batch=batch), 2)
    assert original == again
    for p, q in zip(model.parameters(), resumed_model.parameters(), strict=True):
        assert torch.equal(p, q)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_step_without_context_explains_what_is_needed(name):
    model, batch = regression_problem()
    optimizer = OPTIMIZERS[name](model.parameters())
    context = StepContext(model=model, loss=HalfSquaredError(), batch=batch)
    with pytest.raises(ValueError, match=r"StepContext\(model=model, loss="):
        optimizer.step(context.closure_for(optimizer))


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [(HessianFree, {"damping": 0.0}), (HessianFree, {"backtrack_factor": 1.0}),
     (KrylovSubspaceDescent, {"subspace_dim": 0}), (Tonga, {"lr": 0.0}),
     (NaturalConjugateGradient, {"solver": "lsqr"})],
)
def test_invalid_hyperparameters_raise(cls, kwargs):
    model, _ = regression_problem()
    with pytest.raises(ValueError):
        cls(model.parameters(), **kwargs)


def test_hessian_free_params_are_the_optimizer_defaults():
    model, _ = regression_problem()
    group = HessianFree(model.parameters()).param_groups[0]
    defaults = HessianFreeParams()
    assert all(group[key] == getattr(defaults, key) for key in ("damping", "max_iter", "tol"))


# --- the training-order experiment ---------------------------------------------------------------


def blocks(resample: str, seed: int) -> list[torch.Tensor]:
    env = build_ordered_digits(OrderedDigitsParams(resample=resample), seed=seed,
                               device="cpu", dtype=DTYPE)
    return [env.train_batch(step, None).inputs for step in range(0, 100, 10)]


def test_ordered_digits_resamples_only_the_chosen_block_with_the_seed():
    fixed = blocks("none", 0)
    assert all(torch.equal(a, b) for a, b in zip(fixed, blocks("none", 7), strict=True))
    early_a, early_b = blocks("early", 1), blocks("early", 2)
    assert not torch.equal(early_a[0], early_b[0]) and not torch.equal(early_a[0], fixed[0])
    assert all(torch.equal(a, b) for a, b in zip(early_a[1:], fixed[1:], strict=True))
    late = blocks("late", 1)
    assert not torch.equal(late[-1], fixed[-1])
    assert all(torch.equal(a, b) for a, b in zip(late[:-1], fixed[:-1], strict=True))


def test_fixed_init_mlp_ignores_the_global_seed():
    env = build_ordered_digits(OrderedDigitsParams(), seed=0, device="cpu", dtype=DTYPE)
    torch.manual_seed(1)
    first = build_fixed_init(FixedInitMLPParams(init_seed=3), env=env)
    torch.manual_seed(2)
    state = torch.random.get_rng_state()
    second = build_fixed_init(FixedInitMLPParams(init_seed=3), env=env)
    assert torch.equal(torch.random.get_rng_state(), state)
    for p, q in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(p, q)
    assert isinstance(CrossEntropy()(first.to(DTYPE), env.train_batch(0, None)), torch.Tensor)


# --- reproductions -------------------------------------------------------------------------------


def reproduce(name: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "methodlab", "run", str(RUNS / name), "--check", "--quiet",
         "--out", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", ["autoencoder-comparison.toml", "training-order.toml"])
def test_reproduction(name, tmp_path):
    result = reproduce(name, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="not reproduced: the unlabeled Fisher gives a higher "
                   "test error here (see the README)")
def test_reproduction_unlabeled_fisher(tmp_path):
    result = reproduce("unlabeled-fisher.toml", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
