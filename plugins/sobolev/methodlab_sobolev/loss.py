r"""The Sobolev loss: match a target's values and its input derivatives.

With targets carrying values :math:`y_b \in \mathbb{R}^C` and Jacobians
:math:`J_b = \partial f / \partial x (x_b) \in \mathbb{R}^{C \times D}`, Sobolev training of
order 1 minimises

.. math::

    L(\theta) = \frac1B \sum_b \Big( \|m_\theta(x_b) - y_b\|^2
        + \lambda \, \|\partial_x m_\theta(x_b) - J_b\|_F^2 \Big).

``weight`` :math:`\lambda = 0` is plain regression. For vector outputs the stochastic variant
matches projections along random unit vectors :math:`v \sim \mathrm{U}(S^{C-1})`,
:math:`\|v^\top(\partial_x m_\theta - J_b)\|^2`, each rescaled by :math:`C` so that
:math:`\mathbb{E}[C\, v v^\top] = I` makes it an unbiased estimate of the Frobenius term; one
backward pass per projection instead of one per output.

Input derivatives are taken with ``torch.autograd.grad(create_graph=True)`` so the
derivative term is differentiable in θ (a double backward). ReLU networks have zero second
input derivatives, so order 1 is all the paper uses for them.

With ``normalise`` the derivative term is divided by :math:`\frac1B\sum_b \|J_b\|_F^2`, a
relative error that keeps the two terms on comparable scales.

Targets are ``(B, C + C·D)``: the ``C`` values, then the Jacobian flattened row-major.

References:
    Czarnecki, Osindero, Jaderberg, Swirszcz, Pascanu (2017), "Sobolev training for neural
    networks", NeurIPS, arXiv:1706.04859, Eq. (1) and Section 3 (stochastic Sobolev).

Example:
    >>> model = torch.nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = model.weight.copy_(torch.tensor([[1.0, 2.0]]))
    >>> x = torch.tensor([[1.0, 1.0]])
    >>> targets = torch.tensor([[3.0, 1.0, 0.0]])        # value 3, gradient (1, 0)
    >>> SobolevLoss(weight=1.0)(model, Batch(x, targets)).item()  # 0 + (0² + 2²)
    4.0
"""

from __future__ import annotations

import torch
from methodlab.components import Batch, Environment, Loss
from torch import nn

from methodlab_sobolev.config import SobolevLossParams

__all__ = ["SobolevLoss", "build_sobolev", "split_targets"]


def split_targets(targets: torch.Tensor, outputs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Split ``(B, C + C·D)`` targets into values ``(B, C)`` and Jacobians ``(B, C, D)``."""
    values = targets[:, :outputs]
    jacobians = targets[:, outputs:].reshape(len(targets), outputs, -1)
    return values, jacobians


class SobolevLoss(Loss):
    """Value MSE plus λ times the input-derivative MSE (see the module docstring).

    Shapes:
        inputs ``(B, D)``; model outputs ``(B, C)``; targets ``(B, C + C·D)``.
    """

    def __init__(self, weight: float = 1.0, projections: int = 0,
                 normalise: bool = False) -> None:
        self.weight = weight
        self.projections = projections
        self.normalise = normalise

    def __call__(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        if self.weight == 0.0:
            outputs = model(batch.inputs)
            values, _ = split_targets(batch.targets, outputs.shape[-1])
            return (outputs - values).pow(2).sum(-1).mean()
        # Evaluators may call the loss under no_grad; the derivative term needs a graph.
        with torch.enable_grad():
            inputs = batch.inputs.detach().requires_grad_(True)
            outputs = model(inputs)
            count = outputs.shape[-1]
            values, jacobians = split_targets(batch.targets, count)
            value_term = (outputs - values).pow(2).sum(-1).mean()
            derivative_term = self._derivative_term(inputs, outputs, jacobians)
            if self.normalise:
                scale = jacobians.pow(2).sum((1, 2)).mean()
                derivative_term = derivative_term / scale.clamp_min(torch.finfo(scale.dtype).tiny)
            return value_term + self.weight * derivative_term

    def _derivative_term(self, inputs: torch.Tensor, outputs: torch.Tensor,
                         jacobians: torch.Tensor) -> torch.Tensor:
        count = outputs.shape[-1]
        if self.projections == 0:
            # One backward pass per output row of the Jacobian.
            rows = [torch.autograd.grad(outputs[:, c].sum(), inputs, create_graph=True)[0]
                    for c in range(count)]
            return (torch.stack(rows, 1) - jacobians).pow(2).sum((1, 2)).mean()
        total = outputs.new_zeros(())
        for _ in range(self.projections):
            # One direction per example: the projections are independent across the batch.
            v = torch.randn(outputs.shape, dtype=outputs.dtype).to(outputs.device)
            v = v / v.norm(dim=-1, keepdim=True)
            projected = torch.autograd.grad((outputs * v).sum(), inputs, create_graph=True)[0]
            target = torch.einsum("bc,bcd->bd", v, jacobians)
            total = total + (projected - target).pow(2).sum(-1).mean()
        return total * count / self.projections


def build_sobolev(params: SobolevLossParams, *, env: Environment) -> SobolevLoss:
    return SobolevLoss(params.weight, params.projections, params.normalise)
