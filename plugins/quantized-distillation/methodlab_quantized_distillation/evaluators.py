"""Evaluators: accuracy after post-training quantisation, and the size of a quantised model.

Size accounting (Polino et al., 2018, §2.1 and their Huffman coding): a tensor of ``n``
entries in ``K = ceil(n / d)`` buckets with ``s`` points costs

- fixed-length codes: ``n ceil(log2 s)`` bits for the point indices;
- Huffman codes: the optimal prefix code of that tensor's index frequencies;

plus ``2 K`` 32-bit floats for the buckets' ``β`` and ``α``, and for learned points ``s``
32-bit floats per tensor. Bits per weight divide the total by the number of entries;
a full-precision model has 32.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs
import torch
from methodlab.components import Environment, Evaluator, Loss
from torch import nn

from methodlab_quantized_distillation.models import QuantizedModel
from methodlab_quantized_distillation.quantization import Quantized, huffman_bits, quantize

if TYPE_CHECKING:
    from methodlab_quantized_distillation.config import (
        CompressedSizeParams,
        PostTrainingQuantizationParams,
    )

__all__ = [
    "CompressedSize",
    "PostTrainingQuantization",
    "Size",
    "accuracy",
    "quantized_size",
]

FLOAT_BITS = 32


@attrs.frozen
class Size:
    """Storage of a model's parameters, in bits."""

    entries: int
    fixed_bits: int
    huffman_bits: int

    def metrics(self) -> dict[str, float]:
        """``bits_per_weight``, ``huffman_bits_per_weight`` and both sizes in kilobytes."""
        return {
            "bits_per_weight": self.fixed_bits / self.entries,
            "huffman_bits_per_weight": self.huffman_bits / self.entries,
            "size_kb": self.fixed_bits / 8 / 1000,
            "huffman_size_kb": self.huffman_bits / 8 / 1000,
        }


def quantized_size(tensors: Iterable[Quantized], levels: int, learned_points: bool) -> Size:
    """Bits to store quantised tensors with ``levels`` points each (see the module docstring).

    Example:
        >>> q = quantize(torch.tensor([0.0, 0.0, 0.0, 1.0]), bucket_size=4, levels=2)
        >>> quantized_size([q], levels=2, learned_points=False)
        Size(entries=4, fixed_bits=68, huffman_bits=68)
    """
    entries = fixed = huffman = 0
    for tensor in tensors:
        n = tensor.indices.numel()
        overhead = 2 * FLOAT_BITS * tensor.minimum.numel()
        if learned_points:
            overhead += levels * FLOAT_BITS
        entries += n
        fixed += n * math.ceil(math.log2(levels)) + overhead
        huffman += huffman_bits(tensor.indices) + overhead
    return Size(entries, fixed, huffman)


def full_precision_size(model: nn.Module) -> Size:
    """32 bits per parameter."""
    entries = sum(p.numel() for p in model.parameters())
    return Size(entries, FLOAT_BITS * entries, FLOAT_BITS * entries)


@torch.no_grad()
def accuracy(model: nn.Module, env: Environment, split: str) -> float:
    """Fraction of examples of ``split`` whose arg-max output is the target class."""
    correct = count = 0
    for batch in env.split(split):
        correct += int((model(batch.inputs).argmax(-1) == batch.targets).sum())
        count += len(batch.targets)
    return correct / count


def _network(model: nn.Module) -> nn.Module:
    if isinstance(model, QuantizedModel):
        if model.is_quantized:
            raise ValueError("post-training quantisation needs a full-precision model; this "
                             "one is already quantised (use 'compressed-size' instead)")
        return model.net
    return model


class PostTrainingQuantization(Evaluator):
    """Quantise a copy of a trained full-precision model and evaluate it.

    Every parameter tensor is quantised bucket by bucket to ``s = 2**bits`` uniform levels with
    deterministic rounding (the paper's "post-mortem" baseline). Metrics: ``accuracy`` and
    ``error`` on ``split`` and the copy's size (see :class:`Size`). The model itself is not
    changed.
    """

    def __init__(self, bits: int, bucket_size: int, split: str) -> None:
        self.bits = bits
        self.bucket_size = bucket_size
        self.split = split

    @torch.no_grad()
    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        network = copy.deepcopy(_network(model))
        levels = 2**self.bits
        quantized = []
        for parameter in network.parameters():
            q = quantize(parameter, self.bucket_size, levels=levels)
            parameter.copy_(q.values)
            quantized.append(q)
        value = accuracy(network, env, self.split)
        return {"accuracy": value, "error": 1.0 - value,
                **quantized_size(quantized, levels, learned_points=False).metrics()}


class CompressedSize(Evaluator):
    """Size of the deployed model: quantised if it is a quantised model, else 32 bits/weight."""

    @torch.no_grad()
    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        if isinstance(model, QuantizedModel) and model.is_quantized:
            size = quantized_size(model.quantized().values(), model.levels,
                                  learned_points=model.quantizer == "learned")
        else:
            size = full_precision_size(_network(model))
        return size.metrics()


def build_post_training_quantization(
    params: PostTrainingQuantizationParams, *, env: Environment
) -> PostTrainingQuantization:
    return PostTrainingQuantization(params.bits, params.bucket_size, params.split)


def build_compressed_size(params: CompressedSizeParams, *, env: Environment) -> CompressedSize:
    return CompressedSize()
