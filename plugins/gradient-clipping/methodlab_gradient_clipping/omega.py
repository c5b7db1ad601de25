"""The task losses and the vanishing-gradient regulariser Ω (Pascanu et al., 2013, §3.3).

.. math::
    \\Omega = \\sum_k \\Omega_k = \\sum_k \\left(
        \\frac{\\lVert \\delta_{k} \\, \\partial h_{k} / \\partial h_{k-1} \\rVert}
             {\\lVert \\delta_{k} \\rVert} - 1 \\right)^2,
    \\qquad \\delta_k = \\frac{\\partial E}{\\partial h_k},
    \\qquad \\frac{\\partial h_k}{\\partial h_{k-1}} = \\operatorname{diag}(1 - h_k^2)\\, W.

Ω asks each step of back-propagation to keep the norm of the error signal, so that it
neither vanishes nor explodes. Following the paper, only the *immediate* derivative
∂⁺Ω/∂W is used: δ_k and h_k are held constant and only the explicit W is differentiated.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from methodlab.components import Batch, Environment, Loss
from torch import nn

from methodlab_gradient_clipping.config import RNNTaskLossParams
from methodlab_gradient_clipping.tasks import LAST_REGRESSION, SEQUENCE_CLASSIFICATION

__all__ = ["RNNTaskLoss", "task_loss", "vanishing_regularizer"]


def vanishing_regularizer(weight_hh: torch.Tensor, deltas: torch.Tensor, states: torch.Tensor,
                          bound: float = 1e-20) -> torch.Tensor:
    """Ω averaged over the (step, sequence) pairs whose error signal is not negligible.

    For every step k = 1…T and sequence b, the ratio ‖δ_k diag(1 − h_k²) W‖ / ‖δ_k‖ is how
    much one step of back-propagation changes the error signal's norm. Pairs with
    ‖δ_k‖² < ``bound`` are left out; the rest of (ratio − 1)² is averaged, as the authors'
    code does (the paper writes the sum over k; the mean makes α independent of T and B).

    Arguments:
        weight_hh: W, ``(H, H)``; the only input the result is differentiated through.
        deltas: δ_k = ∂E/∂h_k for k = 1…T, ``(T, B, H)`` (detached).
        states: h_k for k = 1…T, ``(T, B, H)`` (detached).
        bound: threshold on ‖δ_k‖².

    Returns:
        a scalar tensor; 0 when no pair is kept.

    Example:
        >>> W = torch.eye(2)
        >>> delta = torch.ones(1, 1, 2)
        >>> float(vanishing_regularizer(W, delta, torch.zeros(1, 1, 2)))  # an isometry
        0.0
        >>> float(vanishing_regularizer(0.5 * W, delta, torch.zeros(1, 1, 2)))
        0.25
    """
    back = (deltas * (1.0 - states**2)) @ weight_hh  # (T, B, H): δ_k ∂h_k/∂h_{k−1}
    numerator = back.pow(2).sum(-1)  # (T, B)
    denominator = deltas.pow(2).sum(-1)  # (T, B)
    kept = denominator >= bound
    # Dropped pairs get ratio 1 through finite placeholders: a NaN or ∞ in the branch that
    # torch.where discards would still reach the gradient.
    ones = torch.ones_like(denominator)
    ratio = torch.sqrt(torch.where(kept, numerator, ones) / torch.where(kept, denominator, ones))
    terms = torch.where(kept, (ratio - 1.0) ** 2, torch.zeros_like(ratio))
    return terms.sum() / kept.sum().clamp_min(1)


def task_loss(outputs: torch.Tensor, targets: torch.Tensor, task: str) -> torch.Tensor:
    """E, averaged over the batch.

    ``last-classification``: cross-entropy of the last output; ``last-regression``: squared
    error summed over outputs; ``sequence-classification``: cross-entropy averaged over
    every step.

    Shapes:
        outputs ``(B, C)`` or ``(B, T, C)``; targets ``(B,)``, ``(B, C)`` or ``(B, T)``.
    """
    if task == LAST_REGRESSION:
        return (outputs - targets).pow(2).sum(-1).mean()
    if task == SEQUENCE_CLASSIFICATION:
        return nn.functional.cross_entropy(outputs.flatten(0, 1), targets.flatten())
    return nn.functional.cross_entropy(outputs, targets)


class RNNTaskLoss(Loss):
    """E + α Ω for the tasks of :mod:`methodlab_gradient_clipping.tasks`.

    With α > 0 the value returned is E + α Ω(W; δ, h) with δ_k = ∂E/∂h_k computed here
    and detached, so ``backward`` adds exactly α ∂⁺Ω/∂W to ∂E/∂θ. The model must provide
    ``states``, ``read`` and ``weight_hh`` (:class:`~methodlab_gradient_clipping.rnn.TanhRNN`).

    .. note::
        The paper's Ω uses h_k's pre-activation state; with post-activation states, as in
        the authors' code, the Jacobian is diag(1 − h_k²) W. The sum runs over the T
        transitions h_{k−1} → h_k, the first from h_0 = 0, also as in that code.
    """

    def __init__(self, task: str, omega: float = 0.0, bound: float = 1e-20) -> None:
        self.task = task
        self.omega = omega
        self.bound = bound

    def parts(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor,
                                                             Sequence[torch.Tensor]]:
        """E, Ω (0 when α = 0 and gradients are off) and the states h_0…h_T."""
        states = model.states(batch.inputs)
        error = task_loss(model.read(states), batch.targets, self.task)
        if self.omega == 0.0 or not torch.is_grad_enabled():
            return error, error.new_zeros(()), states
        deltas = torch.autograd.grad(error, states[1:], retain_graph=True)
        omega = vanishing_regularizer(model.weight_hh, torch.stack(deltas).detach(),
                                      torch.stack(states[1:]).detach(), self.bound)
        return error, omega, states

    def __call__(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        error, omega, _ = self.parts(model, batch)
        return error + self.omega * omega if self.omega else error


def build_rnn_task_loss(params: RNNTaskLossParams, *, env: Environment) -> RNNTaskLoss:
    """Factory of loss ``rnn-task``: the environment's task picks E."""
    return RNNTaskLoss(env.info.task, params.omega, params.bound)
