"""Discovery and isolated loading of plugins from the ``methodlab`` entry-point group.

Each plugin is loaded on its own: an import error, a hook implementation that does not match
its spec, a registration hook that raises or returns the wrong type, or a component name that
another plugin already provides is recorded against that plugin in a :class:`PluginRecord`,
and every other plugin keeps working. ``methodlab plugins`` shows the records.

Environment variables:

``METHODLAB_STRICT_PLUGINS=1``
    turn any plugin failure into a :class:`~methodlab.errors.PluginError` (with the original
    exception chained). The test suite runs with it on.
``METHODLAB_DISABLE_PLUGIN_AUTOLOAD=1``
    load only the built-in components.
``METHODLAB_PLUGINS=a,b``
    load only these entry points (an allow-list); others are not imported.
``METHODLAB_BLOCK_PLUGINS=a,b``
    never import these entry points.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import sys
import time
from collections.abc import Iterable, Sequence
from importlib import metadata
from typing import Any, TextIO

import attrs
import pluggy

from methodlab import __version__, hookspecs
from methodlab.errors import PluginError
from methodlab.types import KINDS, CommandSpec, ComponentSpec, SettingsSpec

__all__ = [
    "BUILTIN_PLUGINS",
    "ENTRY_POINT_GROUP",
    "PluginRecord",
    "PluginSystem",
    "get_plugin_system",
]

ENTRY_POINT_GROUP = "methodlab"
BUILTIN_PLUGINS: tuple[str, ...] = ("methodlab.builtins",)
"""Modules registered before any entry point; they cannot be blocked."""

_CORE_COMMANDS = ("run", "validate", "plugins", "list", "show", "new-plugin", "compare", "report")
"""Subcommands of the core CLI, which plugin commands cannot replace."""

_HOOK_BY_KIND = {
    "optimizer": "methodlab_optimizers",
    "model": "methodlab_models",
    "loss": "methodlab_losses",
    "environment": "methodlab_environments",
    "evaluator": "methodlab_evaluators",
}


def _env_list(variable: str) -> set[str] | None:
    raw = os.environ.get(variable)
    if raw is None:
        return None
    return {item.strip() for item in raw.split(",") if item.strip()}


def _env_flag(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() in {"1", "true", "yes", "on"}


def strict_mode() -> bool:
    """Whether ``METHODLAB_STRICT_PLUGINS`` turns plugin failures into errors."""
    return _env_flag("METHODLAB_STRICT_PLUGINS")


@attrs.define
class PluginRecord:
    """What happened when one plugin was loaded."""

    name: str
    """Entry-point name (the plugin's identity for allow- and block-lists)."""
    distribution: str
    """Distribution that provides it, e.g. ``methodlab-natural-gradient``."""
    version: str
    """Version of that distribution."""
    status: str = "loaded"
    """``loaded``, ``failed`` (nothing registered), ``partial`` (some components rejected),
    ``blocked`` or ``not-allowed``."""
    errors: list[str] = attrs.field(factory=list)
    """One line per problem."""
    import_seconds: float = 0.0
    """Time to import the plugin module."""
    builtin: bool = False
    components: list[str] = attrs.field(factory=list)
    """``kind:name`` of each component it provides."""

    @property
    def label(self) -> str:
        return f"{self.distribution} {self.version}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "error": "; ".join(self.errors) or None,
            "import_seconds": round(self.import_seconds, 6),
            "builtin": self.builtin,
            "components": list(self.components),
        }


class PluginSystem:
    """A plugin manager plus the component registry built from its registration hooks.

    Use :func:`get_plugin_system` for the process-wide instance; tests build isolated ones
    (see :func:`methodlab.testing.isolated_plugin_system`).
    """

    def __init__(
        self,
        *,
        autoload: bool | None = None,
        strict: bool | None = None,
        allow: Iterable[str] | None = None,
        block: Iterable[str] | None = None,
        plugins: Sequence[tuple[str, object]] = (),
    ) -> None:
        self.strict = strict_mode() if strict is None else strict
        self.pm = pluggy.PluginManager("methodlab")
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.components: dict[str, dict[str, ComponentSpec]] = {kind: {} for kind in KINDS}
        self.providers: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
        self.qualified: dict[str, dict[str, ComponentSpec]] = {kind: {} for kind in KINDS}
        self.ambiguous: dict[str, dict[str, list[str]]] = {kind: {} for kind in KINDS}
        """Names more than one plugin provides: ``{kind: {name: [plugin, ...]}}``."""
        self.commands: dict[str, tuple[str, CommandSpec]] = {}
        """Plugin subcommands: ``{name: (plugin, spec)}``."""
        self.settings: dict[str, tuple[str, SettingsSpec]] = {}
        """``[integrations.<name>]`` tables: ``{name: (plugin, spec)}``."""
        for module_name in BUILTIN_PLUGINS:
            module = importlib.import_module(module_name)
            record = PluginRecord(module_name, "methodlab", __version__, builtin=True)
            self._register(record, module)
        for name, plugin in plugins:
            self._register(PluginRecord(name, name, "0"), plugin)
        if autoload is None:
            autoload = not _env_flag("METHODLAB_DISABLE_PLUGIN_AUTOLOAD")
        if autoload:
            allow_set = _env_list("METHODLAB_PLUGINS") if allow is None else set(allow)
            block_set = _env_list("METHODLAB_BLOCK_PLUGINS") if block is None else set(block)
            self._load_entry_points(allow_set, block_set or set())
        self._collect_components()

    # -- loading ------------------------------------------------------------------------------

    def _fail(self, record: PluginRecord, message: str, exc: BaseException | None = None) -> None:
        record.errors.append(message)
        if self.strict:
            raise PluginError(f"plugin {record.name!r} ({record.label}): {message}") from exc

    def _load_entry_points(self, allow: set[str] | None, block: set[str]) -> None:
        seen: dict[str, PluginRecord] = {}
        entry_points = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP),
                              key=lambda ep: (ep.name, ep.value))
        for ep in entry_points:
            dist = getattr(ep, "dist", None)
            record = PluginRecord(
                ep.name,
                dist.metadata["Name"] if dist is not None else "?",
                dist.version if dist is not None else "?",
            )
            if ep.name in seen:
                record.status = "failed"
                key = f"{ep.name}@{record.distribution}"
                self.records[key] = record
                self._fail(record, f"entry point {ep.name!r} is provided by both "
                                   f"{seen[ep.name].label} and {record.label}; remove one")
                continue
            seen[ep.name] = record
            self.records[ep.name] = record
            if ep.name in block:
                record.status = "blocked"
                continue
            if allow is not None and ep.name not in allow:
                record.status = "not-allowed"
                continue
            start = time.perf_counter()
            try:
                plugin = ep.load()
            # SystemExit too: a plugin calling sys.exit() at import must not end the host.
            except (Exception, SystemExit) as exc:
                record.import_seconds = time.perf_counter() - start
                record.status = "failed"
                self._fail(record, f"{type(exc).__name__}: {exc} (importing {ep.value})", exc)
                continue
            record.import_seconds = time.perf_counter() - start
            self._register(record, plugin)

    def _register(self, record: PluginRecord, plugin: object) -> None:
        self.records[record.name] = record
        problems = list(_validate_hookimpls(plugin))
        if problems:
            record.status = "failed"
            for problem in problems:
                self._fail(record, problem)
            return
        try:
            self.pm.register(plugin, name=record.name)
        except Exception as exc:
            record.status = "failed"
            self._fail(record, f"registration failed: {type(exc).__name__}: {exc}", exc)

    def _collect_components(self) -> None:
        for kind, hook_name in _HOOK_BY_KIND.items():
            for record, spec in self._descriptors(hook_name, KINDS[kind]):
                self._add_component(record, kind, spec)
        for record, spec in self._descriptors("methodlab_commands", CommandSpec):
            self._add_named(self.commands, record, spec, "command", _CORE_COMMANDS)
        for record, spec in self._descriptors("methodlab_settings", SettingsSpec):
            self._add_named(self.settings, record, spec, "settings table", ())

    def _descriptors(self, hook_name: str, spec_cls: type) -> Iterable[tuple[PluginRecord, Any]]:
        """``(record, descriptor)`` from every implementation of a registration hook."""
        # get_hookimpls() is in registration order (pluggy *calls* them in reverse), so the
        # built-ins come first and a clash is reported against the later plugin.
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            record = self.records[impl.plugin_name]
            try:
                result = impl.function()
                specs = list(result) if result is not None else []
            except (Exception, SystemExit) as exc:
                record.status = "partial"
                self._fail(record, f"{hook_name}() raised {type(exc).__name__}: {exc}", exc)
                continue
            for spec in specs:
                if not isinstance(spec, spec_cls):
                    record.status = "partial"
                    self._fail(record, f"{hook_name}() yielded {type(spec).__name__}, "
                                       f"expected {spec_cls.__name__}")
                    continue
                yield record, spec

    def _add_named(self, table: dict[str, tuple[str, Any]], record: PluginRecord, spec: Any,
                   what: str, reserved: Sequence[str]) -> None:
        if spec.name in reserved or spec.name in table:
            owner = ("methodlab" if spec.name in reserved
                     else self.records[table[spec.name][0]].label)
            record.status = "partial"
            self._fail(record, f"{what} {spec.name!r} is already provided by {owner}")
            return
        record.components.append(f"{what.split()[0]}:{spec.name}")
        table[spec.name] = (record.name, spec)

    def _add_component(self, record: PluginRecord, kind: str, spec: ComponentSpec) -> None:
        self.qualified[kind][f"{record.name}:{spec.name}"] = spec
        record.components.append(f"{kind}:{spec.name}")
        if spec.name in self.components[kind]:
            first = self.providers[kind][spec.name]
            other = self.records[first]
            # The bare name becomes ambiguous: registration order must not pick a component.
            self.ambiguous[kind].setdefault(spec.name, [first]).append(record.name)
            record.status = "partial"
            self._fail(record, f"{kind} {spec.name!r} is provided by both {other.label} and "
                               f"{record.label}; use '{first}:{spec.name}' or "
                               f"'{record.name}:{spec.name}'")
            return
        self.components[kind][spec.name] = spec
        self.providers[kind][spec.name] = record.name

    # -- lookup -------------------------------------------------------------------------------

    def get(self, kind: str, name: str) -> ComponentSpec:
        """Return the component ``name`` (or ``plugin:name``) of ``kind``.

        :raises KeyError: with a one-line message: a close-match suggestion, the available
            names, and the load error of a failed plugin that may have provided it; or, for a
            name several plugins provide, the providers and the qualified names to choose.
        """
        table = self.components[kind]
        if name in self.ambiguous[kind]:
            providers = self.ambiguous[kind][name]
            labels = " and ".join(self.records[p].label for p in providers)
            options = ", ".join(f"'{p}:{name}'" for p in providers)
            raise KeyError(f"{kind} {name!r} is provided by both {labels}; use one of "
                           f"{options}, or block one plugin (METHODLAB_BLOCK_PLUGINS)")
        if name in table:
            return table[name]
        if name in self.qualified[kind]:
            return self.qualified[kind][name]
        raise KeyError(self.unknown_message(kind, name))

    def unknown_message(self, kind: str, name: str) -> str:
        plugin_name = name.partition(":")[0] if ":" in name else name
        failed = self.records.get(plugin_name)
        if failed is not None and failed.status in {"failed", "blocked", "not-allowed"}:
            if failed.status == "failed":
                return (f"plugin {plugin_name!r} failed to load: {failed.errors[0]} "
                        f"(distribution {failed.label})")
            return f"plugin {plugin_name!r} is {failed.status} (see METHODLAB_PLUGINS / " \
                   f"METHODLAB_BLOCK_PLUGINS)"
        names = sorted(self.components[kind])
        message = f"unknown {kind} {name!r}"
        close = difflib.get_close_matches(name, names, n=1)
        if close:
            message += f" (did you mean {close[0]!r}?)"
        message += f"; available: {', '.join(names) or 'none'}"
        broken = [r.name for r in self.records.values() if r.status == "failed"]
        if broken:
            message += f"; plugins that failed to load: {', '.join(sorted(broken))}"
        return message

    def provider(self, kind: str, name: str) -> PluginRecord:
        """The record of the plugin that provides component ``name`` of ``kind``."""
        if ":" in name:
            return self.records[name.partition(":")[0]]
        return self.records[self.providers[kind][name]]

    def list_components(self, kind: str | None = None) -> list[tuple[str, ComponentSpec]]:
        """``(kind, spec)`` pairs sorted by kind then name."""
        kinds = [kind] if kind else list(KINDS)
        return [(k, self.components[k][n]) for k in kinds for n in sorted(self.components[k])]

    @property
    def hook(self) -> Any:
        """The pluggy hook relay, for the lifecycle hooks."""
        return self.pm.hook

    def report_failures(self, stream: TextIO) -> None:
        """Write one ``warning:`` line per plugin that had problems (nothing stays silent)."""
        for record in self.records.values():
            if record.errors:
                print(f"warning: plugin {record.name!r} ({record.label}) {record.status}: "
                      f"{'; '.join(record.errors)}", file=stream, flush=True)

    def versions(self) -> dict[str, str]:
        """``{distribution: version}`` of every loaded plugin, for provenance."""
        return {r.distribution: r.version for r in self.records.values()
                if r.status in {"loaded", "partial"}}


def _validate_hookimpls(plugin: object) -> Iterable[str]:
    """Check each ``methodlab_*`` hook implementation against its spec before registering.

    pluggy would raise at the first mismatch with a multi-line message; this names the hook,
    the offending arguments and those the hook accepts, for every mismatch.
    """
    for attr_name in dir(plugin):
        if not attr_name.startswith("methodlab_"):
            continue
        function = getattr(plugin, attr_name, None)
        if not callable(function) or not hasattr(function, "methodlab_impl"):
            continue
        spec = getattr(hookspecs, attr_name, None)
        if spec is None or not hasattr(spec, "methodlab_spec"):
            known = [n for n in dir(hookspecs) if n.startswith("methodlab_")]
            close = difflib.get_close_matches(attr_name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            yield f"unknown hook {attr_name!r}{hint}"
            continue
        accepted = list(inspect.signature(spec).parameters)
        wanted = [name for name, p in inspect.signature(function).parameters.items()
                  if p.default is inspect.Parameter.empty]
        unexpected = [name for name in wanted if name not in accepted]
        if unexpected:
            yield (f"hook {attr_name}: unexpected argument(s) {', '.join(map(repr, unexpected))}"
                   f"; the hook accepts ({', '.join(accepted)})")


_SYSTEM: PluginSystem | None = None


def get_plugin_system() -> PluginSystem:
    """The process-wide plugin system, built on first use."""
    global _SYSTEM
    if _SYSTEM is None:
        _SYSTEM = PluginSystem()
        _SYSTEM.report_failures(sys.stderr)
    return _SYSTEM


def reset_plugin_system() -> None:
    """Forget the process-wide plugin system (after installing plugins, in tests)."""
    global _SYSTEM
    _SYSTEM = None

