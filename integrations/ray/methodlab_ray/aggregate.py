r"""A sweep's trials aggregated per grid point: ``summary.json``, a table and plots.

For a grid point :math:`p`, an arm :math:`a` and a final metric :math:`m`, the trials of the
seeds :math:`s \in S_p` that finished give values :math:`x_s`; the summary records

.. math::  \bar x = \frac{1}{|S_p|}\sum_{s\in S_p} x_s, \qquad
           \hat\sigma = \sqrt{\frac{1}{|S_p|-1}\sum_{s\in S_p}(x_s-\bar x)^2}

(the sample standard deviation, 0 for one seed; both NaN, written ``null``, when a value is
not finite), as the core does across a run's seeds. Failed trials are left out of
:math:`S_p` and listed with their errors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from methodlab.summary import default_columns, format_table, mean_std

from methodlab_ray.config import GridAxis, Point
from methodlab_ray.trial import TrialOutcome

__all__ = ["aggregate", "format_sweep_table", "plot_sweep"]


def _final(summary: Mapping[str, Any], arm: str, key: str) -> float:
    value = summary["arms"][arm][key]["per_seed"][0]
    return math.nan if value is None else float(value)


def aggregate(name: str, grid: Sequence[GridAxis], seeds: Sequence[int], points: Sequence[Point],
              outcomes: Mapping[tuple[str, int], TrialOutcome]) -> dict[str, Any]:
    """The sweep summary: per point, per arm, per final metric ``mean``/``std``/``per_seed``.

    ``outcomes`` maps ``(point label, seed)`` to each trial's outcome; a trial's run summary
    holds one seed, whose final values are collected in seed order.
    """
    axes = {axis.key: axis for axis in grid}
    records = []
    for point in points:
        done = [(seed, outcomes[point.label, seed]) for seed in seeds]
        finished = [(seed, o.summary) for seed, o in done if o.summary is not None]
        arms: dict[str, dict[str, Any]] = {}
        for arm in dict.fromkeys(a for _, s in finished for a in s["arms"]):
            keys = sorted({k for _, s in finished for k in s["arms"].get(arm, {})})
            arms[arm] = {key: mean_std([_final(s, arm, key) if key in s["arms"].get(arm, {})
                                        else math.nan for _, s in finished])
                         for key in keys}
        claims: dict[str, list[bool]] = {}
        for _, summary in finished:
            for claim in summary.get("claims", []):
                claims.setdefault(claim["name"], []).append(bool(claim["passed"]))
        records.append({
            "label": point.label,
            "values": {key: axes[key].values[axes[key].raw.index(raw)]
                       for key, raw in point.assignments},
            "seeds": [seed for seed, _ in finished],
            "failed_seeds": [seed for seed, o in done if o.summary is None],
            "arms": arms,
            "claims_passed": claims,
        })
    trials = [{"point": o.point, "seed": o.seed, "directory": o.directory,
               "status": "finished" if o.summary is not None else "failed",
               "reused": o.reused, "resumed": o.resumed, "seconds": round(o.seconds, 3),
               "error": o.error}
              for o in (outcomes[p.label, s] for p in points for s in seeds)]
    return {"name": name, "grid": {axis.key: axis.values for axis in grid},
            "seeds": list(seeds), "points": records, "trials": trials,
            "failed": sum(t["status"] == "failed" for t in trials)}


def format_sweep_table(summary: Mapping[str, Any], columns: Sequence[str] | None = None) -> str:
    """One row per grid point and arm, ``mean ± std`` over seeds (the core's run table)."""
    rows = {f"{point['label']}  {arm}": metrics
            for point in summary["points"] for arm, metrics in point["arms"].items()}
    if not rows:
        return "no trial finished"
    return format_table({"arms": rows}, columns)


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(x, int | float) and not isinstance(x, bool) for x in values)


def plot_sweep(summary: Mapping[str, Any], directory: Path) -> list[Path]:
    """``plots/<key>.png`` per grid key with two or more values: each metric against the key.

    One panel per metric (the columns of the table), one line per arm and per combination of
    the other keys' values, error bars one standard deviation over seeds. A numeric key whose
    positive values span a factor of 10 or more is drawn on a log axis; other values are
    categories in ``--grid`` order.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [p for p in summary["points"] if p["arms"]]
    if not points:
        return []
    metrics = default_columns({"arms": {f"{p['label']} {arm}": m for p in points
                                        for arm, m in p["arms"].items()}})
    paths = []
    (directory / "plots").mkdir(exist_ok=True)
    for key, values in summary["grid"].items():
        if len(values) < 2 or not metrics:
            continue
        numeric = _numeric(values)
        columns = min(3, len(metrics))
        rows = -(-len(metrics) // columns)
        figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.6 * rows),
                                    squeeze=False)
        for axis, metric in zip(axes.flat, metrics, strict=False):
            lines: dict[str, list[tuple[Any, float, float]]] = {}
            for point in points:
                others = ", ".join(f"{k.rsplit('.', 1)[-1]}={v}"
                                   for k, v in point["values"].items() if k != key
                                   and len(summary["grid"][k]) > 1)
                x = point["values"][key] if numeric else values.index(point["values"][key])
                for arm, stats in point["arms"].items():
                    if metric in stats:
                        label = f"{arm} ({others})" if others else arm
                        lines.setdefault(label, []).append(
                            (x, stats[metric]["mean"], stats[metric]["std"]))
            for label, data in lines.items():
                data.sort(key=lambda item: item[0])
                axis.errorbar([d[0] for d in data], [d[1] for d in data],
                              yerr=[d[2] for d in data], marker="o", capsize=3, label=label)
            if numeric and min(values) > 0 and max(values) >= 10 * min(values):
                axis.set_xscale("log")
            # ticks at the grid's values only: a log axis' minor labels would overlap them
            axis.set_xticks(values if numeric else range(len(values)),
                            [f"{v:g}" if numeric else str(v) for v in values])
            axis.minorticks_off()
            axis.set_title(metric)
            axis.set_xlabel(key)
            axis.legend(fontsize="small")
        for axis in list(axes.flat)[len(metrics):]:
            axis.set_visible(False)
        figure.suptitle(f"{summary['name']}: mean ± std over seeds")
        figure.tight_layout()
        path = directory / "plots" / f"{key}.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        paths.append(path)
    return paths
