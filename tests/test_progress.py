"""Progress output: tqdm bars with ETA on a terminal, rate-limited plain lines otherwise."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

import pytest
from methodlab import progress as progress_module
from methodlab.progress import PLAIN_EVERY, Progress


class Clock:
    """A ``time.perf_counter`` that moves only when told (exact binary fractions)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(progress_module.time, "perf_counter", fake)
    return fake


def trial(steps: int = 100, log_every: int = 0, step: int = 0) -> SimpleNamespace:
    """What Progress reads of a runner.Trial."""
    return SimpleNamespace(arm="sgd", seed=3, step=step, history=[],
                           spec=SimpleNamespace(train=SimpleNamespace(steps=steps,
                                                                      log_every=log_every)))


def train(report: Progress, clock: Clock, t: SimpleNamespace, seconds_per_step: float) -> None:
    report.start(t)
    while t.step < t.spec.train.steps:
        clock.now += seconds_per_step
        t.step += 1
        t.history.append({"step.loss": 1.0 / t.step})
        report.update(t, 1.0 / t.step)
    report.finish(t)


def test_plain_lines_show_elapsed_and_eta_at_most_every_five_seconds(clock):
    stream = io.StringIO()
    # 8 steps/s for 100 steps = 12.5 s: lines at 5 s (step 40) and 10 s (step 80) only.
    train(Progress(stream), clock, trial(), 0.125)
    lines = stream.getvalue().splitlines()
    assert PLAIN_EVERY == 5.0
    assert lines == [
        "[sgd seed 3] step 40/100 loss 0.025 (8 steps/s, elapsed 5s, eta 8s)",
        "[sgd seed 3] step 80/100 loss 0.0125 (8 steps/s, elapsed 10s, eta 2s)",
        "[sgd seed 3] done: 100 steps in 12.5s, last loss 0.01",
    ]


def test_a_quick_trial_writes_only_its_done_line(clock):
    stream = io.StringIO()
    train(Progress(stream), clock, trial(steps=300), 0.001)
    assert stream.getvalue() == "[sgd seed 3] done: 300 steps in 0.3s, last loss 0.00333333\n"


def test_log_every_sets_the_plain_lines_by_steps(clock):
    stream = io.StringIO()
    train(Progress(stream), clock, trial(steps=30, log_every=10), 60.0)
    lines = stream.getvalue().splitlines()
    # Long ETAs are written in minutes and hours: 20 steps left at 1 step a minute.
    assert lines[:2] == [
        "[sgd seed 3] step 10/30 loss 0.1 (0.0167 steps/s, elapsed 10m00s, eta 20m00s)",
        "[sgd seed 3] step 20/30 loss 0.05 (0.0167 steps/s, elapsed 20m00s, eta 10m00s)",
    ]
    assert len(lines) == 3


def test_a_resumed_trial_measures_its_rate_from_where_it_resumed(clock):
    stream = io.StringIO()
    # Resumed at step 60 of 100, 2 steps/s: after 5 s it is at step 70, 30 left = 15 s.
    train(Progress(stream), clock, trial(step=60), 0.5)
    first = stream.getvalue().splitlines()[0]
    assert first == "[sgd seed 3] step 70/100 loss 0.0142857 (2 steps/s, elapsed 5s, eta 15s)"


def test_terminal_bars_show_arm_seed_step_and_eta(clock):
    stream = io.StringIO()
    report = Progress(stream, bar=True)
    t = trial(steps=50)
    report.start(t)
    for _ in range(20):
        clock.now += 0.5
        t.step += 1
        report.update(t, 2.5)
    bar = report._bars[id(t)]
    bar.refresh()
    text = stream.getvalue().split("\r")[-1]
    # tqdm keeps its own clock; what matters is that the bar carries the label, the count,
    # elapsed<remaining (the ETA) and the loss.
    assert re.match(r"\[sgd seed 3\]:\s+40%\|.*\| 20/50 \[\d\d:\d\d<\d\d:\d\d, .*loss=2\.5\]",
                    text), text
    report.finish(t)
    assert "step 20/50" not in stream.getvalue()  # no plain lines beside the bar


def test_bars_only_on_a_terminal_and_nothing_when_quiet(clock):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert Progress(Terminal()).bar is True
    assert Progress(io.StringIO()).bar is False
    stream = io.StringIO()
    report = Progress(stream, quiet=True)
    train(report, clock, trial(), 1.0)
    report.line("run line")
    assert stream.getvalue() == ""
