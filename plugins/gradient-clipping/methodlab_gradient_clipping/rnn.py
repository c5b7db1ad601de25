"""The tanh RNN of the paper, with the initialisations it compares.

h_t = tanh(W h_{t−1} + U x_t + b), h_0 = 0, and a linear readout y = V h + c of the last
state or of every state, as the environment's task asks.
"""

from __future__ import annotations

import torch
from methodlab.components import Environment
from torch import nn

from methodlab_gradient_clipping.config import TanhRNNParams
from methodlab_gradient_clipping.tasks import SEQUENCE_CLASSIFICATION

__all__ = ["TanhRNN", "spectral_radius"]


def spectral_radius(matrix: torch.Tensor) -> float:
    """ρ(W) = max_i |λ_i(W)|, in float64.

    Example:
        >>> round(spectral_radius(torch.tensor([[0.0, 2.0], [-2.0, 0.0]])), 12)
        2.0
    """
    return float(torch.linalg.eigvals(matrix.detach().double()).abs().max())


class TanhRNN(nn.Module):
    """Elman network with tanh units (Pascanu et al., 2013, eq. 11).

    .. math::
        h_t = \\tanh(W h_{t-1} + U x_t + b), \\qquad y = V h + c.

    The recurrent matrix is ``weight_hh`` (W, ``(H, H)``), so the Jacobian of one step is
    ∂h_t/∂h_{t−1} = diag(1 − h_t²) W.

    Arguments:
        in_features: input size D.
        out_features: output size C.
        params: sizes and initialisation (:class:`TanhRNNParams`).
        per_step: read out every state (``(B, T, C)``) instead of the last one (``(B, C)``).

    Shapes:
        inputs ``(B, T, D)``; :meth:`states` returns T + 1 tensors ``(B, H)``.

    Example:
        >>> torch.manual_seed(0) and None
        >>> net = TanhRNN(6, 4, TanhRNNParams(hidden=8, spectral_radius=1.5))
        >>> round(spectral_radius(net.weight_hh), 6), net(torch.zeros(3, 5, 6)).shape
        (1.5, torch.Size([3, 4]))
    """

    def __init__(self, in_features: int, out_features: int, params: TanhRNNParams,
                 per_step: bool = False) -> None:
        super().__init__()
        hidden = params.hidden
        self.params = params
        self.per_step = per_step
        self.weight_ih = nn.Parameter(torch.empty(hidden, in_features))
        self.weight_hh = nn.Parameter(torch.empty(hidden, hidden))
        self.bias = nn.Parameter(torch.empty(hidden))
        self.readout = nn.Linear(hidden, out_features)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Gaussian weights with the configured deviations, zero biases, then W sparsified
        (``recurrent_nonzeros`` per row) and rescaled to ``spectral_radius``."""
        p = self.params
        with torch.no_grad():
            nn.init.normal_(self.weight_ih, std=p.input_std)
            nn.init.normal_(self.weight_hh, std=p.recurrent_std)
            nn.init.normal_(self.readout.weight, std=p.output_std)
            self.bias.zero_()
            self.readout.bias.zero_()
            hidden = self.weight_hh.shape[0]
            if 0 < p.recurrent_nonzeros < hidden:
                keep = torch.rand(hidden, hidden).argsort(dim=1) < p.recurrent_nonzeros
                self.weight_hh.mul_(keep)
            if p.spectral_radius > 0.0:
                radius = spectral_radius(self.weight_hh)
                if radius == 0.0:
                    raise ValueError("cannot rescale a recurrent matrix with spectral radius 0 "
                                     "(recurrent_std = 0?) to spectral_radius "
                                     f"{p.spectral_radius}")
                self.weight_hh.mul_(p.spectral_radius / radius)

    def states(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        """h_0, h_1, …, h_T, each ``(B, H)``: the very tensors the recurrence used, so that
        ``torch.autograd.grad(E, states)`` gives the total derivatives ∂E/∂h_t."""
        batch, steps, _ = inputs.shape
        drive = torch.nn.functional.linear(inputs, self.weight_ih, self.bias)  # (B, T, H)
        state = inputs.new_zeros(batch, self.weight_hh.shape[0])
        result = [state]
        for t in range(steps):
            state = torch.tanh(drive[:, t] + state @ self.weight_hh.T)
            result.append(state)
        return result

    def read(self, states: list[torch.Tensor]) -> torch.Tensor:
        """Outputs from :meth:`states`: ``(B, T, C)`` when ``per_step``, else ``(B, C)``."""
        if self.per_step:
            return self.readout(torch.stack(states[1:], dim=1))
        return self.readout(states[-1])

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.read(self.states(inputs))

    def extra_repr(self) -> str:
        p = self.params
        return (f"in_features={self.weight_ih.shape[1]}, hidden={p.hidden}, "
                f"per_step={self.per_step}, spectral_radius={p.spectral_radius}, "
                f"recurrent_nonzeros={p.recurrent_nonzeros}")


def build_tanh_rnn(params: TanhRNNParams, *, env: Environment) -> TanhRNN:
    """Factory of ``tanh-rnn``: sizes from ``env.info``, per-step readout for per-step tasks."""
    info = env.info
    return TanhRNN(info.in_features, info.out_features, params,
                   per_step=info.task == SEQUENCE_CLASSIFICATION)
