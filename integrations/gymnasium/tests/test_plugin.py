"""Registration, conformance, gymnasium's env checker and the run files of methodlab-gymnasium."""

from __future__ import annotations

from pathlib import Path

import gymnasium
from methodlab import api
from methodlab.testing import conformance_suite, run_file_tests
from methodlab_gymnasium.registration import methodlab_ids
from methodlab_gymnasium.testing import check_gym_envs

RUNS = Path(__file__).parents[1] / "runs"

test_conformance = conformance_suite("gymnasium")
NOT_REPRODUCED: dict[str, str] = {}
test_run_file_validates, test_run_file_claims_hold = run_file_tests(RUNS, NOT_REPRODUCED)


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-gymnasium", "gymnasium")


def test_components_are_registered():
    rows = {(row["kind"], row["name"]) for row in api.list_components()
            if row["plugin"] == "methodlab-gymnasium"}
    assert rows == {("environment", "gymnasium"), ("model", "actor-critic"),
                    ("loss", "a2c"), ("evaluator", "episode-return")}


def test_every_methodlab_gym_env_passes_check_env():
    # Covers the counter env shipped here and every methodlab/ id other plugins register.
    checked = check_gym_envs()
    assert "methodlab/Counter-v0" in checked
    assert checked == methodlab_ids()


def test_counter_env_is_makeable_by_gymnasium_users():
    env = gymnasium.make("methodlab_gymnasium.counter:methodlab/Counter-v0")
    obs, _ = env.reset(seed=0)
    assert obs.tolist() == [0.0]
    counts = [env.step(1)[0].tolist() for _ in range(2)]
    assert counts == [[1.0], [2.0]]
