"""The NADE output model: exact normalisation and agreement with the unit-by-unit recursion."""

from __future__ import annotations

import itertools

import torch
from methodlab_rnn_advances.nade import BernoulliOutput, ConditionalNADE

DTYPE = torch.float64


def make_nade(units: int = 5, seed: int = 0) -> ConditionalNADE:
    torch.manual_seed(seed)
    nade = ConditionalNADE(condition=3, units=units, hidden=4).to(DTYPE)
    with torch.no_grad():  # larger weights than the initialisation, so the test is not trivial
        for p in nade.parameters():
            p.mul_(3.0)
    return nade


def all_frames(units: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=units)), dtype=DTYPE)


def test_probabilities_sum_to_one_over_all_frames():
    nade = make_nade()
    frames = all_frames(5)  # (32, 5)
    condition = torch.randn(3, dtype=DTYPE).expand(len(frames), 3)
    with torch.no_grad():
        probabilities = torch.exp(-nade.nll(frames, condition))
    torch.testing.assert_close(probabilities.sum(), torch.tensor(1.0, dtype=DTYPE),
                               rtol=0.0, atol=1e-12)
    assert float(probabilities.max()) > 2.0 / len(frames)  # not the uniform distribution


def test_matches_the_unit_by_unit_recursion():
    nade = make_nade(units=6, seed=1)
    x = torch.bernoulli(torch.full((7, 6), 0.4, dtype=DTYPE))
    h = torch.randn(7, 3, dtype=DTYPE)
    with torch.no_grad():
        visible_bias, a = nade.visible_bias(h), nade.hidden_bias(h)  # (7, 6), (7, 4)
        expected = torch.zeros(7, dtype=DTYPE)
        for i in range(6):
            p = torch.sigmoid(visible_bias[:, i] + torch.sigmoid(a) @ nade.readout[i])
            expected -= x[:, i] * torch.log(p) + (1 - x[:, i]) * torch.log1p(-p)
            a = a + x[:, i:i + 1] * nade.weight[i]
        torch.testing.assert_close(nade.nll(x, h), expected, rtol=1e-12, atol=1e-12)


def test_conditional_depends_on_earlier_units_only():
    nade = make_nade(units=4, seed=2)
    h = torch.randn(1, 3, dtype=DTYPE)
    x = torch.tensor([[1.0, 0.0, 1.0, 0.0]], dtype=DTYPE)
    flipped = x.clone()
    flipped[0, 2] = 0.0
    with torch.no_grad():
        before, after = nade.logits(x, h), nade.logits(flipped, h)
    assert torch.equal(before[:, :3], after[:, :3])  # units 0..2 do not see unit 2's value
    assert not torch.equal(before[:, 3], after[:, 3])


def test_bernoulli_output_is_normalised():
    torch.manual_seed(3)
    out = BernoulliOutput(condition=2, units=4).to(DTYPE)
    frames = all_frames(4)
    with torch.no_grad():
        total = torch.exp(-out.nll(frames, torch.ones(len(frames), 2, dtype=DTYPE))).sum()
    torch.testing.assert_close(total, torch.tensor(1.0, dtype=DTYPE), rtol=0.0, atol=1e-12)
