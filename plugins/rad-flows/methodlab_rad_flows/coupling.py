r"""What RAD flows and RealNVP share: conditioner MLPs, alternating masks, the base density and
the stacking of coupling layers into a flow with exact likelihood and sampling.

A flow maps data :math:`x = y_0` through layers :math:`y_l = f_l(y_{l-1})` to
:math:`z = y_L \sim \mathcal N(0, I)`. Every layer reports its contribution :math:`c_l` to

.. math::

    \log p(x) = \log \mathcal N(z; 0, I) + \sum_{l=1}^{L} c_l(y_{l-1}),

which is :math:`\log|\det \partial y_l / \partial y_{l-1}|` for a bijection (RealNVP) and
additionally :math:`\log p(k_l \mid y_l)` for a RAD layer. Sampling draws :math:`z` and inverts
the layers from the top; each inverse returns the same :math:`c_l` at the point it produced,
so the sampling path yields :math:`\log p(x)` of its sample exactly.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["CouplingFlow", "CouplingLayer", "coupling_halves", "mlp", "soft_clamp",
           "standard_normal_log_prob"]

_LOG_2PI = math.log(2 * math.pi)


def mlp(in_features: int, hidden: Sequence[int], out_features: int) -> nn.Sequential:
    """A ReLU MLP ``in_features → hidden… → out_features`` (linear read-out)."""
    sizes = [in_features, *hidden]
    layers: list[nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    layers.append(nn.Linear(sizes[-1], out_features))
    return nn.Sequential(*layers)


def soft_clamp(value: torch.Tensor, bound: float) -> torch.Tensor:
    r"""Smoothly squash ``value`` into :math:`(-\text{bound}, \text{bound})`:
    :math:`u / (1 + |u| / \text{bound})` (zuko's affine log-scale bound).

    >>> soft_clamp(torch.tensor([0.0, 1.0, 1e9]), 2.0)
    tensor([0.0000, 0.6667, 2.0000])
    """
    return value / (1 + value.abs() / bound)


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    r""":math:`\log \mathcal N(z; 0, I) = -\tfrac12 \|z\|^2 - \tfrac D2 \log 2\pi`.

    Shapes: ``z`` ``(B, D)`` → ``(B,)``.
    """
    return -0.5 * (z.pow(2).sum(-1) + z.shape[-1] * _LOG_2PI)


def coupling_halves(features: int, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the conditioning and the transformed features of coupling layer ``layer``.

    Even layers condition on the even features and transform the odd ones, odd layers the
    reverse (zuko's alternating checkered masks).

    >>> coupling_halves(3, 0)
    (tensor([0, 2]), tensor([1]))
    """
    index = torch.arange(features)
    conditioning = index % 2 == layer % 2
    return index[conditioning], index[~conditioning]


class CouplingLayer(nn.Module):
    """Base of a coupling layer: ``forward`` maps ``y_{l-1} → (y_l, c_l)`` and ``inverse``
    maps ``y_l → (y_{l-1}, c_l)``.

    Arguments:
        features: ``D`` (at least 2).
        layer: the layer's position, which selects its halves (:func:`coupling_halves`).
    """

    def __init__(self, features: int, layer: int) -> None:
        super().__init__()
        if features < 2:
            raise ValueError(f"coupling layers need at least 2 features, got {features}")
        conditioning, transformed = coupling_halves(features, layer)
        # Derived from (features, layer): not part of the state.
        self.register_buffer("conditioning", conditioning, persistent=False)
        self.register_buffer("transformed", transformed, persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def inverse(self, y: torch.Tensor, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


class CouplingFlow(nn.Module):
    r"""A stack of coupling layers on a standard normal base: ``forward(x)`` is
    :math:`\log p(x)`.

    Shapes:
        forward: ``x`` ``(B, D)`` → ``(B,)``; :meth:`sample` → ``(n, D)`` and ``(n,)``.
    """

    def __init__(self, layers: Sequence[CouplingLayer], features: int) -> None:
        super().__init__()
        self.features = features
        self.layers = nn.ModuleList(layers)

    def extra_repr(self) -> str:
        return f"features={self.features}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        contributions = []
        for layer in self.layers:
            x, contribution = layer(x)
            contributions.append(contribution)
        contributions.append(standard_normal_log_prob(x))
        return torch.stack(contributions).sum(0)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n`` exact samples and their log-density computed along the sampling path.

        :param generator: a CPU generator for the base draws (and RAD's piece labels).
        :returns: ``(x, log_prob)`` of shapes ``(n, D)`` and ``(n,)``.
        """
        reference = next(self.parameters())
        y = torch.randn(n, self.features, generator=generator, dtype=reference.dtype)
        y = y.to(reference.device)
        log_prob = standard_normal_log_prob(y)
        for layer in reversed(self.layers):
            y, contribution = layer.inverse(y, generator)
            log_prob = log_prob + contribution
        return y, log_prob
