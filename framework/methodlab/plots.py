"""Learning-curve figures (PNG) of a run: one panel per metric, one line per arm."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from methodlab.runfile import RunSpec

__all__ = ["plot_curves"]


def _curves(directory: Path, spec: RunSpec) -> dict[str, dict[str, dict[int, list[float]]]]:
    """``{metric: {arm: {step: [value per seed]}}}`` from the trials' metrics files."""
    curves: dict[str, dict[str, dict[int, list[float]]]] = {}
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = sorted(curves)
    columns = min(3, len(metrics))
    rows = -(-len(metrics) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.6 * rows), squeeze=False)
    for axis, metric in zip(axes.flat, metrics, strict=False):
        for arm, by_step in curves[metric].items():
            steps = np.array(sorted(by_step))
            values = [np.asarray(by_step[s], dtype=float) for s in steps]
            mean = np.array([v.mean() for v in values])
            axis.plot(steps, mean, label=arm, marker="." if len(steps) < 30 else None)
            axis.fill_between(steps, [v.min() for v in values], [v.max() for v in values],
                              alpha=0.2)
        axis.set_title(metric)
        axis.set_xlabel("update")
        if metric.endswith("loss") and all(
            min(min(v) for v in by_step.values()) > 0 for by_step in curves[metric].values()
        ):
            axis.set_yscale("log")
        axis.legend(fontsize="small")
    for axis in list(axes.flat)[len(metrics):]:
        axis.set_visible(False)
    figure.suptitle(spec.name)
    figure.tight_layout()
    path = directory / filename
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
