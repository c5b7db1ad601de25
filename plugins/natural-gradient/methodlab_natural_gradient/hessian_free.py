r"""Hessian-free optimization with Gauss-Newton curvature (Martens, 2010)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs
import torch
from methodlab import curvature
from methodlab.step import StepContext
from torch import Tensor, nn

from methodlab_natural_gradient.common import (
    ContextOptimizer,
    quadratic_model,
)
from methodlab_natural_gradient.config import HessianFreeParams

__all__ = ["HessianFree", "backtrack", "build", "kept_iterations"]

_ARMIJO = 1e-2
"""Sufficient-decrease constant c of the line search (Martens & Sutskever, 2012)."""
_SHRINK = 0.8
"""Step-length factor per line-search trial (Martens & Sutskever, 2012)."""
_LINE_SEARCH_TRIALS = 20


def kept_iterations(n_iterations: int, factor: float) -> list[int]:
    r"""1-based CG iterations whose iterates are kept: :math:`\lceil \gamma^j \rceil` and the last.

    Example:
        >>> kept_iterations(10, 1.3)
        [1, 2, 3, 4, 5, 7, 9, 10]
    """
    kept: set[int] = {n_iterations} if n_iterations else set()
    power = 1.0
    while math.ceil(power) <= n_iterations:
        kept.add(math.ceil(power))
        power *= factor
    return sorted(kept)


def backtrack(candidates: Sequence[Tensor], loss: Callable[[Tensor], float]) -> tuple[int, float]:
    r"""Martens' CG backtracking: from the last iterate, step back while the loss decreases.

    .. math::

        i^\ast = \max\{\, i : f(\theta + \delta_{i-1}) \ge f(\theta + \delta_i) \,\}

    evaluated from the last candidate backwards, stopping at the first candidate whose
    predecessor is no better. Late CG iterates fit the quadratic model of the current batch
    more closely, which may overfit it; the earlier iterate with a lower actual loss is kept.

    Arguments:
        candidates: the kept iterates :math:`\delta_i`, in CG order.
        loss: :math:`\delta \mapsto f(\theta + \delta)`.

    Returns:
        ``(index, loss)`` of the chosen candidate.

    Example:
        >>> values = [5.0, 3.0, 2.0, 4.0]
        >>> backtrack([torch.tensor(v) for v in values], float)
        (2, 2.0)
    """
    best = len(candidates) - 1
    best_loss = loss(candidates[best])
    for index in range(best - 1, -1, -1):
        value = loss(candidates[index])
        if value >= best_loss:
            break
        best, best_loss = index, value
    return best, best_loss


class HessianFree(ContextOptimizer):
    r"""Hessian-free (truncated Gauss-Newton) optimization.

    Each update minimises the damped quadratic model of the loss around :math:`\theta`

    .. math::

        q(\delta) = g^\top \delta + \tfrac12 \delta^\top (G + \lambda I)\, \delta

    by linear conjugate gradient, which only needs products :math:`Gv` with the Gauss-Newton
    matrix :math:`G = J^\top H J` (:func:`methodlab.curvature.ggn_operator`), then

    1. **warm start**: CG starts from :math:`\zeta\, \delta_{\text{prev}}`, the previous
       update's last CG iterate decayed by :math:`\zeta`;
    2. **backtracking**: the iterates :math:`\delta_i` with :math:`i = \lceil 1.3^j \rceil`
       are kept, and the update is the one with the lowest actual loss found by stepping
       back from the last (:func:`backtrack`);
    3. **Levenberg-Marquardt**: :math:`\rho = (f(\theta + \delta) - f(\theta)) /
       (g^\top\delta + \tfrac12 \delta^\top G \delta)` rescales :math:`\lambda` by 3/2 when
       :math:`\rho < 1/4` and by 2/3 when :math:`\rho > 3/4`;
    4. **line search** (optional): the largest :math:`\alpha = 0.8^k` with
       :math:`f(\theta + \alpha\delta) \le f(\theta) + 10^{-2} \alpha\, g^\top \delta`;
       no step when none of 20 trials qualifies.

    References:
        Deep Learning via Hessian-Free Optimization (Martens, 2010)
        https://www.cs.toronto.edu/~jmartens/docs/Deep_HessianFree.pdf

        Training Deep and Recurrent Networks with Hessian-Free Optimization (Martens &
        Sutskever, 2012) https://doi.org/10.1007/978-3-642-35289-8_27

    Arguments:
        params: parameters of the model passed in the step context (one group).
        damping (float, optional): initial :math:`\lambda` (default: 1.0).
        min_damping (float, optional): floor of :math:`\lambda` (default: 1e-4).
        damping_boost (float, optional): :math:`\lambda` factor when :math:`\rho < 1/4`
            (default: 1.5).
        damping_drop (float, optional): :math:`\lambda` factor when :math:`\rho > 3/4`
            (default: 2/3).
        max_iter (int, optional): maximum CG iterations per update (default: 50).
        tol (float, optional): relative residual tolerance of CG (default: 1e-6).
        warm_start_decay (float, optional): :math:`\zeta` (default: 0.95).
        backtrack_factor (float, optional): :math:`\gamma` of the kept iterations
            :math:`\lceil\gamma^j\rceil` (default: 1.3).
        line_search (bool, optional): Armijo line search on the chosen iterate
            (default: True).
        curvature_source (str, optional): ``"batch"`` or ``"curvature"`` (the context's
            unlabeled inputs) for :math:`G` (default: ``"batch"``).
        curvature_batch_size (int, optional): rows of the curvature inputs per update; 0
            uses all (default: 0).

    Example:
        >>> from methodlab.builtins.losses import MeanSquaredError
        >>> from methodlab.components import Batch
        >>> _ = torch.manual_seed(0)
        >>> model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
        >>> x = torch.randn(64, 4)
        >>> y = torch.sin(x[:, :2])
        >>> ctx = StepContext(model=model, loss=MeanSquaredError(), batch=Batch(x, y))
        >>> opt = HessianFree(model.parameters(), max_iter=20)
        >>> first = opt.step(ctx.closure_for(opt), context=ctx)
        >>> for _ in range(9):
        ...     last = opt.step(ctx.closure_for(opt), context=ctx)
        >>> bool(last < 0.05 * first)
        True

    .. note::
        Departures from Martens (2010): no diagonal preconditioner for CG and a fixed
        iteration cap instead of his relative-progress stopping rule.
    """

    _counters = ("curvature_products",)
    _adapts_damping = True

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        damping: float = 1.0,
        min_damping: float = 1e-4,
        damping_boost: float = 1.5,
        damping_drop: float = 2.0 / 3.0,
        max_iter: int = 50,
        tol: float = 1e-6,
        warm_start_decay: float = 0.95,
        backtrack_factor: float = 1.3,
        line_search: bool = True,
        curvature_source: str = "batch",
        curvature_batch_size: int = 0,
    ) -> None:
        defaults = attrs.asdict(HessianFreeParams(
            damping=damping,
            min_damping=min_damping,
            damping_boost=damping_boost,
            damping_drop=damping_drop,
            max_iter=max_iter,
            tol=tol,
            warm_start_decay=warm_start_decay,
            backtrack_factor=backtrack_factor,
            line_search=line_search,
            curvature_source=curvature_source,
            curvature_batch_size=curvature_batch_size,
        ))
        super().__init__(params, defaults)

    def _line_search(self, context: StepContext, theta: Tensor, step: Tensor,
                     losses: tuple[float, float], slope: float, state: dict[str, Any]) -> float:
        """The step length: the first 0.8^k meeting the Armijo condition, else 0."""
        loss, value = losses  # f(θ) and f(θ + δ), already known
        rate = 1.0
        for _ in range(_LINE_SEARCH_TRIALS):
            if value <= loss + _ARMIJO * rate * slope:
                return rate
            rate *= _SHRINK
            value = self._loss_at(context, theta + rate * step)
            state["func_evals"] += 1
        return 0.0

    def _update(
        self, context: StepContext, loss: Tensor, gradient: Tensor, state: dict[str, Any]
    ) -> None:
        group = self.param_groups[0]
        gauss_newton = self.ggn(
            context,
            source=group["curvature_source"],
            batch_size=group["curvature_batch_size"],
            seed=state["n_iter"],
        )
        previous = state.get("cg_last")
        start = None
        if previous is not None and group["warm_start_decay"] > 0.0:
            start = group["warm_start_decay"] * previous
        last, info = curvature.conjugate_gradient(
            gauss_newton, -gradient, max_iter=group["max_iter"], tol=group["tol"],
            x0=start, damping=state["damping"], store_iterates=True,
        )
        state["curvature_products"] += info.matvecs
        state["cg_iterations"] = info.iterations
        state["cg_last"] = last

        # Step back over the kept iterates by their actual loss.
        candidates = [info.iterates[i - 1]
                      for i in kept_iterations(info.iterations, group["backtrack_factor"])]
        if not candidates or not torch.equal(candidates[-1], last):
            candidates.append(last)
        theta = self._flat_params()
        chosen, new_loss = backtrack(candidates, lambda d: self._loss_at(context, theta + d))
        state["func_evals"] += len(candidates) - chosen
        state["backtracked_to"] = chosen
        step = candidates[chosen]

        predicted = quadratic_model(gradient, step, gauss_newton(step))
        state["curvature_products"] += 1
        self._adapt_damping(state, new_loss - float(loss), predicted)

        rate = 1.0
        if group["line_search"]:
            rate = self._line_search(
                context, theta, step, (float(loss), new_loss), float(gradient.dot(step)), state
            )
        state["rate"] = rate
        self._set_params(theta + rate * step)


def build(params: HessianFreeParams, *, model: nn.Module) -> HessianFree:
    """Build the optimizer for a run from its parameters (``use = "hessian-free"``)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    return HessianFree(trainable, **attrs.asdict(params))
