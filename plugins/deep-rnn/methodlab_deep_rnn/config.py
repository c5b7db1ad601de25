"""Parameters of the deep-RNN models and the clipped optimizer (imports attrs only).

Every model has a size given either directly (``hidden``) or as a parameter budget
(``param_budget``), so that run files compare the variants at matched parameter counts.
"""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "ACTIVATIONS",
    "ClippedAdamParams",
    "DOTSParams",
    "DTParams",
    "ParameterCountParams",
    "ShallowParams",
    "StackedParams",
]

ACTIVATIONS = ("tanh", "relu", "sigmoid")
"""Non-linearities φ the models accept (the paper's transition units are tanh)."""


@attrs.frozen
class ShallowParams:
    """The ``[model]`` table of ``use = "shallow-rnn"``: h_t = φ(W h_{t−1} + U x_t + b)."""

    hidden: int = attrs.field(default=64, validator=v.gt(0))
    """Hidden units n_h; ignored when ``param_budget`` is positive."""
    param_budget: int = attrs.field(default=0, validator=v.ge(0))
    """Target number of trainable parameters (0: use ``hidden``). When positive, n_h is the
    width whose parameter count is closest to it (see ``sizing.hidden_for_budget``)."""
    activation: str = attrs.field(default="tanh", validator=v.in_(ACTIVATIONS))
    """Hidden non-linearity φ: tanh, relu or sigmoid."""


@attrs.frozen
class DTParams(ShallowParams):
    """The ``[model]`` table of ``use = "dt-rnn"`` and ``use = "dts-rnn"``."""

    transition_layers: int = attrs.field(default=1, validator=v.ge(1))
    """Intermediate layers of the transition MLP between h_{t−1} and h_t (the paper's L − 1)."""


@attrs.frozen
class DOTSParams(DTParams):
    """The ``[model]`` table of ``use = "dots-rnn"``."""

    output_layers: int = attrs.field(default=1, validator=v.ge(1))
    """Intermediate layers of the output MLP between h_t and the logits."""


@attrs.frozen
class StackedParams(ShallowParams):
    """The ``[model]`` table of ``use = "stacked-rnn"``."""

    layers: int = attrs.field(default=2, validator=v.ge(2))
    """Recurrent layers in the stack (each n_h wide)."""


@attrs.frozen
class ClippedAdamParams:
    """The ``[optimizer]`` table of ``use = "clipped-adam"``."""

    lr: float = attrs.field(default=2e-3, validator=v.gt(0.0))
    """Adam step size α."""
    betas: tuple[float, float] = (0.9, 0.999)
    """Adam's decay rates (β₁, β₂) of the first and second moment estimates."""
    eps: float = attrs.field(default=1e-8, validator=v.gt(0.0))
    """Adam's ε added to the root of the second moment."""
    max_norm: float = attrs.field(default=1.0, validator=v.gt(0.0))
    """Gradient clipping threshold: g ← g · min(1, max_norm / ‖g‖₂) over all parameters
    (Pascanu, Mikolov & Bengio, 2013)."""


@attrs.frozen
class ParameterCountParams:
    """The table of the ``parameter-count`` evaluator (no parameters)."""
