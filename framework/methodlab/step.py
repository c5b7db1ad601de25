"""One optimizer update, and the context given to optimizers that need more than a gradient.

Plain ``torch.optim`` optimizers are stepped as in any PyTorch loop: zero the gradients,
compute the loss, back-propagate, ``optimizer.step()``. An optimizer class that sets
``needs_step_context = True`` (natural gradient, Hessian-free, ...) is instead called as
``optimizer.step(closure, context=ctx)`` with a :class:`StepContext` that exposes the model,
the loss and the batch, from which it can compute curvature-vector products.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    import torch
    from torch import nn

    from methodlab.components import Loss

__all__ = ["StepContext", "optimizer_step"]


@attrs.frozen
class StepContext:
    """What an optimizer may use besides gradients during one update.

    Example (outside a methodlab run)::

        ctx = StepContext(model=net, loss=loss_fn, batch=Batch(x, y))
        optimizer.step(ctx.closure_for(optimizer), context=ctx)
    """

    model: nn.Module
    """The model being trained (in training mode)."""
    loss: Loss
    """The run's loss; an :class:`~methodlab.components.OutputLoss` enables Gauss-Newton
    products via ``loss.from_outputs``."""
    batch: Any
    """The training batch of this update."""
    step: int = 0
    """0-based index of this update."""
    curvature_inputs: Any = None
    """Inputs for curvature estimates from ``Environment.curvature_batch``, or ``None``."""

    def closure_for(self, optimizer: torch.optim.Optimizer) -> Callable[[], torch.Tensor]:
        """Return a closure that zeroes gradients, evaluates the loss and back-propagates."""

        def closure() -> torch.Tensor:
            optimizer.zero_grad(set_to_none=True)
            value = self.loss(self.model, self.batch)
            value.backward()
            return value

        return closure


def optimizer_step(
    optimizer: torch.optim.Optimizer,
    model: nn.Module,
    loss: Loss,
    batch: Any,
    step: int = 0,
    curvature_inputs: Any = None,
) -> torch.Tensor:
    """Perform one update and return the loss at the parameters before it.

    :returns: the scalar loss tensor (detached) evaluated on ``batch`` before the update.
    """
    context = StepContext(model, loss, batch, step, curvature_inputs)
    closure = context.closure_for(optimizer)
    if getattr(optimizer, "needs_step_context", False):
        value = optimizer.step(closure, context=context)
    else:
        value = closure()
        optimizer.step()
    return value.detach()
