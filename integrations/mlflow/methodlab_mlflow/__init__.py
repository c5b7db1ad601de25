"""MLflow tracking for methodlab runs.

Registers the ``[integrations.mlflow]`` settings table and the lifecycle hooks that log each
run. The integration is active for a run whose run file has the table, or when
``METHODLAB_INTEGRATIONS`` lists ``mlflow`` (comma-separated, e.g.
``METHODLAB_INTEGRATIONS=tensorboard,mlflow``); being installed is not enough, so an environment
with every integration installed logs nothing. MLflow is imported only by an active run.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import methodlab

from methodlab_mlflow.config import MlflowSettings

if TYPE_CHECKING:
    from methodlab.runner import Run, Trial

    from methodlab_mlflow.tracker import MlflowTracker

__all__ = [
    "NAME",
    "MlflowSettings",
    "methodlab_checkpoint_saved",
    "methodlab_evaluation_end",
    "methodlab_run_end",
    "methodlab_run_start",
    "methodlab_settings",
    "methodlab_step_end",
]

NAME = "mlflow"

# Active runs by run directory: hooks receive a trial, whose directory is
# <run>/trials/<arm>/seed-<s>, so the run is found without a reference from trial to run.
_TRACKERS: dict[Path, MlflowTracker] = {}


def _tracker(trial: Trial) -> MlflowTracker | None:
    if not _TRACKERS or trial.directory is None:
        return None
    return _TRACKERS.get(trial.directory.parents[2])


@methodlab.hookimpl
def methodlab_settings() -> Iterator[methodlab.SettingsSpec]:
    yield methodlab.SettingsSpec(
        name=NAME, params_cls=MlflowSettings,
        summary="Log each arm and seed as an MLflow run under a parent run for the run file.")


@methodlab.hookimpl
def methodlab_run_start(run: Run) -> None:
    _TRACKERS.pop(run.directory, None)  # left over from an aborted run of this directory
    settings = run.integration_settings(NAME)
    if settings is None:
        return
    from methodlab_mlflow.tracker import MlflowTracker

    tracker = MlflowTracker(run, settings)
    _TRACKERS[run.directory] = tracker
    print(f"mlflow: logging to {tracker.uri}", file=sys.stderr, flush=True)


@methodlab.hookimpl
def methodlab_step_end(trial: Trial) -> None:
    tracker = _tracker(trial)
    if tracker is not None:
        tracker.sync(trial)


@methodlab.hookimpl
def methodlab_evaluation_end(trial: Trial) -> None:
    tracker = _tracker(trial)
    if tracker is not None:
        tracker.sync(trial)
        tracker.flush()


@methodlab.hookimpl
def methodlab_checkpoint_saved(trial: Trial) -> None:
    tracker = _tracker(trial)
    if tracker is not None:
        tracker.flush()


@methodlab.hookimpl
def methodlab_run_end(run: Run, summary: Mapping[str, Any]) -> None:
    tracker = _TRACKERS.pop(run.directory, None)
    if tracker is not None:
        tracker.finish(summary)
