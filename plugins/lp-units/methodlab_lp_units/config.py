"""Parameters of the lp-units components (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = ["CurvedBoundaryParams", "LpMLPParams", "LpOrdersParams", "MaxoutMLPParams"]


def _widths(_instance: object, attribute: attrs.Attribute, value: tuple[int, ...]) -> None:
    if not value or any(width < 1 for width in value):
        raise ValueError(f"'{attribute.name}' needs at least one positive width, got "
                         f"{list(value)}")


@attrs.frozen
class LpMLPParams:
    """The ``[model]`` table of ``use = "lp-mlp"``."""

    hidden: tuple[int, ...] = attrs.field(default=(64,), validator=_widths)
    """Lp units ``K`` per hidden layer; input and output sizes come from the environment."""
    group_size: int = attrs.field(default=2, validator=v.ge(1))
    """Linear filters ``N`` pooled by each Lp unit."""
    p_init: float = attrs.field(default=3.0, validator=v.gt(1.0))
    """Mean initial order ``p``; the paper initialises near 3."""
    p_init_std: float = attrs.field(default=0.005, validator=v.ge(0.0))
    """Standard deviation of the initial orders (pylearn2's ``LpUnitCluster``: 0.005)."""
    learn_p: bool = True
    """Learn each unit's ``ρ`` (``p = 1 + softplus(ρ)``); false fixes ``p = p_init``."""


@attrs.frozen
class MaxoutMLPParams:
    """The ``[model]`` table of ``use = "maxout-mlp"``."""

    hidden: tuple[int, ...] = attrs.field(default=(64,), validator=_widths)
    """Maxout units per hidden layer."""
    pieces: int = attrs.field(default=2, validator=v.ge(1))
    """Linear pieces ``k`` per maxout unit."""


@attrs.frozen
class CurvedBoundaryParams:
    """The ``[environment]`` table of ``use = "curved-boundary"``."""

    n_train: int = attrs.field(default=5000, validator=v.ge(1))
    """Training points (the paper uses 5,000)."""
    n_test: int = attrs.field(default=1000, validator=v.ge(1))
    """Test points, drawn after the training points from the same generator."""
    half_width: float = attrs.field(default=1.5, validator=v.gt(0.0))
    """Points are uniform in the box ``[−half_width, half_width]²``."""
    radius: float = attrs.field(default=1.0, validator=v.gt(0.0))
    """Mean radius ``r₀`` of the boundary ``r = r₀ + A sin(ωθ)``."""
    amplitude: float = attrs.field(default=0.3, validator=v.ge(0.0))
    """Amplitude ``A`` of the boundary's wave."""
    frequency: int = attrs.field(default=3, validator=v.ge(0))
    """Angular frequency ``ω`` (lobes of the boundary)."""
    data_seed: int = attrs.field(default=0, validator=v.ge(0))
    """Seed of the points: the data do not depend on the run's seed."""
    batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Mini-batch size; 0 trains full-batch."""


@attrs.frozen
class LpOrdersParams:
    """The ``[evaluators.<key>]`` table of ``use = "lp-orders"`` (no parameters)."""
