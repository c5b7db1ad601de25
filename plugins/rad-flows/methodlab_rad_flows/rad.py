r"""RAD flows: coupling layers with a piecewise locally invertible map and masked gating.

A RAD ("real and discrete") layer partitions its input space into pieces :math:`A_k` and is
invertible on each piece. The label map :math:`\phi(x) = k` for :math:`x \in A_k` turns the
non-invertible map into a bijection between :math:`x` and :math:`(y, k)`, and

.. math::

    p(x) = p_Y(y)\, p(k = \phi(x) \mid y)\, \left|\det \frac{\partial y}{\partial x}\right|,
    \qquad y = f(x).

**The N-shaped map.** For every transformed feature, an MLP on the conditioning half
:math:`x_a` gives breakpoints :math:`a = m - e^{w} < b = m + e^{w}`, slopes
:math:`s_1 > 0`, :math:`s_2 < 0`, :math:`s_3 > 0` (softplus plus a floor) and the offset
:math:`t = g(a)` of the continuous piecewise-linear map

.. math::

    g(x) = \begin{cases}
        t + s_1 (x - a)                  & x < a \quad (k = 1) \\
        t + s_2 (x - a)                  & a \le x < b \quad (k = 2) \\
        t + s_2 (b - a) + s_3 (x - b)    & x \ge b \quad (k = 3).
    \end{cases}

The pieces' images are :math:`(-\infty, t]`, :math:`[g(b), t]` and :math:`[g(b), \infty)` with
:math:`g(b) = t + s_2 (b - a) < t`: a point :math:`z` has one preimage outside
:math:`[g(b), t]` and three inside.

**Masked gating.** A second MLP on the layer's output :math:`y = (x_a, z)` gives three logits per
transformed feature; logits of pieces whose image does not contain :math:`z` are set to
:math:`-\infty` before the softmax. Then :math:`\sum_{k:\, z \in g(A_k)} p(k \mid y) = 1` for
every :math:`z`, which is exactly what makes :math:`p(x)` integrate to one:

.. math::

    \int p(x)\, dx = \sum_k \int_{g(A_k)} p_Y(z)\, p(k \mid z)\, dz
                   = \int p_Y(z) \sum_{k:\, z \in g(A_k)} p(k \mid z)\, dz = 1.

Without the mask the mass outside :math:`[g(b), t]` is short by the unreachable pieces' share.
Stacked with alternating halves on a standard normal,
:math:`\log p(x) = \log\mathcal N(z_L) + \sum_l [\log p(k_l \mid y_l) + \sum \log|s_{k_l}|]`.
Sampling draws :math:`z_L`, then per layer from the top :math:`k_l \sim p(k \mid y_l)` (the
same masks) and :math:`x = g_{k_l}^{-1}(z)`: sampling, inference of :math:`k` and likelihood
are all exact.

References:
    A RAD approach to deep mixture models (Dinh, Sohl-Dickstein, Pascanu & Larochelle, 2019),
    https://arxiv.org/abs/1903.07714

.. note::
    The paper does not fix the parametrisation; the N-shaped map with three pieces and a gating
    MLP on the layer's output is this package's design (the paper's figures use piecewise
    linear maps of this kind).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from methodlab.components import Environment

from methodlab_rad_flows.config import RADFlowParams
from methodlab_rad_flows.coupling import CouplingFlow, CouplingLayer, mlp, soft_clamp

__all__ = [
    "PIECES",
    "NShape",
    "RADCoupling",
    "RADFlow",
    "build_rad_flow",
    "masked_log_softmax",
    "sample_label",
]

PIECES = 3
"""Pieces of the N-shaped map."""
_RAW = 6
"""Conditioner outputs per transformed feature: m, w, t and three raw slopes."""
_LOG_HALF_WIDTH_BOUND = 7.0
"""|w| < 7 keeps the middle piece's half-width e^w within (1e-3, 1e3)."""
_INITIAL_LOG_HALF_WIDTH = -2.0
"""Initial w: a middle piece of half-width e^{-2 / (1 + 2/7)} = 0.21."""


class NShape(NamedTuple):
    r"""Parameters of the N-shaped maps, one per transformed feature: tensors of shape
    ``(B, D_b)``; ``slopes`` :math:`(s_1, s_2, s_3)` and ``log_slopes``
    :math:`\log|s_k|` are ``(B, D_b, 3)``."""

    a: torch.Tensor
    b: torch.Tensor
    t: torch.Tensor
    valley: torch.Tensor
    """:math:`g(b) = t + s_2 (b - a)`, the lower end of the middle piece's image."""
    slopes: torch.Tensor
    log_slopes: torch.Tensor

    @classmethod
    def from_raw(cls, raw: torch.Tensor, min_slope: float) -> NShape:
        """Constrain unconstrained conditioner outputs ``raw`` of shape ``(B, D_b, 6)``.

        >>> shape = NShape.from_raw(torch.zeros(1, 1, 6), 1e-3)
        >>> shape.a.item(), shape.b.item(), [round(s, 4) for s in shape.slopes.flatten().tolist()]
        (-1.0, 1.0, [0.6941, -0.6941, 0.6941])
        """
        m, w, t, raw_slopes = raw[..., 0], raw[..., 1], raw[..., 2], raw[..., 3:]
        half_width = soft_clamp(w, _LOG_HALF_WIDTH_BOUND).exp()
        a, b = m - half_width, m + half_width
        magnitude = F.softplus(raw_slopes) + min_slope
        slopes = magnitude * raw.new_tensor([1.0, -1.0, 1.0])
        # b - a exactly as forward() measures x - a, so reachable() agrees with forward().
        valley = t + slopes[..., 1] * (b - a)
        return cls(a, b, t, valley, slopes, magnitude.log())

    def _piece(self, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                torch.Tensor]:
        """Anchor (x, g(x)), slope and log|slope| of piece ``k`` per entry: pieces 1 and 2
        are anchored at (a, t), piece 3 at (b, g(b))."""
        last = k == PIECES - 1
        index = k.unsqueeze(-1)
        return (torch.where(last, self.b, self.a), torch.where(last, self.valley, self.t),
                self.slopes.gather(-1, index).squeeze(-1),
                self.log_slopes.gather(-1, index).squeeze(-1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r"""Map ``x`` ``(B, D_b)``: returns the piece labels :math:`k = \phi(x) \in \{0, 1, 2\}`
        (long), :math:`z = g(x)` and :math:`\log|g'(x)| = \log|s_k|`.

        The third piece is anchored at :attr:`valley` itself, so :meth:`reachable` holds for
        the piece each point came from without rounding slack.
        """
        k = (x >= self.a).long() + (x >= self.b).long()
        anchor_x, anchor_z, slope, log_slope = self._piece(k)
        return k, anchor_z + slope * (x - anchor_x), log_slope

    def inverse(self, z: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r""":math:`x = g_k^{-1}(z)` on piece ``k`` (which must reach ``z``) and
        :math:`\log|s_k|`."""
        anchor_x, anchor_z, slope, log_slope = self._piece(k)
        return anchor_x + (z - anchor_z) / slope, log_slope

    def reachable(self, z: torch.Tensor) -> torch.Tensor:
        """Which pieces' images contain ``z``: a boolean ``(B, D_b, 3)``; at least one per
        entry (the outer pieces cover the line)."""
        below_peak, above_valley = z <= self.t, z >= self.valley
        return torch.stack([below_peak, below_peak & above_valley, above_valley], -1)


def masked_log_softmax(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r""":math:`\log p(k)` over the pieces where ``mask`` is true, :math:`-\infty` elsewhere.

    Shapes: ``logits``, ``mask`` ``(..., K)`` → ``(..., K)``. Every row needs a true entry.

    >>> masked_log_softmax(torch.zeros(3), torch.tensor([True, False, True])).exp()
    tensor([0.5000, 0.0000, 0.5000])
    """
    return torch.log_softmax(logits.masked_fill(~mask, float("-inf")), -1)


def sample_label(log_probs: torch.Tensor, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
    """Draw ``k`` with probabilities ``exp(log_probs)`` by the Gumbel-max trick; entries at
    −inf are never drawn.

    Shapes: ``(..., K)`` → ``(...)`` (long).
    """
    uniform = torch.rand(log_probs.shape, generator=generator, dtype=log_probs.dtype)
    tiny = torch.finfo(log_probs.dtype).tiny
    gumbel = -(-uniform.clamp_min(tiny).log()).log()
    return (log_probs + gumbel.to(log_probs.device)).argmax(-1)


class RADCoupling(CouplingLayer):
    r"""One RAD coupling layer (see the module docstring): ``forward`` returns
    :math:`y` and :math:`\sum [\log p(k \mid y) + \log|s_k|]` over the transformed features.

    Arguments:
        features: ``D``.
        layer: position in the stack (selects the halves).
        hidden: the piece MLP's hidden widths (``x_a → 6 D_b``).
        gating_hidden: the gating MLP's hidden widths (``y → 3 D_b``).
        min_slope: floor on every |slope|.

    Example:
        >>> layer = RADCoupling(2, 0, [8], [8], 1e-3).double()
        >>> x = torch.randn(4, 2, dtype=torch.float64)
        >>> y, contribution = layer(x)
        >>> k = layer.labels(x)
        >>> x_back = layer.invert_piece(y, k)
        >>> bool(torch.allclose(x_back, x)), tuple(contribution.shape)
        (True, (4,))
    """

    def __init__(self, features: int, layer: int, hidden: Sequence[int],
                 gating_hidden: Sequence[int], min_slope: float) -> None:
        super().__init__(features, layer)
        self.min_slope = min_slope
        transformed = len(self.transformed)
        self.net = mlp(len(self.conditioning), hidden, _RAW * transformed)
        self.gate = mlp(features, gating_hidden, PIECES * transformed)
        self._start_near_identity()

    @torch.no_grad()
    def _start_near_identity(self) -> None:
        """Bias the piece MLP's read-out to m = t = 0, slopes ±1 and a narrow middle piece.

        The map then starts as a small fold of the identity, and training grows folds where
        the data needs them; with PyTorch's default read-out every layer would start with a
        fold of [-1, 1] at slope ±0.69, six random folds that training has to undo (and that
        left stray probability mass far from the data in our runs).
        """
        unit_slope = torch.tensor(1.0 - self.min_slope).expm1().log()  # softplus⁻¹(1 − floor)
        bias = torch.tensor([0.0, _INITIAL_LOG_HALF_WIDTH, 0.0, 0.0, 0.0, 0.0])
        bias[3:] = unit_slope
        self.net[-1].bias.copy_(bias.repeat(len(self.transformed)))

    def extra_repr(self) -> str:
        return f"pieces={PIECES}, min_slope={self.min_slope}"

    def pieces(self, x_a: torch.Tensor) -> NShape:
        """The N-shaped maps given the conditioning half ``x_a`` ``(B, D_a)``."""
        return NShape.from_raw(self.net(x_a).unflatten(-1, (-1, _RAW)), self.min_slope)

    def log_gate(self, y: torch.Tensor, shape: NShape) -> torch.Tensor:
        r""":math:`\log p(k \mid y)` ``(B, D_b, 3)``, masked to the pieces that reach ``y``."""
        logits = self.gate(y).unflatten(-1, (-1, PIECES))
        return masked_log_softmax(logits, shape.reachable(y[:, self.transformed]))

    def labels(self, x: torch.Tensor) -> torch.Tensor:
        r"""The piece labels :math:`\phi(x)` ``(B, D_b)``."""
        return self.pieces(x[:, self.conditioning]).forward(x[:, self.transformed])[0]

    def invert_piece(self, y: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """The preimage of ``y`` on pieces ``k`` ``(B, D_b)`` (which must reach ``y``)."""
        shape = self.pieces(y[:, self.conditioning])
        x_b, _ = shape.inverse(y[:, self.transformed], k)
        return y.index_copy(1, self.transformed, x_b)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = self.pieces(x[:, self.conditioning])
        k, z, log_slope = shape.forward(x[:, self.transformed])
        y = x.index_copy(1, self.transformed, z)
        log_gate = self.log_gate(y, shape).gather(-1, k.unsqueeze(-1)).squeeze(-1)
        return y, (log_gate + log_slope).sum(-1)

    def inverse(self, y: torch.Tensor, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        shape = self.pieces(y[:, self.conditioning])
        log_gate = self.log_gate(y, shape)  # (B, D_b, 3)
        k = sample_label(log_gate, generator)
        x_b, log_slope = shape.inverse(y[:, self.transformed], k)
        chosen = log_gate.gather(-1, k.unsqueeze(-1)).squeeze(-1)
        return y.index_copy(1, self.transformed, x_b), (chosen + log_slope).sum(-1)


class RADFlow(CouplingFlow):
    r"""A RAD flow: ``layers`` RAD couplings with alternating halves on a standard normal.

    ``forward(x)`` is the exact :math:`\log p(x)` ``(B,)`` including every gating term;
    :meth:`sample` draws exact samples with their log-density; :meth:`labels` infers the
    discrete latents.

    Example:
        >>> flow = RADFlow(2, layers=2, hidden=[8], gating_hidden=[8], min_slope=1e-3).double()
        >>> x, log_prob = flow.sample(5, torch.Generator().manual_seed(0))
        >>> bool(torch.allclose(flow(x), log_prob))
        True
    """

    def __init__(self, features: int, layers: int, hidden: Sequence[int],
                 gating_hidden: Sequence[int], min_slope: float) -> None:
        super().__init__([RADCoupling(features, i, hidden, gating_hidden, min_slope)
                          for i in range(layers)], features)

    @torch.no_grad()
    def labels(self, x: torch.Tensor) -> list[torch.Tensor]:
        r"""The discrete latents :math:`k_1, …, k_L` of ``x`` ``(B, D)``: one ``(B, D_b)``
        long tensor per layer, bottom first."""
        labels = []
        for layer in self.layers:
            labels.append(layer.labels(x))
            x, _ = layer(x)
        return labels


def build_rad_flow(params: RADFlowParams, *, env: Environment) -> RADFlow:
    return RADFlow(env.info.in_features, params.layers, params.hidden, params.gating_hidden,
                   params.min_slope)
