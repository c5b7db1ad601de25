"""Testing kit for plugin authors (also a pytest plugin, loaded through ``pytest11``).

In a plugin's test module::

    from methodlab.testing import conformance_suite

    test_conformance = conformance_suite("my-plugin")   # entry-point name

    def test_installed(assert_entry_point_installed):
        assert_entry_point_installed("methodlab-my-plugin", "my-plugin")

Compare scikit-learn's ``check_estimator`` and gymnasium's ``check_env``.
"""

from methodlab.testing.conformance import (
    check_component,
    conformance_suite,
    isolated_plugin_system,
    tiny_document,
)
from methodlab.testing.entry_points import assert_entry_point_installed
from methodlab.testing.run_files import run_file_tests

__all__ = [
    "assert_entry_point_installed",
    "check_component",
    "conformance_suite",
    "isolated_plugin_system",
    "run_file_tests",
    "tiny_document",
]
