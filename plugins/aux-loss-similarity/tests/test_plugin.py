from pathlib import Path

from methodlab.testing import conformance_suite, run_file_tests

RUNS = Path(__file__).parents[1] / "runs"

test_conformance = conformance_suite("aux-loss-similarity")


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-aux-loss-similarity", "aux-loss-similarity")


NOT_REPRODUCED: dict[str, str] = {}

test_run_file_validates, test_run_file_claims_hold = run_file_tests(RUNS, NOT_REPRODUCED)
