"""Registration, conformance and the run files of methodlab-music21."""

from __future__ import annotations

from pathlib import Path

from methodlab import api
from methodlab.plugin_manager import get_plugin_system
from methodlab.testing import conformance_suite, run_file_tests

RUNS = Path(__file__).parents[1] / "runs"

test_conformance = conformance_suite("music21")
test_run_file_validates, test_run_file_claims_hold = run_file_tests(RUNS)


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-music21", "music21")


def test_components_are_registered():
    rows = {(row["kind"], row["name"]) for row in api.list_components()
            if row["plugin"] == "methodlab-music21"}
    assert rows == {("environment", "bach-chorales"), ("environment", "folk-tunes"),
                    ("loss", "next-frame-bernoulli"), ("evaluator", "frame-nll"),
                    ("model", "frame-logistic")}



def test_environment_examples_parse_only_a_few_pieces():
    # The suite builds an environment from its example's "params": without a limit it would
    # parse the whole corpus when no cache exists.
    plugins = get_plugin_system()
    for name in ("bach-chorales", "folk-tunes"):
        assert plugins.get("environment", name).example["params"]["limit"] == 2
