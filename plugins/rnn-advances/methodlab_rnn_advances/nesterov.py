r"""Nesterov momentum in the reformulation of Bengio, Boulanger-Lewandowski & Pascanu (2013)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from methodlab_rnn_advances.config import NesterovSGDParams

__all__ = ["NesterovSGD", "build_nesterov_sgd", "nesterov_sgd"]


class NesterovSGD(torch.optim.Optimizer):
    r"""Stochastic gradient descent with reformulated Nesterov momentum and norm clipping.

    Classical Nesterov accelerated gradient (NAG) evaluates the gradient at the look-ahead
    point :math:`\theta_{t-1} + \mu_{t-1} v_{t-1}`. Bengio et al. keep the look-ahead point
    itself, :math:`\Theta_t = \theta_t + \mu_t v_t`, as the parameters, so the gradient is
    taken at the parameters as in plain SGD:

    .. math::

        v_t &= \mu_{t-1} v_{t-1} - \varepsilon_{t-1} \nabla f(\Theta_{t-1}) \\
        \Theta_t &= \Theta_{t-1} - \mu_{t-1} v_{t-1} + (1 + \mu_t) v_t

    :math:`\mu_t` is the group's ``momentum`` at call :math:`t` and :math:`\mu_{t-1}` the
    value of the previous call (kept in the state), so a momentum schedule gives exactly the
    NAG trajectory with that schedule. With constant ε and μ the update equals
    ``torch.optim.SGD(nesterov=True)``; they differ when ε changes, because here ε is folded
    into the velocity.

    Before the update the gradient is rescaled to norm at most ``max_grad_norm`` (Pascanu et
    al., 2013); the norm is taken over all of a group's parameters together (the whole model
    when there is one group). A non-finite norm skips the whole update (velocities untouched)
    and counts it in ``skipped_steps`` on the first parameter's state.

    References:
        Advances in optimizing recurrent networks (Bengio, Boulanger-Lewandowski & Pascanu,
        ICASSP 2013), https://arxiv.org/abs/1212.0901

    Arguments:
        params: parameters or parameter groups.
        lr: step size ε (default: 0.01).
        momentum: μ in [0, 1) (default: 0.9).
        max_grad_norm: clipping threshold, 0 for none (default: 0).

    Example:
        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> opt = NesterovSGD([w], lr=0.1, momentum=0.5)
        >>> for _ in range(2):
        ...     opt.zero_grad()
        ...     (w ** 2).sum().backward()
        ...     _ = opt.step()
        >>> w.detach()  # v1 = -0.2, Θ1 = 0.7; v2 = -0.24, Θ2 = 0.7 + 0.1 - 0.36
        tensor([0.4400])
    """

    def __init__(self, params: Iterable[Any], lr: float = 0.01, momentum: float = 0.9,
                 max_grad_norm: float = 0.0) -> None:
        if not lr > 0.0:
            raise ValueError(f"Invalid learning rate: {lr} (must be > 0)")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"Invalid momentum: {momentum} (must be in [0, 1))")
        if not max_grad_norm >= 0.0:
            raise ValueError(f"Invalid max_grad_norm: {max_grad_norm} (0 disables clipping)")
        super().__init__(params, {"lr": lr, "momentum": momentum,
                                  "max_grad_norm": max_grad_norm})

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """Perform one update; ``closure`` re-evaluates the loss (optional)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            if group["max_grad_norm"] > 0.0:
                norm = float(torch.linalg.vector_norm(
                    torch.stack([torch.linalg.vector_norm(g) for g in grads])))
                if not math.isfinite(norm):
                    first = self.state[params[0]]
                    first["skipped_steps"] = first.get("skipped_steps", 0) + 1
                    continue
                if norm > group["max_grad_norm"]:
                    grads = [g * (group["max_grad_norm"] / norm) for g in grads]
            velocities, previous = [], []
            for p in params:
                state = self.state[p]
                if "velocity" not in state:
                    state["velocity"] = torch.zeros_like(p)
                    state["momentum"] = 0.0  # v_0 = 0, so μ_{-1} never matters
                velocities.append(state["velocity"])
                previous.append(state["momentum"])
                state["momentum"] = group["momentum"]
            nesterov_sgd(params, grads, velocities, previous, lr=group["lr"],
                         momentum=group["momentum"])
        return loss


def nesterov_sgd(params: list[torch.Tensor], grads: list[torch.Tensor],
                 velocities: list[torch.Tensor], previous_momenta: list[float], *, lr: float,
                 momentum: float) -> None:
    r"""In place: :math:`v \leftarrow \mu_{t-1} v - \varepsilon g` and
    :math:`\Theta \leftarrow \Theta - \mu_{t-1} v_{old} + (1 + \mu_t) v`.

    Shapes:
        each ``params[i]``, ``grads[i]`` and ``velocities[i]`` alike.
    """
    for param, grad, velocity, mu_prev in zip(params, grads, velocities, previous_momenta,
                                              strict=True):
        param.add_(velocity, alpha=-mu_prev)
        velocity.mul_(mu_prev).add_(grad, alpha=-lr)
        param.add_(velocity, alpha=1.0 + momentum)


def build_nesterov_sgd(params: NesterovSGDParams, *, model: nn.Module) -> NesterovSGD:
    return NesterovSGD(model.parameters(), lr=params.lr, momentum=params.momentum,
                       max_grad_norm=params.max_grad_norm)
