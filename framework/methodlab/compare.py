"""Comparison of finished runs: a table of arms across runs and overlay learning curves.

A run directory (what ``methodlab run`` writes) holds ``summary.json`` (final metrics per arm:
mean, sample standard deviation and per-seed values) and ``metrics.jsonl`` (one record per
arm, seed and step). :func:`compare` reads several of them and puts their arms side by side;
an arm is labelled ``<run>/<arm>`` when more than one run is compared.

Example::

    from methodlab.compare import compare

    comparison = compare(["methodlab-runs/quickstart", "other/quickstart"],
                         metrics=["train.loss"], out="methodlab-compare")
    print(comparison.table)          # one row per run and arm: mean ± std over seeds
    print(comparison.plots)          # (Path('methodlab-compare/compare-train.loss.png'),)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from methodlab.errors import UserError
from methodlab.plots import Curves, plot_curves_png
from methodlab.runfile import read_toml
from methodlab.summary import default_columns, format_table

__all__ = ["Comparison", "RunResult", "compare", "curves", "line_styles", "load_runs",
           "merged_arms"]

# {metric: {line label: {step: [value per seed]}}}


@attrs.frozen
class RunResult:
    """A finished run as read back from its directory."""

    directory: Path
    label: str
    """The run's name, or its directory where two compared runs share a name."""
    summary: dict[str, Any]
    """``summary.json``: arms, per-seed values, trials, plugin versions and claims."""
    records: list[dict[str, Any]]
    """``metrics.jsonl``: one ``{"arm", "seed", "step", <metric>: value, ...}`` per record."""
    resolved: dict[str, Any]
    """``resolved.toml`` parsed (empty when the file is missing)."""
    resolved_text: str


@attrs.frozen
class Comparison:
    """What :func:`compare` returns."""

    runs: tuple[RunResult, ...]
    arms: dict[str, dict[str, dict[str, Any]]]
    """``{row label: {metric: {"mean", "std", "per_seed"}}}`` with one row per run and arm."""
    columns: tuple[str, ...]
    table: str
    """The plain-text table: one row per run and arm, ``mean ± std`` over seeds."""
    plots: tuple[Path, ...]
    """One overlay PNG per metric (empty when no output directory was given)."""


def load_runs(directories: Sequence[str | Path]) -> list[RunResult]:
    """Read each finished run directory.

    :raises UserError: for a directory without ``summary.json`` (one line naming it).
    """
    if not directories:
        raise UserError("give at least one run directory")
    loaded = []
    seen: set[Path] = set()
    for directory in map(Path, directories):
        if directory.resolve() in seen:
            raise UserError(f"{directory}: given twice")
        seen.add(directory.resolve())
        summary_path = directory / "summary.json"
        if not directory.is_dir():
            raise UserError(f"{directory}: no such run directory")
        if not (directory / "resolved.toml").exists():
            raise UserError(f"{directory}: not a methodlab run directory (no resolved.toml)")
        if not summary_path.exists():
            raise UserError(f"{directory}: no summary.json (an unfinished run? continue it with "
                            f"'methodlab run --resume {directory}')")
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        metrics_path = directory / "metrics.jsonl"
        records = ([json.loads(line) for line in metrics_path.read_text().splitlines() if line]
                   if metrics_path.exists() else [])
        resolved_path = directory / "resolved.toml"
        text = resolved_path.read_text(encoding="utf-8") if resolved_path.exists() else ""
        resolved = read_toml(resolved_path) if text else {}
        loaded.append((directory, summary, records, resolved, text))
    names = [summary["name"] for _, summary, *_ in loaded]
    # The same run file run twice (another --out, another machine) gives two runs of one name;
    # their directories tell them apart.
    return [RunResult(directory, summary["name"] if names.count(summary["name"]) == 1
                      else str(directory), summary, records, resolved, text)
            for directory, summary, records, resolved, text in loaded]


def _row_label(run: RunResult, arm: str, several: bool) -> str:
    return f"{run.label}/{arm}" if several else arm


def curves(runs: Sequence[RunResult]) -> Curves:
    """``{metric: {line: {step: [value per seed]}}}`` from the runs' ``metrics.jsonl``; a
    line is an arm, or ``<run>/<arm>`` when there are several runs."""
    result: Curves = {}
    for run in runs:
        for record in run.records:
            label = _row_label(run, record["arm"], len(runs) > 1)
            for metric, value in record.items():
                if metric in ("arm", "seed", "step") or value is None:
                    continue
                result.setdefault(metric, {}).setdefault(label, {}).setdefault(
                    record["step"], []).append(float(value))
    return result


_DASHES = ("-", "--", ":", "-.")


def line_styles(runs: Sequence[RunResult]) -> dict[str, dict[str, str]]:
    """Matplotlib styles per line of :func:`curves`: one colour per arm name and one dash
    pattern per run, so the same arm in two runs reads as one method under two settings."""
    arms = list(dict.fromkeys(arm for run in runs for arm in run.summary["arms"]))
    return {_row_label(run, arm, len(runs) > 1):
            {"color": f"C{arms.index(arm) % 10}", "linestyle": _DASHES[index % len(_DASHES)]}
            for index, run in enumerate(runs) for arm in run.summary["arms"]}


def merged_arms(runs: Sequence[RunResult]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{row label: {metric: stats}}``: every run's ``summary["arms"]`` under one roof."""
    return {_row_label(run, arm, len(runs) > 1): metrics
            for run in runs for arm, metrics in run.summary["arms"].items()}


def _check_metrics(metrics: Sequence[str], arms: Mapping[str, Mapping[str, Any]],
                   data: Curves) -> None:
    known = {metric for stats in arms.values() for metric in stats} | set(data)
    unknown = [metric for metric in metrics if metric not in known]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UserError(f"--metric {unknown[0]!r}: no run has this metric{hint}; they have: "
                        f"{', '.join(sorted(known))}")


def _file_name(metric: str) -> str:
    safe = "".join(c if c.isalnum() or c in "._-@" else "_" for c in metric)
    return f"compare-{safe}.png"


def compare(directories: Sequence[str | Path], *, metrics: Sequence[str] = (),
            out: str | Path | None = None) -> Comparison:
    """Put the arms of finished runs side by side.

    :param directories: run directories (each with ``summary.json``).
    :param metrics: the metrics to tabulate and plot (default: every final metric in the
        table, as ``methodlab run`` prints it, and every recorded curve).
    :param out: where to write one overlay PNG per metric, ``compare-<metric>.png``; no
        plots when ``None``.
    :raises UserError: for a directory that is not a finished run, or an unknown metric.
    """
    runs = load_runs(directories)
    arms = merged_arms(runs)
    data = curves(runs)
    _check_metrics(metrics, arms, data)
    columns = list(metrics) or default_columns({"arms": arms})
    table = format_table({"arms": arms}, columns)
    plots: list[Path] = []
    if out is not None:
        directory = Path(out)
        directory.mkdir(parents=True, exist_ok=True)
        title = " vs ".join(run.label for run in runs)
        for metric in [m for m in (metrics or sorted(data)) if m in data]:
            path = directory / _file_name(metric)
            path.write_bytes(plot_curves_png(data, [metric], title, line_styles(runs)))
            plots.append(path)
    return Comparison(tuple(runs), arms, tuple(columns), table, tuple(plots))

