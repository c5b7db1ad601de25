"""The built-in components: conformance, data splits, models, losses and evaluators."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from methodlab.builtins.config import DigitsParams, SyntheticRegressionParams
from methodlab.builtins.environments import build_digits, build_regression
from methodlab.builtins.evaluators import Accuracy, SplitLoss
from methodlab.builtins.losses import BernoulliCrossEntropy, CrossEntropy, MeanSquaredError
from methodlab.builtins.models import feedforward, sparse_init_
from methodlab.components import Batch, EnvInfo
from methodlab.supervised import SupervisedEnvironment
from methodlab.testing import conformance_suite
from torch import nn

test_conformance = conformance_suite("methodlab.builtins")


def digits(**params):
    return build_digits(DigitsParams(**params), seed=0, device="cpu", dtype=torch.float32)


def test_digits_split_sizes():
    env = digits()
    assert env.size == 1437 and len(env.splits["test"].inputs) == 360
    assert env.info == EnvInfo(64, 10, "classification", 1437)
    assert env.splits["train"].inputs.dtype == torch.float32
    assert float(env.splits["train"].inputs.max()) == 1.0
    # Stratified: every class is in the test split in proportion.
    counts = torch.bincount(env.splits["test"].targets, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37


def test_digits_split_is_fixed_by_split_seed_not_run_seed():
    a = build_digits(DigitsParams(), seed=0, device="cpu", dtype=torch.float64)
    b = build_digits(DigitsParams(), seed=9, device="cpu", dtype=torch.float64)
    assert torch.equal(a.splits["test"].inputs, b.splits["test"].inputs)
    c = build_digits(DigitsParams(split_seed=1), seed=0, device="cpu", dtype=torch.float64)
    assert not torch.equal(a.splits["test"].inputs, c.splits["test"].inputs)


def test_digits_labeled_and_unlabeled_subsets():
    env = digits(n_labeled=100, n_unlabeled=200)
    assert env.size == 100 and env.info.train_size == 100
    assert env.curvature_batch(0).shape == (200, 64)
    train = {tuple(row.tolist()) for row in env.splits["train"].inputs}
    unlabeled = {tuple(row.tolist()) for row in env.curvature_batch(0)}
    assert len(train & unlabeled) <= 2  # disjoint examples (up to duplicate images)
    only_unlabeled = digits(n_unlabeled=300)
    assert only_unlabeled.size == 1137 and only_unlabeled.curvature_batch(0).shape == (300, 64)
    assert digits(n_labeled=50).curvature_batch(0) is None
    with pytest.raises(ValueError, match="exceeds the 1437 training digits"):
        digits(n_labeled=1400, n_unlabeled=100)


def test_digits_reconstruction():
    env = digits(task="reconstruction", batch_size=32)
    assert env.info.out_features == 64 and env.info.task == "reconstruction"
    batch = env.train_batch(0, None)
    assert batch.inputs.shape == (32, 64) and torch.equal(batch.inputs, batch.targets)


def test_regression_data_depend_on_data_seed_only():
    def build(seed, data_seed=0):
        params = SyntheticRegressionParams(n_train=20, n_test=10, data_seed=data_seed,
                                           batch_size=5)
        return build_regression(params, seed=seed, device="cpu", dtype=torch.float64)

    a, b = build(0), build(7)
    assert torch.equal(a.splits["train"].targets, b.splits["train"].targets)
    assert a.splits["train"].inputs.dtype == torch.float64
    other = build(0, data_seed=1)
    assert not torch.equal(a.splits["train"].targets, other.splits["train"].targets)
    assert not torch.equal(a.train_batch(0, None).targets, b.train_batch(0, None).targets)
    # The teacher is built under a forked generator: the global stream is untouched.
    torch.manual_seed(3)
    expected = torch.rand(2)
    torch.manual_seed(3)
    build(0)
    assert torch.equal(torch.rand(2), expected)


def test_feedforward_and_sparse_init():
    torch.manual_seed(0)
    net = feedforward((30, 20, 5), "relu", init="sparse")
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Linear"]
    first, last = net[0], net[2]
    assert ((first.weight != 0).sum(dim=1) == 15).all()
    assert ((last.weight != 0).sum(dim=1) == 15).all()
    assert (first.bias == 0).all()
    small = nn.Linear(4, 3)
    sparse_init_(small)
    assert ((small.weight != 0).sum(dim=1) == 4).all()  # fewer inputs than 15: all used


def test_losses_match_torch():
    torch.manual_seed(0)
    logits, labels = torch.randn(6, 4), torch.randint(4, (6,))
    assert torch.equal(CrossEntropy().from_outputs(logits, labels),
                       F.cross_entropy(logits, labels))
    smooth = CrossEntropy(0.1).from_outputs(logits, labels)
    assert torch.equal(smooth, F.cross_entropy(logits, labels, label_smoothing=0.1))
    targets = torch.randn(6, 4)
    assert torch.allclose(MeanSquaredError().from_outputs(logits, targets),
                          0.5 * ((logits - targets) ** 2).sum() / 6)
    probabilities = torch.rand(6, 4)
    expected = -(probabilities * F.logsigmoid(logits)
                 + (1 - probabilities) * F.logsigmoid(-logits)).sum() / 6
    assert torch.allclose(BernoulliCrossEntropy().from_outputs(logits, probabilities), expected)


def test_sampled_targets_have_the_right_shapes():
    generator = torch.Generator().manual_seed(0)
    outputs = torch.randn(5, 3)
    assert CrossEntropy().sample_targets(outputs, generator).shape == (5,)
    assert MeanSquaredError().sample_targets(outputs, generator).shape == (5, 3)
    bits = BernoulliCrossEntropy().sample_targets(outputs, generator)
    assert set(bits.unique().tolist()) <= {0.0, 1.0}


def test_evaluators():
    x = torch.eye(4)
    targets = torch.tensor([0, 1, 2, 0])
    env = SupervisedEnvironment({"train": Batch(x, targets), "test": Batch(x, targets)},
                                EnvInfo(4, 4))
    model = nn.Identity()  # predicts class i for input e_i: three of four are right
    result = Accuracy("test")(model, env, CrossEntropy())
    assert result == {"accuracy": 0.75, "error": 0.25}
    loss = SplitLoss("train")(model, env, CrossEntropy())
    assert loss["loss"] == pytest.approx(float(F.cross_entropy(x, targets)))
    assert math.isfinite(loss["loss"])
