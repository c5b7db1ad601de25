r"""Curvature-vector products and Krylov solvers shared by second-order methods.

Second-order plugins (natural gradient, Hessian-free, Krylov subspace descent, saddle-free
Newton, ...) never form a curvature matrix: they need products :math:`Cv` with the
generalized Gauss-Newton (GGN) matrix or the Hessian of the training loss, and Krylov
methods (conjugate gradient, MINRES, Lanczos) that use nothing else. This module provides
both, built on :mod:`torch.func`.

Conventions:

* Vectors are **flat**: one 1-D tensor of length ``P`` (the total number of selected
  parameters), laid out in the order of ``params`` (by default ``model.parameters()`` that
  require grad). :func:`flatten` and :func:`unflatten_like` convert between flat vectors and
  per-parameter tensors.
* ``loss`` is an :class:`~methodlab.components.OutputLoss`; the curvature is that of
  :math:`L(\theta) = \ell(f_\theta(x), y)` with :math:`\ell` = ``loss.from_outputs`` (a mean
  over the batch, so products are batch means too).
* An *operator* (:func:`ggn_operator`, :func:`hessian_operator`) runs the forward pass and
  the linearisation once and returns a :data:`MatVec` that costs two (GGN) or one (Hessian)
  backward passes per product; use it for repeated products inside a solver. It keeps a copy
  of the selected parameters, so it still applies the curvature at the point where it was
  built after the parameters are updated in place. The ``*_vector_product`` functions are
  one-shot conveniences.
* Forward passes run inside :func:`frozen_batchnorm_stats`, so BatchNorm layers in training
  mode use batch statistics without touching their running averages.

References:
    Fast Curvature Matrix-Vector Products for Second-Order Gradient Descent
    (Schraudolph, 2002) https://doi.org/10.1162/08997660260028683

    Revisiting Natural Gradient for Deep Networks (Pascanu & Bengio, 2014)
    https://arxiv.org/abs/1301.3584

    Deep Learning via Hessian-Free Optimization (Martens, 2010)
    https://www.cs.toronto.edu/~jmartens/docs/Deep_HessianFree.pdf
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import attrs
import torch
import torch.autograd.forward_ad as fwAD
from torch import Tensor, nn
from torch.func import functional_call, grad, jvp, vjp
from torch.nn.modules.batchnorm import _BatchNorm

from methodlab.components import OutputLoss

__all__ = [
    "MatVec",
    "SolverInfo",
    "conjugate_gradient",
    "flatten",
    "frozen_batchnorm_stats",
    "ggn_operator",
    "ggn_vector_product",
    "hessian_operator",
    "hessian_vector_product",
    "lanczos",
    "minres",
    "ritz_pairs",
    "unflatten_like",
]

MatVec = Callable[[Tensor], Tensor]
"""A symmetric linear operator on flat vectors: ``matvec(v)`` with ``v`` of shape ``(P,)``
returns a tensor of shape ``(P,)``."""


# -------------------------------------------------------------------------------------------
# Flat vectors
# -------------------------------------------------------------------------------------------


def flatten(tensors: Iterable[Tensor]) -> Tensor:
    """Concatenate tensors into one flat vector.

    Shapes:
        tensors: any shapes :math:`(*_i)`; returns :math:`(P,)` with
        :math:`P = \\sum_i \\prod *_i`.

    Example:
        >>> flatten([torch.ones(2, 2), torch.zeros(3)])
        tensor([1., 1., 1., 1., 0., 0., 0.])
    """
    return torch.cat([t.reshape(-1) for t in tensors])


def unflatten_like(vector: Tensor, like: Sequence[Tensor]) -> list[Tensor]:
    """Split a flat vector into views shaped like ``like`` (the inverse of :func:`flatten`).

    Shapes:
        vector: :math:`(P,)`; like: tensors whose sizes sum to :math:`P`; returns tensors
        with the shapes of ``like``.

    :raises ValueError: if the sizes do not add up.

    Example:
        >>> [t.shape for t in unflatten_like(torch.arange(7.0), [torch.ones(2, 2), torch.ones(3)])]
        [torch.Size([2, 2]), torch.Size([3])]
    """
    sizes = [t.numel() for t in like]
    if vector.dim() != 1 or vector.numel() != sum(sizes):
        raise ValueError(
            f"vector of shape {tuple(vector.shape)} does not match {len(like)} tensors with "
            f"{sum(sizes)} elements in total"
        )
    return [chunk.view_as(t) for chunk, t in zip(torch.split(vector, sizes), like, strict=True)]


# -------------------------------------------------------------------------------------------
# BatchNorm
# -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def frozen_batchnorm_stats(model: nn.Module) -> Iterator[nn.Module]:
    """Run forward passes of ``model`` without updating BatchNorm running statistics.

    A ``_BatchNorm`` layer in training mode normalises with batch statistics and, when
    ``track_running_stats`` is set, also updates ``running_mean``, ``running_var`` and
    ``num_batches_tracked`` in place. Those writes must not happen during curvature
    products: they would change the statistics once per product, and :mod:`torch.func`
    transforms reject in-place writes to captured buffers. Inside this context such layers
    have ``track_running_stats`` switched off, which computes the same function (batch
    statistics) without the writes; the flag is restored on exit. Layers in eval mode use
    their running statistics either way and are left alone. Instance-norm layers are not
    handled (turning the flag off does not stop their writes).

    Example:
        >>> bn = nn.BatchNorm1d(2).train()
        >>> with frozen_batchnorm_stats(bn):
        ...     _ = bn(torch.randn(4, 2))
        >>> int(bn.num_batches_tracked), bn.track_running_stats
        (0, True)
    """
    switched = [
        module
        for module in model.modules()
        if isinstance(module, _BatchNorm) and module.training and module.track_running_stats
    ]
    for module in switched:
        module.track_running_stats = False
    try:
        yield model
    finally:
        for module in switched:
            module.track_running_stats = True


# -------------------------------------------------------------------------------------------
# Curvature-vector products
# -------------------------------------------------------------------------------------------


def _select_params(
    model: nn.Module, params: Iterable[Tensor] | None
) -> tuple[list[str], tuple[Tensor, ...]]:
    """Return the names and copied values of the parameters the curvature is taken over."""
    if params is None:
        named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    else:
        by_id = {id(p): name for name, p in model.named_parameters()}
        named = []
        for p in params:
            if id(p) not in by_id:
                raise ValueError(
                    f"a tensor of shape {tuple(p.shape)} in params is not a parameter of "
                    f"{type(model).__name__}; pass tensors from model.parameters()"
                )
            named.append((by_id[id(p)], p))
    if not named:
        raise ValueError("no parameters to take the curvature over")
    # Copies, not aliases: an operator must keep linearising at these values when the
    # caller then updates the parameters in place (the backward graph saves the primals).
    return [name for name, _ in named], tuple(p.detach().clone() for _, p in named)


def _check_loss(loss: object) -> None:
    if not isinstance(loss, OutputLoss):
        raise TypeError(
            f"curvature products need an OutputLoss (a loss that depends on the model only "
            f"through model(inputs) and defines from_outputs); got {type(loss).__name__}"
        )


def _pseudo_targets(loss: OutputLoss, outputs: Tensor) -> Any:
    """Targets in the loss's format drawn from the model's own prediction (see ggn_operator)."""
    # A fixed private generator keeps products deterministic and leaves the global RNG alone,
    # so an optimizer using them resumes bitwise from a checkpoint.
    generator = torch.Generator(device=outputs.device).manual_seed(0)
    try:
        return loss.sample_targets(outputs, generator)
    except NotImplementedError:
        return outputs


def _output_hessian(loss: OutputLoss, outputs: Tensor, targets: Any) -> Callable[[Tensor], Tensor]:
    """Return :math:`u \\mapsto H u`, :math:`H` the Hessian of the loss in the outputs.

    The gradient graph is recorded once (plain autograd, about half the cost of
    ``vjp(grad(...))``); each call is one backward pass through it.
    """
    with torch.enable_grad():
        z = outputs.detach().requires_grad_()
        (gradient,) = torch.autograd.grad(loss.from_outputs(z, targets), z, create_graph=True)

    def product(u: Tensor) -> Tensor:
        if not gradient.requires_grad:  # a loss linear in the outputs: H = 0
            return torch.zeros_like(u)
        # H is symmetric, so the vector-Jacobian product of the output gradient is H u.
        (hu,) = torch.autograd.grad(gradient, z, u, retain_graph=True, materialize_grads=True)
        return hu

    return product


def _model_function(model: nn.Module, names: Sequence[str], inputs: Any) -> Callable[..., Tensor]:
    def forward(*theta: Tensor) -> Tensor:
        return functional_call(model, dict(zip(names, theta, strict=True)), (inputs,))

    return forward


def ggn_operator(
    model: nn.Module,
    loss: OutputLoss,
    inputs: Any,
    *,
    params: Iterable[Tensor] | None = None,
    targets: Any = None,
) -> MatVec:
    r"""Return the generalized Gauss-Newton (Fisher) product :math:`v \mapsto G v`.

    .. math::

        G = J^\top H J, \qquad
        J = \frac{\partial f_\theta(x)}{\partial \theta}, \qquad
        H = \frac{\partial^2 \ell(z, y)}{\partial z^2}\Big|_{z = f_\theta(x)}

    with :math:`f_\theta(x)` = ``model(inputs)`` and :math:`\ell` = ``loss.from_outputs``.
    :math:`G` is positive semi-definite whenever :math:`\ell` is convex in the outputs. For
    the losses that match the output non-linearity (mean squared error with linear outputs,
    softmax cross-entropy on logits, sigmoid Bernoulli cross-entropy on logits) :math:`G` is
    the Fisher information of the model's predictive distribution (Pascanu & Bengio, 2014).

    The forward pass and its linearisation run once, here; each call of the returned
    operator then costs two backward passes (:math:`Jv` is obtained by transposing the
    vector-Jacobian product) and no forward pass.

    Unlabeled inputs: with ``targets=None``, pseudo-targets are taken from the model's own
    prediction, ``loss.sample_targets(outputs, generator)`` with a fixed private generator,
    or the detached outputs themselves when the loss cannot sample. For the three matching
    losses above :math:`H` does not depend on the targets, so this is exactly the GGN (the
    Fisher needs no labels); for other losses it is the GGN at those pseudo-targets.

    Arguments:
        model: the network :math:`f_\theta`; BatchNorm layers in training mode use batch
            statistics and keep their running statistics (:func:`frozen_batchnorm_stats`).
        loss: the loss, an :class:`~methodlab.components.OutputLoss`.
        inputs: what ``model`` is called with, e.g. a tensor of shape :math:`(B, D)`.
        params: parameters of ``model`` spanning the vector space (default: all parameters
            that require grad, in ``model.parameters()`` order); others are held fixed.
        targets: targets in the loss's format, or ``None`` for unlabeled inputs.

    Returns:
        A :data:`MatVec` mapping flat vectors of shape :math:`(P,)` to :math:`(P,)`, in the
        parameters' dtype and device.

    Example:
        >>> class HalfSquares(OutputLoss):
        ...     def from_outputs(self, outputs, targets):
        ...         return 0.5 * (outputs - targets).pow(2).sum(-1).mean()
        >>> net = nn.Linear(3, 1, bias=False)
        >>> x = torch.randn(5, 3)
        >>> G = ggn_operator(net, HalfSquares(), x)  # G = x^T x / 5 for a linear model
        >>> v = torch.randn(3)
        >>> torch.allclose(G(v), x.T @ (x @ v) / 5, atol=1e-6)
        True
    """
    _check_loss(loss)
    names, primals = _select_params(model, params)
    # Plain autograd on a retained graph: the same two backward passes per product as
    # torch.func's vjp-of-vjp, without its per-call wrapping (benchmarks/curvature.py).
    leaves = tuple(p.requires_grad_() for p in primals)  # copies: fresh leaves
    with frozen_batchnorm_stats(model), torch.enable_grad():
        outputs = functional_call(model, dict(zip(names, leaves, strict=True)), (inputs,))
        dummy = torch.zeros_like(outputs, requires_grad=True)
        # u -> J^T u is linear, so its gradient with respect to u, applied to v, is J v.
        transposed = torch.autograd.grad(
            outputs, leaves, dummy, create_graph=True, materialize_grads=True
        )
    if targets is None:
        targets = _pseudo_targets(loss, outputs.detach())
    output_hessian = _output_hessian(loss, outputs, targets)

    def matvec(vector: Tensor) -> Tensor:
        (jv,) = torch.autograd.grad(
            transposed, dummy, unflatten_like(vector, primals), retain_graph=True
        )  # (B, C)
        hjv = output_hessian(jv)  # (B, C)
        return flatten(
            torch.autograd.grad(
                outputs, leaves, hjv, retain_graph=True, materialize_grads=True
            )
        )

    return matvec


def ggn_vector_product(
    model: nn.Module,
    loss: OutputLoss,
    inputs: Any,
    vector: Tensor,
    *,
    params: Iterable[Tensor] | None = None,
    targets: Any = None,
) -> Tensor:
    r"""Return :math:`G v = J^\top H J v` for one flat vector ``v`` of shape :math:`(P,)`.

    One-shot form of :func:`ggn_operator` (see it for the definition, pseudo-targets for
    ``targets=None`` and BatchNorm handling); build the operator instead when several
    products are needed at the same parameters.

    Shapes:
        vector: :math:`(P,)`; returns :math:`(P,)`.
    """
    _check_loss(loss)
    names, primals = _select_params(model, params)
    leaves = tuple(p.requires_grad_() for p in primals)  # copies: fresh leaves
    try:
        # One forward pass carries the tangents v (forward-mode AD) and records the reverse
        # graph, so J v costs no backward pass and J^T H J v one.
        with frozen_batchnorm_stats(model), fwAD.dual_level(), torch.enable_grad():
            duals = {
                name: fwAD.make_dual(leaf, tangent)
                for name, leaf, tangent in zip(
                    names, leaves, unflatten_like(vector, primals), strict=True
                )
            }
            outputs, jv = fwAD.unpack_dual(functional_call(model, duals, (inputs,)))
    except NotImplementedError:  # an operation without a forward-mode derivative
        return ggn_operator(model, loss, inputs, params=params, targets=targets)(vector)
    if jv is None:  # the outputs do not depend on the selected parameters
        jv = torch.zeros_like(outputs)
    if targets is None:
        targets = _pseudo_targets(loss, outputs.detach())
    hjv = _output_hessian(loss, outputs, targets)(jv)
    return flatten(torch.autograd.grad(outputs, leaves, hjv, materialize_grads=True))


def _loss_function(
    model: nn.Module, loss: OutputLoss, names: Sequence[str], inputs: Any, targets: Any
) -> Callable[..., Tensor]:
    if targets is None:
        raise ValueError("the Hessian of the loss depends on the targets; pass targets=")
    forward = _model_function(model, names, inputs)

    def objective(*theta: Tensor) -> Tensor:
        return loss.from_outputs(forward(*theta), targets)

    return objective


def hessian_operator(
    model: nn.Module,
    loss: OutputLoss,
    inputs: Any,
    *,
    params: Iterable[Tensor] | None = None,
    targets: Any = None,
) -> MatVec:
    r"""Return the exact Hessian product :math:`v \mapsto \nabla^2_\theta L(\theta)\, v`.

    :math:`L(\theta) = \ell(f_\theta(x), y)`. The gradient graph is built once
    (reverse-over-reverse); each call costs one backward pass through it. Unlike
    :math:`G`, the Hessian is indefinite in general: solve with :func:`minres`, not
    :func:`conjugate_gradient`.

    Arguments:
        model, loss, inputs, params: as in :func:`ggn_operator`.
        targets: targets in the loss's format (required).

    Returns:
        A :data:`MatVec` on flat vectors of shape :math:`(P,)`.

    :raises ValueError: if ``targets`` is ``None``.
    """
    _check_loss(loss)
    names, primals = _select_params(model, params)
    objective = _loss_function(model, loss, names, inputs, targets)
    argnums = tuple(range(len(primals)))
    with frozen_batchnorm_stats(model):
        # The Hessian is symmetric, so the vector-Jacobian product of the gradient is H v.
        _, hvp = vjp(grad(objective, argnums=argnums), *primals)

    def matvec(vector: Tensor) -> Tensor:
        return flatten(hvp(tuple(unflatten_like(vector, primals))))

    return matvec


def hessian_vector_product(
    model: nn.Module,
    loss: OutputLoss,
    inputs: Any,
    vector: Tensor,
    *,
    params: Iterable[Tensor] | None = None,
    targets: Any = None,
) -> Tensor:
    r"""Return :math:`\nabla^2_\theta L(\theta)\, v` for one flat vector (forward-over-reverse).

    One-shot form of :func:`hessian_operator`: a forward-mode derivative of the gradient,
    :math:`Hv = \frac{d}{dt} \nabla L(\theta + t v)\big|_{t=0}`.

    Shapes:
        vector: :math:`(P,)`; returns :math:`(P,)`.

    :raises ValueError: if ``targets`` is ``None``.
    """
    _check_loss(loss)
    names, primals = _select_params(model, params)
    objective = _loss_function(model, loss, names, inputs, targets)
    gradient = grad(objective, argnums=tuple(range(len(primals))))
    with frozen_batchnorm_stats(model):
        _, hv = jvp(gradient, primals, tuple(unflatten_like(vector, primals)))
    return flatten(hv)


# -------------------------------------------------------------------------------------------
# Krylov solvers
# -------------------------------------------------------------------------------------------


@attrs.frozen
class SolverInfo:
    """What :func:`conjugate_gradient` or :func:`minres` did."""

    iterations: int
    """Number of Krylov iterations performed."""
    matvecs: int
    """Number of ``matvec`` calls (iterations, plus one when a start point was given)."""
    residual_norms: tuple[float, ...]
    """:math:`\\|b - (A + \\lambda I) x_i\\|` for :math:`i = 0, \\dots,` ``iterations``, as
    the solver's recurrences estimate it."""
    converged: bool
    """Whether the residual reached ``tol`` times :math:`\\|b\\|`."""
    negative_curvature: bool = False
    """Conjugate gradient only: stopped at a direction :math:`p` with
    :math:`p^\\top (A + \\lambda I) p \\le 0` (the matrix is not positive definite)."""
    iterates: tuple[Tensor, ...] = ()
    """:math:`x_1, \\dots, x_k` when ``store_iterates=True`` (for Martens-style
    backtracking over conjugate-gradient iterates)."""


def _damped(matvec: MatVec, damping: float) -> MatVec:
    if damping == 0.0:
        return matvec
    return lambda v: matvec(v) + damping * v


def _check_solver_args(b: Tensor, max_iter: int, tol: float, x0: Tensor | None) -> None:
    if b.dim() != 1:
        raise ValueError(f"b must be a flat vector, got shape {tuple(b.shape)}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    if tol < 0.0:
        raise ValueError(f"tol must be non-negative, got {tol}")
    if x0 is not None and x0.shape != b.shape:
        raise ValueError(f"x0 has shape {tuple(x0.shape)}, b has shape {tuple(b.shape)}")


def conjugate_gradient(
    matvec: MatVec,
    b: Tensor,
    *,
    max_iter: int,
    tol: float,
    x0: Tensor | None = None,
    damping: float = 0.0,
    store_iterates: bool = False,
) -> tuple[Tensor, SolverInfo]:
    r"""Solve :math:`(A + \lambda I)\, x = b` by (truncated) linear conjugate gradient.

    Minimises the quadratic :math:`\tfrac12 x^\top (A + \lambda I) x - b^\top x` over growing
    Krylov subspaces; :math:`A` must be symmetric positive semi-definite (a GGN or Fisher)
    and :math:`A + \lambda I` positive definite. Stops after ``max_iter`` iterations, when
    :math:`\|r_i\| \le \text{tol}\, \|b\|`, or at a direction of non-positive curvature
    (then the last iterate is returned and ``info.negative_curvature`` is set).

    Arguments:
        matvec: the operator :math:`v \mapsto A v`.
        b: right-hand side.
        max_iter: maximum number of iterations (matrix-vector products).
        tol: relative residual tolerance.
        x0: start point (warm start); zero by default.
        damping: Tikhonov damping :math:`\lambda \ge 0` added to :math:`A`.
        store_iterates: keep every iterate in ``info.iterates``.

    Returns:
        ``(x, info)``: the last iterate and a :class:`SolverInfo`.

    Shapes:
        b, x0, x: :math:`(P,)`.

    References:
        Methods of Conjugate Gradients for Solving Linear Systems (Hestenes & Stiefel, 1952)

    Example:
        >>> A = torch.tensor([[4.0, 1.0], [1.0, 3.0]])
        >>> x, info = conjugate_gradient(lambda v: A @ v, torch.tensor([1.0, 2.0]),
        ...                              max_iter=10, tol=1e-6)
        >>> x, info.iterations, info.converged
        (tensor([0.0909, 0.6364]), 2, True)
    """
    _check_solver_args(b, max_iter, tol, x0)
    operator = _damped(matvec, damping)
    matvecs = 0
    if x0 is None:
        x = torch.zeros_like(b)
        r = b.clone()
    else:
        x = x0.clone()
        r = b - operator(x)
        matvecs += 1
    p = r.clone()
    rr = r.dot(r)
    threshold = tol * float(b.norm())
    norms = [math.sqrt(float(rr))]
    iterates: list[Tensor] = []
    negative_curvature = False
    iterations = 0
    while norms[-1] > threshold and iterations < max_iter:
        ap = operator(p)
        matvecs += 1
        curvature = p.dot(ap)
        if float(curvature) <= 0.0:
            negative_curvature = True
            break
        alpha = rr / curvature
        x = x + alpha * p
        r = r - alpha * ap
        rr_next = r.dot(r)
        p = r + (rr_next / rr) * p
        rr = rr_next
        iterations += 1
        norms.append(math.sqrt(float(rr)))
        if store_iterates:
            iterates.append(x)
    info = SolverInfo(
        iterations=iterations,
        matvecs=matvecs,
        residual_norms=tuple(norms),
        converged=norms[-1] <= threshold,
        negative_curvature=negative_curvature,
        iterates=tuple(iterates),
    )
    return x, info


def minres(
    matvec: MatVec,
    b: Tensor,
    *,
    max_iter: int,
    tol: float,
    x0: Tensor | None = None,
    damping: float = 0.0,
    store_iterates: bool = False,
) -> tuple[Tensor, SolverInfo]:
    r"""Solve :math:`(A + \lambda I)\, x = b` for symmetric, possibly indefinite :math:`A`.

    MINRES picks the iterate in the Krylov subspace :math:`\mathcal K_i(A + \lambda I, r_0)`
    that minimises :math:`\|b - (A + \lambda I) x\|`, using the Lanczos process and Givens
    rotations, so the residual norm never increases. It works where conjugate gradient
    breaks down (indefinite Hessians) and, on singular consistent systems, converges to a
    solution. Stops after ``max_iter`` iterations, when :math:`\|r_i\| \le \text{tol}\,\|b\|`,
    or when the Krylov subspace is exhausted (then the iterate is exact).

    Arguments:
        matvec: the symmetric operator :math:`v \mapsto A v`.
        b: right-hand side.
        max_iter: maximum number of iterations (matrix-vector products).
        tol: relative residual tolerance.
        x0: start point (warm start); zero by default.
        damping: shift :math:`\lambda` added to :math:`A` (may be any real number).
        store_iterates: keep every iterate in ``info.iterates``.

    Returns:
        ``(x, info)``: the last iterate and a :class:`SolverInfo`.

    Shapes:
        b, x0, x: :math:`(P,)`.

    References:
        Solution of Sparse Indefinite Systems of Linear Equations (Paige & Saunders, 1975)
        https://doi.org/10.1137/0712047

    Example:
        >>> A = torch.tensor([[1.0, 2.0], [2.0, -1.0]])  # eigenvalues +-sqrt(5)
        >>> x, info = minres(lambda v: A @ v, torch.tensor([3.0, 1.0]), max_iter=10, tol=1e-6)
        >>> x.round(decimals=4), info.converged
        (tensor([1., 1.]), True)
    """
    _check_solver_args(b, max_iter, tol, x0)
    operator = _damped(matvec, damping)
    matvecs = 0
    if x0 is None:
        x = torch.zeros_like(b)
        r = b.clone()
    else:
        x = x0.clone()
        r = b - operator(x)
        matvecs += 1
    beta = float(r.norm())
    threshold = tol * float(b.norm())
    norms = [beta]
    iterates: list[Tensor] = []
    iterations = 0
    if beta > threshold:
        # Lanczos vectors v_{i-1}, v_i (unnormalised as r_prev, r_cur) and the last two
        # search directions; names follow Paige & Saunders.
        r_prev = torch.zeros_like(b)
        r_cur = r
        beta_prev = 0.0
        w = torch.zeros_like(b)
        w_prev = torch.zeros_like(b)
        cs, sn = -1.0, 0.0
        dbar, epsilon = 0.0, 0.0
        phibar = beta
        tiny = torch.finfo(b.dtype).eps
        norm_estimate = 0.0  # Frobenius norm of the tridiagonal matrix seen so far
        while iterations < max_iter:
            v = r_cur / beta
            y = operator(v)
            matvecs += 1
            if iterations > 0:
                y = y - (beta / beta_prev) * r_prev
            alpha = float(v.dot(y))
            y = y - (alpha / beta) * r_cur
            r_prev, r_cur = r_cur, y
            beta_prev, beta = beta, float(y.norm())
            norm_estimate = math.sqrt(norm_estimate**2 + alpha**2 + beta_prev**2 + beta**2)
            # Apply the previous rotation, then build the one that annihilates beta.
            epsilon_prev = epsilon
            delta = cs * dbar + sn * alpha
            gbar = sn * dbar - cs * alpha
            epsilon = sn * beta
            dbar = -cs * beta
            gamma = max(math.hypot(gbar, beta), tiny)
            cs, sn = gbar / gamma, beta / gamma
            phi = cs * phibar
            phibar = sn * phibar
            w_prev, w = w, (v - epsilon_prev * w_prev - delta * w) / gamma
            x = x + phi * w
            iterations += 1
            norms.append(phibar)
            if store_iterates:
                iterates.append(x)
            # beta = 0 means the Krylov subspace is invariant and x is exact.
            if phibar <= threshold or beta <= tiny * norm_estimate:
                break
    info = SolverInfo(
        iterations=iterations,
        matvecs=matvecs,
        residual_norms=tuple(norms),
        converged=norms[-1] <= threshold,
        iterates=tuple(iterates),
    )
    return x, info


def lanczos(
    matvec: MatVec,
    dim: int,
    k: int,
    *,
    generator: torch.Generator | None = None,
    v0: Tensor | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Run ``k`` steps of Lanczos with full re-orthogonalisation.

    Builds an orthonormal basis :math:`Q = [q_1, \dots, q_m]` of the Krylov subspace
    :math:`\mathcal K_m(A, v_0)` and the tridiagonal :math:`T = Q^\top A Q` with diagonal
    :math:`\alpha` and off-diagonal :math:`\beta`. Every new vector is orthogonalised twice
    against all previous ones, which keeps :math:`Q` orthonormal to working precision (plain
    three-term Lanczos loses orthogonality and produces spurious copies of converged Ritz
    values). Eigenvalues of :math:`T` (:func:`ritz_pairs`) approximate the extreme
    eigenvalues of :math:`A` first. Stops early (:math:`m < k`) if the subspace becomes
    invariant.

    Arguments:
        matvec: the symmetric operator :math:`v \mapsto A v`.
        dim: the dimension :math:`P` of the vector space.
        k: number of Lanczos vectors (capped at ``dim``).
        generator: random generator for the start vector (when ``v0`` is not given).
        v0: start vector (e.g. the gradient, for saddle-free Newton); need not be normalised.
        dtype, device: of the random start vector.

    Returns:
        ``(alphas, betas, Q)``.

    Shapes:
        alphas: :math:`(m,)`; betas: :math:`(m - 1,)`; Q: :math:`(P, m)` with :math:`m \le k`.

    References:
        An Iteration Method for the Solution of the Eigenvalue Problem of Linear
        Differential and Integral Operators (Lanczos, 1950)

    Example:
        >>> A = torch.diag(torch.arange(1.0, 6.0))
        >>> alphas, betas, Q = lanczos(lambda v: A @ v, 5, 5, v0=torch.ones(5))
        >>> ritz_pairs(alphas, betas, Q)[0]
        tensor([1.0000, 2.0000, 3.0000, 4.0000, 5.0000])
    """
    if dim < 1 or k < 1:
        raise ValueError(f"dim and k must be positive, got dim={dim}, k={k}")
    k = min(k, dim)
    if v0 is None:
        v0 = torch.randn(dim, generator=generator, dtype=dtype, device=device)
    elif v0.shape != (dim,):
        raise ValueError(f"v0 has shape {tuple(v0.shape)}, expected ({dim},)")
    q = v0 / v0.norm()
    basis = torch.zeros(dim, k, dtype=q.dtype, device=q.device)  # (P, k)
    alphas: list[Tensor] = []
    betas: list[Tensor] = []
    scale = 0.0
    for j in range(k):
        basis[:, j] = q
        w = matvec(q)
        alpha = q.dot(w)
        alphas.append(alpha)
        q_span = basis[:, : j + 1]  # (P, j + 1)
        # Twice is enough (Kahan, Parlett) to orthogonalise against the whole basis, which
        # also removes the three-term recurrence's alpha q_j and beta q_{j-1} components.
        for _ in range(2):
            w = w - q_span @ (q_span.T @ w)
        beta = w.norm()
        scale = max(scale, math.hypot(float(alpha), float(beta)))
        if j == k - 1 or float(beta) <= dim * torch.finfo(q.dtype).eps * scale:
            break
        betas.append(beta)
        q = w / beta
    m = len(alphas)
    return torch.stack(alphas), torch.stack(betas) if betas else basis.new_zeros(0), basis[:, :m]


def ritz_pairs(alphas: Tensor, betas: Tensor, basis: Tensor) -> tuple[Tensor, Tensor]:
    r"""Return the Ritz values and vectors of a :func:`lanczos` decomposition.

    With :math:`T = S \Theta S^\top` the eigendecomposition of the tridiagonal matrix, the
    Ritz values are :math:`\Theta` (ascending) and the Ritz vectors :math:`Q S`.

    Shapes:
        alphas: :math:`(m,)`; betas: :math:`(m - 1,)`; basis: :math:`(P, m)`; returns values
        :math:`(m,)` and vectors :math:`(P, m)`.
    """
    tridiagonal = torch.diag(alphas) + torch.diag(betas, 1) + torch.diag(betas, -1)  # (m, m)
    values, vectors = torch.linalg.eigh(tridiagonal)
    return values, basis @ vectors
