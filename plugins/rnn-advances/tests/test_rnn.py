"""Leaky integration, rectifier units and the next-frame factorisation of PianoRollRNN."""

from __future__ import annotations

import pytest
import torch
from methodlab_rnn_advances.config import PianoRollRNNParams
from methodlab_rnn_advances.rnn import PianoRollRNN, time_constants

DTYPE = torch.float64


def make_model(seed: int = 0, **kwargs) -> PianoRollRNN:
    torch.manual_seed(seed)
    params = PianoRollRNNParams(**{"hidden": 6, "nade_hidden": 4, **kwargs})
    return PianoRollRNN(5, params).to(DTYPE)


def rolls(batch: int = 3, frames: int = 7, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.bernoulli(torch.full((batch, frames, 5), 0.3, dtype=DTYPE), generator=generator)


def test_time_constants_and_fixed_leak():
    taus = time_constants(6, 100.0)
    assert float(taus[0]) == 1.0 and abs(float(taus[-1]) - 100.0) < 1e-9
    assert bool((taus[1:] > taus[:-1]).all())
    model = make_model(leak="fixed", tau_max=100.0)
    torch.testing.assert_close(model.alpha, 1.0 - 1.0 / taus, rtol=0.0, atol=1e-7)
    # Fixed per the paper: a buffer, not a trained parameter.
    assert "alpha" not in dict(model.named_parameters())
    assert "alpha" in dict(model.named_buffers())


def test_leaky_state_decays_with_each_units_time_constant():
    # With no input drive and no recurrence, h_t = α h_{t−1} + (1 − α) tanh(b): each unit
    # relaxes towards tanh(b) with its own rate α_i.
    model = make_model(leak="fixed", tau_max=20.0)
    with torch.no_grad():
        model.input.weight.zero_()
        model.recurrent.zero_()
        model.input.bias.fill_(1.0)
        states = model(torch.zeros(1, 10, 5, dtype=DTYPE))[0]  # (10, 6)
    target = torch.tanh(torch.tensor(1.0, dtype=DTYPE))
    expected = target * (1.0 - model.alpha ** torch.arange(1, 11, dtype=DTYPE)[:, None])
    torch.testing.assert_close(states, expected, rtol=1e-12, atol=1e-12)
    assert float(states[0, 0]) == pytest.approx(float(target))  # τ = 1: no leak


def test_no_leak_is_the_plain_recurrence():
    model = make_model(activation="relu")
    x = rolls()
    with torch.no_grad():
        h = torch.zeros(3, 6, dtype=DTYPE)
        expected = []
        for t in range(7):
            h = torch.relu(model.input(x[:, t]) + h @ model.recurrent.T)
            expected.append(h)
        torch.testing.assert_close(model(x), torch.stack(expected, 1), rtol=1e-12, atol=1e-12)
        assert float(model(x).min()) >= 0.0  # rectifier units


def test_learned_leak_is_trained():
    model = make_model(leak="learned", tau_max=10.0)
    alpha = model.leak_coefficients().detach()
    torch.testing.assert_close(alpha[-1], torch.tensor(0.9, dtype=DTYPE), rtol=1e-6, atol=0.0)
    assert float(alpha[0]) == pytest.approx(0.01)  # kept off α = 0
    nll, _ = model.frame_nll(rolls())
    nll.sum().backward()
    assert model.alpha_logit.grad is not None and float(model.alpha_logit.grad.abs().sum()) > 0


@pytest.mark.parametrize("output", ["nade", "bernoulli"])
def test_frame_t_depends_only_on_earlier_frames(output):
    model = make_model(output=output, leak="fixed")
    x = rolls(batch=1)
    changed = x.clone()
    changed[0, 4] = 1.0 - changed[0, 4]
    with torch.no_grad():
        before, _ = model.frame_nll(x)
        after, _ = model.frame_nll(changed)
    # nll[:, k] is frame k + 1: frames 1..3 are unaffected, frame 4 itself and later change.
    assert torch.equal(before[:, :3], after[:, :3])
    assert not torch.equal(before[:, 3], after[:, 3])
    assert not torch.equal(before[:, 4:], after[:, 4:])


def test_rejects_a_roll_of_the_wrong_width():
    with pytest.raises(ValueError, match=r"expected a piano roll \(B, T, 5\)"):
        make_model()(torch.zeros(2, 3, 4, dtype=DTYPE))
