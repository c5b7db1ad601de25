import math

import pytest
import torch
from methodlab.builtins.losses import MeanSquaredError
from methodlab.components import Batch, EnvInfo, OutputLoss
from methodlab.supervised import SupervisedEnvironment
from methodlab_saddle_free_newton.critical_point import CriticalPoint, critical_point_metrics
from torch import nn


class Point(nn.Module):
    """A 'network' whose output is its own parameter vector (for quadratic test losses)."""

    def __init__(self, start):
        super().__init__()
        self.theta = nn.Parameter(torch.as_tensor(start, dtype=torch.float64))

    def forward(self, inputs):
        return self.theta.expand(len(inputs), -1)


class Quadratic(OutputLoss):
    """½ Σ_i c_i z_i², the same for every example: Hessian diag(c) everywhere."""

    def __init__(self, curvatures):
        self.curvatures = torch.as_tensor(curvatures, dtype=torch.float64)

    def from_outputs(self, outputs, targets):
        return 0.5 * (self.curvatures * outputs.pow(2)).sum(-1).mean()


def _env(size=4):
    x = torch.zeros(size, 1, dtype=torch.float64)
    return SupervisedEnvironment({"train": Batch(x, torch.zeros(size))}, EnvInfo(1, 1))


def test_index_of_a_known_quadratic_saddle():
    # f = ½(3x² − y² + 2z² − 4w²) has a saddle at the origin with index 2/4.
    loss = Quadratic([3.0, -1.0, 2.0, -4.0])
    metrics = CriticalPoint("train")(Point([0.0, 0.0, 0.0, 0.0]), _env(), loss)
    assert metrics["index"] == 0.5
    assert metrics["negative"] == 2.0
    assert metrics["lambda_min"] == pytest.approx(-4.0)
    assert metrics["lambda_max"] == pytest.approx(3.0)
    assert metrics["gradient_norm"] == 0.0


def test_gradient_norm_away_from_the_critical_point():
    metrics = CriticalPoint("train")(Point([1.0, 1.0]), _env(), Quadratic([3.0, -4.0]))
    assert metrics["gradient_norm"] == pytest.approx(5.0)
    assert metrics["index"] == 0.5


def test_minimum_and_maximum_have_index_zero_and_one():
    assert critical_point_metrics(torch.tensor([1.0, 2.0]))["index"] == 0.0
    assert critical_point_metrics(torch.tensor([-1.0, -2.0]))["index"] == 1.0


def test_zero_eigenvalues_within_tolerance_do_not_count():
    values = torch.tensor([-1e-12, 0.0, 1.0], dtype=torch.float64)
    assert critical_point_metrics(values, tolerance=1e-6)["negative"] == 0.0
    assert critical_point_metrics(values, tolerance=0.0)["negative"] == 1.0


def test_needs_an_output_loss():
    class PlainLoss:
        pass

    with pytest.raises(TypeError, match="OutputLoss"):
        CriticalPoint("train")(Point([0.0]), _env(), PlainLoss())


def test_mlp_metrics_are_finite():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    x = torch.randn(16, 2, dtype=torch.float64)
    env = SupervisedEnvironment({"train": Batch(x, x[:, :1] ** 2)}, EnvInfo(2, 1, "regression"))
    metrics = CriticalPoint("train")(net, env, MeanSquaredError())
    assert all(math.isfinite(v) for v in metrics.values())
    assert 0.0 <= metrics["index"] <= 1.0
