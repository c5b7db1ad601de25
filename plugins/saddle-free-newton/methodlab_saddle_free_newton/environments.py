r"""The two tasks of the reproduction: 4×4 digits and a spiked Gaussian to reconstruct."""

from __future__ import annotations

import numpy as np
import torch
from methodlab.builtins.environments import digits_split
from methodlab.components import Batch, EnvInfo
from methodlab.supervised import SupervisedEnvironment

from methodlab_saddle_free_newton.config import Digits4x4Params, SpikedGaussianParams

__all__ = ["build_digits_4x4", "build_spiked_gaussian", "downsample", "spiked_gaussian"]


def downsample(images: np.ndarray) -> np.ndarray:
    """Average-pool 8×8 digit images over 2×2 blocks to 4×4.

    The paper trains its exactly-solvable networks on downscaled MNIST (10×10); scikit-learn's
    8×8 digits pooled to 4×4 give a network small enough (≈440 parameters for 16-16-10) for
    an exact Hessian every step on a CPU.

    Shapes:
        images: ``(B, 64)`` row-major 8×8; returns ``(B, 16)`` row-major 4×4.

    Example:
        >>> downsample(np.arange(64.0)[None])[0, :4]
        array([ 4.5,  6.5,  8.5, 10.5])
    """
    return images.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(-1, 16)


def build_digits_4x4(
    params: Digits4x4Params, *, seed: int, device: str, dtype: torch.dtype
) -> SupervisedEnvironment:
    """Build ``use = "digits-4x4"``: 16 inputs in [0, 1], 10 classes, the fixed split."""
    x_train, x_test, y_train, y_test = digits_split(params.test_fraction, params.split_seed)
    splits = {
        "train": Batch(torch.as_tensor(downsample(x_train), dtype=dtype, device=device),
                       torch.as_tensor(y_train, dtype=torch.long, device=device)),
        "test": Batch(torch.as_tensor(downsample(x_test), dtype=dtype, device=device),
                      torch.as_tensor(y_test, dtype=torch.long, device=device)),
    }
    info = EnvInfo(16, 10, "classification", len(x_train))
    return SupervisedEnvironment(splits, info, batch_size=params.batch_size, seed=seed)


def spiked_gaussian(params: SpikedGaussianParams) -> torch.Tensor:
    r"""Draw :math:`x \sim \mathcal N(0, Q \operatorname{diag}(\sigma) Q^\top)` (float64).

    :math:`\sigma` is ``variances`` followed by ``noise_variance`` in the remaining
    directions and :math:`Q` a random orthogonal matrix; both :math:`Q` and the samples come
    from ``data_seed``.

    Shapes:
        returns :math:`(n_\text{train} + n_\text{test}, D)`.

    Example:
        >>> from methodlab_saddle_free_newton.config import SpikedGaussianParams
        >>> x = spiked_gaussian(SpikedGaussianParams(in_features=8, variances=(4.0,),
        ...                                          n_train=4000, n_test=1))
        >>> torch.linalg.eigvalsh(x.T @ x / len(x))[-1].round()
        tensor(4., dtype=torch.float64)
    """
    generator = torch.Generator().manual_seed(params.data_seed)
    dim = params.in_features
    basis, _ = torch.linalg.qr(torch.randn(dim, dim, generator=generator, dtype=torch.float64))
    spectrum = torch.full((dim,), params.noise_variance, dtype=torch.float64)
    spectrum[: len(params.variances)] = torch.tensor(params.variances, dtype=torch.float64)
    n = params.n_train + params.n_test
    latent = torch.randn(n, dim, generator=generator, dtype=torch.float64)  # (n, D)
    return (latent * spectrum.sqrt()) @ basis.T


def build_spiked_gaussian(
    params: SpikedGaussianParams, *, seed: int, device: str, dtype: torch.dtype
) -> SupervisedEnvironment:
    """Build ``use = "spiked-gaussian"``: reconstruction, targets equal inputs."""
    data = spiked_gaussian(params).to(device=device, dtype=dtype)
    train, test = data[: params.n_train], data[params.n_train :]
    splits = {"train": Batch(train, train), "test": Batch(test, test)}
    info = EnvInfo(params.in_features, params.in_features, "reconstruction", params.n_train)
    return SupervisedEnvironment(splits, info, batch_size=params.batch_size, seed=seed)
