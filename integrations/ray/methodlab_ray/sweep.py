"""A sweep: every grid point times every seed as one trial, then one aggregated summary.

Layout of the sweep directory ``<out>/<run name>/``::

    trials/<point>-seed-<s>/   one methodlab run directory per trial (resolved.toml,
                               metrics.jsonl, checkpoints, summary.json)
    summary.json               the aggregate (see methodlab_ray.aggregate)
    plots/<key>.png            each metric against each grid key

Example::

    from methodlab_ray.config import SweepOptions, parse_axis
    from methodlab_ray.sweep import sweep

    result = sweep(SweepOptions("runs/quickstart.toml", seeds=3, backend="ray",
                                grid=(parse_axis("arms.sgd.optimizer.lr=0.05,0.1,0.2"),)))
    print(result.summary["points"][0]["arms"]["sgd"]["train.loss"]["mean"])
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import attrs
from methodlab.api import comparable
from methodlab.errors import RunFileError, UserError
from methodlab.plugin_manager import get_plugin_system
from methodlab.runfile import load_run_file
from methodlab.runner import load_resolved
from methodlab.summary import json_safe

from methodlab_ray.aggregate import aggregate, plot_sweep
from methodlab_ray.backends import local_gpus, run_tasks
from methodlab_ray.config import Point, SweepOptions, points
from methodlab_ray.trial import SUMMARY, TrialOutcome, TrialTask, trial_state

__all__ = ["SweepResult", "sweep", "trial_overrides"]


@attrs.frozen
class SweepResult:
    """What :func:`sweep` returns."""

    directory: Path
    summary: dict[str, Any]
    plots: list[Path]
    ran: int
    """Trials run (or continued) by this call; the others had finished before."""

    @property
    def failed(self) -> int:
        return self.summary["failed"]


def trial_overrides(point: Point, seed: int) -> list[str]:
    """The overrides of one trial: the point's, then its seed and its run name.

    Example:
        >>> trial_overrides(Point((("optimizer.lr", "0.1"),)), 2)
        ['optimizer.lr=0.1', 'seeds=[2]', 'name="optimizer.lr-0.1-seed-2"']
    """
    return [*point.overrides, f"seeds=[{seed}]", f'name="{point.trial_name(seed)}"']


def _read_summary(directory: Path) -> dict[str, Any]:
    return json.loads((directory / SUMMARY).read_text())


def sweep(options: SweepOptions, stream: TextIO = sys.stderr) -> SweepResult:
    """Run the trials of ``options`` that have not finished, then aggregate all of them.

    Every point is validated before anything runs (a bad key or value is a one-line
    :class:`~methodlab.errors.RunFileError`), and an existing trial directory must hold the
    same run as the trial it stands for, so a changed run file cannot mix into the results.
    Progress and trial errors go to ``stream``.
    """
    plugins = get_plugin_system()
    path = Path(options.file).resolve()
    base = load_run_file(options.file, (), plugins)
    grid_points = points(options.grid)
    seeds = list(range(options.seeds))
    directory = Path(options.out).resolve() / base.name
    trials_dir = directory / "trials"
    finished: dict[tuple[str, int], TrialOutcome] = {}
    tasks: list[TrialTask] = []
    for point in grid_points:
        for seed in seeds:
            overrides = trial_overrides(point, seed)
            try:
                spec = load_run_file(options.file, overrides, plugins)
            except RunFileError as exc:
                # A grid value the run file's schema rejects is a mistake in --grid.
                where = ", ".join(f"{key}={value}" for key, value in point.assignments)
                problems = [line.removeprefix(f"{options.file}: ") for line in exc.problems]
                raise RunFileError([f"--grid {where}: {line}" for line in problems]) from None
            trial_dir = trials_dir / point.trial_name(seed)
            state = trial_state(trial_dir)
            if state in ("finished", "interrupted") and (
                    comparable(load_resolved(trial_dir, plugins)) != comparable(spec)):
                raise UserError(f"{trial_dir} holds a run with other settings than "
                                f"{options.file} with {overrides[:-2]}; sweep into another "
                                "--out, or delete it")
            if state == "finished":
                finished[point.label, seed] = TrialOutcome(
                    point.label, seed, str(trial_dir), _read_summary(trial_dir), 0.0,
                    reused=True)
            else:
                tasks.append(TrialTask(str(path), tuple(overrides), str(trials_dir),
                                       point.trial_name(seed), point.label, seed,
                                       os.getcwd()))
    local_gpus(options)  # a machine without the GPUs asked for fails before anything runs
    total = len(grid_points) * len(seeds)
    print(f"sweep {base.name}: {total} trial(s) ({len(grid_points)} point(s) x {len(seeds)} "
          f"seed(s)); {len(finished)} finished earlier, {len(tasks)} to run on the "
          f"{options.backend} backend", file=stream)
    outcomes = dict(finished)
    start = time.perf_counter()
    try:
        for outcome in run_tasks(tasks, options):
            outcomes[outcome.point, outcome.seed] = outcome
            done = len(outcomes) - len(finished)
            verb = "continued and finished" if outcome.resumed else "finished"
            if outcome.error is None:
                print(f"[{done}/{len(tasks)}] {outcome.point} seed {outcome.seed}: {verb} in "
                      f"{outcome.seconds:.1f} s", file=stream)
            else:
                print(f"[{done}/{len(tasks)}] {outcome.point} seed {outcome.seed}: failed: "
                      f"{outcome.error}", file=stream)
    except KeyboardInterrupt:
        kept = sum(o.summary is not None for o in outcomes.values())
        print(f"interrupted; run the same command again to continue: the {kept} finished "
              f"trial(s) in {trials_dir} are kept", file=stream)
        raise
    summary = aggregate(base.name, options.grid, seeds, grid_points, outcomes)
    summary.update(file=str(path), backend=options.backend,
                   wall_seconds=round(time.perf_counter() - start, 3))
    directory.mkdir(parents=True, exist_ok=True)  # even when no trial got as far as its run
    plots = plot_sweep(summary, directory)
    # As summary.json has it: NaN (a metric a trial does not reach) as None, which compares
    # equal to itself, so two sweeps' summaries can be compared.
    summary = json_safe(summary)
    (directory / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    return SweepResult(directory, summary, plots, len(tasks))
