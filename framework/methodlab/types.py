"""Typed descriptors that registration hooks yield, one per component kind.

A descriptor is plain data: it names a component, says where its factory lives and which
frozen attrs class holds its parameters. Listing, validating and documenting components
therefore never imports torch or the factory module; the factory is imported only when a run
builds the component (see :func:`ComponentSpec.load_factory`).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import attrs

__all__ = [
    "KINDS",
    "CommandSpec",
    "ComponentSpec",
    "EnvironmentSpec",
    "EvaluatorSpec",
    "LossSpec",
    "ModelSpec",
    "OptimizerSpec",
    "SettingsSpec",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def _normalise_name(name: str) -> str:
    return name.strip().lower()


def _check_name(_instance: object, _attribute: attrs.Attribute, value: str) -> None:
    if not _NAME.match(value):
        raise ValueError(
            f"component name {value!r} must be lower-case letters, digits, '-', '_' or '.'"
        )


def _check_params_cls(_instance: object, _attribute: attrs.Attribute, value: type) -> None:
    if not (isinstance(value, type) and attrs.has(value)):
        raise TypeError(f"params_cls must be an attrs class, got {value!r}")


def _check_summary(_instance: object, _attribute: attrs.Attribute, value: str) -> None:
    if not value or "\n" in value:
        raise ValueError("summary must be one non-empty line")


@attrs.frozen
class ComponentSpec:
    """A component a plugin provides; the base of the five descriptor types.

    Returned (yielded) by the registration hooks in :mod:`methodlab.hookspecs`.
    """

    kind: ClassVar[str] = ""

    name: str = attrs.field(converter=_normalise_name, validator=_check_name)
    """Name used in run files (``use = "natural-gradient"``); lower-case, e.g. ``sgd``."""

    factory: str | Callable[..., Any] = attrs.field()
    """``"package.module:callable"`` imported lazily at build time, or the callable itself.

    It is called as ``factory(params, **context)``; the context per kind is documented on each
    descriptor subclass.
    """

    params_cls: type = attrs.field(validator=_check_params_cls)
    """Frozen attrs class the component's run-file table is structured into."""

    summary: str = attrs.field(validator=_check_summary)
    """One line shown by ``methodlab list``."""

    example: Mapping[str, Any] = attrs.field(factory=dict)
    """Run-file fragment the conformance suite uses to build a tiny run around this component.

    Top-level tables (``environment``, ``model``, ``loss``, ``optimizer``) replace the suite's
    defaults, and a ``params`` table gives values for required parameters. Example:
    ``{"environment": {"use": "digits", "limit": 32}}``.
    """

    @factory.validator
    def _check_factory(self, _attribute: attrs.Attribute, value: object) -> None:
        if isinstance(value, str):
            if value.count(":") != 1:
                raise ValueError(f"factory {value!r} must look like 'package.module:callable'")
        elif not callable(value):
            raise TypeError(f"factory must be a 'module:callable' string or callable: {value!r}")

    def load_factory(self) -> Callable[..., Any]:
        """Import and return the factory callable.

        :raises ImportError: if the module or attribute cannot be imported; the message names
            the component and the factory path.
        """
        if callable(self.factory):
            return self.factory
        module_name, _, attr = self.factory.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ImportError(
                f"{self.kind} {self.name!r}: cannot import factory module {module_name!r}: {exc}"
            ) from exc
        try:
            target = module
            for part in attr.split("."):
                target = getattr(target, part)
        except AttributeError as exc:
            raise ImportError(
                f"{self.kind} {self.name!r}: module {module_name!r} has no attribute {attr!r}"
            ) from exc
        return target


@attrs.frozen
class OptimizerSpec(ComponentSpec):
    """An optimizer, from :func:`~methodlab.hookspecs.methodlab_optimizers`.

    Factory call: ``factory(params, model=model)`` returning a ``torch.optim.Optimizer``.
    Optimizers whose class sets ``needs_step_context = True`` are stepped with
    ``optimizer.step(closure, context=StepContext)`` (see :mod:`methodlab.step`).
    """

    kind: ClassVar[str] = "optimizer"


@attrs.frozen
class ModelSpec(ComponentSpec):
    """A model, from :func:`~methodlab.hookspecs.methodlab_models`.

    Factory call: ``factory(params, env=environment)`` returning a ``torch.nn.Module``; the
    environment's :attr:`~methodlab.components.Environment.info` gives input and output sizes.
    """

    kind: ClassVar[str] = "model"


@attrs.frozen
class LossSpec(ComponentSpec):
    """A loss, from :func:`~methodlab.hookspecs.methodlab_losses`.

    Factory call: ``factory(params, env=environment)`` returning a
    :class:`~methodlab.components.Loss`.
    """

    kind: ClassVar[str] = "loss"


@attrs.frozen
class EnvironmentSpec(ComponentSpec):
    """A data source or interactive task, from :func:`~methodlab.hookspecs.methodlab_environments`.

    Factory call: ``factory(params, seed=seed, device=device, dtype=dtype)`` returning a
    :class:`~methodlab.components.Environment`; floating-point data must use ``dtype`` (the
    run's ``train.dtype`` as a ``torch.dtype``).
    """

    kind: ClassVar[str] = "environment"


@attrs.frozen
class EvaluatorSpec(ComponentSpec):
    """A metric producer, from :func:`~methodlab.hookspecs.methodlab_evaluators`.

    Factory call: ``factory(params, env=environment)`` returning a
    :class:`~methodlab.components.Evaluator`.
    """

    kind: ClassVar[str] = "evaluator"


KINDS: Mapping[str, type[ComponentSpec]] = {
    "optimizer": OptimizerSpec,
    "model": ModelSpec,
    "loss": LossSpec,
    "environment": EnvironmentSpec,
    "evaluator": EvaluatorSpec,
}
"""Descriptor class per component kind."""


def _check_callable_ref(_instance: object, attribute: attrs.Attribute, value: object) -> None:
    if isinstance(value, str):
        if value.count(":") != 1:
            raise ValueError(f"{attribute.name} {value!r} must look like 'package.module:callable'")
    elif not callable(value):
        raise TypeError(f"{attribute.name} must be a 'module:callable' string or callable: "
                        f"{value!r}")


def _load(reference: str | Callable[..., Any], owner: str) -> Callable[..., Any]:
    if callable(reference):
        return reference
    module_name, _, attr = reference.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ImportError(f"{owner}: cannot import {reference!r}: {exc}") from exc
    return target


@attrs.frozen
class CommandSpec:
    """A ``methodlab`` subcommand, from :func:`~methodlab.hookspecs.methodlab_commands`.

    ``methodlab <name> ...`` builds the subcommand's parser with ``configure(parser)`` and
    then calls ``run(args)``, whose return value is the exit status. Both are
    ``"package.module:callable"`` strings (imported only when the command runs) or callables.
    Raise :class:`methodlab.errors.UserError` for mistakes the user can fix: the CLI prints it
    as one line and exits with its status (2).
    """

    name: str = attrs.field(converter=_normalise_name, validator=_check_name)
    """The subcommand, e.g. ``sweep``; core commands cannot be replaced."""
    summary: str = attrs.field(validator=_check_summary)
    """One line shown by ``methodlab --help``."""
    configure: str | Callable[..., Any] = attrs.field(validator=_check_callable_ref)
    """``configure(parser: argparse.ArgumentParser) -> None`` adds the arguments."""
    run: str | Callable[..., Any] = attrs.field(validator=_check_callable_ref)
    """``run(args: argparse.Namespace) -> int`` executes the command."""

    def load(self) -> tuple[Callable[..., Any], Callable[..., Any]]:
        """Import and return ``(configure, run)``."""
        owner = f"command {self.name!r}"
        return _load(self.configure, owner), _load(self.run, owner)


@attrs.frozen
class SettingsSpec:
    """A run-file settings table, from :func:`~methodlab.hookspecs.methodlab_settings`.

    A run file's ``[integrations.<name>]`` table is structured into ``params_cls`` (a frozen
    attrs class) when the file is validated, with the same one-line errors as component
    tables; the result is ``RunSpec.settings[name]``, present only when the table is.
    Integrations (trackers, launchers) read it in their lifecycle hooks.
    """

    name: str = attrs.field(converter=_normalise_name, validator=_check_name)
    """The table's name: ``[integrations.<name>]``."""
    params_cls: type = attrs.field(validator=_check_params_cls)
    """Frozen attrs class the table is structured into."""
    summary: str = attrs.field(validator=_check_summary)
    """One line shown by ``methodlab show integrations.<name>``."""
