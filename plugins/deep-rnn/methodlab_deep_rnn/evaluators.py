"""An evaluator that records the model's size, so matched parameter counts show in results."""

from __future__ import annotations

from methodlab.components import Environment, Evaluator, Loss
from torch import nn

from methodlab_deep_rnn.config import ParameterCountParams
from methodlab_deep_rnn.sizing import count_parameters

__all__ = ["ParameterCount", "build_parameter_count"]


class ParameterCount(Evaluator):
    """Metric ``count``: the number of trainable parameters of the model (constant in time)."""

    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        return {"count": float(count_parameters(model))}


def build_parameter_count(params: ParameterCountParams, *, env: Environment) -> ParameterCount:
    return ParameterCount()
