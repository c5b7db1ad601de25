"""The conformance suite every plugin runs over all of its components.

For each component a tiny CPU run is assembled (the component in its slot, small defaults or
the spec's ``example`` for the rest) and checked:

1. the factory imports and the parameter class builds from defaults;
2. two updates run and give finite losses; evaluators return finite ``{name: float}``;
3. every trainable model parameter receives a gradient;
4. a trial's state survives ``torch.save`` → ``torch.load(weights_only=True)`` and the
   restored trial continues bitwise identically;
5. two trials with the same seed agree bitwise, and ``repr`` of the model works.

A component whose factory takes ``inputs`` (earlier runs, :mod:`methodlab.inputs`) names them
in its example, e.g. ``example={"inputs": {"teacher": {"run": str(TINY_TEACHER_TOML)}}}`` with
an absolute path; the suite trains those runs into a temporary directory first.
"""

from __future__ import annotations

import copy
import io
import math
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch

from methodlab.checkpoint import restore_rng
from methodlab.inputs import inputs_for, prepare_inputs
from methodlab.plugin_manager import PluginSystem, get_plugin_system
from methodlab.runfile import validate_document
from methodlab.types import KINDS, ComponentSpec

__all__ = ["check_component", "conformance_suite", "isolated_plugin_system", "tiny_document"]

_STEPS = 2


def tiny_document() -> dict[str, Any]:
    """The default tiny run the suite places a component into (float64, CPU)."""
    return {
        "name": "conformance",
        "seeds": [0],
        "train": {"steps": _STEPS, "dtype": "float64"},
        "environment": {"use": "synthetic-regression", "n_train": 24, "n_test": 8,
                        "in_features": 4, "out_features": 3, "batch_size": 8},
        "model": {"use": "mlp", "hidden": [5]},
        "loss": {"use": "mse"},
        "optimizer": {"use": "sgd", "lr": 0.01},
        "evaluators": {"check": {"use": "loss", "split": "train"}},
    }


def isolated_plugin_system(
    *plugins: tuple[str, object], autoload: bool = False, strict: bool = True
) -> PluginSystem:
    """A plugin system with the built-ins plus ``plugins`` (``(name, object)`` pairs)."""
    return PluginSystem(autoload=autoload, strict=strict, plugins=plugins)


def _document_for(kind: str, qualified: str, spec: ComponentSpec) -> dict[str, Any]:
    document = tiny_document()
    example = copy.deepcopy(dict(spec.example))
    params = example.pop("params", {})
    for key, value in example.items():
        document[key] = value
    table = {"use": qualified, **params}
    if kind == "evaluator":
        document["evaluators"] = {"check": table}
    else:
        document[kind] = table
    return document


def _trial_factory(document: Mapping[str, Any], plugins: PluginSystem,
                   out: Path) -> Callable[[], Any]:
    """Builds fresh seed-0 trials of the document's only arm, its inputs trained under out."""
    from methodlab.progress import Progress
    from methodlab.runner import Trial

    spec = validate_document(document, "<conformance>", plugins)
    prepare_inputs(spec, out, plugins, Progress(sys.stderr, quiet=True))
    return lambda: Trial(spec.arms[0], seed=0, plugins=plugins,
                         inputs=inputs_for(spec, out, 0, plugins, "cpu", torch.float64))


def _snapshot(trial: Any) -> list[torch.Tensor]:
    return [p.detach().clone() for p in trial.model.parameters()]


def check_component(kind: str, name: str, plugins: PluginSystem | None = None) -> None:
    """Run the conformance checks on one component; raises ``AssertionError`` on failure."""
    plugins = plugins or get_plugin_system()
    spec = plugins.get(kind, name)
    label = f"{kind} {name!r}"
    spec.load_factory()
    with tempfile.TemporaryDirectory() as out:
        _check_trials(label, _trial_factory(_document_for(kind, name, spec), plugins, Path(out)))


def _check_trials(label: str, new_trial: Callable[[], Any]) -> None:
    with torch.random.fork_rng(devices=[]):
        trial = new_trial()
        assert repr(trial.model), f"{label}: empty model repr"

        # Every trainable parameter gets a gradient from the loss.
        batch = trial.env.train_batch(0, trial.model)
        trial.model.zero_grad(set_to_none=True)
        trial.loss(trial.model, batch).backward()
        missing = [n for n, p in trial.model.named_parameters()
                   if p.requires_grad and p.grad is None]
        assert not missing, f"{label}: no gradient reaches parameters {missing}"
        trial.model.zero_grad(set_to_none=True)

        initial = trial.evaluate()
        _check_metrics(initial, label)
        losses = [trial.train_step() for _ in range(_STEPS)]
        assert all(math.isfinite(x) for x in losses), f"{label}: non-finite losses {losses}"
        _check_metrics(trial.evaluate(), label)

        # State round-trip through a weights-only load, then continue identically.
        buffer = io.BytesIO()
        torch.save(trial.state_dict(), buffer)
        buffer.seek(0)
        state = torch.load(buffer, weights_only=True)
        restored = new_trial()
        restored.load_state_dict(state)
        # Both trials draw from the process-wide generators: give each the saved state.
        restore_rng(state["rng"])
        next_original = trial.train_step()
        restore_rng(state["rng"])
        next_restored = restored.train_step()
        assert next_original == next_restored, (
            f"{label}: step after state round-trip differs: {next_original!r} vs "
            f"{next_restored!r}")
        for a, b in zip(_snapshot(trial), _snapshot(restored), strict=True):
            assert torch.equal(a, b), f"{label}: parameters differ after state round-trip"

    # Two seeded trials agree bitwise.
    with torch.random.fork_rng(devices=[]):
        first = new_trial()
        first_losses = [first.train_step() for _ in range(_STEPS)]
    with torch.random.fork_rng(devices=[]):
        second = new_trial()
        second_losses = [second.train_step() for _ in range(_STEPS)]
    assert first_losses == second_losses, (
        f"{label}: two runs with seed 0 differ: {first_losses} vs {second_losses}")


def _check_metrics(metrics: Mapping[str, float], label: str) -> None:
    assert metrics, f"{label}: evaluators returned no metrics"
    for key, value in metrics.items():
        assert isinstance(value, float) and math.isfinite(value), (
            f"{label}: metric {key!r} = {value!r} is not a finite float")


def components_of(plugin: str, plugins: PluginSystem | None = None) -> list[tuple[str, str]]:
    """``(kind, qualified name)`` of every component the plugin registered."""
    plugins = plugins or get_plugin_system()
    record = plugins.records.get(plugin)
    if record is None:
        known = ", ".join(sorted(plugins.records))
        raise LookupError(f"no plugin {plugin!r} is loaded; loaded: {known}")
    if record.status in {"failed", "blocked", "not-allowed"}:
        raise LookupError(f"plugin {plugin!r} is {record.status}: {'; '.join(record.errors)}")
    result = []
    for entry in record.components:
        kind, _, name = entry.partition(":")
        # Commands and settings tables are listed too; only components can be built.
        if kind in KINDS:
            result.append((kind, f"{plugin}:{name}"))
    return result


def conformance_suite(
    plugin: str, skip: Sequence[str] = ()
) -> Callable[..., None]:
    """A pytest test function parametrized over every component of ``plugin``.

    :param plugin: the plugin's entry-point name (``methodlab.builtins`` for the built-ins).
    :param skip: ``kind:name`` entries to leave out (say why in your test module).
    """
    try:
        cases = [case for case in components_of(plugin)
                 if f"{case[0]}:{case[1].partition(':')[2]}" not in skip]
        error = None
    except LookupError as exc:
        cases, error = [], str(exc)

    if error is not None:
        def test_conformance() -> None:
            pytest.fail(error)

        return test_conformance

    @pytest.mark.parametrize(("kind", "name"), cases,
                             ids=[f"{k}:{n.partition(':')[2]}" for k, n in cases])
    def test_conformance(kind: str, name: str) -> None:
        check_component(kind, name)

    return test_conformance
