r"""Recurrent networks over piano rolls with leaky integration, rectifiers and NADE outputs."""

from __future__ import annotations

import math

import torch
from methodlab.components import Environment
from torch import nn

from methodlab_rnn_advances.config import PianoRollRNNParams
from methodlab_rnn_advances.nade import BernoulliOutput, ConditionalNADE

__all__ = ["PianoRollRNN", "build_piano_roll_rnn", "time_constants"]

# A learned leak is trained through logit(α); keep the initial α off 0 and 1 where the logit
# is infinite.
_LEARNED_ALPHA_RANGE = (0.01, 0.99)


def time_constants(units: int, tau_max: float) -> torch.Tensor:
    """Per-unit time constants τ_i, geometric from 1 to ``tau_max`` (float64, shape ``(H,)``).

    Example:
        >>> time_constants(3, 100.0)
        tensor([  1.,  10., 100.], dtype=torch.float64)
    """
    if units == 1:
        return torch.ones(1, dtype=torch.float64)
    return torch.logspace(0.0, math.log10(tau_max), units, dtype=torch.float64)


class PianoRollRNN(nn.Module):
    r"""An RNN that reads frames :math:`x_0 \dots x_{T-1}` and models each next frame.

    .. math::

        h_t = \alpha \odot h_{t-1} + (1 - \alpha) \odot \sigma(R h_{t-1} + U x_t + b),
        \qquad h_{-1} = 0, \\
        p(x_{t+1} \mid x_{\le t}) = \mathrm{Out}(x_{t+1} \mid h_t)

    with :math:`\sigma` ``tanh`` or ``relu``, per-unit leak
    :math:`\alpha_i = 1 - 1/\tau_i` (time constants from :func:`time_constants`; α = 0 without
    leaky integration) and Out a :class:`~methodlab_rnn_advances.nade.ConditionalNADE`
    (RNN-NADE) or independent Bernoulli units.

    References:
        Advances in optimizing recurrent networks (Bengio, Boulanger-Lewandowski & Pascanu,
        ICASSP 2013), https://arxiv.org/abs/1212.0901, sections 3.3-3.5.

    Arguments:
        pitches: P, the frame width.
        params: hidden size, nonlinearity, leak mode, time constants, output model.

    Shapes:
        ``forward(roll)``: roll ``(B, T, P)`` of 0/1 → hidden states ``(B, T, H)``.
        ``frame_nll(roll)``: → NLL of frames 1..T−1 ``(B, T − 1)`` in nats and the states
        that predicted them ``(B, T − 1, H)``.

    Example:
        >>> model = PianoRollRNN(4, PianoRollRNNParams(hidden=3, leak="fixed", nade_hidden=2))
        >>> nll, states = model.frame_nll(torch.zeros(2, 5, 4))
        >>> tuple(nll.shape), tuple(states.shape)
        ((2, 4), (2, 4, 3))

    .. note::
        The paper fixes α per unit without saying how its values were chosen; here they are
        geometric in τ, and ``leak = "learned"`` trains them as well.
    """

    def __init__(self, pitches: int, params: PianoRollRNNParams) -> None:
        super().__init__()
        hidden = params.hidden
        self.pitches, self.hidden = pitches, hidden
        self.activation, self.leak = params.activation, params.leak
        self.input = nn.Linear(pitches, hidden)  # U x + b
        self.recurrent = nn.Parameter(
            torch.randn(hidden, hidden) * (params.recurrent_scale / math.sqrt(hidden)))
        alpha = 1.0 - 1.0 / time_constants(hidden, params.tau_max)
        if params.leak == "fixed":
            self.register_buffer("alpha", alpha.float())
        elif params.leak == "learned":
            alpha = alpha.clamp(*_LEARNED_ALPHA_RANGE)
            self.alpha_logit = nn.Parameter(torch.log(alpha / (1.0 - alpha)).float())
        if params.output == "nade":
            self.out: nn.Module = ConditionalNADE(hidden, pitches, params.nade_hidden)
        else:
            self.out = BernoulliOutput(hidden, pitches)

    def extra_repr(self) -> str:
        return (f"pitches={self.pitches}, hidden={self.hidden}, activation={self.activation}, "
                f"leak={self.leak}")

    def leak_coefficients(self) -> torch.Tensor | None:
        """α per unit ``(H,)``, or None without leaky integration."""
        if self.leak == "fixed":
            return self.alpha
        if self.leak == "learned":
            return torch.sigmoid(self.alpha_logit)
        return None

    def forward(self, roll: torch.Tensor) -> torch.Tensor:
        if roll.dim() != 3 or roll.shape[-1] != self.pitches:
            raise ValueError(f"expected a piano roll (B, T, {self.pitches}), got shape "
                             f"{tuple(roll.shape)}")
        drive = self.input(roll)  # (B, T, H)
        alpha = self.leak_coefficients()
        nonlinearity = torch.tanh if self.activation == "tanh" else torch.relu
        h = drive.new_zeros(drive.shape[0], self.hidden)  # (B, H)
        states = []
        for t in range(drive.shape[1]):
            candidate = nonlinearity(drive[:, t] + h @ self.recurrent.T)
            h = candidate if alpha is None else alpha * h + (1.0 - alpha) * candidate
            states.append(h)
        return torch.stack(states, dim=1)  # (B, T, H)

    def frame_nll(self, roll: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """NLL in nats of each frame 1..T−1 given the frames before it, and the states used."""
        states = self(roll[:, :-1])  # (B, T - 1, H): h_t predicts frame t + 1
        return self.out.nll(roll[:, 1:], states), states


def build_piano_roll_rnn(params: PianoRollRNNParams, *, env: Environment) -> PianoRollRNN:
    info = env.info
    if info.in_features != info.out_features:
        raise ValueError(
            f"piano-roll-rnn needs an environment of piano rolls (in_features == out_features "
            f"== P), got in_features={info.in_features}, out_features={info.out_features}; "
            "use e.g. music21:bach-chorales or rnn-advances:synthetic-chorales")
    return PianoRollRNN(info.in_features, params)
