"""Evaluators for Sobolev training: value and gradient error, and teacher agreement."""

from __future__ import annotations

import torch
from methodlab.components import Environment, Evaluator, Loss
from torch import nn

from methodlab_sobolev.config import SplitParams
from methodlab_sobolev.loss import split_targets

__all__ = ["TeacherAgreement", "ValueMSE", "build_teacher_agreement", "build_value_mse"]


class ValueMSE(Evaluator):
    r"""Mean squared error of values and of input Jacobians over a split.

    Metrics ``mse`` :math:`= \frac{1}{BC}\sum_b \|m(x_b) - y_b\|^2` (values only, whatever the
    training loss) and ``gradient_mse`` :math:`= \frac{1}{BCD}\sum_b \|\partial_x m(x_b) -
    J_b\|_F^2`, with targets laid out as for :class:`~methodlab_sobolev.loss.SobolevLoss`.

    Example:
        >>> from methodlab.components import Batch, EnvInfo
        >>> from methodlab.supervised import SupervisedEnvironment
        >>> x = torch.tensor([[1.0, 2.0]])
        >>> env = SupervisedEnvironment({"train": Batch(x, torch.tensor([[0.0, 1.0, 1.0]]))},
        ...                             EnvInfo(2, 1, "regression"))
        >>> model = torch.nn.Linear(2, 1, bias=False)
        >>> with torch.no_grad():
        ...     _ = model.weight.fill_(1.0)
        >>> ValueMSE("train")(model, env, None)
        {'mse': 9.0, 'gradient_mse': 0.0}
    """

    def __init__(self, split: str) -> None:
        self.split = split

    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        value_sum, gradient_sum, values_count, gradient_count = 0.0, 0.0, 0, 0
        for batch in env.split(self.split):
            with torch.enable_grad():
                inputs = batch.inputs.detach().requires_grad_(True)
                outputs = model(inputs)
                values, jacobians = split_targets(batch.targets, outputs.shape[-1])
                rows = [torch.autograd.grad(outputs[:, c].sum(), inputs, retain_graph=True)[0]
                        for c in range(outputs.shape[-1])]
            value_sum += float((outputs.detach() - values).pow(2).sum())
            values_count += values.numel()
            gradient_sum += float((torch.stack(rows, 1) - jacobians).pow(2).sum())
            gradient_count += jacobians.numel()
        return {"mse": value_sum / values_count, "gradient_mse": gradient_sum / gradient_count}


class TeacherAgreement(Evaluator):
    """Fraction of inputs where the model's argmax output equals the teacher's.

    The teacher's logits are the value part of the split's targets. Metric ``agreement``.
    """

    def __init__(self, split: str) -> None:
        self.split = split

    @torch.no_grad()
    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        agree, count = 0, 0
        for batch in env.split(self.split):
            outputs = model(batch.inputs)
            teacher = batch.targets[:, : outputs.shape[-1]]
            agree += int((outputs.argmax(-1) == teacher.argmax(-1)).sum())
            count += len(outputs)
        return {"agreement": agree / count}


def build_value_mse(params: SplitParams, *, env: Environment) -> ValueMSE:
    return ValueMSE(params.split)


def build_teacher_agreement(params: SplitParams, *, env: Environment) -> TeacherAgreement:
    return TeacherAgreement(params.split)
