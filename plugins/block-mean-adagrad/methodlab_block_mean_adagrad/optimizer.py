r"""AdaGrad with a block mean, diagonal or full-matrix preconditioner (Lu et al., 2018)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from methodlab.curvature import flatten, unflatten_like
from torch import Tensor, nn

from methodlab_block_mean_adagrad.bma import block_mean_from_sums, group_sums
from methodlab_block_mean_adagrad.config import (
    BlockMeanAdagradParams,
    DiagonalAdagradParams,
    FullMatrixAdagradParams,
)
from methodlab_block_mean_adagrad.partition import (
    flat_labels,
    partition_model,
    partition_parameters,
)

__all__ = [
    "BlockMeanAdagrad",
    "DiagonalAdagrad",
    "FullMatrixAdagrad",
    "build_block_mean",
    "build_diagonal",
    "build_full_matrix",
    "low_rank_inverse_sqrt",
]

_ACCUMULATOR = torch.float64


def low_rank_inverse_sqrt(gradients: Tensor, gram: Tensor, vector: Tensor, delta: float) -> Tensor:
    r"""Apply :math:`(Y Y^\top + \delta I)^{-1/2}` using only the :math:`t \times t` Gram matrix.

    With :math:`Y^\top Y = V \Lambda V^\top`, the left singular vectors of :math:`Y` are
    :math:`Y V \Lambda^{-1/2}`, so

    .. math::

        (Y Y^\top + \delta I)^{-1/2} v = \delta^{-1/2} v
            + Y V\, h(\Lambda)\, V^\top Y^\top v, \qquad
        h(\lambda) = \frac{(\lambda + \delta)^{-1/2} - \delta^{-1/2}}{\lambda}
            = \frac{-1}{\sqrt{\lambda + \delta}\,\sqrt\delta\,
                      (\sqrt\delta + \sqrt{\lambda + \delta})},

    where the last form stays finite as :math:`\lambda \to 0`. The cost is
    :math:`O(d t + t^3)` instead of the :math:`O(d^3)` of a dense eigendecomposition.

    Arguments:
        gradients: :math:`Y`, the past gradients as columns.
        gram: :math:`Y^\top Y`.
        vector: :math:`v`.
        delta: :math:`\delta > 0`.

    Shapes:
        gradients: :math:`(d, t)`; gram: :math:`(t, t)`; vector and result: :math:`(d,)`.

    Example:
        >>> y = torch.tensor([[3.0], [4.0]], dtype=torch.float64)
        >>> low_rank_inverse_sqrt(y, y.T @ y, y[:, 0], delta=1e-12)
        tensor([0.6000, 0.8000], dtype=torch.float64)
    """
    eigenvalues, eigenvectors = torch.linalg.eigh(gram)
    damped = (eigenvalues.clamp_min(0.0) + delta).sqrt()
    root_delta = delta**0.5
    h = -1.0 / (damped * root_delta * (root_delta + damped))
    coefficients = eigenvectors @ (h * (eigenvectors.T @ (gradients.T @ vector)))
    return vector / root_delta + gradients @ coefficients


class _Adagrad(torch.optim.Optimizer):
    """What the three AdaGrad variants share: checks, flat gradients, float64 state."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        defaults: dict[str, Any],
    ) -> None:
        if defaults["lr"] <= 0.0:
            raise ValueError(f"Invalid learning rate: {defaults['lr']}")
        if defaults["delta"] <= 0.0:
            raise ValueError(f"Invalid delta: {defaults['delta']} (must be > 0)")
        if defaults["weight_decay"] < 0.0:
            raise ValueError(f"Invalid weight_decay: {defaults['weight_decay']}")
        super().__init__(params, defaults)

    def _single_group(self) -> list[Tensor]:
        if len(self.param_groups) != 1:
            raise ValueError(f"{type(self).__name__} preconditions all parameters jointly and "
                             "doesn't support per-parameter options (parameter groups)")
        return self.param_groups[0]["params"]

    @staticmethod
    def _gradient(params: Sequence[Tensor], weight_decay: float) -> Tensor:
        """The flat float64 gradient :math:`(d,)` (missing gradients count as zero)."""
        grad = flatten(torch.zeros_like(p) if p.grad is None else p.grad for p in params)
        grad = grad.to(_ACCUMULATOR)
        if weight_decay:
            grad = grad + weight_decay * flatten(params).to(_ACCUMULATOR)
        return grad

    @staticmethod
    def _add(params: Sequence[Tensor], direction: Tensor, alpha: float) -> None:
        for p, update in zip(params, unflatten_like(direction, params), strict=True):
            p.add_(update.to(p.dtype), alpha=alpha)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load the state, keeping the float64 accumulators in float64.

        :meth:`torch.optim.Optimizer.load_state_dict` casts floating-point state to each
        parameter's dtype; that would round the accumulators of a float32 model after every
        resume.
        """
        super().load_state_dict(state_dict)
        saved_ids = itertools.chain.from_iterable(g["params"] for g in state_dict["param_groups"])
        params = itertools.chain.from_iterable(g["params"] for g in self.param_groups)
        for saved_id, p in zip(saved_ids, params, strict=True):
            for key, value in state_dict["state"].get(saved_id, {}).items():
                if isinstance(value, Tensor) and value.dtype == _ACCUMULATOR:
                    self.state[p][key] = value.to(p.device, copy=True)
        self._check_state()

    def _check_state(self) -> None:
        """Raise ``ValueError`` if loaded state does not fit these parameters."""


class BlockMeanAdagrad(_Adagrad):
    r"""AdaGrad preconditioned by the block mean approximation of :math:`G = \sum_t g_t g_t^\top`.

    The :math:`d` parameters are partitioned into :math:`L` groups. Full-matrix AdaGrad steps
    along :math:`-(G_t + \delta I)^{-1/2} g_t`; this optimizer replaces :math:`G_t` by its
    block mean approximation :math:`\hat M_t` (every off-diagonal block by its mean, every
    diagonal block by its mean diagonal and mean off-diagonal entry), which only needs the
    block sums of :math:`G_t`:

    .. math::

        A_t &= A_{t-1} + (U^\top g_t)(U^\top g_t)^\top, \qquad
        \tau_t = \tau_{t-1} + U^\top (g_t \odot g_t) \\
        \hat M_t &= D_t + U B_t U^\top \quad \text{(from } A_t, \tau_t\text{)} \\
        \theta_t &= \theta_{t-1} - \eta\, (\hat M_t + \delta I)^{-1/2} g_t

    with :math:`U` the :math:`d \times L` group-indicator matrix. The inverse square root
    costs one :math:`L \times L` eigendecomposition per step
    (:meth:`~methodlab_block_mean_adagrad.bma.BlockMean.power_apply`); memory is
    :math:`O(L^2 + d)`. Accumulators and the preconditioner are computed in float64.

    References:
        Block Mean Approximation for Efficient Second Order Optimization
        (Lu, Harandi, Hartley & Pascanu, 2018) https://arxiv.org/abs/1804.05484

    Arguments:
        params: the parameters (one group).
        lr (float, optional): step size :math:`\eta` (default: 0.01).
        delta (float, optional): damping :math:`\delta > 0` (default: 1e-8).
        weight_decay (float, optional): L2 penalty added to the gradient (default: 0).
        groups (str or list of Tensor, optional): the partition: ``"row"`` (default),
            ``"tensor"``, ``"element"`` (exact full-matrix AdaGrad) or one integer label
            tensor per parameter, shaped like it, with group indices ``0 .. L - 1``
            (:func:`~methodlab_block_mean_adagrad.partition.partition_model` builds them
            per output unit, layer or by parameter names).

    Example:
        >>> _ = torch.manual_seed(0)
        >>> model = nn.Linear(4, 3)
        >>> x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
        >>> opt = BlockMeanAdagrad(model.parameters(), lr=0.1, groups="row")
        >>> first = torch.nn.functional.cross_entropy(model(x), y).item()
        >>> for _ in range(20):
        ...     opt.zero_grad()
        ...     torch.nn.functional.cross_entropy(model(x), y).backward()
        ...     _ = opt.step()
        >>> torch.nn.functional.cross_entropy(model(x), y).item() < first
        True

    .. note::
        Like :class:`torch.optim.LBFGS`, it supports one parameter group and keeps its state
        on the first parameter: ``step`` (updates done), ``block_sums`` :math:`A` and
        ``diagonal_sums`` :math:`\tau`.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 0.01,
        delta: float = 1e-8,
        weight_decay: float = 0.0,
        groups: str | Sequence[Tensor] = "row",
    ) -> None:
        super().__init__(params, {"lr": lr, "delta": delta, "weight_decay": weight_decay})
        self._params = self._single_group()
        labels = (partition_parameters(self._params, groups) if isinstance(groups, str)
                  else list(groups))
        flat, self.n_groups = flat_labels(labels, self._params)
        device = self._params[0].device
        self._labels = flat.to(device)
        self._sizes = torch.bincount(flat, minlength=self.n_groups).to(device, _ACCUMULATOR)

    def _state(self) -> dict[str, Any]:
        state = self.state[self._params[0]]
        if not state:
            L, device = self.n_groups, self._labels.device
            state.update(
                step=0,
                block_sums=torch.zeros(L, L, dtype=_ACCUMULATOR, device=device),
                diagonal_sums=torch.zeros(L, dtype=_ACCUMULATOR, device=device),
            )
        return state

    def _check_state(self) -> None:
        state = self.state[self._params[0]]
        if state and tuple(state["block_sums"].shape) != (self.n_groups, self.n_groups):
            raise ValueError(f"saved state has {state['block_sums'].shape[0]} groups, this "
                             f"optimizer partitions its parameters into {self.n_groups}")

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """Perform one update; returns the closure's loss (or ``None`` without a closure)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        group = self.param_groups[0]
        state = self._state()
        grad = self._gradient(self._params, group["weight_decay"])  # (d,)
        sums = group_sums(grad, self._labels, self.n_groups)  # (L,): U^T g
        state["block_sums"].add_(torch.outer(sums, sums))
        state["diagonal_sums"].index_add_(0, self._labels, grad * grad)
        state["step"] += 1
        approximation = block_mean_from_sums(
            state["block_sums"], state["diagonal_sums"], self._labels, self._sizes
        )
        direction = approximation.power_apply(grad, -0.5, group["delta"])
        self._add(self._params, direction, -group["lr"])
        return loss


class DiagonalAdagrad(_Adagrad):
    r"""Diagonal AdaGrad with the damping inside the square root.

    .. math::

        G_t = G_{t-1} + g_t \odot g_t, \qquad
        \theta_t = \theta_{t-1} - \eta\, \frac{g_t}{\sqrt{G_t + \delta}}

    The baseline of the block mean approximation: the same update as
    :class:`BlockMeanAdagrad` and :class:`FullMatrixAdagrad` with :math:`\mathrm{diag}(G_t)`
    as the matrix. :class:`torch.optim.Adagrad` instead divides by
    :math:`\sqrt{G_t} + \epsilon`; for :math:`G_t \gg \delta` the two agree. The accumulator
    is kept in float64.

    References:
        Adaptive Subgradient Methods for Online Learning and Stochastic Optimization
        (Duchi, Hazan & Singer, 2011) https://jmlr.org/papers/v12/duchi11a.html

    Arguments:
        params: the parameters or parameter groups.
        lr (float, optional): step size :math:`\eta` (default: 0.01).
        delta (float, optional): damping :math:`\delta > 0` (default: 1e-8).
        weight_decay (float, optional): L2 penalty added to the gradient (default: 0).

    Example:
        >>> w = nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = DiagonalAdagrad([w], lr=0.5, delta=1e-12)
        >>> (w ** 2).sum().backward(); _ = opt.step()
        >>> w.data
        tensor([ 0.5000, -1.5000])
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 0.01,
        delta: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, {"lr": lr, "delta": delta, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """Perform one update; returns the closure's loss (or ``None`` without a closure)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state.update(step=0, sum=torch.zeros_like(p, dtype=_ACCUMULATOR))
                grad = p.grad.to(_ACCUMULATOR)
                if group["weight_decay"]:
                    grad = grad + group["weight_decay"] * p.to(_ACCUMULATOR)
                state["sum"].addcmul_(grad, grad)
                state["step"] += 1
                direction = grad / (state["sum"] + group["delta"]).sqrt()
                p.add_(direction.to(p.dtype), alpha=-group["lr"])
        return loss


class FullMatrixAdagrad(_Adagrad):
    r"""Full-matrix AdaGrad: :math:`\theta_t = \theta_{t-1} - \eta (G_t + \delta I)^{-1/2} g_t`.

    :math:`G_t = \sum_{s \le t} g_s g_s^\top` has rank at most :math:`t`. While
    :math:`t < d` the optimizer keeps the past gradients :math:`Y_t` (:math:`d \times t`) and
    their Gram matrix and applies the exact inverse square root through a
    :math:`t \times t` eigendecomposition (:func:`low_rank_inverse_sqrt`); from
    :math:`t = d` on it keeps :math:`G_t` itself and takes a dense :math:`d \times d`
    eigendecomposition per step. Everything is float64. Meant for small models, as the
    reference the block mean approximation approximates.

    References:
        Adaptive Subgradient Methods for Online Learning and Stochastic Optimization
        (Duchi, Hazan & Singer, 2011) https://jmlr.org/papers/v12/duchi11a.html

    Arguments:
        params: the parameters (one group).
        lr (float, optional): step size :math:`\eta` (default: 0.01).
        delta (float, optional): damping :math:`\delta > 0` (default: 1e-8).
        weight_decay (float, optional): L2 penalty added to the gradient (default: 0).
        max_params (int, optional): refuse more than this many scalars :math:`d`
            (default: 4096).

    Example:
        >>> w = nn.Parameter(torch.tensor([3.0, 4.0]))
        >>> opt = FullMatrixAdagrad([w], lr=1.0, delta=1e-12)
        >>> (0.5 * (w ** 2).sum()).backward(); _ = opt.step()
        >>> w.data  # the first step is the normalised gradient
        tensor([2.4000, 3.2000])

    .. note::
        State lives on the first parameter: ``step``, then ``gradients`` and ``gram`` while
        :math:`t < d`, and ``sum`` (:math:`G_t`) afterwards.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 0.01,
        delta: float = 1e-8,
        weight_decay: float = 0.0,
        max_params: int = 4096,
    ) -> None:
        super().__init__(params, {"lr": lr, "delta": delta, "weight_decay": weight_decay})
        self._params = self._single_group()
        self.dim = sum(p.numel() for p in self._params)
        if self.dim > max_params:
            raise ValueError(
                f"full-matrix AdaGrad keeps a d x d float64 matrix; d = {self.dim} exceeds "
                f"max_params = {max_params} (use BlockMeanAdagrad for large models)"
            )

    def _state(self) -> dict[str, Any]:
        state = self.state[self._params[0]]
        if not state:
            device = self._params[0].device
            state.update(
                step=0,
                gradients=torch.zeros(self.dim, 0, dtype=_ACCUMULATOR, device=device),
                gram=torch.zeros(0, 0, dtype=_ACCUMULATOR, device=device),
            )
        return state

    def _check_state(self) -> None:
        state = self.state[self._params[0]]
        stored = state.get("sum", state.get("gradients"))
        if stored is not None and stored.shape[0] != self.dim:
            raise ValueError(f"saved state is for {stored.shape[0]} parameters, this "
                             f"optimizer has {self.dim}")

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """Perform one update; returns the closure's loss (or ``None`` without a closure)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        group = self.param_groups[0]
        state = self._state()
        grad = self._gradient(self._params, group["weight_decay"])  # (d,)
        state["step"] += 1
        delta = group["delta"]
        if "gradients" in state:
            past = state["gradients"]  # (d, t - 1)
            cross = past.T @ grad  # (t - 1,)
            gram = torch.cat([torch.cat([state["gram"], cross[:, None]], 1),
                              torch.cat([cross, grad.dot(grad)[None]])[None, :]], 0)
            gradients = torch.cat([past, grad[:, None]], 1)  # (d, t)
            if gradients.shape[1] < self.dim:
                state["gradients"], state["gram"] = gradients, gram
                direction = low_rank_inverse_sqrt(gradients, gram, grad, delta)
                self._add(self._params, direction, -group["lr"])
                return loss
            # From t = d on a dense eigendecomposition is no dearer than the Gram one.
            del state["gradients"], state["gram"]
            state["sum"] = gradients @ gradients.T
        else:
            state["sum"].add_(torch.outer(grad, grad))
        eigenvalues, eigenvectors = torch.linalg.eigh(state["sum"])
        scale = (eigenvalues.clamp_min(0.0) + delta).rsqrt()
        direction = eigenvectors @ (scale * (eigenvectors.T @ grad))
        self._add(self._params, direction, -group["lr"])
        return loss


def _trainable(model: nn.Module) -> list[Tensor]:
    return [p for _, p in model.named_parameters() if p.requires_grad]


def build_block_mean(params: BlockMeanAdagradParams, *, model: nn.Module) -> BlockMeanAdagrad:
    """Build the optimizer for a run (``use = "block-mean-adagrad"``)."""
    labels = partition_model(model, params.groups, params.explicit_groups)
    return BlockMeanAdagrad(_trainable(model), lr=params.lr, delta=params.delta,
                            weight_decay=params.weight_decay, groups=labels)


def build_diagonal(params: DiagonalAdagradParams, *, model: nn.Module) -> DiagonalAdagrad:
    """Build the optimizer for a run (``use = "diagonal-adagrad"``)."""
    return DiagonalAdagrad(_trainable(model), lr=params.lr, delta=params.delta,
                           weight_decay=params.weight_decay)


def build_full_matrix(params: FullMatrixAdagradParams, *, model: nn.Module) -> FullMatrixAdagrad:
    """Build the optimizer for a run (``use = "full-matrix-adagrad"``)."""
    return FullMatrixAdagrad(_trainable(model), lr=params.lr, delta=params.delta,
                             weight_decay=params.weight_decay, max_params=params.max_params)
