"""Aggregation into summary.json and the printed table."""

from __future__ import annotations

import json
import math

from methodlab.runner import TrialResult
from methodlab.summary import aggregate, format_table, json_safe
from methodlab.testing import isolated_plugin_system, tiny_document


def spec_with_arms():
    from methodlab.runfile import validate_document

    document = tiny_document()
    document["seeds"] = [0, 1, 2]
    document["arms"] = {"a": {}, "b": {}}
    return validate_document(document, "r", isolated_plugin_system())


def test_aggregate_mean_sample_std_and_per_seed():
    spec = spec_with_arms()
    results = [TrialResult("a", s, "finished", 2, {"loss": v}, 0.1)
               for s, v in zip((0, 1, 2), (1.0, 2.0, 6.0), strict=True)]
    results += [TrialResult("b", 0, "finished", 2, {"loss": 1.0, "extra": 5.0}, 0.1),
                TrialResult("b", 1, "diverged", 1, {"loss": math.nan}, 0.1, "boom"),
                TrialResult("b", 2, "finished", 2, {"loss": 3.0}, 0.1)]
    summary = aggregate(spec, results, {"methodlab": "0.1.0"})
    assert summary["arms"]["a"]["loss"] == {"mean": 3.0, "std": math.sqrt(7.0),
                                            "per_seed": [1.0, 2.0, 6.0]}
    b = summary["arms"]["b"]
    assert math.isnan(b["loss"]["mean"]) and math.isnan(b["loss"]["std"])
    assert b["extra"]["per_seed"][0] == 5.0 and math.isnan(b["extra"]["per_seed"][1])
    assert summary["trials"][4] == {"arm": "b", "seed": 1, "status": "diverged", "steps": 1,
                                    "seconds": 0.1, "error": "boom"}
    assert summary["plugins"] == {"methodlab": "0.1.0"}
    safe = json_safe(summary)
    assert safe["arms"]["b"]["loss"]["mean"] is None
    json.dumps(safe, allow_nan=False)  # strict JSON


def test_single_seed_std_is_zero():
    from methodlab.runfile import validate_document

    spec = validate_document(tiny_document(), "r", isolated_plugin_system())
    summary = aggregate(spec, [TrialResult("main", 0, "finished", 2, {"loss": 2.0}, 0.0)], {})
    assert summary["arms"]["main"]["loss"] == {"mean": 2.0, "std": 0.0, "per_seed": [2.0]}


def test_format_table():
    summary = {"arms": {
        "a": {"loss": {"mean": 0.123456, "std": 0.01}, "loss@start": {"mean": 1, "std": 0},
              "steps": {"mean": 2, "std": 0}},
        "b": {"loss": {"mean": 2.0, "std": 0.0}, "acc": {"mean": math.nan, "std": math.nan}},
    }}
    assert format_table(summary).splitlines() == [
        "arm  acc  loss",
        "---  ---  -------------",
        "a    -    0.1235 ± 0.01",
        "b    nan  2",
    ]
