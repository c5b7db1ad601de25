r"""Natural gradient descent with truncated Krylov solves (Pascanu & Bengio, 2014)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from methodlab import curvature
from methodlab.step import StepContext
from torch import Tensor, nn

from methodlab_natural_gradient.common import ContextOptimizer, levenberg_marquardt
from methodlab_natural_gradient.config import FISHER_SOURCES, SOLVERS, NaturalGradientParams

__all__ = ["NaturalGradient", "build", "levenberg_marquardt", "natural_direction"]

_SOLVE = {"cg": curvature.conjugate_gradient, "minres": curvature.minres}


def natural_direction(
    fisher: curvature.MatVec,
    gradient: Tensor,
    *,
    damping: float,
    solver: str = "cg",
    max_iter: int = 20,
    tol: float = 1e-4,
    x0: Tensor | None = None,
) -> tuple[Tensor, curvature.SolverInfo]:
    r"""Approximately solve :math:`(F + \lambda I)\, d = g` for the natural direction.

    The right-hand side is normalised to :math:`g / \|g\|` before the solve and the solution
    rescaled by :math:`\|g\|` (as in Pascanu & Bengio's code): the tolerance is relative,
    so this changes nothing but keeps float32 dot products of tiny gradients from
    underflowing.

    Arguments:
        fisher: the Fisher (Gauss-Newton) product :math:`v \mapsto F v`.
        gradient: the loss gradient :math:`g`.
        damping: Tikhonov damping :math:`\lambda`.
        solver: ``"cg"`` (conjugate gradient) or ``"minres"``.
        max_iter: maximum number of Fisher-vector products of the solver.
        tol: relative residual tolerance of the solver.
        x0: start point for :math:`d` (e.g. the previous direction); zero by default.

    Returns:
        ``(d, info)``: the direction and the solver's :class:`~methodlab.curvature.SolverInfo`.

    Shapes:
        gradient, x0, d: :math:`(P,)`.

    Example:
        >>> import torch
        >>> F = torch.diag(torch.tensor([1.0, 100.0]))
        >>> d, _ = natural_direction(lambda v: F @ v, torch.tensor([1.0, 100.0]), damping=0.0)
        >>> d.round(decimals=4)
        tensor([1., 1.])
    """
    scale = gradient.norm()
    rhs = gradient / scale
    start = None if x0 is None else x0 / scale
    solution, info = _SOLVE[solver](
        fisher, rhs, max_iter=max_iter, tol=tol, x0=start, damping=damping
    )
    return solution * scale, info


class NaturalGradient(ContextOptimizer):
    r"""Natural gradient descent with a damped, truncated Fisher solve.

    Each update solves the damped natural-gradient system with a Krylov method that only
    needs Fisher-vector products, moves along the solution and adapts the damping by the
    Levenberg-Marquardt rule:

    .. math::

        (F + \lambda I)\, d &\approx g = \nabla_\theta L(\theta) \\
        \theta &\leftarrow \theta - \eta\, d \\
        \rho &= \frac{L(\theta - \eta d) - L(\theta)}
                     {-\eta\, g^\top d + \tfrac12 \eta^2 d^\top F d}

    :math:`F = J^\top H J` is the Fisher of the model's predictive distribution, equal to
    the generalized Gauss-Newton matrix for matching output losses (squared error,
    softmax or sigmoid cross-entropy on logits), computed on the batch inputs or on extra
    unlabeled inputs (:func:`methodlab.curvature.ggn_operator`). :math:`\rho` compares the
    actual loss change with the one the quadratic model predicts; :math:`\lambda` grows by
    ``damping_boost`` when :math:`\rho < 1/4` and shrinks by ``damping_drop`` when
    :math:`\rho > 3/4` (:func:`levenberg_marquardt`).

    References:
        Revisiting Natural Gradient for Deep Networks (Pascanu & Bengio, 2014)
        https://arxiv.org/abs/1301.3584

    Arguments:
        params: parameters of the model passed in the step context (one group).
        lr (float, optional): step size :math:`\eta` (default: 1.0).
        damping (float, optional): initial damping :math:`\lambda` (default: 0.1).
        min_damping (float, optional): floor of :math:`\lambda` (default: 1e-4).
        damping_boost (float, optional): :math:`\lambda` factor when :math:`\rho < 1/4`
            (default: 1.5).
        damping_drop (float, optional): :math:`\lambda` factor when :math:`\rho > 3/4`
            (default: 2/3).
        adapt_damping (bool, optional): apply the Levenberg-Marquardt rule; it costs one
            extra loss evaluation per update (default: True).
        solver (str, optional): ``"cg"`` or ``"minres"`` (default: ``"cg"``).
        max_iter (int, optional): maximum Fisher-vector products per solve (default: 20).
        tol (float, optional): relative residual tolerance of the solve (default: 1e-4).
        warm_start (bool, optional): start the solve from the previous direction
            (default: False).
        fisher_source (str, optional): ``"batch"`` estimates :math:`F` on the training
            batch with its targets; ``"curvature"`` on ``context.curvature_inputs``
            (unlabeled), falling back to the batch inputs when the environment has none
            (default: ``"batch"``).
        fisher_batch_size (int, optional): estimate :math:`F` on this many rows drawn
            without replacement from the Fisher inputs; 0 uses all (default: 0).

    Example:
        >>> import torch
        >>> from methodlab.components import Batch, OutputLoss
        >>> from methodlab.step import StepContext
        >>> class SquaredError(OutputLoss):
        ...     def from_outputs(self, outputs, targets):
        ...         return 0.5 * (outputs - targets).pow(2).sum(-1).mean()
        >>> _ = torch.manual_seed(0)
        >>> model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
        >>> x = torch.randn(64, 4)
        >>> ctx = StepContext(model=model, loss=SquaredError(), batch=Batch(x, torch.sin(x[:, :2])))
        >>> opt = NaturalGradient(model.parameters(), lr=1.0)
        >>> first = opt.step(ctx.closure_for(opt), context=ctx)
        >>> for _ in range(9):
        ...     last = opt.step(ctx.closure_for(opt), context=ctx)
        >>> bool(last < 0.05 * first)
        True

    .. note::
        Departures from the paper's code: linear CG is the default solver (MINRES-QLP is
        replaced by MINRES, available as ``solver="minres"``); the predicted decrease
        uses the undamped Fisher, as in Martens & Sutskever (2012); no learning-rate decay
        is built in (use a ``torch.optim.lr_scheduler``).

    .. note::
        Like :class:`torch.optim.LBFGS`, this optimizer supports a single parameter group
        and keeps its state on the first parameter. State holds only tensors and Python
        numbers, so it survives ``torch.load(..., weights_only=True)``.
    """

    _counters = ("fisher_products",)
    _adapts_damping = True

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1.0,
        damping: float = 0.1,
        min_damping: float = 1e-4,
        damping_boost: float = 1.5,
        damping_drop: float = 2.0 / 3.0,
        adapt_damping: bool = True,
        solver: str = "cg",
        max_iter: int = 20,
        tol: float = 1e-4,
        warm_start: bool = False,
        fisher_source: str = "batch",
        fisher_batch_size: int = 0,
    ) -> None:
        if lr <= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if damping < 0.0:
            raise ValueError(f"Invalid damping: {damping}")
        if min_damping < 0.0:
            raise ValueError(f"Invalid min_damping: {min_damping}")
        if damping_boost < 1.0:
            raise ValueError(f"Invalid damping_boost: {damping_boost} (must be >= 1)")
        if not 0.0 < damping_drop <= 1.0:
            raise ValueError(f"Invalid damping_drop: {damping_drop} (must be in (0, 1])")
        if solver not in SOLVERS:
            raise ValueError(f"Invalid solver: {solver!r} (choose from {', '.join(SOLVERS)})")
        if max_iter < 1:
            raise ValueError(f"Invalid max_iter: {max_iter}")
        if tol < 0.0:
            raise ValueError(f"Invalid tol: {tol}")
        if fisher_source not in FISHER_SOURCES:
            raise ValueError(
                f"Invalid fisher_source: {fisher_source!r} "
                f"(choose from {', '.join(FISHER_SOURCES)})"
            )
        if fisher_batch_size < 0:
            raise ValueError(f"Invalid fisher_batch_size: {fisher_batch_size}")
        defaults = {
            "lr": lr,
            "damping": damping,
            "min_damping": min_damping,
            "damping_boost": damping_boost,
            "damping_drop": damping_drop,
            "adapt_damping": adapt_damping,
            "solver": solver,
            "max_iter": max_iter,
            "tol": tol,
            "warm_start": warm_start,
            "fisher_source": fisher_source,
            "fisher_batch_size": fisher_batch_size,
        }
        super().__init__(params, defaults)

    def fisher_operator(self, context: StepContext) -> curvature.MatVec:
        """Return the Fisher-vector product this optimizer uses for the next update.

        Built from ``context`` according to ``fisher_source`` and ``fisher_batch_size``
        (the subsample is drawn from a generator seeded with the update count, so it is the
        same after a checkpoint round trip).

        :raises TypeError: if ``context.loss`` is not an
            :class:`~methodlab.components.OutputLoss` or ``context.batch`` not a
            :class:`~methodlab.components.Batch`.
        """
        group = self.param_groups[0]
        return self.ggn(
            context,
            source=group["fisher_source"],
            batch_size=group["fisher_batch_size"],
            seed=self._state()["n_iter"],
        )

    def _update(
        self, context: StepContext, loss: Tensor, gradient: Tensor, state: dict[str, Any]
    ) -> None:
        group = self.param_groups[0]
        fisher = self.fisher_operator(context)
        direction, info = natural_direction(
            fisher,
            gradient,
            damping=state["damping"],
            solver=group["solver"],
            max_iter=group["max_iter"],
            tol=group["tol"],
            x0=state.get("direction") if group["warm_start"] else None,
        )
        state["fisher_products"] += info.matvecs
        state["solver_iterations"] = info.iterations
        lr = group["lr"]
        self._add(-lr, direction)

        if group["adapt_damping"]:
            # The operator holds the pre-update parameters, so this is F at the old point.
            curvature_along = float(direction.dot(fisher(direction)))
            state["fisher_products"] += 1
            predicted = -lr * float(gradient.dot(direction)) + 0.5 * lr**2 * curvature_along
            new_loss = self._loss_at_current(context)
            state["func_evals"] += 1
            self._adapt_damping(state, new_loss - float(loss), predicted)
        if group["warm_start"]:
            state["direction"] = direction


def build(params: NaturalGradientParams, *, model: nn.Module) -> NaturalGradient:
    """Build the optimizer for a run from its parameters (``use = "natural-gradient"``)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    return NaturalGradient(
        trainable,
        lr=params.lr,
        damping=params.damping,
        min_damping=params.min_damping,
        damping_boost=params.damping_boost,
        damping_drop=params.damping_drop,
        adapt_damping=params.adapt_damping,
        solver=params.solver,
        max_iter=params.max_iter,
        tol=params.tol,
        warm_start=params.warm_start,
        fisher_source=params.fisher_source,
        fisher_batch_size=params.fisher_batch_size,
    )
