"""The ``episode-return`` evaluator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from methodlab.components import Evaluator
from torch import nn

from methodlab_gymnasium.config import EpisodeReturnParams
from methodlab_gymnasium.environment import GymEnvironment

__all__ = ["EpisodeReturn", "build_episode_return"]


class EpisodeReturn(Evaluator):
    """Mean undiscounted return and length of fresh episodes with the current policy.

    Metrics: ``return`` and ``length`` (mean over ``eval_episodes`` episodes on the separate,
    seeded evaluation copies, see :meth:`GymEnvironment.evaluate_policy`); ``train_return``
    and ``train_length`` (mean of the last ``window`` finished training episodes) and
    ``train_episodes`` (training episodes finished so far). Before any training episode has
    finished the two ``train_*`` means are left out rather than reported as NaN.
    """

    def __init__(self, params: EpisodeReturnParams) -> None:
        self.params = params

    def __call__(self, model: nn.Module, env: Any, loss: Any) -> Mapping[str, float]:
        if not isinstance(env, GymEnvironment):
            raise KeyError(f"episode-return needs the gymnasium environment, got "
                           f"{type(env).__name__}")
        result = env.evaluate_policy(model, greedy=self.params.greedy)
        metrics = {"return": float(result["return"].mean()),
                   "length": float(result["length"].mean()),
                   "train_episodes": float(len(env.episodes["return"]))}
        recent = slice(-self.params.window, None)
        if env.episodes["return"]:
            metrics["train_return"] = float(np.mean(env.episodes["return"][recent]))
            metrics["train_length"] = float(np.mean(env.episodes["length"][recent]))
        return metrics


def build_episode_return(params: EpisodeReturnParams, *, env: Any = None) -> EpisodeReturn:
    """Factory of ``episode-return``."""
    return EpisodeReturn(params)
