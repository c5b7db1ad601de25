"""Feed-forward models: the Lp MLP and its maxout baseline."""

from __future__ import annotations

import itertools

import torch
from methodlab.components import Environment
from torch import nn

from methodlab_lp_units.config import LpMLPParams, MaxoutMLPParams
from methodlab_lp_units.lp import LpPool

__all__ = ["Maxout", "build_lp_mlp", "build_maxout_mlp", "lp_mlp", "maxout_mlp"]


class Maxout(nn.Module):
    r"""``K`` maxout units of ``k`` linear pieces: :math:`u_j = \max_{i \in G_j} w_i^T x + b_i`.

    Shapes:
        input ``(*, D)``; output ``(*, K)``.

    Example:
        >>> Maxout(2, 3, pieces=2)(torch.zeros(5, 2)).shape
        torch.Size([5, 3])
    """

    def __init__(self, in_features: int, units: int, pieces: int = 2) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).unflatten(-1, (self.units, self.pieces)).amax(-1)  # (*, K)

    def extra_repr(self) -> str:
        return f"units={self.units}, pieces={self.pieces}"


def lp_mlp(sizes: tuple[int, ...], group_size: int, *, p_init: float = 3.0,
           p_init_std: float = 0.0, learn_p: bool = True) -> nn.Sequential:
    """Lp layers of widths ``sizes[1:-1]`` and a linear output layer of width ``sizes[-1]``.

    Example:
        >>> net = lp_mlp((2, 3, 2), group_size=2)
        >>> net[0], net(torch.zeros(5, 2)).shape
        (LpPool(
          in_features=2, units=3, group_size=2, learn_p=True
          (linear): Linear(in_features=2, out_features=6, bias=False)
        ), torch.Size([5, 2]))
    """
    layers: list[nn.Module] = [
        LpPool(fan_in, fan_out, group_size, p_init=p_init, p_init_std=p_init_std,
               learn_p=learn_p)
        for fan_in, fan_out in itertools.pairwise(sizes[:-1])
    ]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


def maxout_mlp(sizes: tuple[int, ...], pieces: int) -> nn.Sequential:
    """Maxout layers of widths ``sizes[1:-1]`` and a linear output layer.

    Example:
        >>> [type(layer).__name__ for layer in maxout_mlp((2, 3, 2), pieces=2)]
        ['Maxout', 'Linear']
    """
    layers: list[nn.Module] = [Maxout(fan_in, fan_out, pieces)
                               for fan_in, fan_out in itertools.pairwise(sizes[:-1])]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


def build_lp_mlp(params: LpMLPParams, *, env: Environment) -> nn.Sequential:
    """Build ``use = "lp-mlp"``, sized by the environment."""
    sizes = (env.info.in_features, *params.hidden, env.info.out_features)
    return lp_mlp(sizes, params.group_size, p_init=params.p_init,
                  p_init_std=params.p_init_std, learn_p=params.learn_p)


def build_maxout_mlp(params: MaxoutMLPParams, *, env: Environment) -> nn.Sequential:
    """Build ``use = "maxout-mlp"``, sized by the environment."""
    sizes = (env.info.in_features, *params.hidden, env.info.out_features)
    return maxout_mlp(sizes, params.pieces)
