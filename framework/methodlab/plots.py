"""Learning-curve figures (PNG) of a run: one panel per metric, one line per arm."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from methodlab.runfile import RunSpec

__all__ = ["Curves", "plot_curves", "plot_curves_png"]

Curves = dict[str, dict[str, dict[int, list[float]]]]
"""``{metric: {line label: {step: [value per seed]}}}``."""


def _curves(directory: Path, spec: RunSpec) -> Curves:
    """``{metric: {arm: {step: [value per seed]}}}`` from the trials' metrics files."""
    curves: Curves = {}
    for arm in spec.arms:
        for seed in spec.seeds:
            path = directory / "trials" / arm.name / f"seed-{seed}" / "metrics.jsonl"
            if not path.exists():
                continue
            for line in path.read_text().splitlines():
                record = json.loads(line)
                step = record.pop("step")
                for metric, value in record.items():
                    curves.setdefault(metric, {}).setdefault(arm.name, {}).setdefault(
                        step, []).append(value)
    return curves


def plot_curves(directory: Path, spec: RunSpec, filename: str = "curves.png") -> Path | None:
    """Draw mean (line) and min-max over seeds (band) per arm; returns the PNG path."""
    curves = _curves(directory, spec)
    if not curves:
        return None
    path = directory / filename
    path.write_bytes(plot_curves_png(curves, sorted(curves), spec.name))
    return path


def plot_curves_png(data: Curves, metrics: Sequence[str], title: str,
                    styles: Mapping[str, Mapping[str, str]] | None = None) -> bytes:
    """A PNG with one panel per metric: per line the mean over seeds and its min-max band.

    A loss whose values are all positive is drawn on a log scale, where losses that differ by
    orders of magnitude early in training stay readable. ``styles`` (from
    :func:`line_styles`) gives each line its colour and dash pattern.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    columns = min(3, len(metrics))
    rows = -(-len(metrics) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.6 * rows), squeeze=False)
    for axis, metric in zip(axes.flat, metrics, strict=False):
        for label, by_step in data[metric].items():
            steps = np.array(sorted(by_step))
            values = [np.asarray(by_step[s], dtype=float) for s in steps]
            mean = np.array([v.mean() for v in values])
            style = dict((styles or {}).get(label, {}))
            (line,) = axis.plot(steps, mean, label=label,
                                marker="." if len(steps) < 30 else None, **style)
            axis.fill_between(steps, [v.min() for v in values], [v.max() for v in values],
                              alpha=0.2, color=line.get_color())
        axis.set_title(metric)
        axis.set_xlabel("update")
        if metric.endswith("loss") and all(
            min(min(v) for v in by_step.values()) > 0 for by_step in data[metric].values()
        ):
            axis.set_yscale("log")
        axis.legend(fontsize="small")
    for axis in list(axes.flat)[len(metrics):]:
        axis.set_visible(False)
    figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()
