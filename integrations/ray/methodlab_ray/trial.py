"""One trial of a sweep (a grid point and a seed), run where a backend places it.

:func:`run_trial` is the function both backends execute in their worker processes; it never
raises, so one failing trial cannot take the others down: its error comes back in
:class:`TrialOutcome`.
"""

from __future__ import annotations

import os
import shutil
import time
import traceback
from pathlib import Path
from typing import Any

import attrs

__all__ = ["RESOLVED", "SUMMARY", "TrialOutcome", "TrialTask", "run_trial", "trial_state"]

SUMMARY = "summary.json"
"""A trial is finished when its run directory has this file (written last by the core)."""
RESOLVED = "resolved.toml"
"""A run directory with this file but no summary was interrupted and can be resumed."""


@attrs.frozen
class TrialTask:
    """What a worker needs to run one trial; plain data, so it pickles to any backend."""

    file: str
    """The run file, absolute."""
    overrides: tuple[str, ...]
    """The point's overrides, then ``seeds=[s]`` and ``name="<label>-seed-<s>"``."""
    trials_dir: str
    """``<sweep>/trials``, absolute; the run directory is ``trials_dir/<name>``."""
    name: str
    point: str
    seed: int
    cwd: str
    """The directory the sweep started in: relative paths in run files (``../shared/data``)
    resolve against it, as they would for ``methodlab run``."""


@attrs.frozen
class TrialOutcome:
    """What came back from a trial: its run summary, or its error."""

    point: str
    seed: int
    directory: str
    summary: dict[str, Any] | None
    seconds: float
    resumed: bool = False
    """True when the trial continued an interrupted run directory."""
    error: str | None = None
    """``ExceptionType: message`` (one line); the traceback is in ``details``."""
    details: str | None = None
    reused: bool = False
    """True when the trial had finished in an earlier call and was not run again."""


def trial_state(directory: Path) -> str:
    """``finished``, ``interrupted`` (resumable), ``empty`` or ``missing``."""
    if (directory / SUMMARY).exists():
        return "finished"
    if (directory / RESOLVED).exists():
        return "interrupted"
    return "empty" if directory.exists() else "missing"


def run_trial(task: TrialTask) -> TrialOutcome:
    """Run (or continue) one trial with :func:`methodlab.api.run`; never raises.

    An interrupted trial (``resolved.toml`` but no ``summary.json``) continues from its last
    checkpoint through the core's resume, which also refuses a run file that has changed
    since; a directory without ``resolved.toml`` holds nothing to keep and starts over.
    """
    from methodlab import api

    start = time.perf_counter()
    directory = Path(task.trials_dir) / task.name
    state = trial_state(directory)
    try:
        if Path(task.cwd).is_dir():
            os.chdir(task.cwd)
        if state == "interrupted":
            outcome = api.run(task.file, overrides=task.overrides, resume=directory, quiet=True)
        else:
            if state == "empty":
                shutil.rmtree(directory)
            outcome = api.run(task.file, out=task.trials_dir, overrides=task.overrides,
                              quiet=True)
        summary = outcome.summary
    except Exception as exc:  # reported in the sweep's summary, the others go on
        message = " ".join(str(exc).split()) or "(no message)"
        return TrialOutcome(task.point, task.seed, str(directory), None,
                            time.perf_counter() - start, state == "interrupted",
                            f"{type(exc).__name__}: {message}", traceback.format_exc())
    return TrialOutcome(task.point, task.seed, str(directory), summary,
                        time.perf_counter() - start, state == "interrupted")
