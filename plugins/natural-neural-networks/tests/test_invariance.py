import pytest
import torch
from methodlab.components import Batch
from methodlab_natural_neural_networks.invariance import (
    ReparametrizationInvariance,
    reparametrization_change,
)
from methodlab_natural_neural_networks.network import WhitenedNetwork
from torch import nn


class Env:
    def __init__(self, x):
        self.x = x

    def split(self, name):
        yield Batch(self.x[:700], self.x[:700])
        yield Batch(self.x[700:], self.x[700:])


def test_evaluator_reports_a_float64_change_below_1e_10_and_leaves_the_model_alone(digits):
    torch.manual_seed(0)
    net = WhitenedNetwork.feedforward((64, 32, 16, 32, 64), "tanh")  # float32 model
    net.reparametrize(digits[:300].float())
    state = {k: v.clone() for k, v in net.state_dict().items()}
    metrics = ReparametrizationInvariance(num_samples=500)(net, Env(digits.float()), None)
    assert metrics["max_abs_change"] < 1e-10
    assert metrics["max_abs_output"] > 0.1
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())


def test_rejects_a_plain_model():
    with pytest.raises(TypeError, match="reparametrize"):
        reparametrization_change(nn.Linear(2, 2), torch.rand(4, 2), torch.rand(4, 2))
