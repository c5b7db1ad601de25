"""The gymnasium bandit, the policy network and the losses on sampled rollouts."""

import gymnasium
import numpy as np
import pytest
import torch
from methodlab.components import Batch
from methodlab_gymnasium.config import GymParams
from methodlab_gymnasium.environment import build_gymnasium
from methodlab_gymnasium.rollout import Rollout
from methodlab_gymnasium.testing import check_gym_envs
from methodlab_ray_interference.bandit import ContextualBanditEnv
from methodlab_ray_interference.config import BanditDynamicsParams
from methodlab_ray_interference.evaluators import build_bandit_dynamics, updates_done
from methodlab_ray_interference.losses import ExpectedReward, GoodArmLikelihood
from methodlab_ray_interference.models import BanditPolicy

BANDIT = "methodlab/ContextualBandit-v0"


def test_bandit_passes_check_env_and_is_made_by_id():
    assert check_gym_envs([BANDIT]) == [BANDIT]
    env = gymnasium.make(f"methodlab_ray_interference:{BANDIT}", contexts=2, arms=2)
    assert env.observation_space.shape == (2,)
    env.close()


def test_bandit_rewards_the_good_arm_only_and_draws_every_context():
    env = ContextualBanditEnv(contexts=3, arms=4, good_arms=[3, 0, 2])
    seen = set()
    for seed in range(60):
        obs, info = env.reset(seed=seed)
        assert obs.argmax() == info["context"] and obs.sum() == 1.0
        seen.add(info["context"])
        rewards = []
        for action in range(4):
            env.reset(seed=seed)
            _, reward, terminated, truncated, _ = env.step(action)
            assert terminated and not truncated
            rewards.append(reward)
        assert rewards == [float(a == info["good_arm"]) for a in range(4)]
        assert info["good_arm"] == [3, 0, 2][info["context"]]
    assert seen == {0, 1, 2}
    with pytest.raises(ValueError, match="good_arms needs 3 arms in \\[0, 4\\)"):
        ContextualBanditEnv(contexts=3, arms=4, good_arms=[0, 4, 1])


def test_per_context_networks_share_nothing_and_the_shared_trunk_does():
    torch.manual_seed(0)
    separate = BanditPolicy(contexts=3, arms=2, hidden=5, shared=False)
    separate(torch.eye(3)[:1])[0][0, 0].backward()  # a signal from context 0 only
    for p in separate.parameters():
        assert p.grad[0].abs().sum() > 0 and p.grad[1:].abs().sum() == 0
    shared = BanditPolicy(contexts=3, arms=2, hidden=5, shared=True)
    before = shared(torch.eye(3)[1:2])[0].detach()
    optimizer = torch.optim.SGD(shared.parameters(), lr=0.1)
    shared(torch.eye(3)[:1])[0][0, 0].backward()
    optimizer.step()
    assert (shared(torch.eye(3)[1:2])[0].detach() - before).abs().max() > 1e-3  # context 1 moved


def _rollout(obs, actions, rewards, good, valid=None):
    n = len(actions)
    flags = torch.zeros(1, n, dtype=torch.bool)
    return Rollout(obs=obs.unsqueeze(0), actions=actions.unsqueeze(0),
                   rewards=rewards.unsqueeze(0), terminated=~flags, truncated=flags,
                   valid=torch.ones(1, n, dtype=torch.bool) if valid is None else valid,
                   next_obs=obs.unsqueeze(0), info={"good_arm": good.unsqueeze(0)})


def test_reinforce_gradient_is_unbiased_for_the_exact_one():
    # E[r ∇log π(a|s)] over uniform contexts and on-policy actions = (1/K) ∇ Σ_k J_k.
    torch.manual_seed(1)
    net = BanditPolicy(contexts=4, arms=3, hidden=6).double()
    contexts, good = torch.eye(4, dtype=torch.float64), torch.tensor([0, 1, 2, 0])
    exact = torch.autograd.grad(ExpectedReward()(net, Batch(contexts, good)),
                                net.head_bias)[0] / 4
    n = 200_000
    k = torch.randint(4, (n,))
    with torch.no_grad():
        actions = torch.multinomial(torch.softmax(net(contexts)[0], -1)[k], 1).squeeze(1)
    rollout = _rollout(contexts[k], actions, (actions == good[k]).double(), good[k])
    sampled = torch.autograd.grad(ExpectedReward()(net, rollout), net.head_bias)[0]
    torch.testing.assert_close(sampled, exact, atol=4e-3, rtol=0)
    assert exact.abs().max() > 0.02  # the comparison is not between two zeros


def test_supervised_rollout_loss_is_the_good_arm_cross_entropy_over_valid_steps():
    torch.manual_seed(2)
    net = BanditPolicy(contexts=2, arms=3, hidden=4)
    obs = torch.eye(2)[torch.tensor([0, 1, 1])]
    good = torch.tensor([2, 1, 1])
    valid = torch.tensor([[True, True, False]])
    loss = GoodArmLikelihood()(net, _rollout(obs, torch.zeros(3, dtype=torch.long),
                                             torch.zeros(3), good, valid))
    expected = torch.nn.functional.cross_entropy(net(obs[:2])[0], good[:2])
    torch.testing.assert_close(loss, expected)
    with pytest.raises(ValueError, match="n_steps = 2"):
        ExpectedReward()(net, _rollout(obs, good, torch.zeros(3), good,
                                       torch.zeros(1, 3, dtype=torch.bool)))


def test_one_step_episodes_through_the_integration():
    params = GymParams(id=BANDIT, kwargs={"contexts": 4, "arms": 3}, num_envs=8, n_steps=2)
    env = build_gymnasium(params, seed=0)
    net = BanditPolicy(contexts=4, arms=3, hidden=4)
    evaluator = build_bandit_dynamics(BanditDynamicsParams(), env=env)
    assert evaluator.observations.shape == (4, 4)
    assert evaluator.good_arms.tolist() == [0, 1, 2, 0]
    assert updates_done(env) == 0
    for step in range(3):
        rollout = env.train_batch(step, net)
        # every second step of next-step autoreset is the reset: one episode per copy
        assert rollout.valid.tolist() == [[True] * 8, [False] * 8]
        good = rollout.info["good_arm"][0]
        assert torch.equal(rollout.rewards[0], (rollout.actions[0] == good).float())
        assert np.isfinite(ExpectedReward()(net, rollout).item())
    assert updates_done(env) == 3
    metrics = evaluator(net, env, ExpectedReward())
    assert metrics["updates_to_solve"] == 3.0 and "speed" not in metrics
    env.close()
