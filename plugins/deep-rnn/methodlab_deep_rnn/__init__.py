"""Deep recurrent networks (Pascanu, Gulcehre, Cho & Bengio, 2014) as a methodlab plugin:
the shallow RNN, DT-RNN, DT(S)-RNN, DOT(S)-RNN and the stacked RNN with shortcuts, each sized
by a parameter budget, plus Adam with gradient clipping and a parameter-count evaluator.

Registration only: the model modules (and torch) are imported when a run builds one.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_deep_rnn.config import (
    ClippedAdamParams,
    DOTSParams,
    DTParams,
    ParameterCountParams,
    ShallowParams,
    StackedParams,
)

__all__ = ["methodlab_evaluators", "methodlab_models", "methodlab_optimizers"]

_PKG = "methodlab_deep_rnn"
# A short stretch of text keeps the conformance runs tiny.
_TEXT = {"environment": {"use": "char-text", "seq_len": 6, "batch_size": 3, "eval_chars": 40},
         "loss": {"use": "cross-entropy"}, "params": {"hidden": 4}}


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        name="shallow-rnn", factory=f"{_PKG}.models:build_shallow", params_cls=ShallowParams,
        summary="Plain RNN h_t = φ(W h_{t−1} + U x_t + b), linear read-out; tokens or frames.",
        example=_TEXT)
    yield methodlab.ModelSpec(
        name="dt-rnn", factory=f"{_PKG}.models:build_dt", params_cls=DTParams,
        summary="Deep transition RNN: h_{t−1}, x_t → MLP → h_t (Pascanu et al., 2014).",
        example=_TEXT)
    yield methodlab.ModelSpec(
        name="dts-rnn", factory=f"{_PKG}.models:build_dts", params_cls=DTParams,
        summary="DT(S)-RNN: deep transition with shortcuts from h_{t−1} and x_t to h_t.",
        example=_TEXT)
    yield methodlab.ModelSpec(
        name="dots-rnn", factory=f"{_PKG}.models:build_dots", params_cls=DOTSParams,
        summary="DOT(S)-RNN: deep transition with shortcuts and a deep output MLP.",
        example=_TEXT)
    yield methodlab.ModelSpec(
        name="stacked-rnn", factory=f"{_PKG}.models:build_stacked", params_cls=StackedParams,
        summary="Stacked RNN with input-to-every-layer and every-layer-to-output shortcuts.",
        example=_TEXT)


@methodlab.hookimpl
def methodlab_optimizers() -> Iterator[methodlab.OptimizerSpec]:
    yield methodlab.OptimizerSpec(
        name="clipped-adam", factory=f"{_PKG}.optimizer:build_clipped_adam",
        params_cls=ClippedAdamParams,
        summary="Adam on gradients clipped to a global 2-norm; skips non-finite steps.")


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        name="parameter-count", factory=f"{_PKG}.evaluators:build_parameter_count",
        params_cls=ParameterCountParams,
        summary="Metric `count`: trainable parameters of the model (for matched-size runs).")
