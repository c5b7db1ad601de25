"""``interval-regression``: fit the zigzag function on [0, 1]^D from a fixed sample."""

from __future__ import annotations

import torch
from methodlab.components import Batch, EnvInfo
from methodlab.supervised import SupervisedEnvironment

from methodlab_linear_regions.config import IntervalRegressionParams
from methodlab_linear_regions.zigzag import zigzag

__all__ = ["build_interval_regression"]


def build_interval_regression(
    params: IntervalRegressionParams, *, seed: int, device: str, dtype: torch.dtype
) -> SupervisedEnvironment:
    """Build ``use = "interval-regression"``: x ~ U[0, 1]^D, y = zigzag teacher of x₁.

    The data come from ``data_seed`` (not the run seed), so all arms see the same sample.

    Example:
        >>> from methodlab_linear_regions.config import IntervalRegressionParams
        >>> env = build_interval_regression(IntervalRegressionParams(n_train=8), seed=0,
        ...                                 device="cpu", dtype=torch.float64)
        >>> env.info.in_features, env.train_batch(0, None).targets.shape
        (1, torch.Size([8, 1]))
    """
    generator = torch.Generator().manual_seed(params.data_seed)
    n = params.n_train + params.n_test
    inputs = torch.rand(n, params.in_features, generator=generator, dtype=torch.float64)
    teacher = zigzag(params.teacher_units, params.teacher_layers, params.in_features).double()
    with torch.no_grad():
        targets = teacher(inputs)
    inputs, targets = inputs.to(device=device, dtype=dtype), targets.to(device=device, dtype=dtype)
    splits = {"train": Batch(inputs[: params.n_train], targets[: params.n_train]),
              "test": Batch(inputs[params.n_train :], targets[params.n_train :])}
    info = EnvInfo(params.in_features, 1, "regression", params.n_train)
    return SupervisedEnvironment(splits, info, batch_size=params.batch_size, seed=seed)
