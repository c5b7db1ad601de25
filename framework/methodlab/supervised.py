"""An environment over in-memory arrays: the base of every supervised dataset.

Plugins that serve a fixed dataset build a :class:`SupervisedEnvironment` instead of writing
their own batching: it shuffles per epoch from the run's seed, addresses batches by step (so a
resumed run sees the same batches) and serves named evaluation splits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn

from methodlab.components import Batch, EnvInfo, Environment

__all__ = ["SupervisedEnvironment"]

_EVAL_CHUNK = 4096


class SupervisedEnvironment(Environment):
    """Mini-batches of a fixed training set plus evaluation splits.

    Batch ``step`` of epoch ``e = step // steps_per_epoch`` comes from a permutation drawn
    from ``(seed, e)``, so batches depend only on the seed and the step.

    Arguments:
        splits: ``{"train": Batch, "test": Batch, ...}``; ``train`` is required.
        info: sizes the model factory reads.
        batch_size: ``B``; 0 serves the whole training split every step.
        seed: the run's seed (shuffling only).
        curvature_inputs: optional unlabeled inputs ``(B_u, D)`` for curvature estimates.

    Example:
        >>> x, y = torch.arange(10.0).unsqueeze(1), torch.arange(10)
        >>> env = SupervisedEnvironment({"train": Batch(x, y)}, EnvInfo(1, 10), batch_size=4)
        >>> env.steps_per_epoch, env.train_batch(0, None).inputs.shape
        (3, torch.Size([4, 1]))
    """

    def __init__(
        self,
        splits: Mapping[str, Batch],
        info: EnvInfo,
        *,
        batch_size: int = 0,
        seed: int = 0,
        curvature_inputs: torch.Tensor | None = None,
    ) -> None:
        if "train" not in splits:
            raise ValueError("splits need a 'train' entry")
        self.splits = dict(splits)
        self.info = info
        self.seed = seed
        self.train = self.splits["train"]
        self.size = len(self.train.inputs)
        self.batch_size = self.size if batch_size in (0, None) else min(batch_size, self.size)
        self.steps_per_epoch = -(-self.size // self.batch_size)
        self.curvature_inputs = curvature_inputs
        self._epoch = -1
        self._order: torch.Tensor | None = None

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._order = torch.randperm(self.size, generator=generator)
            self._epoch = epoch
        assert self._order is not None
        return self._order

    def train_batch(self, step: int, model: nn.Module | None) -> Batch:
        if self.batch_size == self.size:
            return self.train
        epoch, position = divmod(step, self.steps_per_epoch)
        start = position * self.batch_size
        index = self._permutation(epoch)[start : start + self.batch_size].to(
            self.train.inputs.device
        )
        targets = None if self.train.targets is None else self.train.targets[index]
        return Batch(self.train.inputs[index], targets)

    def curvature_batch(self, step: int) -> Any:
        return self.curvature_inputs

    def split(self, name: str) -> Iterator[Batch]:
        if name not in self.splits:
            raise KeyError(f"unknown split {name!r}; this environment has {sorted(self.splits)}")
        data = self.splits[name]
        for start in range(0, len(data.inputs), _EVAL_CHUNK):
            stop = start + _EVAL_CHUNK
            targets = None if data.targets is None else data.targets[start:stop]
            yield Batch(data.inputs[start:stop], targets)
