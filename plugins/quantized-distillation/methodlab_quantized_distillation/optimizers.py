"""Differentiable quantisation as an optimizer: train the weights, then learn the points.

Polino et al. (2018, §2.2) start differentiable quantisation from a trained full-precision
(distilled) student and then optimise only the quantisation points by SGD with momentum,
re-sorting them after every step. One trial does both phases: for the first ``switch_step``
updates this is plain SGD on the full-precision weights (the same arithmetic as
``torch.optim.SGD``, so that phase reproduces a full-precision arm exactly); after it, it
initialises the points from the trained weights
(:meth:`~.models.QuantizedModel.activate_points`) and from then on updates only the points.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import nn

from methodlab_quantized_distillation.models import QuantizedModel

if TYPE_CHECKING:
    from methodlab_quantized_distillation.config import DifferentiableQuantizationParams

__all__ = ["DifferentiableQuantization", "build_differentiable_quantization"]


class DifferentiableQuantization(torch.optim.SGD):
    """SGD on the weights for ``switch_step`` updates, then SGD on the learned points only.

    .. math::

        w \\leftarrow \\mathrm{SGD}(w, \\nabla_w L) \\ (t < t_s), \\qquad
        p \\leftarrow \\mathrm{sort}\\big(\\mathrm{SGD}(p, \\nabla_p L)\\big) \\ (t \\ge t_s)

    References:
        Model compression via distillation and quantization (Polino et al., 2018),
        https://arxiv.org/abs/1802.05668

    Arguments:
        model: a :class:`~.models.QuantizedModel` with ``quantizer = "learned"``.
        lr, momentum, nesterov, weight_decay: SGD on the weights (first phase).
        points_lr, points_momentum: SGD on the points (second phase).
        switch_step: updates of the first phase ``t_s``.

    Example:
        >>> net = QuantizedModel(nn.Linear(3, 2), bits=1, bucket_size=3, quantizer="learned")
        >>> optimizer = DifferentiableQuantization(net, lr=0.1, switch_step=0)
        >>> net.is_quantized
        True
        >>> net(torch.ones(1, 3)).sum().backward()
        >>> _ = optimizer.step()
        >>> net.net.weight.grad is None, net.points[0].grad is not None
        (True, True)
    """

    def __init__(
        self,
        model: QuantizedModel,
        *,
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        points_lr: float = 1e-3,
        points_momentum: float = 0.9,
        switch_step: int = 0,
    ) -> None:
        if not isinstance(model, QuantizedModel) or model.quantizer != "learned":
            raise ValueError(
                "differentiable-quantization needs the model 'quantized-mlp' with "
                "quantizer = \"learned\""
            )
        if switch_step < 0:
            raise ValueError(f"switch_step must be >= 0, got {switch_step}")
        points_group = {"params": list(model.points), "lr": points_lr,
                        "momentum": points_momentum, "nesterov": False, "weight_decay": 0.0,
                        "dampening": 0.0}
        super().__init__([{"params": list(model.shadow_parameters())}, points_group], lr=lr,
                         momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
        self.model = model
        self.switch_step = switch_step
        if switch_step == 0:
            model.activate_points()

    def _counter(self) -> dict:
        # Global state lives on the first parameter, as torch.optim.LBFGS keeps it.
        return self.state[self.param_groups[0]["params"][0]]

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if self.model.is_quantized:
            # Second phase: the weights (and so the assignment of entries to points) are fixed.
            for weight in self.param_groups[0]["params"]:
                weight.grad = None
        super().step()
        if self.model.is_quantized:
            for point in self.param_groups[1]["params"]:
                point.copy_(point.sort().values)
        state = self._counter()
        state["updates"] = int(state.get("updates", 0)) + 1
        if state["updates"] == self.switch_step:
            self.model.activate_points()
        return loss


def build_differentiable_quantization(
    params: DifferentiableQuantizationParams, *, model: nn.Module
) -> DifferentiableQuantization:
    return DifferentiableQuantization(
        model, lr=params.lr, momentum=params.momentum, nesterov=params.nesterov,
        weight_decay=params.weight_decay, points_lr=params.points_lr,
        points_momentum=params.points_momentum, switch_step=params.switch_step,
    )
