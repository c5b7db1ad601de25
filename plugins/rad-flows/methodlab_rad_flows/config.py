"""Parameters of the RAD-flow components (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "CheckerboardParams",
    "DensityGridParams",
    "DensityParams",
    "GaussianGridParams",
    "NLLParams",
    "RADFlowParams",
    "RealNVPParams",
    "RingsParams",
    "SampleConsistencyParams",
]


def _positive_widths(_instance: object, attribute: attrs.Attribute, value: tuple) -> None:
    if not value or any(width < 1 for width in value):
        raise ValueError(f"{attribute.name} must list at least one width >= 1, got {list(value)}")


def _widths() -> attrs.Attribute:
    return attrs.field(default=(64, 64), converter=tuple, validator=_positive_widths)


@attrs.frozen
class RealNVPParams:
    """The ``[model]`` table of ``use = "real-nvp"``."""

    layers: int = attrs.field(default=6, validator=v.ge(1))
    """Affine coupling layers, alternating which half of the features is transformed."""
    hidden: tuple[int, ...] = _widths()
    """Hidden widths of each layer's ReLU conditioner MLP (the paper's RealNVP and zuko's
    default: two layers of 64)."""


@attrs.frozen
class RADFlowParams:
    """The ``[model]`` table of ``use = "rad-flow"``."""

    layers: int = attrs.field(default=6, validator=v.ge(1))
    """RAD coupling layers L, alternating which half of the features is transformed."""
    hidden: tuple[int, ...] = _widths()
    """Hidden widths of each layer's ReLU MLP giving the breakpoints, slopes and offset of the
    piecewise-linear map from the untouched half."""
    gating_hidden: tuple[int, ...] = _widths()
    """Hidden widths of each layer's ReLU gating MLP, giving the logits of p(k | y_l) from the
    layer's output y_l."""
    min_slope: float = attrs.field(default=1e-3, validator=[v.gt(0.0), v.lt(1.0)])
    """Lower bound on |slope| of every piece (softplus + min_slope), below 1 (the layers start
    at slopes ±1): near-zero slopes make log|det| unbounded."""


@attrs.frozen
class DensityParams:
    """Fields every 2-D density environment shares."""

    n_train: int = attrs.field(default=20_000, validator=v.ge(1))
    """Training points."""
    n_test: int = attrs.field(default=5_000, validator=v.ge(1))
    """Test points, drawn independently of the training points."""
    batch_size: int = attrs.field(default=512, validator=v.ge(0))
    """Mini-batch size B; 0 trains full-batch."""
    data_seed: int = attrs.field(default=0, validator=v.ge(0))
    """Seed of the sample, combined with the run's seed: every arm of a run sees the same
    points for a given seed, and each seed draws a new sample."""


@attrs.frozen
class GaussianGridParams(DensityParams):
    """The ``[environment]`` table of ``use = "gaussian-grid"``."""

    side: int = attrs.field(default=5, validator=v.ge(1))
    """Components per axis: side² equally weighted isotropic Gaussians."""
    spacing: float = attrs.field(default=1.0, validator=v.gt(0.0))
    """Distance between neighbouring centres; the grid is centred on the origin."""
    sigma: float = attrs.field(default=0.1, validator=v.gt(0.0))
    """Standard deviation σ of every component."""


@attrs.frozen
class CheckerboardParams(DensityParams):
    """The ``[environment]`` table of ``use = "checkerboard"``."""

    cells: int = attrs.field(default=4, validator=v.ge(2))
    """Squares per axis; points are uniform on the squares whose indices sum to an even
    number (half of them)."""
    size: float = attrs.field(default=4.0, validator=v.gt(0.0))
    """Side length of the board, centred on the origin."""


@attrs.frozen
class RingsParams(DensityParams):
    """The ``[environment]`` table of ``use = "rings"``."""

    radii: tuple[float, ...] = attrs.field(default=(1.0, 2.0, 3.0), converter=tuple)
    """Ring radii; each ring's share of the points is proportional to its radius (uniform
    over arc length)."""
    width: float = attrs.field(default=0.1, validator=v.gt(0.0))
    """Standard deviation of the radial Gaussian noise."""

    @radii.validator
    def _check_radii(self, _attribute: attrs.Attribute, value: tuple[float, ...]) -> None:
        if not value or any(r <= 0 for r in value):
            raise ValueError(f"radii must list at least one positive radius, got {list(value)}")


@attrs.frozen
class NLLParams:
    """The ``[loss]`` table of ``use = "flow-nll"`` (no parameters)."""


@attrs.frozen
class DensityGridParams:
    """The table of the ``density-grid`` evaluator."""

    low: float = -4.0
    """Lower edge of the square box [low, high]² that is integrated and drawn."""
    high: float = attrs.field(default=4.0)
    """Upper edge of the box."""
    resolution: int = attrs.field(default=400, validator=v.ge(2))
    """Grid cells per axis; the density is evaluated at the cell midpoints."""
    plot: bool = False
    """Draw the data, the density and samples into ``<evaluator key>.png`` in the trial's
    directory after the last update (needs a run directory: ``methodlab run``)."""
    plot_samples: int = attrs.field(default=2000, validator=v.ge(1))
    """Model samples in the plot's scatter panel."""

    @high.validator
    def _check_high(self, _attribute: attrs.Attribute, value: float) -> None:
        if value <= self.low:
            raise ValueError(f"high must exceed low ({self.low}), got {value}")


@attrs.frozen
class SampleConsistencyParams:
    """The table of the ``sample-consistency`` evaluator."""

    samples: int = attrs.field(default=4096, validator=v.ge(1))
    """Samples drawn from the model."""
    sample_seed: int = attrs.field(default=0, validator=v.ge(0))
    """Seed of the sampling generator (independent of the training randomness)."""
