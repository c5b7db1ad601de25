import math

import pytest
import torch
from methodlab.builtins.losses import CrossEntropy
from methodlab_sharp_minima.transform import (
    alpha_scale,
    layer_alphas,
    linear_layers,
    parameter_scales,
)
from torch import nn

from .helpers import dense_gradient, dense_hessian, moons_data, relu_net

ALPHAS = [1.0, 0.3, 0.1, 0.03]


@pytest.mark.parametrize("alpha", ALPHAS)
def test_one_hidden_layer_function_is_unchanged(alpha):
    net = relu_net((2, 32, 2))
    x, _ = moons_data(256)
    scaled = alpha_scale(net, layer_alphas(alpha, 2))
    with torch.no_grad():
        assert float((scaled(x) - net(x)).abs().max()) <= 1e-8


@pytest.mark.parametrize("alphas", [(0.1, 10.0, 1.0), (1.0, 0.03, 1 / 0.03), (0.5, 4.0, 0.5)])
def test_deeper_net_function_is_unchanged(alphas):
    net = relu_net((2, 16, 16, 2))
    x, _ = moons_data(128)
    with torch.no_grad():
        change = (alpha_scale(net, alphas)(x) - net(x)).abs().max()
    assert float(change) <= 1e-10


def test_biases_must_scale_with_the_cumulative_product():
    # Scaling the weights alone (the classic mistake) changes the function.
    net = relu_net((2, 8, 2))
    x, _ = moons_data(64)
    wrong = alpha_scale(net, (0.1, 10.0))
    with torch.no_grad():
        wrong[0].bias.div_(0.1)  # undo the bias scaling
        assert float((wrong(x) - net(x)).abs().max()) > 1e-3


def test_parameters_are_scaled_as_documented():
    net = relu_net((2, 4, 3, 2))
    scaled = alpha_scale(net, (0.5, 4.0, 0.5))
    factors = parameter_scales(net, (0.5, 4.0, 0.5))
    assert factors == [0.5, 0.5, 4.0, 2.0, 0.5, 1.0]
    for p, q, c in zip(net.parameters(), scaled.parameters(), factors, strict=True):
        torch.testing.assert_close(q, c * p, rtol=0, atol=0)


def test_original_model_is_not_modified():
    net = relu_net((2, 4, 2))
    before = [p.detach().clone() for p in net.parameters()]
    alpha_scale(net, (0.1, 10.0))
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


@pytest.mark.parametrize("alpha", [0.3, 0.03])
def test_gradient_scales_inversely(alpha):
    # theta_1 -> alpha theta_1 gives grad_1 / alpha; theta_2 -> theta_2 / alpha gives alpha grad_2.
    net = relu_net((2, 8, 2))
    x, y = moons_data(64)
    loss = CrossEntropy()
    scaled = alpha_scale(net, layer_alphas(alpha, 2))
    g = dense_gradient(net, loss, x, y)
    g_scaled = dense_gradient(scaled, loss, x, y)
    c = torch.cat([torch.full((p.numel(),), f, dtype=torch.float64)
                   for p, f in zip(net.parameters(), parameter_scales(net, (alpha, 1 / alpha)),
                                   strict=True)])
    torch.testing.assert_close(g_scaled, g / c, rtol=1e-6, atol=1e-12)
    first = net[0].weight.numel()
    torch.testing.assert_close(g_scaled[:first], g[:first] / alpha, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("alphas", [(0.1, 10.0), (0.2, 10.0, 0.5)])
def test_hessian_is_congruent_to_the_original(alphas):
    # H(T theta) = D^-1 H(theta) D^-1: the first-layer block grows as alpha^-2 for (alpha, 1/alpha).
    sizes = (2, 6, 2) if len(alphas) == 2 else (2, 5, 4, 2)
    net = relu_net(sizes)
    x, y = moons_data(64)
    loss = CrossEntropy()
    scaled = alpha_scale(net, alphas)
    c = torch.cat([torch.full((p.numel(),), f, dtype=torch.float64)
                   for p, f in zip(net.parameters(), parameter_scales(net, alphas), strict=True)])
    h = dense_hessian(net, loss, x, y)
    h_scaled = dense_hessian(scaled, loss, x, y)
    torch.testing.assert_close(h_scaled, h / c[:, None] / c[None, :], rtol=1e-6, atol=1e-10)


def test_rejects_non_homogeneous_activations_and_bad_factors():
    tanh = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
    with pytest.raises(ValueError, match="homogeneous"):
        linear_layers(tanh)
    net = relu_net((2, 3, 2))
    with pytest.raises(ValueError, match="multiply to 1"):
        alpha_scale(net, (0.5, 0.5))
    with pytest.raises(ValueError, match="positive"):
        alpha_scale(net, (-1.0, -1.0))
    with pytest.raises(ValueError, match="factors for"):
        alpha_scale(net, (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="layer must be"):
        layer_alphas(0.5, 2, layer=1)
    assert math.prod(layer_alphas(0.03, 4, layer=2)) == pytest.approx(1.0)
