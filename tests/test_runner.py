"""The training loop: resume (FT-07), non-finite losses, run directories and their files."""

from __future__ import annotations

import io
import json
import math
import random
import statistics
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from methodlab import api, cli, hookimpl
from methodlab.builtins.config import NoParams
from methodlab.builtins.losses import MeanSquaredError
from methodlab.checkpoint import load_checkpoint
from methodlab.errors import RunFileError, UserError
from methodlab.runfile import read_toml
from methodlab.runner import prepare_directory
from methodlab.testing import isolated_plugin_system
from methodlab.types import LossSpec, OptimizerSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# 12 training points in batches of 4: 3 steps per epoch, a checkpoint at each epoch's end.
RESUME_RUN = """\
name = "{name}"
seeds = [1]

[train]
steps = 9
checkpoint_every = 3
eval_every = 3

[environment]
use = "synthetic-regression"
n_train = 12
n_test = 6
in_features = 3
batch_size = 4

[model]
use = "mlp"
hidden = [5]

[loss]
use = "{loss}"

[optimizer]
use = "sgd"
lr = 0.05
momentum = 0.9

[evaluators.train]
use = "loss"
split = "train"
"""


class NoisyMSE(MeanSquaredError):
    """MSE plus a constant drawn from the torch, numpy and Python generators at every
    training step: the recorded loss matches only if all three continue exactly on resume."""

    def from_outputs(self, outputs, targets):
        value = super().from_outputs(outputs, targets)
        if torch.is_grad_enabled():
            draw = torch.rand(()).item() + np.random.rand() + random.random()
            value = value + 1e-3 * draw
        return value


class NoisyLossPlugin:
    @hookimpl
    def methodlab_losses(self):
        yield LossSpec("noisy-mse", lambda params, *, env: NoisyMSE(), NoParams,
                       "MSE plus a draw from every global generator.")


class Interrupt:
    """Raise KeyboardInterrupt (as Ctrl-C would) after update ``at`` of one trial."""

    def __init__(self, at: int, arm: str | None = None, seed: int | None = None) -> None:
        self.at, self.arm, self.seed = at, arm, seed

    @hookimpl
    def methodlab_step_end(self, trial, step):
        if (step == self.at and self.arm in (None, trial.arm)
                and self.seed in (None, trial.seed)):
            raise KeyboardInterrupt


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.steps: list[int] = []
        self.checkpoints: dict[tuple[str, int], list[tuple[int, bytes]]] = {}

    @hookimpl
    def methodlab_run_start(self, run):
        self.events.append(("run_start", run.spec.name))

    @hookimpl
    def methodlab_step_end(self, trial, step, metrics):
        assert set(metrics) == {"step.loss"}
        self.steps.append(step)
        self.events.append(("step_end", trial.arm, trial.seed, step))

    @hookimpl
    def methodlab_evaluation_end(self, trial, step, metrics):
        self.events.append(("evaluation_end", trial.arm, step, tuple(sorted(metrics))))

    @hookimpl
    def methodlab_checkpoint_saved(self, trial, step, path):
        self.checkpoints.setdefault((trial.arm, trial.seed), []).append(
            (step, Path(path).read_bytes()))
        self.events.append(("checkpoint_saved", trial.arm, step))

    @hookimpl
    def methodlab_run_end(self, run, summary):
        self.events.append(("run_end", sorted(summary["arms"])))


def system(*plugins):
    named = [("noisy", NoisyLossPlugin())]
    named += [(f"test-{index}", plugin) for index, plugin in enumerate(plugins)]
    return isolated_plugin_system(*named)


def write_run(tmp_path: Path, name: str = "resume", loss: str = "noisy-mse",
              text: str = RESUME_RUN) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text.format(name=name, loss=loss))
    return path


def trial_dir(run_dir: Path, arm: str = "main", seed: int = 1) -> Path:
    return run_dir / "trials" / arm / f"seed-{seed}"


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


# -- FT-07: resume from a checkpoint at an epoch boundary ---------------------------------


def test_ft07_resume_runs_exactly_the_missing_steps(tmp_path, capsys):
    path = write_run(tmp_path)
    full = api.run(path, out=tmp_path / "full", quiet=True, plugin_system=system())

    with pytest.raises(KeyboardInterrupt):
        api.run(path, out=tmp_path / "part", quiet=True, plugin_system=system(Interrupt(4)))
    part_dir = tmp_path / "part" / "resume"
    assert load_checkpoint(trial_dir(part_dir) / "checkpoint.pt")["step"] == 3
    assert not (part_dir / "summary.json").exists()

    recorder = Recorder()
    resumed = api.run(resume=part_dir, plugin_system=system(recorder))
    assert recorder.steps == [4, 5, 6, 7, 8, 9]  # epochs 2 and 3, nothing repeated or skipped
    assert "[main seed 1] resumed at step 3/9" in capsys.readouterr().err

    final = load_checkpoint(trial_dir(part_dir) / "checkpoint.pt")
    reference = load_checkpoint(trial_dir(full.directory) / "checkpoint.pt")
    assert final["step"] == reference["step"] == 9
    assert_same_state(final["model"], reference["model"])
    assert final["optimizer"]["state"].keys() == reference["optimizer"]["state"].keys()
    for key, state in final["optimizer"]["state"].items():
        assert torch.equal(state["momentum_buffer"],
                           reference["optimizer"]["state"][key]["momentum_buffer"])
    assert resumed.summary["arms"] == full.summary["arms"]
    assert resumed.summary["claims"] == full.summary["claims"]
    # The per-step record is identical too: every step once, same losses, same evaluations.
    metrics = (trial_dir(part_dir) / "metrics.jsonl").read_text()
    assert metrics == (trial_dir(full.directory) / "metrics.jsonl").read_text()
    records = [json.loads(line) for line in metrics.splitlines()]
    assert [r["step"] for r in records if "step.loss" in r] == list(range(1, 10))
    assert [r["step"] for r in records if "train.loss" in r] == [0, 3, 6, 9]


def test_ft07_resuming_a_finished_run_runs_nothing_and_says_so(tmp_path, capsys):
    path = write_run(tmp_path)
    first = api.run(path, out=tmp_path / "out", quiet=True, plugin_system=system())
    recorder = Recorder()
    again = api.run(resume=first.directory, plugin_system=system(recorder))
    assert recorder.steps == []
    err = capsys.readouterr().err
    assert "[main seed 1] resumed at step 9/9 (already finished: 0 steps to run)" in err
    assert "done:" not in err  # the resume line already says nothing was left to do
    assert again.summary["arms"] == first.summary["arms"]


KILLER = """\
import os

import methodlab


@methodlab.hookimpl
def methodlab_step_end(step):
    if step == 4:
        os._exit(137)  # as abrupt as SIGKILL: no cleanup, no finally blocks
"""


def test_ft07_a_killed_process_resumes_through_the_cli(tmp_path, fake_site, cli_process,
                                                       monkeypatch, capsys):
    fake_site.add("methodlab-killer", "1.0", {"killer": "killer_plugin"},
                  {"killer_plugin": KILLER})
    path = write_run(tmp_path, loss="mse")
    killed = cli_process("run", str(path), "--quiet", "--out", str(tmp_path / "part"),
                         env=fake_site.env(METHODLAB_PLUGINS="killer"))
    assert killed.returncode == 137, killed.stderr
    part = tmp_path / "part" / "resume"
    assert load_checkpoint(trial_dir(part) / "checkpoint.pt")["step"] == 3

    monkeypatch.setenv("METHODLAB_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert cli.main(["run", "--resume", str(part)]) == 0
    assert "[main seed 1] done: 6 steps in " in capsys.readouterr().err
    assert cli.main(["run", str(path), "--quiet", "--out", str(tmp_path / "full")]) == 0
    full = tmp_path / "full" / "resume"
    final = load_checkpoint(trial_dir(part) / "checkpoint.pt")
    assert final["step"] == 9
    assert_same_state(final["model"], load_checkpoint(trial_dir(full) / "checkpoint.pt")["model"])
    assert (json.loads((part / "summary.json").read_text())["arms"]
            == json.loads((full / "summary.json").read_text())["arms"])


def test_a_trial_without_a_checkpoint_starts_over_on_resume(tmp_path):
    path = write_run(tmp_path)
    full = api.run(path, out=tmp_path / "full", quiet=True, plugin_system=system())
    with pytest.raises(KeyboardInterrupt):  # before the first checkpoint
        api.run(path, out=tmp_path / "part", quiet=True, plugin_system=system(Interrupt(2)))
    recorder = Recorder()
    resumed = api.run(resume=tmp_path / "part" / "resume", quiet=True,
                      plugin_system=system(recorder))
    assert recorder.steps == list(range(1, 10))
    assert resumed.summary["arms"] == full.summary["arms"]


QUICKSTART = """\
name = "quick"
seeds = [0, 1]

[train]
steps = 6
checkpoint_every = 2

[environment]
use = "digits"
n_labeled = 60
batch_size = 20

[model]
use = "mlp"
hidden = [8]

[loss]
use = "cross-entropy"

[optimizer]
use = "sgd"
lr = 0.2

[evaluators.train]
use = "loss"
split = "train"

[evaluators.test]
use = "accuracy"

[arms.sgd]

[arms.adam.optimizer]
use = "adam"
lr = 0.01

[[claims]]
left = "adam:train.loss"
op = "<"
right = "adam:train.loss@start"
"""


def test_acceptance_interrupted_multi_arm_run_resumes_to_the_same_summary(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("METHODLAB_DISABLE_PLUGIN_AUTOLOAD", "1")
    path = tmp_path / "quick.toml"
    path.write_text(QUICKSTART)
    assert cli.main(["run", str(path), "--quiet", "--out", str(tmp_path / "full")]) == 0

    with pytest.raises(KeyboardInterrupt):
        api.run(path, out=tmp_path / "part", quiet=True,
                plugin_system=isolated_plugin_system(("stop", Interrupt(3, "adam", 0))))
    part = tmp_path / "part" / "quick"
    assert load_checkpoint(trial_dir(part, "adam", 0) / "checkpoint.pt")["step"] == 2
    assert not (trial_dir(part, "adam", 1) / "checkpoint.pt").exists()
    capsys.readouterr()

    assert cli.main(["run", "--resume", str(part), "--quiet"]) == 0
    assert "results:" in capsys.readouterr().out
    full = json.loads((tmp_path / "full" / "quick" / "summary.json").read_text())
    resumed = json.loads((part / "summary.json").read_text())
    assert resumed["arms"] == full["arms"]
    assert resumed["per_seed"] == full["per_seed"]
    assert resumed["claims"] == full["claims"]
    assert [t["steps"] for t in resumed["trials"]] == [6, 6, 6, 6]


def test_interrupt_through_the_cli_exits_130_with_a_resume_hint(tmp_path, monkeypatch, capsys):
    import methodlab.runner

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setenv("METHODLAB_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setattr(methodlab.runner.Trial, "train_step", interrupted)
    path = write_run(tmp_path, loss="mse")
    assert cli.main(["run", str(path), "--quiet", "--out", str(tmp_path / "out")]) == 130
    assert "methodlab run --resume" in capsys.readouterr().err


# -- resume guards ---------------------------------------------------------------------------


def test_resume_accepts_the_same_run_file_and_rejects_another(tmp_path):
    text = RESUME_RUN.replace('name = "{name}"\n', "")  # the name comes from the file name
    path = write_run(tmp_path, text=text)
    plugins = system()
    first = api.run(path, out=tmp_path / "out", quiet=True, plugin_system=plugins)
    assert first.directory.name == "resume"
    api.run(path, resume=first.directory, quiet=True, plugin_system=plugins)
    with pytest.raises(UserError, match="differs from the run stored in"):
        api.run(path, overrides=["optimizer.lr=0.5"], resume=first.directory, quiet=True,
                plugin_system=plugins)
    with pytest.raises(UserError, match="overrides need the run file when resuming"):
        api.run(overrides=["train.steps=20"], resume=first.directory, quiet=True,
                plugin_system=plugins)
    with pytest.raises(UserError, match="not a methodlab run directory"):
        api.run(resume=tmp_path, plugin_system=plugins)
    with pytest.raises(UserError, match="give a run file"):
        api.run(plugin_system=plugins)


# -- non-finite losses ---------------------------------------------------------------------

DIVERGING = """\
name = "{name}"
seeds = [0]

[train]
steps = 6
checkpoint_every = 1

[environment]
use = "synthetic-regression"
n_train = 12
n_test = 6
in_features = 3
batch_size = 4

[model]
use = "mlp"
hidden = [4]

[loss]
use = "{loss}"

[optimizer]
use = "sgd"
lr = 0.05

[evaluators.train]
use = "loss"

[arms.stable]

[arms.blowup.optimizer]
use = "sgd"
lr = 1e12
"""


def assert_finite(state: dict) -> None:
    for name, tensor in state.items():
        assert torch.isfinite(tensor).all(), name


def test_a_diverging_trial_stops_alone_and_keeps_its_last_good_checkpoint(tmp_path, capsys):
    recorder = Recorder()
    path = write_run(tmp_path, "diverge", loss="mse", text=DIVERGING)
    outcome = api.run(path, out=tmp_path / "out", quiet=True, plugin_system=system(recorder))
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["error: [blowup seed 0] non-finite loss (inf) at step 3; trial stopped, "
                     "last checkpoint kept"]

    trials = {t["arm"]: t for t in outcome.summary["trials"]}
    assert trials["stable"]["status"] == "finished" and trials["stable"]["steps"] == 6
    assert trials["blowup"]["status"] == "diverged" and trials["blowup"]["steps"] == 3
    assert trials["blowup"]["error"] == "non-finite loss (inf) at step 3"
    arms = outcome.summary["arms"]
    assert arms["blowup"]["diverged"]["mean"] == 1.0
    assert arms["blowup"]["diverged_step"]["mean"] == 3.0
    assert math.isnan(arms["blowup"]["train.loss"]["mean"])
    assert arms["stable"]["diverged"]["mean"] == 0.0
    assert math.isfinite(arms["stable"]["train.loss"]["mean"])
    # summary.json is strict JSON: the NaN became null.
    written = json.loads((outcome.directory / "summary.json").read_text())
    assert written["arms"]["blowup"]["train.loss"]["mean"] is None

    checkpoint = trial_dir(outcome.directory, "blowup", 0) / "checkpoint.pt"
    last_step, last_bytes = recorder.checkpoints[("blowup", 0)][-1]
    assert last_step == 2
    assert checkpoint.read_bytes() == last_bytes  # untouched since the last good step
    state = load_checkpoint(checkpoint)
    assert state["step"] == 2
    assert_finite(state["model"])


class PoisonedMSE(MeanSquaredError):
    """A finite loss whose gradient is NaN at the third training step: the update ruins the
    parameters while the loss reported for that step still looks fine."""

    def __init__(self) -> None:
        self.calls = 0

    def from_outputs(self, outputs, targets):
        value = super().from_outputs(outputs, targets)
        if torch.is_grad_enabled():
            self.calls += 1
            if self.calls == 3:
                value = value + 0.0 * (outputs * 0.0).abs().sqrt().sum()  # d/dx sqrt(0) = inf
        return value


class PoisonPlugin:
    @hookimpl
    def methodlab_losses(self):
        yield LossSpec("poisoned-mse", lambda params, *, env: PoisonedMSE(), NoParams,
                       "MSE with a NaN gradient at step 3.")


def test_nan_parameters_never_reach_a_checkpoint(tmp_path, capsys):
    recorder = Recorder()
    plugins = isolated_plugin_system(("poison", PoisonPlugin()), ("rec", recorder))
    path = write_run(tmp_path, "poisoned", loss="poisoned-mse",
                     text=DIVERGING.replace("lr = 1e12", "lr = 0.05"))
    outcome = api.run(path, out=tmp_path / "out", quiet=True, plugin_system=plugins)
    trials = {t["arm"]: t for t in outcome.summary["trials"]}
    for arm in ("stable", "blowup"):
        assert trials[arm]["status"] == "diverged"
        assert trials[arm]["error"] == "non-finite values in 0.weight after step 3"
        checkpoint = trial_dir(outcome.directory, arm, 0) / "checkpoint.pt"
        state = load_checkpoint(checkpoint)
        assert state["step"] == 2
        assert_finite(state["model"])
        assert checkpoint.read_bytes() == recorder.checkpoints[(arm, 0)][-1][1]
    assert [step for step, _ in recorder.checkpoints[("stable", 0)]] == [1, 2]


def test_abort_on_nonfinite_ends_the_run(tmp_path):
    path = write_run(tmp_path, "abort", loss="mse",
                     text=DIVERGING.replace("checkpoint_every = 1",
                                            'checkpoint_every = 1\non_nonfinite = "abort"'))
    with pytest.raises(UserError, match=r"^arm 'blowup' seed 0: non-finite loss \(inf\) "
                                        r"at step 3$"):
        api.run(path, out=tmp_path / "out", quiet=True, plugin_system=system())


# -- run directories ---------------------------------------------------------------------------


def test_an_existing_run_is_never_overwritten(tmp_path, tiny_run, monkeypatch, capsys):
    monkeypatch.setenv("METHODLAB_DISABLE_PLUGIN_AUTOLOAD", "1")
    path = tiny_run()
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "--quiet", "--out", str(out)]) == 0
    marker = out / "tiny" / "marker"
    marker.write_text("keep me")
    capsys.readouterr()
    assert cli.main(["run", str(path), "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {out.resolve() / 'tiny'} already exists; use --resume")
    assert "--force" in err and marker.exists()
    assert cli.main(["run", str(path), "--quiet", "--out", str(out), "--force"]) == 0
    assert not marker.exists() and (out / "tiny" / "summary.json").exists()


def test_force_refuses_to_delete_a_directory_that_is_not_a_run(tmp_path, tiny_run):
    precious = tmp_path / "out" / "tiny"
    precious.mkdir(parents=True)
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(UserError, match=r"not a methodlab run directory .*refusing to delete"):
        api.run(tiny_run(), out=tmp_path / "out", force=True, quiet=True,
                plugin_system=system())
    assert (precious / "thesis.tex").read_text() == "years of work"


def test_an_empty_directory_is_reused(tmp_path, tiny_run):
    (tmp_path / "out" / "tiny").mkdir(parents=True)
    outcome = api.run(tiny_run(), out=tmp_path / "out", quiet=True, plugin_system=system())
    assert (outcome.directory / "summary.json").exists()


@pytest.mark.parametrize("name", ["../escape", "a/../../escape", "/abs"])
def test_prepare_directory_stays_inside_out(tmp_path, name):
    with pytest.raises(UserError, match="would write outside"):
        prepare_directory(tmp_path / "out", name, force=False)
    assert not (tmp_path / "escape").exists()


def test_a_run_name_with_dotdot_is_rejected_before_anything_is_written(tmp_path, tiny_run,
                                                                       monkeypatch, capsys):
    monkeypatch.setenv("METHODLAB_DISABLE_PLUGIN_AUTOLOAD", "1")
    path = tiny_run()
    out = tmp_path / "deep" / "out"
    assert cli.main(["run", str(path), "name=../escape", "--out", str(out), "--quiet"]) == 2
    assert "name: expected a plain directory name" in capsys.readouterr().err
    assert not (tmp_path / "deep").exists()


# -- what a run writes -------------------------------------------------------------------------


def test_run_outputs(tmp_path):
    recorder = Recorder()
    path = write_run(tmp_path, "outputs", loss="mse")
    outcome = api.run(path, out=tmp_path / "out", overrides=["seeds=[0, 1]", "train.steps=4"],
                      quiet=True, plugin_system=system(recorder))
    directory = outcome.directory
    assert directory == (tmp_path / "out" / "outputs").resolve()
    summary = json.loads((directory / "summary.json").read_text())
    assert summary["name"] == "outputs" and summary["seeds"] == [0, 1]

    # mean, sample std and per-seed values agree with the trials' own records.
    finals = []
    for seed in (0, 1):
        records = [json.loads(line) for line in
                   (trial_dir(directory, seed=seed) / "metrics.jsonl").read_text().splitlines()]
        finals.append([r["train.loss"] for r in records if "train.loss" in r][-1])
        assert records[0] == {"step": 0, "train.loss": records[0]["train.loss"]}
        assert [r["step"] for r in records if "step.loss" in r] == [1, 2, 3, 4]
    stats = summary["arms"]["main"]["train.loss"]
    assert stats["per_seed"] == finals
    assert stats["mean"] == statistics.fmean(finals)
    assert stats["std"] == statistics.stdev(finals)
    assert finals[0] != finals[1]
    assert summary["arms"]["main"]["steps"] == {"mean": 4.0, "std": 0.0, "per_seed": [4.0, 4.0]}
    assert summary["per_seed"]["main"]["train.loss"] == finals
    assert set(summary["arms"]["main"]) == {"train.loss", "train.loss@start", "step.loss",
                                            "steps", "diverged", "diverged_step"}
    assert [(t["arm"], t["seed"], t["status"]) for t in summary["trials"]] == [
        ("main", 0, "finished"), ("main", 1, "finished")]

    resolved = tomllib.loads((directory / "resolved.toml").read_text())
    assert resolved["methodlab"]["plugins"]["methodlab"] == resolved["methodlab"]["version"]
    assert resolved["methodlab"]["plugins"]["test-0"] == "0"
    assert resolved["methodlab"]["source"] == str(path)
    assert resolved["seeds"] == [0, 1] and resolved["train"]["steps"] == 4  # overrides kept
    assert read_toml(path)["train"]["steps"] == 9

    lines = [json.loads(line) for line in (directory / "metrics.jsonl").read_text().splitlines()]
    assert {(r["arm"], r["seed"]) for r in lines} == {("main", 0), ("main", 1)}
    assert sum("step.loss" in r for r in lines) == 8

    assert (directory / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    kinds = [event[0] for event in recorder.events]
    assert kinds[0] == "run_start" and kinds[-1] == "run_end"
    assert kinds.count("step_end") == 8
    assert kinds.count("checkpoint_saved") == 4  # steps 3 and 4 (the end), per seed
    evaluations = [e for e in recorder.events if e[0] == "evaluation_end"]
    assert [e[2] for e in evaluations] == [0, 3, 4, 0, 3, 4]  # the start, the schedule, the end
    assert evaluations[0][3] == ("train.loss",)
    assert recorder.events[-1] == ("run_end", ["main"])


def test_evaluator_schedule(tmp_path):
    path = write_run(tmp_path, "schedule", loss="mse")
    outcome = api.run(path, out=tmp_path / "out", quiet=True, plugin_system=system(),
                      overrides=["train.steps=5", "train.eval_every=0",
                                 "evaluators.train.every=2", "evaluators.test.use='loss'",
                                 "evaluators.test.split='test'"])
    records = [json.loads(line) for line in
               (trial_dir(outcome.directory) / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "train.loss" in r] == [0, 2, 4, 5]
    assert [r["step"] for r in records if "test.loss" in r] == [0, 5]


def test_factory_errors_are_one_line_user_errors(tmp_path, tiny_run):
    path = tiny_run()
    text = path.read_text().replace('use = "mlp"\nhidden = [4]',
                                    'use = "autoencoder"\nsizes = [3, 2, 4]')
    path.write_text(text)
    with pytest.raises(UserError) as info:
        api.run(path, out=tmp_path / "out", quiet=True, plugin_system=system())
    assert str(info.value) == (
        "arm 'main': cannot build model 'autoencoder': ValueError: autoencoder sizes "
        "[3, 2, 4] must start and end with the data size 3")
    assert isinstance(info.value.__cause__, ValueError)


def test_seeds_that_torch_would_truncate_are_rejected(tmp_path, tiny_run):
    # torch.manual_seed keeps 32 bits: 1 and 2**32 + 1 would be the same trial.
    torch.manual_seed(1)
    a = torch.rand(3)
    torch.manual_seed(2**32 + 1)
    assert torch.equal(a, torch.rand(3))
    with pytest.raises(RunFileError) as info:
        api.run(tiny_run(), out=tmp_path / "out", quiet=True, plugin_system=system(),
                overrides=["seeds=[1, 4294967297]"])
    assert info.value.problems[0].endswith(
        "seeds: seeds must be between 0 and 4294967295, got [1, 4294967297]")
    outcome = api.run(tiny_run(), out=tmp_path / "out", quiet=True, plugin_system=system(),
                      overrides=["seeds=[0, 4294967295]"])
    per_seed = outcome.summary["per_seed"]["main"]["train.loss"]
    assert per_seed[0] != per_seed[1]


def test_progress_lines_when_not_quiet(tmp_path, tiny_run, capsys):
    path = tiny_run(steps=4)
    api.run(path, out=tmp_path / "out", plugin_system=system(),
            overrides=["train.log_every=2"])
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("[main seed 0] step 2/4 loss ")
    assert err[-1].startswith("[main seed 0] done: 4 steps in ")


def test_cpu_only_machine_rejects_cuda(tmp_path, tiny_run):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(UserError, match=r"train\.device = 'cuda' but no GPU is available"):
        api.run(tiny_run(), out=tmp_path / "out", quiet=True, plugin_system=system(),
                overrides=["train.device='cuda'"])



class OverflowingMSE(MeanSquaredError):
    """FT-10: the third training batch overflows float32, so loss and gradient are infinite."""

    def __init__(self) -> None:
        self.calls = 0

    def from_outputs(self, outputs, targets):
        value = super().from_outputs(outputs, targets)
        if torch.is_grad_enabled():
            self.calls += 1
            if self.calls == 3:
                value = value * 1e39
        return value


class RefusingSGD(torch.optim.SGD):
    """SGD that refuses a step whose gradient is not finite, as clipping optimizers do."""

    @torch.no_grad()
    def step(self, closure=None):
        with torch.enable_grad():
            loss = closure() if closure is not None else None
        grads = [p.grad for group in self.param_groups for p in group["params"]
                 if p.grad is not None]
        if all(bool(torch.isfinite(g).all()) for g in grads):
            super().step()
        return loss


class OverflowPlugin:
    @hookimpl
    def methodlab_losses(self):
        yield LossSpec("overflowing-mse", lambda params, *, env: OverflowingMSE(), NoParams,
                       "MSE that overflows at step 3.")

    @hookimpl
    def methodlab_optimizers(self):
        yield OptimizerSpec("refusing-sgd", lambda params, *, model: RefusingSGD(
            model.parameters(), lr=0.05), NoParams, "SGD refusing non-finite gradients.")


def skip_run(tmp_path, optimizer: str):
    text = (DIVERGING.replace("[arms.blowup.optimizer]\nuse = \"sgd\"\nlr = 1e12\n", "")
            .replace('use = "sgd"\nlr = 0.05\n', f'use = "{optimizer}"\n')
            .replace("checkpoint_every = 1", 'checkpoint_every = 1\non_nonfinite = "skip"'))
    path = write_run(tmp_path, "skip", loss="overflowing-mse", text=text)
    recorder = Recorder()
    plugins = isolated_plugin_system(("overflow", OverflowPlugin()), ("rec", recorder))
    return api.run(path, out=tmp_path / "out", plugin_system=plugins), recorder


def test_ft10_skip_goes_on_past_a_refused_update_and_counts_it(tmp_path, capsys):
    outcome, recorder = skip_run(tmp_path, "refusing-sgd")
    (trial,) = outcome.summary["trials"]
    assert trial["status"] == "finished" and trial["steps"] == 6
    assert outcome.summary["per_seed"]["stable"]["skipped_steps"] == [1.0]
    assert "non-finite loss (inf) at step 3; update skipped (1 so far)" in capsys.readouterr().err
    # Steps 2 and 3 end with the same parameters: the overflowing update was never applied.
    states = {step: load_checkpoint_bytes(data) for step, data in
              recorder.checkpoints[("stable", 0)]}
    assert sorted(states) == [1, 2, 3, 4, 5, 6]
    for name, tensor in states[3]["model"].items():
        assert torch.equal(tensor, states[2]["model"][name]), name
    assert states[6]["skipped"] == 1
    assert_finite(states[6]["model"])


def test_skip_still_stops_a_trial_whose_optimizer_applied_the_overflow(tmp_path):
    outcome, _ = skip_run(tmp_path, "sgd")
    (trial,) = outcome.summary["trials"]
    assert trial["status"] == "diverged" and trial["steps"] == 3


def load_checkpoint_bytes(data: bytes) -> dict:
    return torch.load(io.BytesIO(data), weights_only=True)


def test_an_unknown_evaluation_split_is_a_one_line_error(tmp_path, tiny_run, capsys):
    path = tiny_run()
    path.write_text(path.read_text().replace('split = "train"', 'split = "tset"'))
    assert cli.main(["run", str(path), "--quiet", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == ("error: arm 'main': evaluator 'train': unknown split 'tset'; this "
                   "environment has ['test', 'train']\n")


def test_each_trial_closes_its_environment_once_even_when_it_diverges(tmp_path, monkeypatch):
    from methodlab.supervised import SupervisedEnvironment

    closed: list[int] = []
    monkeypatch.setattr(SupervisedEnvironment, "close", lambda env: closed.append(env.seed))
    path = tmp_path / "close.toml"
    path.write_text(RESUME_RUN.format(name="close", loss="mse").replace(
        "seeds = [1]", "seeds = [1, 2]"))
    api.run(path, out=tmp_path / "ok", quiet=True)
    assert sorted(closed) == [1, 2]
    closed.clear()
    result = api.run(path, overrides=["optimizer.lr=1e30"], out=tmp_path / "diverged",
                     quiet=True)
    assert result.summary["arms"]["main"]["diverged"]["mean"] == 1.0
    assert sorted(closed) == [1, 2]


def test_a_finished_run_is_rechecked_against_corrected_claims_without_retraining(tmp_path):
    path = tmp_path / "claims.toml"
    text = RESUME_RUN.format(name="claims", loss="mse")
    path.write_text(text + '[[claims]]\nleft = "train.loss"\nop = "<"\nvalue = 0.0\n')
    first = api.run(path, out=tmp_path / "out", quiet=True)
    assert [c["passed"] for c in first.summary["claims"]] == [False]
    checkpoint = first.directory / "trials" / "main" / "seed-1" / "checkpoint.pt"
    written = checkpoint.stat().st_mtime_ns

    path.write_text(text + '[[claims]]\nleft = "train.loss"\nop = "<"\nvalue = 1e9\n')
    again = api.run(path, resume=first.directory, quiet=True)
    assert [c["passed"] for c in again.summary["claims"]] == [True]
    assert checkpoint.stat().st_mtime_ns == written  # nothing was trained again
    assert again.summary["arms"]["main"]["train.loss"] == first.summary["arms"]["main"][
        "train.loss"]
    # The corrected claims are now the run's own: a resume without the file uses them.
    stored = tomllib.loads((first.directory / "resolved.toml").read_text())
    assert stored["claims"][0]["value"] == 1e9

    path.write_text(text.replace("lr = 0.05", "lr = 0.01"))
    with pytest.raises(UserError, match="differs from the run stored in"):
        api.run(path, resume=first.directory, quiet=True)
