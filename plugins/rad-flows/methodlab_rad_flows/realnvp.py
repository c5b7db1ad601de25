r"""RealNVP (Dinh, Sohl-Dickstein & Bengio, 2017): the baseline of the same size as RAD.

Each affine coupling layer keeps the conditioning half :math:`x_a` and maps the other half

.. math::

    y_b = x_b \odot e^{s(x_a)} + t(x_a), \qquad
    \log\left|\det \frac{\partial y}{\partial x}\right| = \textstyle\sum s(x_a),

with :math:`(t, \tilde s)` from a ReLU MLP and :math:`s = \tilde s / (1 + |\tilde s| /
\log 10^3)`, the bounded log-scale of ``zuko.flows.RealNVP``, so the two implementations are the
same model (``benchmarks/rad_flows_throughput.py`` compares them).

References:
    Density estimation using Real NVP (Dinh et al., 2017), https://arxiv.org/abs/1605.08803
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from methodlab.components import Environment

from methodlab_rad_flows.config import RealNVPParams
from methodlab_rad_flows.coupling import CouplingFlow, CouplingLayer, mlp, soft_clamp

__all__ = ["AffineCoupling", "RealNVP", "build_real_nvp"]

_LOG_SCALE_BOUND = math.log(1e3)


class AffineCoupling(CouplingLayer):
    """One affine coupling layer (see the module docstring).

    Arguments:
        features: ``D``.
        layer: position in the stack (selects the halves).
        hidden: the conditioner MLP's hidden widths.

    Example:
        >>> layer = AffineCoupling(2, 0, [8]).double()
        >>> x = torch.randn(5, 2, dtype=torch.float64)
        >>> y, log_det = layer(x)
        >>> bool(torch.allclose(layer.inverse(y)[0], x)), bool(torch.equal(y[:, 0], x[:, 0]))
        (True, True)
    """

    def __init__(self, features: int, layer: int, hidden: Sequence[int]) -> None:
        super().__init__(features, layer)
        self.net = mlp(len(self.conditioning), hidden, 2 * len(self.transformed))

    def _shift_log_scale(self, x_a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shift, scale = self.net(x_a).unflatten(-1, (-1, 2)).unbind(-1)  # (B, D_b) each
        return shift, soft_clamp(scale, _LOG_SCALE_BOUND)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shift, log_scale = self._shift_log_scale(x[:, self.conditioning])
        y_b = torch.addcmul(shift, x[:, self.transformed], log_scale.exp())
        return x.index_copy(1, self.transformed, y_b), log_scale.sum(-1)

    def inverse(self, y: torch.Tensor, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        shift, log_scale = self._shift_log_scale(y[:, self.conditioning])
        x_b = (y[:, self.transformed] - shift) * (-log_scale).exp()
        return y.index_copy(1, self.transformed, x_b), log_scale.sum(-1)


class RealNVP(CouplingFlow):
    """RealNVP: ``layers`` affine couplings with alternating halves on a standard normal.

    ``forward(x)`` is :math:`\\log p(x)` of shape ``(B,)``; :meth:`sample` draws exactly.

    Example:
        >>> flow = RealNVP(2, layers=2, hidden=[8])
        >>> flow(torch.zeros(3, 2)).shape
        torch.Size([3])
    """

    def __init__(self, features: int, layers: int, hidden: Sequence[int]) -> None:
        super().__init__([AffineCoupling(features, i, hidden) for i in range(layers)],
                         features)


def build_real_nvp(params: RealNVPParams, *, env: Environment) -> RealNVP:
    return RealNVP(env.info.in_features, params.layers, params.hidden)
