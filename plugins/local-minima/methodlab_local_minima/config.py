"""Parameters of the local-minima components (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "AbsPointsParams",
    "DeadInitMLPParams",
    "GradientStatsParams",
    "SquaredErrorParams",
    "TwoUnitReLUParams",
]

_ACTIVATIONS = ("relu", "leaky-relu")


@attrs.frozen
class DeadInitMLPParams:
    """The ``[model]`` table of ``use = "dead-init-mlp"``."""

    hidden: tuple[int, ...] = attrs.field(default=(128, 128))
    """Hidden layer widths; input and output sizes come from the environment."""
    activation: str = attrs.field(default="relu", validator=v.in_(_ACTIVATIONS))
    """Hidden non-linearity: ``relu`` (dead units get no gradient) or ``leaky-relu`` (slope
    ``negative_slope`` on the inactive side: the control)."""
    negative_slope: float = attrs.field(default=0.01, validator=v.ge(0.0))
    """Slope of ``leaky-relu`` below zero (PyTorch's default 0.01); unused for ``relu``."""
    init: str = attrs.field(default="dead", validator=v.in_(("dead", "default")))
    """``dead``: PyTorch's weights, then every hidden bias set to
    b_j = −(max_i |W_j·h_i| + margin) over the training inputs h_i of that layer, so every
    hidden pre-activation is ≤ −margin on every training point (Swirszcz et al., §4);
    ``default``: PyTorch's initialisation."""
    margin: float = attrs.field(default=1.0, validator=v.gt(0.0))
    """How far below zero the dead initialisation puts every hidden pre-activation."""

    @hidden.validator
    def _positive(self, _attribute: attrs.Attribute, value: tuple[int, ...]) -> None:
        if not value or any(width < 1 for width in value):
            raise ValueError(f"'hidden' needs at least one positive width, got {list(value)}")


@attrs.frozen
class TwoUnitReLUParams:
    """The ``[model]`` table of ``use = "two-unit-relu"``: f(x) = Σ_j a_j σ(w_j x + b_j) + c."""

    init: str = attrs.field(default="blind-spot",
                            validator=v.in_(("blind-spot", "random", "default")))
    """``blind-spot``: the paper's construction w = (1, 0.5), b = (0, −0.2), a = (0.5, 0.5),
    c = 0 (both units inactive on x < 0); ``random``: w, a ~ N(0, 1), b ~ N(0, 0.1²), c = 0
    from the run's seed (the restart statistics); ``default``: PyTorch's initialisation."""
    activation: str = attrs.field(default="relu", validator=v.in_(_ACTIVATIONS))
    """Hidden non-linearity σ: ``relu`` or the ``leaky-relu`` control."""
    negative_slope: float = attrs.field(default=0.01, validator=v.ge(0.0))
    """Slope of ``leaky-relu`` below zero; unused for ``relu``."""
    hidden: int = attrs.field(default=2, validator=v.ge(1))
    """Number of hidden units; ``blind-spot`` needs exactly 2."""

    @hidden.validator
    def _two_for_blind_spot(self, _attribute: attrs.Attribute, value: int) -> None:
        if self.init == "blind-spot" and value != 2:
            raise ValueError(f"init = 'blind-spot' needs hidden = 2, got {value}")


@attrs.frozen
class AbsPointsParams:
    """The ``[environment]`` table of ``use = "abs-points"``: regress y = |x| on a few points."""

    points: tuple[float, ...] = attrs.field(default=(-2.0, -1.0, 1.0, 2.0))
    """The inputs x_i (1-d); the targets are |x_i|. The paper's blind-spot example uses
    {−2, −1, 1, 2}. The test split is the training split."""

    @points.validator
    def _non_empty(self, _attribute: attrs.Attribute, value: tuple[float, ...]) -> None:
        if not value:
            raise ValueError("'points' needs at least one value")


@attrs.frozen
class GradientStatsParams:
    """The ``[evaluators.<key>]`` table of ``use = "gradient-stats"``."""

    split: str = "train"
    """Split whose mean loss is differentiated (the whole split at once)."""


@attrs.frozen
class SquaredErrorParams:
    """The ``[evaluators.<key>]`` table of ``use = "squared-error"``."""

    split: str = "train"
    """Split over which the mean squared error is taken."""
