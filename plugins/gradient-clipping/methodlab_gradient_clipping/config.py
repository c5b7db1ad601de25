"""Parameters of the gradient-clipping components (imports attrs only)."""

from __future__ import annotations

import math

import attrs
from attrs import validators as v

__all__ = [
    "NONFINITE_POLICIES",
    "ClippedSGDParams",
    "MemorizationParams",
    "RNNTaskEvaluatorParams",
    "RNNTaskLossParams",
    "SequenceTaskParams",
    "TanhRNNParams",
]

NONFINITE_POLICIES = ("skip", "raise")
"""What ``clipped-sgd`` does when the gradient norm is NaN or infinite."""


def _positive_or_inf(_instance: object, attribute: attrs.Attribute, value: float) -> None:
    if math.isnan(value) or value <= 0.0:
        raise ValueError(f"'{attribute.name}' must be > 0 (inf disables clipping), got {value!r}")


@attrs.frozen
class ClippedSGDParams:
    """The ``[optimizer]`` table of ``use = "clipped-sgd"`` (Pascanu et al., 2013, Alg. 1)."""

    lr: float = attrs.field(default=0.01, validator=v.gt(0.0))
    """Step size η in θ ← θ − η ĝ (the paper: 0.01)."""
    momentum: float = attrs.field(default=0.0, validator=[v.ge(0.0), v.lt(1.0)])
    """Heavy-ball momentum μ applied to the clipped gradient (0: plain SGD, as in the paper)."""
    threshold: float = attrs.field(default=1.0, validator=_positive_or_inf)
    """Norm threshold τ: ĝ = τ g / ‖g‖ when ‖g‖ > τ, with ‖g‖ over all parameters together.
    ``inf`` disables clipping (the paper's unclipped SGD baseline)."""
    nonfinite: str = attrs.field(default="skip", validator=v.in_(NONFINITE_POLICIES))
    """On a NaN or infinite ‖g‖: ``skip`` the update (parameters and momentum unchanged, the
    step counted in ``skipped_steps`` and logged) or ``raise`` ``NonFiniteGradientError``.
    Never rescales by a non-finite norm."""


@attrs.frozen
class TanhRNNParams:
    """The ``[model]`` table of ``use = "tanh-rnn"``: h_t = tanh(W h_{t−1} + U x_t + b)."""

    hidden: int = attrs.field(default=50, validator=v.ge(1))
    """Number of hidden units H (the paper: 50)."""
    input_std: float = attrs.field(default=0.1, validator=v.ge(0.0))
    """Standard deviation of the Gaussian input weights U (basic tanh 0.1, smart tanh 0.01)."""
    recurrent_std: float = attrs.field(default=0.1, validator=v.ge(0.0))
    """Standard deviation of the Gaussian recurrent weights W before sparsifying and rescaling."""
    output_std: float = attrs.field(default=0.1, validator=v.ge(0.0))
    """Standard deviation of the Gaussian readout weights (basic tanh 0.1, smart tanh 0.01)."""
    recurrent_nonzeros: int = attrs.field(default=0, validator=v.ge(0))
    """Keep this many random non-zeros per row of W (smart tanh: 15); 0 keeps W dense."""
    spectral_radius: float = attrs.field(default=0.0, validator=v.ge(0.0))
    """Rescale W to this spectral radius ρ(W) = max |λ_i(W)| (smart tanh: 0.95; the
    exploding-gradient experiments: 1.5–2); 0 keeps the Gaussian draw as it is."""


@attrs.frozen
class SequenceTaskParams:
    """An environment table for the temporal-order, adding, multiplication and permutation
    tasks (Pascanu et al., 2013, §5.1, generators of the authors' code)."""

    length: int = attrs.field(default=50, validator=v.ge(10))
    """Sequence length T (the adding and multiplication tasks draw T + U[0, T/10) per
    batch when ``random_length``)."""
    batch_size: int = attrs.field(default=20, validator=v.ge(1))
    """Sequences per training batch (the paper: 20)."""
    test_size: int = attrs.field(default=1000, validator=v.ge(1))
    """Held-out sequences in the ``test`` split, drawn once per seed (the paper: 10,000)."""
    eval_batch_size: int = attrs.field(default=500, validator=v.ge(1))
    """Sequences per evaluation batch."""
    random_length: bool = True
    """Adding and multiplication only: lengthen each batch by U[0, T/10) steps, as the
    authors' generator does; ignored by the classification tasks."""


@attrs.frozen
class MemorizationParams:
    """The environment table of ``use = "noiseless-memorization"`` (§5.1)."""

    length: int = attrs.field(default=50, validator=v.ge(1))
    """Number of blank steps T between the pattern and the recall cue; sequences have
    T + 2 × ``positions`` steps."""
    values: int = attrs.field(default=5, validator=v.ge(2))
    """Symbols per pattern position (the paper: 5)."""
    positions: int = attrs.field(default=10, validator=v.ge(1))
    """Pattern length to memorise (the paper: 10)."""
    batch_size: int = attrs.field(default=20, validator=v.ge(1))
    """Sequences per training batch."""
    test_size: int = attrs.field(default=1000, validator=v.ge(1))
    """Held-out sequences in the ``test`` split."""
    eval_batch_size: int = attrs.field(default=500, validator=v.ge(1))
    """Sequences per evaluation batch."""


@attrs.frozen
class RNNTaskLossParams:
    """The ``[loss]`` table of ``use = "rnn-task"``: E + α Ω."""

    omega: float = attrs.field(default=0.0, validator=v.ge(0.0))
    """Weight α of the vanishing-gradient regulariser Ω (0: the task loss E alone; the paper
    uses α = 4 on temporal order, its code defaults to 2)."""
    bound: float = attrs.field(default=1e-20, validator=v.ge(0.0))
    """Time steps whose ‖∂E/∂h_k‖² is below this are left out of Ω (the authors' code)."""


@attrs.frozen
class RNNTaskEvaluatorParams:
    """The evaluator table of ``use = "rnn-task"``."""

    split: str = "test"
    """Split of the environment to evaluate on (``test`` or ``train``)."""
    regression_tolerance: float = attrs.field(default=0.04, validator=v.gt(0.0))
    """A regression sequence counts as an error when its squared error exceeds this (§5.1)."""
