"""Saddle-free Newton (Dauphin et al., 2014) as a methodlab plugin.

Registration only: the component modules (and torch) are imported when a run builds them.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_saddle_free_newton import config as c

__all__ = [
    "methodlab_environments",
    "methodlab_evaluators",
    "methodlab_models",
    "methodlab_optimizers",
]

_PKG = "methodlab_saddle_free_newton"
_SMALL_GAUSSIAN = {"use": "spiked-gaussian", "in_features": 6, "variances": [1.0, 0.1],
                   "n_train": 32, "n_test": 8}


@methodlab.hookimpl
def methodlab_optimizers() -> Iterator[methodlab.OptimizerSpec]:
    yield methodlab.OptimizerSpec(
        name="saddle-free-newton",
        factory=f"{_PKG}.optimizer:build_saddle_free_newton",
        params_cls=c.SaddleFreeNewtonParams,
        summary="Exact saddle-free Newton: -(|H| + λI)⁻¹g from the dense Hessian, λ by line "
        "search (small networks).",
    )
    yield methodlab.OptimizerSpec(
        name="krylov-saddle-free-newton",
        factory=f"{_PKG}.optimizer:build_krylov_saddle_free_newton",
        params_cls=c.KrylovSaddleFreeNewtonParams,
        summary="Saddle-free Newton in a k-dimensional Lanczos subspace started from the "
        "gradient, λ by line search.",
    )
    yield methodlab.OptimizerSpec(
        name="damped-newton",
        factory=f"{_PKG}.optimizer:build_damped_newton",
        params_cls=c.DampedNewtonParams,
        summary="Damped Newton -(H + λI)⁻¹g from the dense Hessian, λ by line search (the "
        "saddle-free Newton paper's baseline).",
    )


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        name="linear-autoencoder",
        factory=f"{_PKG}.linear_autoencoder:build_linear_autoencoder",
        params_cls=c.LinearAutoencoderParams,
        summary="Linear autoencoder W₂W₁x without biases, optionally started at a saddle "
        "point built from the data's eigenvectors.",
        example={"environment": _SMALL_GAUSSIAN, "params": {"hidden": 2}},
    )


@methodlab.hookimpl
def methodlab_environments() -> Iterator[methodlab.EnvironmentSpec]:
    yield methodlab.EnvironmentSpec(
        name="digits-4x4",
        factory=f"{_PKG}.environments:build_digits_4x4",
        params_cls=c.Digits4x4Params,
        summary="scikit-learn's digits average-pooled to 4x4 (16 inputs, 10 classes), fixed "
        "stratified split.",
        example={"loss": {"use": "cross-entropy"}},
    )
    yield methodlab.EnvironmentSpec(
        name="spiked-gaussian",
        factory=f"{_PKG}.environments:build_spiked_gaussian",
        params_cls=c.SpikedGaussianParams,
        summary="Reconstruct Gaussian vectors whose covariance has a few chosen leading "
        "eigenvalues over a flat floor.",
        example={"params": {"in_features": 6, "variances": [1.0, 0.1], "n_train": 32,
                            "n_test": 8}},
    )


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        name="critical-point",
        factory=f"{_PKG}.critical_point:build_critical_point",
        params_cls=c.CriticalPointParams,
        summary="Exact Hessian spectrum over a split: index (fraction of negative "
        "eigenvalues), λ_min, λ_max, gradient norm.",
    )
