"""Adapting auxiliary losses using gradient similarity (Du et al., 2018) as a methodlab plugin.

Registration only: the component modules (and torch) are imported when a run builds them.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_aux_loss_similarity import config as c

__all__ = ["GRIDWORLD_ID", "methodlab_environments", "methodlab_evaluators", "methodlab_losses",
           "methodlab_models"]

_PKG = "methodlab_aux_loss_similarity"
GRIDWORLD_ID = "methodlab/GridWorld-v0"
_TOY = {"environment": {"use": "aux-loss-similarity:toy-quadratics"},
        "model": {"use": "aux-loss-similarity:point"},
        "loss": {"use": "aux-loss-similarity:gradient-similarity"},
        "evaluators": {"check": {"use": "aux-loss-similarity:convergence"}}}
_DIGITS = {"environment": {"use": "aux-loss-similarity:aux-digits", "n_main": 10,
                           "n_aux": 20},
           "model": {"use": "aux-loss-similarity:multi-head-mlp", "hidden": [8]},
           "loss": {"use": "aux-loss-similarity:gradient-similarity"},
           "evaluators": {"check": {"use": "aux-loss-similarity:task-accuracy",
                                    "split": "test"}}}


_GRID = {"environment": {"use": "gymnasium:gymnasium", "id": "methodlab/GridWorld-v0",
                         "kwargs": {"size": 3, "max_steps": 6}, "num_envs": 2, "n_steps": 3,
                         "eval_episodes": 2},
         "model": {"use": "gymnasium:actor-critic", "hidden": [8]},
         "loss": {"use": "aux-loss-similarity:a2c-distillation"},
         "evaluators": {"check": {"use": "gymnasium:episode-return"}}}


@methodlab.hookimpl
def methodlab_losses() -> Iterator[methodlab.LossSpec]:
    yield methodlab.LossSpec(
        name="a2c-distillation",
        factory=f"{_PKG}.agent:build_a2c_distillation",
        params_cls=c.A2CDistillationParams,
        summary="A2C's loss plus distillation of the teacher's policy in the rollout's info, "
        "the distillation gradient gated by its cosine with A2C's.",
        example=_GRID,
    )
    yield methodlab.LossSpec(
        name="gradient-similarity",
        factory=f"{_PKG}.loss:build_gradient_similarity",
        params_cls=c.GateParams,
        summary="The environment's main loss plus its auxiliary losses, each gated on the "
        "shared parameters by max(0, cos) or 1[cos > 0] of its gradient with the main's.",
        example=_TOY,
    )


@methodlab.hookimpl
def methodlab_environments() -> Iterator[methodlab.EnvironmentSpec]:
    # The gridworld is a gymnasium environment (use = "gymnasium", id = GRIDWORLD_ID). This
    # only notes it while gymnasium is not imported; the integration completes the
    # registration when it first uses gymnasium (methodlab_gymnasium.registration).
    from methodlab_gymnasium.registration import register_env

    register_env(GRIDWORLD_ID, f"{_PKG}.gridworld:GridWorld")
    yield methodlab.EnvironmentSpec(
        name="toy-quadratics",
        factory=f"{_PKG}.toy:build_toy",
        params_cls=c.ToyQuadraticsParams,
        summary="The paper's 2-D toy: main and auxiliary quadratics of a point; records the "
        "first update with L_main < 0.1.",
        example=_TOY,
    )
    yield methodlab.EnvironmentSpec(
        name="aux-digits",
        factory=f"{_PKG}.digits:build_aux_digits",
        params_cls=c.AuxDigitsParams,
        summary="Digits 0-4 from 50 labels (main) with the other digits as a helpful or "
        "label-shuffled harmful auxiliary task.",
        example={**_DIGITS, "params": {"n_main": 10, "n_aux": 20}},
    )


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        name="point",
        factory=f"{_PKG}.toy:build_point",
        params_cls=c.PointParams,
        summary="A free 2-D point theta with a uniform random start: the toy's parameters.",
        example=_TOY,
    )
    yield methodlab.ModelSpec(
        name="multi-head-mlp",
        factory=f"{_PKG}.digits:build_multi_head",
        params_cls=c.MultiHeadParams,
        summary="Shared MLP trunk with one linear head per task; forward gives the main head.",
        example={**_DIGITS, "params": {"hidden": [8]}},
    )


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        name="convergence",
        factory=f"{_PKG}.toy:build_convergence",
        params_cls=c.ConvergenceParams,
        summary="Toy metrics: main and auxiliary loss, and the first update count with "
        "L_main below the threshold.",
        example=_TOY,
    )
    yield methodlab.EvaluatorSpec(
        name="task-accuracy",
        factory=f"{_PKG}.digits:build_task_accuracy",
        params_cls=c.TaskAccuracyParams,
        summary="Main-task accuracy and error over a split's rows that carry a main label.",
        example=_DIGITS,
    )
