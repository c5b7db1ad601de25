"""Statistics over seeds and the sweep table (methodlab_ray.aggregate)."""

from __future__ import annotations

import math

import pytest
from methodlab.summary import mean_std
from methodlab_ray.aggregate import format_sweep_table, plot_sweep


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


def test_a_plot_per_key_with_two_or_more_values(tmp_path):
    points = [{"label": f"act-{act}", "values": {"model.activation": act, "train.steps": 3},
               "arms": {"sgd": {"train.loss": mean_std([loss, loss + 0.1])}}}
              for act, loss in (("tanh", 1.0), ("relu", 0.5))]
    summary = {"name": "tiny", "grid": {"model.activation": ["tanh", "relu"], "train.steps": [3]},
               "points": points}
    [path] = plot_sweep(summary, tmp_path)
    assert path == tmp_path / "plots" / "model.activation.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot_sweep({**summary, "points": [{**points[0], "arms": {}}]}, tmp_path) == []
