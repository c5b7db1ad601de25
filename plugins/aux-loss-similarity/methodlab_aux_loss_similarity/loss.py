r"""The ``gradient-similarity`` loss: an environment's main and auxiliary objectives, gated.

Environments of this plugin define their tasks through one method,

.. code-block:: python

    env.objectives(model, batch) -> (main: Tensor, auxiliaries: list[Tensor])

and this loss combines them with :class:`~methodlab_aux_loss_similarity.similarity.
GradientSimilarity`. The value it returns is the main loss (so ``step.loss`` compares across
arms); its gradient is the gated direction, which the run's optimizer then uses as it would
any gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from methodlab.components import Environment, Loss
from torch import nn

from methodlab_aux_loss_similarity.config import GateParams
from methodlab_aux_loss_similarity.similarity import GradientSimilarity

__all__ = ["GatedLoss", "Objectives", "build_gradient_similarity"]

Objectives = Callable[[nn.Module, Any], tuple[torch.Tensor, Sequence[torch.Tensor]]]
"""``(model, batch) -> (main, auxiliaries)``: scalar losses with their graphs."""


class GatedLoss(Loss):
    """Main loss plus gated auxiliary losses (value: the main loss; gradient: gated).

    Arguments:
        objectives: maps ``(model, batch)`` to the main loss and the auxiliary losses.
        combine: the gating rule and weights.
    """

    def __init__(self, objectives: Objectives, combine: GradientSimilarity) -> None:
        self.objectives = objectives
        self.combine = combine

    def __call__(self, model: nn.Module, batch: Any) -> torch.Tensor:
        main, auxiliaries = self.objectives(model, batch)
        return self.combine(main, list(auxiliaries), model)

    def __repr__(self) -> str:
        return f"GatedLoss({self.combine!r})"


def build_gradient_similarity(params: GateParams, *, env: Environment) -> GatedLoss:
    objectives = getattr(env, "objectives", None)
    if not callable(objectives):
        raise ValueError(f"environment {type(env).__name__} defines no objectives(model, batch); "
                         "use toy-quadratics or aux-digits (or, for reinforcement learning, "
                         "the a2c-distillation loss)")
    return GatedLoss(objectives, GradientSimilarity(params.mode, params.aux_weight, params.eps))
