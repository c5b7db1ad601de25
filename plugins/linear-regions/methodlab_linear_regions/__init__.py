"""Linear regions of piecewise-linear networks (Pascanu et al. 2014; Montúfar et al. 2014).

Registration only: the component modules (and torch) are imported when a run builds them.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_linear_regions import config as c

__all__ = ["methodlab_environments", "methodlab_evaluators", "methodlab_models"]

_PKG = "methodlab_linear_regions"
_INTERVAL = {"use": "interval-regression", "n_train": 16, "n_test": 8}
_RELU_MLP = {"use": "mlp", "hidden": [5], "activation": "relu"}


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        name="zigzag",
        factory=f"{_PKG}.zigzag:build_zigzag",
        params_cls=c.ZigzagParams,
        summary="Montúfar et al.'s space-folding ReLU net: n units x L layers, n^L linear "
        "pieces on [0, 1] along the first input.",
        example={"environment": _INTERVAL, "params": {"units": 2, "layers": 2}},
    )


@methodlab.hookimpl
def methodlab_environments() -> Iterator[methodlab.EnvironmentSpec]:
    yield methodlab.EnvironmentSpec(
        name="interval-regression",
        factory=f"{_PKG}.environments:build_interval_regression",
        params_cls=c.IntervalRegressionParams,
        summary="Regress a zigzag teacher of x1 from x ~ U[0, 1]^D (fixed sample).",
        example={"model": _RELU_MLP, "params": {"n_train": 16, "n_test": 8}},
    )


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        name="linear-regions",
        factory=f"{_PKG}.evaluator:build_linear_regions",
        params_cls=c.LinearRegionsParams,
        summary="Exact count of linear regions of a Linear/ReLU net on a segment (breakpoints) "
        "and a 2-D square (polygon splitting), with bounds.",
        example={"model": _RELU_MLP, "params": {"mode": "both"}},
    )
