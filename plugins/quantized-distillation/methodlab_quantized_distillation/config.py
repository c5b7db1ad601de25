"""Parameters of the quantised-distillation components (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "CompressedSizeParams",
    "DifferentiableQuantizationParams",
    "DistillationParams",
    "PostTrainingQuantizationParams",
    "QuantizedMLPParams",
]

_ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky-relu", "identity")


def _positive_widths(_instance: object, _attribute: attrs.Attribute, value: tuple) -> None:
    if any(width < 1 for width in value):
        raise ValueError(f"hidden widths must be >= 1, got {list(value)}")


@attrs.frozen
class QuantizedMLPParams:
    """The ``[model]`` table of ``use = "quantized-mlp"`` (Polino et al., 2018)."""

    hidden: tuple[int, ...] = attrs.field(default=(64,), converter=tuple,
                                          validator=_positive_widths)
    """Hidden widths; input and output sizes come from the environment (64-64-10 on digits)."""
    activation: str = attrs.field(default="relu", validator=v.in_(_ACTIVATIONS))
    """Non-linearity between the linear layers."""
    quantizer: str = attrs.field(default="uniform",
                                 validator=v.in_(("none", "uniform", "learned")))
    """``none`` (full precision), ``uniform`` (quantised training: forward with Q(w), straight-
    through gradient to the full-precision w) or ``learned`` (differentiable quantisation:
    learned points, switched on by the ``differentiable-quantization`` optimizer)."""
    bits: int = attrs.field(default=2, validator=[v.ge(1), v.le(16)])
    """Bits b per weight; s = 2^b quantisation points."""
    bucket_size: int = attrs.field(default=64, validator=v.ge(1))
    """Bucket size d: consecutive entries of a flattened tensor sharing one scaling α, β."""
    rounding: str = attrs.field(default="deterministic",
                                validator=v.in_(("deterministic", "stochastic")))
    """Rounding in training mode: to the nearest point, or unbiased stochastic rounding.
    Evaluation always rounds to the nearest point."""
    point_init: str = attrs.field(default="quantile", validator=v.in_(("quantile", "uniform")))
    """Initial learned points: quantiles of the scaled weights, or uniform k/(s − 1)."""


@attrs.frozen
class DistillationParams:
    """The ``[loss]`` table of ``use = "distillation"`` (Hinton et al., 2015)."""

    temperature: float = attrs.field(default=2.0, validator=v.gt(0.0))
    """Softmax temperature T of teacher and student logits (2 in the paper's code)."""
    soft_weight: float = attrs.field(default=0.7, validator=[v.ge(0.0), v.le(1.0)])
    """Weight λ of the soft-target term λT²·KL; the hard labels get 1 − λ (paper: 0.7)."""
    teacher: str = "teacher"
    """Name of the run file's ``[inputs.<name>]`` entry whose model is the teacher."""


@attrs.frozen
class DifferentiableQuantizationParams:
    """The ``[optimizer]`` table of ``use = "differentiable-quantization"``."""

    lr: float = attrs.field(default=0.1, validator=v.gt(0.0))
    """SGD step size on the full-precision weights (first phase)."""
    momentum: float = attrs.field(default=0.9, validator=[v.ge(0.0), v.lt(1.0)])
    """SGD momentum on the weights."""
    nesterov: bool = attrs.field(default=True)
    """Nesterov momentum on the weights (needs momentum > 0)."""
    weight_decay: float = attrs.field(default=0.0, validator=v.ge(0.0))
    """L2 penalty on the weights."""
    points_lr: float = attrs.field(default=1e-3, validator=v.gt(0.0))
    """SGD step size on the quantisation points (second phase; scaled space [0, 1])."""
    points_momentum: float = attrs.field(default=0.9, validator=[v.ge(0.0), v.lt(1.0)])
    """SGD momentum on the points."""
    switch_step: int = attrs.field(default=0, validator=v.ge(0))
    """Updates t_s of the weights before the points are initialised and learned."""

    @nesterov.validator
    def _nesterov_needs_momentum(self, _attribute: attrs.Attribute, value: bool) -> None:
        if value and self.momentum == 0.0:
            raise ValueError("nesterov = true needs momentum > 0")


@attrs.frozen
class PostTrainingQuantizationParams:
    """The ``[evaluators.<key>]`` table of ``use = "post-training-quantization"``."""

    bits: int = attrs.field(default=2, validator=[v.ge(1), v.le(16)])
    """Bits b per weight; s = 2^b uniform levels per bucket."""
    bucket_size: int = attrs.field(default=64, validator=v.ge(1))
    """Bucket size d."""
    split: str = "test"
    """Split whose accuracy is reported."""


@attrs.frozen
class CompressedSizeParams:
    """The ``[evaluators.<key>]`` table of ``use = "compressed-size"`` (no parameters)."""
