"""pytest fixtures for plugin authors (registered through the ``pytest11`` entry point)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from methodlab.plugin_manager import PluginSystem
from methodlab.testing.conformance import isolated_plugin_system
from methodlab.testing.entry_points import assert_entry_point_installed as _assert_installed


@pytest.fixture
def methodlab_plugins() -> Callable[..., PluginSystem]:
    """Build an isolated plugin system: built-ins plus the plugin objects you pass.

    ``methodlab_plugins(("name", module_or_object), autoload=False, strict=True)``
    """
    return isolated_plugin_system


@pytest.fixture
def assert_entry_point_installed() -> Callable[..., None]:
    """``assert_entry_point_installed(distribution, name=None)``."""
    return _assert_installed


@pytest.fixture
def methodlab_strict(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run the test with ``METHODLAB_STRICT_PLUGINS=1``."""
    monkeypatch.setenv("METHODLAB_STRICT_PLUGINS", "1")
    yield


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="run tests marked slow (full paper reproductions); "
                          "METHODLAB_SLOW=1 does the same")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a full reproduction run; needs --run-slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow") or os.environ.get("METHODLAB_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="full reproduction: run with --run-slow or METHODLAB_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
