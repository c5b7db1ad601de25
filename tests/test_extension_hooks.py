"""Plugin subcommands (``methodlab_commands``) and run-file settings (``methodlab_settings``)."""

from __future__ import annotations

import argparse
import types

import attrs
import pytest
from methodlab import CommandSpec, SettingsSpec, cli, hookimpl, plugin_manager
from methodlab.errors import PluginError, RunFileError, UserError
from methodlab.runfile import validate_document
from methodlab.testing import isolated_plugin_system, tiny_document


@attrs.frozen
class TrackerSettings:
    uri: str = "file:./store"
    """Where to write."""
    every: int = attrs.field(default=1, validator=attrs.validators.gt(0))
    """Log every this many steps."""


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file")
    parser.add_argument("--times", type=int, default=1)


def _run(args: argparse.Namespace) -> int:
    if args.times < 0:
        raise UserError(f"{args.file}: --times must be >= 0, got {args.times}")
    print(f"echo {args.file} x{args.times}")
    return 3


def _plugin() -> types.SimpleNamespace:
    @hookimpl
    def methodlab_commands():
        yield CommandSpec(name="echo", summary="Print the file name.", configure=_configure,
                          run=_run)

    @hookimpl
    def methodlab_settings():
        yield SettingsSpec(name="tracker", params_cls=TrackerSettings,
                           summary="A pretend tracker.")

    return types.SimpleNamespace(methodlab_commands=methodlab_commands,
                                 methodlab_settings=methodlab_settings)


@pytest.fixture
def system(monkeypatch):
    plugins = isolated_plugin_system(("echo-plugin", _plugin()))
    monkeypatch.setattr(plugin_manager, "_SYSTEM", plugins)
    return plugins


# -- commands -----------------------------------------------------------------------------------


def test_a_plugin_command_parses_its_own_arguments_and_returns_its_status(system, capsys):
    assert cli.main(["echo", "a.toml", "--times", "2"]) == 3
    assert capsys.readouterr().out == "echo a.toml x2\n"


def test_a_plugin_command_user_error_is_one_line_exit_2(system, capsys):
    assert cli.main(["echo", "a.toml", "--times", "-1"]) == 2
    assert capsys.readouterr().err == "error: a.toml: --times must be >= 0, got -1\n"


def test_a_plugin_command_has_its_own_help(system, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["echo", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: methodlab echo [-h] [--times TIMES] file")
    assert "Print the file name." in out


def test_a_mistyped_command_lists_plugin_commands_too(system, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["ecco"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'ecco'" in capsys.readouterr().err


def test_plugins_lists_the_commands_and_settings_a_plugin_registers(system):
    assert system.records["echo-plugin"].components == ["command:echo", "settings:tracker"]


def test_core_commands_do_not_load_plugins(monkeypatch, capsys):
    def explode() -> None:
        raise AssertionError("plugins loaded for a core command")

    monkeypatch.setattr(plugin_manager, "get_plugin_system", explode)
    assert cli.main(["--version"]) == 0
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["validate", "--help"])
    assert exit_info.value.code == 0


def test_a_command_whose_module_is_missing_exits_2_with_one_line(monkeypatch, capsys):
    @hookimpl
    def methodlab_commands():
        yield CommandSpec(name="ghost", summary="Missing module.",
                          configure="not_a_module_xyz:configure", run="not_a_module_xyz:run")

    plugins = isolated_plugin_system(
        ("ghost", types.SimpleNamespace(methodlab_commands=methodlab_commands)))
    monkeypatch.setattr(plugin_manager, "_SYSTEM", plugins)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["ghost"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: command 'ghost': cannot import 'not_a_module_xyz:configure'")
    assert err.count("\n") == 1


def test_a_plugin_cannot_replace_a_core_command():
    @hookimpl
    def methodlab_commands():
        yield CommandSpec(name="run", summary="Hijack.", configure=_configure, run=_run)

    with pytest.raises(PluginError, match="command 'run' is already provided by methodlab"):
        isolated_plugin_system(
            ("hijack", types.SimpleNamespace(methodlab_commands=methodlab_commands)))
    plugins = isolated_plugin_system(
        ("hijack", types.SimpleNamespace(methodlab_commands=methodlab_commands)), strict=False)
    assert "run" not in plugins.commands
    assert plugins.records["hijack"].status == "partial"


def test_command_spec_checks_its_references():
    with pytest.raises(ValueError, match="configure 'nocolon' must look like"):
        CommandSpec(name="x", summary="s", configure="nocolon", run=_run)


# -- settings -----------------------------------------------------------------------------------


def _document(**integrations) -> dict:
    document = tiny_document()
    document["integrations"] = integrations
    return document


def test_settings_table_is_structured_into_the_integration_class(system):
    spec = validate_document(_document(tracker={"uri": "http://127.0.0.1:5000", "every": 5}),
                             "run.toml", system)
    assert spec.settings == {"tracker": TrackerSettings("http://127.0.0.1:5000", 5)}


def test_settings_absent_table_means_no_entry(system):
    assert validate_document(tiny_document(), "run.toml", system).settings == {}


def test_settings_defaults_apply_to_an_empty_table(system):
    spec = validate_document(_document(tracker={}), "run.toml", system)
    assert spec.settings["tracker"] == TrackerSettings()


@pytest.mark.parametrize(("table", "line"), [
    ({"every": 0}, "run.toml: integrations.tracker.every: must be > 0: 0"),
    ({"evry": 2}, "run.toml: integrations.tracker.evry: unknown key (did you mean 'every'?)"),
    ({"uri": 3}, "run.toml: integrations.tracker.uri: expected str, got int 3"),
])
def test_bad_settings_are_one_line_with_the_field_path(system, table, line):
    with pytest.raises(RunFileError) as error:
        validate_document(_document(tracker=table), "run.toml", system)
    assert error.value.problems == [line]


def test_unknown_integration_suggests_and_lists_the_installed_ones(system):
    with pytest.raises(RunFileError) as error:
        validate_document(_document(trackr={}), "run.toml", system)
    assert error.value.problems == [
        "run.toml: integrations.trackr: unknown integration 'trackr' (did you mean "
        "'tracker'?); installed: tracker"]


def test_arms_cannot_override_integration_settings(system):
    document = _document(tracker={})
    document["arms"] = {"a": {"integrations": {"tracker": {"every": 2}}}}
    with pytest.raises(RunFileError) as error:
        validate_document(document, "run.toml", system)
    assert error.value.problems[0].startswith("run.toml: arms.a.integrations: unknown key")


def test_an_integration_is_on_with_its_table_or_when_methodlab_integrations_lists_it(
        system, monkeypatch, tmp_path):
    from methodlab.runner import Run

    def run_of(document: dict) -> Run:
        return Run(validate_document(document, "run.toml", system), tmp_path, system, {})

    monkeypatch.delenv("METHODLAB_INTEGRATIONS", raising=False)
    assert run_of(tiny_document()).integration_settings("tracker") is None
    with_table = run_of(_document(tracker={"every": 3}))
    assert with_table.integration_settings("tracker") == TrackerSettings(every=3)
    monkeypatch.setenv("METHODLAB_INTEGRATIONS", " other , TRACKER")
    assert run_of(tiny_document()).integration_settings("tracker") == TrackerSettings()
    assert with_table.integration_settings("tracker") == TrackerSettings(every=3)


def test_the_plugins_table_names_the_commands_and_settings_tables_a_plugin_adds(
        system, capsys, monkeypatch):
    from methodlab import api

    listing = api.plugins
    monkeypatch.setattr(api, "plugins", lambda: listing(system))
    assert cli.main(["plugins"]) == 0
    assert "echo-plugin adds: methodlab echo, [integrations.tracker]" in (
        capsys.readouterr().out.splitlines())


def test_show_describes_a_settings_table_and_suggests_a_misspelt_one(system, capsys):
    assert cli.main(["show", "integrations.tracker"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("settings integrations.tracker (")
    assert "  every: int (default 1)" in out and "      Log every this many steps." in out
    assert not any("factory" in line for line in out)
    assert cli.main(["show", "integrations.trackr"]) == 2
    assert capsys.readouterr().err == ("error: no settings table [integrations.trackr] (did you "
                                       "mean 'integrations.tracker'?); installed: "
                                       "integrations.tracker\n")
