r"""Learned-norm pooling: the stable Lp norm, the Lp layer and the Lp recurrent cell."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LpPool", "LpRNN", "LpRNNCell", "inverse_softplus", "lp_norm"]

def lp_norm(z: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    r"""Normalised Lp norm of each group, computed stably.

    .. math::

        u_j = \Big(\frac1N \sum_{i=1}^{N} |z_{ji}|^{p_j}\Big)^{1/p_j}
            = m_j \Big(\frac1N \sum_{i=1}^{N} (|z_{ji}| / m_j)^{p_j}\Big)^{1/p_j},
        \qquad m_j = \max_i |z_{ji}|.

    The right-hand form is the same number for every ``m_j > 0``, so ``m_j`` enters as a
    constant (detached, which leaves the gradient exact): every ratio lies in ``[0, 1]``, the
    mean in ``[1/N, 1]``, and neither ``|z|^p`` nor its ``1/p``-th root can overflow or
    underflow to zero for any ``p ≥ 1``. Ratios are floored at the dtype's smallest normal
    number, so a zero input adds at most that to the mean and gets a zero gradient.
    ``p = 1`` gives the mean absolute value, ``p = 2`` the root mean square, ``p → ∞`` the
    maximum ``max_i |z_{ji}|``.

    References:
        Learned-Norm Pooling for Deep Feedforward and Recurrent Neural Networks (Gulcehre et
        al., 2014), https://arxiv.org/abs/1311.1780

    Arguments:
        z: inputs of each group, shape ``(*, K, N)``: ``K`` groups of ``N``.
        p: order of each group, shape ``(K,)`` (or broadcastable to ``(*, K)``), ``p ≥ 1``.

    Returns:
        ``u`` of shape ``(*, K)``.

    Example:
        >>> z = torch.tensor([[[3.0, -4.0], [1e30, 1e30]]])
        >>> lp_norm(z, torch.tensor([2.0, 50.0]))
        tensor([[3.5355e+00, 1.0000e+30]])
    """
    magnitude = z.abs()
    tiny = torch.finfo(z.dtype).tiny
    scale = magnitude.amax(-1, keepdim=True).detach().clamp_min(tiny)
    # log r is finite once r is floored at the smallest normal number: r^p = exp(p log r) and
    # its p-gradient r^p log r stay finite at r = 0 (and cost less than a tensor-exponent pow).
    log_ratio = torch.log((magnitude / scale).clamp_min(tiny))  # (*, K, N), ≤ 0
    mean = torch.exp(p.unsqueeze(-1) * log_ratio).mean(-1)  # (*, K)
    # The largest ratio is exactly 1, so the mean is ≥ 1/N; only an all-zero group falls below.
    mean = mean.clamp_min(1.0 / z.shape[-1])
    return scale.squeeze(-1) * torch.exp(torch.log(mean) / p)


def inverse_softplus(y: torch.Tensor) -> torch.Tensor:
    """``ρ`` with ``softplus(ρ) = y`` for ``y > 0``.

    Example:
        >>> float(F.softplus(inverse_softplus(torch.tensor(2.0))))
        2.0
    """
    return y + torch.log(-torch.expm1(-y))


class LpPool(nn.Module):
    r"""A layer of ``K`` Lp units, each pooling ``N`` linear filters with a learned order.

    .. math::

        a = W x, \qquad
        u_j = \Big(\frac1N \sum_{i \in G_j} |a_i - c_i|^{p_j}\Big)^{1/p_j}, \qquad
        p_j = 1 + \mathrm{softplus}(\rho_j),

    with ``G_j`` the ``j``-th block of ``N`` consecutive filters, learned centres ``c`` and
    learned ``ρ`` (so ``p_j > 1`` always). Computed by :func:`lp_norm`.

    .. note::
        The paper writes ``a = Wx + b`` and subtracts ``c``; ``b`` and ``c`` enter only as
        ``b − c``, so the layer keeps the centres alone (initialised as PyTorch initialises a
        bias).

    Arguments:
        in_features: ``D``.
        units: ``K``, the number of Lp units (outputs).
        group_size: ``N``, filters pooled per unit.
        p_init: mean of the initial orders (> 1); the paper initialises near 3.
        p_init_std: standard deviation of the initial orders around ``p_init``.
        learn_p: learn ``ρ``; ``False`` fixes every ``p_j`` (e.g. L2 units with ``p = 2``).

    Shapes:
        input ``(*, D)``; output ``(*, K)``.

    Example:
        >>> layer = LpPool(2, 3, group_size=2)
        >>> layer(torch.zeros(5, 2)).shape, layer.p.shape
        (torch.Size([5, 3]), torch.Size([3]))
    """

    def __init__(
        self,
        in_features: int,
        units: int,
        group_size: int = 2,
        *,
        p_init: float = 3.0,
        p_init_std: float = 0.0,
        learn_p: bool = True,
    ) -> None:
        super().__init__()
        if p_init <= 1.0:
            raise ValueError(f"p_init must exceed 1 (p = 1 + softplus(ρ)), got {p_init}")
        self.in_features, self.units, self.group_size = in_features, units, group_size
        self.p_init, self.p_init_std, self.learn_p = p_init, p_init_std, learn_p
        self.linear = nn.Linear(in_features, units * group_size, bias=False)
        self.centres = nn.Parameter(torch.empty(units * group_size))
        rho = torch.empty(units)
        if learn_p:
            self.rho = nn.Parameter(rho)
        else:
            self.register_buffer("rho", rho)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.linear.reset_parameters()
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
        with torch.no_grad():
            self.centres.uniform_(-bound, bound)
            p = self.p_init + self.p_init_std * torch.randn(self.units)
            # Orders drawn at or below 1 have no ρ; keep them just above.
            self.rho.copy_(inverse_softplus((p - 1.0).clamp_min(1e-3)))

    @property
    def p(self) -> torch.Tensor:
        """The orders ``p_j = 1 + softplus(ρ_j)``, shape ``(K,)``."""
        return 1.0 + F.softplus(self.rho)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x) - self.centres  # (*, K·N)
        z = z.unflatten(-1, (self.units, self.group_size))  # (*, K, N)
        return lp_norm(z, self.p)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, units={self.units}, "
                f"group_size={self.group_size}, learn_p={self.learn_p}")


class LpRNNCell(nn.Module):
    r"""A recurrent cell whose hidden units are Lp units (Gulcehre et al., 2014, §3.2).

    .. math::

        h_t = \tanh\big(V\, \mathrm{Lp}(U h_{t-1} + W x_t) + b\big),

    where ``Lp`` is an :class:`LpPool` over the concatenation ``[x_t, h_{t−1}]`` (its centres
    play the role of the pre-activation bias). Lp units are unbounded; the outer ``tanh``
    keeps the state in ``(−1, 1)`` so the recurrence cannot blow up.

    Arguments:
        input_size: ``D``.
        hidden_size: ``H``, the state size.
        units: ``K`` Lp units (defaults to ``H``).
        group_size, p_init, p_init_std, learn_p: as in :class:`LpPool`.

    Shapes:
        input ``(B, D)``, state ``(B, H)``; output the new state ``(B, H)``.

    Example:
        >>> cell = LpRNNCell(3, 4)
        >>> cell(torch.zeros(2, 3), torch.zeros(2, 4)).shape
        torch.Size([2, 4])
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        units: int | None = None,
        group_size: int = 2,
        *,
        p_init: float = 3.0,
        p_init_std: float = 0.0,
        learn_p: bool = True,
    ) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.lp = LpPool(input_size + hidden_size, units or hidden_size, group_size,
                         p_init=p_init, p_init_std=p_init_std, learn_p=learn_p)
        self.output = nn.Linear(self.lp.units, hidden_size)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.output(self.lp(torch.cat([x, h], dim=-1))))

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"


class LpRNN(nn.Module):
    """:class:`LpRNNCell` unrolled over a sequence from a zero (or given) state.

    Shapes:
        input ``(T, B, D)``; output the states ``(T, B, H)``.

    Example:
        >>> LpRNN(LpRNNCell(3, 4))(torch.zeros(7, 2, 3)).shape
        torch.Size([7, 2, 4])
    """

    def __init__(self, cell: LpRNNCell) -> None:
        super().__init__()
        self.cell = cell

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        if h is None:
            h = x.new_zeros(x.shape[1], self.cell.hidden_size)
        states = []
        for x_t in x:
            h = self.cell(x_t, h)
            states.append(h)
        return torch.stack(states)
