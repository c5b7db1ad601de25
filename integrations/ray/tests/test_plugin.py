"""Registration, the run file and the command's argument errors (no trials run)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from methodlab import cli
from methodlab.plugin_manager import get_plugin_system
from methodlab.testing import conformance_suite, run_file_tests

RUNS = Path(__file__).parents[1] / "runs"
RUN_FILE = RUNS / "digits-sweep.toml"

# The integration registers a command, no components: the suite has nothing to train (it
# still fails when the plugin does not load).
test_conformance = conformance_suite("ray")
NOT_REPRODUCED: dict[str, str] = {}
test_run_file_validates, test_run_file_claims_hold = run_file_tests(RUNS, NOT_REPRODUCED)


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-ray", "ray")


def test_the_sweep_command_is_registered():
    spec = get_plugin_system().commands["sweep"][1]
    assert (spec.configure, spec.run) == ("methodlab_ray.command:configure",
                                          "methodlab_ray.command:run")


# -- argument errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(("arguments", "message"), [
    (["--seeds", "0"], "error: --seeds must be > 0, got 0"),
    (["--seeds", "1", "--cpus-per-trial", "0"], "error: --cpus-per-trial must be > 0"),
    (["--seeds", "1", "--gpus-per-trial", "-1"], "error: --gpus-per-trial must be >= 0"),
    (["--seeds", "1", "--workers", "0"], "error: --workers must be > 0, got 0"),
    (["--seeds", "1", "--address", "auto"], "error: --address needs --backend ray"),
    (["--seeds", "1", "--gpus-per-trial", "0.5"],
     "error: --gpus-per-trial must be a whole number on the local backend"),
    (["--seeds", "1", "--grid", "optimizer.lr"], "error: --grid 'optimizer.lr': expected"),
    (["--seeds", "1", "--grid", "arms.sgd.optimizer.lr=0.1", "--grid",
      "arms.sgd.optimizer.lr=0.2"], "error: --grid: key 'arms.sgd.optimizer.lr' is given "
                                    "twice"),
    (["--seeds", "1", "--grid", "arms.sgd.optimizer.lr=0.1,-1"],
     "error: --grid arms.sgd.optimizer.lr=-1: arms.sgd.optimizer.lr: must be > 0.0: -1.0"),
    (["--seeds", "1", "--grid", "arms.sgd.optimizer.lr=abc"],
     "error: --grid arms.sgd.optimizer.lr=abc: arms.sgd.optimizer.lr: expected float, got str "
     "'abc'"),
    (["--seeds", "1", "--grid", "arms.sgd.optimiser.lr=0.1"],
     "error: --grid arms.sgd.optimiser.lr=0.1: arms.sgd.optimiser: unknown key"),
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


@pytest.mark.skipif(torch.cuda.is_available(), reason="the error needs a machine without GPUs")
def test_gpus_the_local_machine_lacks_are_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "sweeps"
    status = cli.main(["sweep", str(RUN_FILE), "--seeds", "1", "--gpus-per-trial", "1",
                       "--out", str(out)])
    assert status == 2
    assert capsys.readouterr().err == "error: --gpus-per-trial 1: this machine has 0 GPU(s)\n"
    assert not out.exists()
