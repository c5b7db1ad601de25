r"""The dense Hessian of a small network's loss and its absolute value :math:`|H|`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from methodlab import curvature
from methodlab.components import OutputLoss
from torch import Tensor, nn

__all__ = ["absolute_value", "dense_hessian"]

_COLUMNS_PER_BATCH = 16
"""Hessian columns computed per vectorised batch: enough to amortise Python overhead while the
batched intermediate tensors stay in cache (measured fastest on CPU for ~500 parameters)."""


def dense_hessian(
    model: nn.Module,
    loss: OutputLoss,
    inputs: Any,
    targets: Any,
    *,
    params: Iterable[Tensor] | None = None,
) -> Tensor:
    r"""Return the exact Hessian :math:`H = \nabla^2_\theta L(\theta)` as a dense matrix.

    Each column is a Hessian-vector product :math:`H e_i` of
    :func:`methodlab.curvature.hessian_operator`, vectorised over the identity with
    :func:`torch.func.vmap`; the result is symmetrised, :math:`\tfrac12 (H + H^\top)`, to
    remove rounding asymmetry before an eigendecomposition. Costs :math:`P` Hessian-vector
    products and :math:`P^2` memory, so it is meant for networks of a few thousand parameters
    at most.

    Arguments:
        model, loss, inputs, targets: as in :func:`methodlab.curvature.hessian_operator`
            (``loss`` an :class:`~methodlab.components.OutputLoss`).
        params: the parameters spanning :math:`\theta` (default: all that require grad).

    Shapes:
        returns :math:`(P, P)` in the parameters' dtype.

    Example:
        >>> class HalfSquares(OutputLoss):
        ...     def from_outputs(self, outputs, targets):
        ...         return 0.5 * (outputs - targets).pow(2).sum(-1).mean()
        >>> net = nn.Linear(3, 1, bias=False)
        >>> x = torch.randn(5, 3)
        >>> H = dense_hessian(net, HalfSquares(), x, torch.zeros(5, 1))
        >>> torch.allclose(H, x.T @ x / 5, atol=1e-6)
        True
    """
    chosen = [p for p in model.parameters() if p.requires_grad] if params is None else list(params)
    matvec = curvature.hessian_operator(model, loss, inputs, params=chosen, targets=targets)
    dim = sum(p.numel() for p in chosen)
    identity = torch.eye(dim, dtype=chosen[0].dtype, device=chosen[0].device)
    columns = torch.func.vmap(matvec, chunk_size=_COLUMNS_PER_BATCH)(identity)  # (P, P)
    return 0.5 * (columns + columns.T)


def absolute_value(matrix: Tensor) -> Tensor:
    r"""Return :math:`|A| = U |\Lambda| U^\top` for a symmetric :math:`A = U \Lambda U^\top`.

    :math:`|A|` has the eigenvectors of :math:`A` and the absolute values of its eigenvalues:
    the positive semi-definite matrix saddle-free Newton rescales the gradient by.

    Shapes:
        matrix: :math:`(P, P)` symmetric; returns :math:`(P, P)`.

    Example:
        >>> absolute_value(torch.tensor([[0.0, 2.0], [2.0, 0.0]])).round(decimals=4)
        tensor([[2., 0.],
                [0., 2.]])
    """
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.abs()) @ vectors.T
