"""Tests over a plugin's ``runs/`` folder: every run file validates, and (marked ``slow``)
every run file's claims hold under ``methodlab run --check``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

__all__ = ["run_file_tests"]


def _methodlab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "methodlab", *args], capture_output=True,
                          text=True)


def run_file_tests(runs: Path, not_reproduced: Mapping[str, str] | None = None
                   ) -> tuple[Callable[..., None], Callable[..., None]]:
    """Two pytest test functions parametrized over ``runs/*.toml``.

    Use in a plugin's test module::

        test_run_file_validates, test_run_file_claims_hold = run_file_tests(RUNS)

    :param not_reproduced: ``{file name: reason}`` for run files whose claims are kept as the
        paper states them but do not hold as measured; their claim test is
        ``xfail(strict=True)``, so it fails the day they start to hold.
    """
    names = sorted(path.name for path in runs.glob("*.toml"))
    not_reproduced = dict(not_reproduced or {})
    unknown = sorted(set(not_reproduced) - set(names))
    if unknown:
        raise ValueError(f"not_reproduced names run files that {runs} lacks: {unknown}")
    cases = [pytest.param(name, marks=pytest.mark.xfail(strict=True,
                                                        reason=not_reproduced[name]))
             if name in not_reproduced else name for name in names]

    @pytest.mark.parametrize("run_file", names)
    def test_run_file_validates(run_file: str) -> None:
        result = _methodlab("validate", str(runs / run_file))
        assert result.returncode == 0, result.stdout + result.stderr

    @pytest.mark.slow
    @pytest.mark.parametrize("run_file", cases)
    def test_run_file_claims_hold(run_file: str, tmp_path: Path) -> None:
        result = _methodlab("run", str(runs / run_file), "--check", "--quiet",
                            "--out", str(tmp_path))
        assert result.returncode == 0, result.stdout + result.stderr

    return test_run_file_validates, test_run_file_claims_hold
