"""``methodlab compare``: a table of arms across runs and overlay learning curves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import matplotlib.image
import pytest
from methodlab import api, cli
from methodlab.compare import curves, line_styles, load_runs
from methodlab.errors import UserError
from methodlab.testing import isolated_plugin_system

# 12 training points in batches of 4; evaluations at steps 0, 2, 4 and 6.
RUN = """\
name = "{name}"
seeds = [0, 1]

[train]
steps = 6
eval_every = 2

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
use = "mse"

[optimizer]
use = "sgd"

[evaluators.train]
use = "loss"
split = "train"

[arms.slow.optimizer]
lr = 0.01

[arms.fast.optimizer]
lr = {fast}
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two finished runs, ``a`` and ``b`` (another learning rate), of two arms and seeds."""
    root = tmp_path_factory.mktemp("compare")
    directories = []
    for name, fast in (("a", 0.1), ("b", 0.3)):
        path = root / f"{name}.toml"
        path.write_text(RUN.format(name=name, fast=fast))
        outcome = api.run(path, out=root / "out", quiet=True,
                          plugin_system=isolated_plugin_system())
        directories.append(outcome.directory)
    return directories[0], directories[1]


def summary(directory: Path) -> dict:
    return json.loads((directory / "summary.json").read_text())


def test_the_table_has_mean_and_std_of_every_arm_of_every_run(runs):
    comparison = api.compare(runs, metrics=["train.loss", "step.loss"])
    assert comparison.columns == ("train.loss", "step.loss")
    assert list(comparison.arms) == ["a/slow", "a/fast", "b/slow", "b/fast"]
    lines = comparison.table.splitlines()
    assert lines[0].split() == ["arm", "train.loss", "step.loss"]
    for line, (directory, arm) in zip(lines[2:], [(d, arm) for d in runs
                                                  for arm in ("slow", "fast")], strict=True):
        stats = summary(directory)["arms"][arm]
        cells = [f"{stats[m]['mean']:.4g} ± {stats[m]['std']:.2g}"
                 for m in ("train.loss", "step.loss")]
        assert line.split("  ")[0] == f"{directory.name}/{arm}"
        assert [c.strip() for c in line.split("  ")[1:] if c.strip()] == cells
        assert comparison.arms[f"{directory.name}/{arm}"] == stats
    # The runs differ in the fast arm only, and its final loss differs between them.
    assert comparison.arms["a/slow"] == comparison.arms["b/slow"]
    assert comparison.arms["a/fast"] != comparison.arms["b/fast"]
    assert comparison.plots == ()


def test_one_run_is_labelled_by_arm_and_defaults_to_the_run_table(runs):
    comparison = api.compare(runs[:1])
    assert list(comparison.arms) == ["slow", "fast"]
    # The columns methodlab run prints: final metrics, no @start twins or bookkeeping.
    assert comparison.columns == ("step.loss", "train.loss")


def test_curves_come_from_metrics_jsonl_per_run_arm_and_seed(runs):
    data = curves(load_runs(runs))
    assert set(data) == {"step.loss", "train.loss"}
    assert set(data["train.loss"]) == {"a/slow", "a/fast", "b/slow", "b/fast"}
    # Evaluations at 0, 2, 4 and the end; updates 1..6; one value per seed at each step.
    assert sorted(data["train.loss"]["a/fast"]) == [0, 2, 4, 6]
    assert sorted(data["step.loss"]["b/slow"]) == [1, 2, 3, 4, 5, 6]
    for directory in runs:
        final = summary(directory)["per_seed"]
        for arm in ("slow", "fast"):
            assert data["train.loss"][f"{directory.name}/{arm}"][6] == final[arm]["train.loss"]
    # Same seed, same initial weights: every arm of both runs starts from the same loss.
    starts = {tuple(by_step[0]) for by_step in data["train.loss"].values()}
    assert len(starts) == 1


def test_overlay_plots_one_png_per_metric(runs, tmp_path):
    comparison = api.compare(runs, out=tmp_path / "plots")
    assert [p.name for p in comparison.plots] == ["compare-step.loss.png",
                                                  "compare-train.loss.png"]
    image = matplotlib.image.imread(comparison.plots[1])
    assert image.shape[:2] == (360, 500)
    assert image[..., :3].std() > 0.05  # lines and text, not a blank canvas
    only = api.compare(runs, metrics=["train.loss"], out=tmp_path / "one")
    assert [p.name for p in only.plots] == ["compare-train.loss.png"]


def test_an_arm_keeps_its_colour_across_runs_and_each_run_has_its_dashes(runs):
    styles = line_styles(load_runs(runs))
    assert styles == {"a/slow": {"color": "C0", "linestyle": "-"},
                      "a/fast": {"color": "C1", "linestyle": "-"},
                      "b/slow": {"color": "C0", "linestyle": "--"},
                      "b/fast": {"color": "C1", "linestyle": "--"}}


def test_cli_prints_the_table_and_the_plots(runs, tmp_path, capsys):
    out = tmp_path / "cli"
    assert cli.main(["compare", *map(str, runs), "--metric", "train.loss", "--out",
                     str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["arm", "train.loss"]
    assert [line.split()[0] for line in lines[2:6]] == ["a/slow", "a/fast", "b/slow", "b/fast"]
    assert lines[6:] == [f"plot: {out / 'compare-train.loss.png'}"]


def test_runs_of_the_same_name_are_told_apart_by_directory(runs, tmp_path):
    copy = tmp_path / "elsewhere" / "a"
    shutil.copytree(runs[0], copy, ignore=shutil.ignore_patterns("trials"))
    comparison = api.compare([runs[0], copy], metrics=["train.loss"])
    assert list(comparison.arms) == [f"{runs[0]}/slow", f"{runs[0]}/fast", f"{copy}/slow",
                                     f"{copy}/fast"]


def test_mistakes_are_one_line_errors(runs, tmp_path, capsys):
    with pytest.raises(UserError, match=r"--metric 'train.los': no run has this metric "
                                        r"\(did you mean 'train.loss'\?\)"):
        api.compare(runs, metrics=["train.los"])
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "resolved.toml").write_text('name = "unfinished"\n')
    with pytest.raises(UserError, match=r"no summary\.json .* 'methodlab run --resume "):
        api.compare([unfinished])
    with pytest.raises(UserError, match="given twice"):
        api.compare([runs[0], runs[0]])
    assert cli.main(["compare", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'missing'}: no such run directory\n"
