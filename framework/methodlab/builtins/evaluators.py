"""Built-in evaluators: loss and classification accuracy over a split."""

from __future__ import annotations

import torch
from torch import nn

from methodlab.builtins.config import AccuracyParams, LossEvaluatorParams
from methodlab.components import Environment, Evaluator, Loss

__all__ = ["Accuracy", "SplitLoss"]


class SplitLoss(Evaluator):
    """The run's loss over a split, weighted by batch size: metric ``loss``."""

    def __init__(self, split: str) -> None:
        self.split = split

    @torch.no_grad()
    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        total, count = 0.0, 0
        for batch in env.split(self.split):
            size = len(batch.inputs)
            total += float(loss(model, batch)) * size
            count += size
        return {"loss": total / count}


class Accuracy(Evaluator):
    """Fraction of correctly classified examples: metrics ``accuracy`` and ``error``."""

    def __init__(self, split: str) -> None:
        self.split = split

    @torch.no_grad()
    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        correct, count = 0, 0
        for batch in env.split(self.split):
            predictions = model(batch.inputs).argmax(-1)
            correct += int((predictions == batch.targets).sum())
            count += batch.targets.numel()
        accuracy = correct / count
        return {"accuracy": accuracy, "error": 1.0 - accuracy}


def build_loss(params: LossEvaluatorParams, *, env: Environment) -> SplitLoss:
    return SplitLoss(params.split)


def build_accuracy(params: AccuracyParams, *, env: Environment) -> Accuracy:
    return Accuracy(params.split)
