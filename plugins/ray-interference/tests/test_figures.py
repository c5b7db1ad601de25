"""The figure drawn when a run ends, and the plateau detection it shades."""

import json

import numpy as np
from methodlab.api import run
from methodlab.runfile import load_run_file
from methodlab_ray_interference.figures import draw_figures, plateaus

RUN_FILE = """
name = "tiny-k2"
seeds = [0]
[train]
steps = 400
eval_every = 4
dtype = "float64"
threads = 1
[environment]
use = "exact-bandit"
[model]
use = "interference-logits"
start = [0.0, -3.0]
interference = -0.7
[loss]
use = "expected-reward"
[optimizer]
use = "sgd"
lr = 2.0
[evaluators.dynamics]
use = "bandit-dynamics"
figure = "flow.png"
[arms.on-policy]
[arms.supervised.loss]
use = "good-arm-likelihood"
"""


def test_run_end_draws_the_requested_figure(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(RUN_FILE)
    run(path, out=tmp_path / "out", quiet=True)
    figure = tmp_path / "out" / "tiny-k2" / "flow.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert figure.stat().st_size > 20_000
    # The on-policy learner (800 time units) sits on its plateau; its curve is recorded.
    rows = [json.loads(line) for line in (tmp_path / "out" / "tiny-k2" / "trials" / "on-policy"
                                          / "seed-0" / "metrics.jsonl").read_text().splitlines()]
    objective = np.array([r["dynamics.objective"] for r in rows if "dynamics.objective" in r])
    updates = np.array([r["step"] for r in rows if "dynamics.objective" in r], dtype=float)
    found = plateaus(updates, objective, 0.9)
    assert found and found[0][1] - found[0][0] > 100


def test_plateaus_ignore_solved_and_rising_stretches():
    updates = np.arange(50.0)
    assert plateaus(updates, np.linspace(0.1, 0.95, 50), 0.9) == []
    assert plateaus(updates, np.full(50, 0.95), 0.9) == []
    assert plateaus(updates[:2], np.zeros(2), 0.9) == []


def test_no_figure_unless_the_evaluator_asks(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(RUN_FILE.replace('figure = "flow.png"\n', ""))
    assert draw_figures(load_run_file(path), tmp_path) == []
    assert not list(tmp_path.glob("*.png"))
