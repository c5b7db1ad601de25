import gymnasium
import numpy as np
import pytest
from methodlab_aux_loss_similarity import GRIDWORLD_ID
from methodlab_aux_loss_similarity.gridworld import GridWorld, teacher_probs
from methodlab_gymnasium.testing import check_gym_envs


def test_gridworld_is_registered_and_passes_check_env():
    assert check_gym_envs([GRIDWORLD_ID]) == [GRIDWORLD_ID]
    env = gymnasium.make(GRIDWORLD_ID, size=4)
    assert env.observation_space.shape == (16,)


def test_shortest_path_reward_and_truncation():
    env = GridWorld(size=3, max_steps=10)
    env.reset(seed=0)
    for action in (1, 1, 2):
        _, reward, terminated, truncated, _ = env.step(action)
        assert (reward, terminated) == (0.0, False)
    _, reward, terminated, truncated, _ = env.step(2)
    assert terminated and not truncated and reward == pytest.approx(1 - 0.9 * 4 / 10)
    env.reset()
    for _ in range(10):
        _, reward, terminated, truncated, _ = env.step(0)   # into the wall
    assert truncated and not terminated and reward == 0.0


def test_teacher_prefers_moves_toward_the_goal_with_noise():
    probs = teacher_probs((0, 0), (2, 2), noise=0.5)
    assert probs.tolist() == pytest.approx([0.125, 0.375, 0.375, 0.125])
    assert probs.sum() == pytest.approx(1.0)
    assert teacher_probs((2, 2), (2, 2), 0.5).tolist() == [0.25] * 4


def test_a_decoy_teacher_points_away_next_to_the_goal():
    env = GridWorld(size=7, teacher_target=(5, 5))
    env.reset(seed=0)
    env.position = (6, 5)                       # one step left of the goal (6, 6)
    _, _, _, _, info = env.step(1)              # right: reaches the goal
    assert int(np.argmax(info["teacher_probs"])) == 0    # the teacher said: up, to (5, 5)
    with pytest.raises(ValueError, match="teacher_target"):
        GridWorld(size=3, teacher_target=(3, 0))
