r"""Saddle-free Newton, exact and Krylov (Dauphin et al., 2014), and damped Newton.

All three optimizers take the same kind of step: they eigendecompose a curvature matrix
(exactly, or in a Krylov subspace), rescale the gradient by its damped inverse and keep the
damping λ (and, optionally, step length α) with the lowest loss on the batch. They differ only
in the eigenvalues they divide by:

.. math::

    \text{damped Newton:}\quad \Delta\theta &= -(H + \lambda I)^{-1} g \\
    \text{saddle-free Newton:}\quad \Delta\theta &= -(|H| + \lambda I)^{-1} g,
        \qquad |H| = U |\Lambda| U^\top \text{ for } H = U \Lambda U^\top

Along an eigenvector with eigenvalue :math:`\lambda_i < 0` Newton's step
:math:`-g_i / \lambda_i` points up the slope, towards the saddle; saddle-free Newton's
:math:`-g_i / |\lambda_i|` points down it, away from the saddle, with a step that grows as the
curvature flattens, so it leaves the plateaus around saddles that slow gradient descent.

References:
    Identifying and attacking the saddle point problem in high-dimensional non-convex
    optimization (Dauphin, Pascanu, Gulcehre, Cho, Ganguli & Bengio, 2014)
    https://arxiv.org/abs/1406.2572

    On the saddle point problem for non-convex optimization (Pascanu, Dauphin, Ganguli &
    Bengio, 2014) https://arxiv.org/abs/1405.4604
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

import torch
from methodlab import curvature
from methodlab.components import OutputLoss
from methodlab.step import StepContext
from torch import Tensor, nn

from methodlab_saddle_free_newton.config import (
    DampedNewtonParams,
    KrylovSaddleFreeNewtonParams,
    SaddleFreeNewtonParams,
)
from methodlab_saddle_free_newton.hessian import dense_hessian

__all__ = [
    "DampedNewton",
    "KrylovSaddleFreeNewton",
    "SaddleFreeNewton",
    "build_damped_newton",
    "build_krylov_saddle_free_newton",
    "build_saddle_free_newton",
    "damped_inverse",
    "krylov_saddle_free_direction",
    "saddle_free_direction",
]


# -------------------------------------------------------------------------------------------
# The step: a damped inverse in an eigenbasis
# -------------------------------------------------------------------------------------------


def damped_inverse(values: Tensor, vectors: Tensor, vector: Tensor, damping: float) -> Tensor:
    r"""Return :math:`V (\operatorname{diag}(\lambda) + \delta I)^{-1} V^\top v`.

    With a complete eigenbasis this is :math:`(A + \delta I)^{-1} v` for
    :math:`A = V \operatorname{diag}(\lambda) V^\top`; with :math:`m < P` orthonormal columns
    it solves the system inside their span (the Krylov step).

    Shapes:
        values: :math:`(m,)`; vectors: :math:`(P, m)`; vector: :math:`(P,)`; returns
        :math:`(P,)`.

    Example:
        >>> damped_inverse(torch.tensor([1.0, 4.0]), torch.eye(2), torch.tensor([2.0, 2.0]), 1.0)
        tensor([1.0000, 0.4000])
    """
    return vectors @ ((vectors.T @ vector) / (values + damping))


def saddle_free_direction(hessian: Tensor, gradient: Tensor, damping: float) -> Tensor:
    r"""Return the exact saddle-free Newton direction :math:`(|H| + \delta I)^{-1} g`.

    The update is :math:`\theta \leftarrow \theta - (|H| + \delta I)^{-1} g`.

    Shapes:
        hessian: :math:`(P, P)` symmetric; gradient: :math:`(P,)`; returns :math:`(P,)`.

    Example:
        >>> H = torch.diag(torch.tensor([2.0, -4.0]))  # a saddle at the origin
        >>> saddle_free_direction(H, H @ torch.tensor([1.0, 1.0]), 0.0)  # from (1, 1)
        tensor([ 1., -1.])
    """
    values, vectors = torch.linalg.eigh(hessian)
    return damped_inverse(values.abs(), vectors, gradient, damping)


def krylov_saddle_free_direction(
    hessian: curvature.MatVec, gradient: Tensor, krylov_dim: int, damping: float
) -> Tensor:
    r"""Return the Krylov saddle-free Newton direction :math:`V (|T| + \delta I)^{-1} V^\top g`.

    :math:`V` holds ``krylov_dim`` Lanczos vectors of :math:`H` started from :math:`g` (with
    full re-orthogonalisation, :func:`methodlab.curvature.lanczos`) and
    :math:`T = V^\top H V` is the Hessian of the loss restricted to their span;
    :math:`|T|` takes the absolute values of its eigenvalues (the Ritz values). When the
    subspace is :math:`H`-invariant (``krylov_dim`` equal to the dimension, in exact
    arithmetic) this equals :func:`saddle_free_direction`.

    Shapes:
        gradient: :math:`(P,)`; returns :math:`(P,)`.

    Example:
        >>> H = torch.diag(torch.tensor([2.0, -4.0, 1.0]))
        >>> krylov_saddle_free_direction(lambda v: H @ v, torch.tensor([2.0, -4.0, 1.0]), 3, 0.0)
        tensor([ 1.0000, -1.0000,  1.0000])
    """
    alphas, betas, basis = curvature.lanczos(hessian, gradient.numel(), krylov_dim, v0=gradient)
    values, vectors = curvature.ritz_pairs(alphas, betas, basis)
    return damped_inverse(values.abs(), vectors, gradient, damping)


# -------------------------------------------------------------------------------------------
# The optimizers
# -------------------------------------------------------------------------------------------


class _DampedEigenNewton(torch.optim.Optimizer):
    """Shared update: eigenpairs of a curvature matrix, then a line search over the damping.

    Subclasses say where the eigenpairs come from (:meth:`_eigenpairs`) and whether the
    eigenvalues are replaced by their absolute values (:attr:`absolute`).
    """

    needs_step_context = True
    """Step with ``step(closure, context=StepContext)`` (see :mod:`methodlab.step`)."""
    absolute: ClassVar[bool] = True

    def __init__(self, params: Iterable[Tensor], defaults: dict[str, Any]) -> None:
        dampings = tuple(float(d) for d in defaults["dampings"])
        if not dampings or any(not d >= 0.0 for d in dampings):
            raise ValueError(f"Invalid dampings: {list(dampings)} (need non-negative values)")
        step_sizes = tuple(float(a) for a in defaults["step_sizes"])
        if not step_sizes or any(not a > 0.0 for a in step_sizes):
            raise ValueError(f"Invalid step_sizes: {list(step_sizes)} (need positive values)")
        super().__init__(params, {**defaults, "dampings": dampings, "step_sizes": step_sizes})
        if len(self.param_groups) != 1:
            raise ValueError(
                f"{type(self).__name__} doesn't support per-parameter options (parameter groups)"
            )
        self._params: list[Tensor] = self.param_groups[0]["params"]

    def _state(self) -> dict[str, Any]:
        # Global state lives on the first parameter, as in LBFGS, so that load_state_dict
        # casts its tensors to the parameters' dtype and device.
        state = self.state[self._params[0]]
        if not state:
            state.update(n_iter=0, func_evals=0, hessian_products=0, rejected=0,
                         damping=math.nan, step_size=math.nan)
        return state

    def _gather_flat_grad(self) -> Tensor:
        return curvature.flatten(
            torch.zeros_like(p) if p.grad is None else p.grad for p in self._params
        )

    def _set(self, flat: Tensor) -> None:
        for p, value in zip(self._params, curvature.unflatten_like(flat, self._params),
                            strict=True):
            p.copy_(value)

    def _eigenpairs(self, context: StepContext, gradient: Tensor) -> tuple[Tensor, Tensor]:
        """Eigenvalues ``(m,)`` and orthonormal eigenvectors ``(P, m)`` of the curvature."""
        raise NotImplementedError

    def _hessian_inputs(self, context: StepContext) -> tuple[Any, Any]:
        if not isinstance(context.loss, OutputLoss):
            raise TypeError(
                f"{type(self).__name__} needs an OutputLoss (a loss computed from "
                f"model(inputs) with from_outputs) to form Hessian products; got "
                f"{type(context.loss).__name__}"
            )
        return context.batch.inputs, context.batch.targets

    def _batch_loss(self, context: StepContext) -> float:
        with curvature.frozen_batchnorm_stats(context.model):
            return float(context.loss(context.model, context.batch))

    def _line_search(
        self, context: StepContext, values: Tensor, vectors: Tensor, gradient: Tensor,
        loss: float,
    ) -> bool:
        r"""Move to :math:`\theta - \alpha V(\Lambda + \lambda I)^{-1}V^\top g` for the best λ, α.

        Tries every damping λ and step size α, keeps the pair with the lowest finite loss on
        the batch if it is below ``loss`` (else stays put) and returns whether a step was
        taken.
        """
        state = self._state()
        group = self.param_groups[0]
        start = curvature.flatten(self._params).clone()
        best_loss, best = loss, None
        for damping in group["dampings"]:
            direction = damped_inverse(values, vectors, gradient, damping)
            for step_size in group["step_sizes"]:
                self._set(start - step_size * direction)
                trial = self._batch_loss(context)
                state["func_evals"] += 1
                if math.isfinite(trial) and trial < best_loss:
                    best_loss, best = trial, (damping, step_size)
        if best is None:
            self._set(start)
            state["rejected"] += 1
            state["damping"] = state["step_size"] = math.nan
            return False
        state["damping"], state["step_size"] = best
        self._set(start - best[1] * damped_inverse(values, vectors, gradient, best[0]))
        return True

    def _subspace_steps(self) -> int:
        return 1

    @torch.no_grad()
    def step(  # type: ignore[override]
        self, closure: Callable[[], Tensor], context: StepContext | None = None
    ) -> Tensor:
        """Perform one update.

        Arguments:
            closure: re-evaluates the loss on ``context.batch`` with gradients and returns
                it (``context.closure_for(optimizer)``).
            context: the model, the :class:`~methodlab.components.OutputLoss` and the batch
                the Hessian is taken on.

        Returns:
            The loss before the update (detached).

        :raises ValueError: without a closure or a context.
        """
        if closure is None or context is None:
            raise ValueError(
                f"{type(self).__name__}.step needs the closure and a StepContext to form "
                "Hessian products: ctx = StepContext(model=model, loss=output_loss, "
                "batch=Batch(x, y)); optimizer.step(ctx.closure_for(optimizer), context=ctx)"
            )
        evaluate = torch.enable_grad()(closure)
        state = self._state()
        loss = evaluate()
        state["func_evals"] += 1
        gradient = self._gather_flat_grad()
        if bool(gradient.any()):
            values, vectors = self._eigenpairs(context, gradient)
            if self.absolute:
                values = values.abs()
            current = float(loss)
            for inner in range(self._subspace_steps()):
                if inner > 0:
                    current = float(evaluate())
                    state["func_evals"] += 1
                    gradient = self._gather_flat_grad()
                if not self._line_search(context, values, vectors, gradient, current):
                    break
        state["n_iter"] += 1
        return loss.detach()


class SaddleFreeNewton(_DampedEigenNewton):
    r"""Exact saddle-free Newton: :math:`\theta \leftarrow \theta - (|H| + \lambda I)^{-1} g`.

    Each update forms the Hessian :math:`H` of the batch loss densely
    (:func:`~methodlab_saddle_free_newton.hessian.dense_hessian`, :math:`P` Hessian-vector
    products), eigendecomposes it, :math:`H = U \Lambda U^\top`, and steps along

    .. math::

        \Delta\theta(\lambda) = -U (|\Lambda| + \lambda I)^{-1} U^\top g,
        \qquad (\lambda^\star, \alpha^\star) = \arg\min_{\lambda \in \text{dampings},\,
        \alpha \in \text{step sizes}} L\big(\theta + \alpha\, \Delta\theta(\lambda)\big)

    taking the step only if it lowers the batch loss (the paper's line search over the
    damping; the step sizes default to 1 alone). For networks with up to a few thousand
    parameters.

    References:
        Identifying and attacking the saddle point problem in high-dimensional non-convex
        optimization (Dauphin et al., 2014) https://arxiv.org/abs/1406.2572

    Arguments:
        params: parameters of the model passed in the step context (one group).
        dampings (sequence of float, optional): candidate damping values λ ≥ 0
            (default: 1, 0.1, 0.01, 0.001, 0.0001).
        step_sizes (sequence of float, optional): candidate step lengths α > 0 tried with
            every damping (default: 1).

    Example:
        >>> from methodlab.components import Batch
        >>> from methodlab.builtins.losses import CrossEntropy
        >>> _ = torch.manual_seed(0)
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).double()
        >>> x = torch.randn(60, 4, dtype=torch.float64)
        >>> ctx = StepContext(model=model, loss=CrossEntropy(), batch=Batch(x, x[:, :3].argmax(1)))
        >>> opt = SaddleFreeNewton(model.parameters())
        >>> first = opt.step(ctx.closure_for(opt), context=ctx)
        >>> for _ in range(9):
        ...     last = opt.step(ctx.closure_for(opt), context=ctx)
        >>> bool(last < 0.1 * first)
        True

    .. note::
        Like :class:`torch.optim.LBFGS`, this optimizer supports a single parameter group
        and keeps its counters (``n_iter``, ``func_evals``, ``hessian_products``,
        ``rejected``, the chosen ``damping`` and ``step_size``) on the first parameter's
        state; they are plain
        Python numbers, so the state survives ``torch.load(..., weights_only=True)``.
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        dampings: Sequence[float] = (1.0, 0.1, 0.01, 1e-3, 1e-4),
        step_sizes: Sequence[float] = (1.0,),
    ) -> None:
        super().__init__(params, {"dampings": dampings, "step_sizes": step_sizes})

    def _eigenpairs(self, context: StepContext, gradient: Tensor) -> tuple[Tensor, Tensor]:
        inputs, targets = self._hessian_inputs(context)
        hessian = dense_hessian(context.model, context.loss, inputs, targets,
                                params=self._params)
        self._state()["hessian_products"] += gradient.numel()
        return torch.linalg.eigh(hessian)


class DampedNewton(SaddleFreeNewton):
    r"""Damped Newton, the paper's baseline: :math:`\Delta\theta = -(H + \lambda I)^{-1} g`.

    The same update as :class:`SaddleFreeNewton` (exact Hessian, line search over the
    damping and optionally the step length) with the signed eigenvalues :math:`\Lambda` in
    place of :math:`|\Lambda|`.
    Along negative-curvature directions with :math:`\lambda_i + \lambda < 0` the step points
    towards the saddle, so Newton is attracted to saddle points; only a damping larger than
    :math:`|\lambda_{\min}|` turns it into a descent method (then, near a saddle, one that
    moves along negative curvature by no more than a gradient step of size :math:`1/\lambda`).

    Arguments:
        params: parameters of the model passed in the step context (one group).
        dampings (sequence of float, optional): candidate damping values λ ≥ 0
            (default: 1, 0.1, 0.01, 0.001, 0.0001).
        step_sizes (sequence of float, optional): candidate step lengths α > 0 (default: 1);
            a backtracking set such as (1, 1/2, 1/4) makes it damped Newton in the sense of
            a damped step length as well.

    Example:
        >>> from methodlab.components import Batch
        >>> from methodlab.builtins.losses import MeanSquaredError
        >>> w = nn.Linear(2, 1, bias=False)
        >>> x = torch.randn(20, 2)
        >>> batch = Batch(x, x @ torch.ones(2, 1))
        >>> ctx = StepContext(model=w, loss=MeanSquaredError(), batch=batch)
        >>> opt = DampedNewton(w.parameters(), dampings=[0.0])
        >>> _ = opt.step(ctx.closure_for(opt), context=ctx)  # a quadratic: one Newton step
        >>> torch.allclose(w.weight, torch.ones(1, 2), atol=1e-5)
        True
    """

    absolute: ClassVar[bool] = False


class KrylovSaddleFreeNewton(_DampedEigenNewton):
    r"""Saddle-free Newton in a Krylov subspace (the paper's Algorithm 1).

    Each update runs ``krylov_dim`` = :math:`k` steps of Lanczos with full
    re-orthogonalisation on the Hessian of the batch loss, started from the gradient, giving
    an orthonormal :math:`V \in \mathbb R^{P \times k}` and :math:`T = V^\top H V` with
    eigenpairs :math:`T = S \Theta S^\top` (Ritz values :math:`\Theta`, Ritz vectors
    :math:`VS`). Then, ``subspace_steps`` = :math:`m` times,

    .. math::

        \Delta\theta(\lambda) = -V S (|\Theta| + \lambda I)^{-1} S^\top V^\top g,
        \qquad (\lambda^\star, \alpha^\star) = \arg\min_{\lambda \in \text{dampings},\,
        \alpha \in \text{step sizes}} L\big(\theta + \alpha\, \Delta\theta(\lambda)\big)

    with a fresh gradient :math:`g` for each of the :math:`m` steps and the step taken only
    if it lowers the batch loss. Costs :math:`k` Hessian-vector products, :math:`m`
    gradients and :math:`m \cdot |\text{dampings}| \cdot |\text{step sizes}|` loss
    evaluations per update.

    References:
        Identifying and attacking the saddle point problem in high-dimensional non-convex
        optimization (Dauphin et al., 2014) https://arxiv.org/abs/1406.2572

        Krylov Subspace Descent for Deep Learning (Vinyals & Povey, 2012)
        https://arxiv.org/abs/1111.4259

    Arguments:
        params: parameters of the model passed in the step context (one group).
        dampings (sequence of float, optional): candidate damping values λ ≥ 0
            (default: 1, 0.1, 0.01, 0.001, 0.0001).
        step_sizes (sequence of float, optional): candidate step lengths α > 0
            (default: 1).
        krylov_dim (int, optional): Lanczos vectors :math:`k` (default: 20).
        subspace_steps (int, optional): updates :math:`m` per subspace (default: 1).

    Example:
        >>> from methodlab.components import Batch
        >>> from methodlab.builtins.losses import MeanSquaredError
        >>> _ = torch.manual_seed(0)
        >>> model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
        >>> x = torch.randn(64, 4)
        >>> batch = Batch(x, torch.sin(x[:, :2]))
        >>> ctx = StepContext(model=model, loss=MeanSquaredError(), batch=batch)
        >>> opt = KrylovSaddleFreeNewton(model.parameters(), krylov_dim=10)
        >>> first = opt.step(ctx.closure_for(opt), context=ctx)
        >>> for _ in range(9):
        ...     last = opt.step(ctx.closure_for(opt), context=ctx)
        >>> bool(last < 0.1 * first)
        True

    .. note::
        Departures from the paper: Lanczos keeps :math:`V` orthonormal by full
        re-orthogonalisation (the paper's Algorithm 1 does not say); the damping set is a
        parameter. State is as for :class:`SaddleFreeNewton`.
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        dampings: Sequence[float] = (1.0, 0.1, 0.01, 1e-3, 1e-4),
        step_sizes: Sequence[float] = (1.0,),
        krylov_dim: int = 20,
        subspace_steps: int = 1,
    ) -> None:
        if krylov_dim < 1:
            raise ValueError(f"Invalid krylov_dim: {krylov_dim}")
        if subspace_steps < 1:
            raise ValueError(f"Invalid subspace_steps: {subspace_steps}")
        super().__init__(params, {"dampings": dampings, "step_sizes": step_sizes,
                                  "krylov_dim": krylov_dim,
                                  "subspace_steps": subspace_steps})

    def _subspace_steps(self) -> int:
        return self.param_groups[0]["subspace_steps"]

    def _eigenpairs(self, context: StepContext, gradient: Tensor) -> tuple[Tensor, Tensor]:
        inputs, targets = self._hessian_inputs(context)
        hessian = curvature.hessian_operator(context.model, context.loss, inputs,
                                             params=self._params, targets=targets)
        alphas, betas, basis = curvature.lanczos(
            hessian, gradient.numel(), self.param_groups[0]["krylov_dim"], v0=gradient
        )
        self._state()["hessian_products"] += len(alphas)
        return curvature.ritz_pairs(alphas, betas, basis)


# -------------------------------------------------------------------------------------------
# Factories
# -------------------------------------------------------------------------------------------


def _trainable(model: nn.Module) -> list[Tensor]:
    return [p for p in model.parameters() if p.requires_grad]


def build_saddle_free_newton(params: SaddleFreeNewtonParams, *, model: nn.Module
                             ) -> SaddleFreeNewton:
    """Build the optimizer of ``use = "saddle-free-newton"``."""
    return SaddleFreeNewton(_trainable(model), dampings=params.dampings,
                            step_sizes=params.step_sizes)


def build_krylov_saddle_free_newton(
    params: KrylovSaddleFreeNewtonParams, *, model: nn.Module
) -> KrylovSaddleFreeNewton:
    """Build the optimizer of ``use = "krylov-saddle-free-newton"``."""
    return KrylovSaddleFreeNewton(_trainable(model), dampings=params.dampings,
                                  step_sizes=params.step_sizes,
                                  krylov_dim=params.krylov_dim,
                                  subspace_steps=params.subspace_steps)


def build_damped_newton(params: DampedNewtonParams, *, model: nn.Module) -> DampedNewton:
    """Build the optimizer of ``use = "damped-newton"``."""
    return DampedNewton(_trainable(model), dampings=params.dampings,
                        step_sizes=params.step_sizes)
