r"""Next-frame negative log-likelihood of piano rolls, with an L1 penalty on activations."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from methodlab.components import Batch, Environment, Loss
from torch import nn

from methodlab_rnn_advances.config import SequenceNLLParams

__all__ = ["SequenceNLL", "build_sequence_nll", "frame_terms"]


def frame_terms(model: nn.Module, roll: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-frame NLL ``(B, T − 1)`` of frames 1..T−1 and the hidden states behind it.

    Models with their own output distribution (``frame_nll``, e.g.
    :class:`~methodlab_rnn_advances.rnn.PianoRollRNN`) return both; any other model is read as
    mapping a roll ``(B, T, P)`` to next-frame logits ``(B, T, P)`` with independent Bernoulli
    outputs, and has no states to penalise (None).
    """
    if hasattr(model, "frame_nll"):
        return model.frame_nll(roll)
    logits = model(roll[:, :-1])
    nll = F.binary_cross_entropy_with_logits(logits, roll[:, 1:], reduction="none").sum(-1)
    return nll, None


class SequenceNLL(Loss):
    r"""Mean NLL per predicted frame plus an L1 activation penalty.

    .. math::

        L = \frac{1}{B (T-1)} \sum_{b, t \ge 1} -\log p(x^b_t \mid x^b_{<t})
            + \lambda \frac{1}{B (T-1)} \sum_{b, t} \sum_j |h^b_{t,j}|

    with the frames' NLL summed over pitches (nats per time step). ``sequence_nll`` is the
    protocol of ``methodlab-music21``'s ``frame-nll`` evaluator: the total NLL of frames
    1..T−1 of every sequence, without the penalty.

    Arguments:
        l1: λ (default: 0).

    Shapes:
        batch.inputs: roll ``(B, T, P)`` of 0/1.

    Example:
        >>> from methodlab_rnn_advances.config import PianoRollRNNParams
        >>> from methodlab_rnn_advances.rnn import PianoRollRNN
        >>> model = PianoRollRNN(4, PianoRollRNNParams(hidden=3, output="bernoulli"))
        >>> roll = torch.zeros(2, 5, 4)
        >>> loss = SequenceNLL(l1=0.0)
        >>> bool(torch.isclose(loss(model, Batch(roll)) * 8, loss.sequence_nll(model, roll)))
        True
    """

    def __init__(self, l1: float = 0.0) -> None:
        self.l1 = l1

    def __call__(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        nll, states = frame_terms(model, batch.inputs)
        loss = nll.mean()
        if self.l1 > 0.0:
            if states is None:
                raise ValueError(
                    f"sequence-nll: l1 = {self.l1} needs a model with hidden states "
                    f"(frame_nll), got {type(model).__name__}; set l1 = 0")
            loss = loss + self.l1 * states.abs().sum(-1).mean()
        return loss

    def sequence_nll(self, model: nn.Module, roll: torch.Tensor) -> torch.Tensor:
        """Total NLL in nats of frames 1..T−1 of every sequence in ``roll`` ``(B, T, P)``."""
        return frame_terms(model, roll)[0].sum()


def build_sequence_nll(params: SequenceNLLParams, *, env: Environment) -> SequenceNLL:
    return SequenceNLL(params.l1)
