"""The ``rnn-task`` evaluator: task loss, success rate and how the error signal decays."""

from __future__ import annotations

import torch
from methodlab.components import Environment, Evaluator, Loss
from torch import nn

from methodlab_gradient_clipping.config import RNNTaskEvaluatorParams
from methodlab_gradient_clipping.omega import RNNTaskLoss, task_loss, vanishing_regularizer
from methodlab_gradient_clipping.rnn import spectral_radius
from methodlab_gradient_clipping.tasks import LAST_REGRESSION, SEQUENCE_CLASSIFICATION

__all__ = ["RNNTaskEvaluator", "sequence_errors"]


def sequence_errors(outputs: torch.Tensor, targets: torch.Tensor, task: str,
                    tolerance: float = 0.04) -> torch.Tensor:
    """Per-sequence failure (1.0) or success (0.0), by the paper's criteria (§5.1).

    Classification at the last step: the argmax is wrong. Regression: the squared error
    exceeds ``tolerance``. Per-step classification: any step is wrong.

    Example:
        >>> out = torch.tensor([[0.1], [0.5]])
        >>> sequence_errors(out, torch.tensor([[0.2], [0.0]]), "last-regression").tolist()
        [0.0, 1.0]
    """
    if task == LAST_REGRESSION:
        return ((outputs - targets).pow(2).sum(-1) > tolerance).to(outputs.dtype)
    wrong = outputs.argmax(-1) != targets
    if task == SEQUENCE_CLASSIFICATION:
        wrong = wrong.any(-1)
    return wrong.to(outputs.dtype)


class RNNTaskEvaluator(Evaluator):
    """Metrics of a :class:`~methodlab_gradient_clipping.rnn.TanhRNN` on a split.

    - ``loss``: the task loss E (without Ω), averaged over sequences;
    - ``error`` / ``accuracy``: fraction of failed / solved sequences (:func:`sequence_errors`);
    - ``log10_gradient_ratio``: mean over sequences of log10(‖∂E/∂h_1‖ / ‖∂E/∂h_T‖), how
      much the error signal shrinks (< 0) or grows (> 0) on its way back to the first step;
      norms are floored at the dtype's smallest normal number so that an underflow reads
      as a very small ratio rather than −∞;
    - ``omega``: Ω of the split (not weighted by α);
    - ``spectral_radius``: ρ(W).
    """

    def __init__(self, split: str, tolerance: float) -> None:
        self.split = split
        self.tolerance = tolerance

    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        task = env.info.task
        bound = loss.bound if isinstance(loss, RNNTaskLoss) else 1e-20
        totals = {"loss": 0.0, "error": 0.0, "log10_gradient_ratio": 0.0, "omega": 0.0}
        count = 0
        for batch in env.split(self.split):
            with torch.enable_grad():
                states = model.states(batch.inputs)
                outputs = model.read(states)
                # Summed over the batch so that δ_k of each sequence is its own gradient.
                per_sequence = task_loss(outputs, batch.targets, task) * len(outputs)
                deltas = torch.autograd.grad(per_sequence, states[1:])
            size = len(outputs)
            tiny = torch.finfo(outputs.dtype).tiny
            first = deltas[0].norm(dim=-1).clamp_min(tiny)
            last = deltas[-1].norm(dim=-1).clamp_min(tiny)
            totals["loss"] += float(per_sequence.detach())
            totals["error"] += float(sequence_errors(outputs.detach(), batch.targets, task,
                                                     self.tolerance).sum())
            totals["log10_gradient_ratio"] += float(torch.log10(first / last).sum())
            with torch.no_grad():
                # δ of the batch-mean loss, as in training, for the ‖δ‖² bound.
                omega = vanishing_regularizer(model.weight_hh, torch.stack(deltas) / size,
                                              torch.stack(states[1:]), bound)
            totals["omega"] += float(omega) * size
            count += size
        metrics = {key: value / count for key, value in totals.items()}
        metrics["accuracy"] = 1.0 - metrics["error"]
        metrics["spectral_radius"] = spectral_radius(model.weight_hh)
        return metrics


def build_rnn_task_evaluator(params: RNNTaskEvaluatorParams, *,
                             env: Environment) -> RNNTaskEvaluator:
    """Factory of evaluator ``rnn-task``."""
    return RNNTaskEvaluator(params.split, params.regression_tolerance)
