"""Run files: TOML documents that compose plugins into an experiment.

A run file names one component per kind (``use = "<name>"`` plus that component's
parameters), the seeds, the training settings, optional ``[arms.<name>]`` tables that
override parts of the base spec, and ``[[claims]]`` comparing the arms' final metrics::

    name = "quickstart"
    seeds = [0, 1, 2]

    [train]
    steps = 300

    [environment]
    use = "digits"
    task = "reconstruction"

    [model]
    use = "autoencoder"

    [loss]
    use = "bernoulli-cross-entropy"

    [optimizer]
    use = "sgd"
    lr = 0.1

    [evaluators.train]
    use = "loss"
    split = "train"

    [arms.adam.optimizer]
    use = "adam"

Loading is two-phase: the document is parsed and its fixed schema checked, then each
component table is structured by cattrs into the parameter class its plugin declares, with
extra keys forbidden. Every problem is collected and reported together, one line each, as
``FILE: PATH: MESSAGE``.
"""

from __future__ import annotations

import collections.abc
import copy
import difflib
import json
import re
import sys
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import cattrs
from attrs import validators as v
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)

from methodlab.errors import RunFileError
from methodlab.plugin_manager import PluginSystem, get_plugin_system

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "ArmSpec",
    "Claim",
    "ComponentRef",
    "InputSpec",
    "RunSpec",
    "TrainSettings",
    "apply_overrides",
    "family_members",
    "load_run_file",
    "read_toml",
]

COMPONENT_TABLES = ("environment", "model", "loss", "optimizer")
TOP_LEVEL_KEYS = (
    "name", "description", "seeds", "inputs", "train", *COMPONENT_TABLES, "evaluators", "arms",
    "claims", "integrations",
)
ARM_KEYS = ("train", *COMPONENT_TABLES, "evaluators")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ARM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@attrs.frozen
class TrainSettings:
    """The ``[train]`` table."""

    steps: int = attrs.field(default=100, validator=v.ge(0))
    """Number of optimizer updates per trial."""
    eval_every: int = attrs.field(default=0, validator=v.ge(0))
    """Run the evaluators every this many updates (0: only at the start and the end)."""
    checkpoint_every: int = attrs.field(default=0, validator=v.ge(0))
    """Write a checkpoint every this many updates (0: only at the end)."""
    log_every: int = attrs.field(default=0, validator=v.ge(0))
    """Log a progress line every this many updates when not on a terminal (0: every 5 s)."""
    device: str = attrs.field(default="cpu", validator=v.in_(("cpu", "cuda", "auto")))
    """``cpu``, ``cuda``, or ``auto`` (a GPU when one is present)."""
    dtype: str = attrs.field(default="float32", validator=v.in_(("float32", "float64")))
    """Floating-point type of the model parameters."""
    threads: int = attrs.field(default=0, validator=v.ge(0))
    """CPU threads torch may use (0: torch's default). Small models often train fastest with
    1, and a bitwise resume needs the same count as the interrupted run."""
    on_nonfinite: str = attrs.field(default="stop", validator=v.in_(("stop", "abort", "skip")))
    """On a non-finite loss: ``stop`` the trial (other trials go on), ``abort`` the run, or
    ``skip`` the update and go on, which needs an optimizer that refuses non-finite gradients
    (clipping optimizers do): the trial still stops if the parameters became non-finite. The
    number of skipped updates is the metric ``skipped_steps``."""


@attrs.frozen
class ComponentRef:
    """A resolved component table: which component, its structured parameters, its table."""

    kind: str
    use: str
    params: Any
    table: Mapping[str, Any]
    """The table as written (after arm merging and overrides), for the resolved run file."""
    every: int = 0
    """Evaluators only: run every this many updates (0: use ``train.eval_every``)."""


@attrs.frozen
class ArmSpec:
    """Everything one arm needs: components, evaluators and training settings."""

    name: str
    environment: ComponentRef
    model: ComponentRef
    loss: ComponentRef
    optimizer: ComponentRef
    evaluators: Mapping[str, ComponentRef]
    train: TrainSettings

    def flat_settings(self) -> dict[str, bool | int | float | str]:
        """The arm's resolved settings, defaults included, under dotted keys (for trackers).

        Each component gives ``<kind>.use`` and ``<kind>.<field>`` for every field of its
        parameter class, evaluators ``evaluators.<key>.use`` / ``.<field>``, and ``[train]``
        ``train.<field>``. Booleans, numbers and strings stay as they are; arrays and ``None``
        become JSON text (``model.hidden = "[8]"``).
        """
        flat: dict[str, bool | int | float | str] = {}
        references = [(kind, getattr(self, kind)) for kind in COMPONENT_TABLES]
        references += [(f"evaluators.{key}", ref) for key, ref in self.evaluators.items()]
        for prefix, ref in references:
            flat[f"{prefix}.use"] = ref.use
            if attrs.has(type(ref.params)):
                _flatten(attrs.asdict(ref.params), prefix, flat)
        _flatten(attrs.asdict(self.train), "train", flat)
        return flat


def _flatten(value: Any, key: str, out: dict[str, bool | int | float | str]) -> None:
    if isinstance(value, Mapping):
        for name, item in value.items():
            _flatten(item, f"{key}.{name}", out)
    elif isinstance(value, bool | int | float | str):
        out[key] = value
    else:
        out[key] = json.dumps(value, default=str)


@attrs.frozen
class InputSpec:
    """An ``[inputs.<name>]`` table: an earlier run whose trained models this run uses.

    Example (a distillation run that needs the teacher trained by another run file)::

        [inputs.teacher]
        run = "teacher-digits.toml"
        arm = "teacher"
    """

    run: str
    """The earlier run's run file, relative to this run file. Its results are looked up under
    the same output directory by its name, and produced first when they are missing."""
    arm: str = ""
    """The earlier run's arm to use; may be left out when that run has a single arm."""
    seed: int | None = None
    """The earlier run's seed to use; by default each trial uses the trial's own seed."""


_OPS = ("<", "<=", ">", ">=", "within")
_REDUCTIONS = ("mean", "median", "min", "max", "std", "var")


@attrs.frozen
class Claim:
    """One ``[[claims]]`` entry: a safe, declarative comparison over final metrics.

    ``left`` and ``right`` are ``"arm:metric"`` references (``"metric"`` alone when the run has
    a single arm). The verdict compares ``reduce(left)`` with ``reduce(right) * scale +
    offset`` (or with ``value``); ``op = "within"`` checks ``|left - right| <= tolerance``.
    With ``min_seeds > 0`` the comparison is made seed by seed and holds when at least that
    many seeds satisfy it.

    ``reduce`` is taken over seeds: ``mean``, ``median``, ``min``, ``max``, or the spread
    ``std`` / ``var`` (sample statistics, for claims about variability across runs). A metric
    ending in ``*`` matches every metric with that prefix; the side is then the mean over the
    matched metrics of each one's reduction. ``left_over`` / ``right_over`` divide a side by
    another reference's reduction (seed by seed with ``min_seeds``), for ratios such as
    ``var(early) / var(late)``.

    An arm written with one ``*`` (``"sobolev-*:test.mse"``) makes a claim over a family of
    arms: the references are paired by what the ``*`` matches (``sobolev-beale`` with
    ``plain-beale``; a side that names a single arm is paired with every member) and the claim
    is evaluated for each pair. It then holds when at least
    ``min_arms`` pairs satisfy it, or, with ``across`` = ``mean``/``median``/``min``/``max``,
    when that statistic of the pairs' left sides compares as stated with the same statistic of
    their right sides (``across = "all"``, the default, needs every pair).
    """

    left: str
    op: str = attrs.field(validator=v.in_(_OPS))
    right: str | None = None
    left_over: str | None = None
    right_over: str | None = None
    value: float | None = attrs.field(default=None)
    scale: float = 1.0
    offset: float = 0.0
    tolerance: float = attrs.field(default=0.0, validator=v.ge(0.0))
    reduce: str = attrs.field(default="mean", validator=v.in_(_REDUCTIONS))
    min_seeds: int = attrs.field(default=0, validator=v.ge(0))
    min_arms: int = attrs.field(default=0, validator=v.ge(0))
    across: str = attrs.field(default="all",
                              validator=v.in_(("all", "mean", "median", "min", "max")))
    name: str = ""
    """Short statement of the claim, e.g. the paper's sentence."""

    @value.validator
    def _one_right_side(self, _attribute: attrs.Attribute, value: float | None) -> None:
        if (self.right is None) == (value is None):
            raise ValueError("give exactly one of 'right' (an arm:metric) or 'value' (a number)")


@attrs.frozen
class RunSpec:
    """A validated run file."""

    name: str
    description: str
    seeds: tuple[int, ...]
    arms: tuple[ArmSpec, ...]
    claims: tuple[Claim, ...]
    document: Mapping[str, Any]
    """The document after overrides, which ``resolved.toml`` records."""
    source: str
    inputs: Mapping[str, InputSpec] = attrs.field(factory=dict)
    """Earlier runs this run uses, with ``run`` made absolute."""
    settings: Mapping[str, Any] = attrs.field(factory=dict)
    """``[integrations.<name>]`` tables, structured by the integrations' own classes (see
    :class:`~methodlab.types.SettingsSpec`); only the tables the run file has."""

    def arm(self, name: str) -> ArmSpec:
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise KeyError(name)


# -- strict structuring -------------------------------------------------------------------------


def _strict(expected: type) -> Any:
    def hook(value: Any, _type: Any) -> Any:
        ok = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            raise TypeError(
                f"expected {expected.__name__}, got {type(value).__name__} {value!r}"
            )
        return value

    return hook


def make_converter() -> cattrs.Converter:
    """The converter for run-file tables: extra keys forbidden, no silent type coercion."""
    converter = cattrs.Converter(forbid_extra_keys=True)
    for expected in (int, float, str, bool):
        converter.register_structure_hook(expected, _strict(expected))
    return converter


_CONVERTER = make_converter()


def _field_names(cls: type) -> list[str]:
    return [field.name for field in attrs.fields(cls)]


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


# An attrs validator message names its field first: "'lr' must be > 0.0: -1.0". Python's own
# "'int' object is not iterable" must not be read as a field called 'int'.
_ATTRS_MESSAGE = re.compile(r"^'(?P<name>\w+)' (?!object )(?P<rest>.*)$", re.S)

_ARRAY_TYPES = (list, tuple, collections.abc.Sequence, collections.abc.MutableSequence, set,
                frozenset, collections.abc.Set)
_TABLE_TYPES = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def _shape_errors(value: Any, type_: Any, path: str) -> list[str]:
    """Arrays where the schema wants arrays and tables where it wants tables.

    Checked before cattrs, which would otherwise iterate a scalar (or a string, character by
    character) and report a Python error instead of what the file should contain.
    """
    origin = typing.get_origin(type_) or type_
    if isinstance(origin, type) and attrs.has(origin):
        if not isinstance(value, Mapping):
            return [f"{path}: expected a table, got {type(value).__name__} {value!r}"]
        try:
            fields = attrs.fields(attrs.resolve_types(origin))
        except (NameError, TypeError):  # unresolvable annotations: leave it to cattrs
            return []
        return [line for field in fields if field.name in value
                for line in _shape_errors(value[field.name], field.type,
                                          _join(path, field.name))]
    if origin in _ARRAY_TYPES:
        if not isinstance(value, list):
            return [f"{path}: expected an array, got {type(value).__name__} {value!r}"]
        args = typing.get_args(type_)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                return [f"{path}: expected an array of {len(args)} items, got {len(value)}"]
            item_types = list(args)
        else:
            item_types = [args[0] if args else Any] * len(value)
        return [line for index, (item, item_type) in enumerate(zip(value, item_types,
                                                                   strict=True))
                for line in _shape_errors(item, item_type, _join(path, index))]
    if origin in _TABLE_TYPES:
        if not isinstance(value, Mapping):
            return [f"{path}: expected a table, got {type(value).__name__} {value!r}"]
        args = typing.get_args(type_)
        value_type = args[1] if len(args) == 2 else Any
        return [line for key, item in value.items()
                for line in _shape_errors(item, value_type, _join(path, str(key)))]
    return []


def structure_errors(exc: BaseException, path: str) -> list[str]:
    """Flatten a cattrs error tree into ``path: message`` lines."""
    if isinstance(exc, ForbiddenExtraKeysError):
        known = _field_names(exc.cl)
        lines = []
        for key in sorted(exc.extra_fields):
            close = difflib.get_close_matches(key, known, n=1)
            hint = (f" (did you mean {close[0]!r}?)" if close
                    else f"; known keys: {', '.join(known)}")
            lines.append(f"{_join(path, key)}: unknown key{hint}")
        return lines
    if isinstance(exc, ClassValidationError | IterableValidationError):
        lines = []
        for sub in exc.exceptions:
            sub_path = path
            # Plain-string notes also have an ``index`` attribute (str.index): match the types.
            for note in getattr(sub, "__notes__", []):
                if isinstance(note, AttributeValidationNote):
                    sub_path = _join(path, note.name)
                elif isinstance(note, IterableValidationNote):
                    sub_path = _join(path, note.index)
            lines.extend(structure_errors(sub, sub_path))
        return lines
    if isinstance(exc, KeyError):
        return [f"{path}: required key missing"]
    # attrs validators raise ValueError(message, attribute, options, value): str() of that is
    # the whole tuple, so take the message itself.
    message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    match = _ATTRS_MESSAGE.match(message)
    if match:
        return [f"{_join(path, match['name'])}: {match['rest']}"]
    return [f"{path}: {message}"]


def structure(table: Mapping[str, Any], cls: type, path: str) -> tuple[Any, list[str]]:
    """Structure ``table`` into ``cls``; return the instance (or None) and error lines."""
    shape = _shape_errors(table, cls, path)
    try:
        result = _CONVERTER.structure(dict(table), cls)
    except Exception as exc:  # cattrs raises ExceptionGroups and plain errors alike
        lines = structure_errors(exc, path)
    else:
        return (None, shape) if shape else (result, [])
    # Where the shape is wrong, cattrs' own account of the same value is noise.
    bad = [line.partition(": ")[0] for line in shape]
    lines = [line for line in lines
             if not any(line.startswith((f"{p}:", f"{p}.", f"{p}[")) for p in bad)]
    return None, shape + lines


# -- reading ------------------------------------------------------------------------------------

_TOML_POSITION = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file; syntax errors become ``FILE:LINE:COL: message``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFileError([f"{path}: no such file"]) from None
    except OSError as exc:
        raise RunFileError([f"{path}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError as exc:
        raise RunFileError([f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.match(str(exc))
        if match:
            raise RunFileError(
                [f"{path}:{match['line']}:{match['col']}: {match['msg']}"]
            ) from None
        raise RunFileError([f"{path}: {exc}"]) from None


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(document: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides (values parsed as TOML, else taken as strings).

    Example:
        >>> apply_overrides({"optimizer": {"lr": 0.1}}, ["optimizer.lr=0.5", "seeds=[1, 2]"])
        {'optimizer': {'lr': 0.5}, 'seeds': [1, 2]}
    """
    document = copy.deepcopy(document)
    problems = []
    for override in overrides:
        key, sep, raw = override.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            problems.append(f"override {override!r}: expected key.path=value")
            continue
        table = document
        for part in parts[:-1]:
            child = table.setdefault(part, {})
            if not isinstance(child, dict):
                problems.append(f"override {override!r}: {part!r} is not a table")
                break
            table = child
        else:
            table[parts[-1]] = _parse_value(raw.strip())
    if problems:
        raise RunFileError(problems)
    return document


# -- validation ---------------------------------------------------------------------------------


def _merge(base: Any, override: Any) -> Any:
    # A side that is not a table is kept as written so the validator reports it by its path.
    if not isinstance(override, Mapping):
        return copy.deepcopy(override)
    if not isinstance(base, Mapping):
        return dict(override)
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _merge_component(base: Any, override: Any) -> Any:
    # A different component replaces the base table: the base's parameters belong to another
    # component's schema.
    if (isinstance(override, Mapping) and isinstance(base, Mapping)
            and "use" in override and override["use"] != base.get("use")):
        return dict(override)
    return _merge(base, override)


class _Validator:
    def __init__(self, source: str, plugins: PluginSystem) -> None:
        self.source = source
        self.plugins = plugins
        self.problems: list[str] = []
        self._base_lines: set[str] = set()

    def structure_error(self, line: str) -> None:
        # An arm inherits the base table's mistakes; report each mistake once, where written.
        relative = re.sub(r"^arms\.[^.]+\.", "", line)
        if relative != line and relative in self._base_lines:
            return
        self._base_lines.add(line)
        self.error("", line)

    def error(self, path: str, message: str) -> None:
        line = f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}"
        if line not in self.problems:
            self.problems.append(line)

    def component(self, kind: str, table: Any, path: str) -> ComponentRef | None:
        if not isinstance(table, Mapping):
            self.error(path, f"expected a table, got {type(table).__name__}")
            return None
        table = dict(table)
        use = table.pop("use", None)
        every = table.pop("every", 0) if kind == "evaluator" else 0
        if use is None:
            self.error(_join(path, "use"), f"required key missing (the {kind} to use)")
            return None
        if not isinstance(use, str):
            self.error(_join(path, "use"), f"expected str, got {type(use).__name__} {use!r}")
            return None
        if not isinstance(every, int) or isinstance(every, bool) or every < 0:
            self.error(_join(path, "every"), f"expected a non-negative int, got {every!r}")
            every = 0
        try:
            spec = self.plugins.get(kind, use)
        except KeyError as exc:
            self.structure_error(f"{_join(path, 'use')}: {exc.args[0]}")
            return None
        params, errors = structure(table, spec.params_cls, path)
        for line in errors:
            self.structure_error(line)
        if params is None:
            return None
        written = {"use": use, **({"every": every} if every else {}), **table}
        return ComponentRef(kind, use, params, written, every)

    def train(self, table: Any, path: str) -> TrainSettings | None:
        if not isinstance(table, Mapping):
            self.error(path, f"expected a table, got {type(table).__name__}")
            return None
        settings, errors = structure(table, TrainSettings, path)
        for line in errors:
            self.structure_error(line)
        return settings


def _check_keys(validator: _Validator, table: Mapping[str, Any], allowed: Sequence[str],
                path: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = (f" (did you mean {close[0]!r}?)" if close
                    else f"; known keys: {', '.join(allowed)}")
            validator.error(_join(path, key), f"unknown key{hint}")


def validate_document(
    document: Mapping[str, Any], source: str, plugins: PluginSystem | None = None,
    default_name: str = "run",
) -> RunSpec:
    """Check a parsed run file and resolve its components.

    :raises RunFileError: with every problem found, one line each.
    """
    check = _Validator(source, plugins or get_plugin_system())
    _check_keys(check, document, TOP_LEVEL_KEYS, "")

    name = document.get("name", default_name)
    if not isinstance(name, str) or not _SAFE_NAME.match(name) or ".." in name:
        check.error("name", f"expected a plain directory name (letters, digits, '-', '_', "
                            f"'.'; no '/' or '..'), got {name!r}")
    description = document.get("description", "")
    if not isinstance(description, str):
        check.error("description", f"expected str, got {type(description).__name__}")
    seeds = document.get("seeds", [0])
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)):
        check.error("seeds", f"expected a non-empty list of ints, got {seeds!r}")
        seeds = [0]
    elif not all(0 <= s < 2**32 for s in seeds):
        # torch and numpy keep 32 bits of a seed (and Python's random its absolute value), so
        # seeds outside this range silently repeat other seeds' trials.
        check.error("seeds", f"seeds must be between 0 and {2**32 - 1}, got {seeds!r}")
    elif len(set(seeds)) != len(seeds):
        check.error("seeds", f"seeds must be distinct, got {seeds!r}")

    base: dict[str, Any] = {key: document[key] for key in ARM_KEYS if key in document}
    evaluators = base.get("evaluators", {})
    if not isinstance(evaluators, Mapping):
        check.error("evaluators", "expected a table of evaluator tables")
        base["evaluators"] = {}

    # Validate the base tables once, under their own paths.
    base_refs: dict[str, Any] = {}
    for kind in COMPONENT_TABLES:
        if kind in base:
            base_refs[kind] = check.component(kind, base[kind], kind)
    base_refs["train"] = check.train(base.get("train", {}), "train")
    for key, table in base.get("evaluators", {}).items():
        base_refs[f"evaluators.{key}"] = check.component("evaluator", table, f"evaluators.{key}")

    arms_table = document.get("arms", {})
    if not isinstance(arms_table, Mapping):
        check.error("arms", "expected a table of arm tables")
        arms_table = {}
    arm_items = list(arms_table.items()) or [("main", {})]
    arms = []
    for arm_name, overrides in arm_items:
        path = f"arms.{arm_name}" if arms_table else ""
        if not _ARM_NAME.match(arm_name):
            check.error(path, "arm names use letters, digits, '-' and '_'")
            continue
        if not isinstance(overrides, Mapping):
            check.error(path, "expected a table")
            continue
        _check_keys(check, overrides, ARM_KEYS, path)
        refs: dict[str, Any] = {}
        for kind in COMPONENT_TABLES:
            if kind in overrides:
                table = _merge_component(base.get(kind), overrides[kind])
                refs[kind] = check.component(kind, table, _join(path, kind))
            elif kind in base:
                refs[kind] = base_refs[kind]
            else:
                check.error(_join(path, kind) if path else kind,
                            f"missing [{kind}] table (a component with use = \"...\")")
                refs[kind] = None
        if "train" in overrides:
            refs["train"] = check.train(_merge(base.get("train", {}), overrides["train"]),
                                        _join(path, "train"))
        else:
            refs["train"] = base_refs["train"]
        evaluator_refs = {}
        arm_evaluators = overrides.get("evaluators", {})
        if not isinstance(arm_evaluators, Mapping):
            check.error(_join(path, "evaluators"), "expected a table of evaluator tables")
            arm_evaluators = {}
        for key in sorted({*base.get("evaluators", {}), *arm_evaluators}):
            if key in arm_evaluators:
                table = _merge_component(base.get("evaluators", {}).get(key), arm_evaluators[key])
                evaluator_refs[key] = check.component("evaluator", table,
                                                      _join(path, f"evaluators.{key}"))
            else:
                evaluator_refs[key] = base_refs[f"evaluators.{key}"]
        if all(refs.values()) and all(evaluator_refs.values()):
            arms.append(ArmSpec(arm_name, refs["environment"], refs["model"], refs["loss"],
                                refs["optimizer"], evaluator_refs, refs["train"]))

    claims = []
    claim_tables = document.get("claims", [])
    if not isinstance(claim_tables, list):
        check.error("claims", "expected an array of tables ([[claims]])")
        claim_tables = []
    arm_names = [name for name, _ in arm_items]
    for index, table in enumerate(claim_tables):
        path = f"claims[{index}]"
        if isinstance(table, Mapping):
            _check_family(check, table, arm_names, path)
        path = f"claims[{index}]"
        if not isinstance(table, Mapping):
            check.error(path, "expected a table")
            continue
        claim, errors = structure(table, Claim, path)
        for line in errors:
            check.error("", line)
        if claim is None:
            continue
        for side in ("left", "right", "left_over", "right_over"):
            reference = getattr(claim, side)
            if reference is None:
                continue
            arm_name, metric = split_reference(reference, arm_names)
            if "*" in arm_name:
                if not family_members(arm_name, arm_names):
                    check.error(_join(path, side), f"no arm matches {arm_name!r}; arms: "
                                                   f"{', '.join(arm_names)}")
            elif arm_name not in arm_names:
                close = difflib.get_close_matches(arm_name, arm_names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                check.error(_join(path, side), f"unknown arm {arm_name!r}{hint}; arms: "
                                               f"{', '.join(arm_names)}")
            elif not metric:
                check.error(_join(path, side), "expected 'arm:metric'")
            problem = _metric_problem(metric, arm_name, arms)
            if problem:
                check.error(_join(path, side), problem)
        if claim.min_seeds > len(seeds):
            check.error(_join(path, "min_seeds"),
                        f"{claim.min_seeds} exceeds the number of seeds ({len(seeds)})")
        claims.append(claim)

    inputs = _inputs(check, document, source)
    settings = _settings(check, document)
    if check.problems:
        raise RunFileError(check.problems)
    document = dict(document)
    if inputs:
        # resolved.toml lives elsewhere: record where the earlier run files really are.
        document["inputs"] = {key: {k: v for k, v in attrs.asdict(spec).items()
                                    if v not in ("", None)}
                              for key, spec in inputs.items()}
    return RunSpec(name, description, tuple(seeds), tuple(arms), tuple(claims),
                   document, source, inputs, settings)


def _settings(check: _Validator, document: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[integrations.<name>]`` tables, each structured by its integration's class."""
    tables = document.get("integrations", {})
    if not isinstance(tables, Mapping):
        check.error("integrations", "expected a table of [integrations.<name>] tables")
        return {}
    known = check.plugins.settings
    settings = {}
    for key, table in tables.items():
        path = f"integrations.{key}"
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            check.error(path, f"unknown integration {key!r}{hint}; installed: "
                              f"{', '.join(sorted(known)) or 'none'}")
            continue
        if not isinstance(table, Mapping):
            check.error(path, f"expected a table, got {type(table).__name__}")
            continue
        value, errors = structure(table, known[key][1].params_cls, path)
        for line in errors:
            check.error("", line)
        if value is not None:
            settings[key] = value
    return settings


def _inputs(check: _Validator, document: Mapping[str, Any], source: str
            ) -> dict[str, InputSpec]:
    """The ``[inputs.<name>]`` tables, with each ``run`` resolved against the run file."""
    tables = document.get("inputs", {})
    if not isinstance(tables, Mapping):
        check.error("inputs", "expected a table of [inputs.<name>] tables")
        return {}
    inputs = {}
    for key, table in tables.items():
        path = f"inputs.{key}"
        if not isinstance(table, Mapping):
            check.error(path, "expected a table with run = \"<run file>\"")
            continue
        spec, errors = structure(table, InputSpec, path)
        for line in errors:
            check.error("", line)
        if spec is None:
            continue
        run = Path(spec.run).expanduser()
        if not run.is_absolute():
            run = Path(source).resolve().parent / run
        if not run.is_file():
            check.error(_join(path, "run"), f"no such run file: {run}")
            continue
        inputs[key] = attrs.evolve(spec, run=str(run))
    return inputs


def family_members(pattern: str, arm_names: Sequence[str]) -> dict[str, str]:
    """The arms an ``arm-*`` pattern matches, keyed by what the ``*`` stands for.

    Example:
        >>> family_members("sobolev-*", ["plain-beale", "sobolev-beale", "sobolev-booth"])
        {'beale': 'sobolev-beale', 'booth': 'sobolev-booth'}
    """
    head, _, tail = pattern.partition("*")
    matcher = re.compile(re.escape(head) + "(.+)" + re.escape(tail))
    return {match.group(1): name for name in arm_names if (match := matcher.fullmatch(name))}


def _check_family(check: _Validator, table: Mapping[str, Any], arm_names: Sequence[str],
                  path: str) -> None:
    """A claim over arm families: one ``*`` per arm, the same members on every family side
    (a side naming one arm is compared with every member)."""
    patterns = {side: split_reference(table[side], arm_names)[0]
                for side in ("left", "right", "left_over", "right_over")
                if isinstance(table.get(side), str)}
    families = {side: arm for side, arm in patterns.items() if "*" in arm}
    for side, arm in families.items():
        if arm.count("*") > 1:
            check.error(_join(path, side), f"an arm family has one '*', got {arm!r}")
    if not families:
        for key in ("min_arms", "across"):
            if key in table:
                check.error(_join(path, key), "applies only to claims over arm families "
                                              "(an arm written with '*')")
        return
    keys = {side: set(family_members(arm, arm_names)) for side, arm in families.items()}
    first_side, first = next(iter(keys.items()))
    for side, members in keys.items():
        if members and first and members != first:
            check.error(_join(path, side), f"{families[side]!r} matches "
                        f"{sorted(members)}, but {families[first_side]!r} matches "
                        f"{sorted(first)}")
    if table.get("across", "all") != "all" and (table.get("min_seeds") or table.get("min_arms")):
        check.error(_join(path, "across"), "a statistic across arm pairs compares numbers; "
                                           "it cannot be combined with min_seeds or min_arms")
    if isinstance(table.get("min_arms"), int) and table["min_arms"] > len(first):
        check.error(_join(path, "min_arms"),
                    f"{table['min_arms']} exceeds the number of arm pairs ({len(first)})")


RUNNER_METRICS = ("step.loss", "steps", "diverged", "diverged_step", "skipped_steps")
"""Metrics every trial reports besides its evaluators' ``<key>.<name>``."""


def _metric_problem(metric: str, arm_name: str, arms: Sequence[ArmSpec]) -> str | None:
    """Why ``metric`` cannot be a metric of the arm(s) ``arm_name`` names, or ``None``.

    Evaluator metric names are known only once an evaluator runs, but the evaluator key before
    the first dot is known now: a misspelt key is caught before anything trains.
    """
    base = metric.partition("@")[0]
    if not base or base.endswith("*") or base in RUNNER_METRICS:
        return None
    members = [arm for arm in arms if arm.name == arm_name or (
        "*" in arm_name and arm.name in family_members(arm_name, [a.name for a in arms]))]
    keys = sorted({key for arm in members for key in arm.evaluators})
    if not members or base.partition(".")[0] in keys:
        return None
    close = (difflib.get_close_matches(base, RUNNER_METRICS, n=1, cutoff=0.8)
             or difflib.get_close_matches(base.partition(".")[0], keys, n=1))
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (f"unknown metric {metric!r}{hint}: metrics are '<evaluator>.<name>' with "
            f"evaluators {', '.join(keys) or 'none'}, or {', '.join(RUNNER_METRICS)}")


def split_reference(reference: str, arm_names: Sequence[str]) -> tuple[str, str]:
    """Split ``"arm:metric"``; a bare metric refers to the only arm of a single-arm run."""
    if ":" in reference:
        arm_name, _, metric = reference.partition(":")
        return arm_name, metric
    return (arm_names[0] if len(arm_names) == 1 else ""), reference


def load_run_file(
    path: str | Path, overrides: Sequence[str] = (), plugins: PluginSystem | None = None
) -> RunSpec:
    """Read, override and validate a run file.

    :raises RunFileError: listing every problem, one line each, as ``FILE: PATH: MESSAGE``.
    """
    document = apply_overrides(read_toml(path), overrides)
    return validate_document(document, str(path), plugins, default_name=Path(path).stem)
