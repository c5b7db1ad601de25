"""Advances in optimizing recurrent networks (Bengio, Boulanger-Lewandowski & Pascanu, 2013)
as a methodlab plugin: reformulated Nesterov momentum with clipping, leaky-integration and
rectifier RNNs with an L1 activation penalty, and the RNN-NADE output model.

Registration only: torch and the component modules are imported when a run builds one.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_rnn_advances.config import (
    NesterovSGDParams,
    PianoRollRNNParams,
    SequenceNLLParams,
    SyntheticChoralesParams,
)

__all__ = ["methodlab_environments", "methodlab_losses", "methodlab_models",
           "methodlab_optimizers"]

_PKG = "methodlab_rnn_advances"
# The conformance suite runs each component on its example: keep the data tiny.
_ENV = {"use": "rnn-advances:synthetic-chorales", "batch_size": 2, "crop": 8, "n_train": 4,
        "n_valid": 2, "n_test": 2, "min_length": 8, "max_length": 12}
_MODEL = {"use": "rnn-advances:piano-roll-rnn", "hidden": 5, "activation": "relu",
          "leak": "learned", "nade_hidden": 3}
_LOSS = {"use": "rnn-advances:sequence-nll", "l1": 1e-3}


@methodlab.hookimpl
def methodlab_optimizers() -> Iterator[methodlab.OptimizerSpec]:
    yield methodlab.OptimizerSpec(
        name="nesterov-sgd",
        factory=f"{_PKG}.nesterov:build_nesterov_sgd",
        params_cls=NesterovSGDParams,
        summary="SGD with Nesterov momentum reformulated on the look-ahead parameters, with "
        "optional gradient-norm clipping.",
    )


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        name="piano-roll-rnn",
        factory=f"{_PKG}.rnn:build_piano_roll_rnn",
        params_cls=PianoRollRNNParams,
        summary="RNN over piano-roll frames (tanh or rectifier, optional leaky integration) "
        "with an RNN-NADE or Bernoulli next-frame output.",
        example={"environment": _ENV, "loss": _LOSS},
    )


@methodlab.hookimpl
def methodlab_losses() -> Iterator[methodlab.LossSpec]:
    yield methodlab.LossSpec(
        name="sequence-nll",
        factory=f"{_PKG}.losses:build_sequence_nll",
        params_cls=SequenceNLLParams,
        summary="Next-frame NLL per time step of piano rolls plus an L1 activation penalty; "
        "implements sequence_nll.",
        example={"environment": _ENV, "model": _MODEL},
    )


@methodlab.hookimpl
def methodlab_environments() -> Iterator[methodlab.EnvironmentSpec]:
    yield methodlab.EnvironmentSpec(
        name="synthetic-chorales",
        factory=f"{_PKG}.synthetic:build_synthetic_chorales",
        params_cls=SyntheticChoralesParams,
        summary="Procedural four-voice chord progressions as 36-pitch binary piano rolls.",
        example={"model": _MODEL, "loss": _LOSS},
    )
