"""The interfaces that environments, losses and evaluators implement.

Shape vocabulary used across methodlab docstrings: ``B`` batch, ``T`` time, ``N`` nodes or
parallel environments, ``E`` edges, ``D`` features, ``C`` classes or outputs, ``K`` components.

Models are plain ``torch.nn.Module`` objects and optimizers plain ``torch.optim.Optimizer``
objects, so they need no interface here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["Batch", "EnvInfo", "Environment", "Evaluator", "Loss", "OutputLoss"]


@attrs.frozen
class Batch:
    """A supervised batch: ``inputs`` of shape ``(B, D)`` and ``targets`` of shape ``(B, ...)``.

    Unlabeled batches (for curvature estimates) carry ``targets=None``.
    """

    inputs: Any
    targets: Any = None

    def to(self, device: torch.device | str) -> Batch:
        """Return the batch with its tensors moved to ``device``."""
        return Batch(
            self.inputs.to(device),
            None if self.targets is None else self.targets.to(device),
        )


@attrs.frozen
class EnvInfo:
    """What a model factory needs to know about an environment's data."""

    in_features: int
    """Input dimension ``D``."""
    out_features: int
    """Output dimension the model must produce (``C`` classes, or ``D`` for reconstruction)."""
    task: str = "classification"
    """One of ``classification``, ``regression``, ``reconstruction``, ``multilabel`` or a
    plugin-defined task name."""
    train_size: int = 0
    """Number of training examples (0 when the stream is unbounded)."""


class Environment:
    """A source of training batches and evaluation data.

    Batches are addressed by step so a resumed run sees exactly the batches an uninterrupted run
    would: ``train_batch(step, model)`` must be a pure function of the environment's seed, its
    state and ``step``. The model is passed so that interactive environments (reinforcement
    learning) can act with it; datasets ignore it.

    Environments with mutable state (replay buffers, simulators) implement ``state_dict`` and
    ``load_state_dict`` with tensors and plain Python values only.
    """

    info: EnvInfo

    def train_batch(self, step: int, model: nn.Module) -> Any:
        """Return the training batch for optimizer update ``step`` (0-based)."""
        raise NotImplementedError

    def curvature_batch(self, step: int) -> Any | None:
        """Return inputs for curvature estimates at ``step``, or ``None`` to reuse the batch.

        Environments with extra unlabeled data return it here; optimizers that estimate a
        metric (Fisher, Gauss-Newton) may use it instead of the labeled batch.
        """
        return None

    def split(self, name: str) -> Iterable[Any]:
        """Return the evaluation batches of split ``name`` (e.g. ``train``, ``test``).

        :raises KeyError: for an unknown split; the message lists the known splits.
        """
        raise KeyError(name)

    def state_dict(self) -> dict[str, Any]:
        """Return mutable state for checkpoints (empty for stateless datasets)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore state saved by :meth:`state_dict`."""

    def close(self) -> None:
        """Release what the environment holds (simulator subprocesses, files).

        Called once when its trial ends, diverged or not; the default does nothing.
        """


class Loss:
    """Maps a model and a batch to a scalar training loss."""

    def __call__(self, model: nn.Module, batch: Any) -> torch.Tensor:
        raise NotImplementedError


class OutputLoss(Loss):
    """A loss that depends on the model only through ``model(batch.inputs)``.

    Such losses expose the output-space function that Gauss-Newton and Fisher products need:
    :math:`L(\\theta) = \\ell(f_\\theta(x), y)` with ``from_outputs`` computing :math:`\\ell`.
    """

    def __call__(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return self.from_outputs(model(batch.inputs), batch.targets)

    def from_outputs(self, outputs: torch.Tensor, targets: Any) -> torch.Tensor:
        """Mean loss over the batch.

        Shapes:
            outputs: ``(B, C)``; targets: as the environment yields them.
        """
        raise NotImplementedError

    def sample_targets(self, outputs: torch.Tensor, generator: torch.Generator) -> Any:
        """Draw targets from the model's predictive distribution (for the true Fisher)."""
        raise NotImplementedError(f"{type(self).__name__} cannot sample targets")


class Evaluator:
    """Computes metrics of a model; called on the evaluation schedule."""

    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> Mapping[str, float]:
        raise NotImplementedError
