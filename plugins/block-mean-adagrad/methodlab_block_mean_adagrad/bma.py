r"""The block mean approximation of a symmetric matrix and its powers (Lu et al., 2018)."""

from __future__ import annotations

import attrs
import torch
from torch import Tensor

__all__ = ["BlockMean", "block_mean", "block_mean_from_sums", "group_sums"]


def group_sums(values: Tensor, labels: Tensor, n_groups: int) -> Tensor:
    r"""Sum the rows of ``values`` over each group: :math:`U^\top v`.

    Arguments:
        values: a vector :math:`(d,)` or the columns of a matrix :math:`(d, n)`.
        labels: group index of every coordinate, :math:`(d,)`, in ``0 .. n_groups - 1``.
        n_groups: number of groups :math:`L`.

    Shapes:
        returns :math:`(L,)` or :math:`(L, n)`.

    Example:
        >>> group_sums(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0, 1, 0]), 2)
        tensor([4., 2.])
    """
    out = values.new_zeros((n_groups, *values.shape[1:]))
    return out.index_add_(0, labels, values)


@attrs.frozen(eq=False)
class BlockMean:
    r"""A matrix of block mean structure :math:`\hat M = D + U B U^\top`.

    The :math:`d` coordinates are partitioned into :math:`L` groups of sizes :math:`s_i`;
    :math:`U` is the :math:`d \times L` group-indicator matrix, :math:`D` is diagonal and
    constant within each group (:math:`c_i` on group :math:`i`) and :math:`B` is a symmetric
    :math:`L \times L` matrix. Block :math:`(i, j)` of :math:`\hat M` is
    :math:`b_{ij} \mathbf 1 \mathbf 1^\top` for :math:`i \ne j` and
    :math:`c_i I + b_{ii} \mathbf 1 \mathbf 1^\top` on the diagonal.

    Because :math:`D` commutes with the projector :math:`P = U S^{-1} U^\top` onto
    group-constant vectors (:math:`S = \mathrm{diag}(s_i)`), every matrix function splits
    into the group-constant subspace, where :math:`\hat M` acts as the :math:`L \times L`
    matrix :math:`K = C + S^{1/2} B S^{1/2}` (:math:`C = \mathrm{diag}(c_i)`) in the
    orthonormal basis :math:`U S^{-1/2}`, and its complement (within-group zero-mean
    vectors), where it acts as :math:`c_i` on group :math:`i`:

    .. math::

        f(\hat M) = U S^{-1/2} f(K) S^{-1/2} U^\top + (I - P)\, f(D).

    So a power of :math:`\hat M + \delta I` costs one :math:`L \times L` eigendecomposition
    and :math:`O(d)` work (:meth:`power_apply`).

    Shapes:
        labels: :math:`(d,)`; sizes, within: :math:`(L,)`; between: :math:`(L, L)`.
    """

    labels: Tensor
    """Group of every coordinate, ``0 .. L - 1``."""
    sizes: Tensor
    """Group sizes :math:`s_i` (floating point)."""
    within: Tensor
    """:math:`c_i`: the eigenvalue of :math:`\\hat M` on within-group zero-mean vectors."""
    between: Tensor
    """:math:`B`: the block value :math:`b_{ij}` (:math:`i \\ne j`) and the mean off-diagonal
    entry :math:`b_{ii}` of each diagonal block."""

    @property
    def n_groups(self) -> int:
        """Number of groups :math:`L`."""
        return self.sizes.numel()

    def reduced(self) -> Tensor:
        r""":math:`K = C + S^{1/2} B S^{1/2}`, the action on group-constant vectors."""
        root = self.sizes.sqrt()
        return torch.diag(self.within) + root[:, None] * self.between * root[None, :]

    def dense(self) -> Tensor:
        r"""The :math:`d \times d` matrix :math:`\hat M` (for tests and small problems)."""
        return torch.diag(self.within[self.labels]) + self.between[self.labels][:, self.labels]

    def power_apply(self, vectors: Tensor, power: float = -0.5, delta: float = 0.0) -> Tensor:
        r"""Apply :math:`(\hat M + \delta I)^{p}` to a vector or to the columns of a matrix.

        Eigenvalues of :math:`\hat M` below zero (round-off; :math:`\hat M` is positive
        semi-definite when the matrix it approximates is) are clamped to zero first.

        Arguments:
            vectors: :math:`(d,)` or :math:`(d, n)`.
            power: the exponent :math:`p` (``-0.5`` for AdaGrad, ``-1`` for an inverse).
            delta: the damping :math:`\delta \ge 0`; must be positive for negative powers
                unless :math:`\hat M` is positive definite.

        Returns:
            :math:`(\hat M + \delta I)^{p} v`, shaped like ``vectors``.

        Example:
            >>> m = block_mean(torch.eye(4, dtype=torch.float64) * 4, torch.tensor([0, 0, 1, 1]))
            >>> m.power_apply(torch.ones(4, dtype=torch.float64), -0.5)
            tensor([0.5000, 0.5000, 0.5000, 0.5000], dtype=torch.float64)
        """
        labels, sizes = self.labels, self.sizes
        column = vectors if vectors.dim() == 1 else None
        v = vectors[:, None] if column is not None else vectors  # (d, n)
        sums = group_sums(v, labels, self.n_groups)  # (L, n): U^T v
        root = sizes.sqrt()[:, None]  # (L, 1)
        # Group-constant part: U S^{-1/2} f(K) S^{-1/2} U^T v, with f(K) from one eigh.
        eigenvalues, eigenvectors = torch.linalg.eigh(self.reduced())
        scale = (eigenvalues.clamp_min(0.0) + delta).pow(power)  # (L,)
        coefficients = eigenvectors @ (scale[:, None] * (eigenvectors.T @ (sums / root)))
        constant = (coefficients / root)[labels]  # (d, n)
        # Within-group zero-mean part: f(c_i) on group i.
        within = (self.within.clamp_min(0.0) + delta).pow(power)[labels][:, None]  # (d, 1)
        centred = v - (sums / sizes[:, None])[labels]  # (d, n): (I - P) v
        out = constant + within * centred
        return out[:, 0] if column is not None else out


def block_mean_from_sums(
    block_sums: Tensor, diagonal_sums: Tensor, labels: Tensor, sizes: Tensor
) -> BlockMean:
    r"""The block mean approximation of a matrix :math:`M` given only its block sums.

    Arguments:
        block_sums: :math:`A = U^\top M U`, the sum of every block, :math:`(L, L)`.
        diagonal_sums: the trace of every diagonal block, :math:`(L,)`.
        labels: group of every coordinate, :math:`(d,)`.
        sizes: group sizes :math:`s_i` (floating point), :math:`(L,)`.

    Returns:
        :math:`\hat M` with block :math:`(i, j)` replaced by its mean
        :math:`A_{ij} / (s_i s_j)` for :math:`i \ne j`, and diagonal block :math:`i` by its
        mean diagonal entry :math:`a_i = \mathrm{tr}_i / s_i` on the diagonal and its mean
        off-diagonal entry :math:`o_i = (A_{ii} - \mathrm{tr}_i) / (s_i (s_i - 1))` elsewhere;
        :math:`c_i = a_i - o_i` and :math:`b_{ii} = o_i` (a group of one has
        :math:`c_i = 0, b_{ii} = a_i`).

    Example:
        >>> M = torch.tensor([[2.0, 1.0, 0.0], [1.0, 4.0, 3.0], [0.0, 3.0, 5.0]])
        >>> labels = torch.tensor([0, 0, 1])
        >>> m = block_mean_from_sums(group_sums(group_sums(M, labels, 2).T, labels, 2),
        ...                          torch.tensor([6.0, 5.0]), labels, torch.tensor([2.0, 1.0]))
        >>> m.dense()
        tensor([[3.0000, 1.0000, 1.5000],
                [1.0000, 3.0000, 1.5000],
                [1.5000, 1.5000, 5.0000]])
    """
    pairs = sizes[:, None] * sizes[None, :]
    between = block_sums / pairs
    mean_diagonal = diagonal_sums / sizes
    off_pairs = sizes * (sizes - 1.0)
    singleton = off_pairs == 0
    mean_off = torch.where(
        singleton,
        mean_diagonal,
        (block_sums.diagonal() - diagonal_sums) / torch.where(singleton, 1.0, off_pairs),
    )
    between = between.clone()
    between.diagonal().copy_(mean_off)
    return BlockMean(labels, sizes, mean_diagonal - mean_off, between)


def block_mean(matrix: Tensor, labels: Tensor, n_groups: int | None = None) -> BlockMean:
    r"""The block mean approximation :math:`\hat M` of a dense symmetric matrix.

    Arguments:
        matrix: :math:`M`, :math:`(d, d)`.
        labels: group of every coordinate, :math:`(d,)`, in ``0 .. L - 1``.
        n_groups: :math:`L` (default: ``labels.max() + 1``); every group must be non-empty.

    Example:
        >>> M = torch.tensor([[1.0, 2.0], [2.0, 5.0]])
        >>> block_mean(M, torch.tensor([0, 0])).dense()
        tensor([[3., 2.],
                [2., 3.]])
    """
    if n_groups is None:
        n_groups = int(labels.max()) + 1
    sizes = torch.bincount(labels, minlength=n_groups).to(matrix.dtype)
    if bool((sizes == 0).any()):
        raise ValueError("every group index 0 .. L - 1 needs at least one coordinate")
    block_sums = group_sums(group_sums(matrix, labels, n_groups).T, labels, n_groups)
    diagonal_sums = group_sums(matrix.diagonal(), labels, n_groups)
    return block_mean_from_sums(block_sums, diagonal_sums, labels, sizes)
