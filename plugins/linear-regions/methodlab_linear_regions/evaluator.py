r"""``linear-regions``: exact region counts of the model on a segment and/or a 2-D square.

Metrics (recorded as ``<key>.<name>``):

- ``pieces``, ``regions``: linear pieces of the output / activation intervals on the segment
  (:func:`~methodlab_linear_regions.counting.count_line`);
- ``bound``: :math:`\prod_l (n_l + 1)`, the layer-wise upper bound with :math:`n_0 = 1` (a
  segment is a 1-D input); ``bound_margin`` = ``bound - regions`` (never negative);
- ``plane_regions``, ``plane_bound``, ``plane_bound_margin``: the same on the square, with
  :math:`n_0 = 2`.

References:
    Pascanu, Montúfar, Bengio (2014), arXiv:1312.6098; Montúfar, Pascanu, Cho, Bengio (2014),
    arXiv:1402.1869; Serra, Tjandraatmadja, Ramalingam (2018), arXiv:1711.02114.
"""

from __future__ import annotations

from collections.abc import Mapping

from methodlab.components import Environment, Evaluator, Loss
from torch import nn

from methodlab_linear_regions.bounds import deep_rectifier_upper
from methodlab_linear_regions.config import LinearRegionsParams
from methodlab_linear_regions.counting import count_line, count_plane, relu_layers

__all__ = ["LinearRegions", "build_linear_regions"]


def _unit(dim: int, index: int) -> tuple[float, ...]:
    return tuple(1.0 if i == index else 0.0 for i in range(dim))


def _bound(n0: int, widths: tuple[int, ...]) -> int:
    # A net without hidden ReLU layers is affine: one region.
    return deep_rectifier_upper(n0, widths) if widths else 1


class LinearRegions(Evaluator):
    """Counts regions of an ``nn.Sequential`` of ``Linear``/``ReLU`` exactly.

    Example:
        >>> from methodlab_linear_regions.zigzag import zigzag
        >>> metrics = LinearRegions(LinearRegionsParams(), in_features=1)(zigzag(3, 2), None, None)
        >>> metrics["pieces"], metrics["bound"]
        (9.0, 16.0)
    """

    def __init__(self, params: LinearRegionsParams, in_features: int) -> None:
        dim = in_features
        self.params = params
        self.start = params.start or (0.0,) * dim
        self.end = params.end or _unit(dim, 0)
        self.origin = params.origin or (0.0,) * dim
        self.axis_u = params.axis_u or _unit(dim, 0)
        self.axis_v = params.axis_v or _unit(dim, 1)
        if params.mode != "line" and dim < 2 and not params.axis_v:
            raise ValueError("a 2-D slice needs in_features >= 2 or an explicit axis_v")
        for name in ("start", "end", "origin", "axis_u", "axis_v"):
            if len(getattr(self, name)) != dim:
                raise ValueError(f"linear-regions: '{name}' needs {dim} values")

    def __call__(self, model: nn.Module, env: Environment | None, loss: Loss | None
                 ) -> Mapping[str, float]:
        layers = relu_layers(model)
        metrics: dict[str, float] = {}
        if self.params.mode in ("line", "both"):
            line = count_line(layers, self.start, self.end)
            bound = _bound(1, line.widths)
            metrics |= {"pieces": float(line.pieces), "regions": float(line.regions),
                        "bound": float(bound), "bound_margin": float(bound - line.regions)}
        if self.params.mode in ("plane", "both"):
            plane = count_plane(layers, self.origin, self.axis_u, self.axis_v)
            bound = _bound(2, plane.widths)
            metrics |= {"plane_regions": float(plane.regions), "plane_bound": float(bound),
                        "plane_bound_margin": float(bound - plane.regions)}
        return metrics


def build_linear_regions(params: LinearRegionsParams, *, env: Environment) -> LinearRegions:
    """Build ``use = "linear-regions"`` for the environment's input size."""
    return LinearRegions(params, env.info.in_features)
