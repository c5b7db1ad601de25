"""The next-frame Bernoulli loss, the frame-NLL evaluator and the logistic baseline."""

from __future__ import annotations

import math

import pytest
import torch
from methodlab.components import Batch
from methodlab.curvature import ggn_vector_product
from methodlab_music21.environment import PianoRollEnvironment
from methodlab_music21.sequence import FrameLogistic, FrameNLL, NextFrameBernoulli, marginal_nll
from torch import nn

DTYPE = torch.float64


def _roll(b: int, t: int, p: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(b, t, p, generator=generator) < 0.3).to(DTYPE)


def _reference_nll(logits: torch.Tensor, roll: torch.Tensor) -> float:
    # Per cell: -log sigma(z) when on, -log(1 - sigma(z)) when off; frame t from logits t - 1.
    total = 0.0
    for b in range(roll.shape[0]):
        for t in range(1, roll.shape[1]):
            for p in range(roll.shape[2]):
                prob = 1 / (1 + math.exp(-float(logits[b, t - 1, p])))
                total -= math.log(prob if roll[b, t, p] else 1 - prob)
    return total


@torch.no_grad()
def test_loss_is_the_mean_per_frame_of_the_sequence_nll():
    torch.manual_seed(0)
    model = FrameLogistic(4).to(DTYPE)
    roll = _roll(3, 5, 4)
    loss = NextFrameBernoulli()
    total = loss.sequence_nll(model, roll)
    expected = _reference_nll(model(roll).detach(), roll)
    assert float(total) == pytest.approx(expected, rel=1e-12)
    assert float(loss(model, Batch(roll))) == pytest.approx(expected / (3 * 4), rel=1e-12)
    # The last frame's prediction has nothing to predict: it does not enter.
    changed = roll.clone()
    changed[:, -1] = 1 - changed[:, -1]
    assert float(loss(model, Batch(roll))) != float(loss(model, Batch(changed)))
    assert float(loss.from_outputs(model(roll), roll)) == float(loss(model, Batch(roll)))


def test_shape_mismatch_is_explained():
    with pytest.raises(ValueError, match=r"logits of the same shape; got roll \(1, 3, 2\)"):
        NextFrameBernoulli().sequence_nll(nn.Linear(2, 3).to(DTYPE), _roll(1, 3, 2))


def test_sampled_targets_are_shifted_predictions():
    outputs = torch.full((2, 4, 3), -50.0, dtype=DTYPE)
    outputs[:, 1, 2] = 50.0  # frame 2, pitch 2 is certain
    sample = NextFrameBernoulli().sample_targets(outputs, torch.Generator().manual_seed(0))
    expected = torch.zeros(2, 4, 3, dtype=DTYPE)
    expected[:, 2, 2] = 1
    torch.testing.assert_close(sample, expected)


def test_gauss_newton_product_works_with_the_roll_as_its_own_target():
    torch.manual_seed(0)
    model = FrameLogistic(3).to(DTYPE)
    roll = _roll(2, 4, 3)
    vector = torch.randn(sum(p.numel() for p in model.parameters()), dtype=DTYPE)
    # The Bernoulli output Hessian sigma(1 - sigma) does not depend on the targets, so the
    # product from pseudo-targets equals the one with the real roll ...
    with_roll = ggn_vector_product(model, NextFrameBernoulli(), roll, vector, targets=roll)
    unlabeled = ggn_vector_product(model, NextFrameBernoulli(), roll, vector)
    torch.testing.assert_close(with_roll, unlabeled)
    # ... and equals J^T H J v built by hand: frame t's logits z_t = W v_t + b, H = s(1 - s)
    # on the predicted frames, divided by B (T - 1) as the loss is.
    weight, bias = vector[:9].view(3, 3), vector[9:]
    with torch.no_grad():
        probs = torch.sigmoid(model(roll))[:, :-1]
        jv = roll[:, :-1] @ weight.T + bias
        hjv = probs * (1 - probs) * jv / (2 * 3)
        expected = torch.cat([(hjv.transpose(1, 2) @ roll[:, :-1]).sum(0).flatten(),
                              hjv.sum((0, 1))])
    torch.testing.assert_close(with_roll, expected)


def _env(rolls: list[torch.Tensor]) -> PianoRollEnvironment:
    pieces = {"train": [(f"p{i}", r) for i, r in enumerate(rolls)],
              "valid": [("v0", rolls[0][:5]), ("v1", rolls[1])], "test": []}
    return PianoRollEnvironment(pieces, batch_size=2, crop=4, seed=0)


def test_frame_nll_divides_by_the_predicted_frames():
    rolls = [_roll(1, 8, 3, seed=1)[0], _roll(1, 6, 3, seed=2)[0]]
    env = _env(rolls)
    torch.manual_seed(0)
    model = FrameLogistic(3, None).to(DTYPE)
    metrics = FrameNLL("valid", env.pitch_rates)(model, env, NextFrameBernoulli())
    valid = [rolls[0][:5], rolls[1]]
    expected = sum(_reference_nll(model(r[None]).detach(), r[None]) for r in valid) / (4 + 5)
    assert metrics["nll"] == pytest.approx(expected, rel=1e-12)
    rates = env.pitch_rates
    baseline = sum(
        -float((r[1:] * rates.log() + (1 - r[1:]) * (1 - rates).log()).sum()) for r in valid)
    assert metrics["marginal_nll"] == pytest.approx(baseline / 9, rel=1e-12)


def test_untrained_logistic_model_is_the_marginal_model():
    rolls = [_roll(1, 8, 3, seed=1)[0], _roll(1, 6, 3, seed=2)[0]]
    env = _env(rolls)
    model = FrameLogistic(3, env.pitch_rates).to(DTYPE)
    metrics = FrameNLL("valid", env.pitch_rates)(model, env, NextFrameBernoulli())
    # Equal up to the float32 rounding of the initial bias.
    assert metrics["nll"] == pytest.approx(metrics["marginal_nll"], rel=1e-6)
    assert float(marginal_nll(env.pitch_rates, rolls[1][None])) == pytest.approx(
        metrics["marginal_nll"] * 9 - float(marginal_nll(env.pitch_rates, rolls[0][None, :5])),
        rel=1e-12)


def test_frame_nll_needs_a_sequence_loss():
    env = _env([_roll(1, 8, 3)[0], _roll(1, 6, 3)[0]])
    with pytest.raises(TypeError, match="needs a loss with sequence_nll"):
        FrameNLL("valid", env.pitch_rates)(FrameLogistic(3).to(DTYPE), env, object())
