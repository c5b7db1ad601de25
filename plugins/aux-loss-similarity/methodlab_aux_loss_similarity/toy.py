r"""The paper's 2-D toy: two quadratic losses of a point θ ∈ ℝ², steepest descent.

.. math::

    L_m(\theta) = \sum_i s^m_i (\theta_i - a_i)^2, \qquad
    L_a(\theta) = \sum_i s^a_i (\theta_i - b_i)^2.

With the auxiliary minimum ``b`` far from the main one ``a``, the naive sum converges to the
minimum of :math:`L_m + L_a` (for equal isotropic scales the midpoint, where
:math:`L_m = \|a - b\|^2 / 4`); the gated updates add :math:`g_a` only outside the disc with
diameter ``ab`` (where :math:`\cos(g_m, g_a) > 0`) and converge to ``a``. With ``b`` near
``a`` the auxiliary gradient mostly agrees with the main one and speeds descent up.

The model is any module whose output on the environment's single dummy input is the point θ:
the ``point`` model (a free parameter vector with a random start) is the paper's setting.
The environment records the first update count at which :math:`L_m < 0.1` (the paper's
"convergence time"); the ``convergence`` evaluator reports it.

References:
    Du et al. (2018), "Adapting auxiliary losses using gradient similarity",
    arXiv:1812.02224, Figure 1 (600 iterations, step 0.01, random starts).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch
from methodlab.components import Batch, EnvInfo, Environment, Evaluator, Loss
from torch import nn

from methodlab_aux_loss_similarity.config import (
    ConvergenceParams,
    PointParams,
    ToyQuadraticsParams,
)

__all__ = ["ConvergenceEvaluator", "Point", "ToyQuadratics", "build_convergence",
           "build_point", "build_toy"]


class Point(nn.Module):
    """A free vector θ ``(D,)``; the output is θ for every input row.

    Shapes:
        input ``(B, ...)``; output ``(B, D)``.

    Example:
        >>> torch.manual_seed(0) and None
        >>> point = Point(2, -1.0, 1.0)
        >>> point(torch.zeros(3, 2)).shape
        torch.Size([3, 2])
    """

    def __init__(self, dim: int = 2, low: float = -5.0, high: float = 5.0) -> None:
        super().__init__()
        self.low, self.high = low, high
        self.theta = nn.Parameter(low + (high - low) * torch.rand(dim))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.theta.expand(len(inputs), -1)

    def extra_repr(self) -> str:
        return f"dim={len(self.theta)}, start uniform on [{self.low}, {self.high}]"


class ToyQuadratics(Environment):
    """Main and auxiliary quadratics of the model's point; tracks the convergence time.

    Every batch is the same dummy input ``(1, 2)``. ``objectives`` gives
    :math:`(L_m, [L_a])` of the point ``model(inputs)[0]``.

    Example:
        >>> env = ToyQuadratics(ToyQuadraticsParams(aux_centre=(2.0, 0.0)), torch.float64)
        >>> point = Point(2)
        >>> with torch.no_grad():
        ...     _ = point.theta.copy_(torch.tensor([1.0, 0.0]))
        >>> [round(float(x.detach()), 6) for x in env.losses(point)]
        [1.0, 1.0]
    """

    def __init__(self, params: ToyQuadraticsParams, dtype: torch.dtype,
                 device: str = "cpu") -> None:
        def tensor(values: tuple[float, ...]) -> torch.Tensor:
            return torch.tensor(values, dtype=dtype, device=device)

        self.params = params
        self.main_centre, self.aux_centre = tensor(params.main_centre), tensor(params.aux_centre)
        self.main_scale, self.aux_scale = tensor(params.main_scale), tensor(params.aux_scale)
        self.batch = Batch(torch.zeros(1, 2, dtype=dtype, device=device))
        self.info = EnvInfo(2, 2, "toy", 1)
        self.converged = -1
        """First update count with L_main < threshold (-1: not yet)."""
        self.last = -1
        """The latest step served; the model has had ``last + 1`` updates after it."""

    def losses(self, model: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        """``(L_main, L_aux)`` at the model's point."""
        theta = model(self.batch.inputs)[0]  # (2,)
        main = (self.main_scale * (theta - self.main_centre).pow(2)).sum()
        aux = (self.aux_scale * (theta - self.aux_centre).pow(2)).sum()
        return main, aux

    def objectives(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, list[torch.Tensor]]:
        main, aux = self.losses(model)
        return main, [aux]

    def train_batch(self, step: int, model: nn.Module) -> Batch:
        # The model has had `step` updates: record the first time L_main is below threshold.
        if self.converged < 0:
            with torch.no_grad():
                main, _ = self.losses(model)
            if float(main) < self.params.threshold:
                self.converged = step
        self.last = step
        return self.batch

    def split(self, name: str) -> Iterator[Batch]:
        if name != "train":
            raise KeyError(f"unknown split {name!r}; this environment has ['train']")
        yield self.batch

    def state_dict(self) -> dict[str, Any]:
        return {"converged": self.converged, "last": self.last}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.converged, self.last = int(state["converged"]), int(state["last"])


class ConvergenceEvaluator(Evaluator):
    """Metrics ``main`` (L_main), ``aux`` (L_aux) and ``converged_step``: the first update
    count with L_main < threshold; a run that has not converged reports one more than its
    update count (a lower bound), so medians stay finite and comparable."""

    @torch.no_grad()
    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        if not isinstance(env, ToyQuadratics):
            raise TypeError(f"the convergence evaluator needs toy-quadratics, not "
                            f"{type(env).__name__}")
        main, aux = env.losses(model)
        updates = env.last + 1
        if env.converged >= 0:
            step = env.converged
        elif float(main) < env.params.threshold:
            step = updates
        else:
            step = updates + 1
        return {"main": float(main), "aux": float(aux), "converged_step": float(step)}


def build_toy(params: ToyQuadraticsParams, *, seed: int, device: str,
              dtype: torch.dtype) -> ToyQuadratics:
    return ToyQuadratics(params, dtype, device)


def build_point(params: PointParams, *, env: Environment) -> Point:
    return Point(env.info.in_features, params.low, params.high)


def build_convergence(params: ConvergenceParams, *, env: Environment) -> ConvergenceEvaluator:
    return ConvergenceEvaluator()
