"""Polyphonic piano-roll data from music21's corpus, as a methodlab integration.

Registers the environments ``bach-chorales`` and ``folk-tunes``, the loss
``next-frame-bernoulli``, the evaluator ``frame-nll`` and the baseline model
``frame-logistic``. Registration only: music21 and torch are imported when a run builds a
component or when :func:`load_pieces` / :func:`read_score` are first used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import methodlab

from methodlab_music21.config import (
    ChoraleParams,
    FolkTuneParams,
    FrameLogisticParams,
    FrameNLLParams,
    NextFrameBernoulliParams,
)

__all__ = [
    "load_pieces",
    "methodlab_environments",
    "methodlab_evaluators",
    "methodlab_losses",
    "methodlab_models",
    "read_score",
]

# The conformance suite runs every component on its example: two pieces per split keep the
# parse to a second when no cache exists.
_TINY = {"use": "bach-chorales", "limit": 2, "batch_size": 2, "crop": 8}
_SEQUENCE = {"environment": _TINY, "model": {"use": "frame-logistic"},
             "loss": {"use": "next-frame-bernoulli"},
             "evaluators": {"check": {"use": "frame-nll", "split": "valid"}}}
# An environment's own table is built from "params" (the suite puts the component in its slot).
_TINY_PARAMS = {key: value for key, value in _TINY.items() if key != "use"}
_LAZY = {"load_pieces": "methodlab_music21.corpora", "read_score": "methodlab_music21.rolls"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'methodlab_music21' has no attribute {name!r}")


@methodlab.hookimpl
def methodlab_environments() -> Iterator[methodlab.EnvironmentSpec]:
    yield methodlab.EnvironmentSpec(
        "bach-chorales", "methodlab_music21.environment:build_bach_chorales", ChoraleParams,
        "The 409 Bach chorales of music21's corpus as binary piano rolls (P = 53, quarter notes).",
        example={**_SEQUENCE, "params": _TINY_PARAMS})
    yield methodlab.EnvironmentSpec(
        "folk-tunes", "methodlab_music21.environment:build_folk_tunes", FolkTuneParams,
        "The 1,838 tunes of O'Neill's Music of Ireland in music21's corpus as piano rolls.",
        example={**_SEQUENCE, "params": _TINY_PARAMS})


@methodlab.hookimpl
def methodlab_losses() -> Iterator[methodlab.LossSpec]:
    yield methodlab.LossSpec(
        "next-frame-bernoulli", "methodlab_music21.sequence:build_next_frame_bernoulli",
        NextFrameBernoulliParams,
        "Bernoulli NLL of each next piano-roll frame given the model's logits.",
        example=_SEQUENCE)


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        "frame-nll", "methodlab_music21.sequence:build_frame_nll", FrameNLLParams,
        "Sequence NLL per predicted frame over a split (and the per-pitch marginal model's).",
        example=_SEQUENCE)


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        "frame-logistic", "methodlab_music21.sequence:build_frame_logistic",
        FrameLogisticParams,
        "Next-frame logistic regression z_t = W v_t + b (a piano-roll baseline).",
        example=_SEQUENCE)
