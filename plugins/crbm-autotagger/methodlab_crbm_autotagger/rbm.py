r"""The conditional RBM over tag vectors: the multi-label DRBM and the tag-smoothing CRBM.

Energy (Mandel, Pascanu, Larochelle & Bengio 2011; Larochelle et al., JMLR 13, 2012), labels
:math:`y \in \{0,1\}^L`, hidden units :math:`h \in \{0,1\}^H`, condition :math:`x \in ℝ^D`:

.. math::
    E(y, h; x) = -b^\top y - (c + Wx)^\top h - h^\top U y - y^\top A x .

For the multi-label DRBM ``x`` is the clip's audio features; for the tag-smoothing CRBM it is
the other annotators' tags of the clip. Summing out ``h`` gives the free energy

.. math::
    F(x, y) = -b^\top y - y^\top A x - \sum_j \operatorname{softplus}(c_j + W_j x + U_j y),
    \qquad p(y \mid x) = \frac{e^{-F(x, y)}}{\sum_{y'} e^{-F(x, y')}},

computed with ``softplus`` and ``logsumexp`` so it never overflows. The conditionals are
:math:`p(h_j = 1 \mid x, y) = σ(c_j + W_j x + U_j y)` and
:math:`p(y_l = 1 \mid x, h) = σ(b_l + A_l x + U_{:l}^\top h)`.

Shapes: ``x`` ``(B, D)``, ``y`` ``(B, L)``, ``h`` ``(B, H)``; parameters ``W`` ``(H, D)``,
``U`` ``(H, L)``, ``A`` ``(L, D)``, ``b`` ``(L,)``, ``c`` ``(H,)``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from methodlab_crbm_autotagger.config import MAX_EXACT_TAGS

__all__ = ["ConditionalRBM", "label_states"]

_CHUNK_ELEMENTS = 1 << 22
"""Enumeration works on chunks of label vectors so a (B, chunk, H) block stays ~4M numbers."""


def label_states(tags: int, dtype: torch.dtype = torch.float64,
                 device: torch.device | str = "cpu") -> torch.Tensor:
    """All 2^L binary label vectors, shape ``(2^L, L)``, in binary counting order.

    :raises ValueError: for L > ``MAX_EXACT_TAGS`` (12).

    Example:
        >>> label_states(2).tolist()
        [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    """
    if not 0 < tags <= MAX_EXACT_TAGS:
        raise ValueError(f"enumeration needs 1 to {MAX_EXACT_TAGS} tags, got {tags}")
    codes = torch.arange(2**tags, device=device)
    shifts = torch.arange(tags - 1, -1, -1, device=device)
    return ((codes[:, None] >> shifts) & 1).to(dtype)


class ConditionalRBM(nn.Module):
    """p(y | x) of a conditional RBM; ``forward(x)`` returns the marginals p(y_l = 1 | x).

    Arguments:
        in_features: D. tags: L. hidden: H.
        init_scale: standard deviation of the initial ``W``, ``U`` and ``A``.
        direct: whether the direct term ``yᵀAx`` exists.
        predict: ``mean-field``, ``gibbs`` or ``exact`` marginals in :meth:`forward`.
        mean_field_steps, gibbs_chains, gibbs_sweeps, gibbs_burn_in: their settings.

    References:
        Autotagging music with conditional restricted Boltzmann machines (Mandel et al., 2011),
        https://arxiv.org/abs/1103.2832; Learning algorithms for the classification restricted
        Boltzmann machine (Larochelle et al., 2012), JMLR 13:643–669.

    .. note::
        Exact marginals and likelihoods enumerate 2^L label vectors and refuse L > 12; the
        paper's larger vocabularies need the mean-field or Gibbs marginals.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> rbm = ConditionalRBM(3, 2, 4, init_scale=0.5, predict="exact").double()
        >>> x = torch.randn(5, 3, dtype=torch.float64)
        >>> probs = rbm.log_prob_all(x).exp()           # (5, 4): p(y | x) for all 4 vectors
        >>> bool(torch.allclose(probs.sum(1), torch.ones(5, dtype=torch.float64)))
        True
    """

    def __init__(self, in_features: int, tags: int, hidden: int, *, init_scale: float = 0.01,
                 direct: bool = False, predict: str = "mean-field", mean_field_steps: int = 20,
                 gibbs_chains: int = 20, gibbs_sweeps: int = 50, gibbs_burn_in: int = 10
                 ) -> None:
        super().__init__()
        self.in_features, self.tags, self.hidden = in_features, tags, hidden
        self.W = nn.Parameter(init_scale * torch.randn(hidden, in_features))
        self.U = nn.Parameter(init_scale * torch.randn(hidden, tags))
        self.b = nn.Parameter(torch.zeros(tags))
        self.c = nn.Parameter(torch.zeros(hidden))
        self.A = nn.Parameter(init_scale * torch.randn(tags, in_features)) if direct else None
        if predict == "exact" and tags > MAX_EXACT_TAGS:
            raise ValueError(f"model.predict: 'exact' enumerates 2^L label vectors; {tags} "
                             f"tags is more than {MAX_EXACT_TAGS}")
        self.predict = predict
        self.mean_field_steps = mean_field_steps
        self.gibbs_chains, self.gibbs_sweeps = gibbs_chains, gibbs_sweeps
        self.gibbs_burn_in = gibbs_burn_in

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, tags={self.tags}, hidden={self.hidden}, "
                f"direct={self.A is not None}, predict={self.predict!r}")

    # --- pieces of the energy ------------------------------------------------------------------

    def hidden_input(self, x: torch.Tensor) -> torch.Tensor:
        """c + Wx, shape ``(B, H)``."""
        return self.c + x @ self.W.T

    def label_bias(self, x: torch.Tensor) -> torch.Tensor:
        """b + Ax (b alone without the direct term), shape ``(B, L)`` or ``(L,)``."""
        return self.b if self.A is None else self.b + x @ self.A.T

    def free_energy(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """F(x, y) per example, shape ``(B,)``; ``y`` may be fractional (mean-field)."""
        pre = self.hidden_input(x) + y @ self.U.T
        return -(y * self.label_bias(x)).sum(-1) - F.softplus(pre).sum(-1)

    def log_prob_all(self, x: torch.Tensor) -> torch.Tensor:
        """log p(y | x) for every label vector of :func:`label_states`, shape ``(B, 2^L)``."""
        states = label_states(self.tags, x.dtype, x.device)
        return self._neg_free_energy_all(x, states).log_softmax(-1)

    def _neg_free_energy_all(self, x: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        """−F(x, y) for all ``states`` ``(S, L)``: ``(B, S)``, in chunks of states."""
        hidden_in = self.hidden_input(x)                      # (B, H)
        chunk = max(1, _CHUNK_ELEMENTS // max(1, x.shape[0] * self.hidden))
        parts = []
        for start in range(0, len(states), chunk):
            block = states[start:start + chunk]               # (S', L)
            pre = hidden_in[:, None, :] + (block @ self.U.T)[None]   # (B, S', H)
            label_term = (block @ self.b)[None] if self.A is None else \
                (block @ self.b)[None] + (x @ self.A.T) @ block.T
            parts.append(label_term + F.softplus(pre).sum(-1))
        return torch.cat(parts, 1)

    def log_partition(self, x: torch.Tensor) -> torch.Tensor:
        """log Σ_y exp(−F(x, y)) per example by enumeration, shape ``(B,)`` (L ≤ 12)."""
        states = label_states(self.tags, x.dtype, x.device)
        return self._neg_free_energy_all(x, states).logsumexp(-1)

    # --- marginals -----------------------------------------------------------------------------

    def exact_marginals(self, x: torch.Tensor) -> torch.Tensor:
        """p(y_l = 1 | x) by enumeration, shape ``(B, L)`` (L ≤ 12)."""
        states = label_states(self.tags, x.dtype, x.device)
        return self.log_prob_all(x).exp() @ states

    def mean_field(self, x: torch.Tensor, y: torch.Tensor, steps: int
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """``steps`` sweeps of the mean-field fixed point τ = σ(c + Wx + Uμ),
        μ = σ(b + Ax + Uᵀτ), starting from μ = ``y``; returns (μ ``(B, L)``, τ ``(B, H)``)
        with τ consistent with the returned μ."""
        hidden_in, label_in = self.hidden_input(x), self.label_bias(x)
        mu = y
        for _ in range(steps):
            tau = torch.sigmoid(hidden_in + mu @ self.U.T)
            mu = torch.sigmoid(label_in + tau @ self.U)
        return mu, torch.sigmoid(hidden_in + mu @ self.U.T)

    def gibbs(self, x: torch.Tensor, y: torch.Tensor, steps: int,
              generator: torch.Generator | None = None) -> torch.Tensor:
        """``steps`` block Gibbs sweeps h ~ p(h | x, y), y ~ p(y | x, h) from ``y``; returns
        the last y sample ``(B, L)``."""
        hidden_in, label_in = self.hidden_input(x), self.label_bias(x)
        for _ in range(steps):
            h = torch.bernoulli(torch.sigmoid(hidden_in + y @ self.U.T), generator=generator)
            y = torch.bernoulli(torch.sigmoid(label_in + h @ self.U), generator=generator)
        return y

    def gibbs_marginals(self, x: torch.Tensor) -> torch.Tensor:
        """p(y_l = 1 | x) as the average of p(y_l = 1 | x, h) over ``gibbs_chains`` chains per
        example and ``gibbs_sweeps`` sweeps after ``gibbs_burn_in``; a private generator with a
        fixed seed keeps evaluation deterministic and out of the training random stream."""
        generator = torch.Generator(device=x.device).manual_seed(0)
        xs = x.repeat_interleave(self.gibbs_chains, 0)
        hidden_in, label_in = self.hidden_input(xs), self.label_bias(xs)
        y = torch.bernoulli(torch.sigmoid(label_in).expand(len(xs), self.tags),
                            generator=generator)
        total = torch.zeros_like(y)
        for sweep in range(self.gibbs_burn_in + self.gibbs_sweeps):
            h = torch.bernoulli(torch.sigmoid(hidden_in + y @ self.U.T), generator=generator)
            p_y = torch.sigmoid(label_in + h @ self.U)
            if sweep >= self.gibbs_burn_in:
                total += p_y
            y = torch.bernoulli(p_y, generator=generator)
        return (total / self.gibbs_sweeps).view(len(x), self.gibbs_chains, -1).mean(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Marginals p(y_l = 1 | x), shape ``(B, L)``, by the ``predict`` method."""
        if self.predict == "exact":
            return self.exact_marginals(x)
        if self.predict == "gibbs":
            return self.gibbs_marginals(x)
        start = torch.sigmoid(self.label_bias(x)).expand(len(x), self.tags)
        return self.mean_field(x, start, self.mean_field_steps)[0]
