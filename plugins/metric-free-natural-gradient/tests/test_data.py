import torch
from methodlab_metric_free_natural_gradient.config import BarsAndStripesParams, BinaryDigitsParams
from methodlab_metric_free_natural_gradient.data import (
    bars_and_stripes,
    binarized_digits,
    build_bars_and_stripes,
    build_binarized_digits,
)


def test_bars_and_stripes_are_all_distinct_bar_or_stripe_patterns():
    for side in (2, 3, 4):
        data = bars_and_stripes(side)
        assert data.shape == (2 ** (side + 1) - 2, side * side)
        assert len(torch.unique(data, dim=0)) == len(data)
        images = data.reshape(-1, side, side)
        rows_constant = (images == images[:, :, :1]).all(dim=(1, 2))
        columns_constant = (images == images[:, :1, :]).all(dim=(1, 2))
        assert bool((rows_constant | columns_constant).all())


def test_bars_and_stripes_environment_serves_every_pattern():
    env = build_bars_and_stripes(BarsAndStripesParams(), seed=0, device="cpu",
                                 dtype=torch.float32)
    assert env.info.in_features == 16 and env.info.train_size == 30
    batch = env.train_batch(0, None)
    assert batch.inputs.shape == (30, 16) and batch.inputs.dtype == torch.float32
    assert batch.targets is None


def test_binarized_digits_pool_and_threshold():
    train, test = binarized_digits()
    assert train.shape == (1437, 16) and test.shape == (360, 16)
    assert set(torch.unique(train).tolist()) == {0.0, 1.0}
    lenient, _ = binarized_digits(threshold=0.2)
    assert lenient.sum() > train.sum()  # a lower threshold switches more pixels on


def test_binarized_digits_environment_limit_and_splits():
    env = build_binarized_digits(BinaryDigitsParams(limit=50, batch_size=20), seed=3,
                                 device="cpu", dtype=torch.float64)
    assert env.info.train_size == 50
    assert env.train_batch(0, None).inputs.shape == (20, 16)
    assert sum(len(b.inputs) for b in env.split("test")) == 360
