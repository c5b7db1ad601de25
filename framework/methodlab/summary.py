"""Aggregation of trial results into ``summary.json`` and the table printed after a run."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from methodlab.runfile import RunSpec
    from methodlab.runner import TrialResult

__all__ = ["aggregate", "format_table", "json_safe", "mean_std"]


def mean_std(values: Sequence[float]) -> dict[str, Any]:
    """Mean and sample standard deviation over seeds, NaN when a value is not finite.

    Example:
        >>> mean_std([1.0, 3.0])
        {'mean': 2.0, 'std': 1.4142135623730951, 'per_seed': [1.0, 3.0]}
    """
    finite = bool(values) and all(math.isfinite(x) for x in values)
    mean = statistics.fmean(values) if finite else math.nan
    std = statistics.stdev(values) if finite and len(values) > 1 else (0.0 if finite else math.nan)
    return {"mean": mean, "std": std, "per_seed": list(values)}


def aggregate(spec: RunSpec, results: Sequence[TrialResult], versions: Mapping[str, str]) -> dict:
    """Per-arm final metrics (mean, sample std, per seed) and per-trial status."""
    per_seed: dict[str, dict[str, list[float]]] = {}
    for arm in spec.arms:
        arm_results = [r for r in results if r.arm == arm.name]
        keys = sorted({key for r in arm_results for key in r.final})
        per_seed[arm.name] = {
            key: [r.final.get(key, math.nan) for r in arm_results] for key in keys
        }
    return {
        "name": spec.name,
        "seeds": list(spec.seeds),
        "arms": {arm: {key: mean_std(values) for key, values in metrics.items()}
                 for arm, metrics in per_seed.items()},
        "per_seed": per_seed,
        "trials": [
            {"arm": r.arm, "seed": r.seed, "status": r.status, "steps": r.steps,
             "seconds": round(r.seconds, 3), "error": r.error}
            for r in results
        ],
        "plugins": dict(versions),
    }


def json_safe(value: Any) -> Any:
    """Replace NaN and infinities by ``None`` so the file is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def default_columns(summary: Mapping[str, Any]) -> list[str]:
    keys: set[str] = set()
    for metrics in summary["arms"].values():
        keys.update(metrics)
    hidden = {"steps", "diverged_step"}
    if all(m.get("diverged", {}).get("mean") == 0.0 for m in summary["arms"].values()):
        hidden.add("diverged")
    return sorted(k for k in keys if not k.endswith("@start") and k not in hidden)


def format_table(summary: Mapping[str, Any], columns: Sequence[str] | None = None) -> str:
    """A plain-text table: one row per arm, ``mean ± std`` over seeds per metric."""
    columns = list(columns or default_columns(summary))
    header = ["arm", *columns]
    rows = []
    for arm, metrics in summary["arms"].items():
        row = [arm]
        for column in columns:
            stats = metrics.get(column)
            if stats is None:
                row.append("-")
            elif stats["std"] and math.isfinite(stats["std"]):
                row.append(f"{stats['mean']:.4g} ± {stats['std']:.2g}")
            else:
                row.append(f"{stats['mean']:.4g}")
        rows.append(row)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(r, widths, strict=True))
             for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)
