"""The episode-return evaluator."""

from __future__ import annotations

import pytest
from methodlab_gymnasium.config import EpisodeReturnParams, GymParams
from methodlab_gymnasium.environment import build_gymnasium
from methodlab_gymnasium.evaluators import EpisodeReturn
from methodlab_gymnasium.models import ActorCritic


def test_metrics_on_the_counter_env():
    env = build_gymnasium(GymParams(id="methodlab/Counter-v0", num_envs=2, n_steps=4,
                                    eval_episodes=3), seed=0)
    model = ActorCritic(1, 2, [4])
    evaluator = EpisodeReturn(EpisodeReturnParams(window=2))
    # Before any training episode has finished the train_* means are left out, not NaN.
    assert evaluator(model, env, None) == {"return": 3.0, "length": 3.0,
                                           "train_episodes": 0.0}
    env.train_batch(0, model)
    env.train_batch(1, model)  # 8 steps per copy: episodes end at t = 3 and t = 7
    metrics = evaluator(model, env, None)
    assert metrics["train_episodes"] == 4.0
    assert metrics["train_return"] == 3.0 and metrics["train_length"] == 3.0
    env.episodes["return"][-1] = 5.0  # the window averages only the last two episodes
    assert evaluator(model, env, None)["train_return"] == 4.0


def test_greedy_evaluation_is_deterministic_and_other_envs_are_refused():
    env = build_gymnasium(GymParams(id="CartPole-v1", num_envs=1, eval_episodes=2), seed=3)
    model = ActorCritic(4, 2, [8])
    greedy = EpisodeReturn(EpisodeReturnParams(greedy=True))
    assert greedy(model, env, None) == greedy(model, env, None)
    with pytest.raises(KeyError, match="needs the gymnasium environment"):
        greedy(model, object(), None)
