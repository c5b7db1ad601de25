"""Parameters of the sharp-minima components (imports attrs only)."""

from __future__ import annotations

import math

import attrs
from attrs import validators as v

__all__ = ["MoonsParams", "SharpnessParams"]


def _check_alphas(_instance: object, attribute: attrs.Attribute, value: tuple) -> None:
    if any(a <= 0.0 for a in value):
        raise ValueError(f"'{attribute.name}' must be positive, got {list(value)}")
    if value and abs(math.prod(value) - 1.0) > 1e-9:
        raise ValueError(f"'{attribute.name}' must multiply to 1 (the function is only kept "
                         f"when Π α_k = 1), got product {math.prod(value)!r}")


@attrs.frozen
class MoonsParams:
    """The ``[environment]`` table of ``use = "moons"``."""

    n_train: int = attrs.field(default=1000, validator=v.ge(2))
    """Training points drawn by ``sklearn.datasets.make_moons``."""
    n_test: int = attrs.field(default=1000, validator=v.ge(2))
    """Test points, drawn independently (``data_seed + 1``)."""
    noise: float = attrs.field(default=0.1, validator=v.ge(0.0))
    """Standard deviation of the Gaussian noise added to the points."""
    data_seed: int = attrs.field(default=0, validator=v.ge(0))
    """``random_state`` of ``make_moons``: the data do not depend on the run's seed."""
    batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Mini-batch size; 0 trains full-batch."""


@attrs.frozen
class SharpnessParams:
    """The ``[evaluators.<key>]`` table of ``use = "sharpness"``."""

    alpha: float = attrs.field(default=1.0, validator=v.gt(0.0))
    """α of T_α: layer ``layer`` is multiplied by α and layer ``layer + 1`` by 1/α (biases
    scaled consistently). Ignored when ``alphas`` is given."""
    layer: int = attrs.field(default=0, validator=v.ge(0))
    """Index of the linear layer that gets α (the next one gets 1/α)."""
    alphas: tuple[float, ...] = attrs.field(default=(), validator=_check_alphas)
    """Explicit per-layer factors α_1, …, α_L with Π α_k = 1 (empty: use ``alpha``)."""
    split: str = "train"
    """Split whose mean loss the sharpness measures are taken of."""
    power_iterations: int = attrs.field(default=300, validator=v.ge(1))
    """Maximum power-iteration steps (Hessian-vector products) for λ_max."""
    power_tol: float = attrs.field(default=1e-10, validator=v.ge(0.0))
    """Stop power iteration when the Rayleigh quotient changes by less than this, relative."""
    trace: str = attrs.field(default="exact", validator=v.in_(("exact", "hutchinson", "none")))
    """Hessian trace: ``exact`` (P products with unit vectors, small nets), ``hutchinson``
    (Rademacher probes) or ``none`` (the ``trace`` metric is left out)."""
    trace_samples: int = attrs.field(default=100, validator=v.ge(1))
    """Rademacher probes for ``trace = "hutchinson"``."""
    epsilon: float = attrs.field(default=1e-2, validator=v.gt(0.0))
    """Radius ε of the Euclidean ball of ε-sharpness."""
    ascent_steps: int = attrs.field(default=20, validator=v.ge(0))
    """Projected gradient-ascent steps of ε-sharpness."""
    ascent_step_size: float = attrs.field(default=0.5, validator=v.gt(0.0))
    """Ascent step length as a fraction of ε (steps move ``ascent_step_size · ε`` along the
    normalised gradient before projection)."""
    seed: int = 0
    """Seed of the private generator for start vectors and probes (the global RNG is not
    touched)."""
