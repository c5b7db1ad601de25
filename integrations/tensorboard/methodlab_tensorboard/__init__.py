"""TensorBoard event files for methodlab runs.

Registers the ``[integrations.tensorboard]`` settings table and the lifecycle hooks that
write the events. The integration is active for a run whose run file has the table, or when
``METHODLAB_INTEGRATIONS`` lists ``tensorboard`` (comma-separated, e.g.
``METHODLAB_INTEGRATIONS=tensorboard,mlflow``); being installed is not enough, so an environment
with every integration installed writes nothing extra. torch's TensorBoard writer is imported
only by an active run.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import methodlab

from methodlab_tensorboard.config import TensorBoardSettings

if TYPE_CHECKING:
    from methodlab.runner import Run, Trial

    from methodlab_tensorboard.writer import TensorBoardLogger

__all__ = [
    "NAME",
    "TensorBoardSettings",
    "methodlab_checkpoint_saved",
    "methodlab_evaluation_end",
    "methodlab_run_end",
    "methodlab_run_start",
    "methodlab_settings",
    "methodlab_step_end",
]

NAME = "tensorboard"

# Active runs by run directory: hooks receive a trial, whose directory is
# <run>/trials/<arm>/seed-<s>, so the run is found without a reference from trial to run.
_LOGGERS: dict[Path, TensorBoardLogger] = {}


def _logger(trial: Trial) -> TensorBoardLogger | None:
    if not _LOGGERS or trial.directory is None:
        return None
    return _LOGGERS.get(trial.directory.parents[2])


@methodlab.hookimpl
def methodlab_settings() -> Iterator[methodlab.SettingsSpec]:
    yield methodlab.SettingsSpec(
        name=NAME, params_cls=TensorBoardSettings,
        summary="Write every scalar, hyper-parameters and figures as TensorBoard events.")


@methodlab.hookimpl
def methodlab_run_start(run: Run) -> None:
    stale = _LOGGERS.pop(run.directory, None)
    if stale is not None:  # the same directory again in one process (a resume after a crash)
        stale.close()
    settings = run.integration_settings(NAME)
    if settings is None:
        return
    from methodlab_tensorboard.writer import TensorBoardLogger

    logger = TensorBoardLogger(run, settings)
    _LOGGERS[run.directory] = logger
    print(f"tensorboard: writing {logger.root} (tensorboard --logdir {logger.root})",
          file=sys.stderr, flush=True)


@methodlab.hookimpl
def methodlab_step_end(trial: Trial) -> None:
    logger = _logger(trial)
    if logger is not None:
        logger.sync(trial)


@methodlab.hookimpl
def methodlab_evaluation_end(trial: Trial) -> None:
    logger = _logger(trial)
    if logger is not None:
        logger.sync(trial)


@methodlab.hookimpl
def methodlab_checkpoint_saved(trial: Trial) -> None:
    logger = _logger(trial)
    if logger is not None:
        logger.flush(trial)


@methodlab.hookimpl
def methodlab_run_end(run: Run, summary: Mapping[str, Any]) -> None:
    logger = _LOGGERS.pop(run.directory, None)
    if logger is not None:
        logger.finish(summary)
