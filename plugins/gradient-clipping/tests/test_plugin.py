"""Registration, conformance and the run files of methodlab-gradient-clipping."""

from __future__ import annotations

from pathlib import Path

from methodlab import api
from methodlab.testing import conformance_suite, run_file_tests

RUNS = Path(__file__).parents[1] / "runs"

test_conformance = conformance_suite("gradient-clipping")
test_run_file_validates, test_run_file_claims_hold = run_file_tests(RUNS)


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-gradient-clipping", "gradient-clipping")


def test_components_are_registered():
    rows = {(row["kind"], row["name"]) for row in api.list_components()
            if row["plugin"] == "methodlab-gradient-clipping"}
    tasks = {"temporal-order", "temporal-order-3bit", "adding", "multiplication",
             "random-permutation", "noiseless-memorization"}
    assert rows == {("optimizer", "clipped-sgd"), ("model", "tanh-rnn"), ("loss", "rnn-task"),
                    ("evaluator", "rnn-task")} | {("environment", name) for name in tasks}


def test_unclipped_arm_from_a_run_file():
    spec = api.validate(RUNS / "exploding-temporal-order.toml")
    assert spec.arm("unclipped").optimizer.params.threshold == float("inf")
    assert spec.arm("clipped").model.params.spectral_radius >= 1.5
