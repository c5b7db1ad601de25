"""Deep recurrent networks of Pascanu, Gulcehre, Cho & Bengio (2014), *How to Construct Deep
Recurrent Neural Networks* (https://arxiv.org/abs/1312.6026).

A recurrent network has three functions that can each be made deep: input-to-hidden, the
hidden-to-hidden transition and hidden-to-output. With φ an element-wise non-linearity,
``U`` input maps (an embedding row for a token, a linear map for a piano-roll frame),
``W`` hidden maps and ``V`` output maps:

- shallow RNN:  h_t = φ(W h_{t−1} + U x_t + b),  y_t = V h_t + c
- DT-RNN:       z¹ = φ(W₁ h_{t−1} + U x_t + b₁),  zˡ = φ(W_l zˡ⁻¹ + b_l),
                h_t = φ(W_L z^{L−1} + b_L)  (the transition is an MLP)
- DT(S)-RNN:    as DT, plus shortcuts past the intermediate layers:
                h_t = φ(W_L z^{L−1} + W̄ h_{t−1} + Ū x_t + b_L)
- DOT(S)-RNN:   the DT(S) transition and a deep output, y_t = V_K φ(… φ(V_1 h_t + c_1) …) + c_K
- stacked RNN:  hˡ_t = φ(Wˡ hˡ_{t−1} + Aˡ hˡ⁻¹_t + Uˡ x_t + bˡ) for l = 1..L, with
                shortcuts from the input to every layer and from every layer to the output,
                y_t = Σ_l Vˡ hˡ_t + c

All intermediate layers are ``n_h`` wide. The output y_t holds logits for the *next* step:
the next character (softmax over the vocabulary) or the next piano-roll frame (independent
Bernoulli per pitch). h_0 = 0.

Shapes (for every model here):
    input ``(B, T)`` token indices (``torch.long``) or ``(B, T, D)`` frames;
    output ``(B, T, C)`` logits, where ``y[:, t]`` predicts step ``t + 1``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from methodlab.components import Environment
from torch import nn

from methodlab_deep_rnn.config import DOTSParams, DTParams, ShallowParams, StackedParams
from methodlab_deep_rnn.sizing import hidden_for_budget

__all__ = [
    "DOTSRNN",
    "DTRNN",
    "RecurrentNet",
    "ShallowRNN",
    "StackedRNN",
    "build_dots",
    "build_dt",
    "build_dts",
    "build_shallow",
    "build_stacked",
]

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
}

TOKEN_TASKS = ("characters",)
"""``EnvInfo.task`` values whose inputs are token indices rather than real-valued frames."""


def _weight(fan_in: int, fan_out: int) -> nn.Parameter:
    """A ``(fan_in, fan_out)`` matrix initialised like ``nn.Linear`` (U(±1/√fan_in)).

    Stored input-major so that one ``addmm`` per time step computes ``pre + h @ W``.
    """
    bound = fan_in ** -0.5
    return nn.Parameter(torch.empty(fan_in, fan_out).uniform_(-bound, bound))


class RecurrentNet(nn.Module):
    """The time loop shared by every variant; subclasses define ``step`` and ``readout``.

    The input-to-hidden maps need no state, so ``encode`` applies all of them (and the biases
    they feed) to the whole sequence at once; the loop only applies the hidden maps. Each time
    step costs a handful of fused ``addmm`` + non-linearity calls, which on a CPU is what
    bounds the speed of these small models.

    Arguments:
        in_features: vocabulary size V (tokens) or frame width D.
        out_features: number of logits C per step.
        hidden: hidden width n_h.
        tokens: whether inputs are token indices (an embedding row stands for U times a one-hot).
        activation: ``tanh``, ``relu`` or ``sigmoid``.
        inputs_per_step: how many ``n_h``-wide input maps the variant needs.
        drive_parts: into how many equal parts ``step`` receives the input pre-activations.
    """

    def __init__(self, in_features: int, out_features: int, hidden: int, *, tokens: bool,
                 activation: str, inputs_per_step: int, drive_parts: int = 1) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation {activation!r} is not one of {sorted(_ACTIVATIONS)}")
        self.in_features, self.out_features, self.hidden = in_features, out_features, hidden
        self.tokens, self.activation = tokens, activation
        self.drive_parts = drive_parts
        self.phi = _ACTIVATIONS[activation]
        width = inputs_per_step * hidden
        self.encode: nn.Module = (nn.Embedding(in_features, width) if tokens
                                  else nn.Linear(in_features, width, bias=False))
        bound = hidden ** -0.5
        self.bias = nn.Parameter(torch.empty(width).uniform_(-bound, bound))

    def initial_state(self, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """h_0 = 0, as a tuple of ``(B, n_h)`` tensors (one per recurrent layer)."""
        return (like.new_zeros(batch, self.hidden),)

    def step(self, drives: tuple[torch.Tensor, ...],
             state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """h_t from this step's ``drive_parts`` input pre-activations and h_{t−1}."""
        raise NotImplementedError

    def readout(self, states: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, T, C)`` from the hidden states ``(B, T, layers · n_h)``."""
        raise NotImplementedError

    def _check(self, inputs: torch.Tensor) -> None:
        if self.tokens:
            if inputs.dtype != torch.long or inputs.dim() != 2:
                raise ValueError(f"{type(self).__name__} was built for token inputs and needs a "
                                 f"(B, T) torch.long tensor, got {inputs.dtype} of shape "
                                 f"{tuple(inputs.shape)}")
        elif not inputs.is_floating_point() or inputs.dim() != 3 \
                or inputs.shape[-1] != self.in_features:
            raise ValueError(f"{type(self).__name__} was built for frames and needs a floating "
                             f"(B, T, {self.in_features}) tensor, got {inputs.dtype} of shape "
                             f"{tuple(inputs.shape)}")

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        self._check(inputs)
        drive = self.encode(inputs) + self.bias  # (B, T, k n_h)
        per_step = zip(*(part.unbind(1) for part in drive.chunk(self.drive_parts, dim=-1)),
                       strict=True)  # T tuples of drive_parts (B, k n_h / drive_parts)
        state = self.initial_state(drive.shape[0], drive)
        history = []
        for drives in per_step:
            state = self.step(drives, state)
            history.append(state)
        layers = [torch.stack(layer, dim=1) for layer in zip(*history, strict=True)]
        return self.readout(torch.cat(layers, dim=-1) if len(layers) > 1 else layers[0])

    def extra_repr(self) -> str:
        count = sum(p.numel() for p in self.parameters())
        kind = "tokens" if self.tokens else "frames"
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"hidden={self.hidden}, inputs={kind}, activation={self.activation}, "
                f"parameters={count}")


class ShallowRNN(RecurrentNet):
    """The plain RNN: :math:`h_t = \\phi(W h_{t-1} + U x_t + b)`, :math:`y_t = V h_t + c`.

    References:
        How to Construct Deep Recurrent Neural Networks (Pascanu et al., 2014),
        https://arxiv.org/abs/1312.6026, eq. (1)-(2).

    Shapes:
        input ``(B, T)`` tokens or ``(B, T, D)`` frames; output ``(B, T, C)`` logits.

    Example:
        >>> model = ShallowRNN(5, 5, hidden=3, tokens=True)
        >>> model(torch.zeros(2, 7, dtype=torch.long)).shape
        torch.Size([2, 7, 5])
        >>> sum(p.numel() for p in model.parameters())  # U 5·3 + b 3, W 3·3, V 3·5 + c 5
        47
    """

    def __init__(self, in_features: int, out_features: int, hidden: int, *,
                 tokens: bool = False, activation: str = "tanh") -> None:
        super().__init__(in_features, out_features, hidden, tokens=tokens,
                         activation=activation, inputs_per_step=1)
        self.recurrent = _weight(hidden, hidden)
        self.output = nn.Linear(hidden, out_features)

    def step(self, drives: tuple[torch.Tensor, ...],
             state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        return (self.phi(torch.addmm(drives[0], state[0], self.recurrent)),)

    def readout(self, states: torch.Tensor) -> torch.Tensor:
        return self.output(states)


class DTRNN(RecurrentNet):
    """Deep transition RNN, DT-RNN, or with ``shortcut=True`` DT(S)-RNN.

    .. math::
        z^1 = \\phi(W_1 h_{t-1} + U x_t + b_1), \\quad
        z^l = \\phi(W_l z^{l-1} + b_l), \\quad
        h_t = \\phi(W_L z^{L-1} + b_L + [\\bar W h_{t-1} + \\bar U x_t]_{\\text{shortcut}})

    with ``transition_layers`` = L − 1 intermediate layers; the read-out is linear.

    References:
        How to Construct Deep Recurrent Neural Networks (Pascanu et al., 2014),
        https://arxiv.org/abs/1312.6026, Sec. 3.2.1 and Fig. 2 (b), (b*).

    Shapes:
        input ``(B, T)`` tokens or ``(B, T, D)`` frames; output ``(B, T, C)`` logits.

    Example:
        >>> model = DTRNN(4, 4, hidden=3, shortcut=True)
        >>> model(torch.rand(2, 5, 4)).shape
        torch.Size([2, 5, 4])

    .. note:: The shortcut enters the top layer of the transition, not every layer.
    """

    def __init__(self, in_features: int, out_features: int, hidden: int, *,
                 tokens: bool = False, activation: str = "tanh", transition_layers: int = 1,
                 shortcut: bool = False) -> None:
        # Input pre-activations: U x_t + b_1, then b_L (plus Ū x_t with the shortcut).
        super().__init__(in_features, out_features, hidden, tokens=tokens,
                         activation=activation, inputs_per_step=2 if shortcut else 1)
        self.shortcut = shortcut
        # [W_1, W̄] side by side, so one addmm on h_{t-1} feeds both paths.
        self.enter = _weight(hidden, 2 * hidden if shortcut else hidden)
        self.layers = nn.ParameterList(_weight(hidden, hidden) for _ in range(transition_layers))
        bound = hidden ** -0.5
        # b_2 .. b_{L-1}, and b_L unless the shortcut's input pre-activation carries it.
        count = transition_layers - 1 if shortcut else transition_layers
        self.layer_bias = nn.ParameterList(
            nn.Parameter(torch.empty(hidden).uniform_(-bound, bound)) for _ in range(count))
        self.output = nn.Linear(hidden, out_features)

    def step(self, drives: tuple[torch.Tensor, ...],
             state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        entered = torch.addmm(drives[0], state[0], self.enter)  # (B, n_h) or (B, 2 n_h)
        first, top_input = entered.chunk(2, dim=-1) if self.shortcut else (entered, None)
        z = self.phi(first)
        for index, weight in enumerate(self.layers):
            bias = self.layer_bias[index] if index < len(self.layer_bias) else top_input
            z = self.phi(torch.addmm(bias, z, weight))
        return (z,)

    def readout(self, states: torch.Tensor) -> torch.Tensor:
        return self.output(states)

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, transition_layers={len(self.layers)}, "
                f"shortcut={self.shortcut}")


class DOTSRNN(DTRNN):
    """DOT(S)-RNN: the DT(S) transition and a deep output MLP.

    .. math::
        y_t = V_K \\phi(\\cdots \\phi(V_1 h_t + c_1) \\cdots) + c_K

    with ``output_layers`` = K − 1 intermediate layers of width n_h.

    References:
        How to Construct Deep Recurrent Neural Networks (Pascanu et al., 2014),
        https://arxiv.org/abs/1312.6026, Sec. 3.2.2 and Fig. 2 (d).

    Shapes:
        input ``(B, T)`` tokens or ``(B, T, D)`` frames; output ``(B, T, C)`` logits.

    Example:
        >>> model = DOTSRNN(6, 6, hidden=4, tokens=True, output_layers=2)
        >>> model(torch.ones(3, 2, dtype=torch.long)).shape
        torch.Size([3, 2, 6])
    """

    def __init__(self, in_features: int, out_features: int, hidden: int, *,
                 tokens: bool = False, activation: str = "tanh", transition_layers: int = 1,
                 output_layers: int = 1) -> None:
        super().__init__(in_features, out_features, hidden, tokens=tokens,
                         activation=activation, transition_layers=transition_layers,
                         shortcut=True)
        self.deep_output = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(output_layers))

    def readout(self, states: torch.Tensor) -> torch.Tensor:
        for layer in self.deep_output:
            states = self.phi(layer(states))
        return self.output(states)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, output_layers={len(self.deep_output)}"


class StackedRNN(RecurrentNet):
    """Stacked RNN (sRNN) with shortcuts from the input to every layer and every layer to the
    output.

    .. math::
        h^l_t = \\phi(W^l h^l_{t-1} + A^l h^{l-1}_t + U^l x_t + b^l), \\quad
        y_t = \\sum_l V^l h^l_t + c

    (no :math:`A^1`). The read-out sees the concatenated states of all ``layers`` layers.

    References:
        How to Construct Deep Recurrent Neural Networks (Pascanu et al., 2014),
        https://arxiv.org/abs/1312.6026, Sec. 3.3 and Fig. 2 (e);
        Generating Sequences With Recurrent Neural Networks (Graves, 2013),
        https://arxiv.org/abs/1308.0850 (the shortcut connections).

    Shapes:
        input ``(B, T)`` tokens or ``(B, T, D)`` frames; output ``(B, T, C)`` logits.

    Example:
        >>> model = StackedRNN(4, 2, hidden=3, layers=3)
        >>> model(torch.rand(2, 5, 4)).shape
        torch.Size([2, 5, 2])
    """

    def __init__(self, in_features: int, out_features: int, hidden: int, *,
                 tokens: bool = False, activation: str = "tanh", layers: int = 2) -> None:
        super().__init__(in_features, out_features, hidden, tokens=tokens,
                         activation=activation, inputs_per_step=layers, drive_parts=layers)
        self.recurrent = nn.ParameterList(_weight(hidden, hidden) for _ in range(layers))
        self.upward = nn.ParameterList(_weight(hidden, hidden) for _ in range(layers - 1))
        self.output = nn.Linear(layers * hidden, out_features)

    def initial_state(self, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(like.new_zeros(batch, self.hidden) for _ in self.recurrent)

    def step(self, drives: tuple[torch.Tensor, ...],
             state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        new: list[torch.Tensor] = []
        for index, (u_x, h, recurrent) in enumerate(zip(drives, state, self.recurrent,
                                                         strict=True)):
            pre = torch.addmm(u_x, h, recurrent)
            if index:
                pre = torch.addmm(pre, new[-1], self.upward[index - 1])
            new.append(self.phi(pre))
        return tuple(new)

    def readout(self, states: torch.Tensor) -> torch.Tensor:
        return self.output(states)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, layers={len(self.recurrent)}"


# -- factories ------------------------------------------------------------------------------


def _sized(make: Callable[[int], RecurrentNet], params: ShallowParams) -> RecurrentNet:
    hidden = (hidden_for_budget(make, params.param_budget) if params.param_budget
              else params.hidden)
    return make(hidden)


def _io(env: Environment) -> tuple[int, int, bool]:
    info = env.info
    return info.in_features, info.out_features, info.task in TOKEN_TASKS


def build_shallow(params: ShallowParams, *, env: Environment) -> RecurrentNet:
    n_in, n_out, tokens = _io(env)
    return _sized(lambda n: ShallowRNN(n_in, n_out, n, tokens=tokens,
                                       activation=params.activation), params)


def build_dt(params: DTParams, *, env: Environment) -> RecurrentNet:
    n_in, n_out, tokens = _io(env)
    return _sized(lambda n: DTRNN(n_in, n_out, n, tokens=tokens, activation=params.activation,
                                  transition_layers=params.transition_layers), params)


def build_dts(params: DTParams, *, env: Environment) -> RecurrentNet:
    n_in, n_out, tokens = _io(env)
    return _sized(lambda n: DTRNN(n_in, n_out, n, tokens=tokens, activation=params.activation,
                                  transition_layers=params.transition_layers, shortcut=True),
                  params)


def build_dots(params: DOTSParams, *, env: Environment) -> RecurrentNet:
    n_in, n_out, tokens = _io(env)
    return _sized(lambda n: DOTSRNN(n_in, n_out, n, tokens=tokens,
                                    activation=params.activation,
                                    transition_layers=params.transition_layers,
                                    output_layers=params.output_layers), params)


def build_stacked(params: StackedParams, *, env: Environment) -> RecurrentNet:
    n_in, n_out, tokens = _io(env)
    return _sized(lambda n: StackedRNN(n_in, n_out, n, tokens=tokens,
                                       activation=params.activation, layers=params.layers),
                  params)
