"""Next-frame prediction on piano rolls: the Bernoulli loss, the NLL evaluator, a baseline.

Sequence-NLL protocol: a model maps a roll ``(B, T, P)`` to logits ``(B, T, P)`` for the
*next* frame, so frame ``t + 1`` is predicted from frames ``0..t`` and a piece of ``T`` frames
contributes ``T - 1`` predicted frames. A loss that implements
``sequence_nll(model, roll) -> Tensor`` (total NLL in nats over all predicted frames of the
batch) can be scored by :class:`FrameNLL`; losses with their own output model (RNN-NADE, RBM
outputs) implement it themselves.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from methodlab.components import Batch, Environment, Evaluator, Loss, OutputLoss
from torch import nn

from methodlab_music21.config import FrameLogisticParams, FrameNLLParams, NextFrameBernoulliParams
from methodlab_music21.environment import marginal_rates

__all__ = ["FrameLogistic", "FrameNLL", "NextFrameBernoulli", "marginal_nll"]


class NextFrameBernoulli(OutputLoss):
    """Independent Bernoulli outputs for the next frame, from logits.

    .. math::

        \\ell = -\\frac{1}{B (T - 1)} \\sum_{b, t = 1}^{T - 1} \\sum_p
            \\big[v_{b,t,p} \\log \\sigma(z_{b,t-1,p})
            + (1 - v_{b,t,p}) \\log (1 - \\sigma(z_{b,t-1,p}))\\big]

    with ``z = model(v)``: summed over pitches, averaged over batch and predicted frames.
    Batches carry ``targets=None``; the targets are the roll itself. As an output loss with
    targets = the roll, curvature optimizers (Gauss-Newton, Fisher) can use it.

    Shapes:
        outputs ``(B, T, P)`` logits; targets ``(B, T, P)``, the input roll.

    Example:
        >>> loss = NextFrameBernoulli()
        >>> roll = torch.tensor([[[1., 0.], [0., 1.]]])
        >>> round(float(loss.from_outputs(torch.zeros(1, 2, 2), roll)), 4)  # 2 ln 2
        1.3863
    """

    def __call__(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        roll = batch.inputs if batch.targets is None else batch.targets
        return self.from_outputs(model(batch.inputs), roll)

    def from_outputs(self, outputs: torch.Tensor, targets: Any) -> torch.Tensor:
        _check_shapes(outputs, targets)
        total = F.binary_cross_entropy_with_logits(outputs[:, :-1], targets[:, 1:],
                                                   reduction="sum")
        return total / (targets.shape[0] * (targets.shape[1] - 1))

    def sequence_nll(self, model: nn.Module, roll: torch.Tensor) -> torch.Tensor:
        """Total NLL in nats over the predicted frames ``1..T-1`` of every sequence."""
        outputs = model(roll)
        _check_shapes(outputs, roll)
        return F.binary_cross_entropy_with_logits(outputs[:, :-1], roll[:, 1:], reduction="sum")

    def sample_targets(self, outputs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        probs = torch.sigmoid(outputs.detach())
        sample = torch.bernoulli(probs.cpu(), generator=generator).to(outputs.device)
        # Frame t of the targets is drawn from the prediction made at t - 1; frame 0 is never
        # predicted, so its value does not matter.
        return torch.cat([torch.zeros_like(sample[:, :1]), sample[:, :-1]], dim=1)


def _check_shapes(outputs: torch.Tensor, roll: torch.Tensor) -> None:
    if outputs.shape != roll.shape or roll.dim() != 3:
        raise ValueError(f"next-frame losses need a model mapping rolls (B, T, P) to logits of "
                         f"the same shape; got roll {tuple(roll.shape)} and outputs "
                         f"{tuple(outputs.shape)}")


def marginal_nll(rates: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    """Total NLL of the predicted frames ``1..T-1`` of ``roll (B, T, P)`` under independent
    per-pitch Bernoulli rates ``(P,)``, in nats.

    Example:
        >>> round(float(marginal_nll(torch.tensor([0.5, 0.5]), torch.ones(1, 3, 2))), 4)
        2.7726
    """
    target = roll[:, 1:]
    rates = rates.to(roll)
    return -(target * rates.log() + (1 - target) * (-rates).log1p()).sum()


class FrameNLL(Evaluator):
    """Negative log-likelihood per predicted frame over a split, in nats: metric ``nll``.

    .. math::

        \\mathrm{nll} = \\frac{\\sum_i \\mathrm{sequence\\_nll}(v^{(i)})}{\\sum_i (T_i - 1)},
        \\qquad
        \\mathrm{marginal\\_nll} = \\text{the same for independent per-pitch rates}

    The marginal model's rates are those of the environment's training pieces (add-one
    smoothed, :func:`~methodlab_music21.environment.marginal_rates`): a model that learned
    nothing about time scores ``marginal_nll``.
    """

    def __init__(self, split: str, rates: torch.Tensor) -> None:
        self.split = split
        self.rates = rates

    @torch.no_grad()
    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        sequence_nll = getattr(loss, "sequence_nll", None)
        if sequence_nll is None:
            raise TypeError(f"frame-nll needs a loss with sequence_nll(model, roll); "
                            f"{type(loss).__name__} has none (use next-frame-bernoulli)")
        total, baseline, frames = 0.0, 0.0, 0
        for batch in env.split(self.split):
            roll = batch.inputs  # (1, T, P)
            total += float(sequence_nll(model, roll))
            baseline += float(marginal_nll(self.rates, roll))
            frames += roll.shape[0] * (roll.shape[1] - 1)
        if not frames:
            return {"nll": math.nan, "marginal_nll": math.nan}
        return {"nll": total / frames, "marginal_nll": baseline / frames}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(split={self.split!r})"


class FrameLogistic(nn.Module):
    """Next-frame logistic regression: :math:`z_t = W v_t + b`, predicting :math:`v_{t+1}`.

    The simplest model of the sequence-NLL protocol (a baseline): one linear layer applied to
    every frame, so frame ``t + 1`` depends on frame ``t`` only.

    Shapes:
        input ``(B, T, P)`` roll; output ``(B, T, P)`` logits for the next frame.

    Example:
        >>> model = FrameLogistic(3)
        >>> model(torch.zeros(2, 5, 3)).shape
        torch.Size([2, 5, 3])
    """

    def __init__(self, pitches: int, rates: torch.Tensor | None = None) -> None:
        super().__init__()
        self.linear = nn.Linear(pitches, pitches)
        if rates is not None:
            with torch.no_grad():
                self.linear.weight.zero_()
                self.linear.bias.copy_(torch.logit(rates))

    def forward(self, roll: torch.Tensor) -> torch.Tensor:
        return self.linear(roll)


def _rates(env: Environment) -> torch.Tensor:
    rates = getattr(env, "pitch_rates", None)
    if rates is None:
        rates = marginal_rates([batch.inputs[0] for batch in env.split("train")])
    return rates


def build_next_frame_bernoulli(params: NextFrameBernoulliParams, *,
                               env: Environment) -> NextFrameBernoulli:
    return NextFrameBernoulli()


def build_frame_nll(params: FrameNLLParams, *, env: Environment) -> FrameNLL:
    return FrameNLL(params.split, _rates(env))


def build_frame_logistic(params: FrameLogisticParams, *, env: Environment) -> FrameLogistic:
    if env.info.task != "piano-roll":
        raise ValueError(f"frame-logistic models piano rolls; the environment's task is "
                         f"{env.info.task!r}")
    return FrameLogistic(env.info.in_features,
                         _rates(env).cpu().float() if params.marginal_bias else None)
