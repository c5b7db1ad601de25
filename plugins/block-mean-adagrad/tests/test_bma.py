"""The block mean approximation against dense float64 references."""

from __future__ import annotations

import itertools

import pytest
import torch
from methodlab_block_mean_adagrad.bma import block_mean, block_mean_from_sums, group_sums

DTYPE = torch.float64

# Unequal group sizes, a group of one, and labels that are not sorted.
LABELS = torch.tensor([2, 0, 1, 0, 2, 3, 1, 0, 2, 2, 1])


def random_psd(d: int, rank: int | None = None, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    factor = torch.randn(d, rank or d, generator=generator, dtype=DTYPE)
    return factor @ factor.T


def dense_power(matrix: torch.Tensor, power: float, delta: float) -> torch.Tensor:
    eigenvalues, eigenvectors = torch.linalg.eigh(matrix + delta * torch.eye(len(matrix),
                                                                             dtype=DTYPE))
    return eigenvectors @ torch.diag(eigenvalues.pow(power)) @ eigenvectors.T


@pytest.mark.parametrize("rank", [None, 3])
@pytest.mark.parametrize("delta", [1e-3, 1.0])
def test_structured_inverse_sqrt_equals_dense_eigh(rank, delta):
    M = random_psd(len(LABELS), rank)
    approx = block_mean(M, LABELS)
    vectors = torch.randn(len(LABELS), 4, dtype=DTYPE, generator=torch.Generator().manual_seed(1))
    expected = dense_power(approx.dense(), -0.5, delta) @ vectors
    torch.testing.assert_close(approx.power_apply(vectors, -0.5, delta), expected,
                               rtol=1e-8, atol=0.0)
    # A single vector takes the same path.
    torch.testing.assert_close(approx.power_apply(vectors[:, 0], -0.5, delta), expected[:, 0],
                               rtol=1e-8, atol=0.0)


@pytest.mark.parametrize("power", [-1.0, 0.5, 1.0])
def test_other_powers_equal_dense(power):
    approx = block_mean(random_psd(len(LABELS), seed=2), LABELS)
    identity = torch.eye(len(LABELS), dtype=DTYPE)
    torch.testing.assert_close(approx.power_apply(identity, power, 0.1),
                               dense_power(approx.dense(), power, 0.1), rtol=1e-8, atol=1e-12)


def test_reproduces_block_means():
    M = random_psd(len(LABELS), seed=3)
    dense = block_mean(M, LABELS).dense()
    for i, j in itertools.product(range(4), repeat=2):
        rows, cols = (LABELS == i).nonzero()[:, 0], (LABELS == j).nonzero()[:, 0]
        block, original = dense[rows][:, cols], M[rows][:, cols]
        if i != j:
            torch.testing.assert_close(block, original.mean().expand_as(block), rtol=1e-12, atol=0)
            continue
        size = len(rows)
        off = ~torch.eye(size, dtype=torch.bool)
        torch.testing.assert_close(block.diagonal(), original.diagonal().mean().expand(size),
                                   rtol=1e-12, atol=0)
        if size > 1:
            torch.testing.assert_close(block[off], original[off].mean().expand(off.sum()),
                                       rtol=1e-12, atol=0)
    # Approximating the approximation changes nothing.
    torch.testing.assert_close(block_mean(dense, LABELS).dense(), dense, rtol=1e-12, atol=1e-12)


def test_is_the_average_over_within_group_permutations():
    # M-hat is the mean of P M P^T over all permutations P that stay inside the groups,
    # which is why it is positive semi-definite whenever M is.
    labels = torch.tensor([0, 1, 0, 1, 1, 2])
    M = random_psd(len(labels), seed=4)
    groups = [(labels == g).nonzero()[:, 0].tolist() for g in range(3)]
    total, count = torch.zeros_like(M), 0
    for choice in itertools.product(*(itertools.permutations(g) for g in groups)):
        order = torch.arange(len(labels))
        for members, permuted in zip(groups, choice, strict=True):
            order[members] = torch.tensor(permuted)
        total += M[order][:, order]
        count += 1
    torch.testing.assert_close(block_mean(M, labels).dense(), total / count, rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("rank", [1, 4, None])
def test_psd_when_m_is_psd(seed, rank):
    M = random_psd(len(LABELS), rank, seed)
    eigenvalues = torch.linalg.eigvalsh(block_mean(M, LABELS).dense())
    assert float(eigenvalues.min()) >= -1e-12 * float(eigenvalues.abs().max())


def test_from_sums_matches_dense_construction():
    # The optimizer only keeps U^T G U and the diagonal-block traces.
    generator = torch.Generator().manual_seed(5)
    gradients = torch.randn(20, len(LABELS), dtype=DTYPE, generator=generator)
    G = gradients.T @ gradients
    sums = group_sums(gradients.T, LABELS, 4)  # (L, t)
    approx = block_mean_from_sums(sums @ sums.T, group_sums((gradients**2).sum(0), LABELS, 4),
                                  LABELS, torch.bincount(LABELS).to(DTYPE))
    torch.testing.assert_close(approx.dense(), block_mean(G, LABELS).dense(), rtol=1e-12,
                               atol=1e-12)


def test_singleton_groups_are_exact():
    M = random_psd(5, seed=6)
    approx = block_mean(M, torch.arange(5))
    torch.testing.assert_close(approx.dense(), M, rtol=1e-12, atol=1e-12)
    assert torch.equal(approx.within, torch.zeros(5, dtype=DTYPE))


def test_empty_group_is_rejected():
    with pytest.raises(ValueError, match="at least one coordinate"):
        block_mean(torch.eye(3, dtype=DTYPE), torch.tensor([0, 2, 2]))
