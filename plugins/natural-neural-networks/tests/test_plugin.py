import os
import subprocess
import sys
from pathlib import Path

import pytest
from methodlab.testing import conformance_suite

RUNS = Path(__file__).parents[1] / "runs"

test_conformance = conformance_suite("natural-neural-networks")


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-natural-neural-networks", "natural-neural-networks")


@pytest.mark.parametrize("run_file", sorted(RUNS.glob("*.toml")), ids=lambda p: p.stem)
def test_run_file_validates(run_file):
    result = subprocess.run([sys.executable, "-m", "methodlab", "validate", str(run_file)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# The paper's claim on the deeper autoencoder is kept as stated and does not hold here
# (README.md, "Not reproduced").
NOT_REPRODUCED = {"digits-deep-autoencoder"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "run_file",
    [pytest.param(path, marks=pytest.mark.xfail(strict=True, reason="not reproduced"))
     if path.stem in NOT_REPRODUCED else path for path in sorted(RUNS.glob("*.toml"))],
    ids=lambda p: p.stem,
)
def test_run_file_claims_hold(run_file, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "methodlab", "run", str(run_file), "--check", "--quiet",
         "--out", str(tmp_path)],
        capture_output=True, text=True,
        # These networks are too small for two threads to pay; on a busy machine the threads
        # spin against other jobs and a 1-minute run takes 15 (README.md, "Time per run file").
        env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
