"""Ray interference: a source of plateaus in deep RL (Schaul, Borsa, Modayil & Pascanu, 2019).

Registration only: the component modules (and torch) are imported when a run builds them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import methodlab

from methodlab_ray_interference import config as c

if TYPE_CHECKING:
    from methodlab.runner import Run

__all__ = [
    "methodlab_environments",
    "methodlab_evaluators",
    "methodlab_losses",
    "methodlab_models",
    "methodlab_run_end",
]

_PKG = "methodlab_ray_interference"
_EXACT = {"environment": {"use": "ray-interference:exact-bandit", "contexts": 2},
          "model": {"use": "ray-interference:interference-logits", "start": [0.0, -3.0],
                    "interference": -0.7},
          "loss": {"use": "ray-interference:expected-reward"},
          "evaluators": {"check": {"use": "ray-interference:bandit-dynamics"}}}


_BANDIT_ID = "methodlab/ContextualBandit-v0"
_STOCHASTIC = {"environment": {"use": "gymnasium:gymnasium", "id": _BANDIT_ID, "num_envs": 4,
                               "n_steps": 2, "eval_episodes": 2},
               "model": {"use": "ray-interference:bandit-policy", "hidden": 4},
               "loss": {"use": "ray-interference:expected-reward"},
               "evaluators": {"check": {"use": "ray-interference:bandit-dynamics"}}}


def _example(drop: str, base: dict[str, Any] = _EXACT) -> dict[str, Any]:
    return {key: value for key, value in base.items() if key != drop}


def _register_gym_envs() -> None:
    from methodlab_gymnasium.registration import register_env

    register_env(_BANDIT_ID, f"{_PKG}.bandit:ContextualBanditEnv")


# On import too, so gymnasium users can gymnasium.make("methodlab_ray_interference:<id>").
_register_gym_envs()


@methodlab.hookimpl
def methodlab_environments() -> Iterator[methodlab.EnvironmentSpec]:
    yield methodlab.EnvironmentSpec(
        name="exact-bandit",
        factory=f"{_PKG}.exact:build_exact_bandit",
        params_cls=c.ExactBanditParams,
        summary="K one-hot contexts x 2 arms, all contexts in every batch: losses are exact "
        "expectations and sgd with lr = dt integrates the learning ODE.",
        example=_example("environment"),
    )


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        name="interference-logits",
        factory=f"{_PKG}.exact:build_interference_logits",
        params_cls=c.InterferenceLogitsParams,
        summary="Minimal model d_k = w_k.theta with Gram matrix G = WW^T of off-diagonal rho "
        "(negative: interference; 0: no sharing) and start logits d0.",
        example=_example("model"),
    )
    yield methodlab.ModelSpec(
        name="bandit-policy",
        factory=f"{_PKG}.models:build_bandit_policy",
        params_cls=c.BanditPolicyParams,
        summary="Softmax policy MLP for one-hot contexts: a shared trunk (interference) or, "
        "with shared = false, an independent network per context; returns (logits, 0).",
        example=_example("model", _STOCHASTIC),
    )


@methodlab.hookimpl
def methodlab_losses() -> Iterator[methodlab.LossSpec]:
    yield methodlab.LossSpec(
        name="expected-reward",
        factory=f"{_PKG}.losses:build_expected_reward",
        params_cls=c.ExpectedRewardParams,
        summary="On-policy signal: exact -sum_k pi(good | k) on all contexts; REINFORCE "
        "-mean r log pi(a | s) on a gymnasium rollout.",
        example=_example("loss"),
    )
    yield methodlab.LossSpec(
        name="good-arm-likelihood",
        factory=f"{_PKG}.losses:build_good_arm_likelihood",
        params_cls=c.GoodArmLikelihoodParams,
        summary="Supervised / off-policy signal: -sum_k log pi(good | k); on a rollout the "
        "good arm comes from info['good_arm'].",
        example=_example("loss"),
    )


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        name="bandit-dynamics",
        factory=f"{_PKG}.evaluators:build_bandit_dynamics",
        params_cls=c.BanditDynamicsParams,
        summary="Per-context success J_k, contexts solved, updates to solve all, plateau speed; "
        "optionally a figure of the curves and the (J1, J2) flow field.",
        example=_example("evaluators"),
    )


@methodlab.hookimpl
def methodlab_run_end(run: Run, summary: Mapping[str, Any]) -> None:
    """Draw the figures that ``bandit-dynamics`` evaluators ask for (``figure = "x.png"``)."""
    from methodlab_ray_interference.figures import draw_figures

    draw_figures(run.spec, run.directory)
