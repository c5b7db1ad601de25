r"""Output models of a binary frame given a conditioning vector: NADE and independent Bernoulli."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BernoulliOutput", "ConditionalNADE"]


class ConditionalNADE(nn.Module):
    r"""A NADE over P binary units whose biases are affine in a conditioning vector
    (the output model of the RNN-NADE).

    .. math::

        b_v(h) = b_v + W_{hv} h, \qquad b_a(h) = b_a + W_{ha} h \\
        a_i = b_a(h) + \sum_{j<i} W_{:,j} x_j, \qquad
        p(x_i = 1 \mid x_{<i}, h) = \operatorname{sigmoid}\big(b_v(h)_i + V_{i,:}
        \operatorname{sigmoid}(a_i)\big)

    and :math:`-\log p(x \mid h) = \sum_i \mathrm{BCE}(\cdot)` exactly; the sum over
    :math:`j < i` is one exclusive cumulative sum, so all P conditionals come from one
    pass.

    References:
        The neural autoregressive distribution estimator (Larochelle & Murray, AISTATS 2011);
        Modeling temporal dependencies in high-dimensional sequences (Boulanger-Lewandowski,
        Bengio & Vincent, ICML 2012), https://arxiv.org/abs/1206.6392

    Arguments:
        condition: size of h.
        units: P visible units.
        hidden: NADE hidden units K.

    Shapes:
        ``nll(x, h)``: x ``(*, P)`` of 0/1, h ``(*, condition)`` → ``(*)`` nats.

    Example:
        >>> nade = ConditionalNADE(condition=3, units=4, hidden=5)
        >>> nade.nll(torch.zeros(2, 4), torch.zeros(2, 3)).shape
        torch.Size([2])
    """

    def __init__(self, condition: int, units: int, hidden: int) -> None:
        super().__init__()
        self.units, self.hidden = units, hidden
        self.visible_bias = nn.Linear(condition, units)  # b_v + W_hv h
        self.hidden_bias = nn.Linear(condition, hidden)  # b_a + W_ha h
        bound = 1.0 / math.sqrt(units)
        self.weight = nn.Parameter(torch.empty(units, hidden).uniform_(-bound, bound))  # Wᵀ
        self.readout = nn.Parameter(torch.empty(units, hidden).uniform_(-bound, bound))  # V

    def extra_repr(self) -> str:
        return f"units={self.units}, hidden={self.hidden}"

    def logits(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Logits of p(x_i = 1 | x_<i, h) for every i, shape ``(*, P)``."""
        contributions = x.unsqueeze(-1) * self.weight  # (*, P, K)
        before = torch.cumsum(contributions, dim=-2) - contributions  # Σ_{j<i}, (*, P, K)
        a = self.hidden_bias(h).unsqueeze(-2) + before  # (*, P, K)
        return self.visible_bias(h) + (torch.sigmoid(a) * self.readout).sum(-1)  # (*, P)

    def nll(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Exact −log p(x | h) in nats, shape ``(*)``."""
        logits = self.logits(x, h)
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


class BernoulliOutput(nn.Module):
    r"""Independent Bernoulli units, :math:`p(x_i = 1 \mid h) = \operatorname{sigmoid}(b + W h)_i`.

    Shapes:
        ``nll(x, h)``: x ``(*, P)`` of 0/1, h ``(*, condition)`` → ``(*)`` nats.

    Example:
        >>> out = BernoulliOutput(condition=3, units=4)
        >>> bool(out.nll(torch.zeros(4), torch.zeros(3)) > 0)
        True
    """

    def __init__(self, condition: int, units: int) -> None:
        super().__init__()
        self.linear = nn.Linear(condition, units)

    def nll(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """−log p(x | h) in nats, shape ``(*)``."""
        return F.binary_cross_entropy_with_logits(self.linear(h), x, reduction="none").sum(-1)
