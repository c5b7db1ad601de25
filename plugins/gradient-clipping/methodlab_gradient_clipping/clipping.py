"""Gradient-norm clipping that refuses non-finite norms (Pascanu et al., 2013, Algorithm 1).

.. math::
    \\hat g = \\begin{cases} \\tau\\, g / \\lVert g \\rVert & \\lVert g \\rVert > \\tau \\\\
                             g & \\text{otherwise} \\end{cases}

with ‖g‖ the Euclidean norm over all parameters together. ``torch.nn.utils.clip_grad_norm_``
rescales by a NaN or infinite norm without complaint (pytorch/pytorch#46849, #55169), which
writes NaN into the parameters; here such a step is never applied.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable

import torch
from methodlab.errors import UserError
from torch import nn

from methodlab_gradient_clipping.config import NONFINITE_POLICIES, ClippedSGDParams

__all__ = ["ClippedSGD", "NonFiniteGradientError", "clip_by_norm", "gradient_norm"]

log = logging.getLogger(__name__)


class NonFiniteGradientError(UserError, FloatingPointError):
    """The gradient norm was NaN or infinite and the optimizer was told to raise.

    A :class:`~methodlab.errors.UserError`, so ``methodlab run`` stops with one line
    naming the step and the norm (exit status 2); earlier checkpoints are kept.
    """


def gradient_norm(grads: Iterable[torch.Tensor]) -> torch.Tensor:
    """‖g‖ over all tensors together, accumulated in float64.

    Example:
        >>> float(gradient_norm([torch.tensor([3.0]), torch.tensor([[4.0]])]))
        5.0
    """
    total = torch.zeros((), dtype=torch.float64)
    for grad in grads:
        total = total + grad.detach().double().pow(2).sum().cpu()
    return total.sqrt()


def clip_by_norm(grads: list[torch.Tensor], threshold: float) -> float:
    """Rescale ``grads`` in place to norm ``threshold`` when their norm exceeds it.

    :returns: the norm before clipping.
    :raises NonFiniteGradientError: when the norm is NaN or infinite; ``grads`` are then
        left unchanged.

    Example:
        >>> g = [torch.tensor([3.0, 4.0])]
        >>> clip_by_norm(g, 1.0), g[0].tolist()
        (5.0, [0.6000000238418579, 0.800000011920929])
        >>> clip_by_norm([torch.tensor([float("inf")])], 1.0)
        Traceback (most recent call last):
        ...
        methodlab_gradient_clipping.clipping.NonFiniteGradientError: gradient norm is inf
    """
    norm = float(gradient_norm(grads))
    if not math.isfinite(norm):
        raise NonFiniteGradientError(f"gradient norm is {norm}")
    if norm > threshold:
        for grad in grads:
            grad.mul_(threshold / norm)
    return norm


class ClippedSGD(torch.optim.Optimizer):
    """SGD on the norm-clipped gradient, optionally with heavy-ball momentum.

    .. math::
        v \\leftarrow \\mu v + \\hat g, \\qquad \\theta \\leftarrow \\theta - \\eta v

    References:
        On the difficulty of training recurrent neural networks (Pascanu, Mikolov & Bengio,
        2013), https://arxiv.org/abs/1211.5063

    Arguments:
        params: the parameters (one group: the norm is taken over all of them).
        lr: step size η (default: 0.01).
        momentum: μ (default: 0).
        threshold: τ; ``math.inf`` gives plain SGD (default: 1).
        nonfinite: ``"skip"`` refuses the update on a NaN or infinite ‖g‖ (parameters and
            momentum unchanged, ``skipped_steps`` + 1, a warning with the step and the
            norm) or ``"raise"`` raises :class:`NonFiniteGradientError` (default: skip).

    Returns:
        ``step`` returns the closure's loss (or ``None``).

    Example:
        >>> w = nn.Parameter(torch.tensor([1.0]))
        >>> opt = ClippedSGD([w], lr=0.1, threshold=1.0)
        >>> w.grad = torch.tensor([30.0])
        >>> _ = opt.step(); round(w.item(), 6), opt.last_norm
        (0.9, 30.0)
        >>> w.grad = torch.tensor([float("nan")])
        >>> _ = opt.step(); round(w.item(), 6), opt.skipped_steps
        (0.9, 1)

    .. note::
        The authors' code replaces a step whose norm is non-finite (or above 1e10) by a
        shrink of W, 0.02 W, and zeros elsewhere. Here the step is skipped or raises.
    """

    def __init__(self, params: Iterable[nn.Parameter] | Iterable[dict], lr: float = 0.01,
                 momentum: float = 0.0, threshold: float = 1.0,
                 nonfinite: str = "skip") -> None:
        if not lr > 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"Invalid momentum: {momentum} (need 0 <= momentum < 1)")
        if not threshold > 0.0:  # also rejects NaN
            raise ValueError(f"Invalid threshold: {threshold} (need > 0; inf disables "
                             "clipping)")
        if nonfinite not in NONFINITE_POLICIES:
            raise ValueError(f"Invalid nonfinite: {nonfinite!r}; use one of "
                             f"{', '.join(NONFINITE_POLICIES)}")
        defaults = {"lr": lr, "momentum": momentum, "threshold": threshold,
                    "nonfinite": nonfinite}
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("ClippedSGD clips the norm over all parameters together: pass "
                             "one parameter group")
        self._params: list[nn.Parameter] = self.param_groups[0]["params"]

    @property
    def _global(self) -> dict:
        # Optimizer-wide counters live on the first parameter, like L-BFGS's state.
        state = self.state[self._params[0]]
        state.setdefault("steps", 0)
        state.setdefault("skipped_steps", 0)
        state.setdefault("last_norm", math.nan)
        return state

    @property
    def skipped_steps(self) -> int:
        """Updates refused because ‖g‖ was NaN or infinite."""
        return int(self._global["skipped_steps"])

    @property
    def last_norm(self) -> float:
        """‖g‖ of the last step, before clipping."""
        return float(self._global["last_norm"])

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        group = self.param_groups[0]
        state = self._global
        state["steps"] += 1
        params = [p for p in self._params if p.grad is not None]
        grads = [p.grad for p in params]
        try:
            state["last_norm"] = clip_by_norm(grads, group["threshold"])
        except NonFiniteGradientError as exc:
            state["last_norm"] = float(gradient_norm(grads))
            if group["nonfinite"] == "raise":
                raise NonFiniteGradientError(f"step {state['steps']}: {exc}") from None
            state["skipped_steps"] += 1
            log.warning("ClippedSGD step %d: gradient norm is %s; update skipped (%d so far)",
                        state["steps"], state["last_norm"], state["skipped_steps"])
            return loss
        for param, grad in zip(params, grads, strict=True):
            if group["momentum"]:
                buffer = self.state[param].get("momentum_buffer")
                if buffer is None:
                    buffer = self.state[param]["momentum_buffer"] = grad.clone()
                else:
                    buffer.mul_(group["momentum"]).add_(grad)
                grad = buffer
            param.add_(grad, alpha=-group["lr"])
        return loss


def build_clipped_sgd(params: ClippedSGDParams, *, model: nn.Module) -> ClippedSGD:
    """Factory of optimizer ``clipped-sgd``."""
    return ClippedSGD(model.parameters(), lr=params.lr, momentum=params.momentum,
                      threshold=params.threshold, nonfinite=params.nonfinite)
