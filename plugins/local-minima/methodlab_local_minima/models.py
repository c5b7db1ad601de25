r"""Models started in bad regions: a dead ReLU layer and the |x| blind spot.

References:
    Local minima in training of neural networks (Swirszcz, Czarnecki & Pascanu, 2016)
    https://arxiv.org/abs/1611.06310
"""

from __future__ import annotations

import torch
from methodlab.components import Environment
from torch import nn

from methodlab_local_minima.config import DeadInitMLPParams, TwoUnitReLUParams

__all__ = [
    "TwoUnitReLU",
    "build_dead_init_mlp",
    "build_two_unit_relu",
    "dead_init_",
    "hidden_parameters",
]


def _activation(name: str, negative_slope: float) -> nn.Module:
    return nn.ReLU() if name == "relu" else nn.LeakyReLU(negative_slope)


def hidden_parameters(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """Named parameters of every layer except the last ``nn.Linear`` (the output layer).

    Example:
        >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        >>> [name for name, _ in hidden_parameters(net)]
        ['0.weight', '0.bias']
    """
    linears = [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    output = linears[-1] + "." if linears else None
    return [(name, p) for name, p in model.named_parameters()
            if output is None or not name.startswith(output)]


@torch.no_grad()
def dead_init_(model: nn.Sequential, inputs: torch.Tensor, margin: float = 1.0) -> None:
    r"""Set every hidden bias so that every hidden pre-activation is negative on ``inputs``.

    Layer by layer, with :math:`h_i` the layer's input for training point :math:`i`,

    .. math:: b_j = -\Big(\max_i |W_j \cdot h_i| + \text{margin}\Big)
              \quad\Rightarrow\quad W_j \cdot h_i + b_j \le -\text{margin} < 0,

    so a ReLU layer outputs 0 on every point, :math:`\partial\,\text{ReLU}/\partial z = 0`
    there, and no gradient reaches any hidden parameter: gradient methods never move them
    (Swirszcz et al., 2016, §4). The output layer still learns its bias (the class prior).

    Shapes:
        inputs: ``(B, D)`` (the training split).

    Example:
        >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        >>> x = torch.randn(10, 3)
        >>> dead_init_(net, x)
        >>> bool((net[0](x) < -0.99).all()), bool((net(x) == net[2].bias).all())
        (True, True)
    """
    layers = list(model)
    hidden = inputs.to(layers[0].weight)
    for index, layer in enumerate(layers[:-1]):
        if isinstance(layer, nn.Linear):
            pre = hidden @ layer.weight.T
            layer.bias.copy_(-(pre.abs().amax(0) + margin))
            hidden = pre + layer.bias
        else:
            hidden = layers[index](hidden)


def build_dead_init_mlp(params: DeadInitMLPParams, *, env: Environment) -> nn.Sequential:
    """Build the model of ``use = "dead-init-mlp"``: a ReLU (or LeakyReLU) MLP, optionally dead.

    The dead initialisation reads the environment's ``train`` split, so it holds for every
    training point whatever the batches are.
    """
    sizes = (env.info.in_features, *params.hidden, env.info.out_features)
    layers: list[nn.Module] = []
    for index in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[index], sizes[index + 1]))
        if index < len(sizes) - 2:
            layers.append(_activation(params.activation, params.negative_slope))
    model = nn.Sequential(*layers)
    if params.init == "dead":
        inputs = torch.cat([batch.inputs for batch in env.split("train")]).cpu()
        model = model.to(inputs.dtype)
        dead_init_(model, inputs, params.margin)
    return model


class TwoUnitReLU(nn.Module):
    r"""One hidden layer for 1-d regression: :math:`f(x) = \sum_j a_j\,\sigma(w_j x + b_j) + c`.

    With :math:`w = (1, 0.5)`, :math:`b = (0, -0.2)`, :math:`a = (0.5, 0.5)`, :math:`c = 0`
    (``init = "blind-spot"``) both units are inactive for :math:`x < 0`: on the data
    :math:`\{-2, -1, 1, 2\}`, :math:`y = |x|`, gradient descent can fit the positive points
    and move :math:`c` but never turns a unit towards the negative side, and stops at the
    local minimum MSE :math:`= 0.125` (:math:`c = 1.5` on the negative side, error
    :math:`\pm 0.5` on two of four points) although :math:`f(x) = |x|` (MSE 0) is
    representable (Swirszcz et al., 2016, §3.2).

    Shapes:
        input ``(B, D)``, output ``(B, C)``.

    Example:
        >>> net = TwoUnitReLU(1, 1, 2, init="blind-spot")
        >>> out = net(torch.tensor([[-2.0], [-1.0], [1.0], [2.0]])).squeeze(1)
        >>> [round(v, 4) for v in out.tolist()]
        [0.0, 0.0, 0.65, 1.4]
    """

    def __init__(self, in_features: int, out_features: int, hidden: int = 2, *,
                 init: str = "blind-spot", activation: str = "relu",
                 negative_slope: float = 0.01) -> None:
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.activation = _activation(activation, negative_slope)
        self.output = nn.Linear(hidden, out_features)
        with torch.no_grad():
            if init == "blind-spot":
                if (in_features, out_features, hidden) != (1, 1, 2):
                    raise ValueError("init = 'blind-spot' is the 1-2-1 network of the paper")
                self.hidden.weight.copy_(torch.tensor([[1.0], [0.5]]))
                self.hidden.bias.copy_(torch.tensor([0.0, -0.2]))
                self.output.weight.copy_(torch.tensor([[0.5, 0.5]]))
                self.output.bias.zero_()
            elif init == "random":
                # The paper's restart distribution; draws from the run-seeded global generator.
                self.hidden.weight.normal_(0.0, 1.0)
                self.hidden.bias.normal_(0.0, 0.1)
                self.output.weight.normal_(0.0, 1.0)
                self.output.bias.zero_()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.output(self.activation(self.hidden(inputs)))


def build_two_unit_relu(params: TwoUnitReLUParams, *, env: Environment) -> TwoUnitReLU:
    """Build the model of ``use = "two-unit-relu"``."""
    return TwoUnitReLU(env.info.in_features, env.info.out_features, params.hidden,
                       init=params.init, activation=params.activation,
                       negative_slope=params.negative_slope)
