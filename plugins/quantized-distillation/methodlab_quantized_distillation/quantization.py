"""Bucketed uniform and non-uniform quantisation with deterministic or stochastic rounding.

Polino, Pascanu & Alistarh (2018), *Model compression via distillation and quantization*,
https://arxiv.org/abs/1802.05668, §2.1. A tensor is flattened and cut into buckets of ``d``
consecutive entries. Each bucket ``v`` is scaled to [0, 1] by

.. math::

    \\mathrm{sc}(v) = \\frac{v - \\beta}{\\alpha}, \\qquad \\beta = \\min v, \\quad
    \\alpha = \\max v - \\min v,

mapped to one of ``s`` points of [0, 1] and scaled back. Uniform quantisation uses the points
``k / (s - 1)``, ``k = 0..s-1``; non-uniform quantisation uses given sorted points
``p_1 <= ... <= p_s``. Deterministic rounding picks the nearest point; stochastic rounding
picks one of the two neighbouring points with probabilities that make it unbiased.

Unscaling is ``lerp(min, max, t)``, which returns ``min`` at ``t = 0`` and ``max`` at
``t = 1`` exactly, so a quantised bucket keeps its minimum and maximum and quantising it again
changes nothing: ``Q(Q(w)) = Q(w)`` holds bitwise.

Shape vocabulary: ``K`` buckets of ``d`` entries; a tensor of ``n`` entries has
``K = ceil(n / d)`` buckets, the last one possibly shorter.
"""

from __future__ import annotations

import heapq
from collections import Counter

import attrs
import torch

__all__ = [
    "Quantized",
    "bucket_scaling",
    "huffman_bits",
    "huffman_code_lengths",
    "nonuniform_indices",
    "quantile_points",
    "quantize",
    "uniform_indices",
    "uniform_points",
]


@attrs.frozen
class Quantized:
    """A quantised tensor: its values, the point index of each entry and the bucket scaling.

    Shapes:
        values ``(*shape)`` as the input; indices ``(*shape)`` long in ``[0, s)``;
        minimum and maximum ``(K,)``.
    """

    values: torch.Tensor
    indices: torch.Tensor
    minimum: torch.Tensor
    maximum: torch.Tensor


def _buckets(flat: torch.Tensor, bucket_size: int) -> torch.Tensor:
    """``(n,)`` -> ``(K, d)``; the last bucket is padded with its own last entry."""
    if bucket_size < 1:
        raise ValueError(f"bucket_size must be >= 1, got {bucket_size}")
    n = flat.numel()
    if n == 0:
        raise ValueError("cannot quantise an empty tensor")
    pad = -n % bucket_size
    if pad:
        # Repeating an entry of the last bucket leaves its minimum and maximum unchanged.
        flat = torch.cat([flat, flat[-1:].expand(pad)])
    return flat.view(-1, bucket_size)  # (K, d)


def bucket_scaling(
    weights: torch.Tensor, bucket_size: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Scale every bucket of ``weights`` to [0, 1].

    :returns: ``(scaled, minimum, maximum)``: ``scaled`` of shape ``(K, d)`` (padded), and
        per-bucket ``β = min`` and ``max = β + α``, each ``(K,)``. A constant bucket
        (``α = 0``) scales to 0.

    Example:
        >>> scaled, low, high = bucket_scaling(torch.tensor([1.0, 3.0, 2.0, 5.0, 5.0]), 2)
        >>> scaled.tolist(), low.tolist(), high.tolist()
        ([[0.0, 1.0], [0.0, 1.0], [0.0, 0.0]], [1.0, 2.0, 5.0], [3.0, 5.0, 5.0])
    """
    buckets = _buckets(weights.reshape(-1), bucket_size)  # (K, d)
    minimum = buckets.min(dim=1).values  # (K,)
    maximum = buckets.max(dim=1).values  # (K,)
    alpha = maximum - minimum
    safe = torch.where(alpha > 0, alpha, torch.ones_like(alpha))
    scaled = ((buckets - minimum[:, None]) / safe[:, None]).clamp_(0.0, 1.0)
    return scaled, minimum, maximum


def uniform_indices(
    scaled: torch.Tensor, levels: int, stochastic: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Index ``k`` of the uniform point ``k / (s - 1)`` each scaled entry rounds to.

    Deterministic: ``round(x (s - 1))``. Stochastic: ``floor(x (s - 1)) + Bernoulli(frac)``,
    so the expected quantised value equals ``x``.

    Example:
        >>> uniform_indices(torch.tensor([0.0, 0.3, 0.5, 1.0]), 3).tolist()
        [0, 1, 1, 2]
    """
    if levels < 2:
        raise ValueError(f"need at least 2 quantisation levels, got {levels}")
    position = scaled * (levels - 1)
    if not stochastic:
        return position.round().long().clamp_(0, levels - 1)
    lower = position.floor()
    up = torch.rand(position.shape, generator=generator, dtype=position.dtype,
                    device=position.device) < (position - lower)
    return (lower.long() + up.long()).clamp_(0, levels - 1)


def nonuniform_indices(
    scaled: torch.Tensor, points: torch.Tensor, stochastic: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Index of the point (of the sorted ``points``, shape ``(s,)``) each scaled entry maps to.

    Deterministic: the nearest point. Stochastic: between neighbours ``p_j <= x < p_{j+1}``,
    ``j + 1`` with probability ``(x - p_j) / (p_{j+1} - p_j)``; entries below ``p_1`` or
    above ``p_s`` go to the end point.

    Example:
        >>> nonuniform_indices(torch.tensor([0.0, 0.2, 0.6, 1.0]), torch.tensor([0.1, 0.5, 0.9]))
        tensor([0, 0, 1, 2])
    """
    points = points.detach()
    if points.ndim != 1 or len(points) < 2:
        raise ValueError(
            f"points must be a vector of at least 2 entries, got shape {tuple(points.shape)}")
    if bool((points[1:] < points[:-1]).any()):
        raise ValueError("points must be sorted in increasing order")
    if not stochastic:
        middles = (points[1:] + points[:-1]) / 2
        return torch.bucketize(scaled, middles, right=True)
    upper = torch.bucketize(scaled, points, right=True).clamp_(1, len(points) - 1)
    low, high = points[upper - 1], points[upper]
    gap = high - low
    fraction = torch.where(gap > 0, (scaled - low) / torch.where(gap > 0, gap, 1.0), 0.0)
    up = torch.rand(scaled.shape, generator=generator, dtype=scaled.dtype,
                    device=scaled.device) < fraction.clamp(0.0, 1.0)
    return upper - 1 + up.long()


def uniform_points(levels: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The ``s`` uniform points ``k / (s - 1)`` of [0, 1].

    Example:
        >>> uniform_points(3).tolist()
        [0.0, 0.5, 1.0]
    """
    return torch.linspace(0.0, 1.0, levels, dtype=dtype)


def quantile_points(weights: torch.Tensor, levels: int, bucket_size: int) -> torch.Tensor:
    """Initial non-uniform points: the ``s`` equally spaced quantiles of the scaled weights.

    The paper's initialisation of differentiable quantisation; the end points are the 0 and 1
    quantiles, i.e. every bucket's minimum and maximum are representable.

    Example:
        >>> quantile_points(torch.arange(9.0), 3, 9).tolist()
        [0.0, 0.5, 1.0]
    """
    scaled, _, _ = bucket_scaling(weights.detach(), bucket_size)
    n = weights.numel()
    values = scaled.reshape(-1)[:n]
    probabilities = torch.linspace(0.0, 1.0, levels, dtype=values.dtype, device=values.device)
    return torch.quantile(values, probabilities)


def quantize(
    weights: torch.Tensor,
    bucket_size: int,
    levels: int | None = None,
    points: torch.Tensor | None = None,
    stochastic: bool = False,
    generator: torch.Generator | None = None,
) -> Quantized:
    """Quantise ``weights`` bucket by bucket to ``s`` uniform levels or to given ``points``.

    Give exactly one of ``levels`` (uniform, ``s`` levels) or ``points`` (non-uniform, sorted,
    shape ``(s,)`` in scaled space). The result's values are differentiable with respect to
    ``points`` (``∂q_i/∂p_j = α_b`` when entry ``i`` of bucket ``b`` maps to ``j``) and carry
    no gradient to ``weights``: straight-through estimators add that themselves.

    Every bucket of the result holds at most ``s`` distinct values; with deterministic uniform
    rounding ``|Q(w) - w| <= α / (2 (s - 1))`` per bucket, and ``Q(Q(w)) = Q(w)``.

    Shapes:
        weights ``(*shape)``; returns values and indices of the same shape.

    Example:
        >>> w = torch.tensor([0.0, 0.1, 0.4, 0.9, -1.0, 1.0], dtype=torch.float64)
        >>> quantize(w, bucket_size=3, levels=2).values.tolist()
        [0.0, 0.0, 0.4, 1.0, -1.0, 1.0]
    """
    if (levels is None) == (points is None):
        raise ValueError("give exactly one of 'levels' (uniform) or 'points' (non-uniform)")
    with torch.no_grad():
        scaled, minimum, maximum = bucket_scaling(weights.detach(), bucket_size)  # (K, d)
        if points is None:
            assert levels is not None
            indices = uniform_indices(scaled, levels, stochastic, generator)
            grid = uniform_points(levels, weights.dtype).to(weights.device)
        else:
            indices = nonuniform_indices(scaled, points, stochastic, generator)
    if points is not None:
        grid = points
    fraction = grid[indices]  # (K, d), differentiable in the points
    # lerp(start, end, t) returns start at t = 0 and end at t = 1 exactly (idempotence).
    low = minimum[:, None].expand_as(fraction)
    high = maximum[:, None].expand_as(fraction)
    values = torch.lerp(low, high, fraction)
    n = weights.numel()
    return Quantized(
        values=values.reshape(-1)[:n].view_as(weights),
        indices=indices.reshape(-1)[:n].view(weights.shape),
        minimum=minimum,
        maximum=maximum,
    )


def huffman_code_lengths(counts: Counter[int] | dict[int, int]) -> dict[int, int]:
    """Code length in bits of every symbol of an optimal prefix (Huffman) code.

    A single symbol gets a 1-bit code (a decoder still needs one bit per entry).

    Example:
        >>> sorted(huffman_code_lengths({0: 5, 1: 2, 2: 1, 3: 1}).items())
        [(0, 1), (1, 2), (2, 3), (3, 3)]
    """
    symbols = [symbol for symbol, count in counts.items() if count > 0]
    if not symbols:
        return {}
    if len(symbols) == 1:
        return {symbols[0]: 1}
    # Heap entries: (weight, tie-breaker, symbols under this node).
    heap = [(counts[symbol], order, [symbol]) for order, symbol in enumerate(sorted(symbols))]
    heapq.heapify(heap)
    lengths = dict.fromkeys(symbols, 0)
    order = len(heap)
    while len(heap) > 1:
        weight_a, _, group_a = heapq.heappop(heap)
        weight_b, _, group_b = heapq.heappop(heap)
        for symbol in group_a + group_b:
            lengths[symbol] += 1
        heapq.heappush(heap, (weight_a + weight_b, order, group_a + group_b))
        order += 1
    return lengths


def huffman_bits(indices: torch.Tensor) -> int:
    """Bits of the Huffman-coded point indices of one tensor (the code table not counted).

    Example:
        >>> huffman_bits(torch.tensor([0, 0, 0, 0, 0, 1, 1, 2, 3]))
        15
    """
    counts = Counter(indices.reshape(-1).tolist())
    lengths = huffman_code_lengths(counts)
    return sum(count * lengths[symbol] for symbol, count in counts.items())
