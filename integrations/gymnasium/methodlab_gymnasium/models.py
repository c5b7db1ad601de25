"""The ``actor-critic`` model: an MLP with a policy head and a value head."""

from __future__ import annotations

import itertools
import math
from typing import Any

import torch
from torch import nn

from methodlab_gymnasium.config import ActorCriticParams

__all__ = ["ActorCritic", "build_actor_critic"]

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


def _mlp(sizes: list[int], activation: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers += [nn.Linear(fan_in, fan_out), _ACTIVATIONS[activation]()]
    return nn.Sequential(*layers)


class ActorCritic(nn.Module):
    """``model(obs) -> (logits, value)``: policy logits and state value from one network.

    .. math::
        h = \\mathrm{trunk}(\\mathrm{flatten}(s)), \\quad
        \\pi(\\cdot \\mid s) = \\mathrm{softmax}(W_\\pi h_\\pi + b_\\pi), \\quad
        V(s) = w_V^\\top h_V + b_V

    with ``h_π = h_V = h`` when ``shared``; otherwise the trunk is the identity and the policy
    and value heads are separate MLP towers. For continuous actions the policy output is the
    mean of a Gaussian with a state-independent log standard deviation ``log_std``.

    References:
        Asynchronous Methods for Deep Reinforcement Learning (Mnih et al., 2016),
        https://arxiv.org/abs/1602.01783

    Arguments:
        in_features: flattened observation size ``D``.
        out_features: number of actions ``A`` (or the action dimension).
        hidden: hidden widths; activation: ``tanh`` or ``relu``.
        shared: one trunk for both heads.
        continuous: add ``log_std`` (initialised to 0) for a Gaussian policy.
        orthogonal_init: orthogonal weights, gains √2 / 0.01 / 1, zero biases.

    Shapes:
        obs: ``(B, *obs_shape)`` → logits ``(B, A)``, value ``(B,)``.

    Example:
        >>> model = ActorCritic(4, 2, hidden=[8])
        >>> logits, value = model(torch.zeros(3, 4))
        >>> tuple(logits.shape), tuple(value.shape)
        ((3, 2), (3,))
    """

    def __init__(self, in_features: int, out_features: int, hidden: list[int],
                 activation: str = "tanh", shared: bool = True, continuous: bool = False,
                 orthogonal_init: bool = True) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        sizes = [in_features, *hidden]
        if shared:
            self.trunk: nn.Module = _mlp(sizes, activation)
            self.policy = nn.Linear(sizes[-1], out_features)
            self.value = nn.Linear(sizes[-1], 1)
        else:
            self.trunk = nn.Identity()
            self.policy = nn.Sequential(_mlp(sizes, activation),
                                        nn.Linear(sizes[-1], out_features))
            self.value = nn.Sequential(_mlp(sizes, activation), nn.Linear(sizes[-1], 1))
        self.continuous = continuous
        if continuous:
            self.log_std = nn.Parameter(torch.zeros(out_features))
        self.shared = shared
        if orthogonal_init:
            self._orthogonal_init()

    def _orthogonal_init(self) -> None:
        # Hidden layers keep the signal's scale (gain √2); the policy head starts almost
        # uniform (0.01) and the value head at unit gain, as in A2C/PPO implementations.
        heads = {id(_last_linear(self.policy)): 0.01, id(_last_linear(self.value)): 1.0}
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.orthogonal_(module.weight, heads.get(id(module), math.sqrt(2)))
                nn.init.zeros_(module.bias)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(self.flatten(obs))  # (B, H) or (B, D)
        return self.policy(h), self.value(h).squeeze(-1)  # (B, A), (B,)

    def extra_repr(self) -> str:
        return f"shared={self.shared}, continuous={self.continuous}"


def _last_linear(module: nn.Module) -> nn.Linear:
    return [m for m in module.modules() if isinstance(m, nn.Linear)][-1]


def build_actor_critic(params: ActorCriticParams, *, env: Any) -> ActorCritic:
    """Factory of ``actor-critic``; sizes come from ``env.info`` (a gymnasium environment)."""
    if env.info.task != "reinforcement":
        raise ValueError(f"actor-critic needs a reinforcement-learning environment (e.g. "
                         f"use = \"gymnasium\"), got task {env.info.task!r}")
    return ActorCritic(env.info.in_features, env.info.out_features, list(params.hidden),
                       params.activation, params.shared, bool(getattr(env, "continuous", False)),
                       params.orthogonal_init)
