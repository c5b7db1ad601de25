"""Density and sample plots of a 2-D flow (PNG through matplotlib's Agg canvas).

A bare :class:`matplotlib.figure.Figure` renders with Agg and leaves pyplot's global backend
and figure registry alone, so drawing inside a run changes nothing else in the process.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from methodlab_rad_flows.evaluators import PlotData

__all__ = ["draw"]


def draw(plot: PlotData, path: Path, title: str) -> Path:
    """Write three panels to ``path``: test data, the model's density p(x) on the grid, and
    model samples, all on the grid's box. Returns ``path``."""
    low, high = plot.extent[0], plot.extent[1]
    figure = Figure(figsize=(12, 4.2), layout="constrained")
    axes = figure.subplots(1, 3)
    panels = (("data", plot.data), ("density", None), ("samples", plot.samples))
    for axis, (name, points) in zip(axes, panels, strict=True):
        if points is None:
            density = np.exp(plot.log_density)
            # Thin spikes of a piecewise-linear flow would take the whole colour range.
            axis.imshow(density, origin="lower", extent=plot.extent, cmap="viridis",
                        interpolation="nearest", vmin=0.0, vmax=np.quantile(density, 0.999))
        else:
            axis.scatter(points[:, 0], points[:, 1], s=1.5, alpha=0.5, color="tab:blue")
        axis.set(xlim=(low, high), ylim=(low, high), aspect="equal", title=name)
    figure.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path
