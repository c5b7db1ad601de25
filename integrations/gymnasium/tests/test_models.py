"""The actor-critic model."""

from __future__ import annotations

import pytest
import torch
from methodlab_gymnasium.config import ActorCriticParams, GymParams
from methodlab_gymnasium.environment import build_gymnasium
from methodlab_gymnasium.models import ActorCritic, build_actor_critic


def test_shared_and_separate_towers_have_the_expected_sizes():
    shared = ActorCritic(4, 2, [64, 64])
    separate = ActorCritic(4, 2, [64, 64], shared=False)
    # Shared: 4·64+64 + 64·64+64 + heads 64·2+2 + 64+1.
    assert sum(p.numel() for p in shared.parameters()) == 320 + 4160 + 130 + 65
    # stable-baselines3's MlpPolicy for CartPole has 9,155 parameters.
    assert sum(p.numel() for p in separate.parameters()) == 2 * (320 + 4160) + 130 + 65
    assert isinstance(separate.trunk, torch.nn.Identity)
    assert "shared=False" in repr(separate)


def test_orthogonal_init_starts_near_uniform():
    torch.manual_seed(0)
    model = ActorCritic(4, 2, [64, 64])
    logits, value = model(torch.randn(32, 4))
    assert logits.abs().max() < 0.1 and value.shape == (32,)
    weight = model.trunk[0].weight  # (64, 4): orthonormal columns scaled by √2
    assert torch.allclose(weight.T @ weight, 2 * torch.eye(4), atol=1e-5)


def test_factory_reads_sizes_and_rejects_supervised_envs():
    env = build_gymnasium(GymParams(id="Acrobot-v1", num_envs=1), seed=0)
    model = build_actor_critic(ActorCriticParams(hidden=[16]), env=env)
    assert model.policy.out_features == 3 and model.trunk[0].in_features == 6

    class Digits:
        info = type("Info", (), {"task": "classification"})()

    with pytest.raises(ValueError, match="reinforcement-learning environment"):
        build_actor_critic(ActorCriticParams(), env=Digits())
