"""The papers' bounds as exact integers, and their ordering."""

from math import comb

import pytest
from methodlab_linear_regions import bounds as b


def test_shallow_rectifier_is_zaslavsky_count():
    assert b.shallow_rectifier_regions(2, 3) == 7
    assert b.shallow_rectifier_regions(1, 12) == 13  # n units on a line: n + 1 pieces
    assert b.shallow_rectifier_regions(3, 2) == 4  # n <= n0: all 2^n patterns
    assert b.shallow_rectifier_regions(2, 24) == 1 + 24 + comb(24, 2)


def test_deep_lower_bounds():
    # Pascanu et al.: prod floor(n_l / n0) * sum_j C(n_L, j)
    assert b.deep_rectifier_lower_pascanu(2, [4, 4, 4]) == 2 * 2 * 11
    # Montufar et al.: prod floor(n_l / n0)^n0 * sum_j C(n_L, j)
    assert b.deep_rectifier_lower_montufar(2, [4, 4, 4]) == 4 * 4 * 11
    assert b.deep_rectifier_lower_montufar(1, [3, 3, 3, 3]) == 27 * 4


def test_deep_upper_bound():
    assert b.deep_rectifier_upper(1, [3] * 4) == 4**4
    assert b.deep_rectifier_upper(2, [4, 4, 4]) == 11**3
    assert b.deep_rectifier_upper(2, [1, 8]) == 2 * 9  # the bottleneck caps d_l at 1
    assert b.deep_rectifier_upper(5, [12]) == b.shallow_rectifier_regions(5, 12)


@pytest.mark.parametrize("n0", [1, 2, 3])
@pytest.mark.parametrize("n", [3, 4, 6, 8])
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_lower_bounds_below_upper_bound(n0, n, depth):
    if n < n0:
        pytest.skip("the lower bounds need n >= n0")
    widths = [n] * depth
    upper = b.deep_rectifier_upper(n0, widths)
    assert b.deep_rectifier_lower_pascanu(n0, widths) <= b.deep_rectifier_lower_montufar(
        n0, widths) <= upper <= 2 ** (n * depth)


def test_deep_beats_shallow_asymptotically():
    # n0 = 2, width 8: depth 4 (32 units) vs one layer of 32 units
    assert b.deep_rectifier_lower_montufar(2, [8] * 4) > b.shallow_rectifier_regions(2, 32)


def test_maxout_bounds():
    assert b.shallow_maxout_lower(2, 5, 3) == 9
    assert b.shallow_maxout_upper(1, 2, 3) == 9
    assert b.shallow_maxout_upper(2, 4, 2) == 16
    assert b.deep_maxout_lower(2, 3, 2) == 16
    for n0, m, k in [(1, 3, 2), (2, 4, 3), (3, 5, 2)]:
        assert b.shallow_maxout_lower(n0, m, k) <= b.shallow_maxout_upper(n0, m, k)


def test_invalid_sizes_raise():
    with pytest.raises(ValueError):
        b.deep_rectifier_upper(0, [3])
    with pytest.raises(ValueError):
        b.deep_rectifier_upper(2, [])
