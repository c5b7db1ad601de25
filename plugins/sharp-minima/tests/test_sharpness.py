import pytest
import torch
from methodlab import curvature
from methodlab.builtins.losses import CrossEntropy, MeanSquaredError
from methodlab.components import Batch
from methodlab_sharp_minima.config import MoonsParams, SharpnessParams
from methodlab_sharp_minima.environments import build_moons
from methodlab_sharp_minima.evaluator import Sharpness
from methodlab_sharp_minima.sharpness import (
    eps_sharpness,
    exact_trace,
    hutchinson_trace,
    power_iteration,
)
from methodlab_sharp_minima.transform import alpha_scale, layer_alphas
from torch import nn

from .helpers import dense_hessian, moons_data, relu_net


def _trained(steps=300):
    net = relu_net((2, 8, 2))
    x, y = moons_data(128)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.02)
    for _ in range(steps):
        optimizer.zero_grad()
        CrossEntropy()(net, Batch(x, y)).backward()
        optimizer.step()
    return net, x, y


def test_power_iteration_matches_the_dense_spectrum():
    net, x, y = _trained()
    loss = CrossEntropy()
    h = dense_hessian(net, loss, x, y)
    operator = curvature.hessian_operator(net, loss, x, targets=y)
    dim = h.shape[0]
    value, vector = power_iteration(operator, dim, max_iter=2000, tol=1e-13,
                                    generator=torch.Generator().manual_seed(0))
    top = torch.linalg.eigvalsh(h)[-1]
    assert value == pytest.approx(float(top), rel=1e-6)
    torch.testing.assert_close(h @ vector, value * vector, rtol=0, atol=1e-4 * value)


def test_traces_match_the_dense_trace():
    net, x, y = _trained(50)
    loss = CrossEntropy()
    h = dense_hessian(net, loss, x, y)
    operator = curvature.hessian_operator(net, loss, x, targets=y)
    dim = h.shape[0]
    assert exact_trace(operator, dim) == pytest.approx(float(h.trace()), rel=1e-10)
    estimate = hutchinson_trace(operator, dim, 400, generator=torch.Generator().manual_seed(0))
    assert estimate == pytest.approx(float(h.trace()), rel=0.1)


def test_eps_sharpness_of_a_quadratic():
    # L(w) = 1/2 (w - w*)^T A (w - w*) at w = w*: max over the ball is eps^2 lambda_max / 2.
    torch.manual_seed(0)
    x = torch.randn(200, 5, dtype=torch.float64) * torch.tensor([3.0, 1, 1, 0.5, 0.1],
                                                               dtype=torch.float64)
    net = nn.Linear(5, 1, bias=False).double()
    y = net(x).detach()
    top = float(torch.linalg.eigvalsh(x.T @ x / len(x))[-1])
    eps = 0.05
    value = eps_sharpness(net, MeanSquaredError(), x, y, eps, steps=20,
                          generator=torch.Generator().manual_seed(0))
    assert value == pytest.approx(0.5 * eps**2 * top, rel=1e-6)
    # Never above the true maximum, and zero steps still gives a lower bound.
    start = eps_sharpness(net, MeanSquaredError(), x, y, eps, steps=0,
                          generator=torch.Generator().manual_seed(0))
    assert 0.0 <= start <= value


def test_evaluator_lambda_max_follows_the_congruence():
    net, _, _ = _trained()
    env = build_moons(MoonsParams(n_train=128, n_test=8), seed=0, device="cpu",
                      dtype=torch.float64)
    inputs, targets = env.splits["train"].inputs, env.splits["train"].targets
    loss = CrossEntropy()
    results = {}
    for alpha in (1.0, 0.1):
        metrics = Sharpness(SharpnessParams(alpha=alpha, power_iterations=3000,
                                            power_tol=1e-13))(net, env, loss)
        h = dense_hessian(alpha_scale(net, layer_alphas(alpha, 2)), loss, inputs, targets)
        assert metrics["lambda_max"] == pytest.approx(float(torch.linalg.eigvalsh(h)[-1]),
                                                      rel=1e-6)
        assert metrics["trace"] == pytest.approx(float(h.trace()), rel=1e-10)
        assert metrics["max_output_change"] <= 1e-8
        assert metrics["gradient_identity_error"] <= 1e-8
        results[alpha] = metrics
    assert results[0.1]["loss"] == pytest.approx(results[1.0]["loss"], rel=1e-12)
    assert results[0.1]["lambda_max"] > 10 * results[1.0]["lambda_max"]
    assert results[0.1]["eps_sharpness"] > results[1.0]["eps_sharpness"]


def test_evaluator_leaves_model_and_global_rng_alone():
    net, _, _ = _trained(10)
    env = build_moons(MoonsParams(n_train=32, n_test=8), seed=0, device="cpu",
                      dtype=torch.float64)
    before = [p.detach().clone() for p in net.parameters()]
    state = torch.random.get_rng_state()
    Sharpness(SharpnessParams(alpha=0.1, trace="hutchinson", trace_samples=5))(
        net, env, CrossEntropy())
    assert torch.equal(state, torch.random.get_rng_state())
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


def test_explicit_alphas_for_a_deeper_net():
    net = relu_net((2, 6, 6, 2))
    env = build_moons(MoonsParams(n_train=32, n_test=8), seed=0, device="cpu",
                      dtype=torch.float64)
    metrics = Sharpness(SharpnessParams(alphas=(0.1, 10.0, 1.0), trace="none"))(
        net, env, CrossEntropy())
    assert "trace" not in metrics
    assert metrics["max_output_change"] <= 1e-10


def test_params_reject_factors_whose_product_is_not_one():
    with pytest.raises(ValueError, match="multiply to 1"):
        SharpnessParams(alphas=(0.1, 1.0))


def test_moons_environment_is_fixed_by_data_seed():
    a = build_moons(MoonsParams(), seed=0, device="cpu", dtype=torch.float64)
    b = build_moons(MoonsParams(), seed=5, device="cpu", dtype=torch.float64)
    assert torch.equal(a.splits["train"].inputs, b.splits["train"].inputs)
    assert a.splits["train"].inputs.shape == (1000, 2)
    assert not torch.equal(a.splits["train"].inputs[:10], a.splits["test"].inputs[:10])
    assert set(a.splits["train"].targets.tolist()) == {0, 1}
