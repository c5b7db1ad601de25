"""Shared fixtures of the core test suite.

Plugins load lazily (on the first ``get_plugin_system()``), so strict mode is switched on
here at import time, before any test can build the process-wide plugin system.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

os.environ["METHODLAB_STRICT_PLUGINS"] = "1"

from methodlab.plugin_manager import reset_plugin_system

# Variables that change which plugins load; tests set them explicitly where they matter.
_PLUGIN_VARIABLES = ("METHODLAB_PLUGINS", "METHODLAB_BLOCK_PLUGINS",
                     "METHODLAB_DISABLE_PLUGIN_AUTOLOAD")


@pytest.fixture(autouse=True)
def _fresh_plugin_system(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts and ends without a process-wide plugin system."""
    for variable in _PLUGIN_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("METHODLAB_STRICT_PLUGINS", "1")
    reset_plugin_system()
    yield
    reset_plugin_system()


class FakeSite:
    """A directory on ``sys.path`` holding hand-written installed distributions.

    ``importlib.metadata`` discovers a ``*.dist-info`` directory with ``METADATA`` and
    ``entry_points.txt`` exactly as it discovers one written by pip, so these are real
    distributions as far as entry-point discovery is concerned, without a slow install.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: list[str] = []

    def add(self, distribution: str, version: str, entry_points: Mapping[str, str],
            modules: Mapping[str, str]) -> None:
        """Install ``distribution`` declaring ``entry_points`` ({name: module}) and the
        ``modules`` ({module name: source}) it ships."""
        info = self.root / f"{distribution.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
        )
        points = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
        (info / "entry_points.txt").write_text(f"[methodlab]\n{points}")
        for module, source in modules.items():
            (self.root / f"{module}.py").write_text(textwrap.dedent(source))
            self.modules.append(module)
        importlib.invalidate_caches()

    def env(self, **variables: str) -> dict[str, str]:
        """Environment for a subprocess that sees this site (and not strict mode)."""
        env = {k: v for k, v in os.environ.items()
               if k not in (*_PLUGIN_VARIABLES, "METHODLAB_STRICT_PLUGINS")}
        env["PYTHONPATH"] = os.pathsep.join(
            [str(self.root), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        env.update(variables)
        return env


@pytest.fixture
def fake_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSite]:
    """A :class:`FakeSite` prepended to ``sys.path`` for the test; its modules are forgotten
    afterwards so another test can reuse the names."""
    site = FakeSite(tmp_path / "site")
    site.root.mkdir()
    monkeypatch.syspath_prepend(str(site.root))
    yield site
    for module in site.modules:
        sys.modules.pop(module, None)


def run_cli(*args: str, env: Mapping[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m methodlab ARGS`` in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "methodlab", *args], capture_output=True,
                          text=True, env=dict(env) if env is not None else None, cwd=cwd,
                          timeout=120)


@pytest.fixture
def cli_process() -> Callable[..., subprocess.CompletedProcess[str]]:
    """:func:`run_cli` as a fixture (test modules are imported in isolation)."""
    return run_cli


TINY_RUN = """\
name = "{name}"
seeds = [0]

[train]
steps = {steps}

[environment]
use = "synthetic-regression"
n_train = 12
n_test = 6
in_features = 3
batch_size = 4

[model]
use = "mlp"
hidden = [4]

[loss]
use = "mse"

[optimizer]
use = "sgd"
lr = 0.05

[evaluators.train]
use = "loss"
split = "train"
"""


@pytest.fixture
def tiny_run(tmp_path: Path) -> Callable[..., Path]:
    """Write a tiny built-ins-only run file (3 steps per epoch) and return its path."""

    def write(name: str = "tiny", steps: int = 3, extra: str = "") -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(TINY_RUN.format(name=name, steps=steps) + extra)
        return path

    return write
