r"""An A2C agent with a teacher-distillation auxiliary loss, gated by gradient similarity.

The main loss is A2C's (``methodlab_gymnasium.a2c.a2c_terms``):
:math:`L_m = L_\pi + c_v L_V - c_H H`. The auxiliary loss distils a teacher's action
distribution :math:`\pi_T(\cdot \mid s_t)` into the agent's policy on the agent's own states,

.. math:: L_a = \overline{-\textstyle\sum_a \pi_T(a \mid s_t) \log \pi_\theta(a \mid s_t)},

averaged over the rollout's valid transitions. The teacher's distribution comes from the
rollout's ``info[teacher_key]`` ``(T, N, A)`` (the gridworld of this plugin reports it for the
state each action was taken in). The trunk and the policy head are shared by both losses and
gated; the value head learns from the main loss alone.

References:
    Du et al. (2018), "Adapting auxiliary losses using gradient similarity",
    arXiv:1812.02224, Sections 4.2-4.3 (distillation from a teacher as the auxiliary loss of
    an actor-critic agent).
"""

from __future__ import annotations

from typing import Any

import torch
from methodlab_gymnasium.a2c import a2c_terms, masked_mean
from methodlab_gymnasium.rollout import Rollout
from torch import nn

from methodlab_aux_loss_similarity.config import A2CDistillationParams
from methodlab_aux_loss_similarity.loss import GatedLoss
from methodlab_aux_loss_similarity.similarity import GradientSimilarity

__all__ = ["A2CDistillation", "build_a2c_distillation", "distillation_loss"]


def distillation_loss(logits: torch.Tensor, teacher: torch.Tensor,
                      valid: torch.Tensor) -> torch.Tensor:
    r"""Cross-entropy :math:`-\sum_a \pi_T(a) \log \pi(a)` averaged over valid steps.

    Shapes:
        logits, teacher: ``(T, N, A)``; valid: ``(T, N)``.

    Example:
        >>> logits = torch.zeros(1, 1, 4)                    # uniform policy
        >>> teacher = torch.tensor([[[0.0, 1.0, 0.0, 0.0]]])
        >>> round(distillation_loss(logits, teacher, torch.ones(1, 1, dtype=torch.bool))
        ...       .item(), 4)                                # log 4
        1.3863
    """
    cross_entropy = -(teacher * torch.log_softmax(logits, -1)).sum(-1)  # (T, N)
    return masked_mean(cross_entropy, valid)


class A2CDistillation(GatedLoss):
    """A2C (main) plus gated teacher distillation (auxiliary); value: the A2C loss."""

    def __init__(self, params: A2CDistillationParams) -> None:
        self.params = params
        super().__init__(self._objectives,
                         GradientSimilarity(params.mode, params.aux_weight, params.eps))

    def _objectives(self, model: nn.Module, rollout: Rollout
                    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        p = self.params
        if p.teacher_key not in rollout.info:
            raise KeyError(f"the rollout's info has no {p.teacher_key!r} (it has "
                           f"{sorted(rollout.info)}); the environment must report the "
                           "teacher's action distribution, e.g. methodlab/GridWorld-v0")
        terms = a2c_terms(model, rollout, p.gamma, p.gae_lambda, p.normalize_advantages)
        main = terms["policy"] + p.value_coef * terms["value"] - p.entropy_coef * terms["entropy"]
        logits, _ = model(rollout.obs.flatten(0, 1))  # (T N, A)
        logits = logits.view(*rollout.rewards.shape, -1)  # (T, N, A)
        teacher = rollout.info[p.teacher_key].to(logits.dtype)
        return main, [distillation_loss(logits, teacher, rollout.valid)]

    def __repr__(self) -> str:
        return f"A2CDistillation({self.params})"


def build_a2c_distillation(params: A2CDistillationParams, *, env: Any = None
                           ) -> A2CDistillation:
    return A2CDistillation(params)
