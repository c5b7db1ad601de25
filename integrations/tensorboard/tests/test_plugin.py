"""Registration, conformance and the run file of methodlab-tensorboard."""

from __future__ import annotations

from pathlib import Path

import methodlab_tensorboard
import pytest
from methodlab.errors import RunFileError
from methodlab.plugin_manager import get_plugin_system
from methodlab.runfile import validate_document
from methodlab.testing import (
    conformance_suite,
    isolated_plugin_system,
    run_file_tests,
    tiny_document,
)
from methodlab_tensorboard import TensorBoardSettings

RUNS = Path(__file__).parents[1] / "runs"

# The integration registers no components, only a settings table and lifecycle hooks: the
# suite has nothing to train (it still fails when the plugin does not load).
test_conformance = conformance_suite("tensorboard")
NOT_REPRODUCED: dict[str, str] = {}
test_run_file_validates, test_run_file_claims_hold = run_file_tests(RUNS, NOT_REPRODUCED)


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-tensorboard", "tensorboard")


def test_the_settings_table_is_registered():
    assert get_plugin_system().settings["tensorboard"][1].params_cls is TensorBoardSettings


def _validate(table: dict) -> object:
    plugins = isolated_plugin_system(("tensorboard", methodlab_tensorboard))
    return validate_document({**tiny_document(), "integrations": {"tensorboard": table}},
                             "run.toml", plugins)


def test_the_table_is_structured_with_defaults():
    spec = _validate({"flush_seconds": 3})
    assert spec.settings["tensorboard"] == TensorBoardSettings(flush_seconds=3)


@pytest.mark.parametrize(("table", "message"), [
    ({"directory": "../elsewhere"}, "run.toml: integrations.tensorboard.directory: must be a "
                                    "relative path inside the run directory, got '../elsewhere'"),
    ({"directory": "trials/tb"}, "run.toml: integrations.tensorboard.directory: must not be "
                                 "under 'trials', which holds the run's checkpoints"),
    ({"flush_seconds": 0}, "integrations.tensorboard.flush_seconds"),
    ({"flush_secs": 5}, "integrations.tensorboard.flush_secs: unknown key"),
])
def test_bad_settings_are_one_line_errors_naming_the_field(table, message):
    with pytest.raises(RunFileError) as error:
        _validate(table)
    assert len(error.value.problems) == 1
    assert message in error.value.problems[0]
