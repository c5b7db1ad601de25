"""Check that a distribution really declares its ``methodlab`` entry point."""

from __future__ import annotations

from importlib import metadata

from methodlab.plugin_manager import ENTRY_POINT_GROUP


def assert_entry_point_installed(distribution: str, name: str | None = None) -> None:
    """Assert ``distribution`` is installed and declares entry point ``name`` in group
    ``methodlab`` (any entry point when ``name`` is None), and that it imports.

    Catches the classic packaging bug of a plugin whose tests import its module directly
    while the installed metadata lacks the entry point, so methodlab never loads it.
    """
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise AssertionError(f"distribution {distribution!r} is not installed") from None
    points = [ep for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP]
    if name is not None:
        points = [ep for ep in points if ep.name == name]
    if not points:
        wanted = f"entry point {name!r}" if name else "an entry point"
        raise AssertionError(
            f"{distribution} does not declare {wanted} in group {ENTRY_POINT_GROUP!r}; add "
            f'[project.entry-points.{ENTRY_POINT_GROUP}] to its pyproject.toml'
        )
    for ep in points:
        ep.load()
