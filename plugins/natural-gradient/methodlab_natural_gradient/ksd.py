r"""Krylov subspace descent (Vinyals & Povey, 2012)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import torch
from methodlab import curvature
from methodlab.step import StepContext
from torch import Tensor, nn

from methodlab_natural_gradient.common import ContextOptimizer
from methodlab_natural_gradient.config import KrylovSubspaceDescentParams

__all__ = ["KrylovSubspaceDescent", "build", "krylov_basis"]

_DEPENDENT = 1e-10
"""A vector whose norm falls below this fraction of its norm before orthogonalisation is
taken to lie in the span already (the Krylov space is exhausted)."""


def _orthonormalise(vector: Tensor, basis: Sequence[Tensor]) -> Tensor | None:
    """``vector`` minus its projection on the orthonormal ``basis``, normalised; ``None`` if
    nothing is left. Gram-Schmidt is applied twice, which keeps the basis orthonormal to
    working precision."""
    norm = vector.norm()
    for _ in range(2):
        for q in basis:
            vector = vector - q.dot(vector) * q
    rest = vector.norm()
    if not bool(rest > _DEPENDENT * norm) or not bool(rest > 0):
        return None
    return vector / rest


def krylov_basis(
    matvec: curvature.MatVec, gradient: Tensor, dim: int, previous: Tensor | None = None
) -> Tensor:
    r"""An orthonormal basis of :math:`\mathcal K_K(G, g) \cup \{\delta_{\text{prev}}\}`.

    .. math::

        \operatorname{span} V = \operatorname{span}\{g, Gg, \dots, G^{K-1} g,\;
        \delta_{\text{prev}}\}, \qquad V^\top V = I

    built Arnoldi-style: each new vector is :math:`G` applied to the last basis vector,
    orthonormalised against the basis so far (which spans the same space as the powers,
    without their growth). Stops early when the Krylov space is exhausted.

    Arguments:
        matvec: the curvature product :math:`v \mapsto Gv`.
        gradient: :math:`g`.
        dim: :math:`K`, the number of Krylov vectors (``dim - 1`` products).
        previous: the previous step :math:`\delta_{\text{prev}}`, or ``None``.

    Returns:
        :math:`V` with orthonormal columns.

    Shapes:
        gradient, previous: :math:`(P,)`; returns :math:`(P, m)` with :math:`m \le K + 1`.

    Example:
        >>> G = torch.diag(torch.tensor([1.0, 2.0, 3.0]))
        >>> V = krylov_basis(lambda v: G @ v, torch.tensor([1.0, 1.0, 0.0]), 3)
        >>> V.shape, torch.allclose(V.T @ V, torch.eye(2), atol=1e-6)
        (torch.Size([3, 2]), True)
    """
    basis: list[Tensor] = []
    vector: Tensor | None = gradient
    for index in range(dim):
        vector = _orthonormalise(vector, basis)
        if vector is None:
            break
        basis.append(vector)
        if index < dim - 1:
            vector = matvec(vector)
    if previous is not None:
        extra = _orthonormalise(previous, basis)
        if extra is not None:
            basis.append(extra)
    return torch.stack(basis, dim=1)


class KrylovSubspaceDescent(ContextOptimizer):
    r"""Krylov subspace descent: minimise the loss itself over a small Krylov subspace.

    Each update builds an orthonormal basis :math:`V` of

    .. math::

        \{\, g,\; Gg,\; \dots,\; G^{K-1} g,\; \delta_{\text{prev}} \,\}

    with :math:`g` the gradient on the batch, :math:`G` the Gauss-Newton matrix on the
    curvature inputs and :math:`\delta_{\text{prev}}` the previous update
    (:func:`krylov_basis`), then minimises the actual loss over the subspace coefficients
    with L-BFGS (strong Wolfe line search) on the optimisation rows, starting from
    :math:`a = 0`:

    .. math::

        a^\ast \approx \arg\min_{a \in \mathbb R^{K+1}} f(\theta + V a), \qquad
        \theta \leftarrow \theta + V a^\ast .

    Unlike Hessian-free optimization, the quadratic model only chooses the subspace: no
    damping needs tuning, and the step length in every direction of it comes from the loss.

    References:
        Krylov Subspace Descent for Deep Learning (Vinyals & Povey, 2012)
        https://arxiv.org/abs/1111.4259

    Arguments:
        params: parameters of the model passed in the step context (one group).
        subspace_dim (int, optional): :math:`K` (default: 20).
        inner_iter (int, optional): L-BFGS iterations per update (default: 20).
        curvature_source (str, optional): ``"batch"`` or ``"curvature"`` (the context's
            unlabeled inputs) for :math:`G` (default: ``"batch"``).
        curvature_batch_size (int, optional): rows of the curvature inputs; 0 = all
            (default: 0).
        optimization_batch_size (int, optional): rows of the batch the subspace
            optimisation uses; 0 = all (default: 0).

    Example:
        >>> from methodlab.builtins.losses import MeanSquaredError
        >>> from methodlab.components import Batch
        >>> _ = torch.manual_seed(0)
        >>> model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
        >>> x = torch.randn(64, 4)
        >>> y = torch.sin(x[:, :2])
        >>> ctx = StepContext(model=model, loss=MeanSquaredError(), batch=Batch(x, y))
        >>> opt = KrylovSubspaceDescent(model.parameters(), subspace_dim=10)
        >>> first = opt.step(ctx.closure_for(opt), context=ctx)
        >>> for _ in range(9):
        ...     last = opt.step(ctx.closure_for(opt), context=ctx)
        >>> bool(last < 0.05 * first)
        True

    .. note::
        Departures from Vinyals & Povey (2012): no diagonal preconditioner in the Krylov
        recursion; the basis is orthonormalised as it is built rather than afterwards;
        L-BFGS (``torch.optim.LBFGS``) replaces BFGS.
    """

    _counters = ("curvature_products",)

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        subspace_dim: int = 20,
        inner_iter: int = 20,
        curvature_source: str = "batch",
        curvature_batch_size: int = 0,
        optimization_batch_size: int = 0,
    ) -> None:
        defaults = attrs.asdict(KrylovSubspaceDescentParams(
            subspace_dim=subspace_dim,
            inner_iter=inner_iter,
            curvature_source=curvature_source,
            curvature_batch_size=curvature_batch_size,
            optimization_batch_size=optimization_batch_size,
        ))
        super().__init__(params, defaults)

    def _update(
        self, context: StepContext, loss: Tensor, gradient: Tensor, state: dict[str, Any]
    ) -> None:
        group = self.param_groups[0]
        gauss_newton = self.ggn(
            context,
            source=group["curvature_source"],
            batch_size=group["curvature_batch_size"],
            seed=state["n_iter"],
        )
        basis = krylov_basis(gauss_newton, gradient, group["subspace_dim"],
                             state.get("previous"))
        state["curvature_products"] += min(group["subspace_dim"], basis.shape[1]) - 1
        state["subspace_dim"] = basis.shape[1]

        inputs, targets = self.curvature_rows(
            context, source="batch", batch_size=group["optimization_batch_size"],
            seed=state["n_iter"] + 1_000_003,
        )
        objective = self.functional_loss(context)
        theta = self._flat_params()
        coefficients = torch.zeros(basis.shape[1], dtype=theta.dtype, device=theta.device,
                                   requires_grad=True)
        inner = torch.optim.LBFGS(
            [coefficients], lr=1.0, max_iter=group["inner_iter"],
            history_size=group["inner_iter"], line_search_fn="strong_wolfe",
        )

        def subspace_loss() -> Tensor:
            inner.zero_grad()
            value = objective(theta + basis @ coefficients, inputs, targets)
            value.backward()
            return value

        with torch.enable_grad():
            inner.step(subspace_loss)
        state["func_evals"] += inner.state[coefficients]["func_evals"]
        step = basis @ coefficients.detach()
        state["previous"] = step
        self._set_params(theta + step)


def build(params: KrylovSubspaceDescentParams, *, model: nn.Module) -> KrylovSubspaceDescent:
    """Build the optimizer for a run from its parameters (``use = "ksd"``)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    return KrylovSubspaceDescent(trainable, **attrs.asdict(params))
