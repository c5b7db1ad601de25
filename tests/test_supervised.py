"""SupervisedEnvironment: batches addressed by (seed, step), evaluation splits."""

from __future__ import annotations

import pytest
import torch
from methodlab.components import Batch, EnvInfo
from methodlab.supervised import SupervisedEnvironment


def environment(seed: int = 0, batch_size: int = 4, size: int = 10) -> SupervisedEnvironment:
    x = torch.arange(float(size)).unsqueeze(1)
    return SupervisedEnvironment({"train": Batch(x, torch.arange(size)),
                                  "test": Batch(x[:3], None)},
                                 EnvInfo(1, size), batch_size=batch_size, seed=seed)


def targets(env, step: int) -> list[int]:
    return env.train_batch(step, None).targets.tolist()


def test_batches_depend_only_on_seed_and_step():
    forwards, shuffled = environment(seed=5), environment(seed=5)
    in_order = {step: targets(forwards, step) for step in range(9)}
    # Any access order (as after a resume) gives the same batches.
    for step in (8, 3, 0, 7, 4, 4, 1):
        assert targets(shuffled, step) == in_order[step]
    assert [targets(environment(seed=6), s) for s in range(3)] != [in_order[s] for s in range(3)]


def test_each_epoch_is_a_permutation_with_a_short_last_batch():
    env = environment(seed=1)
    assert env.steps_per_epoch == 3
    for epoch in range(3):
        batches = [targets(env, epoch * 3 + position) for position in range(3)]
        assert [len(b) for b in batches] == [4, 4, 2]
        assert sorted(t for b in batches for t in b) == list(range(10))
    first, second = ([targets(env, e * 3 + p) for p in range(3)] for e in (0, 1))
    assert first != second  # reshuffled every epoch
    batch = env.train_batch(0, None)
    assert torch.equal(batch.inputs.squeeze(1).long(), batch.targets)  # pairs kept together


def test_full_batch_and_oversized_batch():
    env = environment(batch_size=0)
    assert env.steps_per_epoch == 1 and env.train_batch(5, None) is env.train
    assert environment(batch_size=50).batch_size == 10


def test_splits():
    env = environment()
    (test,) = list(env.split("test"))
    assert test.inputs.squeeze(1).tolist() == [0.0, 1.0, 2.0] and test.targets is None
    with pytest.raises(KeyError, match=r"unknown split 'valid'; this environment has "
                                       r"\['test', 'train'\]"):
        list(env.split("valid"))
    with pytest.raises(ValueError, match="'train'"):
        SupervisedEnvironment({"test": Batch(torch.zeros(1, 1))}, EnvInfo(1, 1))


def test_large_splits_are_served_in_chunks():
    x = torch.zeros(5000, 1)
    env = SupervisedEnvironment({"train": Batch(x, torch.zeros(5000))}, EnvInfo(1, 1))
    assert [len(b.inputs) for b in env.split("train")] == [4096, 904]


def test_curvature_batch():
    unlabeled = torch.ones(3, 1)
    env = SupervisedEnvironment({"train": Batch(torch.zeros(4, 1))}, EnvInfo(1, 1),
                                curvature_inputs=unlabeled)
    assert env.curvature_batch(0) is unlabeled and environment().curvature_batch(0) is None
