"""Tests over a plugin's ``runs/`` folder: every run file validates, and (marked ``slow``)
every run file's claims hold under ``methodlab run --check``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

__all__ = ["run_file_tests"]


def _methodlab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "methodlab", *args], capture_output=True,
                          text=True)


def run_file_tests(runs: Path) -> tuple[Callable[..., None], Callable[..., None]]:
    """Two pytest test functions parametrized over ``runs/*.toml``.

    Use in a plugin's test module::

        test_run_file_validates, test_run_file_claims_hold = run_file_tests(RUNS)
    """
    names = sorted(path.name for path in runs.glob("*.toml"))

    @pytest.mark.parametrize("run_file", names)
    def test_run_file_validates(run_file: str) -> None:
        result = _methodlab("validate", str(runs / run_file))
        assert result.returncode == 0, result.stdout + result.stderr

    @pytest.mark.slow
    @pytest.mark.parametrize("run_file", names)
    def test_run_file_claims_hold(run_file: str, tmp_path: Path) -> None:
        result = _methodlab("run", str(runs / run_file), "--check", "--quiet",
                            "--out", str(tmp_path))
        assert result.returncode == 0, result.stdout + result.stderr

    return test_run_file_validates, test_run_file_claims_hold
