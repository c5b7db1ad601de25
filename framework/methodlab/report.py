"""A self-contained static HTML page for one run or a set of runs.

The page shows, per run: each claim with its verdict and numbers, the arms' final metrics
(mean ± std over seeds), the learning curves, the trials, the resolved run file and the
plugin versions; for several runs also a table of all arms side by side and overlay curves.
Everything is inline (CSS in a ``<style>`` element, figures as base64 PNG ``data:`` URIs, no
scripts), so the page opens offline and can be mailed or archived as one file.

Example::

    from methodlab.report import write_report

    path = write_report(["methodlab-runs/quickstart"])   # methodlab-runs/quickstart/report.html
"""

from __future__ import annotations

import base64
import datetime
import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from methodlab.compare import RunResult, curves, line_styles, load_runs, merged_arms
from methodlab.plots import plot_curves_png
from methodlab.summary import default_columns

__all__ = ["render_report", "write_report"]

# The claims tables' header colour; the screenshot test looks for it (tests/test_report.py).
CLAIMS_HEADER = "#1f3a5f"
PASS_COLOUR = "#1b7f3b"
FAIL_COLOUR = "#b3261e"

_STYLE = f"""
body {{ font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       margin: 2em auto; max-width: 1200px; color: #1a1a1a; background: #ffffff;
       padding: 0 1em; }}
h1 {{ font-size: 1.6em; margin-bottom: 0.2em; }}
h2 {{ border-bottom: 2px solid #d0d7de; padding-bottom: 0.2em; margin-top: 1.8em; }}
.meta {{ color: #57606a; margin-top: 0; }}
table {{ border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.92em; }}
th, td {{ border: 1px solid #d0d7de; padding: 0.35em 0.7em; text-align: left;
         vertical-align: top; }}
th {{ background: #eef2f6; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
table.claims th {{ background: {CLAIMS_HEADER}; color: #ffffff; }}
td.verdict {{ font-weight: bold; color: #ffffff; text-align: center; }}
td.pass {{ background: {PASS_COLOUR}; }}
td.fail {{ background: {FAIL_COLOUR}; }}
.statement {{ font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.9em; }}
img {{ max-width: 100%; height: auto; border: 1px solid #d0d7de; }}
pre {{ background: #f6f8fa; border: 1px solid #d0d7de; padding: 0.8em; overflow-x: auto;
      font-size: 0.85em; }}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "nan"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _numbers(values: Sequence[Any]) -> str:
    return "[" + ", ".join(_number(value) for value in values) + "]"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    """An HTML table; cells are given as HTML (escaped by the caller)."""
    head = "".join(f"<th>{cell}</th>" for cell in header)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    klass = f' class="{css}"' if css else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _claim_numbers(verdict: Mapping[str, Any]) -> str:
    """The numbers behind a verdict, as the claim kind has them (HTML)."""
    if "error" in verdict:
        return f"error: {_e(verdict['error'])}"
    if "pairs_holding" in verdict:
        pairs = "; ".join(
            f"{_e(key)} {'✓' if pair['passed'] else '✗'}"
            + (f" ({_number(pair['left'])} vs {_number(pair['right'])})" if "left" in pair
               else "")
            for key, pair in verdict["pairs"].items())
        return (f"holds for {verdict['pairs_holding']} of {len(verdict['pairs'])} arm pairs "
                f"(need {verdict['pairs_needed']}): {pairs}")
    if "seeds_holding" in verdict:
        return (f"holds in {verdict['seeds_holding']} of {len(verdict['left_per_seed'])} seeds "
                f"(need {verdict['seeds_needed']}); left per seed "
                f"{_numbers(verdict['left_per_seed'])}, right per seed "
                f"{_numbers(verdict['right_per_seed'])}")
    text = f"left {_number(verdict['left'])}, right {_number(verdict['right'])}"
    if "left_per_seed" in verdict:
        text += (f"; per seed: left {_numbers(verdict['left_per_seed'])}, right "
                 f"{_numbers(verdict['right_per_seed'])}")
    elif "pairs" in verdict:
        text += "; per pair: " + ", ".join(
            f"{_e(key)} {_number(pair.get('left'))} vs {_number(pair.get('right'))}"
            for key, pair in verdict["pairs"].items())
    return text


def _claims_table(runs: Sequence[RunResult]) -> str:
    several = len(runs) > 1
    rows = []
    for run in runs:
        for verdict in run.summary.get("claims", []):
            mark, css = ("PASS", "pass") if verdict["passed"] else ("FAIL", "fail")
            row = [f'<td class="verdict {css}">{mark}</td>']
            if several:
                row.append(f"<td>{_e(run.label)}</td>")
            row += [f"<td>{_e(verdict['name'])}</td>",
                    f'<td class="statement">{_e(verdict["statement"])}</td>',
                    f"<td>{_claim_numbers(verdict)}</td>"]
            rows.append(row)
    if not rows:
        return '<p class="claims-none">No claims in this run file.</p>'
    header = ["verdict", *(["run"] if several else []), "claim", "statement", "numbers"]
    return _table(header, rows, css="claims")


def _stats_cell(stats: Mapping[str, Any] | None) -> str:
    if stats is None:
        return '<td class="num">-</td>'
    mean, std = stats.get("mean"), stats.get("std")
    text = _number(mean)
    if isinstance(std, float) and math.isfinite(std) and std:
        text += f" ± {std:.2g}"
    seeds = _numbers(stats.get("per_seed", []))
    return f'<td class="num" title="per seed: {_e(seeds)}">{_e(text)}</td>'


def _arms_table(arms: Mapping[str, Mapping[str, Any]], label: str = "arm") -> str:
    columns = default_columns({"arms": arms})
    rows = [[f"<td>{_e(arm)}</td>", *(_stats_cell(metrics.get(c)) for c in columns)]
            for arm, metrics in arms.items()]
    return _table([label, *map(_e, columns)], rows)


def _figure(runs: Sequence[RunResult], title: str) -> str:
    data = curves(runs)
    if not data:
        return "<p>No learning curves recorded.</p>"
    png = plot_curves_png(data, sorted(data), title, line_styles(runs))
    encoded = base64.b64encode(png).decode("ascii")
    return (f'<img alt="learning curves of {_e(title)}: mean over seeds with min-max band" '
            f'src="data:image/png;base64,{encoded}">')


def _trials_table(summary: Mapping[str, Any]) -> str:
    rows = [[f"<td>{_e(t['arm'])}</td>", f'<td class="num">{_e(t["seed"])}</td>',
             f"<td>{_e(t['status'])}</td>", f'<td class="num">{_e(t["steps"])}</td>',
             f'<td class="num">{_number(t["seconds"])}</td>',
             f"<td>{_e(t.get('error') or '')}</td>"]
            for t in summary.get("trials", [])]
    return _table(["arm", "seed", "status", "steps", "seconds", "error"], rows)


def _plugins_table(summary: Mapping[str, Any]) -> str:
    rows = [[f"<td>{_e(name)}</td>", f"<td>{_e(version)}</td>"]
            for name, version in sorted(summary.get("plugins", {}).items())]
    return _table(["distribution", "version"], rows)


def _run_section(run: RunResult, several: bool) -> str:
    description = run.resolved.get("description")
    parts = [f'<section class="run"><h2>{_e(run.label)}</h2>']
    if description:
        parts.append(f"<p>{_e(description)}</p>")
    parts.append(f'<p class="meta">directory {_e(run.directory)}; seeds '
                 f"{_e(', '.join(map(str, run.summary.get('seeds', []))))}</p>")
    if several:
        # The page's first table has every run's claims; repeat this run's here.
        parts += ["<h3>Claims</h3>", _claims_table([run])]
    parts += ["<h3>Final metrics (mean ± std over seeds)</h3>",
              _arms_table(run.summary["arms"]),
              "<h3>Learning curves</h3>", _figure([run], run.label),
              "<h3>Trials</h3>", _trials_table(run.summary),
              "<h3>Resolved run file</h3>",
              f"<pre>{_e(run.resolved_text) or 'resolved.toml is missing'}</pre>",
              "<h3>Plugin versions</h3>", _plugins_table(run.summary),
              "</section>"]
    return "\n".join(parts)


def render_report(runs: Sequence[RunResult]) -> str:
    """The HTML page for ``runs`` (see the module docstring for what it shows)."""
    from methodlab import __version__

    several = len(runs) > 1
    title = "methodlab report: " + ", ".join(run.label for run in runs)
    verdicts = [v for run in runs for v in run.summary.get("claims", [])]
    held = sum(bool(v["passed"]) for v in verdicts)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{_e(title)}</h1>",
             f'<p class="meta">{len(runs)} run{"s" if several else ""}; {held} of '
             f"{len(verdicts)} claims hold; written {now} by methodlab {_e(__version__)}</p>",
             "<h2>Claims</h2>", _claims_table(runs)]
    if several:
        parts += ["<h2>All arms (mean ± std over seeds)</h2>",
                  _arms_table(merged_arms(runs), label="run/arm"),
                  "<h2>Learning curves, overlaid</h2>",
                  _figure(runs, " vs ".join(run.label for run in runs))]
    parts += [_run_section(run, several) for run in runs]
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_report(directories: Sequence[str | Path], out: str | Path | None = None) -> Path:
    """Write the report of the runs in ``directories`` and return its path.

    :param out: the HTML file; by default ``<run>/report.html`` for one run and
        ``./report.html`` for several.
    :raises UserError: for a directory that is not a finished run.
    """
    runs = load_runs(directories)
    if out is None:
        path = runs[0].directory / "report.html" if len(runs) == 1 else Path("report.html")
    else:
        path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(runs), encoding="utf-8")
    return path
