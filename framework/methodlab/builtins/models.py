"""Built-in models: multi-layer perceptron, deep autoencoder and recurrent network."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from methodlab.builtins.config import AutoencoderParams, MLPParams, RecurrentParams
from methodlab.components import Environment

__all__ = ["Recurrent", "build_autoencoder", "build_mlp", "build_recurrent", "feedforward",
           "sparse_init_"]

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "leaky-relu": nn.LeakyReLU,
    "identity": nn.Identity,
}


def sparse_init_(layer: nn.Linear, nonzero: int = 15) -> None:
    """Martens' (2010) sparse initialisation: ``nonzero`` N(0, 1) incoming weights per unit.

    Draws from the global torch generator, so it is reproducible under ``torch.manual_seed``.
    """
    with torch.no_grad():
        layer.weight.zero_()
        fan_in = layer.in_features
        for row in layer.weight:
            index = torch.randperm(fan_in)[: min(nonzero, fan_in)]
            row[index] = torch.randn(len(index))
        if layer.bias is not None:
            layer.bias.zero_()


def feedforward(sizes: tuple[int, ...], activation: str, init: str = "default") -> nn.Sequential:
    """Linear layers of the given widths with ``activation`` between them (none at the end).

    Shapes:
        input ``(B, sizes[0])``, output ``(B, sizes[-1])``.

    Example:
        >>> feedforward((4, 3, 2), "tanh")
        Sequential(
          (0): Linear(in_features=4, out_features=3, bias=True)
          (1): Tanh()
          (2): Linear(in_features=3, out_features=2, bias=True)
        )
    """
    layers: list[nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        linear = nn.Linear(fan_in, fan_out)
        if init == "sparse":
            sparse_init_(linear)
        layers.append(linear)
        if index < len(sizes) - 2:
            layers.append(_ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def build_mlp(params: MLPParams, *, env: Environment) -> nn.Sequential:
    sizes = (env.info.in_features, *params.hidden, env.info.out_features)
    return feedforward(sizes, params.activation, params.init)


def build_autoencoder(params: AutoencoderParams, *, env: Environment) -> nn.Sequential:
    data_size = env.info.in_features
    if params.sizes[0] != data_size or params.sizes[-1] != data_size:
        raise ValueError(
            f"autoencoder sizes {list(params.sizes)} must start and end with the data size "
            f"{data_size}"
        )
    return feedforward(params.sizes, params.activation, params.init)

_CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class Recurrent(nn.Module):
    """A recurrent network with a linear read-out at every time step.

    .. math:: h_t = \\mathrm{cell}(x_t, h_{t-1}), \\qquad y_t = W h_t + b

    Token inputs (``torch.long``) are embedded first, so the same model serves character text
    and real-valued sequences (piano rolls).

    Shapes:
        input ``(B, T)`` token indices or ``(B, T, D)`` features; output ``(B, T, C)``.

    Example:
        >>> model = Recurrent(in_features=5, out_features=5, hidden=8, tokens=True)
        >>> model(torch.zeros(2, 7, dtype=torch.long)).shape
        torch.Size([2, 7, 5])
    """


    def __init__(self, in_features: int, out_features: int, *, hidden: int = 128,
                 layers: int = 1, cell: str = "rnn", tokens: bool = False,
                 embedding: int = 0) -> None:
        super().__init__()
        width = embedding or in_features
        self.embed = nn.Embedding(in_features, width) if tokens else None
        self.rnn = _CELLS[cell](width, hidden, num_layers=layers, batch_first=True)
        self.readout = nn.Linear(hidden, out_features)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        features = inputs if self.embed is None else self.embed(inputs)
        states, _ = self.rnn(features)
        return self.readout(states)


def build_recurrent(params: RecurrentParams, *, env: Environment) -> Recurrent:
    tokens = env.info.task == "characters"
    return Recurrent(env.info.in_features, env.info.out_features, hidden=params.hidden,
                     layers=params.layers, cell=params.cell, tokens=tokens,
                     embedding=params.embedding if tokens else 0)
