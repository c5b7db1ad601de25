r"""The two learning signals, exact on a batch of all contexts, sampled on a rollout.

- ``expected-reward`` (on-policy): exact :math:`-\sum_k \pi(g_k\mid k)`; on a rollout the
  REINFORCE surrogate :math:`-\overline{r\log\pi(a\mid s)}`.
- ``good-arm-likelihood`` (supervised / off-policy): exact :math:`-\sum_k \log\pi(g_k\mid k)`;
  on a rollout :math:`-\overline{\log\pi(g\mid s)}`.

On a rollout the bar is the mean over valid transitions (one-step episodes: contexts drawn
uniformly, actions from the policy). The REINFORCE surrogate's expected gradient is
:math:`-\frac1K\sum_k \nabla J_k`, the exact on-policy gradient up to the factor 1/K (a time
rescaling). No baseline and no entropy bonus: both change the dynamics (the plateaus come
from the :math:`J_k` factor in each context's own signal). The supervised signal reads the
good arm from the rollout's ``info["good_arm"]``; it is also the expected off-policy gradient
:math:`\mathbb{E}_{a\sim\mu}[r\nabla\log\pi(a)]` under a uniform behaviour policy μ, up to
the factor 1/A.
"""

from __future__ import annotations

from typing import Any

import torch
from methodlab.components import Batch, Environment, Loss
from torch import nn

from methodlab_ray_interference.config import ExpectedRewardParams, GoodArmLikelihoodParams
from methodlab_ray_interference.models import policy_logits

__all__ = ["ExpectedReward", "GoodArmLikelihood", "build_expected_reward",
           "build_good_arm_likelihood"]


def _valid_log_policy(model: nn.Module, rollout: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-policy ``(M, A)`` at the ``M`` valid transitions of a rollout, and their mask."""
    valid = rollout.valid.reshape(-1)  # (T·N,)
    if not bool(valid.any()):
        raise ValueError("the rollout has no valid transition: with one-step episodes and "
                         "next-step autoreset use environment.n_steps = 2")
    obs = rollout.obs.flatten(0, 1)[valid]  # (M, D)
    return torch.log_softmax(policy_logits(model, obs), dim=-1), valid


class ExpectedReward(Loss):
    r"""On-policy signal: minus the expected reward (exact), or REINFORCE (on a rollout).

    Exact batch ``Batch(contexts (K, D), good arms (K,))``:
    :math:`L = -\sum_k \pi(g_k\mid k)`, whose gradient is the exact expected policy
    gradient, :math:`-\sum_k J_k(1-J_k)\,w_k` for the minimal model. Rollout:
    :math:`L = -\frac1M\sum_{m\,\text{valid}} r_m \log\pi(a_m\mid s_m)`.

    Example:
        >>> from methodlab_ray_interference.exact import ExactBandit, InterferenceLogits
        >>> env = ExactBandit(2, device="cpu", dtype=torch.float64)
        >>> net = InterferenceLogits((0.0, 0.0), 0.0).double()
        >>> ExpectedReward()(net, env.batch).item()  # J = 0.5 + 0.5
        -1.0
    """

    signal = "on-policy"

    def __call__(self, model: nn.Module, batch: Any) -> torch.Tensor:
        if isinstance(batch, Batch):
            probabilities = torch.softmax(policy_logits(model, batch.inputs), dim=-1)
            return -probabilities.gather(1, batch.targets.unsqueeze(1)).sum()
        log_policy, valid = _valid_log_policy(model, batch)
        actions = batch.actions.reshape(-1)[valid]  # (M,)
        rewards = batch.rewards.reshape(-1)[valid]  # (M,)
        return -(rewards * log_policy.gather(1, actions.unsqueeze(1)).squeeze(1)).mean()


class GoodArmLikelihood(Loss):
    r"""Supervised / off-policy signal: minus the log-probability of the good arm.

    Exact batch: :math:`L = -\sum_k \log\pi(g_k\mid k)`, gradient
    :math:`-\sum_k (1-J_k)\,w_k` for the minimal model (it does not vanish where the policy
    is wrong). Rollout: :math:`L = -\frac1M\sum_{m\,\text{valid}} \log\pi(g_m\mid s_m)` with
    :math:`g_m` from ``info["good_arm"]``; the actions taken are ignored.

    Example:
        >>> from methodlab_ray_interference.exact import ExactBandit, InterferenceLogits
        >>> env = ExactBandit(2, device="cpu", dtype=torch.float64)
        >>> net = InterferenceLogits((0.0, 0.0), 0.0).double()
        >>> round(GoodArmLikelihood()(net, env.batch).item(), 4)  # 2 log 2
        1.3863
    """

    signal = "supervised"

    def __call__(self, model: nn.Module, batch: Any) -> torch.Tensor:
        if isinstance(batch, Batch):
            log_policy = torch.log_softmax(policy_logits(model, batch.inputs), dim=-1)
            return -log_policy.gather(1, batch.targets.unsqueeze(1)).sum()
        if "good_arm" not in batch.info:
            raise ValueError("good-arm-likelihood on a rollout needs info['good_arm'] from the "
                             "environment (methodlab/ContextualBandit-v0 provides it)")
        log_policy, valid = _valid_log_policy(model, batch)
        good = batch.info["good_arm"].reshape(-1)[valid].long()  # (M,)
        return -log_policy.gather(1, good.unsqueeze(1)).mean()


def build_expected_reward(params: ExpectedRewardParams, *, env: Environment) -> ExpectedReward:
    """Build ``use = "expected-reward"``."""
    return ExpectedReward()


def build_good_arm_likelihood(params: GoodArmLikelihoodParams, *,
                              env: Environment) -> GoodArmLikelihood:
    """Build ``use = "good-arm-likelihood"``."""
    return GoodArmLikelihood()
