"""The synthetic-chorales environment: shapes, four voices and the (seed, step) contract."""

from __future__ import annotations

import attrs
import pytest
import torch
from methodlab_rnn_advances.config import SyntheticChoralesParams
from methodlab_rnn_advances.synthetic import PITCHES, build_synthetic_chorales

PARAMS = SyntheticChoralesParams(batch_size=3, crop=8, n_train=5, n_valid=2, n_test=2,
                                 min_length=8, max_length=16)


def make_env(seed: int = 0, **changes):
    return build_synthetic_chorales(attrs.evolve(PARAMS, **changes), seed=seed,
                                    device=torch.device("cpu"), dtype=torch.float32)


def test_batches_and_splits_have_the_music21_shapes():
    env = make_env()
    roll = env.train_batch(0, None).inputs
    assert roll.shape == (3, 8, PITCHES) and roll.dtype == torch.float32
    assert set(roll.unique().tolist()) == {0.0, 1.0}
    notes = roll.sum(-1)
    assert bool(((notes >= 1) & (notes <= 4)).all())  # four voices, possibly in unison
    valid = list(env.split("valid"))
    assert len(valid) == 2 and all(b.inputs.shape[0] == 1 for b in valid)
    assert all(8 <= b.inputs.shape[1] <= 16 for b in valid)
    with pytest.raises(KeyError, match="known: train, valid, test"):
        env.split("dev")


def test_train_batch_is_a_function_of_seed_and_step():
    a, b, c = make_env(seed=0), make_env(seed=0), make_env(seed=1)
    assert torch.equal(a.train_batch(5, None).inputs, b.train_batch(5, None).inputs)
    assert not torch.equal(a.train_batch(5, None).inputs, a.train_batch(6, None).inputs)
    assert not torch.equal(a.train_batch(5, None).inputs, c.train_batch(5, None).inputs)
    # The pieces depend on data_seed only.
    assert torch.equal(next(iter(a.split("test"))).inputs, next(iter(c.split("test"))).inputs)


def test_crop_longer_than_the_shortest_piece_is_rejected():
    with pytest.raises(ValueError, match="crop <= min_length <= max_length"):
        SyntheticChoralesParams(crop=40, min_length=32)
