"""The main job, runs/quickstart.toml: its claim holds, and a broken plugin cannot stop it.

Needs the natural-gradient plugin (skipped, with the reason, in the core-only environment).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("methodlab_natural_gradient",
                    reason="the quickstart needs methodlab-natural-gradient installed")

QUICKSTART = Path(__file__).parents[1] / "runs" / "quickstart.toml"


def test_quickstart_claim_holds_with_all_three_arms(cli_process, tmp_path):
    result = cli_process("run", str(QUICKSTART), "--check", "--quiet", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((tmp_path / "quickstart" / "summary.json").read_text())
    arms = summary["arms"]
    assert list(arms) == ["natural-gradient", "sgd", "adam"]
    assert [len(arms[a]["train.loss"]["per_seed"]) for a in arms] == [3, 3, 3]
    assert arms["natural-gradient"]["steps"]["mean"] == 50
    assert arms["sgd"]["steps"]["mean"] == 300
    ng, sgd = arms["natural-gradient"]["train.loss"], arms["sgd"]["train.loss"]
    assert ng["mean"] <= sgd["mean"]
    # The claim is met with margin on every seed, not only on average.
    assert max(ng["per_seed"]) < min(sgd["per_seed"])
    assert summary["claims"][0]["passed"] is True
    table = result.stdout.splitlines()
    assert [line.split()[0] for line in table[2:5]] == ["natural-gradient", "sgd", "adam"]
    assert any(line.startswith("PASS") for line in table)


def test_quickstart_runs_while_a_plugin_is_broken(fake_site, cli_process, tmp_path):
    fake_site.add("methodlab-broken", "0.3", {"broken": "methodlab_broken"},
                  {"methodlab_broken": "import not_a_real_package\n"})
    env = fake_site.env()

    listing = cli_process("plugins", "--json", env=env)
    assert listing.returncode == 0, listing.stderr
    records = {r["name"]: r for r in json.loads(listing.stdout)}
    assert records["broken"]["status"] == "failed"
    assert records["broken"]["distribution"] == "methodlab-broken"
    assert "ModuleNotFoundError" in records["broken"]["error"]
    assert records["natural-gradient"]["status"] == "loaded"
    assert records["natural-gradient"]["import_seconds"] > 0

    result = cli_process("run", str(QUICKSTART), "seeds=[0]", "arms.sgd.train.steps=100",
                         "arms.adam.train.steps=100", "--quiet", "--out", str(tmp_path),
                         env=env)
    assert result.returncode == 0, result.stderr
    assert "broken" in result.stderr and "ModuleNotFoundError" in result.stderr
    summary = json.loads((tmp_path / "quickstart" / "summary.json").read_text())
    assert summary["arms"]["natural-gradient"]["train.loss"]["mean"] < 16.5
