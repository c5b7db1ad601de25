r"""Procedural chorale-like piano rolls: four voices following a chord progression."""

from __future__ import annotations

import random
from collections.abc import Iterator

import torch
from methodlab.components import Batch, EnvInfo, Environment

from methodlab_rnn_advances.config import SyntheticChoralesParams

__all__ = ["PITCHES", "SyntheticChorales", "build_synthetic_chorales", "make_piece"]

PITCHES = 36
"""Frame width P: three octaves, index 0 is the lowest pitch."""

# Pitch classes of the triads on degrees I, ii, IV, V, vi of a major key, and a Markov chain
# over them with the usual functional moves (ii and IV lead to V, V resolves to I or vi).
_TRIADS = ((0, 4, 7), (2, 5, 9), (5, 9, 0), (7, 11, 2), (9, 0, 4))
_NEXT = ((1, 2, 3, 4), (3,), (0, 1, 3), (0, 0, 4), (1, 2))
_DURATIONS = (1, 2, 2, 4)
_RANGES = ((0, 14), (8, 22), (14, 28), (20, 35))  # bass, tenor, alto, soprano (inclusive)


def _nearest(previous: int, pitch_classes: set[int], low: int, high: int) -> int:
    candidates = [p for p in range(low, high + 1) if p % 12 in pitch_classes]
    return min(candidates, key=lambda p: (abs(p - previous), p))


def make_piece(rng: random.Random, length: int) -> torch.Tensor:
    """One piece of ``length`` frames, a float64 roll ``(T, P)`` with four voices.

    Each chord lasts 1, 2 or 4 frames; the bass takes the chord's root and each upper voice
    the chord tone nearest its previous pitch (smooth voice leading), all in one random key.

    Example:
        >>> roll = make_piece(random.Random(0), 8)
        >>> tuple(roll.shape), bool(((roll.sum(-1) >= 1) & (roll.sum(-1) <= 4)).all())
        ((8, 36), True)
    """
    key = rng.randrange(12)
    voices = [rng.randint(low, high) for low, high in _RANGES]
    roll = torch.zeros(length, PITCHES, dtype=torch.float64)
    degree, t = 0, 0
    while t < length:
        triad = {(key + pc) % 12 for pc in _TRIADS[degree]}
        root = {(key + _TRIADS[degree][0]) % 12}
        voices = [_nearest(previous, root if voice == 0 else triad, *_RANGES[voice])
                  for voice, previous in enumerate(voices)]
        duration = rng.choice(_DURATIONS)
        roll[t:t + duration, voices] = 1.0
        t += duration
        degree = rng.choice(_NEXT[degree])
    return roll


class SyntheticChorales(Environment):
    """Chorale-like piano rolls with the batch protocol of ``methodlab-music21``.

    ``train_batch(step)`` gives ``Batch(inputs=roll)`` with roll ``(B, crop, P)``: B training
    pieces drawn with replacement, each cut at a random offset, a pure function of (seed,
    step). ``split(name)`` yields one whole piece per batch, ``(1, T_i, P)``. The pieces
    depend on ``data_seed`` only, so every trial seed sees the same data.
    """

    def __init__(self, params: SyntheticChoralesParams, *, seed: int, device: torch.device,
                 dtype: torch.dtype) -> None:
        self.params, self.seed, self.device, self.dtype = params, seed, device, dtype
        rng = random.Random(params.data_seed)
        counts = {"train": params.n_train, "valid": params.n_valid, "test": params.n_test}
        self.pieces = {
            name: [make_piece(rng, rng.randint(params.min_length, params.max_length))
                   .to(device=device, dtype=dtype) for _ in range(count)]
            for name, count in counts.items()}
        self.info = EnvInfo(in_features=PITCHES, out_features=PITCHES, task="piano-roll",
                            train_size=params.n_train)

    def train_batch(self, step: int, model: object) -> Batch:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        pieces = self.pieces["train"]
        picks = torch.randint(len(pieces), (self.params.batch_size,), generator=generator)
        windows = []
        for index in picks.tolist():
            piece = pieces[index]
            start = int(torch.randint(len(piece) - self.params.crop + 1, (1,),
                                      generator=generator))
            windows.append(piece[start:start + self.params.crop])
        return Batch(inputs=torch.stack(windows))  # (B, crop, P)

    def split(self, name: str) -> Iterator[Batch]:
        if name not in self.pieces:
            raise KeyError(f"unknown split {name!r}; known: {', '.join(self.pieces)}")
        return (Batch(inputs=piece.unsqueeze(0)) for piece in self.pieces[name])


def build_synthetic_chorales(params: SyntheticChoralesParams, *, seed: int,
                             device: torch.device, dtype: torch.dtype) -> SyntheticChorales:
    return SyntheticChorales(params, seed=seed, device=device, dtype=dtype)
