"""The tanh RNN's initialisation, its states' derivatives and the evaluator's ratio."""

from __future__ import annotations

import math

import pytest
import torch
from methodlab.components import Batch, EnvInfo
from methodlab_gradient_clipping.config import TanhRNNParams
from methodlab_gradient_clipping.evaluators import RNNTaskEvaluator
from methodlab_gradient_clipping.omega import RNNTaskLoss
from methodlab_gradient_clipping.rnn import TanhRNN, spectral_radius

DTYPE = torch.float64


@pytest.mark.parametrize("radius", [0.95, 1.5, 2.0])
def test_spectral_radius_and_sparsity(radius):
    torch.manual_seed(0)
    net = TanhRNN(6, 4, TanhRNNParams(hidden=50, recurrent_nonzeros=15, spectral_radius=radius))
    assert spectral_radius(net.weight_hh) == pytest.approx(radius, rel=1e-5)
    assert ((net.weight_hh != 0).sum(1) == 15).all()
    assert torch.equal(net.bias, torch.zeros(50)) and torch.equal(net.readout.bias,
                                                                 torch.zeros(4))


def test_unscaled_initialisation_keeps_the_gaussian_deviations():
    torch.manual_seed(0)
    net = TanhRNN(100, 80, TanhRNNParams(hidden=200, input_std=0.01, recurrent_std=0.1,
                                         output_std=0.3))
    assert net.weight_ih.std().item() == pytest.approx(0.01, rel=0.05)
    assert net.weight_hh.std().item() == pytest.approx(0.1, rel=0.05)
    assert net.readout.weight.std().item() == pytest.approx(0.3, rel=0.05)
    with pytest.raises(ValueError, match="spectral radius 0"):
        TanhRNN(3, 2, TanhRNNParams(hidden=4, recurrent_std=0.0, spectral_radius=1.0))


def test_states_follow_the_recurrence():
    torch.manual_seed(1)
    net = TanhRNN(3, 2, TanhRNNParams(hidden=4)).to(DTYPE)
    x = torch.randn(2, 5, 3, dtype=DTYPE)
    states = net.states(x)
    assert len(states) == 6 and torch.equal(states[0], torch.zeros(2, 4, dtype=DTYPE))
    for t in range(1, 6):
        expected = torch.tanh(x[:, t - 1] @ net.weight_ih.T + net.bias
                              + states[t - 1] @ net.weight_hh.T)
        torch.testing.assert_close(states[t], expected, rtol=1e-14, atol=0)
    torch.testing.assert_close(net(x), net.readout(states[-1]))
    net.per_step = True
    assert net(x).shape == (2, 5, 2)


class OneBatch:
    def __init__(self, batch: Batch, task: str) -> None:
        self.batch = batch
        self.info = EnvInfo(batch.inputs.shape[-1], 3, task)

    def split(self, name: str):
        return iter([self.batch])


def test_gradient_ratio_is_the_jacobian_chain():
    torch.manual_seed(2)
    net = TanhRNN(3, 3, TanhRNNParams(hidden=6, spectral_radius=1.3)).to(DTYPE)
    batch = Batch(torch.randn(4, 8, 3, dtype=DTYPE), torch.tensor([0, 1, 2, 1]))
    env = OneBatch(batch, "last-classification")
    metrics = RNNTaskEvaluator("test", 0.04)(net, env, RNNTaskLoss(env.info.task))
    states = net.states(batch.inputs)
    expected = []
    for b in range(4):
        # δ_T for sequence b alone, then δ_1 = δ_T J_T ⋯ J_2 with J_k = diag(1 − h_k²) W.
        logits = net.readout(states[-1][b])
        error = torch.nn.functional.cross_entropy(logits[None], batch.targets[b:b + 1])
        (delta,) = torch.autograd.grad(error, states[-1])
        delta_T = delta[b]
        chain = delta_T
        for k in range(8, 1, -1):
            chain = chain @ (torch.diag(1 - states[k][b] ** 2) @ net.weight_hh)
        expected.append(math.log10((chain.norm() / delta_T.norm()).item()))
    assert metrics["log10_gradient_ratio"] == pytest.approx(sum(expected) / 4, rel=1e-10)
    assert metrics["spectral_radius"] == pytest.approx(1.3, rel=1e-6)
    assert metrics["accuracy"] + metrics["error"] == 1.0


def test_regression_errors_use_the_tolerance():
    torch.manual_seed(3)
    net = TanhRNN(2, 1, TanhRNNParams(hidden=3)).to(DTYPE)
    batch = Batch(torch.rand(5, 10, 2, dtype=DTYPE), torch.zeros(5, 1, dtype=DTYPE))
    with torch.no_grad():
        predictions = net(batch.inputs)
    env = OneBatch(batch, "last-regression")
    loose = RNNTaskEvaluator("test", 1e6)(net, env, RNNTaskLoss(env.info.task))
    exact = RNNTaskEvaluator("test", 1e-300)(net, env, RNNTaskLoss(env.info.task))
    assert (loose["error"], exact["error"]) == (0.0, 1.0)
    assert loose["loss"] == pytest.approx(float(predictions.pow(2).mean()), rel=1e-12)
