r"""The index of a critical point: the fraction of negative Hessian eigenvalues."""

from __future__ import annotations

import torch
from methodlab import curvature
from methodlab.components import Batch, Environment, Evaluator, Loss, OutputLoss
from torch import nn

from methodlab_saddle_free_newton.config import CriticalPointParams
from methodlab_saddle_free_newton.hessian import dense_hessian

__all__ = ["CriticalPoint", "build_critical_point", "critical_point_metrics"]


def critical_point_metrics(eigenvalues: torch.Tensor, tolerance: float = 1e-6) -> dict[str, float]:
    r"""Summarise a Hessian spectrum :math:`\lambda_1 \le \dots \le \lambda_P`.

    The index :math:`\alpha` of Dauphin et al. (2014) is the fraction of negative eigenvalues,
    here :math:`\alpha = \#\{i : \lambda_i < -\text{tol} \cdot \max_j |\lambda_j|\} / P`: 0 at a
    minimum, 1 at a maximum, in between at a saddle point.

    Returns:
        ``index`` (:math:`\alpha`), ``lambda_min``, ``lambda_max`` and ``negative`` (the
        count of negative eigenvalues).

    Example:
        >>> critical_point_metrics(torch.tensor([-2.0, 0.0, 1.0, 3.0]))
        {'index': 0.25, 'lambda_min': -2.0, 'lambda_max': 3.0, 'negative': 1.0}
    """
    threshold = -tolerance * float(eigenvalues.abs().max())
    negative = int((eigenvalues < threshold).sum())
    return {
        "index": negative / eigenvalues.numel(),
        "lambda_min": float(eigenvalues.min()),
        "lambda_max": float(eigenvalues.max()),
        "negative": float(negative),
    }


class CriticalPoint(Evaluator):
    r"""Hessian spectrum of the loss over a whole split: index, :math:`\lambda_{\min}`, ….

    Forms the exact Hessian of the mean loss over the split (one batch,
    :func:`~methodlab_saddle_free_newton.hessian.dense_hessian`) and reports
    :func:`critical_point_metrics` plus ``gradient_norm`` :math:`\|\nabla L\|`, which tells a
    critical point (small) from a point that merely has negative curvature. For small
    networks only: the cost is :math:`P` Hessian-vector products over the split and
    :math:`P^2` memory.

    References:
        Identifying and attacking the saddle point problem in high-dimensional non-convex
        optimization (Dauphin et al., 2014) https://arxiv.org/abs/1406.2572

    Example:
        >>> from methodlab.builtins.losses import MeanSquaredError
        >>> from methodlab.supervised import SupervisedEnvironment
        >>> from methodlab.components import EnvInfo
        >>> x = torch.randn(32, 3, dtype=torch.float64)
        >>> env = SupervisedEnvironment({"train": Batch(x, x[:, :1])}, EnvInfo(3, 1, "regression"))
        >>> net = nn.Linear(3, 1).double()
        >>> CriticalPoint("train")(net, env, MeanSquaredError())["index"]  # a convex loss
        0.0
    """

    def __init__(self, split: str, tolerance: float = 1e-6) -> None:
        self.split = split
        self.tolerance = tolerance

    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        if not isinstance(loss, OutputLoss):
            raise TypeError(f"critical-point needs an OutputLoss to form the Hessian; got "
                            f"{type(loss).__name__}")
        batches = list(env.split(self.split))
        inputs = torch.cat([b.inputs for b in batches])
        targets = torch.cat([b.targets for b in batches])
        params = [p for p in model.parameters() if p.requires_grad]
        hessian = dense_hessian(model, loss, inputs, targets, params=params)
        metrics = critical_point_metrics(torch.linalg.eigvalsh(hessian), self.tolerance)
        with torch.enable_grad(), curvature.frozen_batchnorm_stats(model):
            gradient = torch.autograd.grad(loss(model, Batch(inputs, targets)), params)
        metrics["gradient_norm"] = float(curvature.flatten(gradient).norm())
        return metrics


def build_critical_point(params: CriticalPointParams, *, env: Environment) -> CriticalPoint:
    """Build the evaluator of ``use = "critical-point"``."""
    return CriticalPoint(params.split, params.tolerance)
