"""Parameters of the Sobolev training components (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "DistillationParams",
    "SobolevFunctionParams",
    "SobolevLossParams",
    "SplitParams",
]

FUNCTION_NAMES = ("ackley", "beale", "booth", "bukin", "mccormick", "rosenbrock",
                  "styblinski-tang")


@attrs.frozen
class SobolevFunctionParams:
    """The ``[environment]`` table of ``use = "sobolev-function"``."""

    function: str = attrs.field(default="styblinski-tang", validator=v.in_(FUNCTION_NAMES))
    """Benchmark function: ackley, beale, booth, bukin, mccormick, rosenbrock or
    styblinski-tang (the paper's domains, see ``functions.py``)."""
    n_train: int = attrs.field(default=20, validator=v.ge(1))
    """Training points, uniform over the domain (the paper: 20 or 100)."""
    n_test: int = attrs.field(default=2000, validator=v.ge(1))
    """Test points, uniform over the domain."""
    data_seed: int = attrs.field(default=0, validator=v.ge(0))
    """Seed of the sampled points, combined with the run's seed: every arm of a run sees the
    same points for a given seed, and each seed draws a new training set."""
    standardise: bool = True
    """Map the domain to [-1, 1]² and standardise values by the training mean and standard
    deviation; gradients are rescaled by the chain rule, so they stay the derivatives of the
    standardised values with respect to the scaled inputs."""
    batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Mini-batch size; 0 trains full-batch (the paper's setting)."""


@attrs.frozen
class SobolevLossParams:
    """The ``[loss]`` table of ``use = "sobolev"``."""

    weight: float = attrs.field(default=1.0, validator=v.ge(0.0))
    """Weight λ of the derivative term; 0 is plain regression on the values."""
    projections: int = attrs.field(default=0, validator=v.ge(0))
    """0 matches full Jacobians; k > 0 matches k random projections vᵀJ along unit vectors v
    in output space (stochastic Sobolev training), rescaled by C/k so the term estimates the
    squared Frobenius error."""
    normalise: bool = False
    """Divide the derivative term by the batch's mean squared target Jacobian norm
    (1/B) Σ_b ‖J_b‖²_F, making it a relative error on the scale of the standardised values:
    raw benchmark gradients span orders of magnitude (Beale's reach 10⁵), and without this
    the derivative term swamps the value term."""


@attrs.frozen
class SplitParams:
    """The table of the ``value-mse`` and ``teacher-agreement`` evaluators."""

    split: str = "test"
    """Split to evaluate on."""


@attrs.frozen
class DistillationParams:
    """The ``[environment]`` table of ``use = "sobolev-distillation"``."""

    teacher_hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the ReLU teacher MLP trained on all training digits."""
    teacher_steps: int = attrs.field(default=300, validator=v.ge(1))
    """Full-batch Adam updates (learning rate 1e-2) of the teacher."""
    teacher_seed: int = attrs.field(default=0, validator=v.ge(0))
    """Seed of the teacher's initialisation: the teacher is the same in every arm and seed."""
    n_transfer: int = attrs.field(default=100, validator=v.ge(1))
    """Training digits the student sees (the transfer set), fixed by the teacher seed."""
    n_perturbed: int = attrs.field(default=0, validator=v.ge(0))
    """Gaussian perturbations of each transfer digit added to the transfer set."""
    noise: float = attrs.field(default=0.1, validator=v.ge(0.0))
    """Standard deviation of the perturbations (pixels lie in [0, 1])."""
    n_test: int = attrs.field(default=360, validator=v.ge(1))
    """Test digits (at most the 360 of the fixed split) on which agreement is measured."""
