r"""scikit-learn's two moons, the task of the reproduction."""

from __future__ import annotations

import torch
from methodlab.components import Batch, EnvInfo
from methodlab.supervised import SupervisedEnvironment

from methodlab_sharp_minima.config import MoonsParams

__all__ = ["build_moons", "moons"]


def moons(n: int, noise: float, seed: int, dtype: torch.dtype = torch.float64) -> Batch:
    """``n`` points of ``sklearn.datasets.make_moons`` (inputs ``(n, 2)``, labels ``(n,)``).

    Example:
        >>> batch = moons(10, 0.1, 0)
        >>> batch.inputs.shape, batch.targets.dtype
        (torch.Size([10, 2]), torch.int64)
    """
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return Batch(torch.as_tensor(x, dtype=dtype), torch.as_tensor(y, dtype=torch.long))


def build_moons(
    params: MoonsParams, *, seed: int, device: str, dtype: torch.dtype
) -> SupervisedEnvironment:
    """Build ``use = "moons"``: 2 inputs, 2 classes; the data come from ``data_seed`` only."""
    train = moons(params.n_train, params.noise, params.data_seed, dtype).to(device)
    test = moons(params.n_test, params.noise, params.data_seed + 1, dtype).to(device)
    info = EnvInfo(2, 2, "classification", params.n_train)
    return SupervisedEnvironment({"train": train, "test": test}, info,
                                 batch_size=params.batch_size, seed=seed)
