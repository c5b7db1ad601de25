"""The pathological synthetic problems of Pascanu, Mikolov & Bengio (2013), §5.1.

The tasks come from Hochreiter & Schmidhuber (1997) and Martens & Sutskever (2011). Each
generator is a pure function of a ``numpy.random.Generator``. It follows the authors'
generators (``pascanur/trainingRNNs``), batch-first: inputs ``(B, T, D)``; targets ``(B,)``
class indices, ``(B, 1)`` regression values, or ``(B, T)`` class indices per step.

References:
    On the difficulty of training recurrent neural networks (Pascanu, Mikolov & Bengio,
    ICML 2013), https://arxiv.org/abs/1211.5063
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
from methodlab.components import Batch, EnvInfo, Environment
from torch import nn

from methodlab_gradient_clipping.config import MemorizationParams, SequenceTaskParams

__all__ = [
    "LAST_CLASSIFICATION",
    "LAST_REGRESSION",
    "SEQUENCE_CLASSIFICATION",
    "SequenceTask",
    "adding",
    "multiplication",
    "noiseless_memorization",
    "random_permutation",
    "temporal_order",
    "temporal_order_3bit",
]

LAST_CLASSIFICATION = "last-classification"
"""``EnvInfo.task``: one class per sequence, read out from the last hidden state."""
LAST_REGRESSION = "last-regression"
"""``EnvInfo.task``: one real value per sequence, read out from the last hidden state."""
SEQUENCE_CLASSIFICATION = "sequence-classification"
"""``EnvInfo.task``: one class per time step, read out from every hidden state."""

Sample = tuple[np.ndarray, np.ndarray]


def _one_hot(symbols: np.ndarray, size: int) -> np.ndarray:
    return np.eye(size, dtype=np.float64)[symbols]


def _temporal_order(rng: np.random.Generator, batch: int, length: int,
                    windows: tuple[float, ...]) -> Sample:
    tenth = int(0.1 * length)
    symbols = rng.integers(2, 6, size=(batch, length))  # distractors c, d, e, f
    target = np.zeros(batch, dtype=np.int64)
    rows = np.arange(batch)
    for bit, start in enumerate(windows):
        position = rng.integers(tenth, size=batch) + int(start * length)
        value = rng.integers(2, size=batch)  # A = 0, B = 1
        symbols[rows, position] = value
        target += value << bit
    return _one_hot(symbols, 6), target


def temporal_order(rng: np.random.Generator, batch: int, length: int) -> Sample:
    """Temporal order: classify the order of two relevant symbols among distractors.

    One-hot symbols over 6 channels. A or B appears once at a position in [0.1 T, 0.2 T)
    and once in [0.5 T, 0.6 T); every other step shows one of c, d, e, f. The class is
    v₀ + 2 v₁ ∈ {AA, BA, AB, BB}.

    Shapes:
        returns inputs ``(B, T, 6)`` and targets ``(B,)`` in ``{0, 1, 2, 3}``.

    Example:
        >>> x, y = temporal_order(np.random.default_rng(0), 3, 20)
        >>> x.shape, y.shape, bool((x.sum(-1) == 1).all())
        ((3, 20, 6), (3,), True)
        >>> bool(((x[:, :, :2].sum((1, 2)) == 2) & (x[:, 2:4, :2].sum((1, 2)) == 1)).all())
        True
    """
    return _temporal_order(rng, batch, length, (0.1, 0.5))


def temporal_order_3bit(rng: np.random.Generator, batch: int, length: int) -> Sample:
    """3-bit temporal order: three relevant symbols, in [0.1 T, 0.2 T), [0.3 T, 0.4 T) and
    [0.6 T, 0.7 T); the class is v₀ + 2 v₁ + 4 v₂ (8 classes).

    Shapes:
        returns inputs ``(B, T, 6)`` and targets ``(B,)`` in ``{0, …, 7}``.
    """
    return _temporal_order(rng, batch, length, (0.1, 0.3, 0.6))


def _two_markers(rng: np.random.Generator, batch: int, length: int, random_length: bool,
                 combine: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Sample:
    steps = length + (int(rng.integers(int(0.1 * length))) if random_length else 0)
    first = rng.integers(int(0.1 * steps), size=batch)
    second = rng.integers(int(0.4 * steps), size=batch) + int(0.1 * steps)
    inputs = np.zeros((batch, steps, 2))
    inputs[:, :, 1] = rng.uniform(size=(batch, steps))
    rows = np.arange(batch)
    inputs[rows, first, 0] = 1.0
    inputs[rows, second, 0] = 1.0
    target = combine(inputs[rows, first, 1], inputs[rows, second, 1])
    return inputs, target[:, None]


def adding(rng: np.random.Generator, batch: int, length: int,
           random_length: bool = True) -> Sample:
    """Adding: channel 1 carries U[0, 1) values, channel 0 marks two of them, one in the
    first tenth and one in [0.1 T, 0.5 T); the target is their mean.

    With ``random_length`` the batch has T + U[0, T/10) steps (the authors' generator).

    Shapes:
        returns inputs ``(B, T', 2)`` and targets ``(B, 1)``.

    Example:
        >>> x, y = adding(np.random.default_rng(0), 4, 50, random_length=False)
        >>> x.shape, y.shape, x[:, :, 0].sum(1).tolist()
        ((4, 50, 2), (4, 1), [2.0, 2.0, 2.0, 2.0])
        >>> bool(np.allclose(y[:, 0], (x[:, :, 0] * x[:, :, 1]).sum(1) / 2))
        True
    """
    return _two_markers(rng, batch, length, random_length, lambda a, b: (a + b) / 2)


def multiplication(rng: np.random.Generator, batch: int, length: int,
                   random_length: bool = True) -> Sample:
    """Multiplication: as :func:`adding` with the product of the two marked values.

    Shapes:
        returns inputs ``(B, T', 2)`` and targets ``(B, 1)``.
    """
    return _two_markers(rng, batch, length, random_length, lambda a, b: a * b)


def random_permutation(rng: np.random.Generator, batch: int, length: int) -> Sample:
    """Random permutation: one-hot symbols over 100 channels; the first symbol is 0 or 1,
    the rest are drawn from {2, …, 99}; predict the first symbol after the last step.

    Shapes:
        returns inputs ``(B, T, 100)`` and targets ``(B,)`` in ``{0, 1}`` (100 classes).

    Example:
        >>> x, y = random_permutation(np.random.default_rng(0), 5, 12)
        >>> bool((x[:, 0].argmax(-1) == y).all()), bool((x[:, 1:].argmax(-1) >= 2).all())
        (True, True)
    """
    symbols = rng.integers(2, 100, size=(batch, length))
    first = rng.integers(2, size=batch)
    symbols[:, 0] = first
    return _one_hot(symbols, 100), first


def noiseless_memorization(rng: np.random.Generator, batch: int, length: int,
                           values: int = 5, positions: int = 10) -> Sample:
    """Noiseless memorisation: a pattern of ``positions`` symbols (each one of ``values``)
    is shown first, then ``length`` blank steps, then the recall cue, then it must be
    reproduced over the last ``positions`` steps.

    Input channels: the ``values`` symbols, the blank marker, the recall cue. Targets: the
    blank class (index ``values``) on every step but the last ``positions``, which must
    reproduce the pattern. A sequence is solved only when every step is right.

    Shapes:
        returns inputs ``(B, T + 2P, values + 2)`` and targets ``(B, T + 2P)`` in
        ``{0, …, values}``.

    Example:
        >>> x, y = noiseless_memorization(np.random.default_rng(0), 2, 3, values=5, positions=4)
        >>> x.shape, y.shape
        ((2, 11, 7), (2, 11))
        >>> bool((y[:, -4:] == x[:, :4].argmax(-1)).all()), bool((y[:, :-4] == 5).all())
        (True, True)
        >>> x[0].argmax(-1)[4:].tolist()
        [5, 5, 5, 6, 5, 5, 5]
    """
    steps = length + 2 * positions
    pattern = rng.integers(values, size=(batch, positions))
    symbols = np.full((batch, steps), values)  # the blank marker
    symbols[:, :positions] = pattern
    symbols[:, length + positions] = values + 1  # the recall cue
    targets = np.full((batch, steps), values)  # the blank class
    targets[:, -positions:] = pattern
    return _one_hot(symbols, values + 2), targets


class SequenceTask(Environment):
    """A seeded stream of fresh sequences from one generator.

    Training batch ``step`` is drawn from ``numpy.random.default_rng([seed, 0, step])``, so
    it is a pure function of the seed and the step. The ``test`` split is ``test_size``
    sequences from ``default_rng([seed, 1, k])`` for batch ``k``; the ``train`` split is the
    first training batches, as many sequences as ``test_size``.
    """

    def __init__(self, sample: Callable[[np.random.Generator, int], Sample], info: EnvInfo, *,
                 seed: int, batch_size: int, test_size: int, eval_batch_size: int,
                 device: str, dtype: torch.dtype) -> None:
        self.sample = sample
        self.info = info
        self.seed = seed
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.dtype = dtype
        sizes = [eval_batch_size] * (test_size // eval_batch_size)
        self.test = [self._draw((1, k), size)
                     for k, size in enumerate(sizes + [test_size % eval_batch_size] * bool(
                         test_size % eval_batch_size))]
        self.train_eval_steps = -(-test_size // batch_size)

    def _draw(self, key: tuple[int, int], size: int) -> Batch:
        inputs, targets = self.sample(np.random.default_rng([self.seed, *key]), size)
        floating = targets.dtype.kind == "f"
        return Batch(torch.as_tensor(inputs, dtype=self.dtype, device=self.device),
                     torch.as_tensor(targets, dtype=self.dtype if floating else torch.long,
                                     device=self.device))

    def train_batch(self, step: int, model: nn.Module | None) -> Batch:
        return self._draw((0, step), self.batch_size)

    def split(self, name: str) -> Iterator[Batch]:
        if name == "test":
            return iter(self.test)
        if name == "train":
            return (self.train_batch(step, None) for step in range(self.train_eval_steps))
        raise KeyError(f"unknown split {name!r}; splits: test, train")

    def extra_repr(self) -> str:
        return f"{self.info}, batch_size={self.batch_size}"


_CLASSIFIERS: dict[str, tuple[Callable[..., Sample], int, int]] = {
    "temporal-order": (temporal_order, 6, 4),
    "temporal-order-3bit": (temporal_order_3bit, 6, 8),
    "random-permutation": (random_permutation, 100, 100),
}
_REGRESSIONS: dict[str, Callable[..., Sample]] = {
    "adding": adding,
    "multiplication": multiplication,
}


def build_task(name: str) -> Callable[..., SequenceTask]:
    """The factory of environment ``name`` (one of the five fixed-readout tasks)."""

    def build(params: SequenceTaskParams, *, seed: int, device: str,
              dtype: torch.dtype) -> SequenceTask:
        length = params.length
        if name in _CLASSIFIERS:
            generator, inputs, classes = _CLASSIFIERS[name]
            info = EnvInfo(inputs, classes, LAST_CLASSIFICATION)

            def sample(rng: np.random.Generator, batch: int) -> Sample:
                return generator(rng, batch, length)
        else:
            generator = _REGRESSIONS[name]
            info = EnvInfo(2, 1, LAST_REGRESSION)

            def sample(rng: np.random.Generator, batch: int) -> Sample:
                return generator(rng, batch, length, params.random_length)

        return SequenceTask(sample, info, seed=seed, batch_size=params.batch_size,
                            test_size=params.test_size, eval_batch_size=params.eval_batch_size,
                            device=device, dtype=dtype)

    return build


build_temporal_order = build_task("temporal-order")
build_temporal_order_3bit = build_task("temporal-order-3bit")
build_adding = build_task("adding")
build_multiplication = build_task("multiplication")
build_random_permutation = build_task("random-permutation")


def build_memorization(params: MemorizationParams, *, seed: int, device: str,
                       dtype: torch.dtype) -> SequenceTask:
    """Factory of ``noiseless-memorization``."""

    def sample(rng: np.random.Generator, batch: int) -> Sample:
        return noiseless_memorization(rng, batch, params.length, params.values,
                                      params.positions)

    info = EnvInfo(params.values + 2, params.values + 1, SEQUENCE_CLASSIFICATION)
    return SequenceTask(sample, info, seed=seed, batch_size=params.batch_size,
                        test_size=params.test_size, eval_batch_size=params.eval_batch_size,
                        device=device, dtype=dtype)
