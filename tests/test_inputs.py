"""Run files that use earlier runs: ``[inputs.<name>]`` tables (methodlab.inputs)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import attrs
import pytest
import tomllib
import torch
from methodlab import api
from methodlab.components import Batch, EnvInfo
from methodlab.errors import RunFileError, UserError
from methodlab.hookspecs import hookimpl
from methodlab.supervised import SupervisedEnvironment
from methodlab.testing import check_component, isolated_plugin_system
from methodlab.types import EnvironmentSpec

TEACHER = """\
name = "teacher"
seeds = [0, 1]

[train]
steps = 30
dtype = "float64"

[environment]
use = "synthetic-regression"
n_train = 32
n_test = 8
in_features = 3
out_features = 2
batch_size = 8

[model]
use = "mlp"
hidden = [6]

[loss]
use = "mse"

[optimizer]
use = "sgd"
lr = 0.05

[evaluators.train]
use = "loss"
split = "train"
"""

STUDENT = """\
name = "student"
seeds = [0, 1]

[inputs.teacher]
run = "teacher.toml"
{extra}

[train]
steps = 5
dtype = "float64"

[environment]
use = "teacher-labels"

[model]
use = "mlp"
hidden = [3]

[loss]
use = "mse"

[optimizer]
use = "sgd"
lr = 0.05

[evaluators.train]
use = "loss"
split = "train"
"""


@attrs.frozen
class TeacherLabelsParams:
    points: int = 16


class TeacherLabels:
    """An environment labelled by a trained teacher: the composition these tables are for."""

    seen: ClassVar[list[tuple[int, torch.Tensor]]] = []

    @hookimpl
    def methodlab_environments(self):
        yield EnvironmentSpec("teacher-labels", build_teacher_labels, TeacherLabelsParams,
                              "Targets are an earlier run's predictions.")


def build_teacher_labels(params, *, seed, device, dtype, inputs):
    teacher = inputs["teacher"].model()
    assert not any(p.requires_grad for p in teacher.parameters()) and not teacher.training
    x = torch.randn(params.points, 3, generator=torch.Generator().manual_seed(seed),
                    dtype=dtype)
    TeacherLabels.seen.append((inputs["teacher"].seed, teacher(x)))
    return SupervisedEnvironment({"train": Batch(x, teacher(x))}, EnvInfo(3, 2, "regression",
                                                                          params.points))


@pytest.fixture
def runs(tmp_path):
    TeacherLabels.seen.clear()
    (tmp_path / "teacher.toml").write_text(TEACHER)

    def student(extra: str = "") -> Path:
        path = tmp_path / "student.toml"
        path.write_text(STUDENT.format(extra=extra))
        return path

    return student


def plugins():
    return isolated_plugin_system(("teacher-labels", TeacherLabels()))


def trained_teacher_outputs(run_dir: Path, seed: int) -> torch.Tensor:
    state = torch.load(run_dir / "trials" / "main" / f"seed-{seed}" / "checkpoint.pt",
                       weights_only=True)["model"]
    x = torch.randn(16, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    hidden = torch.tanh(x @ state["0.weight"].T + state["0.bias"])
    return hidden @ state["2.weight"].T + state["2.bias"]


def test_a_missing_input_run_is_trained_first_and_its_models_are_used(runs, tmp_path, capsys):
    out = tmp_path / "out"
    outcome = api.run(runs(), out=out, plugin_system=plugins())
    assert "input 'teacher': running" in capsys.readouterr().err
    assert (out / "teacher" / "summary.json").exists()
    assert outcome.summary["arms"]["main"]["train.loss"]["mean"] >= 0.0
    # Each trial gets the teacher trained with its own seed, with the trained weights.
    assert [seed for seed, _ in TeacherLabels.seen] == [0, 1]
    for seed, outputs in TeacherLabels.seen:
        torch.testing.assert_close(outputs, trained_teacher_outputs(out / "teacher", seed),
                                   rtol=0, atol=1e-12)


def test_a_finished_input_run_is_reused_not_retrained(runs, tmp_path, capsys):
    out = tmp_path / "out"
    api.run(runs(), out=out, plugin_system=plugins(), quiet=True)
    checkpoint = out / "teacher" / "trials" / "main" / "seed-0" / "checkpoint.pt"
    before = checkpoint.read_bytes(), checkpoint.stat().st_mtime_ns
    api.run(runs(), out=out, plugin_system=plugins(), force=True)
    assert "input 'teacher': running" not in capsys.readouterr().err
    assert (checkpoint.read_bytes(), checkpoint.stat().st_mtime_ns) == before


def test_a_pinned_seed_gives_every_trial_the_same_input(runs, tmp_path):
    api.run(runs("seed = 1"), out=tmp_path / "out", plugin_system=plugins(), quiet=True)
    assert [seed for seed, _ in TeacherLabels.seen] == [1, 1]


def test_loading_an_input_does_not_disturb_the_trials_random_draws(runs, tmp_path):
    api.run(runs(), out=tmp_path / "out", plugin_system=plugins(), quiet=True)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    system = plugins()
    spec = api.validate(runs(), plugin_system=system)
    from methodlab.inputs import inputs_for

    inputs_for(spec, tmp_path / "out", 0, system)["teacher"].model()
    assert torch.equal(torch.rand(3), expected)


def test_resolved_toml_records_the_input_by_absolute_path_and_resumes(runs, tmp_path):
    out = tmp_path / "out"
    first = api.run(runs(), out=out, plugin_system=plugins(), quiet=True)
    resolved = tomllib.loads((out / "student" / "resolved.toml").read_text())
    assert resolved["inputs"] == {"teacher": {"run": str(tmp_path / "teacher.toml")}}
    resumed = api.run(resume=out / "student", plugin_system=plugins(), quiet=True)
    assert resumed.summary["per_seed"] == first.summary["per_seed"]


def test_a_missing_run_file_is_a_run_file_error_naming_the_field(runs, tmp_path):
    path = runs()
    path.write_text(path.read_text().replace('"teacher.toml"', '"nowhere.toml"'))
    with pytest.raises(RunFileError) as error:
        api.validate(path, plugin_system=plugins())
    assert str(error.value) == (f"{path}: inputs.teacher.run: no such run file: "
                                f"{tmp_path / 'nowhere.toml'}")


def test_an_unknown_arm_or_seed_is_refused_before_training(runs, tmp_path):
    with pytest.raises(UserError, match=r"inputs\.teacher\.arm: .* has no arm 'big'; arms: "
                                        r"main"):
        api.run(runs('arm = "big"'), out=tmp_path / "a", plugin_system=plugins())
    with pytest.raises(UserError, match=r"inputs\.teacher\.seed: .* trains seeds \[0, 1\], "
                                        r"this run needs \[7\]"):
        api.run(runs("seed = 7"), out=tmp_path / "b", plugin_system=plugins())
    assert not (tmp_path / "a" / "teacher").exists()


def test_a_different_run_under_the_inputs_name_is_not_used(runs, tmp_path):
    out = tmp_path / "out"
    api.run(runs(), out=out, plugin_system=plugins(), quiet=True)
    (tmp_path / "teacher.toml").write_text(TEACHER.replace("steps = 30", "steps = 31"))
    with pytest.raises(UserError, match="holds a different run than"):
        api.run(runs(), out=out, plugin_system=plugins(), force=True)


def test_a_component_that_needs_an_input_the_run_lacks_says_which_table(tmp_path):
    path = tmp_path / "student.toml"
    path.write_text(STUDENT.format(extra="").replace(
        '[inputs.teacher]\nrun = "teacher.toml"\n', ""))
    with pytest.raises(UserError) as error:
        api.run(path, out=tmp_path / "out", plugin_system=plugins())
    assert "needs an [inputs.teacher] table in the run file" in str(error.value)
    assert "\n" not in str(error.value)


def test_the_conformance_suite_trains_a_components_inputs(tmp_path):
    (tmp_path / "teacher.toml").write_text(TEACHER)

    class WithExample(TeacherLabels):
        @hookimpl
        def methodlab_environments(self):
            yield EnvironmentSpec(
                "teacher-labels", build_teacher_labels, TeacherLabelsParams, "…",
                example={"inputs": {"teacher": {"run": str(tmp_path / "teacher.toml")}},
                         "loss": {"use": "mse"}})

    check_component("environment", "teacher-labels",
                    isolated_plugin_system(("teacher-labels", WithExample())))


def test_force_never_deletes_results_when_an_input_is_wrong(runs, tmp_path):
    out = tmp_path / "out"
    api.run(runs(), out=out, plugin_system=plugins(), quiet=True)
    summary = (out / "student" / "summary.json").read_bytes()
    with pytest.raises(UserError, match="this run needs \\[5\\]"):
        api.run(runs(), out=out, plugin_system=plugins(), force=True, overrides=["seeds=[5]"])
    assert (out / "student" / "summary.json").read_bytes() == summary


def test_validate_checks_inputs_and_a_failed_check_writes_nothing(runs, tmp_path):
    path = runs('arm = "nosuch"')
    with pytest.raises(UserError, match=r"inputs\.teacher\.arm: .* has no arm 'nosuch'"):
        api.validate(path, plugin_system=plugins())
    with pytest.raises(UserError, match="has no arm 'nosuch'"):
        api.run(path, out=tmp_path / "out", plugin_system=plugins())
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    (tmp_path / "teacher.toml").write_text(TEACHER.replace("steps = 30", 'steps = "x"'))
    with pytest.raises(RunFileError, match=r"teacher\.toml: train\.steps: expected int"):
        api.validate(runs(), plugin_system=plugins())


def test_a_run_that_names_itself_as_an_input_is_refused(tmp_path):
    path = tmp_path / "loop.toml"
    path.write_text(TEACHER.replace('name = "teacher"', 'name = "loop"')
                    + '\n[inputs.me]\nrun = "loop.toml"\n')
    with pytest.raises(UserError, match=r"inputs\.me\.run: .*loop\.toml needs itself"):
        api.validate(path, plugin_system=plugins())


def test_a_reused_input_is_announced(runs, tmp_path, capsys):
    out = tmp_path / "out"
    api.run(runs(), out=out, plugin_system=plugins(), quiet=True)
    api.run(runs(), out=out, plugin_system=plugins(), force=True)
    assert f"input 'teacher': reusing {out / 'teacher'}" in capsys.readouterr().err
