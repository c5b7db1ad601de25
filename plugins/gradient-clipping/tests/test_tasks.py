"""The task generators follow the paper's (and its code's) specification; streams are seeded."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from methodlab_gradient_clipping.config import MemorizationParams, SequenceTaskParams
from methodlab_gradient_clipping.tasks import (
    adding,
    build_adding,
    build_memorization,
    build_temporal_order,
    multiplication,
    noiseless_memorization,
    random_permutation,
    temporal_order,
    temporal_order_3bit,
)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize(("generator", "windows"), [
    (temporal_order, [(0.1, 0.2), (0.5, 0.6)]),
    (temporal_order_3bit, [(0.1, 0.2), (0.3, 0.4), (0.6, 0.7)]),
])
def test_temporal_order_symbols_windows_and_classes(generator, windows):
    length, batch = 50, 4000
    x, y = generator(rng(), batch, length)
    assert x.shape == (batch, length, 6) and (x.sum(-1) == 1).all()
    symbols = x.argmax(-1)
    relevant = symbols < 2
    assert (relevant.sum(1) == len(windows)).all()
    label = np.zeros(batch, dtype=np.int64)
    for bit, (low, high) in enumerate(windows):
        span = relevant[:, int(low * length):int(high * length)]
        assert (span.sum(1) == 1).all()  # exactly one A/B per window
        position = span.argmax(1) + int(low * length)
        label += symbols[np.arange(batch), position] << bit
    assert np.array_equal(label, y)
    counts = np.bincount(y, minlength=2 ** len(windows)) / batch
    assert np.allclose(counts, 2.0 ** -len(windows), atol=0.03)  # balanced classes


@pytest.mark.parametrize(("generator", "combine"), [
    (adding, lambda a, b: (a + b) / 2), (multiplication, lambda a, b: a * b)])
def test_two_marker_tasks(generator, combine):
    x, y = generator(rng(), 500, 100, random_length=False)
    assert x.shape == (500, 100, 2)
    marks = x[:, :, 0]
    assert (marks.sum(1) == 2).all()
    first = marks.argmax(1)
    second = 99 - marks[:, ::-1].argmax(1)
    assert (first < 10).all() and ((second >= 10) & (second < 50)).all()
    values = x[np.arange(500), first, 1], x[np.arange(500), second, 1]
    assert np.allclose(y[:, 0], combine(*values))
    lengths = {generator(rng(seed), 2, 100)[0].shape[1] for seed in range(200)}
    assert min(lengths) >= 100 and max(lengths) < 110 and len(lengths) > 5


def test_random_permutation():
    x, y = random_permutation(rng(), 1000, 30)
    assert x.shape == (1000, 30, 100)
    symbols = x.argmax(-1)
    assert np.array_equal(symbols[:, 0], y) and set(y.tolist()) == {0, 1}
    assert symbols[:, 1:].min() >= 2 and symbols[:, 1:].max() == 99


def test_noiseless_memorization():
    values, positions, length = 5, 10, 20
    x, y = noiseless_memorization(rng(), 50, length, values, positions)
    steps = length + 2 * positions
    assert x.shape == (50, steps, values + 2) and y.shape == (50, steps)
    symbols = x.argmax(-1)
    assert (symbols[:, :positions] < values).all()
    cue = length + positions
    assert (symbols[:, positions:cue] == values).all() and (symbols[:, cue] == values + 1).all()
    assert (symbols[:, cue + 1:] == values).all()
    assert np.array_equal(y[:, -positions:], symbols[:, :positions])
    assert (y[:, :-positions] == values).all()


def test_streams_are_pure_functions_of_seed_and_step():
    params = SequenceTaskParams(length=20, batch_size=5, test_size=7, eval_batch_size=3)
    env = build_temporal_order(params, seed=3, device="cpu", dtype=torch.float64)
    again = build_temporal_order(params, seed=3, device="cpu", dtype=torch.float64)
    other = build_temporal_order(params, seed=4, device="cpu", dtype=torch.float64)
    for step in (0, 7, 7, 1000):
        assert torch.equal(env.train_batch(step, None).inputs, again.train_batch(step, None).inputs)
        assert not torch.equal(env.train_batch(step, None).inputs,
                               other.train_batch(step, None).inputs)
    assert not torch.equal(env.train_batch(0, None).inputs, env.train_batch(1, None).inputs)
    test = list(env.split("test"))
    assert [len(b.inputs) for b in test] == [3, 3, 1]
    assert env.train_batch(0, None).inputs.dtype == torch.float64
    assert test[0].targets.dtype == torch.long
    assert all(torch.equal(a.inputs, b.inputs) for a, b in zip(test, env.split("test"),
                                                                strict=True))
    # The test sequences are not training batches.
    assert not torch.equal(test[0].inputs, env.train_batch(0, None).inputs[:3])
    assert sum(len(b.inputs) for b in env.split("train")) == 10  # ⌈7 / 5⌉ batches
    with pytest.raises(KeyError, match="splits: test, train"):
        env.split("valid")


def test_environment_infos():
    regression = build_adding(SequenceTaskParams(), seed=0, device="cpu", dtype=torch.float32)
    assert (regression.info.in_features, regression.info.out_features) == (2, 1)
    batch = regression.train_batch(0, None)
    assert batch.targets.shape == (20, 1) and batch.targets.dtype == torch.float32
    memory = build_memorization(MemorizationParams(length=5), seed=0, device="cpu",
                                dtype=torch.float32)
    assert (memory.info.in_features, memory.info.out_features) == (7, 6)
    assert memory.info.task == "sequence-classification"
    assert memory.train_batch(0, None).targets.shape == (20, 25)
