"""Progress reporting: a bar per trial on a terminal, plain log lines otherwise (CI, files).

Both show, per arm and seed, the step, the loss, the rate, the elapsed time and the ETA. The
bar is tqdm's, with the ETA after ``<``::

    [sgd seed 0]:  40%|####      | 120/300 [00:05<00:07, 24.0it/s, loss=18.2]

A plain line is written at most every :data:`PLAIN_EVERY` seconds per trial (or every
``train.log_every`` steps when the run file sets it), so a log stays short for quick trials::

    [sgd seed 0] step 120/300 loss 18.2 (24 steps/s, elapsed 5s, eta 7s)
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from methodlab.runner import Trial

__all__ = ["PLAIN_EVERY", "Progress", "format_duration"]

PLAIN_EVERY = 5.0
"""Seconds between two plain progress lines of one trial (without ``train.log_every``)."""


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s`` or ``2h07m``: short enough for a log line.

    Example:
        >>> format_duration(42.4), format_duration(185), format_duration(7620)
        ('42s', '3m05s', '2h07m')
    """
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """Reports trial progress to ``stream``; ``quiet`` silences everything but errors."""

    def __init__(self, stream: TextIO, *, quiet: bool = False, bar: bool | None = None) -> None:
        self.stream = stream
        self.quiet = quiet
        self.bar = stream.isatty() if bar is None else bar
        self._bars: dict[int, Any] = {}
        self._started: dict[int, tuple[float, int]] = {}
        self._last: dict[int, float] = {}

    def _label(self, trial: Trial) -> str:
        return f"[{trial.arm} seed {trial.seed}]"

    def line(self, message: str) -> None:
        """A message about the run as a whole."""
        if not self.quiet:
            print(message, file=self.stream, flush=True)

    def note(self, trial: Trial, message: str) -> None:
        if not self.quiet:
            print(f"{self._label(trial)} {message}", file=self.stream, flush=True)

    def error(self, trial: Trial, message: str) -> None:
        print(f"error: {self._label(trial)} {message}", file=self.stream, flush=True)

    def start(self, trial: Trial) -> None:
        self._started[id(trial)] = (time.perf_counter(), trial.step)
        self._last[id(trial)] = time.perf_counter()
        if self.quiet:
            return
        if self.bar:
            from tqdm import tqdm

            self._bars[id(trial)] = tqdm(
                total=trial.spec.train.steps, initial=trial.step, desc=self._label(trial),
                file=self.stream, leave=False, dynamic_ncols=True,
            )

    def update(self, trial: Trial, loss: float) -> None:
        if self.quiet:
            return
        bar = self._bars.get(id(trial))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
            return
        steps = trial.spec.train.steps
        every = trial.spec.train.log_every
        now = time.perf_counter()
        # Without an explicit log_every, log by time so short runs stay quiet and long runs
        # still show progress.
        due = (trial.step % every == 0 if every
               else now - self._last.get(id(trial), 0.0) >= PLAIN_EVERY)
        if due and trial.step < steps:
            self._last[id(trial)] = now
            began, first = self._started[id(trial)]
            elapsed = now - began
            # The rate counts this session's steps only: a resumed trial's earlier steps
            # took no time here.
            rate = (trial.step - first) / max(elapsed, 1e-9)
            eta = (steps - trial.step) / rate if rate > 0 else 0.0
            print(f"{self._label(trial)} step {trial.step}/{steps} loss {loss:.6g} "
                  f"({rate:.3g} steps/s, elapsed {format_duration(elapsed)}, "
                  f"eta {format_duration(eta)})", file=self.stream, flush=True)

    def finish(self, trial: Trial, *, stopped: bool = False) -> None:
        """Close the trial's bar; report what it did unless it was stopped (its error line
        says so) or had nothing left to do (its resume line says so)."""
        bar = self._bars.pop(id(trial), None)
        if bar is not None:
            bar.close()
        began, first = self._started.pop(id(trial), (time.perf_counter(), trial.step))
        if not self.quiet and not stopped and trial.step > first:
            seconds = time.perf_counter() - began
            loss = next((r["step.loss"] for r in reversed(trial.history) if "step.loss" in r),
                        float("nan"))
            print(f"{self._label(trial)} done: {trial.step - first} steps in {seconds:.1f}s, "
                  f"last loss {loss:.6g}",
                  file=self.stream, flush=True)
