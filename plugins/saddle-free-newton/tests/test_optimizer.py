import io
import itertools
import math

import pytest
import torch
from methodlab import curvature
from methodlab.builtins.losses import CrossEntropy
from methodlab.components import Batch, OutputLoss
from methodlab.step import StepContext
from methodlab_saddle_free_newton.optimizer import (
    DampedNewton,
    KrylovSaddleFreeNewton,
    SaddleFreeNewton,
    damped_inverse,
    krylov_saddle_free_direction,
    saddle_free_direction,
)
from torch import nn


class Point(nn.Module):
    def __init__(self, start):
        super().__init__()
        self.theta = nn.Parameter(torch.as_tensor(start, dtype=torch.float64))

    def forward(self, inputs):
        return self.theta.expand(len(inputs), -1)


class Quadratic(OutputLoss):
    def __init__(self, curvatures):
        self.curvatures = torch.as_tensor(curvatures, dtype=torch.float64)

    def from_outputs(self, outputs, targets):
        return 0.5 * (self.curvatures * outputs.pow(2)).sum(-1).mean()


def _context(model, loss, batch=None):
    if batch is None:
        batch = Batch(torch.zeros(2, 1, dtype=torch.float64), torch.zeros(2))
    return StepContext(model=model, loss=loss, batch=batch)


def _steps(optimizer, context, count):
    return [float(optimizer.step(context.closure_for(optimizer), context=context))
            for _ in range(count)]


def _random_symmetric(dim, seed=0):
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(dim, dim, generator=generator, dtype=torch.float64)
    return a + a.T


# -- the directions -----------------------------------------------------------------------------


def test_damped_inverse_with_a_full_basis_solves_the_damped_system():
    matrix = _random_symmetric(5)
    values, vectors = torch.linalg.eigh(matrix)
    b = torch.randn(5, dtype=torch.float64)
    x = damped_inverse(values, vectors, b, 2.5)
    assert torch.allclose((matrix + 2.5 * torch.eye(5, dtype=torch.float64)) @ x, b)


@pytest.mark.parametrize("damping", [0.0, 0.1, 1.0])
def test_krylov_direction_in_the_full_krylov_limit_equals_the_exact_direction(damping):
    dim = 40
    hessian = _random_symmetric(dim, seed=3)
    assert torch.linalg.eigvalsh(hessian).min() < 0 < torch.linalg.eigvalsh(hessian).max()
    gradient = torch.randn(dim, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    exact = saddle_free_direction(hessian, gradient, damping)
    krylov = krylov_saddle_free_direction(lambda v: hessian @ v, gradient, dim, damping)
    assert torch.allclose(krylov, exact, rtol=1e-8, atol=1e-8 * float(exact.norm()))


def test_krylov_direction_of_a_network_hessian_in_the_full_krylov_limit():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3)).double()
    x, y = torch.randn(20, 3, dtype=torch.float64), torch.randint(0, 3, (20,))
    loss = CrossEntropy()
    gradient = curvature.flatten(torch.autograd.grad(loss(net, Batch(x, y)), net.parameters()))
    operator = curvature.hessian_operator(net, loss, x, targets=y)
    dim = gradient.numel()
    hessian = torch.func.vmap(operator)(torch.eye(dim, dtype=torch.float64))
    exact = saddle_free_direction(0.5 * (hessian + hessian.T), gradient, 1e-2)
    krylov = krylov_saddle_free_direction(operator, gradient, dim, 1e-2)
    assert torch.allclose(krylov, exact, rtol=1e-6, atol=1e-6 * float(exact.norm()))


def test_a_short_krylov_subspace_gives_a_descent_direction():
    hessian = _random_symmetric(50, seed=5)
    gradient = torch.randn(50, dtype=torch.float64)
    direction = krylov_saddle_free_direction(lambda v: hessian @ v, gradient, 5, 0.1)
    assert float(gradient.dot(direction)) > 0  # |T| + λI is positive definite


# -- saddle-free Newton against Newton on a quadratic saddle -----------------------------------


def test_newton_is_attracted_to_the_saddle_and_saddle_free_newton_escapes_it():
    # f = ½(x² − 0.1 y²): a saddle at the origin; start close to the x axis.
    loss = Quadratic([1.0, -0.1])
    newton_model, sfn_model = Point([1.0, 0.1]), Point([1.0, 0.1])
    newton = DampedNewton(newton_model.parameters(), dampings=[0.0])
    sfn = SaddleFreeNewton(sfn_model.parameters(), dampings=[0.0])
    _steps(newton, _context(newton_model, loss), 5)
    _steps(sfn, _context(sfn_model, loss), 5)
    assert torch.allclose(newton_model.theta.detach(), torch.zeros(2, dtype=torch.float64))
    # SFN solves the positive direction in one step and doubles the negative one every step.
    assert torch.allclose(sfn_model.theta.detach(), torch.tensor([0.0, 3.2], dtype=torch.float64))


def test_krylov_saddle_free_newton_escapes_the_saddle_like_the_exact_one():
    loss = Quadratic([1.0, -0.1, 2.0])
    model = Point([1.0, 0.1, -1.0])
    optimizer = KrylovSaddleFreeNewton(model.parameters(), dampings=[0.0], krylov_dim=3)
    _steps(optimizer, _context(model, loss), 3)
    assert torch.allclose(model.theta.detach(), torch.tensor([0.0, 0.8, 0.0],
                                                             dtype=torch.float64))


def test_subspace_steps_reuse_the_krylov_basis():
    loss = Quadratic([1.0, -0.1])
    model = Point([1.0, 0.1])
    optimizer = KrylovSaddleFreeNewton(model.parameters(), dampings=[0.0], krylov_dim=2,
                                       subspace_steps=3)
    _steps(optimizer, _context(model, loss), 1)
    state = optimizer.state[model.theta]
    assert state["hessian_products"] == 2
    assert torch.allclose(model.theta.detach(), torch.tensor([0.0, 0.8], dtype=torch.float64))


def test_line_search_keeps_the_damping_with_the_lowest_loss():
    loss = Quadratic([1.0, -0.1])
    model = Point([1.0, 0.1])
    optimizer = SaddleFreeNewton(model.parameters(), dampings=[10.0, 0.0, 1.0])
    _steps(optimizer, _context(model, loss), 1)
    assert optimizer.state[model.theta]["damping"] == 0.0


def test_step_sizes_are_searched_with_every_damping():
    # On f = ½ x² from x = 1 with λ = 1 the direction is x / 2; α = 2 lands on the minimum.
    model = Point([1.0])
    optimizer = DampedNewton(model.parameters(), dampings=[1.0], step_sizes=[1.0, 2.0, 0.5])
    _steps(optimizer, _context(model, Quadratic([1.0])), 1)
    state = optimizer.state[model.theta]
    assert (state["damping"], state["step_size"]) == (1.0, 2.0)
    assert model.theta.item() == 0.0


def test_a_short_step_lets_newton_move_where_the_full_step_is_rejected():
    # f = sqrt(1 + x²) from x = 2: the full Newton step overshoots to x = -8 (higher loss).
    class Hyperbola(OutputLoss):
        def from_outputs(self, outputs, targets):
            return (1 + outputs.pow(2)).sqrt().sum(-1).mean()

    full, short = Point([2.0]), Point([2.0])
    _steps(DampedNewton(full.parameters(), dampings=[0.0]), _context(full, Hyperbola()), 1)
    _steps(DampedNewton(short.parameters(), dampings=[0.0], step_sizes=[1.0, 0.25]),
           _context(short, Hyperbola()), 1)
    assert full.theta.item() == 2.0
    assert short.theta.item() == pytest.approx(-0.5)


def test_a_step_that_raises_the_loss_is_rejected():
    # At x = 1 on f = −½x², Newton jumps to the maximum at 0 (higher loss): no step.
    model = Point([1.0])
    optimizer = DampedNewton(model.parameters(), dampings=[0.0])
    _steps(optimizer, _context(model, Quadratic([-1.0])), 1)
    state = optimizer.state[model.theta]
    assert model.theta.item() == 1.0
    assert state["rejected"] == 1 and math.isnan(state["damping"])


def test_mlp_loss_falls_with_saddle_free_newton():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()
    x = torch.randn(50, 4, dtype=torch.float64)
    context = _context(net, CrossEntropy(), Batch(x, x[:, :3].argmax(1)))
    optimizer = SaddleFreeNewton(net.parameters())
    losses = _steps(optimizer, context, 8)
    assert all(b <= a for a, b in itertools.pairwise(losses))
    assert losses[-1] < 0.2 * losses[0]
    assert optimizer.state[next(net.parameters())]["hessian_products"] == 8 * 51


# -- torch.optim contract -----------------------------------------------------------------------


@pytest.mark.parametrize("cls", [SaddleFreeNewton, KrylovSaddleFreeNewton, DampedNewton])
def test_state_round_trips_through_a_weights_only_load_and_continues_bitwise(cls):
    def make():
        torch.manual_seed(1)
        return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()

    x = torch.randn(12, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    batch = Batch(x, x[:, :2].argmax(1))
    first = make()
    optimizer = cls(first.parameters())
    _steps(optimizer, _context(first, CrossEntropy(), batch), 2)
    buffer = io.BytesIO()
    torch.save({"model": first.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    second = make()
    second.load_state_dict(saved["model"])
    restored = cls(second.parameters())
    restored.load_state_dict(saved["optimizer"])
    assert _steps(optimizer, _context(first, CrossEntropy(), batch), 2) == _steps(
        restored, _context(second, CrossEntropy(), batch), 2)
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(a, b)


def test_step_needs_a_context():
    model = Point([1.0])
    optimizer = SaddleFreeNewton(model.parameters())
    with pytest.raises(ValueError, match="StepContext"):
        optimizer.step(lambda: torch.tensor(0.0))


def test_step_needs_an_output_loss():
    class PlainLoss:
        def __call__(self, model, batch):
            return model(batch.inputs).pow(2).sum()

    model = Point([1.0])
    optimizer = SaddleFreeNewton(model.parameters())
    context = _context(model, PlainLoss())
    with pytest.raises(TypeError, match="OutputLoss"):
        optimizer.step(context.closure_for(optimizer), context=context)


def test_invalid_arguments():
    params = [nn.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError, match="dampings"):
        SaddleFreeNewton(params, dampings=[])
    with pytest.raises(ValueError, match="dampings"):
        DampedNewton(params, dampings=[-1.0])
    with pytest.raises(ValueError, match="krylov_dim"):
        KrylovSaddleFreeNewton(params, krylov_dim=0)
    with pytest.raises(ValueError, match="step_sizes"):
        SaddleFreeNewton(params, step_sizes=[0.0])
    with pytest.raises(ValueError, match="subspace_steps"):
        KrylovSaddleFreeNewton(params, subspace_steps=0)
    with pytest.raises(ValueError, match="parameter groups"):
        SaddleFreeNewton([{"params": params[:1]}, {"params": [nn.Parameter(torch.zeros(1))]}])


def test_zero_gradient_leaves_the_parameters_alone():
    model = Point([0.0, 0.0])
    optimizer = SaddleFreeNewton(model.parameters())
    _steps(optimizer, _context(model, Quadratic([1.0, -1.0])), 2)
    assert optimizer.state[model.theta]["n_iter"] == 2
    assert optimizer.state[model.theta]["hessian_products"] == 0
    assert torch.equal(model.theta.detach(), torch.zeros(2, dtype=torch.float64))
