"""Settings of the TensorBoard integration (imports attrs only)."""

from __future__ import annotations

from pathlib import PurePosixPath

import attrs
from attrs import validators as v

__all__ = ["TensorBoardSettings"]


def _inside_run(_instance: object, attribute: attrs.Attribute, value: str) -> None:
    # Messages start with the quoted field name: the run-file checker reports them as
    # "integrations.tensorboard.<field>: ...".
    path = PurePosixPath(value)
    if not value or path.is_absolute() or ".." in path.parts or "\\" in value:
        raise ValueError(f"'{attribute.name}' must be a relative path inside the run "
                         f"directory, got {value!r}")
    if path.parts[0] == "trials":
        raise ValueError(f"'{attribute.name}' must not be under 'trials', which holds the "
                         "run's checkpoints")


@attrs.frozen
class TensorBoardSettings:
    """The ``[integrations.tensorboard]`` table (every field optional).

    Example::

        [integrations.tensorboard]
        directory = "tensorboard"
    """

    directory: str = attrs.field(default="tensorboard", validator=_inside_run)
    """Log directory relative to the run directory: one TensorBoard run per trial in
    ``<directory>/<arm>/seed-<s>/``, the run's figures in ``<directory>/`` itself."""
    hparams: bool = True
    """Record each trial's resolved settings (``optimizer.lr``, ``train.steps``, ...) for the
    HParams dashboard."""
    figures: bool = True
    """At the end of the run, record ``curves.png`` and every other PNG the run wrote as
    images, and ``resolved.toml`` and the claims' verdicts as text."""
    flush_seconds: int = attrs.field(default=10, validator=v.gt(0))
    """Flush events to disk at least this often (seconds), so a live TensorBoard follows the
    run; they are also flushed at every checkpoint."""
