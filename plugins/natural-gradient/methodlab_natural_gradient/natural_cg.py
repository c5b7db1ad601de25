r"""Natural conjugate gradient, NatCG (Pascanu & Bengio, 2014, §NatCG / NGHF)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import torch
from methodlab.step import StepContext
from torch import Tensor, nn

from methodlab_natural_gradient.common import (
    ContextOptimizer,
    quadratic_model,
)
from methodlab_natural_gradient.config import NaturalConjugateGradientParams
from methodlab_natural_gradient.optimizer import natural_direction

__all__ = ["NaturalConjugateGradient", "build", "model_coefficients"]


def model_coefficients(
    gradient: Tensor,
    directions: Sequence[Tensor],
    curvature_directions: Sequence[Tensor],
    damping: float = 0.0,
) -> Tensor:
    r"""Coefficients :math:`a` minimising the damped quadratic model over a few directions.

    .. math::

        a^\ast = \arg\min_a\; g^\top D a + \tfrac12 a^\top D^\top (G + \lambda I) D a
        \quad\Longleftrightarrow\quad
        D^\top (G + \lambda I) D\, a^\ast = -D^\top g

    for the columns :math:`D = [d_1, \dots, d_k]` (NatCG: :math:`k = 2`, the new natural
    direction and the previous step). The :math:`k \times k` system is solved in float64 by
    the pseudo-inverse, so parallel directions (a singular system) give the minimum-norm
    minimiser.

    Arguments:
        gradient: :math:`g`.
        directions: :math:`d_i`.
        curvature_directions: :math:`G d_i`.
        damping: :math:`\lambda`.

    Shapes:
        gradient, each direction: :math:`(P,)`; returns :math:`(k,)` in float64.

    Example:
        >>> G = torch.diag(torch.tensor([1.0, 4.0]))
        >>> D = [torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])]
        >>> model_coefficients(torch.tensor([-1.0, -2.0]), D, [G @ d for d in D])
        tensor([1.0000, 0.5000], dtype=torch.float64)
    """
    d = torch.stack(list(directions), dim=1).double()  # (P, k)
    gd = torch.stack(list(curvature_directions), dim=1).double()
    system = d.T @ gd + damping * (d.T @ d)
    system = 0.5 * (system + system.T)
    return -torch.linalg.pinv(system, rtol=1e-12, hermitian=True) @ (d.T @ gradient.double())


class NaturalConjugateGradient(ContextOptimizer):
    r"""Natural conjugate gradient: natural directions combined by a second-order model.

    Each update solves for the natural direction with the damped Fisher, as
    :class:`~methodlab_natural_gradient.optimizer.NaturalGradient` does, and combines it with
    the previous step :math:`\delta_{t-1}`; both coefficients come from minimising the local
    quadratic model with Gauss-Newton (= Fisher) products (:func:`model_coefficients`):

    .. math::

        (F + \lambda I)\, n_t &\approx -g \\
        \delta_t &= \alpha\, n_t + \beta\, \delta_{t-1}, \qquad
        (\alpha, \beta) = \arg\min\; g^\top\delta_t + \tfrac12 \delta_t^\top
                          (F + \lambda I)\, \delta_t \\
        \theta &\leftarrow \theta + \delta_t

    In the paper's words, this is the nonlinear conjugate gradient in the Fisher metric with
    :math:`\alpha, \beta` set by the curvature rather than a line search and the Polak-Ribière
    formula (the NGHF view: natural gradient directions, Hessian-free step sizes). The first
    update has no previous step and only fits :math:`\alpha`. The damping follows the
    Levenberg-Marquardt rule with :math:`\rho` from the undamped model; all model terms come
    from the two products :math:`F n_t`, :math:`F \delta_{t-1}`.

    References:
        Revisiting Natural Gradient for Deep Networks (Pascanu & Bengio, 2014)
        https://arxiv.org/abs/1301.3584

    Arguments:
        params: parameters of the model passed in the step context (one group).
        damping (float, optional): initial :math:`\lambda` (default: 0.1).
        min_damping (float, optional): floor of :math:`\lambda` (default: 1e-4).
        damping_boost (float, optional): :math:`\lambda` factor when :math:`\rho < 1/4`
            (default: 1.5).
        damping_drop (float, optional): :math:`\lambda` factor when :math:`\rho > 3/4`
            (default: 2/3).
        solver (str, optional): ``"cg"`` or ``"minres"`` (default: ``"cg"``).
        max_iter (int, optional): Fisher products per solve (default: 20).
        tol (float, optional): relative residual tolerance of the solve (default: 1e-4).
        fisher_source (str, optional): ``"batch"`` or ``"curvature"`` (default: ``"batch"``).
        fisher_batch_size (int, optional): rows of the Fisher inputs; 0 = all (default: 0).

    Example:
        >>> from methodlab.builtins.losses import MeanSquaredError
        >>> from methodlab.components import Batch
        >>> _ = torch.manual_seed(0)
        >>> model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
        >>> x = torch.randn(64, 4)
        >>> y = torch.sin(x[:, :2])
        >>> ctx = StepContext(model=model, loss=MeanSquaredError(), batch=Batch(x, y))
        >>> opt = NaturalConjugateGradient(model.parameters())
        >>> first = opt.step(ctx.closure_for(opt), context=ctx)
        >>> for _ in range(9):
        ...     last = opt.step(ctx.closure_for(opt), context=ctx)
        >>> bool(last < 0.05 * first)
        True

    .. note::
        Departures from the paper's code: the natural direction is solved by CG (or MINRES)
        rather than MINRES-QLP; the coefficients use the damped Fisher of the current batch.
    """

    _counters = ("fisher_products",)
    _adapts_damping = True

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        damping: float = 0.1,
        min_damping: float = 1e-4,
        damping_boost: float = 1.5,
        damping_drop: float = 2.0 / 3.0,
        solver: str = "cg",
        max_iter: int = 20,
        tol: float = 1e-4,
        fisher_source: str = "batch",
        fisher_batch_size: int = 0,
    ) -> None:
        defaults = attrs.asdict(NaturalConjugateGradientParams(
            damping=damping,
            min_damping=min_damping,
            damping_boost=damping_boost,
            damping_drop=damping_drop,
            solver=solver,
            max_iter=max_iter,
            tol=tol,
            fisher_source=fisher_source,
            fisher_batch_size=fisher_batch_size,
        ))
        super().__init__(params, defaults)

    def _update(
        self, context: StepContext, loss: Tensor, gradient: Tensor, state: dict[str, Any]
    ) -> None:
        group = self.param_groups[0]
        fisher = self.ggn(
            context, source=group["fisher_source"], batch_size=group["fisher_batch_size"],
            seed=state["n_iter"],
        )
        ascent, info = natural_direction(
            fisher, gradient, damping=state["damping"], solver=group["solver"],
            max_iter=group["max_iter"], tol=group["tol"],
        )
        directions = [-ascent]
        previous = state.get("previous")
        if previous is not None:
            directions.append(previous)
        products = [fisher(d) for d in directions]
        state["fisher_products"] += info.matvecs + len(products)
        coefficients = model_coefficients(gradient, directions, products, state["damping"])
        state["coefficients"] = coefficients.tolist()
        weights = coefficients.to(gradient.dtype)
        step = sum(w * d for w, d in zip(weights, directions, strict=True))
        curvature_step = sum(w * p for w, p in zip(weights, products, strict=True))
        predicted = quadratic_model(gradient, step, curvature_step)

        self._add(1.0, step)
        new_loss = self._loss_at_current(context)
        state["func_evals"] += 1
        self._adapt_damping(state, new_loss - float(loss), predicted)
        state["previous"] = step


def build(
    params: NaturalConjugateGradientParams, *, model: nn.Module
) -> NaturalConjugateGradient:
    """Build the optimizer for a run from its parameters (``use = "natural-cg"``)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    return NaturalConjugateGradient(trainable, **attrs.asdict(params))
