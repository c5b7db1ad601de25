"""Registration, conformance and the run files of methodlab-block-mean-adagrad."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from methodlab import api
from methodlab.errors import RunFileError
from methodlab.testing import conformance_suite

RUNS = Path(__file__).parents[1] / "runs"
CLAIM_RUNS = ["bma-digits-linear.toml", "bma-digits-mlp.toml"]

test_conformance = conformance_suite("block-mean-adagrad")


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-block-mean-adagrad", "block-mean-adagrad")


def test_components_are_registered():
    names = {row["name"] for row in api.list_components("optimizer")
             if row["plugin"] == "methodlab-block-mean-adagrad"}
    assert names == {"block-mean-adagrad", "diagonal-adagrad", "full-matrix-adagrad"}


@pytest.mark.parametrize("path", sorted(RUNS.glob("*.toml")), ids=lambda p: p.name)
def test_run_files_validate(path):
    spec = api.validate(path)
    assert len(spec.seeds) >= 2
    if path.name in CLAIM_RUNS:
        assert {arm.name for arm in spec.arms} == {"bma", "diagonal", "full"}
        assert spec.claims and spec.claims[0].min_seeds == 4 and len(spec.seeds) == 5


def test_explicit_groups_from_a_run_file(tmp_path):
    run_file = RUNS / CLAIM_RUNS[1]
    spec = api.validate(run_file, ["optimizer.groups=explicit",
                                   'optimizer.explicit_groups=[["0.*"], ["2.*"]]'])
    assert spec.arm("bma").optimizer.params.explicit_groups == (("0.*",), ("2.*",))
    with pytest.raises(RunFileError, match="explicit_groups"):
        api.validate(run_file, ["optimizer.groups=explicit"])
    with pytest.raises(RunFileError, match="did you mean 'groups'"):
        api.validate(run_file, ["optimizer.group=unit"])


@pytest.mark.slow
@pytest.mark.parametrize("name", CLAIM_RUNS)
def test_claim_run_file_passes(name, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "methodlab", "run", str(RUNS / name), "--check", "--quiet",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
