"""Parameters of the rnn-advances components (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "ACTIVATIONS",
    "LEAKS",
    "OUTPUTS",
    "NesterovSGDParams",
    "PianoRollRNNParams",
    "SequenceNLLParams",
    "SyntheticChoralesParams",
]

ACTIVATIONS = ("tanh", "relu")
LEAKS = ("none", "fixed", "learned")
OUTPUTS = ("nade", "bernoulli")


@attrs.frozen
class NesterovSGDParams:
    """The ``[optimizer]`` table of ``use = "nesterov-sgd"`` (Bengio et al., 2013, eq. 7-8)."""

    lr: float = attrs.field(default=0.01, validator=v.gt(0.0))
    """Step size ε in v_t = μ v_{t−1} − ε ∇f(Θ_{t−1})."""
    momentum: float = attrs.field(default=0.9, validator=[v.ge(0.0), v.lt(1.0)])
    """Momentum coefficient μ (0 gives plain SGD)."""
    max_grad_norm: float = attrs.field(default=0.0, validator=v.ge(0.0))
    """Gradient clipping threshold on the global L2 norm of the gradient (Pascanu et al.,
    2013); 0 disables clipping. A non-finite norm skips the update."""


@attrs.frozen
class PianoRollRNNParams:
    """The ``[model]`` table of ``use = "piano-roll-rnn"``: an RNN over piano-roll frames
    with a Bernoulli or NADE output model for the next frame."""

    hidden: int = attrs.field(default=100, validator=v.ge(1))
    """Number of recurrent units H."""
    activation: str = attrs.field(default="tanh", validator=v.in_(ACTIVATIONS))
    """Recurrent nonlinearity σ: ``tanh`` or ``relu`` (the paper's rectifier units)."""
    leak: str = attrs.field(default="none", validator=v.in_(LEAKS))
    """Leaky integration h_t = α ⊙ h_{t−1} + (1 − α) ⊙ σ(·): ``none`` (α = 0), ``fixed``
    (per-unit α from the time constants, not trained, as in the paper) or ``learned`` (the
    same initial α, trained through a logit)."""
    tau_max: float = attrs.field(default=10.0, validator=v.ge(1.0))
    """Largest time constant τ in frames; unit i gets τ_i spaced geometrically from 1 to
    ``tau_max`` and α_i = 1 − 1/τ_i (so unit 0 is not leaky)."""
    recurrent_scale: float = attrs.field(default=1.0, validator=v.gt(0.0))
    """Initial recurrent weights are N(0, scale²/H), so their spectral radius is about
    ``scale``."""
    output: str = attrs.field(default="nade", validator=v.in_(OUTPUTS))
    """Output model of frame t + 1 given h_t: ``nade`` (RNN-NADE, exact likelihood) or
    ``bernoulli`` (independent sigmoid units)."""
    nade_hidden: int = attrs.field(default=50, validator=v.ge(1))
    """Hidden units of the NADE output model (ignored for ``bernoulli``)."""


@attrs.frozen
class SequenceNLLParams:
    """The ``[loss]`` table of ``use = "sequence-nll"``."""

    l1: float = attrs.field(default=0.0, validator=v.ge(0.0))
    """Weight λ of the L1 activation penalty λ · mean_t Σ_j |h_{t,j}| (paper: sparser
    gradients with rectifiers); 0 for models that expose no hidden states."""


@attrs.frozen
class SyntheticChoralesParams:
    """The ``[environment]`` table of ``use = "synthetic-chorales"``: procedural four-voice
    chord progressions as binary piano rolls (P = 36 pitches)."""

    batch_size: int = attrs.field(default=8, validator=v.ge(1))
    """Training windows per batch B."""
    crop: int = attrs.field(default=32, validator=v.ge(2))
    """Frames per training window T; at most ``min_length``."""
    n_train: int = attrs.field(default=64, validator=v.ge(1))
    """Training pieces."""
    n_valid: int = attrs.field(default=16, validator=v.ge(1))
    """Validation pieces."""
    n_test: int = attrs.field(default=16, validator=v.ge(1))
    """Test pieces."""
    min_length: int = attrs.field(default=32, validator=v.ge(2))
    """Shortest piece, in frames."""
    max_length: int = attrs.field(default=64, validator=v.ge(2))
    """Longest piece, in frames."""
    data_seed: int = attrs.field(default=0, validator=v.ge(0))
    """Seed of the pieces themselves (the trial seed only picks the training windows)."""

    @max_length.validator
    def _lengths_ordered(self, _attribute: attrs.Attribute, value: int) -> None:
        if not self.crop <= self.min_length <= value:
            raise ValueError(
                f"need crop <= min_length <= max_length, got {self.crop}, {self.min_length}, "
                f"{value}")
