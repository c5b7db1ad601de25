"""Registration, conformance and the run files of methodlab-lp-units."""

from __future__ import annotations

from pathlib import Path

from methodlab import api
from methodlab.testing import conformance_suite, run_file_tests

RUNS = Path(__file__).parents[1] / "runs"
NOT_REPRODUCED = {
    "curved-boundary.toml": "3 Lp units stall at 1.2-4.2 % training error (median 1.64 %, 0 of "
    "10 seeds <= 1 %; also with p_init 2, lr 0.003/0.05 and 8,000 updates); see README",
}

test_conformance = conformance_suite("lp-units")
test_run_file_validates, test_run_file_claims_hold = run_file_tests(RUNS, NOT_REPRODUCED)


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-lp-units", "lp-units")


def test_components_are_registered():
    names = {(row["kind"], row["name"]) for row in api.list_components()
             if row["plugin"] == "methodlab-lp-units"}
    assert names == {("model", "lp-mlp"), ("model", "maxout-mlp"),
                     ("environment", "curved-boundary"), ("evaluator", "lp-orders")}


def test_claims_are_stated_as_the_issue_states_them():
    toy = api.validate(RUNS / "curved-boundary.toml")
    assert len(toy.seeds) == 10 and toy.arm("lp3").train.steps == 1800
    within, relu, maxout = toy.claims
    assert (within.value, within.op, within.min_seeds) == (0.01, "<=", 7)
    assert {relu.right, maxout.right} == {"relu4:train.error", "maxout3:train.error"}
    assert relu.reduce == maxout.reduce == "median" and relu.op == maxout.op == "<"
    digits = api.validate(RUNS / "digits.toml")
    error, spread = digits.claims
    assert (error.op, error.right, error.offset) == ("<=", "maxout:test.error", 0.01)
    assert (spread.left, spread.op, spread.value) == ("lp:orders.p_std", ">", 0.1)
