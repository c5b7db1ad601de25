"""Metric-free natural gradient for Boltzmann machines (Desjardins et al., 2013).

Registration only: the algorithm modules (and torch) are imported when a run builds them.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_metric_free_natural_gradient import config as c

__all__ = [
    "methodlab_environments",
    "methodlab_evaluators",
    "methodlab_losses",
    "methodlab_models",
    "methodlab_optimizers",
]

_PKG = "methodlab_metric_free_natural_gradient"

# The tiny run each component's conformance check places it in: a small DBM on
# bars-and-stripes trained by SML, scored by the exact log-likelihood.
_EXAMPLE = {
    "environment": {"use": "bars-and-stripes", "batch_size": 10},
    "model": {"use": "centred-dbm", "hidden": [4, 3], "chains": 8},
    "loss": {"use": "sml-surrogate", "gibbs_steps": 1},
    "optimizer": {"use": "metric-free-natural-gradient", "lr": 0.05, "max_iter": 5},
    "evaluators": {"check": {"use": "exact-log-likelihood"}},
}


def _example(**replace: dict) -> dict:
    return {**_EXAMPLE, **replace}


@methodlab.hookimpl
def methodlab_optimizers() -> Iterator[methodlab.OptimizerSpec]:
    yield methodlab.OptimizerSpec(
        name="metric-free-natural-gradient",
        factory=f"{_PKG}.optimizer:build",
        params_cls=c.MFNGParams,
        summary="MFNG: natural gradient with the sampled covariance of energy gradients of a "
        "Boltzmann machine, solved by damped MINRES.",
        example=_example(),
    )


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        name="centred-rbm",
        factory=f"{_PKG}.models:build_rbm",
        params_cls=c.RBMParams,
        summary="Centred binary RBM with persistent Gibbs chains and exact log Z.",
        example=_example(model={"use": "centred-rbm", "hidden": 4, "chains": 8}),
    )
    yield methodlab.ModelSpec(
        name="centred-dbm",
        factory=f"{_PKG}.models:build_dbm",
        params_cls=c.DBMParams,
        summary="Centred binary deep Boltzmann machine with persistent Gibbs chains, "
        "mean-field positive phase and exact log Z.",
        example=_example(),
    )


@methodlab.hookimpl
def methodlab_losses() -> Iterator[methodlab.LossSpec]:
    yield methodlab.LossSpec(
        name="sml-surrogate",
        factory=f"{_PKG}.sml:build",
        params_cls=c.SMLParams,
        summary="Stochastic maximum likelihood: mean-field data energy minus persistent-chain "
        "energy (its gradient is the SML gradient).",
        example=_example(),
    )


@methodlab.hookimpl
def methodlab_environments() -> Iterator[methodlab.EnvironmentSpec]:
    yield methodlab.EnvironmentSpec(
        name="bars-and-stripes",
        factory=f"{_PKG}.data:build_bars_and_stripes",
        params_cls=c.BarsAndStripesParams,
        summary="All 30 4x4 bars-and-stripes patterns (procedural), for density estimation.",
        example=_example(),
    )
    yield methodlab.EnvironmentSpec(
        name="binarized-digits",
        factory=f"{_PKG}.data:build_binarized_digits",
        params_cls=c.BinaryDigitsParams,
        summary="scikit-learn digits average-pooled to 4x4 and thresholded, train/test.",
        example=_example(environment={"use": "binarized-digits", "batch_size": 10,
                                      "limit": 40}),
    )


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        name="exact-log-likelihood",
        factory=f"{_PKG}.evaluator:build",
        params_cls=c.ExactLogLikelihoodParams,
        summary="Exact average log-likelihood (nats per example) and log Z by enumeration.",
        example=_example(),
    )
