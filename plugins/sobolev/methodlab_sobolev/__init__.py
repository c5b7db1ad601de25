"""Sobolev training (Czarnecki et al., 2017) as a methodlab plugin.

Registration only: the component modules (and torch) are imported when a run builds them.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_sobolev import config as c

__all__ = ["methodlab_environments", "methodlab_evaluators", "methodlab_losses"]

_PKG = "methodlab_sobolev"
_SMALL_FUNCTION = {"use": "sobolev:sobolev-function", "function": "beale", "n_train": 8,
                   "n_test": 16}
_SMALL_DISTILLATION = {"use": "sobolev:sobolev-distillation", "teacher_hidden": [8],
                       "teacher_steps": 5, "n_transfer": 6, "n_perturbed": 1, "n_test": 10}


@methodlab.hookimpl
def methodlab_losses() -> Iterator[methodlab.LossSpec]:
    yield methodlab.LossSpec(
        name="sobolev",
        factory=f"{_PKG}.loss:build_sobolev",
        params_cls=c.SobolevLossParams,
        summary="Sobolev loss ‖m(x) − y‖² + λ‖∂ₓm(x) − J‖², full Jacobians or random "
        "projections vᵀJ; λ = 0 is plain regression.",
        example={"environment": _SMALL_FUNCTION},
    )


@methodlab.hookimpl
def methodlab_environments() -> Iterator[methodlab.EnvironmentSpec]:
    yield methodlab.EnvironmentSpec(
        name="sobolev-function",
        factory=f"{_PKG}.environments:build_sobolev_function",
        params_cls=c.SobolevFunctionParams,
        summary="A 2-D benchmark function (Ackley … Styblinski-Tang) with analytic gradients: "
        "targets (B, 3) = value, gradient.",
        example={"loss": {"use": "sobolev:sobolev"},
                 "params": {"function": "bukin", "n_train": 8, "n_test": 16}},
    )
    yield methodlab.EnvironmentSpec(
        name="sobolev-distillation",
        factory=f"{_PKG}.environments:build_distillation",
        params_cls=c.DistillationParams,
        summary="Digits teacher MLP trained in the factory; targets are its logits and input "
        "Jacobians on a transfer set.",
        example={"loss": {"use": "sobolev:sobolev", "projections": 1},
                 "params": {k: v for k, v in _SMALL_DISTILLATION.items() if k != "use"}},
    )


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        name="value-mse",
        factory=f"{_PKG}.evaluators:build_value_mse",
        params_cls=c.SplitParams,
        summary="Mean squared error of values (mse) and of input gradients (gradient_mse) "
        "over a split.",
        example={"environment": _SMALL_FUNCTION, "loss": {"use": "sobolev:sobolev"}},
    )
    yield methodlab.EvaluatorSpec(
        name="teacher-agreement",
        factory=f"{_PKG}.evaluators:build_teacher_agreement",
        params_cls=c.SplitParams,
        summary="Fraction of inputs where the model's argmax matches the teacher's (the "
        "targets' values).",
        example={"environment": _SMALL_DISTILLATION, "loss": {"use": "sobolev:sobolev"}},
    )
