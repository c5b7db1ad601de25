r"""Bounds on the number of linear regions of rectifier and maxout networks.

All functions return exact Python integers. Notation: :math:`n_0` inputs, hidden widths
:math:`n_1, \dots, n_L`, maxout rank :math:`k`.

References:
    Pascanu, Montúfar, Bengio (2014), "On the number of response regions of deep feed forward
    networks with piece-wise linear activations", arXiv:1312.6098.
    Montúfar, Pascanu, Cho, Bengio (2014), "On the number of linear regions of deep neural
    networks", arXiv:1402.1869.
    Serra, Tjandraatmadja, Ramalingam (2018), "Bounding and counting linear regions of deep
    neural networks", arXiv:1711.02114 (the layer-wise upper bound).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb, prod

__all__ = [
    "deep_maxout_lower",
    "deep_rectifier_lower_montufar",
    "deep_rectifier_lower_pascanu",
    "deep_rectifier_upper",
    "hyperplane_regions",
    "shallow_maxout_lower",
    "shallow_maxout_upper",
    "shallow_rectifier_regions",
]


def _check(n0: int, widths: Sequence[int]) -> None:
    if n0 < 1 or not widths or any(n < 1 for n in widths):
        raise ValueError(f"need n0 >= 1 and positive widths, got n0={n0}, widths={widths}")


def hyperplane_regions(n: int, d: int) -> int:
    r"""Regions of :math:`\mathbb R^d` cut by :math:`n` hyperplanes in general position.

    .. math:: r(n, d) = \sum_{j=0}^{d} \binom{n}{j}   \quad\text{(Zaslavsky, 1975)}

    Example:
        >>> hyperplane_regions(3, 2), hyperplane_regions(5, 1)
        (7, 6)
    """
    return sum(comb(n, j) for j in range(d + 1))


def shallow_rectifier_regions(n0: int, n: int) -> int:
    r"""Maximal number of regions of a one-hidden-layer rectifier net, :math:`n_0` inputs,
    :math:`n` units: :math:`\sum_{j=0}^{n_0}\binom{n}{j}` (Pascanu et al. 2014, Prop. 3).

    Each unit contributes one hyperplane; the bound is reached in general position. On a line
    (:math:`n_0 = 1`) this is :math:`n + 1`.

    Example:
        >>> shallow_rectifier_regions(1, 12), shallow_rectifier_regions(2, 24)
        (13, 301)
    """
    _check(n0, [n])
    return hyperplane_regions(n, n0)


def deep_rectifier_lower_pascanu(n0: int, widths: Sequence[int]) -> int:
    r"""Pascanu et al. (2014) lower bound on the maximal number of regions of a deep rectifier
    net with widths :math:`n_l \ge n_0`:

    .. math:: \Big(\prod_{l=1}^{L-1} \Big\lfloor \frac{n_l}{n_0} \Big\rfloor\Big)
              \sum_{j=0}^{n_0} \binom{n_L}{j},

    i.e. :math:`\Omega((n/n_0)^{L-1} n^{n_0})` for equal widths.

    Example:
        >>> deep_rectifier_lower_pascanu(2, [4, 4, 4])
        44
    """
    _check(n0, widths)
    return prod(n // n0 for n in widths[:-1]) * hyperplane_regions(widths[-1], n0)


def deep_rectifier_lower_montufar(n0: int, widths: Sequence[int]) -> int:
    r"""Montúfar et al. (2014, Thm. 4) lower bound for a deep rectifier net, :math:`n_l \ge n_0`:

    .. math:: \Big(\prod_{l=1}^{L-1} \Big\lfloor \frac{n_l}{n_0} \Big\rfloor^{n_0}\Big)
              \sum_{j=0}^{n_0} \binom{n_L}{j},

    i.e. :math:`\Omega((n/n_0)^{(L-1)n_0} n^{n_0})`. On a line (:math:`n_0 = 1`, equal width
    :math:`n`) it is :math:`n^{L-1}(n+1)`: the zigzag construction reaches :math:`n^L` pieces
    on :math:`[0, 1]`.

    Example:
        >>> deep_rectifier_lower_montufar(2, [4, 4, 4]), deep_rectifier_lower_montufar(1, [3] * 4)
        (176, 108)
    """
    _check(n0, widths)
    return prod((n // n0) ** n0 for n in widths[:-1]) * hyperplane_regions(widths[-1], n0)


def deep_rectifier_upper(n0: int, widths: Sequence[int]) -> int:
    r"""Layer-wise upper bound on the regions of a rectifier net (Serra et al. 2018, Thm. 1):

    .. math:: \prod_{l=1}^{L} \sum_{j=0}^{d_l} \binom{n_l}{j},
              \qquad d_l = \min(n_0, n_1, \dots, n_l).

    Each layer's hyperplanes cut each existing region (whose image has dimension at most
    :math:`d_l`) into at most :math:`r(n_l, d_l)` pieces. With one layer it equals the shallow
    count; it is never below :func:`deep_rectifier_lower_montufar`.

    Example:
        >>> deep_rectifier_upper(1, [3] * 4), deep_rectifier_upper(1, [12])
        (256, 13)
    """
    _check(n0, widths)
    total, dim = 1, n0
    for n in widths:
        dim = min(dim, n)
        total *= hyperplane_regions(n, dim)
    return total


def shallow_maxout_lower(n0: int, m: int, k: int) -> int:
    r"""Pascanu/Montúfar lower bound for one maxout layer of :math:`m` rank-:math:`k` units:
    :math:`k^{\min(n_0, m)}`.

    Example:
        >>> shallow_maxout_lower(2, 5, 3)
        9
    """
    _check(n0, [m, k])
    return k ** min(n0, m)


def shallow_maxout_upper(n0: int, m: int, k: int) -> int:
    r"""Upper bound for one maxout layer (Montúfar et al. 2014, Prop. 7):

    .. math:: \min\Big\{\sum_{j=0}^{n_0}\binom{k^2 m}{j},\; k^m\Big\}.

    Each unit's regions are cut by its :math:`\binom{k}{2} \le k^2` pairwise-equality
    hyperplanes; a product of :math:`m` units with :math:`k` pieces each has at most
    :math:`k^m` patterns.

    Example:
        >>> shallow_maxout_upper(1, 2, 3), shallow_maxout_upper(2, 4, 2)
        (9, 16)
    """
    _check(n0, [m, k])
    return min(hyperplane_regions(k * k * m, n0), k**m)


def deep_maxout_lower(n0: int, layers: int, k: int) -> int:
    r"""Montúfar et al. (2014, Thm. 8) lower bound for :math:`L` maxout layers of width
    :math:`n_0`, rank :math:`k`: :math:`k^{L-1} k^{n_0}`.

    Example:
        >>> deep_maxout_lower(2, 3, 2)
        16
    """
    _check(n0, [layers, k])
    return k ** (layers - 1) * k**n0
