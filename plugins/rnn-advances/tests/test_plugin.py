"""Registration, conformance and run files of methodlab-rnn-advances."""

from __future__ import annotations

from pathlib import Path

from methodlab import api
from methodlab.testing import conformance_suite, run_file_tests

RUNS = Path(__file__).parents[1] / "runs"

test_conformance = conformance_suite("rnn-advances")
test_run_file_validates, test_run_file_claims_hold = run_file_tests(RUNS)


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-rnn-advances", "rnn-advances")


def test_components_are_registered():
    rows = {(row["kind"], row["name"]) for row in api.list_components()
            if row["plugin"] == "methodlab-rnn-advances"}
    assert rows == {("optimizer", "nesterov-sgd"), ("model", "piano-roll-rnn"),
                    ("loss", "sequence-nll"), ("environment", "synthetic-chorales")}
