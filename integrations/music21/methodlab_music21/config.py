"""Parameters of the music21 components (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "ChoraleParams",
    "FolkTuneParams",
    "FrameLogisticParams",
    "FrameNLLParams",
    "NextFrameBernoulliParams",
]


def _check_range(instance: ChoraleParams, _attribute: attrs.Attribute, value: int) -> None:
    if not 0 <= instance.min_pitch <= value <= 127:
        raise ValueError(f"need 0 <= min_pitch <= max_pitch <= 127, got "
                         f"{instance.min_pitch}..{value}")


@attrs.frozen
class ChoraleParams:
    """The ``[environment]`` table of ``use = "bach-chorales"``."""

    batch_size: int = attrs.field(default=8, validator=v.ge(1))
    """Training windows per batch ``B``."""
    crop: int = attrs.field(default=32, validator=v.ge(2))
    """Frames per training window ``T``; a piece shorter than ``crop`` is used whole, followed
    by silent (all-zero) frames up to ``crop``."""
    min_pitch: int = attrs.field(default=36, validator=v.ge(0))
    """MIDI number of roll column 0 (36 = C2, the lowest note of the chorales)."""
    max_pitch: int = attrs.field(default=88, validator=_check_range)
    """MIDI number of the last column (88 = E6, the highest); ``P = max_pitch - min_pitch + 1``."""
    quantum: float = attrs.field(default=1.0, validator=v.gt(0.0))
    """Frame spacing ``q`` in quarter lengths (1 = one frame per quarter note)."""
    cache_dir: str = ""
    """Cache root; empty = ``$METHODLAB_CACHE`` or ``~/.cache/methodlab``."""
    limit: int = attrs.field(default=0, validator=v.ge(0))
    """Use only the first ``limit`` pieces of each split (0 = all); without a cache only those
    are parsed (tests, smoke runs)."""


@attrs.frozen
class FolkTuneParams(ChoraleParams):
    """The ``[environment]`` table of ``use = "folk-tunes"`` (see the README for the set)."""

    min_pitch: int = attrs.field(default=55, validator=v.ge(0))
    """MIDI number of roll column 0."""
    max_pitch: int = attrs.field(default=88, validator=_check_range)
    """MIDI number of the last column; ``P = max_pitch - min_pitch + 1``."""
    quantum: float = attrs.field(default=0.5, validator=v.gt(0.0))
    """Frame spacing ``q`` in quarter lengths (0.5 = one frame per eighth note)."""


@attrs.frozen
class NextFrameBernoulliParams:
    """The ``[loss]`` table of ``use = "next-frame-bernoulli"`` (no settings)."""


@attrs.frozen
class FrameNLLParams:
    """The ``[evaluators.<key>]`` table of ``use = "frame-nll"``."""

    split: str = attrs.field(default="valid", validator=v.in_(("train", "valid", "test")))
    """Which pieces to score."""


@attrs.frozen
class FrameLogisticParams:
    """The ``[model]`` table of ``use = "frame-logistic"``."""

    marginal_bias: bool = True
    """Start the bias at the logits of the training set's per-pitch rates (weights at 0), so
    the untrained model is the independent marginal model."""
