import numpy as np
import pytest
import torch
from methodlab_saddle_free_newton.config import Digits4x4Params, SpikedGaussianParams
from methodlab_saddle_free_newton.environments import (
    build_digits_4x4,
    build_spiked_gaussian,
    downsample,
    spiked_gaussian,
)


def test_downsample_averages_two_by_two_blocks():
    image = np.zeros((8, 8))
    image[0:2, 2:4] = 1.0  # block (0, 1)
    image[6, 7] = 4.0  # block (3, 3), one pixel of four
    pooled = downsample(image.reshape(1, 64)).reshape(4, 4)
    expected = np.zeros((4, 4))
    expected[0, 1], expected[3, 3] = 1.0, 1.0
    np.testing.assert_allclose(pooled, expected)


def test_digits_4x4_sizes_and_fixed_split():
    env = build_digits_4x4(Digits4x4Params(), seed=0, device="cpu", dtype=torch.float64)
    other = build_digits_4x4(Digits4x4Params(), seed=5, device="cpu", dtype=torch.float64)
    train = next(iter(env.split("train")))
    assert env.info.in_features == 16 and env.info.out_features == 10
    assert train.inputs.shape == (1437, 16) and train.inputs.dtype == torch.float64
    assert 0.0 <= float(train.inputs.min()) and float(train.inputs.max()) <= 1.0
    assert torch.equal(train.inputs, next(iter(other.split("train"))).inputs)
    assert len(next(iter(env.split("test"))).targets) == 360
    assert env.train_batch(0, None).inputs.shape == (1437, 16)  # full batch by default


def test_spiked_gaussian_has_the_requested_spectrum():
    params = SpikedGaussianParams(in_features=10, variances=(1.0, 0.1), noise_variance=0.01,
                                  n_train=20000, n_test=1)
    x = spiked_gaussian(params)
    values = torch.linalg.eigvalsh(x.T @ x / len(x)).flip(0)
    assert values[0] == pytest.approx(1.0, rel=0.05)
    assert values[1] == pytest.approx(0.1, rel=0.05)
    assert values[2:].mean() == pytest.approx(0.01, rel=0.05)


def test_spiked_gaussian_environment_reconstructs_its_inputs():
    env = build_spiked_gaussian(SpikedGaussianParams(), seed=3, device="cpu",
                                dtype=torch.float32)
    batch = env.train_batch(0, None)
    assert env.info.task == "reconstruction"
    assert batch.inputs.shape == (1024, 64) and batch.inputs.dtype == torch.float32
    assert batch.targets is batch.inputs
    same = build_spiked_gaussian(SpikedGaussianParams(), seed=4, device="cpu",
                                 dtype=torch.float32)
    assert torch.equal(batch.inputs, same.train_batch(0, None).inputs)


def test_spiked_gaussian_rejects_bad_variances():
    with pytest.raises(ValueError, match="variances"):
        SpikedGaussianParams(in_features=2, variances=(1.0, 0.5, 0.1))
    with pytest.raises(ValueError, match="variances"):
        SpikedGaussianParams(variances=(1.0, -0.1))
