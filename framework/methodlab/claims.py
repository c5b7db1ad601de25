"""Verdicts of ``[[claims]]``: safe comparisons over the arms' final metrics (no eval)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from methodlab.runfile import Claim, family_members, split_reference

__all__ = ["evaluate_claim", "format_verdict"]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_REDUCE: dict[str, Callable[[Sequence[float]], float]] = {
    "mean": statistics.fmean,
    "median": statistics.median,
    "min": min,
    "max": max,
    "std": lambda values: statistics.stdev(values) if len(values) > 1 else 0.0,
    "var": lambda values: statistics.variance(values) if len(values) > 1 else 0.0,
}


def _metrics(reference: str, final: Mapping[str, Mapping[str, Sequence[float]]]
             ) -> list[list[float]]:
    """Per-seed values of each metric a reference names (several for a ``prefix*``)."""
    arm, metric = split_reference(reference, list(final))
    if arm not in final:
        raise KeyError(f"no arm {arm!r} in {reference!r}; arms: {', '.join(final)}")
    metrics = final[arm]
    if metric.endswith("*"):
        prefix = metric[:-1]
        # "probe.*" means the final values; "@start" twins match only when asked for.
        names = sorted(name for name in metrics if name.startswith(prefix)
                       and ("@" not in name or "@" in prefix))
    else:
        names = [metric] if metric in metrics else []
    if not names:
        raise KeyError(f"arm {arm!r} has no metric {metric!r}; it has {', '.join(sorted(metrics))}")
    return [[float(x) for x in metrics[name]] for name in names]


def _side(reference: str, over: str | None, how: str,
          final: Mapping[str, Mapping[str, Sequence[float]]]) -> tuple[list[float], float]:
    """A claim side: its per-seed values and its reduction over seeds."""
    columns = _metrics(reference, final)
    per_seed = [statistics.fmean(values) for values in zip(*columns, strict=True)]
    reduced = statistics.fmean(_reduce(how, values) for values in columns)
    if over is not None:
        divisor_per_seed, divisor = _side(over, None, how, final)
        per_seed = [_divide(a, b) for a, b in zip(per_seed, divisor_per_seed, strict=False)]
        reduced = _divide(reduced, divisor)
    return per_seed, reduced


def _divide(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def _holds(claim: Claim, left: float, right: float) -> bool:
    if math.isnan(left) or math.isnan(right):
        return False
    if claim.op == "within":
        return abs(left - right) <= claim.tolerance
    return _COMPARE[claim.op](left, right)


def evaluate_claim(claim: Claim, final: Mapping[str, Mapping[str, Sequence[float]]]) -> dict:
    """Evaluate one claim.

    :param final: ``{arm: {metric: [value per seed]}}``.
    :returns: a JSON-ready verdict: ``passed``, the compared numbers and a sentence.

    Example:
        >>> claim = Claim(left="ng:loss", op="<=", right="sgd:loss", scale=0.5)
        >>> final = {"ng": {"loss": [1.0, 2.0]}, "sgd": {"loss": [4.0, 4.0]}}
        >>> verdict = evaluate_claim(claim, final)
        >>> verdict["passed"], verdict["left"], verdict["right"]
        (True, 1.5, 2.0)
    """
    verdict: dict[str, Any] = {"name": claim.name or _statement(claim), "statement":
                               _statement(claim)}
    if any("*" in split_reference(side, list(final))[0]
           for side in (claim.left, claim.right, claim.left_over, claim.right_over) if side):
        return {**verdict, **_evaluate_family(claim, final)}
    try:
        left, left_value = _side(claim.left, claim.left_over, claim.reduce, final)
        if claim.right is not None:
            right, right_value = _side(claim.right, claim.right_over, claim.reduce, final)
            right = [x * claim.scale + claim.offset for x in right]
            right_value = right_value * claim.scale + claim.offset
        else:
            right = [float(claim.value)] * len(left)  # type: ignore[arg-type]
            right_value = float(claim.value)  # type: ignore[arg-type]
    except KeyError as exc:
        return {**verdict, "passed": False, "error": exc.args[0]}
    if claim.min_seeds:
        hits = [_holds(claim, a, b) for a, b in zip(left, right, strict=False)]
        passed = sum(hits) >= claim.min_seeds
        return {**verdict, "passed": passed, "left_per_seed": left, "right_per_seed": right,
                "seeds_holding": sum(hits), "seeds_needed": claim.min_seeds}
    return {**verdict, "passed": _holds(claim, left_value, right_value), "left": left_value,
            "right": right_value, "left_per_seed": left, "right_per_seed": right}


def _evaluate_family(claim: Claim, final: Mapping[str, Mapping[str, Sequence[float]]]
                     ) -> dict[str, Any]:
    """A claim over arm families: evaluated pair by pair, then counted or summarised."""
    arms = list(final)
    pattern = next(arm for side in (claim.left, claim.right) if side is not None
                   and "*" in (arm := split_reference(side, arms)[0]))
    pairs: dict[str, dict[str, Any]] = {}
    for key in family_members(pattern, arms):
        sides = {side: _member(getattr(claim, side), key, arms)
                 for side in ("left", "right", "left_over", "right_over")}
        pairs[key] = evaluate_claim(attrs.evolve(claim, **sides, min_arms=0, across="all"),
                                    final)
    holding = sum(pair["passed"] for pair in pairs.values())
    verdict: dict[str, Any] = {"pairs": {key: {k: pair[k] for k in ("passed", "left", "right")
                                               if k in pair} for key, pair in pairs.items()}}
    if claim.min_arms or claim.across == "all":
        needed = claim.min_arms or len(pairs)
        return {**verdict, "passed": bool(pairs) and holding >= needed,
                "pairs_holding": holding, "pairs_needed": needed}
    left = _reduce(claim.across, [pair.get("left", math.nan) for pair in pairs.values()])
    right = _reduce(claim.across, [pair.get("right", math.nan) for pair in pairs.values()])
    return {**verdict, "passed": _holds(claim, left, right), "left": left, "right": right}


def _member(reference: str | None, key: str, arms: Sequence[str]) -> str | None:
    """``reference`` with its arm family's ``*`` replaced by ``key``."""
    if reference is None:
        return None
    arm, metric = split_reference(reference, arms)
    return f"{arm.replace('*', key)}:{metric}"


def _reduce(how: str, values: Sequence[float]) -> float:
    # A diverged seed (NaN) must fail the claim: min, max and median would otherwise skip or
    # keep it depending on where it sits in the list.
    if any(math.isnan(x) for x in values):
        return math.nan
    return _REDUCE[how](values)


def _statement(claim: Claim) -> str:
    reduce = "" if claim.min_seeds else f"{claim.reduce} "
    left = claim.left if claim.left_over is None else (
        f"{reduce}{claim.left} / {reduce}{claim.left_over}")
    if claim.right is not None:
        right = claim.right if claim.right_over is None else (
            f"({reduce}{claim.right} / {reduce}{claim.right_over})")
        if claim.scale != 1.0:
            right = f"{claim.scale:g} × {right}"
        if claim.offset:
            right = f"{right} {'+' if claim.offset > 0 else '−'} {abs(claim.offset):g}"
    else:
        right = f"{claim.value:g}"
    if claim.left_over is None:
        left = f"{reduce}{left}"
    if claim.op == "within":
        text = f"|{left} − {right}| ≤ {claim.tolerance:g}"
    else:
        text = f"{left} {claim.op} {right}"
    if claim.min_seeds:
        text += f" in at least {claim.min_seeds} seeds"
    if any("*" in side.partition(":")[0]
           for side in (claim.left, claim.right, claim.left_over, claim.right_over) if side):
        text += (f" for at least {claim.min_arms} arm pairs" if claim.min_arms
                 else " for every arm pair" if claim.across == "all"
                 else f" ({claim.across} over arm pairs)")
    return text


def format_verdict(verdict: Mapping[str, Any]) -> str:
    """One line: ``PASS``/``FAIL``, the claim and the numbers."""
    mark = "PASS" if verdict["passed"] else "FAIL"
    if "error" in verdict:
        return f"{mark}  {verdict['name']}: {verdict['error']}"
    if "pairs_holding" in verdict:
        each = ", ".join(f"{key} {'✓' if pair['passed'] else '✗'}"
                         for key, pair in verdict["pairs"].items())
        numbers = (f"holds for {verdict['pairs_holding']} of {len(verdict['pairs'])} arm pairs "
                   f"(need {verdict['pairs_needed']}): {each}")
    elif "seeds_holding" in verdict:
        numbers = (f"holds in {verdict['seeds_holding']} of {len(verdict['left_per_seed'])} "
                   f"seeds (need {verdict['seeds_needed']}); left "
                   f"{_fmt(verdict['left_per_seed'])}, right {_fmt(verdict['right_per_seed'])}")
    else:
        numbers = f"left {verdict['left']:.6g}, right {verdict['right']:.6g}"
    label = verdict["name"]
    if label != verdict["statement"]:
        label = f"{label} [{verdict['statement']}]"
    return f"{mark}  {label}: {numbers}"


def _fmt(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{x:.4g}" for x in values) + "]"
