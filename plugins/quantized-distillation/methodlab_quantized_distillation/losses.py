"""The distillation loss: temperature-softened teacher targets plus the hard labels.

Hinton et al. (2015), as used by Polino et al. (2018, §2 and their code):

.. math::

    L = \\lambda\\, T^2\\, \\mathrm{KL}\\big(\\mathrm{softmax}(z_t / T) \\,\\|\\,
        \\mathrm{softmax}(z_s / T)\\big) + (1 - \\lambda)\\, \\mathrm{CE}(z_s, y)

with student logits ``z_s``, teacher logits ``z_t``, temperature ``T`` and soft weight
``λ`` (0.7 and ``T = 2`` in the paper's code). The ``T²`` keeps the soft term's gradient on
the scale of the hard term's when ``T`` changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from methodlab.components import Batch, Loss
from torch import nn

if TYPE_CHECKING:
    from methodlab.components import Environment

    from methodlab_quantized_distillation.config import DistillationParams

__all__ = ["DistillationLoss", "build_distillation", "distillation_loss"]


def distillation_loss(
    student: torch.Tensor, teacher: torch.Tensor, targets: torch.Tensor,
    temperature: float = 2.0, soft_weight: float = 0.7,
) -> torch.Tensor:
    """``λ T² KL(softmax(z_t/T) ‖ softmax(z_s/T)) + (1 − λ) CE(z_s, y)``, batch mean.

    Shapes:
        student and teacher logits ``(B, C)``; targets ``(B,)`` class indices.

    Example:
        >>> z = torch.tensor([[2.0, 0.0, -1.0]])
        >>> float(distillation_loss(z, z, torch.tensor([0]), soft_weight=1.0))
        0.0
    """
    soft_student = F.log_softmax(student / temperature, dim=-1)
    soft_teacher = F.log_softmax(teacher / temperature, dim=-1)
    kl = F.kl_div(soft_student, soft_teacher, reduction="batchmean", log_target=True)
    hard = F.cross_entropy(student, targets)
    return soft_weight * temperature**2 * kl + (1.0 - soft_weight) * hard


class DistillationLoss(Loss):
    """Distil a fixed teacher into the trained model (see :func:`distillation_loss`).

    Arguments:
        teacher: the trained teacher network, used in evaluation mode without gradients.
        temperature: ``T``.
        soft_weight: ``λ``, the weight of the soft-target term.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> teacher, student = nn.Linear(4, 3), nn.Linear(4, 3)
        >>> batch = Batch(torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1]))
        >>> loss = DistillationLoss(teacher, temperature=2.0, soft_weight=0.7)
        >>> bool(loss(teacher, batch) < loss(student, batch))
        True
    """

    def __init__(self, teacher: nn.Module, temperature: float = 2.0,
                 soft_weight: float = 0.7) -> None:
        self.teacher = teacher.eval().requires_grad_(False)
        self.temperature = temperature
        self.soft_weight = soft_weight

    def __call__(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        with torch.no_grad():
            teacher_logits = self.teacher(batch.inputs)
        return distillation_loss(model(batch.inputs), teacher_logits, batch.targets,
                                 self.temperature, self.soft_weight)


def build_distillation(
    params: DistillationParams, *, env: Environment, inputs: Mapping[str, Any]
) -> DistillationLoss:
    if params.teacher not in inputs:
        known = ", ".join(sorted(inputs)) or "none"
        raise ValueError(
            f"the distillation loss needs the earlier run [inputs.{params.teacher}] with the "
            f"trained teacher (inputs given: {known}); add it to the run file or set "
            f"'teacher' to the name of the input that holds the teacher"
        )
    return DistillationLoss(inputs[params.teacher].model(), params.temperature,
                            params.soft_weight)
