"""Registration, conformance and the run files of methodlab-deep-rnn."""

from __future__ import annotations

from pathlib import Path

from methodlab import api
from methodlab.testing import conformance_suite, run_file_tests

RUNS = Path(__file__).parents[1] / "runs"
MODELS = {"shallow-rnn", "dt-rnn", "dts-rnn", "dots-rnn", "stacked-rnn"}

test_conformance = conformance_suite("deep-rnn")
test_run_file_validates, test_run_file_claims_hold = run_file_tests(RUNS)


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-deep-rnn", "deep-rnn")


def test_components_are_registered():
    rows = [row for row in api.list_components() if row["plugin"] == "methodlab-deep-rnn"]
    assert {(row["kind"], row["name"]) for row in rows} == {
        *(("model", name) for name in MODELS),
        ("optimizer", "clipped-adam"),
        ("evaluator", "parameter-count"),
    }


def test_every_arm_of_a_run_file_has_the_same_parameter_budget():
    # Matched sizes are the point of the comparison: an arm that replaces the [model] table
    # must restate the budget, or it silently falls back to the default width.
    for path in sorted(RUNS.glob("*.toml")):
        spec = api.validate(path)
        budgets = {arm.model.params.param_budget for arm in spec.arms}
        assert len(budgets) == 1 and budgets.pop() > 0, path.name
        assert {arm.model.use.partition(":")[2] or arm.model.use for arm in spec.arms} \
            >= {"shallow-rnn", "dots-rnn"}, path.name
