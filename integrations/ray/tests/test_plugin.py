"""Registration, argument checking and the pure parts of methodlab-ray (no trials run)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from methodlab import cli
from methodlab.errors import UserError
from methodlab.plugin_manager import get_plugin_system
from methodlab.testing import conformance_suite, run_file_tests
from methodlab_ray.aggregate import format_sweep_table, mean_std
from methodlab_ray.backends import gpu_assignments
from methodlab_ray.config import GridAxis, Point, SweepOptions, parse_axis, points, split_values

RUNS = Path(__file__).parents[1] / "runs"
RUN_FILE = RUNS / "digits-sweep.toml"

# The integration registers a command, no components: the suite has nothing to train (it
# still fails when the plugin does not load); the command is listed among the plugin's
# components, which the suite cannot build.
test_conformance = conformance_suite("ray", skip=["command:sweep"])
NOT_REPRODUCED: dict[str, str] = {}
test_run_file_validates, test_run_file_claims_hold = run_file_tests(RUNS, NOT_REPRODUCED)


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-ray", "ray")


def test_the_sweep_command_is_registered():
    spec = get_plugin_system().commands["sweep"][1]
    assert (spec.configure, spec.run) == ("methodlab_ray.command:configure",
                                          "methodlab_ray.command:run")


# -- the grid -----------------------------------------------------------------------------------


def test_values_split_at_top_level_commas_only():
    assert split_values("0.1, 1e-3") == ["0.1", "1e-3"]
    assert split_values('[8, 4],[16],"a,b",{x = 1, y = 2}') == [
        "[8, 4]", "[16]", '"a,b"', "{x = 1, y = 2}"]


def test_an_axis_parses_its_values_as_the_run_file_will():
    axis = parse_axis("model.hidden=[8, 4],[16]")
    assert axis == GridAxis("model.hidden", ("[8, 4]", "[16]"))
    assert axis.values == [[8, 4], [16]]
    assert parse_axis("model.activation=tanh,relu").values == ["tanh", "relu"]
    assert parse_axis("optimizer.lr=0.1,1e-2").values == [0.1, 0.01]


def test_points_are_the_product_with_the_last_axis_fastest():
    grid = (parse_axis("optimizer.lr=0.1,0.2"), parse_axis("model.hidden=[4],[8]"))
    labels = [point.label for point in points(grid)]
    assert labels == ["optimizer.lr-0.1_model.hidden--4-", "optimizer.lr-0.1_model.hidden--8-",
                      "optimizer.lr-0.2_model.hidden--4-", "optimizer.lr-0.2_model.hidden--8-"]
    assert points(grid)[1].overrides == ["optimizer.lr=0.1", "model.hidden=[8]"]
    assert [point.label for point in points(())] == ["base"]


def test_points_whose_directories_would_collide_are_refused():
    with pytest.raises(UserError, match=r"would share the directory 'model\.hidden--4-'"):
        points((GridAxis("model.hidden", ("[4]", "(4)")),))


@pytest.mark.parametrize(("text", "message"), [
    ("optimizer.lr", "--grid 'optimizer.lr': expected key.path=v1,v2,..."),
    ("=0.1", "--grid '=0.1': expected key.path=v1,v2,..."),
    ("optimizer..lr=1", "--grid 'optimizer..lr=1': expected key.path=v1,v2,..."),
    ("optimizer.lr=0.1,", "--grid 'optimizer.lr=0.1,': empty value"),
    ("optimizer.lr=0.1,0.1", "--grid 'optimizer.lr=0.1,0.1': a value is listed twice"),
    ("seeds=[1]", "--grid 'seeds=[1]': the sweep sets 'seeds' itself (use --seeds N for seeds)"),
    ("name=x", "--grid 'name=x': the sweep sets 'name' itself"),
])
def test_a_malformed_axis_is_a_one_line_error(text, message):
    with pytest.raises(UserError) as error:
        parse_axis(text)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


# -- options ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("arguments", "message"), [
    (["--seeds", "0"], "error: {file}: --seeds must be > 0, got 0"),
    (["--seeds", "1", "--cpus-per-trial", "0"], "error: {file}: --cpus-per-trial must be > 0"),
    (["--seeds", "1", "--gpus-per-trial", "-1"], "error: {file}: --gpus-per-trial must be >= 0"),
    (["--seeds", "1", "--workers", "0"], "error: {file}: --workers must be > 0, got 0"),
    (["--seeds", "1", "--address", "auto"], "error: {file}: --address needs --backend ray"),
    (["--seeds", "1", "--gpus-per-trial", "0.5"],
     "error: {file}: --gpus-per-trial must be a whole number on the local backend"),
    (["--seeds", "1", "--grid", "optimizer.lr"], "error: --grid 'optimizer.lr': expected"),
    (["--seeds", "1", "--grid", "arms.sgd.optimizer.lr=0.1", "--grid",
      "arms.sgd.optimizer.lr=0.2"], "error: {file}: --grid: key 'arms.sgd.optimizer.lr' is "
                                    "given twice"),
    (["--seeds", "1", "--grid", "arms.sgd.optimizer.lr=0.1,-1"],
     "error: {file}: arms.sgd.optimizer.lr: must be > 0.0: -1.0"),
    (["--seeds", "1", "--grid", "arms.sgd.optimiser.lr=0.1"],
     "error: {file}: arms.sgd.optimiser: unknown key"),
])
def test_bad_arguments_are_one_line_errors_with_exit_2_before_anything_is_written(
        tmp_path, capsys, arguments, message):
    out = tmp_path / "sweeps"
    status = cli.main(["sweep", str(RUN_FILE), "--out", str(out), *arguments])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(message.format(file=RUN_FILE)), err
    assert err.count("\n") == 1
    assert not out.exists()


def test_options_default_to_one_cpu_per_trial_on_the_local_pool():
    options = SweepOptions("run.toml", seeds=3)
    assert (options.backend, options.cpus_per_trial, options.gpus_per_trial, options.workers,
            options.address) == ("local", 1.0, 0.0, None, None)


# -- aggregation and resources -------------------------------------------------------------------


def test_mean_and_sample_std_over_seeds():
    stats = mean_std([1.0, 2.0, 6.0])
    assert stats["mean"] == 3.0
    assert stats["std"] == pytest.approx(math.sqrt(((1 - 3) ** 2 + (2 - 3) ** 2 + 9) / 2))
    assert mean_std([4.0]) == {"mean": 4.0, "std": 0.0, "per_seed": [4.0]}
    nan = mean_std([1.0, math.nan])
    assert math.isnan(nan["mean"]) and math.isnan(nan["std"])


def test_the_table_has_a_row_per_point_and_arm():
    summary = {"points": [
        {"label": "lr-0.1", "arms": {"sgd": {"train.loss": mean_std([1.0, 3.0])}}},
        {"label": "lr-0.2", "arms": {"sgd": {"train.loss": mean_std([0.5])}}},
    ]}
    lines = format_sweep_table(summary).splitlines()
    assert lines[0].split() == ["arm", "train.loss"]
    assert lines[2].split() == ["lr-0.1", "sgd", "2", "±", "1.4"]
    assert lines[3].split() == ["lr-0.2", "sgd", "0.5"]
    assert format_sweep_table({"points": [{"label": "x", "arms": {}}]}) == "no trial finished"


def test_local_workers_get_disjoint_gpu_blocks():
    assert gpu_assignments(2, 0, 0) == ["", ""]
    assert gpu_assignments(4, 1, 2) == ["0", "1"]
    assert gpu_assignments(3, 2, 4) == ["0,1", "2,3"]
    assert gpu_assignments(1, 3, 8) == ["0,1,2"]


def test_a_trial_is_named_after_its_point_and_seed():
    point = Point((("arms.sgd.optimizer.lr", "0.05"),))
    assert point.trial_name(2) == "arms.sgd.optimizer.lr-0.05-seed-2"


@pytest.mark.skipif(torch.cuda.is_available(), reason="the error needs a machine without GPUs")
def test_gpus_the_local_machine_lacks_are_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "sweeps"
    status = cli.main(["sweep", str(RUN_FILE), "--seeds", "1", "--gpus-per-trial", "1",
                       "--out", str(out)])
    assert status == 2
    assert capsys.readouterr().err == "error: --gpus-per-trial 1: this machine has 0 GPU(s)\n"
    assert not out.exists()
