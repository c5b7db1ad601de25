"""Local minima in training of neural networks (Swirszcz, Czarnecki & Pascanu, 2016).

Registration only: the component modules (and torch) are imported when a run builds them.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_local_minima import config as c

__all__ = ["methodlab_environments", "methodlab_evaluators", "methodlab_models"]

_PKG = "methodlab_local_minima"
_TINY_DIGITS = {"use": "digits", "n_labeled": 64, "batch_size": 16}
_ABS = {"use": "local-minima:abs-points"}


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        name="dead-init-mlp",
        factory=f"{_PKG}.models:build_dead_init_mlp",
        params_cls=c.DeadInitMLPParams,
        summary="ReLU/LeakyReLU MLP whose hidden biases can start so negative that every unit "
        "is inactive on all training data.",
        example={"environment": _TINY_DIGITS, "loss": {"use": "cross-entropy"},
                 "params": {"hidden": [8, 8]}},
    )
    yield methodlab.ModelSpec(
        name="two-unit-relu",
        factory=f"{_PKG}.models:build_two_unit_relu",
        params_cls=c.TwoUnitReLUParams,
        summary="1-2-1 ReLU regression net, started in the |x| blind spot or at the paper's "
        "random restart distribution.",
        example={"environment": _ABS},
    )


@methodlab.hookimpl
def methodlab_environments() -> Iterator[methodlab.EnvironmentSpec]:
    yield methodlab.EnvironmentSpec(
        name="abs-points",
        factory=f"{_PKG}.environments:build_abs_points",
        params_cls=c.AbsPointsParams,
        summary="Regress y = |x| on a few 1-d points (the blind-spot example: -2, -1, 1, 2).",
        example={"model": {"use": "local-minima:two-unit-relu", "init": "random"}},
    )


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        name="gradient-stats",
        factory=f"{_PKG}.evaluators:build_gradient_stats",
        params_cls=c.GradientStatsParams,
        summary="Full-split gradient norms: all parameters, hidden layers only, and the "
        "running maximum of the hidden one.",
    )
    yield methodlab.EvaluatorSpec(
        name="squared-error",
        factory=f"{_PKG}.evaluators:build_squared_error",
        params_cls=c.SquaredErrorParams,
        summary="Plain mean squared error over a split (no factor 1/2).",
    )
