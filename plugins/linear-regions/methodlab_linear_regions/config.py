"""Parameters of the linear-regions components (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = ["IntervalRegressionParams", "LinearRegionsParams", "ZigzagParams"]


def _floats(value: object) -> tuple[float, ...]:
    return tuple(float(x) for x in value)  # type: ignore[union-attr]


@attrs.frozen
class ZigzagParams:
    """The ``[model]`` table of ``use = "zigzag"`` (Montúfar et al. 2014, Sec. 3)."""

    units: int = attrs.field(default=3, validator=v.ge(1))
    """Units n per hidden layer; each layer folds [0, 1] onto itself n times."""
    layers: int = attrs.field(default=4, validator=v.ge(1))
    """Hidden layers L; the network has n^L linear pieces on [0, 1] along the first input."""
    fold_inputs: int = attrs.field(default=1, validator=v.ge(1))
    """Number m of input coordinates folded, each by its own block of n units (a layer has
    n·m units); the unit cube [0, 1]^m is then cut into n^(mL) cells."""


@attrs.frozen
class IntervalRegressionParams:
    """The ``[environment]`` table of ``use = "interval-regression"``."""

    in_features: int = attrs.field(default=1, validator=v.ge(1))
    """Input dimension D; inputs are uniform on [0, 1]^D."""
    teacher_units: int = attrs.field(default=2, validator=v.ge(1))
    """Units n of the zigzag teacher whose output (of the first input) is the target."""
    teacher_layers: int = attrs.field(default=2, validator=v.ge(1))
    """Layers L of the zigzag teacher (n^L pieces)."""
    n_train: int = attrs.field(default=256, validator=v.ge(1))
    """Training examples."""
    n_test: int = attrs.field(default=256, validator=v.ge(1))
    """Test examples."""
    batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Mini-batch size; 0 for full batch."""
    data_seed: int = attrs.field(default=0)
    """Seed of the inputs (fixed across run seeds, so arms share the data)."""


@attrs.frozen
class LinearRegionsParams:
    """The ``[evaluators.<key>]`` table of ``use = "linear-regions"``."""

    mode: str = attrs.field(default="line", validator=v.in_(("line", "plane", "both")))
    """``line``: exact count on a segment; ``plane``: exact count on a 2-D square; ``both``."""
    start: tuple[float, ...] = attrs.field(default=(), converter=_floats)
    """Segment start a (length D); empty means the origin."""
    end: tuple[float, ...] = attrs.field(default=(), converter=_floats)
    """Segment end b (length D); empty means the first unit vector e₁."""
    origin: tuple[float, ...] = attrs.field(default=(), converter=_floats)
    """Corner o of the square o + u d_u + v d_v, (u, v) ∈ [0, 1]²; empty means the origin."""
    axis_u: tuple[float, ...] = attrs.field(default=(), converter=_floats)
    """Side d_u of the square; empty means e₁."""
    axis_v: tuple[float, ...] = attrs.field(default=(), converter=_floats)
    """Side d_v of the square; empty means e₂ (e₁ when D = 1 is impossible: needs D ≥ 2)."""
