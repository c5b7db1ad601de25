"""Sharp minima can generalize (Dinh et al., 2017) as a methodlab plugin.

Registration only: the component modules (and torch) are imported when a run builds them.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_sharp_minima import config as c

__all__ = ["methodlab_environments", "methodlab_evaluators"]

_PKG = "methodlab_sharp_minima"
# The conformance suite runs each component on its example: keep the data tiny.
_SMALL_MOONS = {"use": "moons", "n_train": 32, "n_test": 8}
_RELU_MLP = {"use": "mlp", "hidden": [4], "activation": "relu"}


@methodlab.hookimpl
def methodlab_environments() -> Iterator[methodlab.EnvironmentSpec]:
    yield methodlab.EnvironmentSpec(
        name="moons",
        factory=f"{_PKG}.environments:build_moons",
        params_cls=c.MoonsParams,
        summary="scikit-learn's two moons (2 inputs, 2 classes), data fixed by data_seed.",
        example={"loss": {"use": "cross-entropy"},
                 "params": {"n_train": 32, "n_test": 8}},
    )


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        name="sharpness",
        factory=f"{_PKG}.evaluator:build_sharpness",
        params_cls=c.SharpnessParams,
        summary="Hessian λ_max (power iteration), trace and ε-sharpness of the α-scale "
        "reparametrised rectifier net T_α θ, plus its max output change.",
        example={"environment": _SMALL_MOONS, "model": _RELU_MLP,
                 "loss": {"use": "cross-entropy"}, "params": {"alpha": 0.5}},
    )
