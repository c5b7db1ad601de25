"""Data-parallel training under torchrun (gloo on CPU): same trajectory, rank 0 writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from methodlab import api, hookimpl
from methodlab.components import Batch
from methodlab.distributed import World, check_optimizer, shard
from methodlab.errors import UserError
from methodlab.testing import isolated_plugin_system

RUN = """\
name = "ddp"
seeds = [0]

[train]
steps = 30
eval_every = 10
checkpoint_every = 10
dtype = "float64"
threads = 1

[environment]
use = "digits"
batch_size = 64

[model]
use = "mlp"
hidden = [32]

[loss]
use = "cross-entropy"

[optimizer]
use = "sgd"
lr = 0.1
momentum = 0.9

[evaluators.train]
use = "loss"
split = "train"
"""


def _run(tmp_path: Path, out: str, processes: int, *extra: str) -> subprocess.CompletedProcess:
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
                 f"--nproc_per_node={processes}"] if processes > 1 else [sys.executable])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([*launcher, "-m", "methodlab", "run", str(tmp_path / "ddp.toml"),
                           "--out", str(tmp_path / out), "--quiet", *extra],
                          capture_output=True, text=True, timeout=300, env=env)


def _records(directory: Path) -> list[dict]:
    return [json.loads(line) for line in (directory / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("ddp")
    (tmp_path / "ddp.toml").write_text(RUN)
    single = _run(tmp_path, "single", 1)
    assert single.returncode == 0, single.stderr
    double = _run(tmp_path, "double", 2)
    assert double.returncode == 0, double.stderr
    return tmp_path, double


def test_two_ranks_end_within_1e_5_of_one_process(runs):
    tmp_path, _ = runs
    single = json.loads((tmp_path / "single/ddp/summary.json").read_text())
    double = json.loads((tmp_path / "double/ddp/summary.json").read_text())
    for metric in ("step.loss", "train.loss"):
        a = single["arms"]["main"][metric]["mean"]
        b = double["arms"]["main"][metric]["mean"]
        assert abs(a - b) <= 1e-5, (metric, a, b)
    # Not a trivially equal pair: training moved the loss a long way.
    assert single["arms"]["main"]["train.loss"]["mean"] < 0.5 * single["arms"]["main"][
        "train.loss@start"]["mean"]


def test_every_step_matches_not_only_the_last(runs):
    tmp_path, _ = runs
    single = [r["step.loss"] for r in _records(tmp_path / "single/ddp") if "step.loss" in r]
    double = [r["step.loss"] for r in _records(tmp_path / "double/ddp") if "step.loss" in r]
    assert len(single) == len(double) == 30
    assert max(abs(a - b) for a, b in zip(single, double, strict=True)) <= 1e-5


def test_only_rank_0_writes_and_speaks(runs):
    tmp_path, double = runs
    records = _records(tmp_path / "double/ddp")
    steps = [r["step"] for r in records if "step.loss" in r]
    assert steps == list(range(1, 31))  # one writer: no duplicated records
    assert double.stdout.count("results:") == 1


def test_checkpoints_hold_the_model_not_its_ddp_wrapper(runs):
    tmp_path, _ = runs
    directory = tmp_path / "double/ddp"
    checkpoint = directory / "trials/main/seed-0/checkpoint.pt"
    state = torch.load(checkpoint, weights_only=True)
    assert state["step"] == 30
    assert not any(key.startswith("module.") for key in state["model"])  # the model, not DDP


class _Interrupt:
    """Ctrl-C after update 15 (the last checkpoint holds update 10)."""

    @hookimpl
    def methodlab_step_end(self, trial, step, metrics):
        if step == 15:
            raise KeyboardInterrupt


def test_a_one_process_run_resumed_by_two_ranks_ends_where_one_process_does(runs):
    tmp_path, _ = runs
    with pytest.raises(KeyboardInterrupt):
        api.run(tmp_path / "ddp.toml", out=tmp_path / "part", quiet=True,
                plugin_system=isolated_plugin_system(("interrupt", _Interrupt())))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    resumed = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "methodlab", "run", "--resume", str(tmp_path / "part/ddp"), "--quiet"],
        capture_output=True, text=True, timeout=300, env=env)
    assert resumed.returncode == 0, resumed.stderr
    single = _records(tmp_path / "single/ddp")
    part = _records(tmp_path / "part/ddp")
    losses = [[r["step.loss"] for r in records if "step.loss" in r] for records in (single, part)]
    assert len(losses[1]) == 30  # steps 11-15 were redone from the checkpoint, not appended
    assert max(abs(a - b) for a, b in zip(*losses, strict=True)) <= 1e-5


def test_shard_splits_the_global_batch_into_contiguous_parts():
    batch = Batch(torch.arange(12.0).view(6, 2), torch.arange(6))
    parts = [shard(batch, World(rank, 3)) for rank in range(3)]
    assert [p.targets.tolist() for p, _ in parts] == [[0, 1], [2, 3], [4, 5]]
    assert [weight for _, weight in parts] == [1.0, 1.0, 1.0]
    assert torch.equal(torch.cat([p.inputs for p, _ in parts]), batch.inputs)


def test_unequal_shards_are_weighted_to_the_global_mean_gradient():
    torch.manual_seed(0)
    x, y = torch.randn(7, 3), torch.randn(7)
    w = torch.randn(3, requires_grad=True)
    (((x @ w - y) ** 2).mean()).backward()
    expected, w.grad = w.grad.clone(), None
    ranks = 3
    for rank in range(ranks):
        part, weight = shard(Batch(x, y), World(rank, ranks))
        # DDP averages the ranks' gradients: 1/N of each weighted shard gradient.
        (weight * ((part.inputs @ w - part.targets) ** 2).mean() / ranks).backward()
    assert torch.allclose(w.grad, expected, atol=1e-6)


def test_shard_refuses_too_small_and_foreign_batches():
    with pytest.raises(UserError, match="a batch of 1 examples cannot feed 2 ranks"):
        shard(Batch(torch.zeros(1, 1), torch.zeros(1)), World(0, 2))
    with pytest.raises(UserError, match="the environment yields dict"):
        shard({"obs": torch.zeros(4)}, World(0, 2))


def test_curvature_optimizers_are_refused_with_one_line():
    class Curvature(torch.optim.SGD):
        needs_step_context = True

    optimizer = Curvature([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    check_optimizer(optimizer, "natural-gradient", World(0, 1))  # one process: fine
    with pytest.raises(UserError, match="optimizer 'natural-gradient' computes curvature"):
        check_optimizer(optimizer, "natural-gradient", World(0, 2))
    optimizer.supports_data_parallel = True
    check_optimizer(optimizer, "natural-gradient", World(0, 2))
