"""Gradient clipping, the vanishing-gradient regulariser Ω and the pathological RNN tasks
of Pascanu, Mikolov & Bengio (2013), *On the difficulty of training recurrent neural
networks*, as a methodlab plugin.

Registration only: torch and the component modules are imported when a run builds one.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_gradient_clipping import config as c

__all__ = [
    "methodlab_environments",
    "methodlab_evaluators",
    "methodlab_losses",
    "methodlab_models",
    "methodlab_optimizers",
]

_PKG = "methodlab_gradient_clipping"
# The conformance suite builds each component into a tiny run: a short temporal-order task
# with the RNN, its loss and its evaluator as partners.
_TINY_TASK = {"use": "gradient-clipping:temporal-order", "length": 10, "batch_size": 4,
              "test_size": 6, "eval_batch_size": 4}
_PARTNERS = {
    "environment": _TINY_TASK,
    "model": {"use": "gradient-clipping:tanh-rnn", "hidden": 5},
    "loss": {"use": "gradient-clipping:rnn-task", "omega": 2.0},
    "evaluators": {"check": {"use": "gradient-clipping:rnn-task", "split": "test"}},
}


def _with(**tables: dict) -> dict:
    return {**_PARTNERS, **tables}


@methodlab.hookimpl
def methodlab_optimizers() -> Iterator[methodlab.OptimizerSpec]:
    yield methodlab.OptimizerSpec(
        name="clipped-sgd", factory=f"{_PKG}.clipping:build_clipped_sgd",
        params_cls=c.ClippedSGDParams,
        summary="SGD (with momentum) on the norm-clipped gradient; refuses steps whose norm "
        "is NaN or infinite.",
        example=_PARTNERS)


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        name="tanh-rnn", factory=f"{_PKG}.rnn:build_tanh_rnn", params_cls=c.TanhRNNParams,
        summary="Elman tanh RNN with a set spectral radius of W and a last-step or per-step "
        "linear readout.",
        example=_PARTNERS)


@methodlab.hookimpl
def methodlab_losses() -> Iterator[methodlab.LossSpec]:
    yield methodlab.LossSpec(
        name="rnn-task", factory=f"{_PKG}.omega:build_rnn_task_loss",
        params_cls=c.RNNTaskLossParams,
        summary="The task's loss E plus α times the vanishing-gradient regulariser Ω "
        "(immediate gradient w.r.t. W).",
        example=_PARTNERS)


_TASKS = {
    "temporal-order": "Temporal order: which of A/B came first and second among distractors "
                      "(4 classes).",
    "temporal-order-3bit": "3-bit temporal order: three A/B symbols among distractors "
                           "(8 classes).",
    "adding": "Adding: the mean of the two marked values of a uniform sequence.",
    "multiplication": "Multiplication: the product of the two marked values of a uniform "
                      "sequence.",
    "random-permutation": "Random permutation: recall the first of 100 one-hot symbols at "
                          "the end.",
}


@methodlab.hookimpl
def methodlab_environments() -> Iterator[methodlab.EnvironmentSpec]:
    for name, summary in _TASKS.items():
        factory = f"{_PKG}.tasks:build_{name.replace('-', '_')}"
        yield methodlab.EnvironmentSpec(
            name=name, factory=factory, params_cls=c.SequenceTaskParams, summary=summary,
            example=_with(environment={**_TINY_TASK, "use": f"gradient-clipping:{name}"}))
    yield methodlab.EnvironmentSpec(
        name="noiseless-memorization", factory=f"{_PKG}.tasks:build_memorization",
        params_cls=c.MemorizationParams,
        summary="Noiseless memorisation: reproduce a 10-symbol pattern after T blank steps.",
        example=_with(environment={"use": "gradient-clipping:noiseless-memorization",
                                   "length": 3, "positions": 3, "batch_size": 4,
                                   "test_size": 6, "eval_batch_size": 4}))


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        name="rnn-task", factory=f"{_PKG}.evaluators:build_rnn_task_evaluator",
        params_cls=c.RNNTaskEvaluatorParams,
        summary="Task loss, success rate, log10 ‖∂E/∂h_1‖/‖∂E/∂h_T‖, Ω and ρ(W) of an RNN.",
        example=_PARTNERS)
