"""Natural Neural Networks / PRONG (Desjardins et al., 2015) as a methodlab plugin.

Registration only: the model, optimizer and evaluator modules (and torch) are imported when a
run builds them.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_natural_neural_networks import config as c

__all__ = ["methodlab_evaluators", "methodlab_models", "methodlab_optimizers"]

_PKG = "methodlab_natural_neural_networks"
_AUTOENCODER_RUN = {
    "environment": {"use": "digits", "task": "reconstruction", "batch_size": 16},
    "loss": {"use": "bernoulli-cross-entropy"},
}
_WHITENED_MLP = {"use": "whitened-mlp", "hidden": [5]}


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        "whitened-autoencoder", f"{_PKG}.network:build_autoencoder",
        c.WhitenedAutoencoderParams,
        "Deep autoencoder of whitened layers h = f(V U (x - c) + d) (PRONG; PRONG+ with "
        "batch_norm).",
        example={**_AUTOENCODER_RUN, "params": {"sizes": [64, 8, 64]}},
    )
    yield methodlab.ModelSpec(
        "whitened-mlp", f"{_PKG}.network:build_mlp", c.WhitenedMLPParams,
        "Multi-layer perceptron of whitened layers h = f(V U (x - c) + d) (PRONG; PRONG+ with "
        "batch_norm).",
        example={"params": {"hidden": [5]}},
    )


@methodlab.hookimpl
def methodlab_optimizers() -> Iterator[methodlab.OptimizerSpec]:
    yield methodlab.OptimizerSpec(
        "prong", f"{_PKG}.prong:build", c.PRONGParams,
        "Projected natural gradient descent: SGD on whitened layers, re-whitened every T "
        "updates without changing the network function.",
        example={"model": _WHITENED_MLP, "params": {"period": 1, "num_samples": 16}},
    )


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        "reparametrization-invariance", f"{_PKG}.invariance:build", c.InvarianceParams,
        "Largest output change a PRONG reparametrisation causes, in float64.",
        example={"model": _WHITENED_MLP, "params": {"num_samples": 16}},
    )
    yield methodlab.EvaluatorSpec(
        "fisher-conditioning", f"{_PKG}.fisher:build", c.FisherConditioningParams,
        "Condition numbers of the per-layer diagonal blocks of the Fisher (Gauss-Newton).",
        example={"params": {"num_samples": 16}},
    )
