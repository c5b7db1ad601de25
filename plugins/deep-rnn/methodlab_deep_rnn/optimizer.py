"""Adam with global gradient-norm clipping, the safeguard the paper trains its RNNs with."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import nn

from methodlab_deep_rnn.config import ClippedAdamParams

__all__ = ["ClippedAdam", "build_clipped_adam", "clip_by_global_norm_"]


@torch.no_grad()
def clip_by_global_norm_(grads: Iterable[torch.Tensor], max_norm: float) -> float:
    """Rescale ``grads`` in place so that their joint 2-norm is at most ``max_norm``.

    .. math:: g \\leftarrow g \\cdot \\min\\left(1, \\frac{\\tau}{\\lVert g \\rVert_2}\\right)

    Unlike ``torch.nn.utils.clip_grad_norm_``, a non-finite norm leaves the gradients untouched
    (scaling by inf/nan would write NaN into every gradient).

    :returns: the norm before clipping (``inf`` or ``nan`` when it is not finite).

    Example:
        >>> g = [torch.tensor([3.0]), torch.tensor([4.0])]
        >>> clip_by_global_norm_(g, 1.0), [round(float(x), 6) for x in torch.cat(g)]
        (5.0, [0.6, 0.8])
    """
    grads = list(grads)
    if not grads:
        return 0.0
    norm = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g)
                                                       for g in grads])))
    if math.isfinite(norm) and norm > max_norm:
        for g in grads:
            g.mul_(max_norm / norm)
    return norm


class ClippedAdam(torch.optim.Adam):
    """``torch.optim.Adam`` on gradients clipped to a global 2-norm of ``max_norm``.

    A step whose gradient norm is not finite is skipped (parameters and moments unchanged)
    and counted in ``param_groups[0]["skipped_steps"]``, which the state dict carries.

    References:
        On the difficulty of training Recurrent Neural Networks (Pascanu, Mikolov & Bengio,
        2013), https://arxiv.org/abs/1211.5063, Algorithm 1;
        Adam: A Method for Stochastic Optimization (Kingma & Ba, 2015),
        https://arxiv.org/abs/1412.6980.

    Example:
        >>> w = nn.Parameter(torch.tensor([1.0]))
        >>> opt = ClippedAdam([w], lr=0.1, max_norm=1.0)
        >>> (w * 1e3).sum().backward(); _ = opt.step()
        >>> round(w.item(), 4)
        0.9
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 max_norm: float = 1.0) -> None:
        if not max_norm > 0.0:
            raise ValueError(f"max_norm must be positive, got {max_norm}")
        super().__init__(params, lr=lr, betas=betas, eps=eps)
        if len(self.param_groups) != 1:
            raise ValueError("ClippedAdam clips over all parameters jointly and takes one "
                             f"parameter group, got {len(self.param_groups)}")
        self.max_norm = max_norm
        self.param_groups[0]["skipped_steps"] = 0

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        grads = [p.grad for group in self.param_groups for p in group["params"]
                 if p.grad is not None]
        if not math.isfinite(clip_by_global_norm_(grads, self.max_norm)):
            self.param_groups[0]["skipped_steps"] += 1
            return loss
        super().step()
        return loss


def build_clipped_adam(params: ClippedAdamParams, *, model: nn.Module) -> ClippedAdam:
    return ClippedAdam(model.parameters(), lr=params.lr, betas=params.betas, eps=params.eps,
                       max_norm=params.max_norm)
