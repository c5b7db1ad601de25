"""``methodlab new-plugin``: the scaffold is a working plugin package."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from methodlab.errors import UserError
from methodlab.runfile import load_run_file
from methodlab.scaffold import write_scaffold
from methodlab.testing import check_component, isolated_plugin_system

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FILES = [
    "README.md",
    "methodlab_my_method/__init__.py",
    "methodlab_my_method/config.py",
    "methodlab_my_method/optimizer.py",
    "pyproject.toml",
    "runs/example.toml",
    "tests/test_plugin.py",
]


def test_scaffold_files(tmp_path):
    root = write_scaffold("my-method", tmp_path)
    assert root == tmp_path / "my-method"
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == FILES
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert project["project"]["name"] == "methodlab-my-method"
    assert project["project"]["entry-points"]["methodlab"] == {
        "my-method": "methodlab_my_method"}
    for path in root.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")


@pytest.mark.parametrize("name", ["My-Method", "my_method", "-x", "x-", "9lives", ""])
def test_scaffold_rejects_bad_names(tmp_path, name):
    with pytest.raises(UserError, match="use lower-case words joined by '-'"):
        write_scaffold(name, tmp_path)


def test_scaffold_plugin_registers_and_conforms(tmp_path, monkeypatch):
    root = write_scaffold("my-method", tmp_path)
    monkeypatch.syspath_prepend(str(root))
    try:
        module = importlib.import_module("methodlab_my_method")
        plugins = isolated_plugin_system(("my-method", module))
        assert plugins.records["my-method"].components == ["optimizer:my-method-sign-descent"]
        check_component("optimizer", "my-method:my-method-sign-descent", plugins)
        spec = load_run_file(root / "runs" / "example.toml", plugins=plugins)
        assert [arm.name for arm in spec.arms] == ["sign-descent", "sgd"]
    finally:
        for name in [n for n in sys.modules if n.startswith("methodlab_my_method")]:
            del sys.modules[name]


@pytest.mark.slow
def test_scaffold_installs_and_passes_its_own_tests(tmp_path):
    """pip-install the scaffold into a throw-away venv and run the generated tests there.

    The venv sees the system packages (methodlab, torch, pytest, and the system's pip and
    setuptools, hence ``--without-pip``), so nothing is downloaded and the system environment
    stays clean.
    """
    root = write_scaffold("my-method", tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith("METHODLAB_")}
    env["METHODLAB_STRICT_PLUGINS"] = "1"
    env["METHODLAB_PLUGINS"] = "my-method"  # only the new plugin, whatever else is installed
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "-e", str(root)],
        capture_output=True, text=True, env=env, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    result = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
        capture_output=True, text=True, env=env, cwd=root, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout
    assert Path(sys.prefix) != venv  # the system environment was not touched
