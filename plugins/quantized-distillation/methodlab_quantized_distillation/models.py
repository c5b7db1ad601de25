"""A model whose forward pass uses quantised weights while it keeps full-precision ones.

Quantised training (Polino et al., 2018, Algorithm 1) keeps full-precision "shadow" weights
``w``. Every step sets the weights to ``Q(w)``, computes the loss and its gradient at
``Q(w)``, restores ``w`` and applies that gradient to ``w``. The straight-through form

.. math::

    \\hat w = w + \\operatorname{sg}(Q(w) - w)

(``sg`` stops the gradient) computes exactly this in one forward pass: the forward value is
``Q(w)`` and ``∂L/∂w = ∂L/∂Q(w)``. Any optimizer then updates the shadow weights, so
quantised distillation is this model plus the distillation loss plus SGD.

Differentiable quantisation (§2.2) instead learns the points: ``q_i = α_b p_{j(i)} + β_b``
with ``j(i)`` the nearest point, so ``∂L/∂p_j = Σ_{i→j} α_b ∂L/∂q_i``. Its points stay
inactive (the model is full precision) until :meth:`QuantizedModel.activate_points`, which
the ``differentiable-quantization`` optimizer calls once the weights are trained.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
from methodlab.builtins.models import feedforward
from torch import nn
from torch.func import functional_call

from methodlab_quantized_distillation.quantization import (
    Quantized,
    quantile_points,
    quantize,
    uniform_points,
)

if TYPE_CHECKING:
    from methodlab.components import Environment

    from methodlab_quantized_distillation.config import QuantizedMLPParams

__all__ = ["QUANTIZERS", "QuantizedModel", "build_quantized_mlp"]

QUANTIZERS = ("none", "uniform", "learned")


class QuantizedModel(nn.Module):
    """Wraps ``net`` so its forward pass runs on bucketed, quantised parameters.

    References:
        Model compression via distillation and quantization (Polino et al., 2018),
        https://arxiv.org/abs/1802.05668

    Arguments:
        net: the full-precision network; its parameters are the shadow weights.
        bits: ``s = 2**bits`` points per quantised tensor.
        bucket_size: ``d``, entries per bucket (each bucket has its own ``α`` and ``β``).
        quantizer: ``none`` (full precision), ``uniform`` (``s`` uniform levels, straight-
            through gradients to the shadow weights) or ``learned`` (non-uniform points,
            one vector of ``s`` points per parameter tensor, trained by gradient).
        stochastic: stochastic rounding in training mode (evaluation always rounds to the
            nearest point, the deployed model).
        point_init: ``quantile`` or ``uniform`` initial points for ``learned``.

    Shapes:
        as ``net``.

    Example:
        >>> model = QuantizedModel(nn.Linear(8, 2), bits=1, bucket_size=4, quantizer="uniform")
        >>> weight = model.quantized_parameters()["weight"]  # (2, 8): four buckets of 4
        >>> [len(set(bucket.tolist())) for bucket in weight.reshape(4, 4)]
        [2, 2, 2, 2]
        >>> model(torch.ones(3, 8)).shape
        torch.Size([3, 2])

    .. note::
        Every parameter tensor of ``net`` (biases too) is quantised; the paper's code can keep
        the first and last layers at full precision, which here would be most of a 64-64-10
        student.
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        bits: int,
        bucket_size: int,
        quantizer: str = "uniform",
        stochastic: bool = False,
        point_init: str = "quantile",
    ) -> None:
        super().__init__()
        if quantizer not in QUANTIZERS:
            raise ValueError(f"quantizer must be one of {QUANTIZERS}, got {quantizer!r}")
        if point_init not in ("quantile", "uniform"):
            raise ValueError(f"point_init must be 'quantile' or 'uniform', got {point_init!r}")
        if bits < 1:
            raise ValueError(f"bits must be >= 1, got {bits}")
        self.net = net
        self.bits = bits
        self.levels = 2**bits
        self.bucket_size = bucket_size
        self.quantizer = quantizer
        self.stochastic = stochastic
        self.point_init = point_init
        self.points = nn.ParameterList()
        if quantizer == "learned":
            dtype = next(net.parameters()).dtype
            for _ in net.parameters():
                # Inactive points take no part in the forward pass, so they need no gradient.
                self.points.append(nn.Parameter(uniform_points(self.levels, dtype),
                                                requires_grad=False))
        self.register_buffer("active", torch.tensor(quantizer == "uniform"))
        self.register_load_state_dict_post_hook(_sync_requires_grad)

    def extra_repr(self) -> str:
        return (f"quantizer={self.quantizer}, bits={self.bits}, bucket_size={self.bucket_size}, "
                f"stochastic={self.stochastic}")

    @property
    def is_quantized(self) -> bool:
        """Whether the forward pass uses quantised weights."""
        return bool(self.active)

    def shadow_parameters(self) -> Iterator[nn.Parameter]:
        """The full-precision weights ``w`` (the parameters of ``net``)."""
        return self.net.parameters()

    @torch.no_grad()
    def activate_points(self) -> None:
        """Initialise the learned points from the current weights and switch them on."""
        if self.quantizer != "learned":
            raise ValueError(f"activate_points needs quantizer = 'learned', not {self.quantizer!r}")
        for point, weight in zip(self.points, self.net.parameters(), strict=True):
            if self.point_init == "quantile":
                point.copy_(quantile_points(weight, self.levels, self.bucket_size))
            else:
                point.copy_(uniform_points(self.levels, point.dtype))
            point.requires_grad_(True)
        self.active.fill_(True)

    def _quantize(self, index: int, weight: torch.Tensor) -> Quantized:
        stochastic = self.stochastic and self.training
        if self.quantizer == "learned":
            return quantize(weight, self.bucket_size, points=self.points[index],
                            stochastic=stochastic)
        return quantize(weight, self.bucket_size, levels=self.levels, stochastic=stochastic)

    def quantized(self) -> dict[str, Quantized]:
        """Every parameter of ``net`` quantised as the forward pass (in this mode) sees it."""
        if not self.is_quantized:
            raise ValueError("the model is at full precision (no active quantiser)")
        return {name: self._quantize(i, weight)
                for i, (name, weight) in enumerate(self.net.named_parameters())}

    @torch.no_grad()
    def quantized_parameters(self) -> dict[str, torch.Tensor]:
        """The deployed weights ``Q(w)``, name by name (``net``'s names)."""
        return {name: q.values.detach().clone() for name, q in self.quantized().items()}

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self.is_quantized:
            return self.net(inputs)
        weights = {}
        for index, (name, weight) in enumerate(self.net.named_parameters()):
            values = self._quantize(index, weight).values
            if self.quantizer == "learned":
                # Values carry the gradient to the points; w receives it straight through.
                weights[name] = values + (weight - weight.detach())
            else:
                weights[name] = weight + (values - weight).detach()
        return functional_call(self.net, weights, (inputs,))


def _sync_requires_grad(module: nn.Module, _incompatible: object) -> None:
    # requires_grad is not part of a state dict: derive it from the restored 'active' flag.
    if isinstance(module, QuantizedModel) and module.quantizer == "learned":
        for point in module.points:
            point.requires_grad_(bool(module.active))


def build_quantized_mlp(params: QuantizedMLPParams, *, env: Environment) -> QuantizedModel:
    """Factory of the ``quantized-mlp`` model (see :class:`~.config.QuantizedMLPParams`)."""
    sizes = (env.info.in_features, *params.hidden, env.info.out_features)
    net = feedforward(sizes, params.activation)
    return QuantizedModel(net, bits=params.bits, bucket_size=params.bucket_size,
                          quantizer=params.quantizer, stochastic=params.rounding == "stochastic",
                          point_init=params.point_init)
