"""The generic training loop: every arm × seed of a run file, with checkpoints and resume.

For each update the environment yields a batch (given the model, so interactive
environments can act with it), the loss maps model and batch to a scalar and the optimizer
steps (:func:`methodlab.step.optimizer_step`). Evaluators run on a schedule. Each trial
(one arm, one seed) writes ``trials/<arm>/seed-<seed>/{checkpoint.pt,metrics.jsonl}``; the run
writes ``resolved.toml``, ``metrics.jsonl``, ``summary.json`` and ``curves.png``.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import tomli_w
import torch
from torch import nn

from methodlab import __version__
from methodlab.checkpoint import capture_rng, load_checkpoint, restore_rng, save_checkpoint
from methodlab.claims import evaluate_claim
from methodlab.components import Environment, Evaluator, Loss
from methodlab.distributed import WeightedLoss, World, check_optimizer, shard, wrap
from methodlab.errors import UserError
from methodlab.inputs import Inputs, accepts_inputs, inputs_for, prepare_inputs
from methodlab.plugin_manager import PluginSystem, get_plugin_system
from methodlab.progress import Progress
from methodlab.runfile import ArmSpec, ComponentRef, RunSpec, validate_document
from methodlab.step import optimizer_step
from methodlab.summary import aggregate, json_safe

__all__ = ["Run", "Trial", "TrialResult", "execute", "prepare_directory"]

CHECKPOINT = "checkpoint.pt"
RESOLVED = "resolved.toml"
INTEGRATIONS_VARIABLE = "METHODLAB_INTEGRATIONS"
"""Integrations to switch on with their default settings in runs without their table."""


class NonFiniteLoss(Exception):
    """The loss, or a parameter about to be checkpointed, became NaN or infinite."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("train.device = 'cuda' but no GPU is available; use 'auto' or 'cpu'")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@attrs.define
class TrialResult:
    """What one trial ended with."""

    arm: str
    seed: int
    status: str
    """``finished``, ``diverged`` or ``failed``."""
    steps: int
    final: dict[str, float]
    seconds: float
    error: str | None = None


class Trial:
    """One arm trained with one seed.

    Attributes available to lifecycle hooks: ``arm`` (name), ``seed``, ``spec``
    (:class:`~methodlab.runfile.ArmSpec`), ``env``, ``model``, ``loss``, ``optimizer``,
    ``step`` (updates done), ``directory``, ``inputs`` (earlier runs, see
    :mod:`methodlab.inputs`) and ``world`` (the ranks of a ``torchrun`` launch, see
    :mod:`methodlab.distributed`).
    """

    def __init__(
        self,
        spec: ArmSpec,
        seed: int,
        plugins: PluginSystem | None = None,
        directory: Path | None = None,
        inputs: Inputs | None = None,
        world: World | None = None,
    ) -> None:
        self.spec = spec
        self.world = world or World()
        self.arm = spec.name
        self.seed = seed
        self.plugins = plugins or get_plugin_system()
        self.directory = directory
        self.inputs = inputs if inputs is not None else Inputs({})
        self.device = self.world.device(resolve_device(spec.train.device))
        self.dtype = getattr(torch, spec.train.dtype)
        self.step = 0
        self.skipped = 0
        self.history: list[dict[str, float]] = []
        self.initial: dict[str, float] = {}
        self.latest: dict[str, float] = {}
        self._build()

    def _factory(self, ref: ComponentRef) -> Any:
        return self.plugins.get(ref.kind, ref.use).load_factory()

    def _construct(self, ref: ComponentRef, **context: Any) -> Any:
        # Factories reject settings they cannot honour (an autoencoder whose sizes do not
        # match the data) with plain exceptions: report them as one line naming the component.
        factory = self._factory(ref)
        if accepts_inputs(factory):
            context["inputs"] = self.inputs
        try:
            return factory(ref.params, **context)
        except Exception as exc:
            raise UserError(f"arm {self.arm!r}: cannot build {ref.kind} {ref.use!r}: "
                            f"{type(exc).__name__}: {exc}") from exc

    def _build(self) -> None:
        if self.spec.train.threads:
            torch.set_num_threads(self.spec.train.threads)
        seed_everything(self.seed)
        env = self._construct(self.spec.environment, seed=self.seed, device=str(self.device),
                              dtype=self.dtype)
        # Reseed so the initial weights depend on the seed only, not on what the environment
        # drew: every arm starts from the same weights for a given seed.
        seed_everything(self.seed)
        model = self._construct(self.spec.model, env=env)
        if not isinstance(model, nn.Module):
            raise UserError(f"model {self.spec.model.use!r} factory returned "
                            f"{type(model).__name__}, expected torch.nn.Module")
        self.env: Environment = env
        self.model: nn.Module = model.to(device=self.device, dtype=self.dtype)
        self.loss: Loss = self._construct(self.spec.loss, env=env)
        self.optimizer: torch.optim.Optimizer = self._construct(self.spec.optimizer,
                                                                model=self.model)
        check_optimizer(self.optimizer, self.spec.optimizer.use, self.world)
        # What the loss sees: the model, or its DDP wrapper (gradients averaged over ranks).
        # Evaluators, checkpoints and hooks always get the model itself.
        self.trained: nn.Module = wrap(self.model, self.world)
        self.evaluators: dict[str, Evaluator] = {
            key: self._construct(ref, env=env) for key, ref in self.spec.evaluators.items()
        }
        self.model.train()

    # -- the loop -----------------------------------------------------------------------------

    def train_step(self) -> float:
        """One update; returns the loss before it.

        :raises NonFiniteLoss: when the loss is NaN or infinite (the update is not applied by
            well-behaved optimizers, and nothing is checkpointed).
        """
        batch, weight = shard(self.env.train_batch(self.step, self.model), self.world)
        value = optimizer_step(
            self.optimizer, self.trained, WeightedLoss(self.loss, weight) if weight != 1.0
            else self.loss, batch, self.step, self.env.curvature_batch(self.step),
        )
        loss = float(self.world.mean(value))
        self.step += 1
        if not math.isfinite(loss):
            if self.spec.train.on_nonfinite != "skip" or not self._parameters_finite():
                raise NonFiniteLoss(f"non-finite loss ({loss}) at step {self.step}")
            self.skipped += 1
            self.history.append({"step": self.step, "skipped_steps": float(self.skipped)})
            return loss
        self.history.append({"step": self.step, "step.loss": loss})
        return loss

    def _parameters_finite(self) -> bool:
        return all(bool(torch.isfinite(p).all()) for p in self.model.parameters())

    def due(self, key: str) -> bool:
        """Whether evaluator ``key`` runs after the current update."""
        if self.step in (0, self.spec.train.steps):
            return True
        every = self.spec.evaluators[key].every or self.spec.train.eval_every
        return every > 0 and self.step % every == 0

    def evaluate(self, keys: Sequence[str] | None = None) -> dict[str, float]:
        """Run evaluators (all, or ``keys``) in eval mode; returns ``{key.metric: value}``."""
        metrics: dict[str, float] = {}
        self.model.eval()
        try:
            for key in keys if keys is not None else list(self.evaluators):
                try:
                    result = self.evaluators[key](self.model, self.env, self.loss)
                except KeyError as exc:
                    # An unknown split is a run-file mistake: one line, not a traceback.
                    raise UserError(f"arm {self.arm!r}: evaluator {key!r}: {exc.args[0]}"
                                    ) from exc
                for name, value in result.items():
                    metrics[f"{key}.{name}"] = float(value)
        finally:
            self.model.train()
        if metrics:
            self.history.append({"step": self.step, **metrics})
            self.latest.update(metrics)
            if self.step == 0:
                self.initial.update(metrics)
        return metrics

    # -- state --------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue bitwise: tensors and plain Python values only."""
        return {
            "format": 1,
            "methodlab": __version__,
            "arm": self.arm,
            "seed": self.seed,
            "step": self.step,
            "skipped": self.skipped,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "environment": self.env.state_dict(),
            "rng": capture_rng(),
            "history": json.dumps(self.history),
            "initial": dict(self.initial),
            "latest": dict(self.latest),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.step = int(state["step"])
        self.skipped = int(state.get("skipped", 0))
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.env.load_state_dict(state["environment"])
        restore_rng(state["rng"])
        self.history = json.loads(state["history"])
        self.initial = dict(state["initial"])
        self.latest = dict(state["latest"])

    @property
    def checkpoint_path(self) -> Path | None:
        return None if self.directory is None else self.directory / CHECKPOINT

    def save(self) -> None:
        """Checkpoint the trial.

        :raises NonFiniteLoss: when a parameter or buffer is NaN or infinite (an update can
            blow up before the loss does); the previous checkpoint is kept.
        """
        if self.directory is None:
            return
        for name, tensor in self.model.state_dict().items():
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise NonFiniteLoss(f"non-finite values in {name} after step {self.step}")
        if not self.world.writes:
            return
        save_checkpoint(self.state_dict(), self.checkpoint_path)
        self.write_metrics()
        self.hook("methodlab_checkpoint_saved", step=self.step, path=str(self.checkpoint_path))

    def hook(self, name: str, **arguments: Any) -> None:
        """Call lifecycle hook ``name`` for this trial (on rank 0 only under torchrun)."""
        if self.world.writes:
            getattr(self.plugins.hook, name)(trial=self, **arguments)

    def write_metrics(self) -> None:
        if self.directory is None or not self.world.writes:
            return
        lines = "".join(json.dumps(record) + "\n" for record in self.history)
        temporary = self.directory / "metrics.jsonl.tmp"
        temporary.write_text(lines)
        temporary.replace(self.directory / "metrics.jsonl")

    def final_metrics(self) -> dict[str, float]:
        final = dict(self.latest)
        for key, value in self.initial.items():
            final[f"{key}@start"] = value
        losses = [r["step.loss"] for r in self.history if "step.loss" in r]
        final["step.loss"] = losses[-1] if losses else math.nan
        final["steps"] = float(self.step)
        if self.spec.train.on_nonfinite == "skip":
            final["skipped_steps"] = float(self.skipped)
        return final

    def run(self, progress: Progress, resume: bool = False) -> TrialResult:
        """Train to ``train.steps`` (continuing from the checkpoint when ``resume``), then
        close the environment."""
        try:
            return self._run(progress, resume)
        finally:
            self.env.close()

    def _run(self, progress: Progress, resume: bool) -> TrialResult:
        started = time.perf_counter()
        steps = self.spec.train.steps
        settings = self.spec.train
        path = self.checkpoint_path
        if resume and path is not None and path.exists():
            self.load_state_dict(load_checkpoint(path, map_location=self.device))
            progress.note(self, f"resumed at step {self.step}/{steps}"
                          + (" (already finished: 0 steps to run)" if self.step >= steps else ""))
        else:
            # The start evaluation is on the schedule too, so integrations see step 0.
            metrics = self.evaluate()
            if metrics:
                self.hook("methodlab_evaluation_end", step=0, metrics=metrics)
        progress.start(self)
        try:
            while self.step < steps:
                skipped = self.skipped
                loss = self.train_step()
                if self.skipped > skipped:
                    progress.error(self, f"non-finite loss ({loss}) at step {self.step}; update "
                                         f"skipped ({self.skipped} so far)")
                self.hook("methodlab_step_end", step=self.step, metrics={"step.loss": loss})
                due = [key for key in self.evaluators if self.due(key)]
                if due:
                    metrics = self.evaluate(due)
                    self.hook("methodlab_evaluation_end", step=self.step, metrics=metrics)
                every = settings.checkpoint_every
                if self.step == steps or (every and self.step % every == 0):
                    self.save()
                progress.update(self, loss)
        except NonFiniteLoss as exc:
            progress.finish(self, stopped=True)
            if settings.on_nonfinite == "abort":
                raise UserError(f"arm {self.arm!r} seed {self.seed}: {exc}") from None
            progress.error(self, f"{exc}; trial stopped, last checkpoint kept")
            # Only the start-of-trial values remain meaningful after divergence.
            final = {key: value if key.endswith("@start") else math.nan
                     for key, value in self.final_metrics().items()}
            final.update({"diverged": 1.0, "diverged_step": float(self.step),
                          "steps": float(self.step)})
            self.write_metrics()
            return TrialResult(self.arm, self.seed, "diverged", self.step, final,
                               time.perf_counter() - started, str(exc))
        progress.finish(self)
        final = self.final_metrics()
        final.update({"diverged": 0.0, "diverged_step": math.nan})
        self.write_metrics()
        return TrialResult(self.arm, self.seed, "finished", self.step, final,
                           time.perf_counter() - started)


@attrs.define
class Run:
    """A run in progress: what lifecycle hooks receive as ``run``."""

    spec: RunSpec
    directory: Path
    plugins: PluginSystem
    plugin_versions: dict[str, str]
    results: list[TrialResult] = attrs.field(factory=list)

    def integration_settings(self, name: str) -> Any | None:
        """Integration ``name``'s settings for this run, or ``None`` when it is off.

        An integration is on for a run when the run file has its ``[integrations.<name>]``
        table (its settings), or when the environment variable ``METHODLAB_INTEGRATIONS``
        lists it (comma-separated, any case: its default settings). Being installed is not
        enough: one environment with every integration must not write to all of them.
        """
        if name in self.spec.settings:
            return self.spec.settings[name]
        listed = os.environ.get(INTEGRATIONS_VARIABLE, "")
        if name in {item.strip().lower() for item in listed.split(",")}:
            return self.plugins.settings[name][1].params_cls()
        return None


def prepare_directory(out: Path, name: str, *, force: bool) -> Path:
    """Create ``out/name``, refusing to overwrite an existing run unless ``force``."""
    out = out.resolve()
    directory = (out / name).resolve()
    if directory.parent != out:
        raise UserError(f"run name {name!r} would write outside {out}")
    if directory.exists() and any(directory.iterdir()):
        if not force:
            raise UserError(f"{directory} already exists; use --resume {directory} to continue "
                            "it or --force to replace it")
        if not (directory / RESOLVED).exists():
            raise UserError(f"{directory} is not a methodlab run directory (no {RESOLVED}); "
                            "refusing to delete it")
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def resolved_document(spec: RunSpec, versions: Mapping[str, str]) -> dict[str, Any]:
    document = dict(spec.document)
    document.setdefault("name", spec.name)
    document["methodlab"] = {"version": __version__, "plugins": dict(versions),
                             "source": spec.source}
    return document


def load_resolved(directory: Path, plugins: PluginSystem) -> RunSpec:
    """The run spec stored in a run directory's ``resolved.toml``."""
    from methodlab.runfile import read_toml

    path = directory / RESOLVED
    if not path.exists():
        raise UserError(f"{directory} is not a methodlab run directory (no {RESOLVED})")
    document = read_toml(path)
    document.pop("methodlab", None)
    return validate_document(document, str(path), plugins)


def execute(
    spec: RunSpec,
    directory: Path,
    *,
    resume: bool = False,
    plugins: PluginSystem | None = None,
    progress: Progress | None = None,
    world: World | None = None,
) -> dict[str, Any]:
    """Run every trial of ``spec`` into ``directory`` and return the summary.

    Under ``torchrun`` (``world`` with several ranks) every rank trains its shard of each
    batch and returns the same summary; only rank 0 writes and calls the run hooks.
    """
    plugins = plugins or get_plugin_system()
    progress = progress or Progress(stream=sys.stderr)
    world = world or World()
    versions = plugins.versions()
    if world.writes:
        if not resume:
            (directory / RESOLVED).write_text(tomli_w.dumps(resolved_document(spec, versions)))
        prepare_inputs(spec, directory.parent, plugins, progress)
    world.barrier()
    run = Run(spec, directory, plugins, versions)
    if world.writes:
        plugins.hook.methodlab_run_start(run=run)
    for arm in spec.arms:
        for seed in spec.seeds:
            trial_dir = directory / "trials" / arm.name / f"seed-{seed}"
            if world.writes:
                trial_dir.mkdir(parents=True, exist_ok=True)
            device = world.device(resolve_device(arm.train.device))
            inputs = inputs_for(spec, directory.parent, seed, plugins, device,
                                getattr(torch, arm.train.dtype))
            trial = Trial(arm, seed, plugins, trial_dir, inputs, world)
            run.results.append(trial.run(progress, resume=resume))
    summary = aggregate(spec, run.results, versions)
    summary["claims"] = [evaluate_claim(claim, summary["per_seed"]) for claim in spec.claims]
    if world.writes:
        _write_run_metrics(directory, spec)
        (directory / "summary.json").write_text(json.dumps(json_safe(summary), indent=2) + "\n")
        from methodlab.plots import plot_curves

        plot_curves(directory, spec)
        plugins.hook.methodlab_run_end(run=run, summary=summary)
    world.barrier()
    return summary


def _write_run_metrics(directory: Path, spec: RunSpec) -> None:
    with (directory / "metrics.jsonl").open("w") as out:
        for arm in spec.arms:
            for seed in spec.seeds:
                path = directory / "trials" / arm.name / f"seed-{seed}" / "metrics.jsonl"
                for line in path.read_text().splitlines():
                    record = json.loads(line)
                    out.write(json.dumps({"arm": arm.name, "seed": seed, **record}) + "\n")
