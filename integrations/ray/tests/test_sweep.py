"""Real sweeps: the local pool and a local Ray instance (2 CPUs), resume, failures."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from methodlab import api, cli
from methodlab.errors import UserError
from methodlab_ray.config import SweepOptions, parse_axis, points
from methodlab_ray.sweep import sweep, trial_overrides

TINY = """\
name = "tiny"
seeds = [0]

[train]
steps = 3
threads = 1

[environment]
use = "digits"
n_labeled = 100
batch_size = 0

[model]
use = "mlp"
hidden = [8]

[loss]
use = "cross-entropy"

[evaluators.train]
use = "loss"
split = "train"

[arms.sgd.optimizer]
use = "sgd"
lr = 0.1

[arms.adam.optimizer]
use = "adam"
lr = 0.01
"""
GRID = (parse_axis("arms.sgd.optimizer.lr=0.05,0.2"),)
SEEDS = 2


@pytest.fixture(scope="module")
def run_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("run") / "tiny.toml"
    path.write_text(TINY)
    return path


def _sweep(run_file: Path, out: Path, **options) -> tuple:
    stream = io.StringIO()
    result = sweep(SweepOptions(str(run_file), GRID, SEEDS, out=str(out), **options), stream)
    return result, stream.getvalue()


@pytest.fixture(scope="module")
def local_sweep(run_file, tmp_path_factory):
    return _sweep(run_file, tmp_path_factory.mktemp("local"), workers=2)[0]


@pytest.fixture(scope="module")
def ray_instance():
    import ray  # a dependency of methodlab-ray, not an optional one
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _final(trial_dir: Path, arm: str, key: str) -> float:
    summary = json.loads((trial_dir / "summary.json").read_text())
    return summary["arms"][arm][key]["per_seed"][0]


def test_the_local_sweep_aggregates_every_trial_per_point(local_sweep, run_file, tmp_path):
    summary = local_sweep.summary
    assert (local_sweep.ran, summary["failed"]) == (4, 0)
    assert summary["grid"] == {"arms.sgd.optimizer.lr": [0.05, 0.2]}
    assert [p["label"] for p in summary["points"]] == ["arms.sgd.optimizer.lr-0.05",
                                                      "arms.sgd.optimizer.lr-0.2"]
    for point in summary["points"]:
        assert point["seeds"] == [0, 1]
        for arm in ("sgd", "adam"):
            stats = point["arms"][arm]["train.loss"]
            values = [_final(local_sweep.directory / "trials" / f"{point['label']}-seed-{s}",
                             arm, "train.loss") for s in (0, 1)]
            assert stats["per_seed"] == values
            assert stats["mean"] == pytest.approx(statistics.fmean(values), rel=1e-12)
            assert stats["std"] == pytest.approx(statistics.stdev(values), rel=1e-12)
            assert values[0] != values[1]  # the seeds differ
    # the larger SGD step goes further in 3 full-batch updates; Adam does not see the grid
    low, high = (p["arms"] for p in summary["points"])
    assert high["sgd"]["train.loss"]["mean"] < low["sgd"]["train.loss"]["mean"]
    assert high["adam"]["train.loss"] == low["adam"]["train.loss"]
    # a trial is the run `methodlab run` makes with the point's overrides and its seed
    point = points(GRID)[1]
    direct = api.run(run_file, out=tmp_path, overrides=trial_overrides(point, 1), quiet=True)
    assert (direct.summary["arms"]["sgd"]["train.loss"]["mean"]
            == summary["points"][1]["arms"]["sgd"]["train.loss"]["per_seed"][1])
    written = json.loads((local_sweep.directory / "summary.json").read_text())
    assert written["points"][0]["arms"]["sgd"]["train.loss"]["mean"] == pytest.approx(
        summary["points"][0]["arms"]["sgd"]["train.loss"]["mean"], rel=1e-15)
    assert [p.name for p in local_sweep.plots] == ["arms.sgd.optimizer.lr.png"]
    assert local_sweep.plots[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ray_tasks_give_the_same_summary_as_the_local_pool(ray_instance, local_sweep, run_file,
                                                           tmp_path):
    result, log = _sweep(run_file, tmp_path, backend="ray")
    assert result.summary["failed"] == 0
    assert result.summary["points"] == local_sweep.summary["points"]
    assert "4 to run on the ray backend" in log
    # the instance the test started is left running for the caller
    assert ray_instance.is_initialized()


def test_a_killed_sweep_resumes_without_rerunning_finished_trials(local_sweep, run_file,
                                                                  tmp_path):
    out = tmp_path / "sweeps"
    command = [sys.executable, "-m", "methodlab", "sweep", str(run_file), "--grid",
               "arms.sgd.optimizer.lr=0.05,0.2", "--seeds", "2", "--workers", "1", "--out",
               str(out)]
    trials = out / "tiny" / "trials"
    with open(tmp_path / "first.log", "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 300
        while len(list(trials.glob("*/summary.json"))) < 2 and process.poll() is None:
            assert time.monotonic() < deadline, "no two trials finished in 300 s"
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGKILL)  # the sweep and its pool workers
        process.wait()
    finished = {path: path.stat().st_mtime_ns for path in trials.glob("*/summary.json")}
    assert 2 <= len(finished) < 4, (tmp_path / "first.log").read_text()
    result, log = _sweep(run_file, out)
    assert result.ran == 4 - len(finished)
    assert f"{len(finished)} finished earlier, {4 - len(finished)} to run" in log
    assert {path: path.stat().st_mtime_ns for path in finished} == finished
    assert sum(t["reused"] for t in result.summary["trials"]) == len(finished)
    assert result.summary["points"] == local_sweep.summary["points"]


def test_an_interrupted_trial_continues_its_run_directory(local_sweep, run_file, tmp_path):
    out = tmp_path / "sweeps"
    shutil.copytree(local_sweep.directory, out / "tiny")
    trial = out / "tiny" / "trials" / "arms.sgd.optimizer.lr-0.2-seed-1"
    (trial / "summary.json").unlink()  # resolved.toml and checkpoints stay: resumable
    result, log = _sweep(run_file, out)
    assert result.ran == 1
    assert "arms.sgd.optimizer.lr-0.2 seed 1: continued and finished" in log
    [resumed] = [t for t in result.summary["trials"] if t["resumed"]]
    assert (resumed["point"], resumed["seed"]) == ("arms.sgd.optimizer.lr-0.2", 1)
    assert result.summary["points"] == local_sweep.summary["points"]


def test_a_changed_run_file_does_not_mix_with_finished_trials(local_sweep, tmp_path):
    changed = tmp_path / "tiny.toml"
    changed.write_text(TINY.replace("lr = 0.01", "lr = 0.02"))
    with pytest.raises(UserError, match="holds a run with other settings than"):
        _sweep(changed, local_sweep.directory.parent)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the failing trial asks for a GPU")
def test_a_failing_trial_is_reported_and_the_others_are_kept(run_file, tmp_path, capsys):
    status = cli.main(["sweep", str(run_file), "--grid", "train.device=cpu,cuda", "--seeds",
                       "1", "--workers", "2", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert status == 1
    trial_dir = tmp_path / "tiny" / "trials" / "train.device-cuda-seed-0"
    message = "UserError: train.device = 'cuda' but no GPU is available; use 'auto' or 'cpu'"
    assert f"error: trial train.device-cuda seed 0 ({trial_dir}): {message}\n" in captured.err
    assert "1 of 2 trial(s) failed; run the same command again to retry them" in captured.err
    summary = json.loads((tmp_path / "tiny" / "summary.json").read_text())
    cpu, cuda = summary["points"]
    assert summary["failed"] == 1
    assert [t["error"] for t in summary["trials"]] == [None, message]
    assert (cuda["seeds"], cuda["failed_seeds"], cuda["arms"]) == ([], [0], {})
    assert cpu["seeds"] == [0] and math.isfinite(cpu["arms"]["sgd"]["train.loss"]["mean"])
    assert "train.device-cpu  sgd" in captured.out
