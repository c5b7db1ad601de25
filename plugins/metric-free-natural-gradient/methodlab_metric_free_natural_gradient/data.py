"""Small binary data sets whose Boltzmann-machine likelihood is exactly computable.

Both serve 16-pixel (4×4) binary images, so a machine with a handful of hidden units has an
exact log-partition function by enumeration. Batches carry ``targets=None`` (density
estimation); ``EnvInfo.task`` is ``"density"``.
"""

from __future__ import annotations

import numpy as np
import torch
from methodlab.builtins.environments import digits_split
from methodlab.components import Batch, EnvInfo
from methodlab.supervised import SupervisedEnvironment

from methodlab_metric_free_natural_gradient.config import BarsAndStripesParams, BinaryDigitsParams

__all__ = ["bars_and_stripes", "binarized_digits", "build_bars_and_stripes",
           "build_binarized_digits"]


def bars_and_stripes(side: int = 4) -> torch.Tensor:
    """Every ``side × side`` bars-and-stripes pattern, flattened row-major.

    A pattern switches on a subset of the rows (stripes) or a subset of the columns (bars); the
    empty and the full image arise both ways and are kept once, leaving
    :math:`2^{s+1} - 2` distinct patterns.

    Shapes:
        returns :math:`(2^{s+1} - 2, s^2)`, float64 in {0, 1}.

    Example:
        >>> data = bars_and_stripes(4)
        >>> data.shape, len(torch.unique(data, dim=0))
        (torch.Size([30, 16]), 30)
    """
    subsets = (torch.arange(2**side).unsqueeze(1) >> torch.arange(side)) & 1  # (2^s, s)
    stripes = subsets.unsqueeze(2).expand(-1, side, side)  # rows on: (2^s, s, s)
    bars = stripes.transpose(1, 2)  # columns on
    patterns = torch.cat([stripes, bars]).reshape(-1, side * side).to(torch.float64)
    return torch.unique(patterns, dim=0)


def binarized_digits(
    pool: int = 2, threshold: float = 0.5, test_fraction: float = 0.2, split_seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 8×8 digits average-pooled by ``pool`` and thresholded.

    Uses the same fixed stratified split as methodlab's ``digits`` environment.

    Shapes:
        returns ``(train, test)`` of shapes :math:`(1437, (8/\\text{pool})^2)` and
        :math:`(360, (8/\\text{pool})^2)` for the default split, float64 in {0, 1}.

    Example:
        >>> train, test = binarized_digits()
        >>> train.shape, test.shape, sorted(torch.unique(train).tolist())
        (torch.Size([1437, 16]), torch.Size([360, 16]), [0.0, 1.0])
    """
    x_train, x_test, _, _ = digits_split(test_fraction, split_seed)
    side = 8 // pool

    def convert(images: np.ndarray) -> torch.Tensor:
        pooled = images.reshape(-1, side, pool, side, pool).mean(axis=(2, 4))
        return torch.as_tensor(pooled > threshold, dtype=torch.float64).reshape(-1, side * side)

    return convert(x_train), convert(x_test)


def build_bars_and_stripes(
    params: BarsAndStripesParams, *, seed: int, device: str, dtype: torch.dtype
) -> SupervisedEnvironment:
    """The ``bars-and-stripes`` environment: one ``train`` split of every pattern."""
    data = bars_and_stripes(params.side).to(device, dtype)
    info = EnvInfo(data.shape[1], data.shape[1], "density", len(data))
    return SupervisedEnvironment({"train": Batch(data)}, info, batch_size=params.batch_size,
                                 seed=seed)


def build_binarized_digits(
    params: BinaryDigitsParams, *, seed: int, device: str, dtype: torch.dtype
) -> SupervisedEnvironment:
    """The ``binarized-digits`` environment: ``train`` and ``test`` splits."""
    train, test = binarized_digits(params.pool, params.threshold, params.test_fraction,
                                   params.split_seed)
    if params.limit:
        train = train[: params.limit]
    train, test = train.to(device, dtype), test.to(device, dtype)
    info = EnvInfo(train.shape[1], train.shape[1], "density", len(train))
    return SupervisedEnvironment({"train": Batch(train), "test": Batch(test)}, info,
                                 batch_size=params.batch_size, seed=seed)
