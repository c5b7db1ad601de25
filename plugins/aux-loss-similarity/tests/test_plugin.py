from pathlib import Path

from methodlab.testing import conformance_suite, run_file_tests

RUNS = Path(__file__).parents[1] / "runs"

test_conformance = conformance_suite("aux-loss-similarity")


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-aux-loss-similarity", "aux-loss-similarity")


# Kept as the issue states them; the measured numbers are in README.md ("Not reproduced").
NOT_REPRODUCED = {
    "digits-harmful.toml": "gated within 1 point of main-only holds (weighted 91.1 %, "
                           "unweighted 90.7 % vs 90.4 %) but only 2.2 and 1.9 points above "
                           "the naive sum (88.9 %), not 3",
    "digits-helpful.toml": "the digits-5-9 auxiliary lowers gated accuracy: weighted 89.1 %, "
                           "unweighted 87.6 % vs main-only 90.4 %",
    "digits-helpful-all.toml": "unweighted 92.8 % >= main-only 90.4 % holds; weighted 90.2 % "
                               "< 90.4 % (one test digit of 180)",
    "gridworld-decoy.toml": "a teacher heading next to the goal: greedy return after 800 "
                            "updates gated 0.000 = naive sum 0.000 < main-only 0.784 "
                            "(sampled training return 0.451, 0.249, 0.637)",
}

test_run_file_validates, test_run_file_claims_hold = run_file_tests(RUNS, NOT_REPRODUCED)
