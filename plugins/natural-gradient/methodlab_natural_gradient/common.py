r"""What every optimizer of this plugin shares: one flat parameter vector and a step context.

The optimizers here (natural gradient, Hessian-free, Krylov subspace descent, TONGA, NatCG)
all work on the flat vector :math:`\theta \in \mathbb R^P` of one parameter group, need the
model, the loss and the batch of the update (:class:`~methodlab.step.StepContext`), and
estimate curvature on the labeled batch or on the environment's unlabeled curvature inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from methodlab import curvature
from methodlab.components import Batch, OutputLoss
from methodlab.step import StepContext
from torch import Tensor
from torch.func import functional_call

__all__ = ["ContextOptimizer", "levenberg_marquardt", "quadratic_model"]


def levenberg_marquardt(
    damping: float, rho: float, *, boost: float, drop: float, min_damping: float
) -> float:
    r"""Adapt the damping to how well the quadratic model predicted the loss change.

    .. math::

        \lambda \leftarrow \begin{cases}
            \lambda \cdot \text{boost} & \rho < \tfrac14 \text{ (or } \rho \text{ undefined)}\\
            \max(\lambda \cdot \text{drop}, \lambda_{\min}) & \rho > \tfrac34 \\
            \lambda & \text{otherwise}
        \end{cases}

    Arguments:
        damping: the current :math:`\lambda`.
        rho: reduction ratio :math:`\rho` = actual / predicted loss change.
        boost: factor (> 1) applied when the model was too optimistic.
        drop: factor (< 1) applied when the model was accurate.
        min_damping: floor :math:`\lambda_{\min}` of decreases.

    Example:
        >>> levenberg_marquardt(1.0, 0.9, boost=1.5, drop=0.5, min_damping=0.0)
        0.5
    """
    if math.isnan(rho) or rho < 0.25:
        return damping * boost
    if rho > 0.75:
        return max(damping * drop, min_damping)
    return damping


def quadratic_model(gradient: Tensor, step: Tensor, curvature_step: Tensor) -> float:
    r"""The predicted loss change :math:`q(\delta) = g^\top \delta + \tfrac12 \delta^\top G \delta`.

    Shapes:
        gradient, step, curvature_step (:math:`G\delta`): :math:`(P,)`.

    Example:
        >>> quadratic_model(torch.tensor([1.0]), torch.tensor([-1.0]), torch.tensor([-2.0]))
        0.0
    """
    return float(gradient.dot(step)) + 0.5 * float(step.dot(curvature_step))


class ContextOptimizer(torch.optim.Optimizer):
    """Base of the plugin's optimizers: one parameter group stepped with a StepContext.

    Like :class:`torch.optim.LBFGS`, subclasses support a single parameter group and keep
    their global state on the first parameter, so that ``load_state_dict`` casts its tensors
    to the parameters' dtype and device; state holds only tensors and Python numbers, so it
    survives ``torch.load(..., weights_only=True)``.
    """

    needs_step_context = True
    """Step with ``step(closure, context=StepContext)`` (see :mod:`methodlab.step`)."""

    def __init__(
        self, params: Iterable[Tensor] | Iterable[dict[str, Any]], defaults: dict[str, Any]
    ) -> None:
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(
                f"{type(self).__name__} doesn't support per-parameter options (parameter groups)"
            )
        self._params: list[Tensor] = self.param_groups[0]["params"]

    _counters: tuple[str, ...] = ()
    """Names of the cost counters (curvature products, ...) the subclass keeps in its state."""
    _adapts_damping = False
    """Whether the state carries a Levenberg-Marquardt damping, started at ``damping``."""

    def _state(self) -> dict[str, Any]:
        # Global state lives on the first parameter, as in LBFGS, so that load_state_dict
        # casts its tensors to the parameters' dtype and device.
        state = self.state[self._params[0]]
        if not state:
            state.update(n_iter=0, func_evals=0, **dict.fromkeys(self._counters, 0))
            if self._adapts_damping:
                state["damping"] = float(self.param_groups[0]["damping"])
        return state

    def _update(
        self, context: StepContext, loss: Tensor, gradient: Tensor, state: dict[str, Any]
    ) -> None:
        """Move the parameters, given the loss and its flat gradient at the current point."""
        raise NotImplementedError

    @torch.no_grad()
    def step(  # type: ignore[override]
        self, closure: Callable[[], Tensor], context: StepContext | None = None
    ) -> Tensor:
        """Perform one update.

        Arguments:
            closure: re-evaluates the loss on ``context.batch`` with gradients and returns
                it (``context.closure_for(optimizer)``).
            context: the model, the :class:`~methodlab.components.OutputLoss` and the batch
                the curvature is formed from.

        Returns:
            The loss before the update (detached).

        :raises ValueError: without a closure or a context.
        """
        context = self._check_step_args(closure, context)
        state = self._state()
        loss = torch.enable_grad()(closure)().detach()
        state["func_evals"] += 1
        gradient = self._gather_flat_grad()
        if bool(gradient.any()):
            self._update(context, loss, gradient, state)
        state["n_iter"] += 1
        return loss

    def _adapt_damping(
        self, state: dict[str, Any], change: float, predicted: float
    ) -> None:
        """Levenberg-Marquardt on :math:`\rho` = actual / predicted loss change."""
        group = self.param_groups[0]
        rho = change / predicted if predicted < 0.0 else math.nan
        state["rho"] = rho
        state["damping"] = levenberg_marquardt(
            state["damping"], rho, boost=group["damping_boost"],
            drop=group["damping_drop"], min_damping=group["min_damping"],
        )

    def _gather_flat_grad(self) -> Tensor:
        return curvature.flatten(
            torch.zeros_like(p) if p.grad is None else p.grad for p in self._params
        )

    def _add(self, alpha: float, direction: Tensor) -> None:
        for p, update in zip(
            self._params, curvature.unflatten_like(direction, self._params), strict=True
        ):
            p.add_(update, alpha=alpha)

    def _flat_params(self) -> Tensor:
        return curvature.flatten(p.detach() for p in self._params).clone()

    def _set_params(self, theta: Tensor) -> None:
        for p, value in zip(
            self._params, curvature.unflatten_like(theta, self._params), strict=True
        ):
            p.copy_(value)

    def _loss_at(self, context: StepContext, theta: Tensor) -> float:
        """Set the parameters to ``theta`` and return the loss on the batch there."""
        self._set_params(theta)
        return self._loss_at_current(context)

    def _check_step_args(
        self, closure: Callable[[], Tensor] | None, context: StepContext | None
    ) -> StepContext:
        if closure is None or context is None:
            raise ValueError(
                f"{type(self).__name__}.step needs the closure and a StepContext to form "
                "curvature products: ctx = StepContext(model=model, loss=output_loss, "
                "batch=Batch(x, y)); optimizer.step(ctx.closure_for(optimizer), context=ctx)"
            )
        return context

    def _loss_at_current(self, context: StepContext, batch: Any = None) -> float:
        """The loss on ``batch`` (default: the context's) at the current parameters."""
        with torch.no_grad(), curvature.frozen_batchnorm_stats(context.model):
            return float(context.loss(context.model, context.batch if batch is None else batch))

    def functional_loss(self, context: StepContext) -> Callable[[Tensor, Any, Any], Tensor]:
        r"""The loss as a differentiable function of the flat parameters and the data.

        :math:`(\theta, x, y) \mapsto \ell(f_\theta(x), y)` for ``torch.func``
        transforms; BatchNorm running statistics are left untouched."""
        by_id = {id(p): name for name, p in context.model.named_parameters()}
        names = [by_id[id(p)] for p in self._params]

        def loss(theta: Tensor, inputs: Any, targets: Any) -> Tensor:
            values = dict(zip(names, curvature.unflatten_like(theta, self._params), strict=True))
            with curvature.frozen_batchnorm_stats(context.model):
                outputs = functional_call(context.model, values, (inputs,))
            return context.loss.from_outputs(outputs, targets)

        return loss

    def curvature_rows(
        self, context: StepContext, *, source: str, batch_size: int, seed: int
    ) -> tuple[Any, Any]:
        """Inputs and targets (``None`` when unlabeled) the curvature is estimated on.

        ``source="curvature"`` takes ``context.curvature_inputs`` (the training inputs when
        there are none); ``batch_size`` > 0 draws that many rows without replacement from a
        generator seeded with ``seed`` (so the draw is the same after a checkpoint round
        trip).

        :raises TypeError: if ``context.loss`` is not an
            :class:`~methodlab.components.OutputLoss` or ``context.batch`` not a
            :class:`~methodlab.components.Batch`.
        """
        name = type(self).__name__
        if not isinstance(context.loss, OutputLoss):
            raise TypeError(
                f"{name} needs an OutputLoss (a loss computed from model(inputs) with "
                f"from_outputs) to form Fisher products; got {type(context.loss).__name__}"
            )
        if not isinstance(context.batch, Batch):
            raise TypeError(
                f"{name} needs context.batch to be a methodlab.components.Batch "
                f"(inputs, targets); got {type(context.batch).__name__}"
            )
        inputs, targets = context.batch.inputs, context.batch.targets
        if source == "curvature" and context.curvature_inputs is not None:
            unlabeled = context.curvature_inputs
            inputs = unlabeled.inputs if isinstance(unlabeled, Batch) else unlabeled
            targets = None
        if 0 < batch_size < len(inputs):
            generator = torch.Generator().manual_seed(seed)
            rows = torch.randperm(len(inputs), generator=generator)[:batch_size]
            rows = rows.to(inputs.device)
            inputs = inputs[rows]
            targets = None if targets is None else targets[rows]
        return inputs, targets

    def ggn(
        self, context: StepContext, *, source: str, batch_size: int, seed: int
    ) -> curvature.MatVec:
        """The Gauss-Newton (Fisher) product on :meth:`curvature_rows`, at the current point."""
        inputs, targets = self.curvature_rows(
            context, source=source, batch_size=batch_size, seed=seed
        )
        return curvature.ggn_operator(
            context.model, context.loss, inputs, params=self._params, targets=targets
        )
