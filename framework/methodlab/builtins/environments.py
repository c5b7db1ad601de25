"""Built-in environments: scikit-learn's digits and a synthetic regression task."""

from __future__ import annotations

import numpy as np
import torch

from methodlab.builtins.config import DigitsParams, SyntheticRegressionParams
from methodlab.builtins.models import feedforward
from methodlab.components import Batch, EnvInfo
from methodlab.supervised import SupervisedEnvironment

__all__ = ["build_digits", "build_regression", "digits_split"]


def digits_split(
    test_fraction: float = 0.2, split_seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The fixed stratified split of scikit-learn's digits, pixels scaled to [0, 1].

    :returns: ``(x_train, x_test, y_train, y_test)``; ``x`` has shape ``(B, 64)``.

    Example:
        >>> x_train, x_test, y_train, y_test = digits_split()
        >>> x_train.shape, x_test.shape, float(x_train.max())
        ((1437, 64), (360, 64), 1.0)
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    inputs = (data.data / 16.0).astype(np.float64)
    return train_test_split(
        inputs, data.target, test_size=test_fraction, random_state=split_seed,
        stratify=data.target,
    )


def build_digits(
    params: DigitsParams, *, seed: int, device: str, dtype: torch.dtype
) -> SupervisedEnvironment:
    x_train, x_test, y_train, y_test = digits_split(params.test_fraction, params.split_seed)
    x_train_t = torch.as_tensor(x_train, dtype=dtype, device=device)
    x_test_t = torch.as_tensor(x_test, dtype=dtype, device=device)
    y_train_t = torch.as_tensor(y_train, dtype=torch.long, device=device)
    y_test_t = torch.as_tensor(y_test, dtype=torch.long, device=device)
    if params.n_labeled + params.n_unlabeled > len(x_train_t):
        raise ValueError(
            f"n_labeled + n_unlabeled = {params.n_labeled + params.n_unlabeled} exceeds the "
            f"{len(x_train_t)} training digits"
        )
    # The labeled subset is fixed by the split seed, not the run seed, so every seed and arm
    # sees the same labeled digits.
    curvature = None
    if params.n_labeled or params.n_unlabeled:
        order = torch.randperm(len(x_train_t), generator=torch.Generator().manual_seed(
            params.split_seed)).to(device)
        labeled = order[: params.n_labeled or len(order) - params.n_unlabeled]
        if params.n_unlabeled:
            curvature = x_train_t[order[len(labeled) : len(labeled) + params.n_unlabeled]]
        x_train_t, y_train_t = x_train_t[labeled], y_train_t[labeled]
    reconstruct = params.task == "reconstruction"
    splits = {
        "train": Batch(x_train_t, x_train_t if reconstruct else y_train_t),
        "test": Batch(x_test_t, x_test_t if reconstruct else y_test_t),
    }
    info = EnvInfo(64, 64 if reconstruct else 10, params.task, len(x_train_t))
    return SupervisedEnvironment(splits, info, batch_size=params.batch_size, seed=seed,
                                 curvature_inputs=curvature)


def build_regression(
    params: SyntheticRegressionParams, *, seed: int, device: str, dtype: torch.dtype
) -> SupervisedEnvironment:
    generator = torch.Generator().manual_seed(params.data_seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(params.data_seed)
        teacher = feedforward((params.in_features, 32, params.out_features), "tanh")
    n = params.n_train + params.n_test
    inputs = torch.randn(n, params.in_features, generator=generator)
    with torch.no_grad():
        targets = teacher(inputs) + params.noise * torch.randn(
            n, params.out_features, generator=generator
        )
    inputs, targets = inputs.to(device, dtype), targets.to(device, dtype)
    splits = {
        "train": Batch(inputs[: params.n_train], targets[: params.n_train]),
        "test": Batch(inputs[params.n_train :], targets[params.n_train :]),
    }
    info = EnvInfo(params.in_features, params.out_features, "regression", params.n_train)
    return SupervisedEnvironment(splits, info, batch_size=params.batch_size, seed=seed)
