"""The ``methodlab`` command line, in-process (``cli.main``) where possible."""

from __future__ import annotations

import json
import sys

import attrs
import pytest
from methodlab import __version__, api, cli, hookimpl
from methodlab.errors import UserError
from methodlab.testing import isolated_plugin_system
from methodlab.types import KINDS, ModelSpec


@pytest.fixture(autouse=True)
def _builtins_only(monkeypatch):
    # Whatever plugins happen to be installed, these tests see the built-ins only.
    monkeypatch.setenv("METHODLAB_DISABLE_PLUGIN_AUTOLOAD", "1")


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"methodlab {__version__}\n"


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: methodlab")
    for command in ("run", "validate", "plugins", "list", "show", "new-plugin"):
        assert command in out


def test_list_json_has_all_five_kinds(capsys):
    assert cli.main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row["kind"] for row in rows} == set(KINDS)
    assert len(rows) == 17
    sgd = next(row for row in rows if row["name"] == "sgd")
    assert sgd == {"kind": "optimizer", "name": "sgd", "plugin": "methodlab",
                   "version": __version__, "summary": sgd["summary"]}
    assert sgd["summary"].startswith("Stochastic gradient descent")
    # Sorted by kind (in KINDS order), then name.
    assert [row["kind"] for row in rows] == sorted(
        (row["kind"] for row in rows), key=list(KINDS).index)


def test_list_text_and_kind_filter(capsys):
    assert cli.main(["list", "--kind", "optimizer"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["kind", "name", "plugin", "version", "summary"]
    assert [line.split()[1] for line in lines[1:]] == ["adagrad", "adam", "rmsprop", "sgd"]
    with pytest.raises(SystemExit):
        cli.main(["list", "--kind", "optimiser"])
    with pytest.raises(UserError, match="unknown kind 'optimiser'"):
        api.list_components("optimiser")


def test_show_prints_parameters_with_types_defaults_and_docs(capsys):
    assert cli.main(["show", "sgd"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"optimizer sgd (methodlab {__version__})"
    assert lines[2] == "  factory: methodlab.builtins.optimizers:build_sgd"
    assert lines[3] == "parameters:"
    assert lines[4:6] == ["  lr: float (default 0.1)", "      Learning rate η."]
    assert "  nesterov: bool (default False)" in lines


def test_show_json_and_kind_prefix(capsys):
    assert cli.main(["show", "model:mlp", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    hidden = info["params"][0]
    assert hidden == {"name": "hidden", "type": "tuple[int, ...]", "default": [64],
                      "required": False, "doc": "Hidden layer widths; input and output sizes "
                                                "come from the environment."}
    assert cli.main(["show", "mse"]) == 0
    assert capsys.readouterr().out.splitlines()[3] == "parameters: none"


def test_show_unknown_name(capsys):
    assert cli.main(["show", "adamw"]) == 2
    assert capsys.readouterr().err == (
        "error: no component named 'adamw' (did you mean 'adam'?); see 'methodlab list'\n")


@attrs.frozen
class _Required:
    size: int
    """Width."""


class _SameNameOtherKind:
    @hookimpl
    def methodlab_models(self):
        yield ModelSpec("sgd", "torch.nn:Linear", _Required, "A model called sgd.")


def test_show_a_name_used_by_two_kinds_and_required_params():
    plugins = isolated_plugin_system(("odd", _SameNameOtherKind()))
    with pytest.raises(UserError, match="'sgd' names several components; use one of "
                                        "optimizer:sgd, model:sgd"):
        api.show("sgd", plugins)
    info = api.show("model:sgd", plugins)
    assert info["plugin"] == "odd"
    assert info["params"] == [{"name": "size", "type": "int", "default": None,
                               "required": True, "doc": "Width."}]


def test_validate(tiny_run, capsys):
    path = tiny_run(extra='[arms.a]\n[arms.b.optimizer]\nuse = "adam"\n')
    assert cli.main(["validate", str(path), "seeds=[0, 1]"]) == 0
    assert capsys.readouterr().out == (
        f"{path}: ok (2 arm(s): a, b; 2 seed(s); 0 claim(s))\n")
    assert cli.main(["validate", str(path), "optimizer.lr=-1"]) == 2
    assert capsys.readouterr().err == f"error: {path}: optimizer.lr: must be > 0.0: -1.0\n"


def test_plugins_table_and_json(capsys):
    assert cli.main(["plugins", "--json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["name"] == "methodlab.builtins" and record["status"] == "loaded"
    assert record["builtin"] is True and record["error"] is None
    assert len(record["components"]) == 17
    assert cli.main(["plugins"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["plugin", "distribution", "version", "status", "import",
                                "components"]
    assert lines[1].split()[:4] == ["methodlab.builtins", "methodlab", __version__, "loaded"]
    assert lines[1].split()[-1] == "17"


def test_run_prints_table_and_results(tiny_run, tmp_path, capsys):
    path = tiny_run()
    assert cli.main(["run", str(path), "--quiet", "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split() == ["arm", "step.loss", "train.loss"]
    assert lines[2].split()[0] == "main" and float(lines[2].split()[1]) > 0
    assert lines[-1] == f"results: {(tmp_path / 'out' / 'tiny').resolve()}"
    assert captured.err == ""


def test_run_needs_a_file_or_resume(capsys):
    assert cli.main(["run"]) == 2
    assert capsys.readouterr().err == "error: give a run file, or --resume DIR\n"


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(UserError):
        cli.main(["--debug", "run", "--resume", str(tmp_path)])


def test_new_plugin(tmp_path, capsys):
    assert cli.main(["new-plugin", "my-method", "--dir", str(tmp_path)]) == 0
    root = tmp_path / "my-method"
    assert capsys.readouterr().out.splitlines() == [
        f"created {root}", f"next: pip install -e {root} && pytest {root}"]
    assert (root / "methodlab_my_method" / "__init__.py").exists()
    assert cli.main(["new-plugin", "my-method", "--dir", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert cli.main(["new-plugin", "My_Method", "--dir", str(tmp_path)]) == 2
    assert "use lower-case words joined by '-'" in capsys.readouterr().err


class _ClosedPipe:
    """stdout of ``methodlab list | head -0``: the reader has gone."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        return self.fd


def test_a_closed_pipe_is_not_a_traceback(tmp_path, monkeypatch):
    with (tmp_path / "sink").open("w") as sink:
        monkeypatch.setattr(sys, "stdout", _ClosedPipe(sink.fileno()))
        assert cli.main(["list"]) == 1


def test_python_dash_m(cli_process):
    result = cli_process("--version")
    assert (result.returncode, result.stdout) == (0, f"methodlab {__version__}\n")


def test_show_type_names_do_not_depend_on_earlier_validation():
    from methodlab.builtins.config import AdamParams, MLPParams

    attrs.resolve_types(MLPParams)  # what structuring a run file does to the class
    attrs.resolve_types(AdamParams)
    types = {p["name"]: p["type"] for p in api.show("mlp")["params"]}
    assert types == {"hidden": "tuple[int, ...]", "activation": "str", "init": "str"}
    assert api.show("adam")["params"][1]["type"] == "tuple[float, float]"


def test_show_picks_one_provider_of_a_duplicated_name():
    import attrs as _attrs
    from methodlab import api, hookimpl
    from methodlab.plugin_manager import PluginSystem
    from methodlab.types import OptimizerSpec

    @_attrs.frozen
    class Params:
        rate: float = 0.5
        """How fast."""

    class Shadow:
        @hookimpl
        def methodlab_optimizers(self):
            yield OptimizerSpec("sgd", "torch.optim:SGD", Params, "A second sgd.")

    system = PluginSystem(autoload=False, strict=False, plugins=[("shadow", Shadow())])
    assert api.show("sgd", system)["plugin"] == "methodlab"
    shown = api.show("shadow:sgd", system)
    assert shown["plugin"] == "shadow"
    assert [(p["name"], p["default"], p["doc"]) for p in shown["params"]] == [
        ("rate", 0.5, "How fast.")]
