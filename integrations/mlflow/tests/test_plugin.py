"""Registration, conformance and the run file of methodlab-mlflow."""

from __future__ import annotations

from pathlib import Path

import methodlab_mlflow
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
from methodlab_mlflow import MlflowSettings

RUNS = Path(__file__).parents[1] / "runs"

# The integration registers no components, only a settings table and lifecycle hooks: the
# suite has nothing to train (it still fails when the plugin does not load).
test_conformance = conformance_suite("mlflow")
NOT_REPRODUCED: dict[str, str] = {}
test_run_file_validates, test_run_file_claims_hold = run_file_tests(RUNS, NOT_REPRODUCED)


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-mlflow", "mlflow")


def test_the_settings_table_is_registered():
    assert get_plugin_system().settings["mlflow"][1].params_cls is MlflowSettings


def test_importing_the_plugin_does_not_import_mlflow():
    import subprocess
    import sys

    code = "import sys, methodlab_mlflow; print('mlflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def _validate(table: dict) -> object:
    plugins = isolated_plugin_system(("mlflow", methodlab_mlflow))
    return validate_document({**tiny_document(), "integrations": {"mlflow": table}},
                             "run.toml", plugins)


def test_the_table_is_structured_with_defaults():
    spec = _validate({"tracking_uri": "http://127.0.0.1:5000", "tags": {"team": "optim"}})
    assert spec.settings["mlflow"] == MlflowSettings(tracking_uri="http://127.0.0.1:5000",
                                                     tags={"team": "optim"})


@pytest.mark.parametrize(("table", "message"), [
    ({"tracking_uri": " http://x:5000"}, "run.toml: integrations.mlflow.tracking_uri: has "
                                         "leading or trailing spaces: ' http://x:5000'"),
    ({"tracking_url": "http://x"}, "run.toml: integrations.mlflow.tracking_url: unknown key "
                                   "(did you mean 'tracking_uri'?)"),
    ({"artifacts": "yes"}, "run.toml: integrations.mlflow.artifacts"),
])
def test_bad_settings_are_one_line_errors_naming_the_field(table, message):
    with pytest.raises(RunFileError) as error:
        _validate(table)
    assert len(error.value.problems) == 1
    assert message in error.value.problems[0]
