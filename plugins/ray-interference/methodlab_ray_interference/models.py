r"""The stochastic learner: a softmax policy MLP with a shared trunk, or one per context."""

from __future__ import annotations

import torch
from methodlab.components import Environment
from torch import nn

from methodlab_ray_interference.config import BanditPolicyParams

__all__ = ["BanditPolicy", "build_bandit_policy", "policy_logits"]


def policy_logits(model: nn.Module, observations: torch.Tensor) -> torch.Tensor:
    """Logits ``(B, A)`` of a bandit model, which returns logits or ``(logits, value)``."""
    out = model(observations)
    return out[0] if isinstance(out, tuple) else out


class BanditPolicy(nn.Module):
    r"""Softmax policy :math:`\pi(\cdot\mid s) = \mathrm{softmax}(V\tanh(Us + b) + c)`.

    ``shared = True``: one network for every context (a shared trunk and head; with one-hot
    contexts only the column of U is context-specific), so a step that helps one context
    moves the others: interference. ``shared = False``: the ablation with per-context
    networks, K independent copies of the same architecture selected by the context index
    (``argmax`` of the one-hot observation), so nothing is shared.

    Initialisation: U ~ N(0, ``input_std``²), b ~ N(0, ``bias_std``²), V ~ N(0, 1/H),
    c = 0. A small ``input_std`` against a larger ``bias_std`` starts every context with
    nearly the same features, the regime where a shared trunk interferes.

    Returns ``(logits, value)`` per the gymnasium integration's policy protocol; there is no
    critic (REINFORCE without a baseline), so ``value`` is zero.

    Shapes:
        input ``(B, D)`` observations (one-hot contexts, D = K); output logits ``(B, A)``,
        value ``(B,)``.

    Example:
        >>> net = BanditPolicy(contexts=4, arms=3, hidden=8, shared=False)
        >>> logits, value = net(torch.eye(4))
        >>> tuple(logits.shape), value.abs().sum().item(), tuple(net.trunk_weight.shape)
        ((4, 3), 0.0, (4, 8, 4))
    """

    def __init__(self, contexts: int, arms: int, hidden: int = 32, shared: bool = True,
                 input_std: float = 0.1, bias_std: float = 1.0) -> None:
        super().__init__()
        self.shared = shared
        copies = 1 if shared else contexts
        self.trunk_weight = nn.Parameter(torch.randn(copies, hidden, contexts) * input_std)
        self.trunk_bias = nn.Parameter(torch.randn(copies, hidden) * bias_std)
        self.head_weight = nn.Parameter(torch.randn(copies, arms, hidden) / hidden ** 0.5)
        self.head_bias = nn.Parameter(torch.zeros(copies, arms))

    def forward(self, observations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.shared:
            index = torch.zeros(len(observations), dtype=torch.long,
                                device=observations.device)  # (B,)
        else:
            index = observations.argmax(-1)  # (B,) context of each one-hot observation
        features = torch.tanh(torch.einsum("bhd,bd->bh", self.trunk_weight[index], observations)
                              + self.trunk_bias[index])  # (B, H)
        logits = (torch.einsum("bah,bh->ba", self.head_weight[index], features)
                  + self.head_bias[index])  # (B, A)
        return logits, logits.new_zeros(len(observations))

    def extra_repr(self) -> str:
        _, hidden, contexts = self.trunk_weight.shape
        return (f"contexts={contexts}, arms={self.head_weight.shape[1]}, hidden={hidden}, "
                f"shared={self.shared}")


def build_bandit_policy(params: BanditPolicyParams, *, env: Environment) -> BanditPolicy:
    """Build ``use = "bandit-policy"``; sizes from the environment (K inputs, A actions)."""
    return BanditPolicy(env.info.in_features, env.info.out_features, params.hidden,
                        params.shared, params.input_std, params.bias_std)
