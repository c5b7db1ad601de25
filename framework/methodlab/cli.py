"""The ``methodlab`` command line.

Imports nothing heavy at module level: ``methodlab --help`` does not import torch, and
plugins are loaded only by the commands that need them. User errors print one line on stderr
and exit with status 2 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

__all__ = ["main"]

_EPILOG = """\
examples:
  methodlab run runs/quickstart.toml --check
  methodlab run runs/quickstart.toml seeds=[0] arms.sgd.optimizer.lr=0.05
  methodlab run --resume methodlab-runs/quickstart
  methodlab list --kind optimizer
  methodlab show natural-gradient
  methodlab compare methodlab-runs/quickstart other-runs/quickstart --metric train.loss
  methodlab report methodlab-runs/quickstart

plugins may add commands (methodlab-ray adds `sweep`): `methodlab plugins` lists them.

environment: METHODLAB_STRICT_PLUGINS=1 (plugin failures are errors),
METHODLAB_DISABLE_PLUGIN_AUTOLOAD=1, METHODLAB_PLUGINS=a,b (allow-list),
METHODLAB_BLOCK_PLUGINS=a,b (never import)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="methodlab", description="Research methods as plugins, experiments as run files.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="run a run file (all arms and seeds)")
    run.add_argument("file", nargs="?", help="the run file (optional with --resume)")
    run.add_argument("overrides", nargs="*", metavar="key.path=value",
                     help="override run-file values, e.g. optimizer.lr=0.05")
    run.add_argument("--out", default="methodlab-runs",
                     help="parent directory of the run directory (default: ./methodlab-runs)")
    run.add_argument("--check", action="store_true",
                     help="exit 1 when a claim fails")
    run.add_argument("--resume", metavar="DIR", help="continue the run in DIR")
    run.add_argument("--force", action="store_true",
                     help="replace an existing run directory of the same name")
    run.add_argument("--quiet", action="store_true", help="no progress output")

    validate = commands.add_parser("validate", help="check a run file without running it")
    validate.add_argument("file")
    validate.add_argument("overrides", nargs="*", metavar="key.path=value")

    plugins = commands.add_parser("plugins", help="installed plugins and their load status")
    plugins.add_argument("--json", action="store_true")

    listing = commands.add_parser("list", help="available components")
    listing.add_argument("--kind", choices=["optimizer", "model", "loss", "environment",
                                            "evaluator"])
    listing.add_argument("--json", action="store_true")

    show = commands.add_parser("show", help="a component's parameters, types and defaults")
    show.add_argument("name", help="component name, kind:name, or integrations.NAME for an "
                                   "integration's settings table")
    show.add_argument("--json", action="store_true")

    new = commands.add_parser("new-plugin", help="create a plugin package scaffold")
    new.add_argument("name", help="plugin name, e.g. my-method")
    new.add_argument("--dir", default=".", help="where to create the folder NAME/")

    compare = commands.add_parser("compare", help="a table and overlay curves of finished runs")
    compare.add_argument("directories", nargs="+", metavar="DIR", help="run directories")
    compare.add_argument("--metric", action="append", default=[], metavar="M",
                         help="a metric to tabulate and plot (repeatable; default: all)")
    compare.add_argument("--out", default="methodlab-compare",
                         help="where the PNGs go (default: ./methodlab-compare)")

    report = commands.add_parser("report", help="a self-contained HTML page of finished runs")
    report.add_argument("directories", nargs="+", metavar="DIR", help="run directories")
    report.add_argument("--out", metavar="FILE.html",
                        help="the page (default: DIR/report.html for one run, ./report.html "
                             "for several)")
    return parser


def _print_table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _command_run(args: argparse.Namespace) -> int:
    from methodlab import api
    from methodlab.claims import format_verdict
    from methodlab.summary import format_table

    overrides = list(args.overrides)
    path = args.file
    if path is not None and "=" in path and args.resume:
        overrides.insert(0, path)
        path = None
    outcome = api.run(path, out=args.out, overrides=overrides, resume=args.resume,
                      force=args.force, quiet=args.quiet)
    if not outcome.primary:
        # Under torchrun, rank 0 speaks for the run; the exit status is every rank's.
        return 1 if args.check and not outcome.claims_passed else 0
    print(format_table(outcome.summary))
    for verdict in outcome.summary["claims"]:
        print(format_verdict(verdict))
    print(f"results: {outcome.directory}")
    # A claim naming a metric no arm produced is a mistake in the run file, not a result.
    mistakes = [(index, c["error"]) for index, c in enumerate(outcome.summary["claims"])
                if "error" in c]
    for index, message in mistakes:
        print(f"error: {path or args.resume}: claims[{index}]: {message}",
              file=sys.stderr)
    if mistakes:
        return 2
    if args.check and not outcome.claims_passed:
        failed = sum(not c["passed"] for c in outcome.summary["claims"])
        print(f"{failed} claim(s) failed", file=sys.stderr)
        return 1
    return 0


def _command_validate(args: argparse.Namespace) -> int:
    from methodlab import api

    spec = api.validate(args.file, args.overrides)
    arms = ", ".join(arm.name for arm in spec.arms)
    print(f"{args.file}: ok ({len(spec.arms)} arm(s): {arms}; {len(spec.seeds)} seed(s); "
          f"{len(spec.claims)} claim(s))")
    return 0


def _command_plugins(args: argparse.Namespace) -> int:
    from methodlab import api

    records = api.plugins()
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    rows = [["plugin", "distribution", "version", "status", "import", "components"]]
    for r in records:
        rows.append([r["name"], r["distribution"], r["version"], r["status"],
                     f"{r['import_seconds'] * 1000:.0f} ms", str(len(r["components"]))])
    _print_table(rows)
    for r in records:
        extras = [c for c in r["components"] if c.startswith(("command:", "settings:"))]
        if extras:
            named = ", ".join(f"methodlab {c.partition(':')[2]}" if c.startswith("command:")
                              else f"[integrations.{c.partition(':')[2]}]" for c in extras)
            print(f"{r['name']} adds: {named}")
    for r in records:
        if r["error"]:
            print(f"{r['name']} ({r['distribution']} {r['version']}): {r['error']}")
    return 0


def _command_list(args: argparse.Namespace) -> int:
    from methodlab import api

    rows = api.list_components(args.kind)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = [["kind", "name", "plugin", "version", "summary"]]
    table += [[r["kind"], r["name"], r["plugin"], r["version"], r["summary"]] for r in rows]
    _print_table(table)
    return 0


def _command_show(args: argparse.Namespace) -> int:
    from methodlab import api

    info = api.show(args.name)
    if args.json:
        print(json.dumps(info, indent=2, default=repr))
        return 0
    print(f"{info['kind']} {info['name']} ({info['plugin']} {info['version']})")
    print(f"  {info['summary']}")
    if info["factory"]:
        print(f"  factory: {info['factory']}")
    print("parameters:" if info["params"] else "parameters: none")
    for p in info["params"]:
        default = "required" if p["required"] else f"default {p['default']!r}"
        print(f"  {p['name']}: {p['type']} ({default})")
        if p["doc"]:
            print(f"      {p['doc']}")
    return 0


def _command_new_plugin(args: argparse.Namespace) -> int:
    from methodlab import api

    path = api.new_plugin(args.name, args.dir)
    print(f"created {path}")
    print(f"next: pip install -e {path} && pytest {path}")
    return 0


def _command_compare(args: argparse.Namespace) -> int:
    from methodlab import api

    comparison = api.compare(args.directories, metrics=args.metric, out=args.out)
    print(comparison.table)
    for path in comparison.plots:
        print(f"plot: {path}")
    return 0


def _command_report(args: argparse.Namespace) -> int:
    from methodlab import api

    print(f"report: {api.report(args.directories, out=args.out)}")
    return 0


_COMMANDS = {
    "run": _command_run,
    "validate": _command_validate,
    "plugins": _command_plugins,
    "list": _command_list,
    "show": _command_show,
    "new-plugin": _command_new_plugin,
    "compare": _command_compare,
    "report": _command_report,
}


def _add_plugin_commands(parser: argparse.ArgumentParser, argv: Sequence[str]
                         ) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add the subcommands plugins register; return ``{name: run}`` for the one invoked.

    Plugins are loaded only when the command is not a core one (``methodlab --help`` imports
    no plugin, so plugin commands are listed by ``methodlab plugins``), and a command's own
    module only when that command runs.
    """
    chosen = next((item for item in argv if not item.startswith("-")), None)
    if chosen is None or chosen in _COMMANDS:
        return {}
    from methodlab.plugin_manager import get_plugin_system

    plugins = get_plugin_system()
    subparsers = next(action for action in parser._actions
                      if isinstance(action, argparse._SubParsersAction))
    runners = {}
    for name, (_plugin, spec) in sorted(plugins.commands.items()):
        sub = subparsers.add_parser(name, help=spec.summary, description=spec.summary)
        if name == chosen:
            try:
                configure, runners[name] = spec.load()
            except ImportError as exc:
                parser.exit(2, f"error: {exc}\n")
            configure(sub)
    return runners


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``methodlab`` console script; returns the exit status."""
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    plugin_commands = _add_plugin_commands(parser, argv)
    args, extra = parser.parse_known_args(argv)
    # argparse stops collecting positionals at the first option, so overrides written after
    # an option (`run FILE --out D seeds=[0]`) arrive here; anything else is a real mistake.
    if extra:
        if getattr(args, "overrides", None) is None or not all(
            "=" in item and not item.startswith("-") for item in extra
        ):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = [*args.overrides, *extra]
    if args.version:
        from methodlab import __version__

        print(f"methodlab {__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    from methodlab.errors import PluginError, RunFileError, UserError

    try:
        if args.command in plugin_commands:
            return plugin_commands[args.command](args)
        return _COMMANDS[args.command](args)
    except RunFileError as exc:
        if args.debug:
            raise
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return exc.exit_code
    except UserError as exc:
        # PluginError is raised only in strict mode, whose point is the full traceback.
        if args.debug or isinstance(exc, PluginError):
            raise
        # Under torchrun every rank meets the same mistake; rank 0 reports it.
        if os.environ.get("RANK", "0") == "0":
            print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (``methodlab list | head``); stop writing without a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
