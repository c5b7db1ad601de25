"""pytest fixtures for plugin authors (registered through the ``pytest11`` entry point)."""

from __future__ import annotations

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
