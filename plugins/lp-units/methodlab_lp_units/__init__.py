"""Learned-norm pooling (Gulcehre, Cho, Pascanu & Bengio, 2014) as a methodlab plugin.

Registration only: the component modules (and torch) are imported when a run builds them.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_lp_units import config as c

__all__ = ["methodlab_environments", "methodlab_evaluators", "methodlab_models"]

_PKG = "methodlab_lp_units"
# The conformance suite runs each component on its example: keep the data tiny.
_SMALL_CURVED = {"use": "curved-boundary", "n_train": 32, "n_test": 8}
_CLASSIFY = {"environment": _SMALL_CURVED, "loss": {"use": "cross-entropy"}}


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        name="lp-mlp",
        factory=f"{_PKG}.models:build_lp_mlp",
        params_cls=c.LpMLPParams,
        summary="MLP of Lp units u = (mean_i |w_iᵀx − c_i|^p)^(1/p), learned p = 1 + "
        "softplus(ρ) and centres per unit.",
        example={**_CLASSIFY, "params": {"hidden": [3]}},
    )
    yield methodlab.ModelSpec(
        name="maxout-mlp",
        factory=f"{_PKG}.models:build_maxout_mlp",
        params_cls=c.MaxoutMLPParams,
        summary="MLP of maxout units u = max_i (w_iᵀx + b_i) over k pieces.",
        example={**_CLASSIFY, "params": {"hidden": [3]}},
    )


@methodlab.hookimpl
def methodlab_environments() -> Iterator[methodlab.EnvironmentSpec]:
    yield methodlab.EnvironmentSpec(
        name="curved-boundary",
        factory=f"{_PKG}.environments:build_curved_boundary",
        params_cls=c.CurvedBoundaryParams,
        summary="Points uniform in a 2-D box, labelled r < 1 + 0.3 sin 3θ (data fixed by "
        "data_seed).",
        example={"loss": {"use": "cross-entropy"}, "params": {"n_train": 32, "n_test": 8}},
    )


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        name="lp-orders",
        factory=f"{_PKG}.evaluators:build_lp_orders",
        params_cls=c.LpOrdersParams,
        summary="Mean, std, min and max of the learned orders p over a model's Lp units.",
        example={**_CLASSIFY, "model": {"use": "lp-mlp", "hidden": [3]}},
    )
