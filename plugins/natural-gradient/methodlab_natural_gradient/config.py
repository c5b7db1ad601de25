"""Parameters of the natural-gradient optimizer (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = ["FISHER_SOURCES", "SOLVERS", "NaturalGradientParams"]

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
