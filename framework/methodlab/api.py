"""Every CLI command as a Python function.

Example::

    import methodlab.api as ml

    outcome = ml.run("runs/quickstart.toml", out="results", overrides=["seeds=[0]"])
    print(outcome.summary["arms"]["natural-gradient"]["train.loss"]["mean"])
"""

from __future__ import annotations

import ast
import difflib
import inspect
import itertools
import sys
import textwrap
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from methodlab.errors import UserError
from methodlab.plugin_manager import PluginSystem, get_plugin_system
from methodlab.runfile import RunSpec, load_run_file
from methodlab.types import KINDS

if TYPE_CHECKING:
    from methodlab.compare import Comparison
    from methodlab.distributed import World
    from methodlab.progress import Progress

__all__ = ["RunOutcome", "compare", "list_components", "new_plugin", "plugins", "report", "run",
           "show", "validate"]

DEFAULT_OUT = Path("methodlab-runs")


@attrs.frozen
class RunOutcome:
    """What :func:`run` returns."""

    directory: Path
    summary: dict[str, Any]
    primary: bool = True
    """False on the ranks other than 0 of a ``torchrun`` launch, which print nothing."""

    @property
    def claims_passed(self) -> bool:
        return all(claim["passed"] for claim in self.summary["claims"])


def validate(path: str | Path, overrides: Sequence[str] = (),
             plugin_system: PluginSystem | None = None) -> RunSpec:
    """Validate a run file without running it.

    :raises RunFileError: listing every problem, one line each.
    """
    from methodlab.inputs import check_inputs

    plugin_system = plugin_system or get_plugin_system()
    spec = load_run_file(path, overrides, plugin_system)
    check_inputs(spec, plugin_system)
    return spec


def run(
    path: str | Path | None = None,
    *,
    out: str | Path = DEFAULT_OUT,
    overrides: Sequence[str] = (),
    resume: str | Path | None = None,
    force: bool = False,
    quiet: bool = False,
    plugin_system: PluginSystem | None = None,
) -> RunOutcome:
    """Run a run file (or resume the run in directory ``resume``) and return its summary."""
    from methodlab.distributed import initialise, world_from_environment
    from methodlab.inputs import check_inputs
    from methodlab.progress import Progress
    from methodlab.runner import load_resolved, prepare_directory

    plugin_system = plugin_system or get_plugin_system()
    world = world_from_environment()
    initialise(world)
    progress = Progress(sys.stderr, quiet=quiet or not world.writes)
    if resume is not None:
        directory = Path(resume).resolve()
        spec = load_resolved(directory, plugin_system)
        if path is not None:
            given = load_run_file(path, overrides, plugin_system)
            if comparable(given) != comparable(spec):
                raise UserError(f"{path} differs from the run stored in {directory}; resume "
                                "without the run file, or start a new run (--force)")
            # Only the claims (or the description) changed: they decide nothing about
            # training, so the finished trials are checked against the corrected claims.
            if given.document.get("claims") != spec.document.get("claims") or \
                    given.description != spec.description:
                spec = given
                if world.writes:
                    _record_resolved(spec, directory, plugin_system)
        elif overrides:
            raise UserError(f"overrides need the run file when resuming: the run continues "
                            f"with the settings stored in {directory / 'resolved.toml'}")
        return _execute(spec, directory, True, plugin_system, progress, world)
    if path is None:
        raise UserError("give a run file, or --resume DIR")
    spec = load_run_file(path, overrides, plugin_system)
    # Inputs are checked before the run directory is created or replaced (--force): a
    # mistake in them must not cost the results already there.
    check_inputs(spec, plugin_system, Path(out).resolve())
    # Under torchrun only rank 0 creates (or, with --force, replaces) the directory.
    directory = (prepare_directory(Path(out), spec.name, force=force) if world.writes
                 else (Path(out).resolve() / spec.name).resolve())
    world.barrier()
    return _execute(spec, directory, False, plugin_system, progress, world)


def _execute(spec: RunSpec, directory: Path, resume: bool, plugin_system: PluginSystem,
             progress: Progress, world: World) -> RunOutcome:
    import torch.distributed

    from methodlab.runner import execute

    try:
        summary = execute(spec, directory, resume=resume, plugins=plugin_system,
                          progress=progress, world=world)
    except KeyboardInterrupt:
        if world.writes:
            print(f"interrupted; continue with: methodlab run --resume {directory}",
                  file=sys.stderr)
        raise
    finally:
        if world.distributed and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    return RunOutcome(directory, summary, world.writes)


def _record_resolved(spec: RunSpec, directory: Path, plugin_system: PluginSystem) -> None:
    import tomli_w

    from methodlab.runner import RESOLVED, resolved_document

    document = resolved_document(spec, plugin_system.versions())
    (directory / RESOLVED).write_text(tomli_w.dumps(document))


def comparable(spec: RunSpec) -> Any:
    """The part of a run's document that decides whether two runs are the same run.

    Claims and the description are left out: they change nothing that is trained, so a
    finished run can be re-checked against corrected claims (``--resume DIR FILE``).
    """
    document = dict(spec.document)
    for key in ("methodlab", "claims", "description"):
        document.pop(key, None)
    # resolved.toml always records the name; a run file may leave it to the file name.
    document.setdefault("name", spec.name)
    return document


def plugins(plugin_system: PluginSystem | None = None) -> list[dict[str, Any]]:
    """One JSON-ready record per plugin: distribution, version, status, error, import time.

    Without ``plugin_system`` the plugins are loaded leniently even in strict mode: this
    listing is how a user finds out which plugin is broken.
    """
    system = plugin_system or PluginSystem(strict=False)
    return [record.to_json() for record in system.records.values()]


def list_components(kind: str | None = None,
                    plugin_system: PluginSystem | None = None) -> list[dict[str, Any]]:
    """One record per component: kind, name, plugin, version, summary."""
    if kind is not None and kind not in KINDS:
        raise UserError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    system = plugin_system or get_plugin_system()
    rows = []
    for component_kind, spec in system.list_components(kind):
        record = system.provider(component_kind, spec.name)
        rows.append({"kind": component_kind, "name": spec.name, "plugin": record.distribution,
                     "version": record.version, "summary": spec.summary})
    return rows


def _field_docs(cls: type) -> dict[str, str]:
    """Field docstrings: the string literal written under each field (CleanRL style)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, following in itertools.pairwise(body):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(following, ast.Expr)
                    and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)):
                docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def _type_name(annotation: Any) -> str:
    """``tuple[int, ...]`` for resolved and unresolved (string) annotations alike.

    Validating a run file resolves the parameter classes' annotations in place, and a
    resolved generic alias's ``__name__`` is just ``tuple``.
    """
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def show(name: str, plugin_system: PluginSystem | None = None) -> dict[str, Any]:
    """Describe component ``name`` (or ``kind:name``, or ``plugin:name`` to pick one provider
    of a duplicated name), or the settings table ``integrations.<name>``: its parameters with
    types, defaults and documentation."""
    system = plugin_system or get_plugin_system()
    if name.startswith("integrations."):
        return _show_settings(name.partition(".")[2], system)
    kinds = list(KINDS)
    if ":" in name and name.partition(":")[0] in KINDS:
        kind, _, name = name.partition(":")
        kinds = [kind]
    matches = [(kind, system.components[kind][name]) for kind in kinds
               if name in system.components[kind]]
    matches += [(kind, system.qualified[kind][name]) for kind in kinds
                if name in system.qualified[kind] and name not in system.components[kind]]
    if not matches:
        every = sorted({n for k in KINDS for n in system.components[k]})
        close = difflib.get_close_matches(name, every, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UserError(f"no component named {name!r}{hint}; see 'methodlab list'")
    if len(matches) > 1:
        options = ", ".join(f"{kind}:{name}" for kind, _ in matches)
        raise UserError(f"{name!r} names several components; use one of {options}")
    kind, spec = matches[0]
    record = system.provider(kind, name)
    return {"kind": kind, "name": spec.name, "plugin": record.distribution,
            "version": record.version, "summary": spec.summary,
            "factory": spec.factory if isinstance(spec.factory, str) else repr(spec.factory),
            "params": _params(spec.params_cls)}


def _show_settings(key: str, system: PluginSystem) -> dict[str, Any]:
    if key not in system.settings:
        close = difflib.get_close_matches(key, list(system.settings), n=1)
        hint = f" (did you mean 'integrations.{close[0]}'?)" if close else ""
        installed = ", ".join(f"integrations.{k}" for k in sorted(system.settings)) or "none"
        raise UserError(f"no settings table [integrations.{key}]{hint}; installed: {installed}")
    plugin, spec = system.settings[key]
    record = system.records[plugin]
    return {"kind": "settings", "name": f"integrations.{spec.name}",
            "plugin": record.distribution, "version": record.version, "summary": spec.summary,
            "factory": None, "params": _params(spec.params_cls)}


def _params(cls: type) -> list[dict[str, Any]]:
    """Each field of a frozen attrs parameter class: type, default and documentation."""
    docs = _field_docs(cls)
    params = []
    for field in attrs.fields(cls):
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        params.append({
            "name": field.name,
            "type": _type_name(field.type),
            "default": None if default is attrs.NOTHING else default,
            "required": default is attrs.NOTHING,
            "doc": docs.get(field.name, ""),
        })
    return params


def new_plugin(name: str, directory: str | Path = ".") -> Path:
    """Create a plugin scaffold ``<name>/`` under ``directory``; returns its path."""
    from methodlab.scaffold import write_scaffold

    return write_scaffold(name, Path(directory))


def compare(directories: Sequence[str | Path], *, metrics: Sequence[str] = (),
            out: str | Path | None = None) -> Comparison:
    """A table of the arms of finished runs (mean ± std over seeds per metric) and, when
    ``out`` is given, one overlay PNG of the learning curves per metric written there; see
    :func:`methodlab.compare.compare`."""
    from methodlab.compare import compare as compare_runs

    return compare_runs(directories, metrics=metrics, out=out)


def report(directories: Sequence[str | Path], *, out: str | Path | None = None) -> Path:
    """Write a self-contained HTML page of finished runs (claims with verdicts and numbers,
    curves, resolved run file, plugin versions); returns its path. By default the page is
    ``<run>/report.html`` for one run and ``./report.html`` for several."""
    from methodlab.report import write_report

    return write_report(directories, out)
