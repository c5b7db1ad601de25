r"""TONGA: natural gradient with the covariance of per-example gradients (Le Roux et al., 2008)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import attrs
import torch
from methodlab import curvature
from methodlab.step import StepContext
from torch import Tensor, nn
from torch.func import grad, vmap

from methodlab_natural_gradient.common import ContextOptimizer
from methodlab_natural_gradient.config import TongaParams

__all__ = ["Tonga", "build", "covariance_matvec", "low_rank", "woodbury_solve"]


def covariance_matvec(factor: Tensor) -> curvature.MatVec:
    r"""The product with :math:`C = M^\top M`, never formed.

    With rows :math:`M_i = g_i / \sqrt B` this is the uncentred covariance
    :math:`C = \frac1B \sum_i g_i g_i^\top` of per-example gradients.

    Shapes:
        factor :math:`M`: :math:`(m, P)`; the operator maps :math:`(P,)` to :math:`(P,)`.

    Example:
        >>> M = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
        >>> covariance_matvec(M)(torch.tensor([1.0, 0.0]))
        tensor([2., 1.])
    """
    return lambda vector: factor.T @ (factor @ vector)


def woodbury_solve(factor: Tensor, rhs: Tensor, damping: float) -> Tensor:
    r"""Solve :math:`(M^\top M + \lambda I)\, d = g` through the :math:`m \times m` Gram matrix.

    .. math::

        (\lambda I + M^\top M)^{-1} g = \frac1\lambda \left( g - M^\top
        (\lambda I_m + M M^\top)^{-1} M g \right)

    (the Woodbury identity): one Cholesky factorisation of size :math:`m` (the batch size
    or the rank) instead of :math:`P`.

    Shapes:
        factor :math:`M`: :math:`(m, P)`; rhs :math:`g`, returns :math:`d`: :math:`(P,)`.

    Example:
        >>> M, g = torch.tensor([[2.0, 0.0]]), torch.tensor([4.0, 1.0])
        >>> woodbury_solve(M, g, damping=1.0)  # diag(5, 1)^-1 g
        tensor([0.8000, 1.0000])
    """
    gram = factor @ factor.T
    gram.diagonal().add_(damping)
    chol = torch.linalg.cholesky(gram)
    inner = torch.cholesky_solve((factor @ rhs).unsqueeze(1), chol).squeeze(1)
    return (rhs - factor.T @ inner) / damping


def low_rank(factor: Tensor, rank: int) -> Tensor:
    r"""A factor :math:`M_k` of the best rank-:math:`k` approximation of :math:`M^\top M`.

    From the eigendecomposition of the small Gram matrix :math:`M M^\top = U S U^\top`
    (eigenvalues descending), :math:`M_k = U_{:k}^\top M`: its rows are the leading
    eigenvectors of :math:`M^\top M` scaled by the square roots of their eigenvalues, as in
    TONGA's Gram-matrix eigendecomposition.

    Shapes:
        factor: :math:`(m, P)`; returns :math:`(\min(k, m), P)`.

    Example:
        >>> M = torch.tensor([[3.0, 0.0], [0.0, 1.0]])
        >>> low_rank(M, 1).abs()
        tensor([[3., 0.]])
    """
    if rank >= len(factor):
        return factor
    _, vectors = torch.linalg.eigh(factor @ factor.T)
    return vectors[:, -rank:].flip(1).T @ factor


class Tonga(ContextOptimizer):
    r"""TONGA: natural gradient with the uncentred covariance of per-example gradients.

    .. math::

        C = \frac1B \sum_{i=1}^B g_i g_i^\top, \qquad
        \theta \leftarrow \theta - \eta\, (C + \lambda I)^{-1} g, \qquad
        g = \frac1B \sum_i g_i

    The per-example gradients :math:`g_i` come from ``torch.func.vmap`` over
    ``torch.func.grad``; :math:`C` stays factored as :math:`M^\top M` with rows
    :math:`g_i / \sqrt B`, and the damped system is solved on the :math:`B \times B` Gram
    matrix (:func:`woodbury_solve`). With ``decay`` :math:`\gamma > 0` the covariance is a
    moving average over updates, kept at rank :math:`k` as in TONGA:

    .. math::

        C_t = \gamma\, C_{t-1} + (1 - \gamma)\, C_{\text{batch}}, \qquad
        M_t = \operatorname{rank}_k \begin{bmatrix} \sqrt\gamma\, M_{t-1} \\
        \sqrt{1-\gamma}\, M_{\text{batch}} \end{bmatrix}

    (:func:`low_rank`).

    References:
        Topmoumoute Online Natural Gradient Algorithm (Le Roux, Manzagol & Bengio, 2008)
        https://papers.nips.cc/paper/3234-topmoumoute-online-natural-gradient-algorithm

        Revisiting Natural Gradient for Deep Networks (Pascanu & Bengio, 2014)
        https://arxiv.org/abs/1301.3584

    Arguments:
        params: parameters of the model passed in the step context (one group).
        lr (float, optional): :math:`\eta` (default: 1.0).
        damping (float, optional): :math:`\lambda` (default: 1.0).
        decay (float, optional): :math:`\gamma`; 0 uses this batch only (default: 0).
        rank (int, optional): :math:`k`; 0 keeps all per-example gradients and needs
            ``decay = 0`` (default: 0).
        batch_size (int, optional): rows of the batch whose per-example gradients form
            :math:`C`; 0 = all (default: 0).

    Example:
        >>> from methodlab.builtins.losses import MeanSquaredError
        >>> from methodlab.components import Batch
        >>> _ = torch.manual_seed(0)
        >>> model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
        >>> x = torch.randn(64, 4)
        >>> y = torch.sin(x[:, :2])
        >>> ctx = StepContext(model=model, loss=MeanSquaredError(), batch=Batch(x, y))
        >>> opt = Tonga(model.parameters(), lr=0.5, damping=0.1)
        >>> first = opt.step(ctx.closure_for(opt), context=ctx)
        >>> for _ in range(19):
        ...     last = opt.step(ctx.closure_for(opt), context=ctx)
        >>> bool(last < 0.3 * first)
        True

    .. note::
        Departures from Le Roux et al. (2008): the per-example gradients of the whole batch
        are used (no grouping of gradients into blocks of parameters), and the low-rank
        update recomputes the eigendecomposition of the stacked factor every step rather
        than every few steps.
    """

    _counters = ("per_example_gradients",)

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1.0,
        damping: float = 1.0,
        decay: float = 0.0,
        rank: int = 0,
        batch_size: int = 0,
    ) -> None:
        defaults = attrs.asdict(TongaParams(
            lr=lr, damping=damping, decay=decay, rank=rank, batch_size=batch_size
        ))
        super().__init__(params, defaults)

    def per_example_gradients(self, context: StepContext) -> Tensor:
        r"""Rows :math:`g_i^\top` of this update's per-example gradients.

        Shapes:
            returns :math:`(B, P)`.
        """
        group = self.param_groups[0]
        inputs, targets = self.curvature_rows(
            context, source="batch", batch_size=group["batch_size"],
            seed=self._state()["n_iter"],
        )
        objective = self.functional_loss(context)
        # A batch of one: from_outputs averages over the batch, so this is example i's loss.
        single = grad(lambda theta, x, y: objective(theta, x.unsqueeze(0), y.unsqueeze(0)))
        theta = self._flat_params()
        return vmap(single, in_dims=(None, 0, 0))(theta, inputs, targets)

    def _update(
        self, context: StepContext, loss: Tensor, gradient: Tensor, state: dict[str, Any]
    ) -> None:
        group = self.param_groups[0]
        with torch.enable_grad():
            rows = self.per_example_gradients(context)
        state["per_example_gradients"] += len(rows)
        factor = rows / math.sqrt(len(rows))
        if group["rank"]:
            decay = group["decay"]
            if "factor" in state and decay > 0.0:
                factor = torch.cat(
                    [math.sqrt(decay) * state["factor"], math.sqrt(1.0 - decay) * factor]
                )
            factor = low_rank(factor, group["rank"])
            state["factor"] = factor
        direction = woodbury_solve(factor, gradient, group["damping"])
        self._add(-group["lr"], direction)


def build(params: TongaParams, *, model: nn.Module) -> Tonga:
    """Build the optimizer for a run from its parameters (``use = "tonga"``)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    return Tonga(trainable, **attrs.asdict(params))
