r"""The zigzag construction: a deep ReLU net with :math:`n^L` linear pieces on :math:`[0, 1]`.

One layer of :math:`n` units :math:`h_i = \mathrm{relu}(n x - i)`, :math:`i = 0..n-1`, read out
with weights :math:`c = (1, -2, 2, -2, \dots)` gives

.. math:: g(x) = \sum_i c_i h_i(x),

which maps each interval :math:`[i/n, (i+1)/n]` onto :math:`[0, 1]` with slope :math:`\pm n`: it
folds the input space :math:`n` times. Composing :math:`L` such layers folds
:math:`n^L` times, so :math:`g^{\circ L}` has exactly :math:`n^L` pieces on :math:`[0, 1]` with
:math:`nL` units, while a shallow net with :math:`nL` units has at most :math:`nL + 1`. All
weights are integers, so the construction is exact in floating point.

References:
    Montúfar, Pascanu, Cho, Bengio (2014), "On the number of linear regions of deep neural
    networks", arXiv:1402.1869, Sec. 3 (space folding); Pascanu, Montúfar, Bengio (2014),
    arXiv:1312.6098.
"""

from __future__ import annotations

import torch
from methodlab.components import Environment
from torch import nn

from methodlab_linear_regions.config import ZigzagParams

__all__ = ["build_zigzag", "readout", "zigzag"]


def readout(units: int) -> list[float]:
    """Read-out weights :math:`c = (1, -2, 2, -2, \\dots)` of one folding layer.

    Example:
        >>> readout(4)
        [1.0, -2.0, 2.0, -2.0]
    """
    return [1.0] + [(-2.0 if i % 2 else 2.0) for i in range(1, units)]


def zigzag(units: int, layers: int, in_features: int = 1, out_features: int = 1,
           fold_inputs: int = 1) -> nn.Sequential:
    r"""The zigzag network along the first ``fold_inputs`` input coordinates.

    Layer 1: :math:`z = n x_1 - i`; layer :math:`l > 1`: :math:`z_j = n\,c^\top h - j` (the
    previous read-out folded into the next layer's weights); output :math:`c^\top h` on every
    output (other inputs get weight 0). With :math:`m` = ``fold_inputs`` > 1 each coordinate
    :math:`x_k, k < m`, has its own block of :math:`n` units (block-diagonal weights) and the
    output sums the blocks' read-outs: :math:`[0, 1]^m` is cut into :math:`n^{mL}` cells, the
    construction behind Montúfar et al.'s :math:`(n/n_0)^{(L-1) n_0}` factor.

    Shapes:
        input ``(B, in_features)``, output ``(B, out_features)``.

    Example:
        >>> net = zigzag(2, 2)
        >>> net(torch.tensor([[0.0], [0.125], [0.25], [0.5], [0.75]])).flatten().tolist()
        [0.0, 0.5, 1.0, 0.0, 1.0]
    """
    if fold_inputs > in_features:
        raise ValueError(f"cannot fold {fold_inputs} of {in_features} inputs")
    m, width = fold_inputs, units * fold_inputs
    c = torch.tensor(readout(units))
    offsets = -torch.arange(units, dtype=torch.float32).repeat(m)
    modules: list[nn.Module] = []
    with torch.no_grad():
        first = nn.Linear(in_features, width)
        first.weight.zero_()
        for k in range(m):
            first.weight[k * units : (k + 1) * units, k] = units
        first.bias.copy_(offsets)
        modules += [first, nn.ReLU()]
        block = units * c.expand(units, units)
        for _ in range(layers - 1):
            hidden = nn.Linear(width, width)
            hidden.weight.copy_(torch.block_diag(*[block] * m))
            hidden.bias.copy_(offsets)
            modules += [hidden, nn.ReLU()]
        out = nn.Linear(width, out_features)
        out.weight.copy_(c.repeat(m).expand(out_features, width))
        out.bias.zero_()
        modules.append(out)
    return nn.Sequential(*modules)


def build_zigzag(params: ZigzagParams, *, env: Environment) -> nn.Sequential:
    """Build ``use = "zigzag"`` sized by the environment (folds along the first input)."""
    return zigzag(params.units, params.layers, env.info.in_features, env.info.out_features,
                  params.fold_inputs)
