"""Advantage actor-critic (A2C): returns, advantages and the loss, as reusable functions.

For a rollout of ``T`` steps of ``N`` environments with values ``V(s_t)`` and ``V(s'_t)``:

.. math::
    \\delta_t = r_t + \\gamma (1 - \\mathrm{term}_t) V(s'_t) - V(s_t), \\qquad
    \\hat A_t = \\delta_t + \\gamma \\lambda (1 - \\mathrm{done}_t) \\hat A_{t+1}, \\qquad
    \\hat R_t = \\hat A_t + V(s_t)

with :math:`\\hat A_T = 0` (the last transition bootstraps through :math:`V(s'_{T-1})`),
no bootstrap after a termination, a bootstrap from the real final observation after a
truncation, and the recursion cut at every episode end. With λ = 1 this is the n-step return
of A2C; λ < 1 is GAE (Schulman et al., 2016). The loss, averaged over valid transitions only
(next-step autoreset steps are not transitions):

.. math::
    L = -\\overline{\\hat A_t \\log \\pi(a_t \\mid s_t)}
        + c_v \\overline{(\\hat R_t - V(s_t))^2} - c_H \\overline{H[\\pi(\\cdot \\mid s_t)]}

References:
    Asynchronous Methods for Deep Reinforcement Learning (Mnih et al., 2016),
    https://arxiv.org/abs/1602.01783;
    High-Dimensional Continuous Control Using Generalized Advantage Estimation
    (Schulman et al., 2016), https://arxiv.org/abs/1506.02438
"""

from __future__ import annotations

from typing import Any

import torch
from methodlab.components import Loss
from torch import nn
from torch.distributions import Categorical, Distribution, Independent, Normal

from methodlab_gymnasium.config import A2CParams
from methodlab_gymnasium.rollout import Rollout

__all__ = ["A2CLoss", "a2c_terms", "build_a2c", "masked_mean", "policy_distribution",
           "returns_and_advantages"]


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` over the entries where ``mask`` is true (0 when none is).

    >>> masked_mean(torch.tensor([1.0, 2.0, 9.0]), torch.tensor([True, True, False]))
    tensor(1.5000)
    """
    mask = mask.to(x.dtype)
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


def policy_distribution(model: nn.Module, out: torch.Tensor) -> Distribution:
    """The policy from the model's first output: categorical logits, or a Gaussian mean with
    the model's ``log_std`` when the model has one (continuous actions).

    Shapes:
        out: ``(B, A)``; samples ``(B,)`` or ``(B, A)``.
    """
    log_std = getattr(model, "log_std", None)
    if log_std is None:
        return Categorical(logits=out)
    return Independent(Normal(out, log_std.exp().expand_as(out)), 1)


def returns_and_advantages(rollout: Rollout, values: torch.Tensor,
                           next_values: torch.Tensor, gamma: float,
                           gae_lambda: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Bootstrapped returns and (GAE) advantages; zero at invalid steps.

    Arguments:
        rollout: the batch; values: ``V(s_t)``; next_values: ``V(s'_t)`` (not differentiated).

    Returns:
        ``(returns, advantages)``, both detached.

    Shapes:
        values, next_values, returns, advantages: ``(T, N)``.

    Example:
        >>> T, N = 3, 1
        >>> flags = torch.zeros(T, N, dtype=torch.bool)
        >>> r = Rollout(obs=torch.zeros(T, N, 1), actions=torch.zeros(T, N, dtype=torch.long),
        ...             rewards=torch.ones(T, N), terminated=flags, truncated=flags,
        ...             valid=~flags, next_obs=torch.zeros(T, N, 1))
        >>> next_values = torch.tensor([[0.0], [0.0], [10.0]])  # V(s'_2) = 10, V = 0 else
        >>> returns, _ = returns_and_advantages(r, torch.zeros(T, N), next_values,
        ...                                     gamma=0.5, gae_lambda=1.0)
        >>> returns.squeeze(-1).tolist()  # 1 + .5 + .25 (1 + .5 · 10), 1 + .5 (1 + .5 · 10), ...
        [3.0, 4.0, 6.0]
    """
    values, next_values = values.detach(), next_values.detach()
    not_terminal = (~rollout.terminated).to(values.dtype)
    continues = (~rollout.done).to(values.dtype)
    deltas = rollout.rewards + gamma * not_terminal * next_values - values  # (T, N)
    advantages = torch.zeros_like(values)
    running = torch.zeros_like(values[0])  # (N,)
    for t in reversed(range(values.shape[0])):
        running = deltas[t] + gamma * gae_lambda * continues[t] * running
        advantages[t] = running
    advantages = advantages * rollout.valid.to(values.dtype)
    return advantages + values * rollout.valid.to(values.dtype), advantages


def a2c_terms(model: nn.Module, rollout: Rollout, gamma: float = 0.99,
              gae_lambda: float = 1.0,
              normalize_advantages: bool = False) -> dict[str, torch.Tensor]:
    """The three A2C terms, each averaged over valid transitions.

    :returns: ``{"policy": -mean(Â log π), "value": mean((R̂ - V)²), "entropy": mean(H)}``
        (scalars; ``policy`` and ``entropy`` carry gradients to the policy, ``value`` to the
        value head), plus ``"advantages"`` ``(T, N)`` detached, for statistics.
    """
    T, N = rollout.rewards.shape
    obs = torch.cat([rollout.obs, rollout.next_obs]).flatten(0, 1)  # (2 T N, *obs_shape)
    out, v = model(obs)  # (2 T N, A), (2 T N,)
    values, next_values = v[:T * N].view(T, N), v[T * N:].view(T, N)
    returns, advantages = returns_and_advantages(rollout, values, next_values, gamma,
                                                 gae_lambda)
    valid = rollout.valid
    if normalize_advantages:
        mean = masked_mean(advantages, valid)
        std = masked_mean((advantages - mean) ** 2, valid).sqrt()
        advantages = (advantages - mean) / (std + 1e-8)
    dist = policy_distribution(model, out[:T * N])
    actions = rollout.actions.flatten(0, 1)  # (T N,) or (T N, A)
    log_prob = dist.log_prob(actions).view(T, N)
    return {
        "policy": -masked_mean(advantages * log_prob, valid),
        "value": masked_mean((returns - values) ** 2, valid),
        "entropy": masked_mean(dist.entropy().view(T, N), valid),
        "advantages": advantages,
    }


class A2CLoss(Loss):
    """``L = policy + value_coef · value - entropy_coef · entropy`` (see the module).

    Example:
        >>> loss = A2CLoss(A2CParams())
        >>> loss.params.gamma
        0.99
    """

    def __init__(self, params: A2CParams) -> None:
        self.params = params

    def __call__(self, model: nn.Module, batch: Rollout) -> torch.Tensor:
        p = self.params
        terms = a2c_terms(model, batch, p.gamma, p.gae_lambda, p.normalize_advantages)
        return (terms["policy"] + p.value_coef * terms["value"]
                - p.entropy_coef * terms["entropy"])

    def __repr__(self) -> str:
        return f"A2CLoss({self.params})"


def build_a2c(params: A2CParams, *, env: Any = None) -> A2CLoss:
    """Factory of the ``a2c`` loss."""
    return A2CLoss(params)
