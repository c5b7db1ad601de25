"""Natural gradient for deep networks (Pascanu & Bengio, 2014) and the second-order methods
it is compared with, as a methodlab plugin.

Registration only: the component modules (and torch) are imported when a run builds them.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_natural_gradient.config import (
    FixedInitMLPParams,
    HessianFreeParams,
    KrylovSubspaceDescentParams,
    NaturalConjugateGradientParams,
    NaturalGradientParams,
    OrderedDigitsParams,
    ProbeOutputsParams,
    TongaParams,
)

__all__ = [
    "methodlab_environments",
    "methodlab_evaluators",
    "methodlab_models",
    "methodlab_optimizers",
]

_PACKAGE = "methodlab_natural_gradient"


@methodlab.hookimpl
def methodlab_optimizers() -> Iterator[methodlab.OptimizerSpec]:
    yield methodlab.OptimizerSpec(
        name="natural-gradient",
        factory=f"{_PACKAGE}.optimizer:build",
        params_cls=NaturalGradientParams,
        summary="Natural gradient (Fisher = Gauss-Newton) with truncated CG/MINRES solves "
        "and Levenberg-Marquardt damping.",
    )
    yield methodlab.OptimizerSpec(
        name="hessian-free",
        factory=f"{_PACKAGE}.hessian_free:build",
        params_cls=HessianFreeParams,
        summary="Hessian-free (Martens 2010): Gauss-Newton CG with backtracking over iterates, "
        "warm start, Levenberg-Marquardt damping and a line search.",
    )
    yield methodlab.OptimizerSpec(
        name="ksd",
        factory=f"{_PACKAGE}.ksd:build",
        params_cls=KrylovSubspaceDescentParams,
        summary="Krylov subspace descent (Vinyals & Povey 2012): L-BFGS on the loss over "
        "span{g, Gg, ..., previous step}.",
    )
    yield methodlab.OptimizerSpec(
        name="tonga",
        factory=f"{_PACKAGE}.tonga:build",
        params_cls=TongaParams,
        summary="TONGA (Le Roux et al. 2008): natural gradient with the per-example gradient "
        "covariance, solved on the Gram matrix.",
    )
    yield methodlab.OptimizerSpec(
        name="natural-cg",
        factory=f"{_PACKAGE}.natural_cg:build",
        params_cls=NaturalConjugateGradientParams,
        summary="NatCG (Pascanu & Bengio 2014): natural direction and previous step combined "
        "by the Gauss-Newton quadratic model.",
    )


@methodlab.hookimpl
def methodlab_environments() -> Iterator[methodlab.EnvironmentSpec]:
    yield methodlab.EnvironmentSpec(
        name="ordered-digits",
        factory=f"{_PACKAGE}.ordered_digits:build",
        params_cls=OrderedDigitsParams,
        summary="Digits classification served in sequential blocks; block 1 or the last is "
        "redrawn from a held-out pool with the seed (Erhan et al. 2010).",
        example={"model": {"use": "mlp", "hidden": [5]}, "loss": {"use": "cross-entropy"},
                 "params": {"block_size": 20, "steps_per_block": 1, "resample": "early"}},
    )


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        name="fixed-init-mlp",
        factory=f"{_PACKAGE}.fixed_init:build",
        params_cls=FixedInitMLPParams,
        summary="MLP whose initial weights come from init_seed, not the run's seed.",
        example={"params": {"hidden": [5]}},
    )


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        name="probe-outputs",
        factory=f"{_PACKAGE}.probes:build",
        params_cls=ProbeOutputsParams,
        summary="Class probabilities on the first n_probe inputs of a split, as probe.<i>.",
        example={"environment": {"use": "ordered-digits", "block_size": 20,
                                 "steps_per_block": 1},
                 "model": {"use": "mlp", "hidden": [5]}, "loss": {"use": "cross-entropy"},
                 "params": {"n_probe": 3}},
    )
