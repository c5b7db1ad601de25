r"""Metric-free natural gradient (MFNG) for Boltzmann machines (Desjardins et al., 2013)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from methodlab import curvature
from methodlab.step import StepContext
from torch import Tensor, nn

from methodlab_metric_free_natural_gradient.config import MFNGParams
from methodlab_metric_free_natural_gradient.metric import energy_covariance_operator

__all__ = ["MetricFreeNaturalGradient", "build"]


class MetricFreeNaturalGradient(torch.optim.Optimizer):
    r"""Natural gradient with the sampled covariance of energy gradients, solved by MINRES.

    Each update takes the stochastic-maximum-likelihood gradient :math:`g` (the gradient of
    the loss the closure evaluates), the model's persistent-chain samples :math:`x_m`, and
    solves the damped natural-gradient system with MINRES using only metric-vector products
    (:func:`~methodlab_metric_free_natural_gradient.metric.energy_covariance_operator`):

    .. math::

        (L + \lambda I)\, d &\approx g, \qquad
        L v = \frac1M \sum_m \tilde e_m (\tilde e_m^\top v),\quad
        \tilde e_m = \partial_\theta E(x_m) - \overline{\partial_\theta E} \\
        \theta &\leftarrow \theta - \varepsilon\, d .

    :math:`L` estimates :math:`\nabla^2_\theta \log Z`, the Fisher information of the joint
    distribution over visible and hidden units.

    The model passed in the step context must be an energy model: ``model(x)`` returns the
    energies of configurations ``x`` of all units, shape ``(M,)``, and ``model.chains`` holds
    the current model samples, shape ``(M, N)`` (as
    :class:`~methodlab_metric_free_natural_gradient.boltzmann.BoltzmannMachine` does). The
    closure must advance the chains *before* this optimizer reads them, as the SML loss does.

    References:
        Metric-Free Natural Gradient for Joint-Training of Boltzmann Machines
        (Desjardins, Pascanu, Courville & Bengio, 2013) https://arxiv.org/abs/1301.3545

    Arguments:
        params: parameters of the model in the step context (one group).
        lr (float, optional): step size :math:`\varepsilon` (default: 0.05).
        damping (float, optional): :math:`\lambda` (default: 0.1).
        max_iter (int, optional): maximum metric-vector products per solve (default: 20).
        tol (float, optional): relative residual tolerance of MINRES (default: 1e-6).
        warm_start (bool, optional): start MINRES from the previous direction
            (default: False).

    Example:
        >>> from methodlab.components import Batch
        >>> from methodlab_metric_free_natural_gradient.boltzmann import BoltzmannMachine
        >>> from methodlab_metric_free_natural_gradient.sml import StochasticMaximumLikelihood
        >>> _ = torch.manual_seed(0)
        >>> data = torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]).double()
        >>> rbm = BoltzmannMachine((4, 3), chains=50, visible_mean=data.mean(0)).double()
        >>> before = float(rbm.log_likelihood(data).mean().detach())
        >>> ctx = StepContext(model=rbm, loss=StochasticMaximumLikelihood(1), batch=Batch(data))
        >>> opt = MetricFreeNaturalGradient(rbm.parameters(), lr=0.1)
        >>> for _ in range(100):
        ...     _ = opt.step(ctx.closure_for(opt), context=ctx)
        >>> bool(rbm.log_likelihood(data).mean().detach() > before + 1.0)
        True

    .. note::
        Departures from the paper's code: plain MINRES
        (:func:`methodlab.curvature.minres`) instead of MINRES-QLP, without the optional
        Jacobi preconditioner; a constant step size (no annealing schedule).

    .. note::
        Like :class:`torch.optim.LBFGS`, one parameter group only, with the optimizer's state
        on the first parameter; it holds tensors and Python numbers only, so it survives
        ``torch.load(..., weights_only=True)``.
    """

    needs_step_context = True
    """Step with ``step(closure, context=StepContext)`` (see :mod:`methodlab.step`)."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 0.05,
        damping: float = 0.1,
        max_iter: int = 20,
        tol: float = 1e-6,
        warm_start: bool = False,
    ) -> None:
        if lr <= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if damping < 0.0:
            raise ValueError(f"Invalid damping: {damping}")
        if max_iter < 1:
            raise ValueError(f"Invalid max_iter: {max_iter}")
        if tol < 0.0:
            raise ValueError(f"Invalid tol: {tol}")
        defaults = {"lr": lr, "damping": damping, "max_iter": max_iter, "tol": tol,
                    "warm_start": warm_start}
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(
                "MetricFreeNaturalGradient doesn't support per-parameter options "
                "(parameter groups)")
        self._params: list[Tensor] = self.param_groups[0]["params"]

    def _state(self) -> dict[str, Any]:
        # Global state lives on the first parameter, as in LBFGS, so that load_state_dict
        # casts its tensors to the parameters' dtype and device.
        state = self.state[self._params[0]]
        if not state:
            state.update(n_iter=0, metric_products=0, solver_iterations=0)
        return state

    @torch.no_grad()
    def step(  # type: ignore[override]
        self, closure: Callable[[], Tensor], context: StepContext | None = None
    ) -> Tensor:
        """Perform one MFNG update and return the loss before it.

        Arguments:
            closure: evaluates the SML loss with gradients (advancing the chains) and returns
                it (``context.closure_for(optimizer)``).
            context: holds the energy model whose ``chains`` are the metric's samples.

        :raises ValueError: without a closure or a context.
        """
        if closure is None or context is None:
            raise ValueError(
                "MetricFreeNaturalGradient.step needs the closure and a StepContext whose model "
                "holds the chains: ctx = StepContext(model=bm, loss=sml_loss, batch=Batch(v)); "
                "optimizer.step(ctx.closure_for(optimizer), context=ctx)")
        group = self.param_groups[0]
        state = self._state()

        loss = torch.enable_grad()(closure)()
        gradient = curvature.flatten(
            torch.zeros_like(p) if p.grad is None else p.grad for p in self._params)
        metric = energy_covariance_operator(context.model, context.model.chains, self._params)
        direction, info = curvature.minres(
            metric, gradient, max_iter=group["max_iter"], tol=group["tol"],
            damping=group["damping"],
            x0=state.get("direction") if group["warm_start"] else None,
        )
        for p, update in zip(
            self._params, curvature.unflatten_like(direction, self._params), strict=True
        ):
            p.add_(update, alpha=-group["lr"])

        state["metric_products"] += info.matvecs
        state["solver_iterations"] = info.iterations
        if group["warm_start"]:
            state["direction"] = direction
        state["n_iter"] += 1
        return loss


def build(params: MFNGParams, *, model: nn.Module) -> MetricFreeNaturalGradient:
    """Build the optimizer for a run (``use = "metric-free-natural-gradient"``)."""
    return MetricFreeNaturalGradient(
        [p for p in model.parameters() if p.requires_grad],
        lr=params.lr, damping=params.damping, max_iter=params.max_iter, tol=params.tol,
        warm_start=params.warm_start,
    )
