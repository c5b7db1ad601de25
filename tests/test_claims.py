"""Claim verdicts: every operator and option, and ``methodlab run --check``."""

from __future__ import annotations

import math

import pytest
from methodlab import cli
from methodlab.claims import evaluate_claim, format_verdict
from methodlab.runfile import Claim

FINAL = {
    "ng": {"loss": [1.0, 2.0, 9.0], "acc": [0.9, 0.8, 0.7]},
    "sgd": {"loss": [4.0, 4.0, 4.0], "acc": [0.5, 0.6, 0.7]},
}


def verdict(**fields) -> dict:
    return evaluate_claim(Claim(**fields), FINAL)


@pytest.mark.parametrize(("op", "passed"), [("<", False), ("<=", False), (">", True),
                                            (">=", True)])
def test_operators_on_means(op, passed):
    result = verdict(left="ng:acc", op=op, right="sgd:acc")
    assert result["passed"] is passed
    assert result["left"] == pytest.approx(0.8) and result["right"] == pytest.approx(0.6)
    assert result["left_per_seed"] == [0.9, 0.8, 0.7]
    assert result["right_per_seed"] == [0.5, 0.6, 0.7]


def test_strict_operators_at_equality():
    assert verdict(left="sgd:loss", op="<", value=4.0)["passed"] is False
    assert verdict(left="sgd:loss", op="<=", value=4.0)["passed"] is True
    assert verdict(left="sgd:loss", op=">", value=4.0)["passed"] is False
    assert verdict(left="sgd:loss", op=">=", value=4.0)["passed"] is True


def test_scale_and_offset_apply_to_the_right_side():
    result = verdict(left="ng:loss", op="<=", right="sgd:loss", scale=0.5, offset=2.0)
    assert result["right_per_seed"] == [4.0, 4.0, 4.0]
    assert (result["left"], result["right"], result["passed"]) == (4.0, 4.0, True)
    result = verdict(left="ng:loss", op="<", right="sgd:loss", scale=0.5, offset=-0.5)
    assert (result["right"], result["passed"]) == (1.5, False)


def test_value():
    result = verdict(left="ng:acc", op=">=", value=0.8)
    assert result["left"] == pytest.approx(0.8)
    assert result["right_per_seed"] == [0.8, 0.8, 0.8]


def test_within_tolerance():
    assert verdict(left="ng:acc", op="within", right="sgd:acc", tolerance=0.2)["passed"]
    result = verdict(left="ng:acc", op="within", right="sgd:acc", tolerance=0.1)
    assert result["passed"] is False
    assert result["left"] - result["right"] == pytest.approx(0.2)
    assert verdict(left="ng:loss", op="within", value=4.0)["passed"] is True  # |4 - 4| <= 0


@pytest.mark.parametrize(("reduce", "left", "passed"), [
    ("mean", 4.0, False), ("median", 2.0, True), ("min", 1.0, True), ("max", 9.0, False),
])
def test_reductions(reduce, left, passed):
    result = verdict(left="ng:loss", op="<", value=3.0, reduce=reduce)
    assert (result["left"], result["passed"]) == (left, passed)


def test_min_seeds_counts_seeds_individually():
    result = verdict(left="ng:loss", op="<", right="sgd:loss", min_seeds=2)
    assert (result["passed"], result["seeds_holding"], result["seeds_needed"]) == (True, 2, 2)
    assert "left" not in result
    result = verdict(left="ng:loss", op="<", right="sgd:loss", min_seeds=3)
    assert (result["passed"], result["seeds_holding"]) == (False, 2)


@pytest.mark.parametrize("reduce", ["mean", "median", "min", "max"])
@pytest.mark.parametrize("position", [0, 1, 2])
def test_a_diverged_seed_fails_the_claim_wherever_it_is(reduce, position):
    losses = [1.0, 1.0, 1.0]
    losses[position] = math.nan
    result = evaluate_claim(Claim(left="a:loss", op="<", value=5.0, reduce=reduce),
                            {"a": {"loss": losses}})
    assert result["passed"] is False
    assert math.isnan(result["left"])


def test_nan_fails_every_operator():
    final = {"a": {"loss": [math.nan]}}
    for op in ("<", "<=", ">", ">=", "within"):
        assert evaluate_claim(Claim(left="a:loss", op=op, value=1.0, tolerance=1e9),
                              final)["passed"] is False
    assert evaluate_claim(Claim(left="a:loss", op="<", value=1.0, min_seeds=1),
                          final)["passed"] is False


def test_missing_metric_or_arm_fails_with_a_message():
    result = verdict(left="ng:los", op="<", value=1.0)
    assert result["passed"] is False
    assert result["error"] == "arm 'ng' has no metric 'los'; it has acc, loss"
    assert format_verdict(result) == (
        "FAIL  mean ng:los < 1: arm 'ng' has no metric 'los'; it has acc, loss")
    result = verdict(left="ng:loss", op="<", right="adam:loss")
    assert result["error"] == "no arm 'adam' in 'adam:loss'; arms: ng, sgd"


def test_single_arm_reference_without_arm_name():
    result = evaluate_claim(Claim(left="loss", op="<", right="loss@start"),
                            {"only": {"loss": [1.0], "loss@start": [2.0]}})
    assert result["passed"] is True


def test_statements_and_formatting():
    result = verdict(left="ng:loss", op="<=", right="sgd:loss", scale=0.5, offset=-1.0)
    assert result["statement"] == "mean ng:loss <= 0.5 × sgd:loss − 1"
    assert format_verdict(result) == (
        "FAIL  mean ng:loss <= 0.5 × sgd:loss − 1: left 4, right 1")
    named = verdict(left="ng:loss", op="<", value=5.0, name="NG wins")
    assert format_verdict(named) == "PASS  NG wins [mean ng:loss < 5]: left 4, right 5"
    within = verdict(left="ng:acc", op="within", right="sgd:acc", tolerance=0.25)
    assert within["statement"] == "|mean ng:acc − sgd:acc| ≤ 0.25"
    seeds = verdict(left="ng:loss", op="<", right="sgd:loss", min_seeds=2)
    assert seeds["statement"] == "ng:loss < sgd:loss in at least 2 seeds"
    assert format_verdict(seeds) == (
        "PASS  ng:loss < sgd:loss in at least 2 seeds: holds in 2 of 3 seeds (need 2); "
        "left [1, 2, 9], right [4, 4, 4]")


CHECKED = """
[[claims]]
name = "training lowers the loss"
left = "train.loss"
op = "<"
right = "train.loss@start"

[[claims]]
name = "{second}"
left = "train.loss"
op = "<"
value = {value}
"""


@pytest.mark.parametrize(("value", "code"), [(1e9, 0), (0.0, 1)])
def test_run_check_exit_code(tiny_run, tmp_path, monkeypatch, capsys, value, code):
    monkeypatch.setenv("METHODLAB_DISABLE_PLUGIN_AUTOLOAD", "1")
    path = tiny_run(steps=6, extra=CHECKED.format(second="loss below the bound", value=value))
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "--check", "--quiet", "--out", str(out)]) == code
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line[:4] in ("PASS", "FAIL")]
    assert len(lines) == 2
    assert lines[0].startswith("PASS  training lowers the loss [mean train.loss < "
                               "train.loss@start]: left ")
    mark = "PASS" if code == 0 else "FAIL"
    assert lines[1].startswith(f"{mark}  loss below the bound [mean train.loss < {value:g}]: "
                               "left ")
    assert (captured.err == "1 claim(s) failed\n") if code else (captured.err == "")
    # Without --check a failed claim is reported but the exit status stays 0.
    assert cli.main(["run", str(path), "--quiet", "--out", str(out), "--force"]) == 0


def test_spread_reductions_are_sample_statistics():
    final = {"a": {"m": [1.0, 2.0, 4.0]}}
    var = evaluate_claim(Claim(left="a:m", op=">=", value=0.0, reduce="var"), final)
    std = evaluate_claim(Claim(left="a:m", op=">=", value=0.0, reduce="std"), final)
    assert var["left"] == pytest.approx(7.0 / 3.0)
    assert std["left"] == pytest.approx((7.0 / 3.0) ** 0.5)


def test_wildcard_averages_each_metrics_reduction():
    final = {"a": {"probe.0": [0.0, 2.0], "probe.1": [0.0, 4.0], "other": [100.0, 100.0]}}
    verdict = evaluate_claim(Claim(left="a:probe.*", op="<", value=10.0, reduce="var"), final)
    # var(0, 2) = 2 and var(0, 4) = 8; "other" is not matched.
    assert verdict["left"] == pytest.approx(5.0)
    assert verdict["passed"]


def test_ratio_of_variances_compares_two_arm_pairs():
    final = {
        "sgd-early": {"out": [0.0, 4.0]}, "sgd-late": {"out": [0.0, 2.0]},
        "ng-early": {"out": [0.0, 1.0]}, "ng-late": {"out": [0.0, 1.0]},
    }
    claim = Claim(left="sgd-early:out", left_over="sgd-late:out", op=">",
                  right="ng-early:out", right_over="ng-late:out", reduce="var")
    verdict = evaluate_claim(claim, final)
    assert verdict["left"] == pytest.approx(4.0)  # 8 / 2
    assert verdict["right"] == pytest.approx(1.0)
    assert verdict["passed"]
    assert "/" in verdict["statement"]


def test_ratio_with_zero_divisor_fails_instead_of_raising():
    final = {"a": {"m": [1.0, 1.0]}, "b": {"m": [2.0, 2.0]}}
    claim = Claim(left="b:m", left_over="a:m", op=">", value=0.0, reduce="var")
    assert evaluate_claim(claim, final)["passed"] is False


def test_wildcard_leaves_out_start_values_unless_asked():
    final = {"a": {"p.0": [0.0, 2.0], "p.0@start": [0.0, 100.0]}}
    final_only = evaluate_claim(Claim(left="a:p.*", op=">=", value=0.0, reduce="var"), final)
    assert final_only["left"] == pytest.approx(2.0)
    at_start = evaluate_claim(Claim(left="a:p.0@*", op=">=", value=0.0, reduce="var"), final)
    assert at_start["left"] == pytest.approx(5000.0)


# -- claims over arm families ----------------------------------------------------------------

FAMILIES = {"plain-a": {"mse": [4.0, 4.0]}, "sobolev-a": {"mse": [1.0, 1.0]},
            "plain-b": {"mse": [2.0, 2.0]}, "sobolev-b": {"mse": [3.0, 3.0]},
            "plain-c": {"mse": [9.0, 9.0]}, "sobolev-c": {"mse": [1.0, float("nan")]}}


@pytest.mark.parametrize(("min_arms", "passed"), [(1, True), (2, False), (0, False)])
def test_a_family_claim_counts_the_arm_pairs_that_hold(min_arms, passed):
    # Pair c has a diverged seed: its mean is NaN, so it cannot hold.
    result = evaluate_claim(Claim(left="sobolev-*:mse", op="<", right="plain-*:mse",
                                  min_arms=min_arms), FAMILIES)
    assert result["passed"] is passed
    assert {key: pair["passed"] for key, pair in result["pairs"].items()} == {
        "a": True, "b": False, "c": False}
    assert result["pairs_holding"] == 1
    assert result["pairs_needed"] == (min_arms or 3)
    assert "holds for 1 of 3 arm pairs" in format_verdict(result)


@pytest.mark.parametrize(("across", "value", "expected"), [
    ("median", 2.0, 4.0), ("max", 10.0, 8.0), ("min", 0.5, 2 / 3)])
def test_a_statistic_across_arm_pairs_of_a_ratio(across, value, expected):
    final = {key: arms for key, arms in FAMILIES.items() if not key.endswith("c")}
    final["plain-d"], final["sobolev-d"] = {"mse": [8.0, 8.0]}, {"mse": [1.0, 1.0]}
    result = evaluate_claim(Claim(left="plain-*:mse", left_over="sobolev-*:mse", op=">=",
                                  value=value, across=across), final)
    # Ratios per pair: a 4, b 2/3, d 8.
    assert result["left"] == pytest.approx(expected)
    assert result["passed"] is (expected >= value)
    assert "over arm pairs" in result["statement"]


def test_some_member_of_a_family_against_one_fixed_arm():
    final = {"rnn": {"nll": [9.4, 9.4]}, "dt-rnn": {"nll": [9.7, 9.8]},
             "stacked-rnn": {"nll": [9.1, 9.2]}}
    some = evaluate_claim(Claim(left="*-rnn:nll", op="<=", right="rnn:nll", min_arms=1), final)
    assert some["passed"] and some["pairs_holding"] == 1
    assert {key: pair["passed"] for key, pair in some["pairs"].items()} == {
        "dt": False, "stacked": True}
    every = evaluate_claim(Claim(left="*-rnn:nll", op="<=", right="rnn:nll"), final)
    assert not every["passed"]
    assert "for every arm pair" in every["statement"]


def test_a_claim_on_a_metric_no_arm_has_is_a_run_file_mistake(tiny_run, tmp_path,
                                                              monkeypatch, capsys):
    monkeypatch.setenv("METHODLAB_DISABLE_PLUGIN_AUTOLOAD", "1")
    path = tiny_run(steps=3, extra=CHECKED.format(second="typo", value=1e9).replace(
        'left = "train.loss"\nop = "<"\nvalue', 'left = "train.los"\nop = "<"\nvalue'))
    assert cli.main(["run", str(path), "--quiet", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: claims[1]: arm 'main' has no metric 'train.los'; "
                          "it has ")
    assert len(err.splitlines()) == 1
