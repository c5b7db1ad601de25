"""Registration, conformance and the run files of methodlab-lp-units."""

from __future__ import annotations

from pathlib import Path

from methodlab import api
from methodlab.testing import conformance_suite, run_file_tests

RUNS = Path(__file__).parents[1] / "runs"

test_conformance = conformance_suite("lp-units")


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-lp-units", "lp-units")


def test_components_are_registered():
    names = {(row["kind"], row["name"]) for row in api.list_components()
             if row["plugin"] == "methodlab-lp-units"}
    assert names == {("model", "lp-mlp"), ("model", "maxout-mlp"),
                     ("environment", "curved-boundary"), ("evaluator", "lp-orders")}


test_run_file_validates, test_run_file_claims_hold = run_file_tests(RUNS)
