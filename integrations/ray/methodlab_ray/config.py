"""The sweep's options and its grid (imports attrs and the core's override parser only).

A grid axis is written ``--grid key.path=v1,v2,...``: the key is a run-file override path
(``arms.sgd.optimizer.lr``), the values are TOML (``0.05``, ``"tanh"``, ``[32, 16]``) or bare
strings, split at the commas that are outside brackets and quotes. The grid is the Cartesian
product of its axes; each point runs once per seed ``0 .. seeds-1``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Any

import attrs
from attrs import validators as v
from methodlab.errors import RunFileError, UserError
from methodlab.runfile import apply_overrides

__all__ = ["BACKENDS", "RESERVED_KEYS", "GridAxis", "Point", "SweepOptions", "parse_axis",
           "points", "split_values"]

BACKENDS = ("local", "ray")
RESERVED_KEYS = frozenset({"seeds", "name"})
"""Keys the sweep sets itself: each trial runs one seed under its own name."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def split_values(text: str) -> list[str]:
    """Split ``text`` at commas outside brackets, braces and quotes.

    Example:
        >>> split_values('0.1,[32, 16],"a,b"')
        ['0.1', '[32, 16]', '"a,b"']
    """
    values, depth, quote, start = [], 0, "", 0
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            values.append(text[start:index].strip())
            start = index + 1
    values.append(text[start:].strip())
    return values


def _parsed(key: str, raw: str) -> Any:
    """The value the core's override parser gives ``raw`` (TOML, else the string itself)."""
    table: Any = apply_overrides({}, [f"{key}={raw}"])
    for part in key.split("."):
        table = table[part]
    return table


@attrs.frozen
class GridAxis:
    """One ``--grid`` option: an override path and the values it takes, as written."""

    key: str
    raw: tuple[str, ...]

    @property
    def values(self) -> list[Any]:
        """The values as the run file receives them (``"0.05"`` → ``0.05``)."""
        return [_parsed(self.key, raw) for raw in self.raw]


def parse_axis(text: str) -> GridAxis:
    """``"key.path=v1,v2"`` → :class:`GridAxis`; one-line :class:`UserError` when malformed.

    Example:
        >>> parse_axis("arms.sgd.optimizer.lr=0.05,0.1")
        GridAxis(key='arms.sgd.optimizer.lr', raw=('0.05', '0.1'))
    """
    key, sep, rest = text.partition("=")
    key = key.strip()
    if not sep or not key or not all(key.split(".")):
        raise UserError(f"--grid {text!r}: expected key.path=v1,v2,...")
    if key.split(".")[0] in RESERVED_KEYS:
        raise UserError(f"--grid {text!r}: the sweep sets {key.split('.')[0]!r} itself "
                        "(use --seeds N for seeds)")
    raw = tuple(split_values(rest))
    if not all(raw):
        raise UserError(f"--grid {text!r}: empty value (expected key.path=v1,v2,...)")
    if len(set(raw)) != len(raw):
        raise UserError(f"--grid {text!r}: a value is listed twice")
    try:
        GridAxis(key, raw).values  # noqa: B018 - parses each value, as a trial will
    except RunFileError as exc:
        raise UserError(f"--grid {text!r}: {exc.problems[0]}") from None
    return GridAxis(key, raw)


@attrs.frozen
class Point:
    """A point of the grid: one value per axis, with a label that names its directories."""

    assignments: tuple[tuple[str, str], ...]
    """``(key, raw value)`` per axis, in ``--grid`` order."""

    @property
    def label(self) -> str:
        """``key-value`` per axis joined by ``_``; characters a run name cannot hold (run
        names are plain directory names) are replaced by ``-``.

        Example:
            >>> Point((("arms.sgd.optimizer.lr", "0.1"), ("model.sizes", "[8, 4]"))).label
            'arms.sgd.optimizer.lr-0.1_model.sizes--8-4-'
        """
        if not self.assignments:
            return "base"
        return "_".join(_UNSAFE.sub("-", f"{key}-{raw}") for key, raw in self.assignments)

    @property
    def overrides(self) -> list[str]:
        return [f"{key}={raw}" for key, raw in self.assignments]

    def trial_name(self, seed: int) -> str:
        """The trial's run name and directory: ``<label>-seed-<seed>``."""
        return f"{self.label}-seed-{seed}"


def points(grid: Sequence[GridAxis]) -> list[Point]:
    """The Cartesian product of the axes, the last axis varying fastest.

    :raises UserError: when two points would share a directory (their labels collide).
    """
    result = [Point(tuple(zip([a.key for a in grid], combo, strict=True)))
              for combo in itertools.product(*(axis.raw for axis in grid))]
    labels: dict[str, Point] = {}
    for point in result:
        other = labels.setdefault(point.label, point)
        if other is not point:
            raise UserError(f"--grid: points {other.overrides} and {point.overrides} would share "
                            f"the directory {point.label!r}; write the values differently")
    return result


def _positive(_instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not value > 0:
        raise ValueError(f"--{attribute.name.replace('_', '-')} must be > 0, got {value}")


def _non_negative(_instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not value >= 0:
        raise ValueError(f"--{attribute.name.replace('_', '-')} must be >= 0, got {value}")


def _unique_keys(_instance: object, _attribute: attrs.Attribute,
                 value: tuple[GridAxis, ...]) -> None:
    keys = [axis.key for axis in value]
    for key in keys:
        if keys.count(key) > 1:
            raise ValueError(f"--grid: key {key!r} is given twice; list all its values in one "
                             "--grid")


@attrs.frozen
class SweepOptions:
    """Everything ``methodlab sweep`` was asked to do, checked.

    Example:
        >>> SweepOptions("run.toml", seeds=0)
        Traceback (most recent call last):
        ...
        ValueError: --seeds must be > 0, got 0
    """

    file: str
    """The run file."""
    grid: tuple[GridAxis, ...] = attrs.field(default=(), validator=_unique_keys)
    """The axes; none runs the run file as it is, once per seed."""
    seeds: int = attrs.field(default=1, validator=_positive)
    """Seeds ``0 .. seeds-1`` per point (they replace the run file's ``seeds``)."""
    backend: str = attrs.field(default="local", validator=v.in_(BACKENDS))
    address: str | None = None
    """An existing Ray cluster (``ray://host:10001``, ``auto``); only with the ray backend."""
    out: str = "methodlab-sweeps"
    """The sweep directory is ``<out>/<run name>``."""
    cpus_per_trial: float = attrs.field(default=1.0, validator=_positive)
    gpus_per_trial: float = attrs.field(default=0.0, validator=_non_negative)
    workers: int | None = attrs.field(default=None, validator=v.optional(_positive))
    """Trials at once; default: the CPUs (local pool or a Ray instance this sweep starts) over
    ``cpus_per_trial``, or, on an existing cluster, as many as its resources admit."""

    def __attrs_post_init__(self) -> None:
        if self.address is not None and self.backend != "ray":
            raise ValueError("--address needs --backend ray")
        if self.backend == "local" and self.gpus_per_trial not in (0, int(self.gpus_per_trial)):
            raise ValueError(f"--gpus-per-trial must be a whole number on the local backend "
                             f"(fractions need --backend ray), got {self.gpus_per_trial}")
