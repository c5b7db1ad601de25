r"""Data-parallel training under ``torchrun``: one process per rank, one global batch.

``torchrun --nproc_per_node N -m methodlab run FILE`` starts N copies of ``methodlab run``.
Each builds the same trial from the same seed, so every rank draws the same global batch
from the environment; :func:`shard` gives rank ``r`` the ``r``-th of N contiguous slices
(weighted by its size when they differ), the model is wrapped in
:class:`~torch.nn.parallel.DistributedDataParallel` (gloo on CPU, NCCL on GPU) and gradients
are averaged across ranks during ``backward``. For a loss that is a mean over the batch, the
mean of N equal shards' gradients is the gradient of the global batch (:func:`shard` weights
unequal ones so that this stays true):

.. math::

    \frac{1}{N}\sum_{r=1}^{N} \nabla \frac{1}{B/N}\sum_{i \in S_r} \ell_i
    = \nabla \frac{1}{B}\sum_{i=1}^{B} \ell_i ,

so N processes follow the single-process trajectory up to floating-point summation order.
Only rank 0 writes the run directory (checkpoints, metrics, summaries, plots) and calls the
lifecycle hooks; every rank reads the same checkpoint on ``--resume``, so on several
machines the output directory must be on a shared filesystem.

Optimizers that need curvature products (``needs_step_context = True``) compute them from
the batch inside ``step``, which DDP does not reduce; they are refused with one line unless
their class sets ``supports_data_parallel = True`` (it then reduces its own products).
"""

from __future__ import annotations

import os
from typing import Any

import attrs
import torch
from torch import nn

from methodlab.components import Batch, Loss
from methodlab.errors import UserError

__all__ = [
    "WeightedLoss",
    "World",
    "check_optimizer",
    "initialise",
    "shard",
    "world_from_environment",
    "wrap",
]


@attrs.frozen
class World:
    """This process's place among the ranks ``torchrun`` started (one rank by default)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def writes(self) -> bool:
        """Whether this process writes results (rank 0 only)."""
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """Rank-local device: ``cuda`` becomes ``cuda:<LOCAL_RANK>``."""
        if self.distributed and device.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return device

    def barrier(self) -> None:
        if self.distributed:
            torch.distributed.barrier()

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """``value`` averaged over the ranks (itself with one rank)."""
        if not self.distributed:
            return value
        total = value.detach().clone()
        torch.distributed.all_reduce(total)
        return total / self.size


def world_from_environment() -> World:
    """The world ``torchrun`` describes in ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``."""
    return World(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                 int(os.environ.get("LOCAL_RANK", 0)))


def initialise(world: World) -> None:
    """Join the process group (gloo on CPU, NCCL when a GPU is present); no-op for one rank."""
    if not world.distributed or torch.distributed.is_initialized():
        return
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(world.local_rank)
    torch.distributed.init_process_group(backend)


def shard(batch: Any, world: World) -> tuple[Any, float]:
    r"""Rank ``world.rank``'s slice of the global ``batch`` and the weight of its loss.

    The ``B`` rows are split into ``N`` contiguous parts of ``B // N`` or ``B // N + 1`` rows
    (``torch.tensor_split``). DDP averages the ranks' gradients equally, so the mean loss of
    a part of ``n_r`` rows is weighted by ``w_r = N n_r / B``, which makes
    :math:`\frac{1}{N}\sum_r w_r \nabla \bar\ell_r` the global batch's gradient even when
    the last batch of an epoch does not divide evenly. With one rank: ``(batch, 1.0)``.

    Shapes: ``inputs`` ``(B, ...)`` and ``targets`` ``(B, ...)`` become ``(n_r, ...)``.

    :raises UserError: if the batch is not a :class:`~methodlab.components.Batch` of tensors,
        or has fewer rows than there are ranks.

    Example:
        >>> batch = Batch(torch.arange(5.0).view(5, 1), torch.arange(5))
        >>> part, weight = shard(batch, World(rank=1, size=2))
        >>> part.targets, weight
        (tensor([3, 4]), 0.8)
    """
    if not world.distributed:
        return batch, 1.0
    if not isinstance(batch, Batch) or not isinstance(batch.inputs, torch.Tensor):
        raise UserError(f"data-parallel training needs batches of tensors "
                        f"(methodlab.components.Batch); the environment yields "
                        f"{type(batch).__name__}: run it in a single process")
    size = batch.inputs.shape[0]
    if size < world.size:
        raise UserError(f"a batch of {size} examples cannot feed {world.size} ranks; use a "
                        f"larger batch size or fewer processes (--nproc_per_node)")
    inputs = torch.tensor_split(batch.inputs, world.size)[world.rank]
    targets = (None if batch.targets is None
               else torch.tensor_split(batch.targets, world.size)[world.rank])
    return Batch(inputs, targets), world.size * inputs.shape[0] / size


class WeightedLoss(Loss):
    """``weight × loss(model, batch)``: a rank's share of the global batch's mean loss."""

    def __init__(self, loss: Loss, weight: float) -> None:
        self.loss = loss
        self.weight = weight

    def __call__(self, model: nn.Module, batch: Any) -> torch.Tensor:
        return self.loss(model, batch) * self.weight


def check_optimizer(optimizer: torch.optim.Optimizer, name: str, world: World) -> None:
    """Refuse, with one line, an optimizer whose curvature products DDP would not reduce."""
    if (world.distributed and getattr(optimizer, "needs_step_context", False)
            and not getattr(optimizer, "supports_data_parallel", False)):
        raise UserError(f"optimizer {name!r} computes curvature products from the batch, which "
                        f"it does not reduce across ranks; run it in a single process (without "
                        f"torchrun)")


def wrap(model: nn.Module, world: World) -> nn.Module:
    """The module to train: ``model`` itself, or a DDP wrapper of it across the ranks."""
    if not world.distributed:
        return model
    device = next(model.parameters()).device
    return nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None)
