"""TensorBoard event files of one methodlab run.

Layout under the run directory (``directory`` = ``tensorboard`` by default)::

    tensorboard/                  the run's figures (images) and resolved.toml and claims (text)
    tensorboard/<arm>/seed-<s>/   one TensorBoard run per trial: every scalar of its
                                  metrics.jsonl under the same name (step.loss, train.loss, ...)
                                  at the same step, and its settings for the HParams dashboard

Scalars are written as float64 tensors (TensorBoard's "new style" scalar summaries), so the
values read back are the very floats of ``metrics.jsonl``, not float32 roundings.

``tensorboard --logdir methodlab-runs`` shows every run of an output directory side by side.
"""

from __future__ import annotations

import json
import shutil
import struct
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from tensorboard.compat.proto.summary_pb2 import Summary
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams

from methodlab_tensorboard.config import TensorBoardSettings

if TYPE_CHECKING:
    from methodlab.runner import Run, Trial

__all__ = ["TensorBoardLogger", "png_summary"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour type (IHDR byte 25) -> channels, TensorBoard's ``colorspace``.
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}


def png_summary(tag: str, data: bytes) -> Summary:
    """An image summary holding the PNG ``data`` as it is (no decoding or re-encoding).

    Width, height and channels come from the PNG header (IHDR), which TensorBoard shows.

    :raises ValueError: when ``data`` is not a PNG.
    """
    if data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise ValueError(f"{tag}: not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    image = Summary.Image(height=height, width=width,
                          colorspace=_PNG_CHANNELS.get(data[25], 4), encoded_image_string=data)
    return Summary(value=[Summary.Value(tag=tag, image=image)])


def _claims_markdown(claims: Iterable[Mapping[str, Any]]) -> str:
    rows = ["| claim | verdict | left | right |", "|---|---|---|---|"]
    for claim in claims:
        verdict = "PASS" if claim.get("passed") else "FAIL"
        rows.append(f"| {claim.get('name', '')} | {verdict} | {claim.get('left', '')} | "
                    f"{claim.get('right', '')} |")
    return "\n".join(rows)


def _no_trial() -> None:
    return None


@attrs.define
class _TrialLog:
    trial: Callable[[], Trial | None]
    """Weak reference to the trial object being followed (its model is not kept alive); a new
    object for the same arm and seed (a resume) starts the events over."""
    writer: SummaryWriter
    written: int = 0
    """How many records of the trial's history are in the event file."""


class TensorBoardLogger:
    """Writes one run's events: lifecycle hooks call :meth:`sync` after every update and
    evaluation, :meth:`flush` at checkpoints and :meth:`finish` at the end of the run."""

    def __init__(self, run: Run, settings: TensorBoardSettings) -> None:
        self.directory = run.directory
        self.root = run.directory / settings.directory
        self.settings = settings
        self.arms = {arm.name: arm for arm in run.spec.arms}
        self.seeds = tuple(run.spec.seeds)
        self._trials: dict[tuple[str, int], _TrialLog] = {}

    def trial_directory(self, arm: str, seed: int) -> Path:
        """Where the events of one trial go."""
        return self.root / arm / f"seed-{seed}"

    def sync(self, trial: Trial) -> None:
        """Write the records the trial added to its history since the last call."""
        log = self._trials.get((trial.arm, trial.seed))
        if log is None or log.trial() is not trial:
            if log is not None:
                log.writer.close()
            log = self._open(trial.arm, trial.seed, trial.history)
            log.trial = weakref.ref(trial)
        self._write(log, trial.history[log.written:])
        log.written = len(trial.history)

    def flush(self, trial: Trial) -> None:
        """Put the trial's events on disk (called at every checkpoint)."""
        log = self._trials.get((trial.arm, trial.seed))
        if log is not None:
            log.writer.flush()

    def finish(self, summary: Mapping[str, Any]) -> None:
        """Close the trials' writers and write the run's figures and text."""
        for (arm, seed), log in list(self._trials.items()):
            log.writer.close()
            del self._trials[(arm, seed)]
        self._backfill()
        if self.settings.figures:
            self._write_figures(summary)

    def close(self) -> None:
        """Close every writer without writing the run's figures (a run that was aborted)."""
        for log in self._trials.values():
            log.writer.close()
        self._trials.clear()

    # -- internals ----------------------------------------------------------------------------

    def _open(self, arm: str, seed: int, history: list[Mapping[str, float]]) -> _TrialLog:
        directory = self.trial_directory(arm, seed)
        # A trial seen for the first time by this process starts its events over from its
        # history: after a resume, the events the interrupted process wrote past the last
        # checkpoint would otherwise appear twice.
        shutil.rmtree(directory, ignore_errors=True)
        writer = SummaryWriter(str(directory), flush_secs=self.settings.flush_seconds)
        if self.settings.hparams:
            metrics = {key for record in history for key in record if key != "step"}
            metrics.add("step.loss")
            settings = {"arm": arm, "seed": seed, **self.arms[arm].flat_settings()}
            file_writer = writer._get_file_writer()
            # hparams() also gives a SessionEndInfo; only the experiment and the session's
            # settings are written, as the trial has not ended yet.
            experiment, start, _end = hparams(settings, dict.fromkeys(sorted(metrics), 0.0))
            file_writer.add_summary(experiment)
            file_writer.add_summary(start)
        log = _TrialLog(_no_trial, writer)
        self._trials[(arm, seed)] = log
        return log

    @staticmethod
    def _write(log: _TrialLog, records: Iterable[Mapping[str, float]]) -> None:
        for record in records:
            step = int(record["step"])
            for key, value in record.items():
                if key != "step":
                    log.writer.add_scalar(key, value, step, new_style=True,
                                          double_precision=True)

    def _backfill(self) -> None:
        """Write trials that no hook reported in this process and that have no events.

        A resumed run skips trials that had already finished; when the integration was not
        active in the process that trained them (``METHODLAB_INTEGRATIONS`` set only now), their
        events come from their ``metrics.jsonl``.
        """
        for arm in self.arms:
            for seed in self.seeds:
                metrics = self.directory / "trials" / arm / f"seed-{seed}" / "metrics.jsonl"
                if self.trial_directory(arm, seed).exists() or not metrics.exists():
                    continue
                history = [json.loads(line) for line in metrics.read_text().splitlines()]
                log = self._open(arm, seed, history)
                self._write(log, history)
                log.writer.close()
                del self._trials[(arm, seed)]

    def _write_figures(self, summary: Mapping[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # Rewritten at every end of the run (a resumed run ends again): one copy of each.
        for old in self.root.glob("events.out.tfevents.*"):
            old.unlink()
        writer = SummaryWriter(str(self.root))
        file_writer = writer._get_file_writer()
        for path in sorted(self.directory.rglob("*.png")):
            if self.root in path.parents:
                continue
            tag = path.relative_to(self.directory).as_posix()
            file_writer.add_summary(png_summary(tag, path.read_bytes()), global_step=0)
        resolved = self.directory / "resolved.toml"
        if resolved.exists():
            writer.add_text("resolved.toml", f"```toml\n{resolved.read_text()}\n```", 0)
        claims = summary.get("claims") or []
        if claims:
            writer.add_text("claims", _claims_markdown(claims), 0)
        writer.close()
