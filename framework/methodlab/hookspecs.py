"""Hook specifications: the contract between methodlab and its plugins.

Hooks are grouped by the phase of a run in which they fire, in firing order. Every hook name
starts with ``methodlab_``. A plugin is a module (or object) with functions decorated by
:data:`methodlab.hookimpl`; installed plugins are found through the ``methodlab`` entry-point
group, and methodlab's own built-in components register through exactly the same hooks.

A plugin's implementation may accept a *subset* of a hook's arguments; methodlab only ever
adds arguments to a hook, so plugins written against an older version keep working.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from methodlab.runner import Run, Trial
    from methodlab.types import (
        CommandSpec,
        EnvironmentSpec,
        EvaluatorSpec,
        LossSpec,
        ModelSpec,
        OptimizerSpec,
        SettingsSpec,
    )

__all__ = ["HOOK_API_VERSION", "hookimpl", "hookspec"]

HOOK_API_VERSION = 1
"""Incremented whenever a hook gains an argument."""

hookspec = pluggy.HookspecMarker("methodlab")
hookimpl = pluggy.HookimplMarker("methodlab")


# -------------------------------------------------------------------------------------------
# Registration hooks. Called once per plugin when the registry is built (by the CLI, the
# Python API or the pytest plugin), before any run file is read. Each implementation is
# called on its own, so a failing plugin loses only its own components.
# -------------------------------------------------------------------------------------------


@hookspec
def methodlab_optimizers() -> Iterable[OptimizerSpec]:
    """Register optimizers.

    Called once per plugin while the component registry is built. Yield (or return a list of)
    :class:`~methodlab.types.OptimizerSpec`. Do not import torch or the optimizer module
    here: give the factory as a ``"module:callable"`` string so listing stays fast.

    :returns: an iterable of :class:`~methodlab.types.OptimizerSpec`.

    Example::

        @methodlab.hookimpl
        def methodlab_optimizers():
            yield OptimizerSpec(
                name="natural-gradient",
                factory="methodlab_natural_gradient.optimizer:build",
                params_cls=NaturalGradientParams,
                summary="Natural gradient with truncated CG/MINRES solves.",
            )

    .. versionadded:: 0.1
    """


@hookspec
def methodlab_models() -> Iterable[ModelSpec]:
    """Register models.

    Called once per plugin while the component registry is built. The factory is called as
    ``factory(params, env=environment)`` and returns a ``torch.nn.Module``.

    :returns: an iterable of :class:`~methodlab.types.ModelSpec`.

    Example::

        @methodlab.hookimpl
        def methodlab_models():
            yield ModelSpec(name="mlp", factory="my_pkg.models:build_mlp",
                            params_cls=MLPParams, summary="Multi-layer perceptron.")

    .. versionadded:: 0.1
    """


@hookspec
def methodlab_losses() -> Iterable[LossSpec]:
    """Register losses.

    Called once per plugin while the component registry is built. The factory is called as
    ``factory(params, env=environment)`` and returns a :class:`~methodlab.components.Loss`
    (an :class:`~methodlab.components.OutputLoss` when the loss depends on the model only
    through its outputs, which curvature-based optimizers need).

    :returns: an iterable of :class:`~methodlab.types.LossSpec`.

    Example::

        @methodlab.hookimpl
        def methodlab_losses():
            yield LossSpec(name="mse", factory="my_pkg.losses:build_mse",
                           params_cls=MSEParams, summary="Mean squared error.")

    .. versionadded:: 0.1
    """


@hookspec
def methodlab_environments() -> Iterable[EnvironmentSpec]:
    """Register environments: datasets and interactive tasks.

    Called once per plugin while the component registry is built. The factory is called as
    ``factory(params, seed=seed, device=device, dtype=dtype)`` and returns a
    :class:`~methodlab.components.Environment`. Heavy libraries (torch-geometric, gymnasium)
    must be imported inside the factory module only.

    :returns: an iterable of :class:`~methodlab.types.EnvironmentSpec`.

    Example::

        @methodlab.hookimpl
        def methodlab_environments():
            yield EnvironmentSpec(name="bars-and-stripes", factory="my_pkg.data:build",
                                  params_cls=BarsParams, summary="4x4 bars and stripes.")

    .. versionadded:: 0.1
    """


@hookspec
def methodlab_evaluators() -> Iterable[EvaluatorSpec]:
    """Register evaluators.

    Called once per plugin while the component registry is built. The factory is called as
    ``factory(params, env=environment)`` and returns a
    :class:`~methodlab.components.Evaluator`; its metrics are recorded as
    ``<table key>.<metric name>``.

    :returns: an iterable of :class:`~methodlab.types.EvaluatorSpec`.

    Example::

        @methodlab.hookimpl
        def methodlab_evaluators():
            yield EvaluatorSpec(name="accuracy", factory="my_pkg.metrics:build_accuracy",
                                params_cls=AccuracyParams, summary="Classification accuracy.")

    .. versionadded:: 0.1
    """


@hookspec
def methodlab_settings() -> Iterable[SettingsSpec]:
    """Register a run-file settings table, ``[integrations.<name>]``.

    Called once per plugin while the registry is built. Integrations that need configuration
    per run (a tracking URI, a log directory) yield a :class:`~methodlab.types.SettingsSpec`
    whose ``params_cls`` is a frozen attrs class. The table is checked when the run file is
    validated, before anything is written, with one-line errors naming the field; the
    structured value is ``run.spec.settings[name]``, present only when the run file has the
    table.

    :returns: an iterable of :class:`~methodlab.types.SettingsSpec`.

    Example::

        @methodlab.hookimpl
        def methodlab_settings():
            yield SettingsSpec(name="mlflow", params_cls=MlflowSettings,
                               summary="Log every trial to MLflow.")

    .. versionadded:: 0.2
    """


@hookspec
def methodlab_commands() -> Iterable[CommandSpec]:
    """Register ``methodlab`` subcommands.

    Called once per plugin when the command line starts. Yield
    :class:`~methodlab.types.CommandSpec` descriptors; their ``configure`` and ``run``
    callables are imported only when the command is used, so ``methodlab --help`` stays fast.
    A name that a core command or another plugin already uses is reported against the later
    plugin and not registered.

    :returns: an iterable of :class:`~methodlab.types.CommandSpec`.

    Example::

        @methodlab.hookimpl
        def methodlab_commands():
            yield CommandSpec(name="sweep", summary="Grid x seeds over a run file.",
                              configure="my_pkg.sweep:configure", run="my_pkg.sweep:run")

    .. versionadded:: 0.2
    """


# -------------------------------------------------------------------------------------------
# Lifecycle hooks, called by the runner (``methodlab run`` or :func:`methodlab.api.run`) in
# this order: run_start, then per trial (arm x seed) step_end / evaluation_end /
# checkpoint_saved as they happen, then run_end. All implementations are called; return
# values are ignored. An exception raised by a lifecycle hook aborts the run (after the last
# checkpoint), so integrations should catch their own transient errors.
# -------------------------------------------------------------------------------------------


@hookspec
def methodlab_run_start(run: Run) -> None:
    """Called once before the first trial of a run starts (or resumes).

    :param run: the run: ``run.spec`` (resolved run file), ``run.directory`` (output
        directory), ``run.plugin_versions``.

    Example::

        @methodlab.hookimpl
        def methodlab_run_start(run):
            print("writing to", run.directory)

    .. versionadded:: 0.1
    """


@hookspec
def methodlab_step_end(trial: Trial, step: int, metrics: Mapping[str, float]) -> None:
    """Called after every optimizer update of every trial.

    Keep it cheap: it runs on the training hot path.

    :param trial: the trial (``trial.arm``, ``trial.seed``, ``trial.model``,
        ``trial.optimizer``).
    :param step: number of updates done so far (1 after the first update).
    :param metrics: per-step metrics, at least ``step.loss``.

    Example::

        @methodlab.hookimpl
        def methodlab_step_end(trial, step, metrics):
            writer.add_scalar(f"{trial.arm}/loss", metrics["step.loss"], step)

    .. versionadded:: 0.1
    """


@hookspec
def methodlab_evaluation_end(trial: Trial, step: int, metrics: Mapping[str, float]) -> None:
    """Called after the evaluators ran at ``step`` (on the schedule and at the end).

    :param trial: the trial being evaluated.
    :param step: number of updates done so far.
    :param metrics: all evaluator metrics, keyed ``<evaluator key>.<metric>``.

    Example::

        @methodlab.hookimpl
        def methodlab_evaluation_end(trial, step, metrics):
            mlflow.log_metrics(dict(metrics), step=step)

    .. versionadded:: 0.1
    """


@hookspec
def methodlab_checkpoint_saved(trial: Trial, step: int, path: str) -> None:
    """Called after a checkpoint was written atomically to ``path``.

    :param trial: the trial whose state was saved.
    :param step: number of updates the checkpoint contains.
    :param path: file path of the checkpoint.

    Example::

        @methodlab.hookimpl
        def methodlab_checkpoint_saved(trial, step, path):
            upload(path)

    .. versionadded:: 0.1
    """


@hookspec
def methodlab_run_end(run: Run, summary: Mapping[str, Any]) -> None:
    """Called once after every trial finished and ``summary.json`` was written.

    :param run: the run.
    :param summary: the content of ``summary.json`` (per-arm final metrics and claim
        verdicts).

    Example::

        @methodlab.hookimpl
        def methodlab_run_end(run, summary):
            print(summary["claims"])

    .. versionadded:: 0.1
    """
