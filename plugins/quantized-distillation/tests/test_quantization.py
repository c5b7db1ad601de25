"""The bucketed quantisers: the issue's three properties, stochastic rounding, Huffman codes."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
from methodlab_quantized_distillation.quantization import (
    bucket_scaling,
    huffman_bits,
    huffman_code_lengths,
    quantile_points,
    quantize,
)

DTYPE = torch.float64
# Bucket sizes that divide the 300 entries and ones that leave a short last bucket.
CASES = [(levels, bucket) for levels in (2, 4, 16) for bucket in (1, 7, 64, 300, 512)]


def weights(seed: int = 0, shape: tuple[int, ...] = (20, 15)) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=generator, dtype=DTYPE)


def buckets(tensor: torch.Tensor, bucket_size: int) -> list[torch.Tensor]:
    return list(tensor.reshape(-1).split(bucket_size))


def alphas(tensor: torch.Tensor, bucket_size: int) -> list[float]:
    return [float(b.max() - b.min()) for b in buckets(tensor, bucket_size)]


def nonuniform(levels: int) -> torch.Tensor:
    return torch.linspace(0.0, 1.0, levels, dtype=DTYPE).pow(2)


@pytest.mark.parametrize(("levels", "bucket_size"), CASES)
@pytest.mark.parametrize("stochastic", [False, True])
@pytest.mark.parametrize("kind", ["uniform", "nonuniform"])
def test_at_most_s_distinct_values_per_bucket(levels, bucket_size, stochastic, kind):
    w = weights()
    options = {"levels": levels} if kind == "uniform" else {"points": nonuniform(levels)}
    q = quantize(w, bucket_size, stochastic=stochastic,
                 generator=torch.Generator().manual_seed(1), **options)
    assert q.values.shape == w.shape
    counts = [len(torch.unique(b)) for b in buckets(q.values, bucket_size)]
    assert max(counts) <= levels
    # Not trivially: with enough entries every level is used somewhere.
    if bucket_size >= 64 and levels <= 4 and kind == "uniform" and not stochastic:
        assert max(counts) == levels
    assert int(q.indices.min()) >= 0 and int(q.indices.max()) < levels


@pytest.mark.parametrize(("levels", "bucket_size"), CASES)
@pytest.mark.parametrize("kind", ["uniform", "nonuniform"])
def test_quantisation_is_idempotent(levels, bucket_size, kind):
    w = weights(2)
    options = {"levels": levels} if kind == "uniform" else {"points": nonuniform(levels)}
    once = quantize(w, bucket_size, **options).values
    twice = quantize(once, bucket_size, **options).values
    assert torch.equal(once, twice)
    assert torch.equal(once, w) == (bucket_size == 1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("levels", "bucket_size"), CASES)
def test_error_at_most_half_a_level(levels, bucket_size, dtype):
    w = weights(3).to(dtype)
    error = (quantize(w, bucket_size, levels=levels).values - w).abs()
    eps = torch.finfo(dtype).eps * 8
    worst = 0.0
    for bucket_error, alpha in zip(buckets(error, bucket_size), alphas(w, bucket_size),
                                   strict=True):
        bound = alpha / (2 * (levels - 1))
        assert float(bucket_error.max()) <= bound * (1 + eps) + eps
        worst = max(worst, float(bucket_error.max()) / bound if bound else 0.0)
    # The bound is tight: some entry lands close to the middle between two levels.
    if bucket_size > 1:
        assert worst > 0.8


def test_stochastic_rounding_is_unbiased_and_moves_to_a_neighbour():
    w = weights(4, (64,))
    levels, draws = 4, 4000
    generator = torch.Generator().manual_seed(5)
    # Every row is one bucket holding w, so one call draws all samples.
    samples = quantize(w.repeat(draws, 1), 64, levels=levels, stochastic=True,
                       generator=generator).values  # (draws, 64)
    alpha = float(w.max() - w.min())
    step = alpha / (levels - 1)
    assert float((samples - w).abs().max()) <= step * (1 + 1e-12)
    # Each entry is a two-point variable with variance <= step^2 / 4.
    standard_error = step / 2 / math.sqrt(draws)
    assert float((samples.mean(0) - w).abs().max()) < 5 * standard_error


def test_stochastic_nonuniform_rounding_is_unbiased():
    w = weights(6, (64,))
    points = nonuniform(4)
    generator = torch.Generator().manual_seed(7)
    samples = quantize(w.repeat(4000, 1), 64, points=points, stochastic=True,
                       generator=generator).values  # (4000, 64)
    assert float((samples.mean(0) - w).abs().max()) < 0.05


def test_worked_example():
    w = torch.tensor([0.0, 0.15, 0.4, 0.9, -1.0, 1.0], dtype=DTYPE)
    q = quantize(w, bucket_size=3, levels=3)
    # Bucket 1: α = 0.4, levels 0, 0.2, 0.4; bucket 2: α = 2, levels -1, 0, 1.
    torch.testing.assert_close(q.values, torch.tensor([0.0, 0.2, 0.4, 1.0, -1.0, 1.0],
                                                      dtype=DTYPE))
    assert q.indices.tolist() == [0, 1, 2, 2, 0, 2]
    assert q.minimum.tolist() == [0.0, -1.0] and q.maximum.tolist() == [0.4, 1.0]


def test_constant_bucket_is_kept():
    w = torch.full((10,), 0.3, dtype=DTYPE)
    assert torch.equal(quantize(w, 4, levels=4).values, w)
    scaled, _, _ = bucket_scaling(w, 4)
    assert torch.equal(scaled, torch.zeros_like(scaled))


def test_points_receive_the_bucket_scaled_gradient():
    w = weights(8, (12,))
    points = nonuniform(4).requires_grad_(True)
    q = quantize(w, 6, points=points)
    upstream = torch.linspace(-1, 1, 12, dtype=DTYPE)
    (q.values * upstream).sum().backward()
    expected = torch.zeros(4, dtype=DTYPE)
    for b, (indices, grads) in enumerate(zip(q.indices.split(6), upstream.split(6),
                                             strict=True)):
        alpha = float(q.maximum[b] - q.minimum[b])
        expected.index_add_(0, indices, alpha * grads)
    torch.testing.assert_close(points.grad, expected)


def test_quantile_points():
    w = torch.arange(101, dtype=DTYPE)
    torch.testing.assert_close(quantile_points(w, 5, 101),
                               torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0], dtype=DTYPE))


def test_arguments_are_checked():
    w = weights()
    with pytest.raises(ValueError, match="exactly one"):
        quantize(w, 8)
    with pytest.raises(ValueError, match="exactly one"):
        quantize(w, 8, levels=4, points=nonuniform(4))
    with pytest.raises(ValueError, match="at least 2"):
        quantize(w, 8, levels=1)
    with pytest.raises(ValueError, match="sorted"):
        quantize(w, 8, points=torch.tensor([0.5, 0.1], dtype=DTYPE))
    with pytest.raises(ValueError, match="bucket_size"):
        quantize(w, 0, levels=4)


def test_huffman_code_is_optimal_and_complete():
    counts = Counter({0: 45, 1: 13, 2: 12, 3: 16, 4: 9, 5: 5})
    lengths = huffman_code_lengths(counts)
    # The textbook example (CLRS 16.3): total cost 224.
    assert sum(counts[s] * lengths[s] for s in counts) == 224
    # A full binary tree: Kraft's sum is exactly 1.
    assert sum(2.0 ** -length for length in lengths.values()) == 1.0


def test_huffman_bits_of_indices():
    assert huffman_bits(torch.tensor([3, 3, 3])) == 3
    uniform = torch.arange(16).repeat(4)
    assert huffman_bits(uniform) == 4 * 64
    skewed = torch.tensor([0] * 90 + [1, 2, 3] * 3 + [3])
    assert huffman_bits(skewed) < 2 * len(skewed)
