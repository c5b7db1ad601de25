"""Tests of methodlab.curvature against dense float64 references."""

from __future__ import annotations

import copy
import itertools

import pytest
import torch
import torch.nn.functional as F
from methodlab.components import Loss, OutputLoss
from methodlab.curvature import (
    conjugate_gradient,
    flatten,
    frozen_batchnorm_stats,
    ggn_operator,
    ggn_vector_product,
    hessian_operator,
    hessian_vector_product,
    lanczos,
    minres,
    ritz_pairs,
    unflatten_like,
)
from torch import nn
from torch.autograd.functional import hessian, jacobian
from torch.func import functional_call

DTYPE = torch.float64


class HalfSquaredError(OutputLoss):
    """No sample_targets: exercises the detached-outputs fallback for unlabeled inputs."""

    def from_outputs(self, outputs, targets):
        return 0.5 * (outputs - targets).pow(2).sum(-1).mean()


class SoftmaxCrossEntropy(OutputLoss):
    def from_outputs(self, outputs, targets):
        return F.cross_entropy(outputs, targets)

    def sample_targets(self, outputs, generator):
        probs = torch.softmax(outputs.detach(), dim=-1)
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


class BernoulliCrossEntropy(OutputLoss):
    def from_outputs(self, outputs, targets):
        return F.binary_cross_entropy_with_logits(outputs, targets, reduction="sum") / len(outputs)

    def sample_targets(self, outputs, generator):
        return torch.bernoulli(torch.sigmoid(outputs.detach()), generator=generator)


def make_mlp(seed: int = 0, out_features: int = 4) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, out_features)).to(DTYPE)


def make_problem(kind: str, seed: int = 0):
    """Return (model, loss, inputs, targets) for a loss kind."""
    generator = torch.Generator().manual_seed(seed + 100)
    model = make_mlp(seed)
    x = torch.randn(6, 3, generator=generator, dtype=DTYPE)
    if kind == "mse":
        return model, HalfSquaredError(), x, torch.randn(6, 4, generator=generator, dtype=DTYPE)
    if kind == "softmax-ce":
        return model, SoftmaxCrossEntropy(), x, torch.randint(4, (6,), generator=generator)
    targets = torch.rand(6, 4, generator=generator, dtype=DTYPE)
    return model, BernoulliCrossEntropy(), x, targets


def flat_function(model: nn.Module):
    """theta (P,) -> model outputs, for dense reference Jacobians."""
    names = [name for name, _ in model.named_parameters()]
    like = [p.detach() for p in model.parameters()]

    def forward(theta, inputs):
        values = unflatten_like(theta, like)
        return functional_call(model, dict(zip(names, values, strict=True)), (inputs,))

    return flatten(like), forward


def dense_ggn(model, loss, x, targets) -> torch.Tensor:
    """J^T H J from explicit Jacobian and output Hessian, shape (P, P)."""
    theta, forward = flat_function(model)
    outputs = forward(theta, x).detach()
    jac = jacobian(lambda t: forward(t, x), theta).reshape(outputs.numel(), -1)  # (B C, P)
    out_hessian = hessian(
        lambda z: loss.from_outputs(z.view_as(outputs), targets), outputs.reshape(-1)
    )  # (B C, B C)
    return jac.T @ out_hessian @ jac


def dense_hessian(model, loss, x, targets) -> torch.Tensor:
    theta, forward = flat_function(model)
    return hessian(lambda t: loss.from_outputs(forward(t, x), targets), theta)


def random_vector(model: nn.Module, seed: int = 1) -> torch.Tensor:
    n = sum(p.numel() for p in model.parameters())
    return torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=DTYPE)


# --- flat vectors ------------------------------------------------------------------------------


def test_flatten_round_trip():
    tensors = [torch.randn(2, 3), torch.randn(4), torch.randn(1, 1, 2)]
    parts = unflatten_like(flatten(tensors), tensors)
    assert all(torch.equal(a, b) for a, b in zip(parts, tensors, strict=True))


def test_unflatten_rejects_wrong_size():
    with pytest.raises(ValueError, match="does not match"):
        unflatten_like(torch.zeros(5), [torch.zeros(2, 2)])


# --- Gauss-Newton ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mse", "softmax-ce", "bernoulli-ce"])
def test_ggn_product_matches_explicit_jacobian(kind):
    model, loss, x, targets = make_problem(kind)
    v = random_vector(model)
    expected = dense_ggn(model, loss, x, targets) @ v
    actual = ggn_vector_product(model, loss, x, v, targets=targets)
    torch.testing.assert_close(actual, expected, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("kind", ["mse", "softmax-ce", "bernoulli-ce"])
def test_ggn_without_targets_equals_labeled_ggn(kind):
    # The output Hessian of these matching losses does not depend on the targets.
    model, loss, x, targets = make_problem(kind)
    v = random_vector(model)
    labeled = ggn_vector_product(model, loss, x, v, targets=targets)
    unlabeled = ggn_vector_product(model, loss, x, v)
    torch.testing.assert_close(unlabeled, labeled, rtol=1e-10, atol=1e-12)


def test_ggn_operator_is_reusable_linear_and_symmetric():
    model, loss, x, targets = make_problem("softmax-ce")
    operator = ggn_operator(model, loss, x, targets=targets)
    u, v = random_vector(model, 1), random_vector(model, 2)
    torch.testing.assert_close(operator(2.0 * u + v), 2.0 * operator(u) + operator(v))
    torch.testing.assert_close(u.dot(operator(v)), v.dot(operator(u)))
    torch.testing.assert_close(operator(u), ggn_vector_product(model, loss, x, u, targets=targets))


def test_operators_keep_the_point_they_were_built_at():
    model, loss, x, targets = make_problem("softmax-ce")
    v = random_vector(model)
    operators = [
        ggn_operator(model, loss, x, targets=targets),
        hessian_operator(model, loss, x, targets=targets),
    ]
    before = [operator(v) for operator in operators]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)
    for operator, expected in zip(operators, before, strict=True):
        torch.testing.assert_close(operator(v), expected, rtol=0, atol=0)


def test_ggn_over_parameter_subset_is_a_block():
    model, loss, x, targets = make_problem("bernoulli-ce")
    first = model[0].weight
    v = torch.randn(first.numel(), dtype=DTYPE)
    block = dense_ggn(model, loss, x, targets)[: first.numel(), : first.numel()]
    actual = ggn_vector_product(model, loss, x, v, params=[first], targets=targets)
    torch.testing.assert_close(actual, block @ v, rtol=1e-6, atol=1e-12)


def test_ggn_works_under_no_grad():
    model, loss, x, targets = make_problem("mse")
    v = random_vector(model)
    expected = ggn_vector_product(model, loss, x, v, targets=targets)
    with torch.no_grad():
        actual = ggn_vector_product(model, loss, x, v, targets=targets)
    torch.testing.assert_close(actual, expected)


def test_curvature_rejects_foreign_params_and_plain_losses():
    model, loss, x, _ = make_problem("mse")
    v = random_vector(model)
    with pytest.raises(ValueError, match="not a parameter"):
        ggn_vector_product(model, loss, x, v, params=[nn.Parameter(torch.zeros(3))])
    with pytest.raises(TypeError, match="OutputLoss"):
        ggn_vector_product(model, Loss(), x, v)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="targets"):
        hessian_vector_product(model, loss, x, v)


# --- Hessian -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mse", "softmax-ce", "bernoulli-ce"])
def test_hessian_products_match_dense_hessian(kind):
    model, loss, x, targets = make_problem(kind)
    v = random_vector(model)
    expected = dense_hessian(model, loss, x, targets) @ v
    torch.testing.assert_close(
        hessian_vector_product(model, loss, x, v, targets=targets),
        expected,
        rtol=1e-6,
        atol=1e-12,
    )
    torch.testing.assert_close(
        hessian_operator(model, loss, x, targets=targets)(v), expected, rtol=1e-6, atol=1e-12
    )


# --- BatchNorm ---------------------------------------------------------------------------------


def make_batchnorm_problem():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)).to(DTYPE).train()
    with torch.no_grad():  # non-trivial running statistics, so that changes would show
        model(torch.randn(8, 3, dtype=DTYPE) * 2 + 1)
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(8, 3, generator=generator, dtype=DTYPE)
    y = torch.randn(8, 2, generator=generator, dtype=DTYPE)
    return model, HalfSquaredError(), x, y


def double_backward_reference(model, loss, x, y, v):
    """(G v, H v) by plain double-backward autograd on a copy of the model in train mode."""
    reference = copy.deepcopy(model)
    params = list(reference.parameters())
    tangents = unflatten_like(v, params)
    outputs = reference(x)
    value = loss.from_outputs(outputs, y)
    # G v: J v by the transposed vector-Jacobian product, H through the output gradient.
    dummy = torch.zeros_like(outputs, requires_grad=True)
    pullback = torch.autograd.grad(outputs, params, dummy, create_graph=True)
    jv = torch.autograd.grad(pullback, dummy, tangents)[0]
    output_grad = torch.autograd.grad(value, outputs, create_graph=True)[0]
    hjv = torch.autograd.grad(output_grad, outputs, jv, retain_graph=True)[0]
    gv = flatten(torch.autograd.grad(outputs, params, hjv, retain_graph=True))
    grads = torch.autograd.grad(value, params, create_graph=True)
    hv = flatten(torch.autograd.grad(grads, params, tangents))
    return gv, hv


def test_batchnorm_products_match_double_backward_and_keep_running_stats():
    model, loss, x, y = make_batchnorm_problem()
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    v = random_vector(model)
    expected_gv, expected_hv = double_backward_reference(model, loss, x, y, v)
    products = {
        "ggn": ggn_vector_product(model, loss, x, v, targets=y),
        "ggn operator": ggn_operator(model, loss, x, targets=y)(v),
        "hvp": hessian_vector_product(model, loss, x, v, targets=y),
        "hessian operator": hessian_operator(model, loss, x, targets=y)(v),
    }
    for name, actual in products.items():
        expected = expected_gv if name.startswith("ggn") else expected_hv
        torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-10, msg=name)
    for name, value in model.named_buffers():
        assert torch.equal(value, buffers[name]), name
    assert model[1].track_running_stats and model.training


def test_frozen_batchnorm_stats_restores_flags_on_error():
    model = make_batchnorm_problem()[0]
    eval_bn = nn.BatchNorm1d(4).eval()
    model.append(eval_bn)
    with pytest.raises(RuntimeError, match="boom"), frozen_batchnorm_stats(model):
        assert not model[1].track_running_stats
        assert eval_bn.track_running_stats  # eval mode uses running stats: untouched
        raise RuntimeError("boom")
    assert model[1].track_running_stats


# --- solvers -----------------------------------------------------------------------------------


def spd_matrix(n: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    m = torch.randn(n, n, generator=generator, dtype=DTYPE)
    return m @ m.T / n + 0.1 * torch.eye(n, dtype=DTYPE)


def indefinite_matrix(n: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=DTYPE))
    eigenvalues = torch.linspace(-3.0, 5.0, n, dtype=DTYPE)
    eigenvalues[eigenvalues.abs() < 0.2] = 0.5  # keep it well conditioned
    return q @ torch.diag(eigenvalues) @ q.T


@pytest.mark.parametrize("damping", [0.0, 0.5])
def test_conjugate_gradient_solves_spd_system(damping):
    a = spd_matrix(20)
    b = torch.randn(20, dtype=DTYPE)
    x, info = conjugate_gradient(lambda v: a @ v, b, max_iter=200, tol=1e-12, damping=damping)
    expected = torch.linalg.solve(a + damping * torch.eye(20, dtype=DTYPE), b)
    torch.testing.assert_close(x, expected, rtol=1e-8, atol=1e-10)
    assert info.converged and info.matvecs == info.iterations
    assert len(info.residual_norms) == info.iterations + 1


def test_conjugate_gradient_warm_start_and_iterates():
    a = spd_matrix(20)
    b = torch.randn(20, dtype=DTYPE)
    expected = torch.linalg.solve(a, b)
    x, info = conjugate_gradient(
        lambda v: a @ v, b, max_iter=100, tol=1e-12, x0=expected + 1e-3, store_iterates=True
    )
    torch.testing.assert_close(x, expected, rtol=1e-8, atol=1e-10)
    assert info.matvecs == info.iterations + 1
    assert len(info.iterates) == info.iterations
    # Each CG iterate lowers the quadratic model 0.5 x^T A x - b^T x.
    values = [float(0.5 * z @ a @ z - b @ z) for z in info.iterates]
    assert all(later <= earlier + 1e-12 for earlier, later in itertools.pairwise(values))


def test_conjugate_gradient_truncates_and_flags_negative_curvature():
    a = spd_matrix(20)
    b = torch.randn(20, dtype=DTYPE)
    _, info = conjugate_gradient(lambda v: a @ v, b, max_iter=3, tol=1e-12)
    assert info.iterations == 3 and not info.converged
    _, info = conjugate_gradient(lambda v: -a @ v, b, max_iter=10, tol=1e-12)
    assert info.negative_curvature and info.iterations == 0


@pytest.mark.parametrize("damping", [0.0, -0.3])
def test_minres_solves_indefinite_system(damping):
    a = indefinite_matrix(30)
    b = torch.randn(30, dtype=DTYPE)
    x, info = minres(lambda v: a @ v, b, max_iter=300, tol=1e-12, damping=damping)
    expected = torch.linalg.solve(a + damping * torch.eye(30, dtype=DTYPE), b)
    torch.testing.assert_close(x, expected, rtol=1e-8, atol=1e-10)
    assert info.converged
    true_residual = float((b - (a + damping * torch.eye(30, dtype=DTYPE)) @ x).norm())
    assert true_residual <= 1e-10 * float(b.norm())
    norms = info.residual_norms
    assert all(later <= earlier * (1 + 1e-12) for earlier, later in itertools.pairwise(norms))


def test_minres_warm_start_and_iterates():
    a = indefinite_matrix(30, seed=1)
    b = torch.randn(30, dtype=DTYPE)
    expected = torch.linalg.solve(a, b)
    x, info = minres(
        lambda v: a @ v, b, max_iter=300, tol=1e-12, x0=expected + 1e-2, store_iterates=True
    )
    torch.testing.assert_close(x, expected, rtol=1e-8, atol=1e-10)
    assert info.matvecs == info.iterations + 1 and len(info.iterates) == info.iterations


def test_minres_stops_when_krylov_space_is_exhausted():
    a = torch.diag(torch.tensor([2.0, -1.0, 2.0, -1.0], dtype=DTYPE))  # two distinct eigenvalues
    b = torch.ones(4, dtype=DTYPE)
    x, info = minres(lambda v: a @ v, b, max_iter=50, tol=0.0)
    torch.testing.assert_close(x, torch.tensor([0.5, -1.0, 0.5, -1.0], dtype=DTYPE))
    assert info.iterations == 2


def test_lanczos_ritz_values_match_extreme_eigenvalues():
    a = indefinite_matrix(60, seed=2)
    eigenvalues = torch.linalg.eigvalsh(a)
    alphas, betas, basis = lanczos(
        lambda v: a @ v, 60, 40, generator=torch.Generator().manual_seed(0), dtype=DTYPE
    )
    assert alphas.shape == (40,) and betas.shape == (39,) and basis.shape == (60, 40)
    torch.testing.assert_close(basis.T @ basis, torch.eye(40, dtype=DTYPE), atol=1e-12, rtol=0)
    values, vectors = ritz_pairs(alphas, betas, basis)
    torch.testing.assert_close(values[[0, -1]], eigenvalues[[0, -1]], rtol=1e-8, atol=1e-8)
    residual = a @ vectors[:, -1] - values[-1] * vectors[:, -1]
    assert float(residual.norm()) < 1e-6


def test_lanczos_stops_on_invariant_subspace():
    a = torch.diag(torch.tensor([1.0, 1.0, 3.0, 3.0], dtype=DTYPE))
    alphas, betas, basis = lanczos(lambda v: a @ v, 4, 4, v0=torch.ones(4, dtype=DTYPE))
    assert alphas.shape == (2,) and betas.shape == (1,) and basis.shape == (4, 2)
    torch.testing.assert_close(
        ritz_pairs(alphas, betas, basis)[0], torch.tensor([1.0, 3.0], dtype=DTYPE)
    )


def test_lanczos_on_ggn_operator_bounds_spectrum():
    model, loss, x, targets = make_problem("softmax-ce")
    dense = dense_ggn(model, loss, x, targets)
    operator = ggn_operator(model, loss, x, targets=targets)
    alphas, betas, basis = lanczos(
        operator, dense.shape[0], 30, generator=torch.Generator().manual_seed(0), dtype=DTYPE
    )
    top = ritz_pairs(alphas, betas, basis)[0][-1]
    torch.testing.assert_close(top, torch.linalg.eigvalsh(dense)[-1], rtol=1e-8, atol=1e-10)
