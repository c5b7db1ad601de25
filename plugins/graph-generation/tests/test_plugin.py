from pathlib import Path

import torch
from methodlab.testing import conformance_suite, run_file_tests

RUNS = Path(__file__).parents[1] / "runs"
torch.set_num_threads(1)  # the conformance runs are tiny; more threads only contend

test_conformance = conformance_suite("graph-generation")


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-graph-generation", "graph-generation")


NOT_REPRODUCED: dict[str, str] = {}

test_run_file_validates, test_run_file_claims_hold = run_file_tests(RUNS, NOT_REPRODUCED)
