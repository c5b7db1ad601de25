r"""Exact counting of the linear regions of a ReLU network on a segment or a 2-D square.

A network :math:`f = A_L \circ \sigma \circ A_{L-1} \circ \dots \circ \sigma \circ A_1`
(:math:`A_l` affine, :math:`\sigma` = ReLU) restricted to a segment
:math:`x(t) = a + t(b - a)`, :math:`t \in [0, 1]`, is piecewise affine in :math:`t`. On each
piece every pre-activation is :math:`z(t) = p + t q`; a ReLU cuts a piece where
:math:`p_j + t q_j = 0` inside it (breakpoint propagation). In 2-D the pieces are convex
polygons and each unit's zero line splits them (exact polygon splitting).

Arithmetic is exact: weights are read as :class:`fractions.Fraction` (a float is a dyadic
rational), so breakpoints that land exactly on existing ones (as in the zigzag
construction) are never double-counted, which float tolerances cannot guarantee.

References:
    Pascanu, Montúfar, Bengio (2014), arXiv:1312.6098; Montúfar, Pascanu, Cho, Bengio (2014),
    arXiv:1402.1869.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction

import attrs
from torch import nn

__all__ = [
    "AffineLayer",
    "LineCount",
    "PlaneCount",
    "count_line",
    "count_plane",
    "relu_layers",
]

Vector = list[Fraction]


@attrs.frozen
class AffineLayer:
    """One affine map :math:`z = W h + c`, followed by a ReLU when ``relu`` is true."""

    weight: tuple[tuple[Fraction, ...], ...]
    """Rows of :math:`W`, shape ``(out, in)``."""
    bias: tuple[Fraction, ...]
    """:math:`c`, shape ``(out,)``."""
    relu: bool
    """Whether a ReLU follows this map."""

    @property
    def width(self) -> int:
        return len(self.bias)


def relu_layers(model: nn.Module) -> list[AffineLayer]:
    """Read an ``nn.Sequential`` of ``Linear``/``ReLU``/``Identity`` (nested allowed) exactly.

    Consecutive ``Linear`` layers without a ReLU between them are kept as separate maps (they
    add no breakpoints). Hidden widths are the widths of the maps followed by a ReLU.

    :raises TypeError: for any other module (the counts would not be exact).

    Example:
        >>> layers = relu_layers(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)))
        >>> [(layer.width, layer.relu) for layer in layers]
        [(3, True), (1, False)]
    """
    flat: list[nn.Module] = []

    def walk(module: nn.Module) -> None:
        if isinstance(module, nn.Sequential):
            for child in module:
                walk(child)
        else:
            flat.append(module)

    walk(model)
    layers: list[AffineLayer] = []
    for module in flat:
        if isinstance(module, nn.Linear):
            weight = module.weight.detach().double().cpu().tolist()
            bias = ([0.0] * module.out_features if module.bias is None
                    else module.bias.detach().double().cpu().tolist())
            layers.append(AffineLayer(tuple(tuple(map(Fraction, row)) for row in weight),
                                      tuple(map(Fraction, bias)), relu=False))
        elif isinstance(module, nn.ReLU):
            if not layers or layers[-1].relu:
                raise TypeError("a ReLU must follow a Linear layer")
            layers[-1] = attrs.evolve(layers[-1], relu=True)
        elif not isinstance(module, nn.Identity):
            raise TypeError(f"only Linear, ReLU and Identity are supported, got {module!r}")
    if not layers:
        raise TypeError("the model has no Linear layer")
    return layers


def _matvec(weight: Sequence[Sequence[Fraction]], x: Sequence[Fraction]) -> Vector:
    return [sum((w * v for w, v in zip(row, x, strict=True)), Fraction(0)) for row in weight]


# --- 1-D: breakpoint propagation -------------------------------------------------------------


@attrs.frozen
class LineCount:
    """Result of :func:`count_line`."""

    regions: int
    """Number of activation-pattern intervals (with non-empty interior) on the segment."""
    pieces: int
    """Number of maximal intervals on which the output is affine (adjacent regions with the
    same output slope merged); ``pieces <= regions``."""
    breakpoints: tuple[Fraction, ...]
    """Interior breakpoints :math:`t` in :math:`(0, 1)` of the output, sorted."""
    widths: tuple[int, ...]
    """Hidden widths (maps followed by a ReLU)."""


def count_line(
    layers: Sequence[AffineLayer], start: Sequence[float], end: Sequence[float]
) -> LineCount:
    r"""Count the linear regions of the network on the segment from ``start`` to ``end``.

    Each interval :math:`[t_0, t_1]` carries pre-activations :math:`p + t q`; a ReLU layer
    splits it at every root :math:`t^* = -p_j / q_j` with :math:`t_0 < t^* < t_1`, then zeroes
    the units negative at the midpoint of each sub-interval.

    Example (the tent map :math:`2x - 4\,\mathrm{relu}(x - 1/2)` has two pieces):
        >>> import torch
        >>> net = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.tensor([[2.0], [2.0]]))
        ...     _ = net[0].bias.copy_(torch.tensor([0.0, -1.0]))
        ...     _ = net[2].weight.copy_(torch.tensor([[1.0, -2.0]]))
        >>> result = count_line(relu_layers(net), [0.0], [1.0])
        >>> result.pieces, result.breakpoints
        (2, (Fraction(1, 2),))
    """
    a = [Fraction(x) for x in start]
    direction = [Fraction(y) - x for x, y in zip(a, map(Fraction, end), strict=True)]
    # intervals: (t0, t1, p, q) with the current layer's input equal to p + t q
    intervals: list[tuple[Fraction, Fraction, Vector, Vector]] = [
        (Fraction(0), Fraction(1), a, direction)]
    for layer in layers:
        next_intervals = []
        for t0, t1, p, q in intervals:
            zp = [z + c for z, c in zip(_matvec(layer.weight, p), layer.bias, strict=True)]
            zq = _matvec(layer.weight, q)
            if not layer.relu:
                next_intervals.append((t0, t1, zp, zq))
                continue
            cuts = sorted({-pj / qj for pj, qj in zip(zp, zq, strict=True)
                           if qj != 0 and t0 < -pj / qj < t1})
            edges = [t0, *cuts, t1]
            for lo, hi in itertools.pairwise(edges):
                mid = (lo + hi) / 2
                active = [pj + mid * qj > 0 for pj, qj in zip(zp, zq, strict=True)]
                next_intervals.append((lo, hi,
                                       [pj if on else Fraction(0) for pj, on in zip(zp, active,
                                                                                    strict=True)],
                                       [qj if on else Fraction(0) for qj, on in zip(zq, active,
                                                                                    strict=True)]))
        intervals = next_intervals
    breakpoints = tuple(hi for (_, hi, _, q), (_, _, _, q_next)
                        in itertools.pairwise(intervals) if q != q_next)
    widths = tuple(layer.width for layer in layers if layer.relu)
    return LineCount(len(intervals), len(breakpoints) + 1, breakpoints, widths)


# --- 2-D: exact polygon splitting ------------------------------------------------------------

Point = tuple[Fraction, Fraction]


@attrs.frozen
class PlaneCount:
    """Result of :func:`count_plane`."""

    regions: int
    """Number of activation-pattern cells (convex polygons of positive area) in the square."""
    widths: tuple[int, ...]
    """Hidden widths (maps followed by a ReLU)."""


def _split(polygon: list[Point], a: Fraction, b: Fraction, c: Fraction
           ) -> tuple[list[Point], list[Point]]:
    """Split a convex polygon by the line ``a u + b v + c = 0`` into (≥ 0 side, ≤ 0 side)."""
    positive: list[Point] = []
    negative: list[Point] = []
    values = [a * u + b * v + c for u, v in polygon]
    if not any(values):
        # the unit is identically zero on the cell: one region, not two copies of it
        return list(polygon), []
    for i, point in enumerate(polygon):
        nxt, value, value_next = polygon[(i + 1) % len(polygon)], values[i], values[
            (i + 1) % len(polygon)]
        if value >= 0:
            positive.append(point)
        if value <= 0:
            negative.append(point)
        if (value > 0 > value_next) or (value < 0 < value_next):
            s = value / (value - value_next)
            crossing = (point[0] + s * (nxt[0] - point[0]), point[1] + s * (nxt[1] - point[1]))
            positive.append(crossing)
            negative.append(crossing)
    return positive, negative


def _area2(polygon: Sequence[Point]) -> Fraction:
    return abs(sum((polygon[i][0] * polygon[(i + 1) % len(polygon)][1]
                    - polygon[(i + 1) % len(polygon)][0] * polygon[i][1]
                    for i in range(len(polygon))), Fraction(0)))


def count_plane(
    layers: Sequence[AffineLayer],
    origin: Sequence[float],
    axis_u: Sequence[float],
    axis_v: Sequence[float],
) -> PlaneCount:
    r"""Count activation regions on the square :math:`x = o + u\,d_u + v\,d_v`,
    :math:`(u, v) \in [0, 1]^2`, by exact polygon splitting.

    Each cell is a convex polygon carrying pre-activations :math:`P (u, v)^\top + c`; each unit
    of a ReLU layer splits it along :math:`P_j (u, v)^\top + c_j = 0`, keeping parts of positive
    area, and the unit is zeroed on its negative part.

    Example (two ReLUs with crossing zero lines cut the square into 4 cells):
        >>> import torch
        >>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.eye(2))
        ...     _ = net[0].bias.fill_(-0.5)
        >>> count_plane(relu_layers(net), [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]).regions
        4
    """
    o = [Fraction(x) for x in origin]
    du = [Fraction(x) for x in axis_u]
    dv = [Fraction(x) for x in axis_v]
    zero, one = Fraction(0), Fraction(1)
    square: list[Point] = [(zero, zero), (one, zero), (one, one), (zero, one)]
    # cells: (polygon, rows of [coefficient of u, coefficient of v, constant] per feature)
    cells: list[tuple[list[Point], list[tuple[Fraction, Fraction, Fraction]]]] = [
        (square, list(zip(du, dv, o, strict=True)))]
    for layer in layers:
        next_cells = []
        for polygon, maps in cells:
            cu = _matvec(layer.weight, [m[0] for m in maps])
            cv = _matvec(layer.weight, [m[1] for m in maps])
            cc = [z + c for z, c in zip(_matvec(layer.weight, [m[2] for m in maps]),
                                        layer.bias, strict=True)]
            rows = list(zip(cu, cv, cc, strict=True))
            if not layer.relu:
                next_cells.append((polygon, rows))
                continue
            pieces = [(polygon, [True] * len(rows))]
            for j, (a, b, c) in enumerate(rows):
                refined = []
                for piece, active in pieces:
                    for part, on in zip(_split(piece, a, b, c), (True, False), strict=True):
                        if len(part) >= 3 and _area2(part) > 0:
                            flags = list(active)
                            flags[j] = on
                            refined.append((part, flags))
                pieces = refined
            for piece, active in pieces:
                next_cells.append((piece, [row if on else (zero, zero, zero)
                                           for row, on in zip(rows, active, strict=True)]))
        cells = next_cells
    return PlaneCount(len(cells), tuple(layer.width for layer in layers if layer.relu))
