"""Experience collection, field trap FT-16, evaluation and the resume guarantee."""

from __future__ import annotations

import io
import sys

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.wrappers import TimeLimit
from methodlab.errors import UserError
from methodlab.progress import Progress
from methodlab.runfile import validate_document
from methodlab.runner import Trial
from methodlab_gymnasium.a2c import a2c_terms
from methodlab_gymnasium.config import GymParams
from methodlab_gymnasium.counter import CounterEnv
from methodlab_gymnasium.environment import (
    GymEnvironment,
    build_gymnasium,
    derived_seed,
    make_vector_env,
)
from methodlab_gymnasium.models import ActorCritic
from methodlab_gymnasium.rollout import Rollout

COUNTER = "methodlab/Counter-v0"


def _ft16_envs(mode: AutoresetMode = AutoresetMode.NEXT_STEP) -> SyncVectorEnv:
    # FT-16: two deterministic counters (terminate at t = 3), env 0 cut by TimeLimit(2).
    return SyncVectorEnv([lambda: TimeLimit(CounterEnv(length=3), max_episode_steps=2),
                          lambda: CounterEnv(length=3)], autoreset_mode=mode)


def _ft16_environment() -> GymEnvironment:
    params = GymParams(id=COUNTER, num_envs=2, n_steps=5)
    return GymEnvironment(_ft16_envs(), lambda k: make_vector_env(params, k), params, seed=0,
                          dtype=torch.float64)


def _model(env: GymEnvironment) -> ActorCritic:
    torch.manual_seed(0)
    return ActorCritic(env.info.in_features, env.info.out_features, [8]).double()


def test_ft16_autoreset_steps_are_masked_and_episodes_logged():
    env = _ft16_environment()
    rollout = env.train_batch(0, _model(env))  # no KeyError on final-observation keys
    # Autoreset steps: env 0 at index 2, env 1 at index 3; obs 0, reward 0, flags false.
    assert rollout.valid.T.tolist() == [[True, True, False, True, True],
                                        [True, True, True, False, True]]
    assert int(rollout.valid.sum()) == 8  # 8 of 10 transitions used
    for t, n in ((2, 0), (3, 1)):
        assert rollout.next_obs[t, n].tolist() == [0.0]
        assert rollout.rewards[t, n] == 0.0
        assert not rollout.terminated[t, n] and not rollout.truncated[t, n]
    # The observations each action was taken in, and the real final observations.
    assert rollout.obs[:, 0, 0].tolist() == [0, 1, 2, 0, 1]
    assert rollout.obs[:, 1, 0].tolist() == [0, 1, 2, 3, 0]
    assert rollout.next_obs[1, 0].tolist() == [2.0]  # truncated at 2: final obs, not reset
    assert rollout.next_obs[2, 1].tolist() == [3.0]  # terminated at 3
    assert rollout.truncated[:, 0].tolist() == [False, True, False, False, True]
    assert rollout.terminated[:, 1].tolist() == [False, False, True, False, False]
    assert not rollout.terminated[:, 0].any() and not rollout.truncated[:, 1].any()
    # Logged episodes: env 0 two truncated with return 2, env 1 one terminated with return 3.
    log = env.episodes
    episodes = sorted(zip(log["env"], log["return"], log["length"], log["terminated"],
                          log["truncated"], strict=True))
    assert episodes == [(0, 2.0, 2, False, True), (0, 2.0, 2, False, True),
                        (1, 3.0, 3, True, False)]
    assert "count" in rollout.info and rollout.info["count"][:, 1].tolist() == [1, 2, 3, 0, 1]


def test_ft16_masked_steps_do_not_reach_the_loss():
    env = _ft16_environment()
    model = _model(env)
    rollout = env.train_batch(0, model)
    invalid = ~rollout.valid
    # Garbage at the autoreset steps must not change any term.
    poisoned = Rollout(obs=torch.where(invalid[..., None], 1e3, rollout.obs),
                       actions=torch.where(invalid, 1 - rollout.actions, rollout.actions),
                       rewards=torch.where(invalid, 1e3, rollout.rewards),
                       terminated=rollout.terminated, truncated=rollout.truncated,
                       valid=rollout.valid, next_obs=torch.where(invalid[..., None], -1e3,
                                                                 rollout.next_obs))
    clean, dirty = a2c_terms(model, rollout), a2c_terms(model, poisoned)
    for key in ("policy", "value", "entropy"):
        assert torch.equal(clean[key], dirty[key]), key
    assert bool((clean["advantages"][invalid] == 0).all())


def test_ft16_same_step_mode_is_rejected_with_one_line():
    params = GymParams(id=COUNTER, num_envs=2, n_steps=5)
    with pytest.raises(ValueError, match="autoreset mode 'SameStep' is not supported") as info:
        GymEnvironment(_ft16_envs(AutoresetMode.SAME_STEP),
                       lambda k: make_vector_env(params, k), params, seed=0)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match=r"remove autoreset_mode from environment\.vector_kwargs"):
        build_gymnasium(GymParams(id=COUNTER, num_envs=2,
                                  vector_kwargs={"autoreset_mode": "SameStep"}), seed=0)


def test_collection_continues_across_rollouts():
    env = _ft16_environment()
    model = _model(env)
    first, second = env.train_batch(0, model), env.train_batch(1, model)
    assert torch.equal(second.obs[0], first.next_obs[-1])
    # env 0 truncated at the last step of the first rollout: its next step is an autoreset.
    assert second.valid[0].tolist() == [False, True]
    # Second rollout: env 0 is truncated at index 2, env 1 terminates at index 1.
    assert env.episodes["return"][3:] == [3.0, 2.0] and env.episodes["env"][3:] == [1, 0]
    assert env.episodes["step"][-1] == 1


def test_rollout_shapes_and_dtypes_on_cartpole():
    env = build_gymnasium(GymParams(id="CartPole-v1", num_envs=3, n_steps=4), seed=1)
    model = ActorCritic(env.info.in_features, env.info.out_features, [8])
    rollout = env.train_batch(0, model)
    assert env.info.in_features == 4 and env.info.out_features == 2
    assert env.info.task == "reinforcement"
    assert rollout.obs.shape == rollout.next_obs.shape == (4, 3, 4)
    assert rollout.obs.dtype == torch.float32 and rollout.actions.dtype == torch.long
    assert rollout.rewards.shape == rollout.valid.shape == (4, 3)
    assert rollout.rewards.sum() == 12.0  # CartPole pays 1 per step; no episode ends in 4


def test_discrete_observations_are_one_hot_and_unknown_ids_fail():
    env = build_gymnasium(GymParams(id="FrozenLake-v1", num_envs=2, n_steps=3,
                                    kwargs={"is_slippery": False}), seed=0)
    assert env.info.in_features == 16
    rollout = env.train_batch(0, ActorCritic(16, 4, [8]))
    assert rollout.obs[0].tolist() == [[1.0] + [0.0] * 15] * 2
    with pytest.raises(gymnasium.error.Error):
        build_gymnasium(GymParams(id="NoSuchEnv-v0"), seed=0)


def test_continuous_actions_sample_around_the_mean():
    env = build_gymnasium(GymParams(id="Pendulum-v1", num_envs=2, n_steps=3), seed=0)
    assert env.continuous and env.info.out_features == 1
    model = ActorCritic(3, 1, [8], continuous=True)
    rollout = env.train_batch(0, model)
    assert rollout.actions.shape == (3, 2, 1) and rollout.actions.dtype == torch.float32
    terms = a2c_terms(model, rollout)
    # Gaussian entropy with log_std = 0: ½ log(2πe) per dimension.
    gaussian = 0.5 * np.log(2 * np.pi * np.e)
    assert float(terms["entropy"].detach()) == pytest.approx(gaussian, rel=1e-5)


def test_evaluation_is_seeded_and_counts_whole_episodes():
    env = build_gymnasium(GymParams(id=COUNTER, num_envs=2, eval_episodes=4), seed=0)
    model = ActorCritic(1, 2, [8])
    result = env.evaluate_policy(model)
    assert result["return"].tolist() == [3.0] * 4 and result["length"].tolist() == [3] * 4
    cart = build_gymnasium(GymParams(id="CartPole-v1", num_envs=2, eval_episodes=3), seed=0)
    policy = ActorCritic(4, 2, [8])
    a, b = cart.evaluate_policy(policy), cart.evaluate_policy(policy)
    assert a["return"].tolist() == b["return"].tolist()
    assert (a["length"] >= 8).all()  # CartPole cannot fall in fewer than ~8 steps


def test_derived_seeds_differ_by_stream_and_step():
    seeds = {derived_seed(0, stream, step) for stream in range(4) for step in range(5)}
    assert len(seeds) == 20 and all(0 <= s < 2**31 for s in seeds)


# -- resume ------------------------------------------------------------------------------------

_DOC = {
    "name": "resume", "seeds": [0], "train": {"steps": 6, "threads": 1},
    "environment": {"use": "gymnasium", "id": "CartPole-v1", "num_envs": 2, "n_steps": 16},
    "model": {"use": "actor-critic", "hidden": [16]},
    "loss": {"use": "a2c"},
    "optimizer": {"use": "adam", "lr": 0.01},
    "evaluators": {"eval": {"use": "episode-return"}},
}


def _trial() -> Trial:
    return Trial(validate_document(_DOC, "<test>").arms[0], seed=0)


def _round_trip(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_checkpoint_is_an_episode_boundary_reset_from_the_step():
    trial = _trial()
    for _ in range(3):
        trial.train_step()
    env = trial.env
    logged = len(env.episodes["return"])
    env._pending[:] = True  # as if an episode had just ended: the reset supersedes it
    state = env.state_dict()
    copies = gymnasium.make_vec("CartPole-v1", 2, vectorization_mode="sync")
    fresh, _ = copies.reset(seed=derived_seed(0, 0, 3))
    assert torch.equal(env._obs, torch.as_tensor(fresh))
    assert not env._pending.any() and len(env.episodes["return"]) == logged
    assert state["step"] == 3


def test_resume_continues_bitwise_and_keeps_the_episode_log():
    # Uninterrupted: checkpoint (state_dict) at step 3 as the runner does, go on to 6.
    straight = _trial()
    for _ in range(3):
        straight.train_step()
    state = _round_trip(straight.state_dict())
    while straight.step < 6:
        straight.train_step()
    # Interrupted at step 3: a fresh process restores the checkpoint and goes on.
    torch.manual_seed(123)  # the global RNG state is restored from the checkpoint
    resumed = _trial()
    resumed.load_state_dict(state)
    while resumed.step < 6:
        resumed.train_step()
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert resumed.env.episodes == straight.env.episodes
    assert len(straight.env.episodes["return"]) > 0
    assert resumed.evaluate() == straight.evaluate()


def test_runner_resume_from_a_checkpoint_file_matches_the_uninterrupted_run(tmp_path):
    # The runner's own path: checkpoint.pt on disk every 2 updates, interrupted after update 3,
    # resumed from the update-2 checkpoint by a new Trial.
    document = {**_DOC, "train": {**_DOC["train"], "checkpoint_every": 2}}
    arm = validate_document(document, "<test>").arms[0]
    quiet = Progress(sys.stderr, quiet=True)
    (tmp_path / "straight").mkdir()
    (tmp_path / "resumed").mkdir()
    straight = Trial(arm, seed=0, directory=tmp_path / "straight")
    straight.run(quiet)

    interrupted = Trial(arm, seed=0, directory=tmp_path / "resumed")
    train_step = interrupted.train_step

    def crash_after_three() -> float:
        if interrupted.step == 3:
            raise KeyboardInterrupt
        return train_step()

    interrupted.train_step = crash_after_three
    with pytest.raises(KeyboardInterrupt):
        interrupted.run(quiet)
    resumed = Trial(arm, seed=0, directory=tmp_path / "resumed")
    result = resumed.run(quiet, resume=True)
    assert result.status == "finished" and resumed.step == 6
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert resumed.env.episodes == straight.env.episodes
    evaluations = {key: value for key, value in result.final.items() if key.startswith("eval.")}
    assert evaluations and evaluations == {key: value for key, value in
                                           straight.final_metrics().items()
                                           if key.startswith("eval.")}


def test_bad_environment_settings_are_one_line_errors():
    bad = {**_DOC, "environment": {**_DOC["environment"], "num_envs": 0}}
    with pytest.raises(UserError, match=r"environment\.num_envs"):
        validate_document(bad, "<test>")


def test_async_copies_collect_what_sync_copies_collect():
    rollouts = {}
    for mode in ("sync", "async"):
        env = build_gymnasium(GymParams(id="CartPole-v1", num_envs=2, n_steps=6,
                                        vectorization=mode), seed=4)
        torch.manual_seed(0)
        rollouts[mode] = env.train_batch(0, ActorCritic(4, 2, [8]))
        env.close()
    assert torch.equal(rollouts["sync"].obs, rollouts["async"].obs)
    assert torch.equal(rollouts["sync"].actions, rollouts["async"].actions)
