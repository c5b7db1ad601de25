"""sequence-nll: the music21 sequence-NLL protocol, plain-logit models and the L1 penalty."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from methodlab.components import Batch
from methodlab_rnn_advances.config import PianoRollRNNParams
from methodlab_rnn_advances.losses import SequenceNLL
from methodlab_rnn_advances.rnn import PianoRollRNN
from torch import nn

DTYPE = torch.float64


def rolls(batch: int = 4, frames: int = 9, pitches: int = 5) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.bernoulli(torch.full((batch, frames, pitches), 0.3, dtype=DTYPE),
                           generator=generator)


def make_model(**kwargs) -> PianoRollRNN:
    torch.manual_seed(0)
    return PianoRollRNN(5, PianoRollRNNParams(hidden=6, nade_hidden=4, **kwargs)).to(DTYPE)


def test_sequence_nll_is_the_total_over_predicted_frames():
    model, x = make_model(), rolls()
    loss = SequenceNLL()
    with torch.no_grad():
        total = loss.sequence_nll(model, x)
        # Sequences are independent: the batch total is the sum of the one-piece totals.
        pieces = sum(loss.sequence_nll(model, x[i:i + 1]) for i in range(len(x)))
        mean = loss(model, Batch(x))
    torch.testing.assert_close(total, pieces, rtol=1e-12, atol=0.0)
    torch.testing.assert_close(mean, total / (4 * 8), rtol=1e-12, atol=0.0)  # B (T − 1) frames


def test_l1_penalty_adds_the_mean_absolute_activation():
    model, x = make_model(activation="relu", leak="fixed"), rolls()
    with torch.no_grad():
        nll, states = model.frame_nll(x)
        penalised = SequenceNLL(l1=0.01)(model, Batch(x))
        expected = nll.mean() + 0.01 * states.abs().sum(-1).mean()
        unpenalised = SequenceNLL()(model, Batch(x))
    torch.testing.assert_close(penalised, expected, rtol=1e-12, atol=0.0)
    assert float(penalised - unpenalised) > 1e-4
    # The penalty does not enter the evaluation protocol.
    torch.testing.assert_close(SequenceNLL(l1=0.01).sequence_nll(model, x), nll.sum())


class NextFrameLogits(nn.Module):
    """A plain model: next-frame logits from the current frame only."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(5, 5, dtype=DTYPE)

    def forward(self, roll: torch.Tensor) -> torch.Tensor:
        return self.linear(roll)


def test_plain_logit_models_use_independent_bernoulli_outputs():
    torch.manual_seed(1)
    model, x = NextFrameLogits(), rolls()
    with torch.no_grad():
        expected = F.binary_cross_entropy_with_logits(model(x[:, :-1]), x[:, 1:],
                                                      reduction="sum")
        torch.testing.assert_close(SequenceNLL().sequence_nll(model, x), expected)
    with pytest.raises(ValueError, match="needs a model with hidden states"):
        SequenceNLL(l1=0.1)(model, Batch(x))
