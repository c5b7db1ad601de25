"""Registration, conformance and the run files of methodlab-deep-rnn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from methodlab import api
from methodlab.testing import conformance_suite, run_file_tests

RUNS = Path(__file__).parents[1] / "runs"
MODELS = {"shallow-rnn", "dt-rnn", "dts-rnn", "dots-rnn", "stacked-rnn"}

test_conformance = conformance_suite("deep-rnn")
test_run_file_validates, _ = run_file_tests(RUNS)

# Measured on 2 CPU cores (see the README); the claims are kept as the issue states them.
NOT_REPRODUCED = {
    "char-text.toml": "DOT(S)-RNN is 0.029 bpc below the shallow RNN (mean of seeds 0, 1: "
                      "2.471 vs 2.500), short of the claimed 0.03",
    "chorales.toml": "DT(S)-RNN, the deep arm fixed in advance, has a higher valid NLL than the "
                     "shallow RNN (9.872 vs 9.413 nats per frame)",
}


@pytest.mark.slow
@pytest.mark.parametrize("run_file", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=NOT_REPRODUCED[name]))
    if name in NOT_REPRODUCED else name
    for name in sorted(path.name for path in RUNS.glob("*.toml"))
])
def test_run_file_claims_hold(run_file, tmp_path):
    result = subprocess.run([sys.executable, "-m", "methodlab", "run", str(RUNS / run_file),
                             "--check", "--quiet", "--out", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


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
            >= {"shallow-rnn", "dts-rnn", "dots-rnn"}, path.name
