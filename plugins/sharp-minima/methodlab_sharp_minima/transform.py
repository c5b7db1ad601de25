r"""The α-scale reparametrisation :math:`T_\alpha` of rectifier networks.

A rectifier is non-negatively homogeneous, :math:`\phi(c z) = c\,\phi(z)` for :math:`c > 0`.
For a feed-forward net of linear layers :math:`(W_k, b_k)` with such non-linearities between
them, multiplying layer :math:`k` by :math:`\alpha_k > 0`

.. math::

    W_k \mapsto \alpha_k W_k, \qquad
    b_k \mapsto \Big(\prod_{j \le k} \alpha_j\Big) b_k, \qquad \prod_{k=1}^{L} \alpha_k = 1

leaves the function unchanged: the pre-activations of layer :math:`k` are multiplied by
:math:`\prod_{j \le k} \alpha_j`, which passes through every rectifier, and the last one by
:math:`\prod_k \alpha_k = 1`. A parameter multiplied by :math:`c_i` has its gradient divided by
:math:`c_i` and the Hessian block :math:`(i, j)` divided by :math:`c_i c_j`:

.. math::

    \nabla L(T\theta) = D^{-1} \nabla L(\theta), \qquad
    \nabla^2 L(T\theta) = D^{-1}\, \nabla^2 L(\theta)\, D^{-1}, \qquad
    D = \operatorname{diag}(c)

so for one hidden layer and :math:`(\alpha, \alpha^{-1})` the first-layer block grows as
:math:`\alpha^{-2}` while the function, and hence every generalisation property, is the same.

References:
    Sharp Minima Can Generalize For Deep Nets (Dinh, Pascanu, Bengio & Bengio, 2017)
    https://arxiv.org/abs/1703.04933
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["alpha_scale", "layer_alphas", "linear_layers", "parameter_scales"]

# Activations with phi(c z) = c phi(z) for every c > 0.
_HOMOGENEOUS = (nn.ReLU, nn.LeakyReLU, nn.Identity)


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """Return the linear layers of a rectifier ``nn.Sequential``, in order.

    :raises ValueError: if ``model`` holds a module other than ``nn.Linear`` and
        non-negatively homogeneous activations (ReLU, leaky ReLU, identity), for which
        :math:`T_\\alpha` would change the function (tanh, sigmoid, BatchNorm, ...).

    Example:
        >>> len(linear_layers(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))))
        2
    """
    layers: list[nn.Linear] = []
    for module in model.modules():
        if module is model and isinstance(model, nn.Sequential):
            continue
        if isinstance(module, nn.Linear):
            layers.append(module)
        elif not isinstance(module, (*_HOMOGENEOUS, nn.Sequential)):
            raise ValueError(
                f"the alpha-scale transform needs linear layers and rectifiers only; "
                f"{type(module).__name__} is not non-negatively homogeneous"
            )
    if not layers:
        raise ValueError("the model has no linear layers")
    return layers


def layer_alphas(alpha: float, n_layers: int, layer: int = 0) -> tuple[float, ...]:
    """Factors :math:`(1, \\dots, \\alpha, \\alpha^{-1}, \\dots, 1)` with α at ``layer``.

    Example:
        >>> layer_alphas(0.1, 3)
        (0.1, 10.0, 1.0)
    """
    if not 0 <= layer < n_layers - 1:
        raise ValueError(f"layer must be in [0, {n_layers - 2}] for {n_layers} linear layers, "
                         f"got {layer}")
    factors = [1.0] * n_layers
    factors[layer] = alpha
    factors[layer + 1] = 1.0 / alpha
    return tuple(factors)


def parameter_scales(model: nn.Module, alphas: Sequence[float]) -> list[float]:
    """Factor :math:`c_i` that :func:`alpha_scale` multiplies each parameter by.

    In ``model.parameters()`` order: :math:`\\alpha_k` for :math:`W_k`,
    :math:`\\prod_{j \\le k} \\alpha_j` for :math:`b_k`.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
        >>> parameter_scales(net, (0.5, 2.0))
        [0.5, 0.5, 2.0, 1.0]
    """
    layers = linear_layers(model)
    if len(alphas) != len(layers):
        raise ValueError(f"{len(alphas)} factors for {len(layers)} linear layers")
    by_id: dict[int, float] = {}
    cumulative = 1.0
    for layer, alpha in zip(layers, alphas, strict=True):
        cumulative *= alpha
        by_id[id(layer.weight)] = alpha
        if layer.bias is not None:
            by_id[id(layer.bias)] = cumulative
    return [by_id[id(p)] for p in model.parameters()]


def alpha_scale(
    model: nn.Module, alphas: Sequence[float], *, check_product: bool = True
) -> nn.Module:
    r"""Return a copy of ``model`` with :math:`T_\alpha` applied (the model is not modified).

    Arguments:
        model: an ``nn.Sequential`` of ``nn.Linear`` layers and rectifiers.
        alphas: one positive factor :math:`\alpha_k` per linear layer.
        check_product: require :math:`\prod_k \alpha_k = 1` (relative tolerance 1e-9), the
            condition for the function to be unchanged.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2)).double()
        >>> x = torch.randn(5, 2, dtype=torch.float64)
        >>> scaled = alpha_scale(net, layer_alphas(0.1, 2))
        >>> float((scaled(x) - net(x)).abs().max().detach()) < 1e-12
        True
        >>> torch.allclose(scaled[0].weight, 0.1 * net[0].weight)
        True
    """
    if any(a <= 0.0 for a in alphas):
        raise ValueError(f"factors must be positive (rectifiers are only positively "
                         f"homogeneous), got {list(alphas)}")
    if check_product and not math.isclose(math.prod(alphas), 1.0, rel_tol=1e-9):
        raise ValueError(f"factors must multiply to 1, got {math.prod(alphas)!r}")
    scaled = copy.deepcopy(model)
    scales = parameter_scales(scaled, alphas)
    with torch.no_grad():
        for parameter, scale in zip(scaled.parameters(), scales, strict=True):
            parameter.mul_(scale)
    return scaled
