"""Earlier runs as inputs: run files that compose with results other run files produced.

A run file names the runs it builds on in ``[inputs.<name>]`` tables (a teacher to distil, a
trained network to analyse)::

    [inputs.teacher]
    run = "teacher-digits.toml"   # relative to this run file
    arm = "teacher"               # optional when that run has one arm
    seed = 0                      # optional; default: each trial's own seed

Before its trials start, a run looks for each input's results under the same output directory
(``<out>/<that run's name>/``), continues it when it was interrupted, and runs it when it is
missing. Component factories that declare a keyword-only parameter ``inputs`` then receive an
:class:`Inputs` mapping of :class:`EarlierRun` objects::

    def build_distillation_loss(params, *, env, inputs):
        teacher = inputs["teacher"].model()
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from methodlab.checkpoint import capture_rng, load_checkpoint, restore_rng
from methodlab.errors import UserError

if TYPE_CHECKING:
    from methodlab.plugin_manager import PluginSystem
    from methodlab.progress import Progress
    from methodlab.runfile import RunSpec

__all__ = ["EarlierRun", "Inputs", "accepts_inputs", "check_inputs", "inputs_for",
           "prepare_inputs"]


class EarlierRun:
    """One arm and seed of a finished run, as an input of another run's trial.

    Attributes: ``directory`` (the earlier run's directory), ``spec`` (its
    :class:`~methodlab.runfile.RunSpec`), ``arm``, ``seed`` and ``summary`` (its
    ``summary.json``).
    """

    def __init__(self, directory: Path, spec: RunSpec, arm: str, seed: int,
                 plugins: PluginSystem, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:
        self.directory, self.spec, self.arm, self.seed = directory, spec, arm, seed
        self.plugins, self.device, self.dtype = plugins, torch.device(device), dtype

    @functools.cached_property
    def summary(self) -> dict[str, Any]:
        return json.loads((self.directory / "summary.json").read_text())

    @property
    def checkpoint(self) -> Path:
        """The trial's final checkpoint."""
        return self.directory / "trials" / self.arm / f"seed-{self.seed}" / "checkpoint.pt"

    def model(self) -> nn.Module:
        """A fresh copy of the trained model, in eval mode, on the current trial's device and
        dtype, with gradients disabled (train a copy's parameters only after re-enabling them).

        The model is rebuilt from the earlier run's own run file, so a change to a plugin that
        alters the architecture fails here with the names of the mismatched tensors.
        """
        from methodlab.runner import Trial

        # Building a trial reseeds the global generators; the current trial must not notice.
        state = capture_rng()
        try:
            trial = Trial(self.spec.arm(self.arm), self.seed, self.plugins,
                          inputs=inputs_for(self.spec, self.directory.parent, self.seed,
                                            self.plugins))
        finally:
            restore_rng(state)
        weights = load_checkpoint(self.checkpoint, map_location="cpu")["model"]
        model = trial.model
        model.load_state_dict(weights)
        model.to(device=self.device, dtype=self.dtype).eval()
        model.requires_grad_(False)
        return model

    def __repr__(self) -> str:
        return f"EarlierRun({str(self.directory)!r}, arm={self.arm!r}, seed={self.seed})"


class Inputs(Mapping[str, EarlierRun]):
    """The inputs of one trial; a missing name says which table the run file lacks."""

    def __init__(self, runs: Mapping[str, EarlierRun]) -> None:
        self._runs = dict(runs)

    def __getitem__(self, name: str) -> EarlierRun:
        if name not in self._runs:
            have = ", ".join(self._runs) or "none"
            raise KeyError(f"this component needs an [inputs.{name}] table in the run file "
                           f"(naming the run that produced it); inputs given: {have}")
        return self._runs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._runs)

    def __len__(self) -> int:
        return len(self._runs)


@functools.cache
def accepts_inputs(factory: Callable[..., Any]) -> bool:
    """Whether a component factory declares the keyword-only parameter ``inputs``."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return "inputs" in parameters and parameters["inputs"].kind in (
        inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def inputs_for(spec: RunSpec, out: Path, seed: int, plugins: PluginSystem,
               device: torch.device | str = "cpu",
               dtype: torch.dtype = torch.float32) -> Inputs:
    """The inputs of ``spec``'s trial with ``seed``, from runs already under ``out``."""
    from methodlab.runfile import load_run_file

    runs = {}
    for key, entry in spec.inputs.items():
        earlier = load_run_file(entry.run, plugins=plugins)
        arm = entry.arm or earlier.arms[0].name
        runs[key] = EarlierRun(out / earlier.name, earlier, arm,
                               seed if entry.seed is None else entry.seed, plugins, device,
                               dtype)
    return Inputs(runs)


def check_inputs(spec: RunSpec, plugins: PluginSystem, out: Path | None = None,
                 _chain: tuple[str, ...] = ()) -> None:
    """Check every input of ``spec`` without training anything: its run file validates, and
    it has the arm and seeds this run needs; with ``out``, a run already stored under the
    input's name must be that same run.

    :raises RunFileError: for an input run file with mistakes.
    :raises UserError: for an unknown arm or seed, or a different run stored in ``out``.
    """
    from methodlab.api import comparable
    from methodlab.runfile import load_run_file
    from methodlab.runner import RESOLVED, load_resolved

    chain = _chain or (str(Path(spec.source).resolve()),)
    for key, entry in spec.inputs.items():
        where = f"{spec.source}: inputs.{key}"
        if entry.run in chain:
            raise UserError(f"{where}.run: {entry.run} needs itself as an input")
        earlier = load_run_file(entry.run, plugins=plugins)
        check_inputs(earlier, plugins, out, (*chain, entry.run))
        arms = [arm.name for arm in earlier.arms]
        if entry.arm and entry.arm not in arms:
            raise UserError(f"{where}.arm: {entry.run} has no arm {entry.arm!r}; arms: "
                            f"{', '.join(arms)}")
        if not entry.arm and len(arms) > 1:
            raise UserError(f"{where}: {entry.run} has arms {', '.join(arms)}; choose one "
                            "with arm = \"...\"")
        needed = set(spec.seeds) if entry.seed is None else {entry.seed}
        missing = sorted(needed - set(earlier.seeds))
        if missing:
            field = "seed" if entry.seed is not None else "run"
            raise UserError(f"{where}.{field}: {entry.run} trains seeds "
                            f"{list(earlier.seeds)}, this run needs {missing}; set seed = N "
                            "to use one of them for every trial")
        directory = None if out is None else out / earlier.name
        if directory is not None and (directory / RESOLVED).exists():
            if comparable(load_resolved(directory, plugins)) != comparable(earlier):
                raise UserError(f"{where}: {directory} holds a different run than "
                                f"{entry.run}; rerun that file with --force, or point "
                                "--out elsewhere")


def prepare_inputs(spec: RunSpec, out: Path, plugins: PluginSystem,
                   progress: Progress | None = None) -> None:
    """Make sure every input of ``spec`` has finished under ``out``: reuse, resume or run it.

    Every input of an input run is trained too, with all of its seeds (a teacher run is
    trained once and reused by every run that names it, whatever seeds those use).

    :raises UserError: as :func:`check_inputs`, before anything is trained.
    """
    from methodlab.runfile import load_run_file
    from methodlab.runner import RESOLVED, execute, load_resolved, prepare_directory

    check_inputs(spec, plugins, out)
    for key, entry in spec.inputs.items():
        earlier = load_run_file(entry.run, plugins=plugins)
        directory = out / earlier.name
        if (directory / RESOLVED).exists():
            if (directory / "summary.json").exists():
                if progress is not None:
                    progress.line(f"input {key!r}: reusing {directory}")
                continue
            if progress is not None:
                progress.line(f"input {key!r}: continuing {directory}")
            execute(load_resolved(directory, plugins), directory, resume=True, plugins=plugins,
                    progress=progress)
            continue
        if progress is not None:
            progress.line(f"input {key!r}: running {entry.run} into {directory} first")
        execute(earlier, prepare_directory(out, earlier.name, force=False), plugins=plugins,
                progress=progress)
