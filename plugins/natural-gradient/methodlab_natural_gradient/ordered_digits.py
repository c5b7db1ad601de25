r"""Digits presented in sequential blocks, for the training-order experiment (Erhan et al., 2010).

Erhan et al. (2010, §6.4) trained networks on a sequence of blocks of examples and redrew
either the first or the last block from a held-out pool; the spread of the learned functions
across such runs measures how much an early versus a late block shapes the result. Pascanu &
Bengio (2014, §8) repeat the experiment to argue that natural gradient depends less on the
early examples than SGD does.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from methodlab.builtins.environments import digits_split
from methodlab.components import Batch, EnvInfo, Environment
from torch import nn

from methodlab_natural_gradient.config import OrderedDigitsParams

__all__ = ["OrderedDigits", "build"]


class OrderedDigits(Environment):
    r"""Digit classification with the training set served block after block.

    The 1,437 training digits of the fixed split are shuffled once (``split_seed``); the
    first ``n_blocks · block_size`` form blocks :math:`B_1, \dots, B_n` and the rest the
    held-out pool. With ``resample = "early"`` (``"late"``) block :math:`B_1` (:math:`B_n`)
    is replaced by ``block_size`` digits drawn from the pool with the run's seed; everything
    else is the same for every seed. Update ``step`` uses the whole block
    :math:`B_{\min(\lfloor \text{step} / s \rfloor + 1,\, n)}`, ``s = steps_per_block``.

    References:
        Why Does Unsupervised Pre-training Help Deep Learning? (Erhan, Bengio, Courville,
        Manzagol, Vincent & Bengio, 2010) https://jmlr.org/papers/v11/erhan10a.html

        Revisiting Natural Gradient for Deep Networks (Pascanu & Bengio, 2014)
        https://arxiv.org/abs/1301.3584

    Shapes:
        batches: inputs :math:`(\text{block\_size}, 64)`, targets :math:`(\text{block\_size},)`.

    Example:
        >>> env = build(OrderedDigitsParams(block_size=50, resample="late"), seed=1,
        ...             device="cpu", dtype=torch.float32)
        >>> env.train_batch(0, None).inputs.shape, len(env.pool)
        (torch.Size([50, 64]), 937)
    """

    def __init__(
        self, blocks: list[Batch], pool: Batch, test: Batch, steps_per_block: int
    ) -> None:
        self.blocks = blocks
        self.pool = pool.inputs
        self.test = test
        self.steps_per_block = steps_per_block
        self.info = EnvInfo(64, 10, "classification", sum(len(b.inputs) for b in blocks))

    def train_batch(self, step: int, model: nn.Module | None) -> Batch:
        return self.blocks[min(step // self.steps_per_block, len(self.blocks) - 1)]

    def split(self, name: str) -> Iterator[Batch]:
        inputs = torch.cat([block.inputs for block in self.blocks])
        targets = torch.cat([block.targets for block in self.blocks])
        splits = {"test": self.test, "train": Batch(inputs, targets)}
        if name not in splits:
            raise KeyError(f"unknown split {name!r}; this environment has {sorted(splits)}")
        yield splits[name]


def build(
    params: OrderedDigitsParams, *, seed: int, device: str, dtype: torch.dtype
) -> OrderedDigits:
    """Build the environment for a run (``use = "ordered-digits"``)."""
    x_train, x_test, y_train, y_test = digits_split(split_seed=params.split_seed)
    inputs = torch.as_tensor(x_train, dtype=dtype, device=device)
    labels = torch.as_tensor(y_train, dtype=torch.long, device=device)
    used = params.n_blocks * params.block_size
    if used + params.block_size > len(inputs):
        raise ValueError(
            f"{params.n_blocks} blocks of {params.block_size} leave fewer than "
            f"{params.block_size} of the {len(inputs)} training digits for the pool"
        )
    order = torch.randperm(len(inputs), generator=torch.Generator().manual_seed(
        params.split_seed)).to(device)
    blocks = [Batch(inputs[rows], labels[rows]) for rows in order[:used].split(params.block_size)]
    pool_rows = order[used:]
    if params.resample != "none":
        draw = torch.randperm(len(pool_rows), generator=torch.Generator().manual_seed(seed))
        rows = pool_rows[draw[: params.block_size].to(device)]
        blocks[0 if params.resample == "early" else -1] = Batch(inputs[rows], labels[rows])
    test = Batch(torch.as_tensor(x_test, dtype=dtype, device=device),
                 torch.as_tensor(y_test, dtype=torch.long, device=device))
    return OrderedDigits(blocks, Batch(inputs[pool_rows], labels[pool_rows]), test,
                         params.steps_per_block)
