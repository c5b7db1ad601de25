"""The maximum-likelihood loss of a flow."""

from __future__ import annotations

import torch
from methodlab.components import Batch, Environment, Loss
from torch import nn

from methodlab_rad_flows.config import NLLParams

__all__ = ["FlowNLL", "build_flow_nll"]


class FlowNLL(Loss):
    r"""Mean negative log-likelihood :math:`-\frac1B \sum_b \log p(x_b)` in nats, for a model
    whose ``forward`` returns :math:`\log p(x)` of shape ``(B,)`` (RAD flows, RealNVP).

    Example:
        >>> from methodlab_rad_flows.realnvp import RealNVP
        >>> flow = RealNVP(2, layers=1, hidden=[4])
        >>> FlowNLL()(flow, Batch(torch.zeros(3, 2))).shape
        torch.Size([])
    """

    def __call__(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        log_prob = model(batch.inputs)
        if log_prob.shape != batch.inputs.shape[:1]:
            raise ValueError(f"flow-nll needs a model returning log p(x) of shape (B,), got "
                             f"{tuple(log_prob.shape)} for inputs {tuple(batch.inputs.shape)}")
        return -log_prob.mean()


def build_flow_nll(params: NLLParams, *, env: Environment) -> FlowNLL:
    return FlowNLL()
