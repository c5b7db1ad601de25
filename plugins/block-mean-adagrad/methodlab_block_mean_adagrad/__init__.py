"""Block mean approximation for AdaGrad (Lu et al., 2018), with diagonal and full-matrix
AdaGrad as baselines, as a methodlab plugin.

Registration only: the optimizer module (and torch) is imported when a run builds one.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_block_mean_adagrad.config import (
    BlockMeanAdagradParams,
    DiagonalAdagradParams,
    FullMatrixAdagradParams,
)

__all__ = ["methodlab_optimizers"]

_MODULE = "methodlab_block_mean_adagrad.optimizer"


@methodlab.hookimpl
def methodlab_optimizers() -> Iterator[methodlab.OptimizerSpec]:
    yield methodlab.OptimizerSpec(
        name="block-mean-adagrad",
        factory=f"{_MODULE}:build_block_mean",
        params_cls=BlockMeanAdagradParams,
        summary="AdaGrad with the block mean approximation D + U B Uᵀ of the full-matrix "
        "preconditioner (one L×L eigh per step).",
    )
    yield methodlab.OptimizerSpec(
        name="diagonal-adagrad",
        factory=f"{_MODULE}:build_diagonal",
        params_cls=DiagonalAdagradParams,
        summary="Diagonal AdaGrad, (diag G + δ)^(-1/2) g, float64 accumulator.",
    )
    yield methodlab.OptimizerSpec(
        name="full-matrix-adagrad",
        factory=f"{_MODULE}:build_full_matrix",
        params_cls=FullMatrixAdagradParams,
        summary="Full-matrix AdaGrad, (G + δI)^(-1/2) g, exact via eigh (small models only).",
    )
