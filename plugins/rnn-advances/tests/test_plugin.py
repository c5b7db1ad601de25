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


def test_chorale_claim_is_stated_as_in_the_issue():
    spec = api.validate(RUNS / "chorales.toml")
    assert spec.seeds == (0, 1, 2)
    assert {arm.name for arm in spec.arms} == {"plain", "combined"}
    (claim,) = spec.claims
    assert (claim.left, claim.op, claim.right) == ("combined:valid.nll", "<=", "plain:valid.nll")
    assert (claim.offset, claim.scale, claim.min_seeds) == (-0.1, 1.0, 2)
    plain, combined = spec.arm("plain"), spec.arm("combined")
    assert plain.optimizer.use.endswith("sgd") and plain.optimizer.params.momentum == 0.0
    assert plain.model.params.activation == "tanh" and plain.model.params.leak == "none"
    assert combined.model.params.activation == "relu" and combined.model.params.leak == "fixed"
    assert combined.loss.params.l1 > 0 and combined.optimizer.params.momentum > 0
    # Same output model in both arms, so the comparison is about the techniques.
    assert plain.model.params.output == combined.model.params.output == "nade"
    assert all(arm.train.threads == 1 for arm in spec.arms)
