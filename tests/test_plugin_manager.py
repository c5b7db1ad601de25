"""Plugin discovery and isolation (FT-01, FT-02, FT-03 and the controls of plugin-anchors §7)."""

from __future__ import annotations

import json
import re
import sys
import types

import attrs
import pytest
from methodlab import cli, hookimpl
from methodlab.errors import PluginError
from methodlab.plugin_manager import (
    BUILTIN_PLUGINS,
    PluginSystem,
    get_plugin_system,
    reset_plugin_system,
)
from methodlab.runfile import validate_document
from methodlab.testing import isolated_plugin_system, tiny_document
from methodlab.types import ModelSpec, OptimizerSpec

BROKEN = "import not_a_real_package\n"

ZZZ_OK = """\
import attrs
import methodlab
from methodlab.types import OptimizerSpec


@attrs.frozen
class ZzzParams:
    lr: float = 0.1
    \"\"\"Step size.\"\"\"


@methodlab.hookimpl
def methodlab_optimizers():
    yield OptimizerSpec("zzz", "zzz_ok_impl:build", ZzzParams, "SGD under another name.")
"""

ZZZ_OK_IMPL = """\
import torch


def build(params, *, model):
    return torch.optim.SGD(model.parameters(), lr=params.lr)
"""


def install_broken(site) -> None:
    site.add("methodlab-broken", "0.1.0", {"broken": "methodlab_broken"},
             {"methodlab_broken": BROKEN})


# -- built-ins --------------------------------------------------------------------------------


def test_builtins_register_through_the_hooks():
    system = PluginSystem(autoload=False, strict=True)
    record = system.records["methodlab.builtins"]
    assert record.builtin and record.status == "loaded" and record.errors == []
    assert record.distribution == "methodlab"
    assert sorted(system.components["optimizer"]) == ["adagrad", "adam", "rmsprop", "sgd"]
    assert sorted(system.components["model"]) == ["autoencoder", "mlp", "recurrent"]
    assert sorted(system.components["loss"]) == ["bernoulli-cross-entropy", "cross-entropy",
                                                  "mse"]
    assert sorted(system.components["environment"]) == ["arff-multilabel", "char-text", "digits",
                                                         "synthetic-regression"]
    assert sorted(system.components["evaluator"]) == ["accuracy", "bits-per-character", "loss"]
    # Built-ins are ordinary pluggy plugins registered under their module name.
    assert system.pm.get_plugin("methodlab.builtins") is sys.modules["methodlab.builtins"]
    assert len(record.components) == 17


def test_qualified_names_and_provider():
    system = PluginSystem(autoload=False)
    assert system.get("optimizer", "methodlab.builtins:sgd") is system.get("optimizer", "sgd")
    assert system.provider("optimizer", "sgd").name == "methodlab.builtins"
    assert [name for _, spec in system.list_components("loss") for name in [spec.name]] == [
        "bernoulli-cross-entropy", "cross-entropy", "mse"]


def test_unknown_name_suggests_and_lists():
    system = PluginSystem(autoload=False)
    with pytest.raises(KeyError) as info:
        system.get("optimizer", "adamm")
    assert info.value.args[0] == ("unknown optimizer 'adamm' (did you mean 'adam'?); "
                                  "available: adagrad, adam, rmsprop, sgd")


def test_disable_autoload_loads_only_builtins(fake_site, monkeypatch):
    install_broken(fake_site)
    monkeypatch.setenv("METHODLAB_DISABLE_PLUGIN_AUTOLOAD", "1")
    system = get_plugin_system()
    assert list(system.records) == list(BUILTIN_PLUGINS)
    assert "methodlab_broken" not in sys.modules


# -- FT-01: a plugin whose import fails -------------------------------------------------------


def test_ft01_import_failure_is_recorded_not_raised(fake_site):
    install_broken(fake_site)
    system = PluginSystem(strict=False, allow={"broken"})
    record = system.records["broken"]
    assert record.status == "failed"
    assert (record.distribution, record.version) == ("methodlab-broken", "0.1.0")
    assert record.errors == ["ModuleNotFoundError: No module named 'not_a_real_package' "
                             "(importing methodlab_broken)"]
    assert record.import_seconds > 0
    # Everything else still works.
    assert system.get("optimizer", "sgd").name == "sgd"
    assert system.versions() == {"methodlab": system.records["methodlab.builtins"].version}


def test_ft01_strict_mode_raises_with_the_original_exception(fake_site):
    install_broken(fake_site)
    with pytest.raises(PluginError, match=r"plugin 'broken' \(methodlab-broken 0\.1\.0\): "
                                          r"ModuleNotFoundError") as info:
        PluginSystem(strict=True, allow={"broken"})
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_ft01_strict_mode_comes_from_the_environment(fake_site, monkeypatch):
    install_broken(fake_site)
    monkeypatch.setenv("METHODLAB_PLUGINS", "broken")
    with pytest.raises(PluginError):
        get_plugin_system()
    monkeypatch.setenv("METHODLAB_STRICT_PLUGINS", "0")
    assert get_plugin_system().records["broken"].status == "failed"


def test_ft01_one_warning_line_on_stderr(fake_site, monkeypatch, capsys):
    install_broken(fake_site)
    monkeypatch.setenv("METHODLAB_STRICT_PLUGINS", "0")
    monkeypatch.setenv("METHODLAB_PLUGINS", "broken")
    get_plugin_system()
    get_plugin_system()  # warned once, not on every use
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["warning: plugin 'broken' (methodlab-broken 0.1.0) failed: "
                     "ModuleNotFoundError: No module named 'not_a_real_package' "
                     "(importing methodlab_broken)"]


def test_ft01_help_survives_a_broken_plugin(fake_site, cli_process):
    install_broken(fake_site)
    shown = cli_process("--help", env=fake_site.env(METHODLAB_PLUGINS="broken"))
    assert shown.returncode == 0, shown.stderr
    assert "usage: methodlab" in shown.stdout and shown.stderr == ""


def test_ft01_a_builtin_run_survives_a_broken_plugin(fake_site, tiny_run, tmp_path,
                                                     monkeypatch, capsys):
    install_broken(fake_site)
    monkeypatch.setenv("METHODLAB_STRICT_PLUGINS", "0")
    monkeypatch.setenv("METHODLAB_PLUGINS", "broken")
    out = tmp_path / "out"
    assert cli.main(["run", str(tiny_run()), "--quiet", "--out", str(out)]) == 0
    assert (out / "tiny" / "summary.json").exists()
    assert capsys.readouterr().err.splitlines() == [
        "warning: plugin 'broken' (methodlab-broken 0.1.0) failed: ModuleNotFoundError: "
        "No module named 'not_a_real_package' (importing methodlab_broken)"]


def test_ft01_strict_cli_shows_the_full_traceback(fake_site, cli_process):
    install_broken(fake_site)
    result = cli_process("list", env=fake_site.env(METHODLAB_PLUGINS="broken",
                                           METHODLAB_STRICT_PLUGINS="1"))
    assert result.returncode != 0
    assert "Traceback (most recent call last)" in result.stderr
    assert "import not_a_real_package" in result.stderr
    assert "ModuleNotFoundError: No module named 'not_a_real_package'" in result.stderr


def test_ft01_plugins_json_reports_the_failure(fake_site, monkeypatch, capsys):
    install_broken(fake_site)
    monkeypatch.setenv("METHODLAB_PLUGINS", "broken")
    # Strict mode is on in this session: the listing must still work.
    assert cli.main(["plugins", "--json"]) == 0
    records = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert records["broken"] == {
        "name": "broken", "distribution": "methodlab-broken", "version": "0.1.0",
        "status": "failed",
        "error": "ModuleNotFoundError: No module named 'not_a_real_package' "
                 "(importing methodlab_broken)",
        "import_seconds": records["broken"]["import_seconds"], "builtin": False,
        "components": [],
    }
    assert records["methodlab.builtins"]["status"] == "loaded"


@pytest.mark.parametrize("use", ["broken", "broken:sign-descent"])
def test_ft01_run_file_that_needs_the_plugin_exits_2(fake_site, monkeypatch, capsys,
                                                     tiny_run, tmp_path, use):
    install_broken(fake_site)
    monkeypatch.setenv("METHODLAB_STRICT_PLUGINS", "0")
    monkeypatch.setenv("METHODLAB_PLUGINS", "broken")
    path = tiny_run()
    path.write_text(path.read_text().replace('use = "sgd"', f'use = "{use}"'))
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "--quiet", "--out", str(out)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines()
              if line.startswith("error:")]
    assert errors == [f"error: {path}: optimizer.use: plugin 'broken' failed to load: "
                      "ModuleNotFoundError: No module named 'not_a_real_package' "
                      "(importing methodlab_broken) (distribution methodlab-broken 0.1.0)"]
    assert not out.exists()


# -- FT-02: each entry point loads in isolation ----------------------------------------------


@pytest.mark.parametrize(("source", "exception"), [
    ("from methodlab._internal import removed_helper\n", "ModuleNotFoundError"),
    ("from methodlab import removed_helper\n", "ImportError"),
    ("raise SystemExit('plugin gave up')\n", "SystemExit"),
])
def test_ft02_a_failing_plugin_does_not_stop_the_loop(fake_site, tiny_run, tmp_path, source,
                                                      exception):
    from methodlab import api

    fake_site.add("aaa-old", "1.2.3", {"aaa_old": "aaa_old"}, {"aaa_old": source})
    fake_site.add("zzz-ok", "0.4.0", {"zzz_ok": "zzz_ok"},
                  {"zzz_ok": ZZZ_OK, "zzz_ok_impl": ZZZ_OK_IMPL})
    system = PluginSystem(strict=False, allow={"aaa_old", "zzz_ok"})
    considered = [name for name, r in system.records.items() if r.status != "not-allowed"]
    assert considered == ["methodlab.builtins", "aaa_old", "zzz_ok"]
    old = system.records["aaa_old"]
    assert (old.status, old.version) == ("failed", "1.2.3")
    assert old.errors[0].startswith(f"{exception}: ")
    ok = system.records["zzz_ok"]
    assert (ok.status, ok.components, ok.errors) == ("loaded", ["optimizer:zzz"], [])

    path = tiny_run()
    path.write_text(path.read_text().replace('use = "sgd"', 'use = "zzz"'))
    outcome = api.run(path, out=tmp_path / "out", quiet=True, plugin_system=system)
    assert outcome.summary["trials"][0]["status"] == "finished"
    assert outcome.summary["plugins"]["zzz-ok"] == "0.4.0"
    assert "aaa-old" not in outcome.summary["plugins"]

    rows = {r["name"]: r for r in api.plugins(system)}
    assert rows["aaa_old"]["status"] == "failed" and exception in rows["aaa_old"]["error"]


def test_ft02_plugins_table_shows_failed_plugin(fake_site, monkeypatch, capsys):
    fake_site.add("aaa-old", "1.2.3", {"aaa_old": "aaa_old"},
                  {"aaa_old": "from methodlab._internal import removed_helper\n"})
    monkeypatch.setenv("METHODLAB_PLUGINS", "aaa_old")
    assert cli.main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^aaa_old\s+aaa-old\s+1\.2\.3\s+failed\s", out, re.M)
    assert ("aaa_old (aaa-old 1.2.3): ModuleNotFoundError: No module named "
            "'methodlab._internal'") in out


# -- FT-03: a hook implementation that does not match its spec -------------------------------

OUTDATED = """\
import methodlab

CALLS = []


@methodlab.hookimpl
def methodlab_run_start(run, config_path):
    CALLS.append(run)
"""

LISTENER = """\
import methodlab

CALLS = []


@methodlab.hookimpl
def methodlab_run_start(run):
    CALLS.append(run.spec.name)


@methodlab.hookimpl
def methodlab_step_end(step):  # a subset of the arguments is fine
    CALLS.append(step)
"""


def test_ft03_only_the_mismatched_plugin_is_rejected(fake_site, tiny_run, tmp_path):
    from methodlab import api

    fake_site.add("methodlab-outdated", "0.9.1", {"outdated": "outdated_plugin"},
                  {"outdated_plugin": OUTDATED})
    fake_site.add("methodlab-listener", "2.0.0", {"listener": "listener_plugin"},
                  {"listener_plugin": LISTENER})
    system = PluginSystem(strict=False, allow={"outdated", "listener"})
    record = system.records["outdated"]
    assert record.status == "failed"
    assert record.errors == ["hook methodlab_run_start: unexpected argument(s) 'config_path'; "
                             "the hook accepts (run)"]
    assert system.pm.get_plugin("outdated") is None
    assert system.records["listener"].status == "loaded"

    api.run(tiny_run(steps=2), out=tmp_path / "out", quiet=True, plugin_system=system)
    assert sys.modules["outdated_plugin"].CALLS == []
    assert sys.modules["listener_plugin"].CALLS == ["tiny", 1, 2]


def test_ft03_strict_message_names_distribution_hook_and_arguments(fake_site):
    fake_site.add("methodlab-outdated", "0.9.1", {"outdated": "outdated_plugin"},
                  {"outdated_plugin": OUTDATED})
    with pytest.raises(PluginError) as info:
        PluginSystem(strict=True, allow={"outdated"})
    assert str(info.value) == (
        "plugin 'outdated' (methodlab-outdated 0.9.1): hook methodlab_run_start: unexpected "
        "argument(s) 'config_path'; the hook accepts (run)")


def test_misspelt_hook_name_is_rejected_with_a_suggestion():
    plugin = types.SimpleNamespace(methodlab_run_strat=hookimpl(lambda run: None))
    system = PluginSystem(autoload=False, strict=False, plugins=[("typo", plugin)])
    assert system.records["typo"].errors == [
        "unknown hook 'methodlab_run_strat' (did you mean 'methodlab_run_start'?)"]


# -- registration hooks that misbehave --------------------------------------------------------


@attrs.frozen
class _Params:
    lr: float = 0.1


def _optimizer_spec(name: str, factory: str = "torch.optim:SGD") -> OptimizerSpec:
    return OptimizerSpec(name, factory, _Params, f"Test optimizer {name}.")


class _RaisingModels:
    @hookimpl
    def methodlab_optimizers(self):
        yield _optimizer_spec("kept")

    @hookimpl
    def methodlab_models(self):
        raise RuntimeError("boom")


def test_a_raising_registration_hook_loses_only_its_own_components():
    system = isolated_plugin_system(("raiser", _RaisingModels()), strict=False)
    record = system.records["raiser"]
    assert record.status == "partial"
    assert record.errors == ["methodlab_models() raised RuntimeError: boom"]
    assert system.get("optimizer", "kept").name == "kept"
    assert sorted(system.components["model"]) == ["autoencoder", "mlp", "recurrent"]
    with pytest.raises(PluginError, match=r"methodlab_models\(\) raised RuntimeError: boom"):
        isolated_plugin_system(("raiser", _RaisingModels()), strict=True)


class _WrongType:
    @hookimpl
    def methodlab_optimizers(self):
        yield ModelSpec("not-an-optimizer", "torch.nn:Linear", _Params, "Wrong kind.")
        yield {"name": "dict"}
        yield _optimizer_spec("right")


def test_a_wrongly_typed_spec_is_rejected_and_the_rest_kept():
    system = isolated_plugin_system(("wrong", _WrongType()), strict=False)
    assert system.records["wrong"].errors == [
        "methodlab_optimizers() yielded ModelSpec, expected OptimizerSpec",
        "methodlab_optimizers() yielded dict, expected OptimizerSpec",
    ]
    assert "right" in system.components["optimizer"]
    assert "not-an-optimizer" not in system.components["model"]


class _Provider:
    def __init__(self, factory: str) -> None:
        self.factory = factory

    @hookimpl
    def methodlab_optimizers(self):
        yield _optimizer_spec("twin", self.factory)


def test_duplicate_component_names_both_providers_and_qualified_names_pick():
    first, second = _Provider("torch.optim:SGD"), _Provider("torch.optim:Adam")
    system = isolated_plugin_system(("one", first), ("two", second), strict=False)
    assert system.records["two"].status == "partial"
    assert system.records["two"].errors == [
        "optimizer 'twin' is provided by both one 0 and two 0; use 'one:twin' or 'two:twin'"]
    assert system.get("optimizer", "two:twin").factory == "torch.optim:Adam"
    assert system.get("optimizer", "one:twin").factory == "torch.optim:SGD"
    # The bare name is ambiguous: registration order must not choose.
    with pytest.raises(KeyError) as info:
        system.get("optimizer", "twin")
    assert info.value.args[0].startswith(
        "optimizer 'twin' is provided by both one 0 and two 0; use one of 'one:twin', "
        "'two:twin'")

    document = tiny_document()
    document["optimizer"] = {"use": "two:twin", "lr": 0.5}
    spec = validate_document(document, "dup.toml", system)
    assert spec.arms[0].optimizer.use == "two:twin"
    assert spec.arms[0].optimizer.params == _Params(0.5)

    with pytest.raises(PluginError, match="provided by both"):
        isolated_plugin_system(("one", first), ("two", second), strict=True)


def test_duplicate_entry_point_names_across_distributions(fake_site):
    fake_site.add("dist-a", "1.0", {"same": "same_a"}, {"same_a": ""})
    fake_site.add("dist-b", "2.0", {"same": "same_b"}, {"same_b": ""})
    system = PluginSystem(strict=False, allow={"same"})
    failed = [r for r in system.records.values() if r.status == "failed"]
    assert len(failed) == 1
    assert "entry point 'same' is provided by both" in failed[0].errors[0]
    assert "dist-a 1.0" in failed[0].errors[0] and "dist-b 2.0" in failed[0].errors[0]


# -- allow- and block-lists ---------------------------------------------------------------


def test_block_list_prevents_the_import(fake_site, monkeypatch):
    fake_site.add("methodlab-blocked", "1.0", {"blocked": "blocked_plugin"},
                  {"blocked_plugin": "raise RuntimeError('must never be imported')\n"})
    fake_site.add("zzz-ok", "0.4.0", {"zzz_ok": "zzz_ok"},
                  {"zzz_ok": ZZZ_OK, "zzz_ok_impl": ZZZ_OK_IMPL})
    monkeypatch.setenv("METHODLAB_PLUGINS", "blocked,zzz_ok")
    monkeypatch.setenv("METHODLAB_BLOCK_PLUGINS", "blocked, methodlab.builtins")
    system = get_plugin_system()  # strict: an import would raise
    assert "blocked_plugin" not in sys.modules
    assert system.records["blocked"].status == "blocked"
    assert system.records["zzz_ok"].status == "loaded"
    # Built-ins cannot be blocked.
    assert system.records["methodlab.builtins"].status == "loaded"
    with pytest.raises(KeyError, match="plugin 'blocked' is blocked"):
        system.get("optimizer", "blocked")


def test_allow_list_leaves_other_plugins_unimported(fake_site, monkeypatch):
    fake_site.add("methodlab-other", "1.0", {"other": "other_plugin"},
                  {"other_plugin": "raise RuntimeError('must never be imported')\n"})
    fake_site.add("zzz-ok", "0.4.0", {"zzz_ok": "zzz_ok"},
                  {"zzz_ok": ZZZ_OK, "zzz_ok_impl": ZZZ_OK_IMPL})
    monkeypatch.setenv("METHODLAB_PLUGINS", "zzz_ok")
    system = get_plugin_system()
    assert "other_plugin" not in sys.modules
    assert system.records["other"].status == "not-allowed"
    assert "zzz" in system.components["optimizer"]
    with pytest.raises(KeyError, match="plugin 'other' is not-allowed"):
        system.get("optimizer", "other")


def test_reset_plugin_system_rebuilds(monkeypatch):
    monkeypatch.setenv("METHODLAB_DISABLE_PLUGIN_AUTOLOAD", "1")
    first = get_plugin_system()
    assert get_plugin_system() is first
    reset_plugin_system()
    assert get_plugin_system() is not first


# -- lazy imports --------------------------------------------------------------------------


def test_listing_components_does_not_import_torch():
    import os
    import subprocess

    code = ("import sys, methodlab.api as api; rows = api.list_components(); "
            "api.show('sgd'); "
            "print(len(rows), 'torch' in sys.modules)")
    env = {**os.environ, "METHODLAB_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["17", "False"]


def test_help_imports_neither_torch_nor_plugins():
    import subprocess

    code = ("import sys\nfrom methodlab.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit as exit:\n    code = exit.code\n"
            "print(code, 'torch' in sys.modules, 'methodlab.plugin_manager' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "0 False False"
