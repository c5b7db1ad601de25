"""Gymnasium environments in methodlab: a methodlab integration.

Registers the environment ``gymnasium`` (any registered gymnasium id, vectorised, yielding
:class:`~methodlab_gymnasium.rollout.Rollout` batches), the model ``actor-critic``, the loss
``a2c`` and the evaluator ``episode-return``; registers the deterministic counter environment
``methodlab/Counter-v0`` with gymnasium when :mod:`methodlab_gymnasium.counter` is imported
(the ``gymnasium`` environment and :func:`~methodlab_gymnasium.testing.check_gym_envs` import
it). Registration only: neither torch nor gymnasium is imported when the hooks run.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_gymnasium.config import (
    A2CParams,
    ActorCriticParams,
    EpisodeReturnParams,
    GymParams,
)
from methodlab_gymnasium.registration import register_env

__all__ = ["methodlab_environments", "methodlab_evaluators", "methodlab_losses",
           "methodlab_models", "register_env"]

# The conformance suite builds a tiny float64 run around each component.
_ENV_PARAMS = {"id": "CartPole-v1", "num_envs": 2, "n_steps": 4, "eval_episodes": 2}
_RL = {"environment": {"use": "gymnasium", **_ENV_PARAMS},
       "model": {"use": "actor-critic", "hidden": [8]},
       "loss": {"use": "a2c"},
       "evaluators": {"check": {"use": "episode-return"}}}


@methodlab.hookimpl
def methodlab_environments() -> Iterator[methodlab.EnvironmentSpec]:
    yield methodlab.EnvironmentSpec(
        "gymnasium", "methodlab_gymnasium.environment:build_gymnasium", GymParams,
        "Any registered gymnasium id, vectorised; yields rollouts collected with the model.",
        example={**_RL, "params": _ENV_PARAMS})


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        "actor-critic", "methodlab_gymnasium.models:build_actor_critic", ActorCriticParams,
        "MLP with a policy head and a value head: model(obs) -> (logits, value).",
        example=_RL)


@methodlab.hookimpl
def methodlab_losses() -> Iterator[methodlab.LossSpec]:
    yield methodlab.LossSpec(
        "a2c", "methodlab_gymnasium.a2c:build_a2c", A2CParams,
        "Advantage actor-critic: n-step/GAE policy gradient, value MSE, entropy bonus.",
        example=_RL)


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        "episode-return", "methodlab_gymnasium.evaluators:build_episode_return",
        EpisodeReturnParams,
        "Mean return and length of fresh episodes; mean return of recent training episodes.",
        example=_RL)
