"""Built-in models: multi-layer perceptron and deep autoencoder."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from methodlab.builtins.config import AutoencoderParams, MLPParams
from methodlab.components import Environment

__all__ = ["build_autoencoder", "build_mlp", "feedforward", "sparse_init_"]

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
