"""Parameters of the natural-gradient optimizer (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "FISHER_SOURCES",
    "SOLVERS",
    "FixedInitMLPParams",
    "HessianFreeParams",
    "KrylovSubspaceDescentParams",
    "NaturalConjugateGradientParams",
    "NaturalGradientParams",
    "OrderedDigitsParams",
    "ProbeOutputsParams",
    "TongaParams",
]

SOLVERS = ("cg", "minres")
"""Krylov solvers for the damped Fisher system."""

FISHER_SOURCES = ("batch", "curvature")
"""Where the Fisher is estimated: the labeled training batch or the unlabeled curvature batch."""


@attrs.frozen
class NaturalGradientParams:
    """The ``[optimizer]`` table of ``use = "natural-gradient"`` (Pascanu & Bengio, 2014)."""

    # Update
    lr: float = attrs.field(default=1.0, validator=v.gt(0.0))
    """Step size η in θ ← θ − η d."""

    # Damping (Levenberg-Marquardt)
    damping: float = attrs.field(default=0.1, validator=v.ge(0.0))
    """Initial Tikhonov damping λ in (F + λI) d = g."""
    min_damping: float = attrs.field(default=1e-4, validator=v.ge(0.0))
    """Floor λ_min below which the Levenberg-Marquardt rule does not lower λ."""
    damping_boost: float = attrs.field(default=1.5, validator=v.ge(1.0))
    """Factor applied to λ when the reduction ratio ρ < 1/4 (the paper's code: 1.5)."""
    damping_drop: float = attrs.field(default=2.0 / 3.0, validator=[v.gt(0.0), v.le(1.0)])
    """Factor applied to λ when ρ > 3/4 (the paper's code: 2/3)."""
    adapt_damping: bool = True
    """Adapt λ from ρ = actual / predicted loss change (one extra loss evaluation)."""

    # Solver
    solver: str = attrs.field(default="cg", validator=v.in_(SOLVERS))
    """Krylov solver for (F + λI) d = g: ``cg`` (linear conjugate gradient) or ``minres``."""
    max_iter: int = attrs.field(default=20, validator=v.ge(1))
    """Maximum Fisher-vector products per solve (truncation of the truncated-Newton step)."""
    tol: float = attrs.field(default=1e-4, validator=v.ge(0.0))
    """Relative residual tolerance ‖(F + λI) d − g‖ ≤ tol ‖g‖ of the solve."""
    warm_start: bool = False
    """Start the solve from the previous direction d instead of 0."""

    # Fisher estimate
    fisher_source: str = attrs.field(default="batch", validator=v.in_(FISHER_SOURCES))
    """Inputs of the Fisher F = JᵀHJ: ``batch`` (the training batch) or ``curvature`` (the
    environment's unlabeled curvature batch; the training inputs when it has none)."""
    fisher_batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Rows of the Fisher inputs drawn (without replacement) per update; 0 uses all."""


@attrs.frozen
class HessianFreeParams:
    """The ``[optimizer]`` table of ``use = "hessian-free"`` (Martens, 2010)."""

    damping: float = attrs.field(default=1.0, validator=v.gt(0.0))
    """Initial Levenberg-Marquardt damping λ in (G + λI) δ = −g (Martens: 45 for his nets)."""
    min_damping: float = attrs.field(default=1e-4, validator=v.ge(0.0))
    """Floor of λ."""
    damping_boost: float = attrs.field(default=1.5, validator=v.ge(1.0))
    """λ factor when the reduction ratio ρ < 1/4 (Martens: 3/2)."""
    damping_drop: float = attrs.field(default=2.0 / 3.0, validator=[v.gt(0.0), v.le(1.0)])
    """λ factor when ρ > 3/4 (Martens: 2/3)."""
    max_iter: int = attrs.field(default=50, validator=v.ge(1))
    """Maximum CG iterations (Gauss-Newton products) per update."""
    tol: float = attrs.field(default=1e-6, validator=v.ge(0.0))
    """Relative residual tolerance of CG."""
    warm_start_decay: float = attrs.field(default=0.95, validator=[v.ge(0.0), v.le(1.0)])
    """CG starts from ζ times the previous update's last CG iterate (Martens: ζ = 0.95; 0
    starts from zero)."""
    backtrack_factor: float = attrs.field(default=1.3, validator=v.gt(1.0))
    """Iterates i = ⌈γ^j⌉ (and the last) are kept for backtracking (Martens: γ = 1.3)."""
    line_search: bool = True
    """Armijo backtracking on the step length after CG backtracking."""
    curvature_source: str = attrs.field(default="batch", validator=v.in_(FISHER_SOURCES))
    """Inputs of the Gauss-Newton matrix: ``batch`` or ``curvature`` (unlabeled inputs)."""
    curvature_batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Rows of the curvature inputs per update (Martens: a fraction of the batch); 0 = all."""


@attrs.frozen
class KrylovSubspaceDescentParams:
    """The ``[optimizer]`` table of ``use = "ksd"`` (Vinyals & Povey, 2012)."""

    subspace_dim: int = attrs.field(default=20, validator=v.ge(1))
    """Krylov dimension K: the basis {g, Gg, …, G^{K−1} g} plus the previous step (paper: 20)."""
    inner_iter: int = attrs.field(default=20, validator=v.ge(1))
    """L-BFGS iterations over the K + 1 subspace coefficients per update."""
    curvature_source: str = attrs.field(default="batch", validator=v.in_(FISHER_SOURCES))
    """Inputs of the Gauss-Newton matrix: ``batch`` or ``curvature`` (unlabeled inputs)."""
    curvature_batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Rows of the curvature inputs per update (paper: a separate subset); 0 = all."""
    optimization_batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Rows of the training batch the subspace optimisation uses (paper: a separate subset
    of the gradient batch); 0 = all."""


@attrs.frozen
class TongaParams:
    """The ``[optimizer]`` table of ``use = "tonga"`` (Le Roux, Manzagol & Bengio, 2008)."""

    lr: float = attrs.field(default=1.0, validator=v.gt(0.0))
    """Step size η in θ ← θ − η (C + λI)^{-1} g."""
    damping: float = attrs.field(default=1.0, validator=v.gt(0.0))
    """Damping λ added to the uncentred gradient covariance C."""
    decay: float = attrs.field(default=0.0, validator=[v.ge(0.0), v.lt(1.0)])
    """Moving-average factor γ: C_t = γ C_{t−1} + (1 − γ) C_batch (TONGA; 0 = this batch only)."""
    rank: int = attrs.field(default=0, validator=v.ge(0))
    """Keep the top-k eigen-directions of the averaged covariance (TONGA's low rank; 0 keeps
    the batch's per-example gradients and needs decay = 0)."""
    batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Rows of the batch whose per-example gradients form C; 0 = all."""

    @rank.validator
    def _rank_with_decay(self, _attribute: attrs.Attribute, value: int) -> None:
        if self.decay > 0.0 and value == 0:
            raise ValueError("a moving average (decay > 0) needs rank > 0")


@attrs.frozen
class NaturalConjugateGradientParams:
    """The ``[optimizer]`` table of ``use = "natural-cg"`` (Pascanu & Bengio, 2014, NatCG)."""

    damping: float = attrs.field(default=0.1, validator=v.ge(0.0))
    """Initial Levenberg-Marquardt damping λ of the Fisher solve and the quadratic model."""
    min_damping: float = attrs.field(default=1e-4, validator=v.ge(0.0))
    """Floor of λ."""
    damping_boost: float = attrs.field(default=1.5, validator=v.ge(1.0))
    """λ factor when ρ < 1/4."""
    damping_drop: float = attrs.field(default=2.0 / 3.0, validator=[v.gt(0.0), v.le(1.0)])
    """λ factor when ρ > 3/4."""
    solver: str = attrs.field(default="cg", validator=v.in_(SOLVERS))
    """Krylov solver of the natural direction."""
    max_iter: int = attrs.field(default=20, validator=v.ge(1))
    """Fisher products per natural-direction solve."""
    tol: float = attrs.field(default=1e-4, validator=v.ge(0.0))
    """Relative residual tolerance of the solve."""
    fisher_source: str = attrs.field(default="batch", validator=v.in_(FISHER_SOURCES))
    """Inputs of the Fisher: ``batch`` or ``curvature`` (unlabeled inputs)."""
    fisher_batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Rows of the Fisher inputs per update; 0 = all."""


# --- the training-order experiment -------------------------------------------------------------

RESAMPLE = ("none", "early", "late")
"""Which training block is redrawn from the held-out pool with the run's seed."""


@attrs.frozen
class OrderedDigitsParams:
    """The ``[environment]`` table of ``use = "ordered-digits"`` (Erhan et al., 2010 protocol)."""

    n_blocks: int = attrs.field(default=10, validator=v.ge(2))
    """Number of training blocks presented in sequence."""
    block_size: int = attrs.field(default=100, validator=v.ge(1))
    """Digits per block; the training digits left over form the held-out pool."""
    steps_per_block: int = attrs.field(default=10, validator=v.ge(1))
    """Full-block updates on each block before moving to the next (the last block is kept)."""
    resample: str = attrs.field(default="none", validator=v.in_(RESAMPLE))
    """``early``: block 1, ``late``: the last block, is redrawn from the pool with the seed."""
    split_seed: int = 0
    """Seed of the fixed train/test split and block order (independent of the run's seed)."""


@attrs.frozen
class FixedInitMLPParams:
    """The ``[model]`` table of ``use = "fixed-init-mlp"``."""

    hidden: tuple[int, ...] = (64,)
    """Hidden layer widths; input and output sizes come from the environment."""
    activation: str = attrs.field(default="tanh", validator=v.in_(("tanh", "relu", "sigmoid")))
    """Hidden non-linearity."""
    init_seed: int = 0
    """Seed of PyTorch's default initialisation, independent of the run's seed."""


@attrs.frozen
class ProbeOutputsParams:
    """The ``[evaluators.<key>]`` table of ``use = "probe-outputs"``."""

    split: str = "test"
    """Split whose first ``n_probe`` inputs form the probe set."""
    n_probe: int = attrs.field(default=20, validator=v.ge(1))
    """Number of probe inputs; metrics ``probe.0`` … ``probe.{n_probe·C − 1}``."""
