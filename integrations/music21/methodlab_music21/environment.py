"""Piano-roll environments: random training windows and whole pieces for evaluation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from methodlab.components import Batch, EnvInfo, Environment
from torch import nn

from methodlab_music21.config import ChoraleParams, FolkTuneParams
from methodlab_music21.corpora import SPLITS, load_named_pieces

__all__ = ["PianoRollEnvironment", "build_bach_chorales", "build_folk_tunes", "marginal_rates"]


def marginal_rates(rolls: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-pitch rate of sounding frames with add-one smoothing, ``(c_p + 1) / (n + 2)``.

    ``c_p`` counts the frames in which pitch ``p`` sounds and ``n`` all frames; the smoothing
    keeps pitches that never sound in the training set at a finite NLL.

    Example:
        >>> marginal_rates([torch.tensor([[1., 0.], [1., 0.]])])
        tensor([0.7500, 0.2500])
    """
    frames = torch.cat(list(rolls))  # (sum T_i, P)
    return (frames.sum(0) + 1) / (len(frames) + 2)


class PianoRollEnvironment(Environment):
    """Binary piano rolls: training windows of ``crop`` frames, whole pieces for evaluation.

    ``train_batch(step)`` draws ``B`` training pieces uniformly with replacement and, in each,
    a window start uniformly from ``0 .. T_i - crop``; both come from a generator seeded by
    ``(seed, step)`` only. A piece shorter than ``crop`` is used whole and padded with silent
    frames. ``split(name)`` yields one piece per batch.

    Shapes:
        train batches: ``inputs`` ``(B, crop, P)``, ``targets`` None; split batches:
        ``inputs`` ``(1, T_i, P)``.
    """

    def __init__(self, pieces: dict[str, list[tuple[str, torch.Tensor]]], *, batch_size: int,
                 crop: int, seed: int) -> None:
        if not pieces["train"]:
            raise ValueError("the collection has no training pieces")
        self.names = {split: [name for name, _ in pieces[split]] for split in SPLITS}
        self.rolls = {split: [roll for _, roll in pieces[split]] for split in SPLITS}
        self.batch_size = batch_size
        self.crop = crop
        self.seed = seed
        pitches = self.rolls["train"][0].shape[1]
        self.pitch_rates = marginal_rates(self.rolls["train"])  # (P,)
        self.info = EnvInfo(pitches, pitches, "piano-roll", len(self.rolls["train"]))

    def train_batch(self, step: int, model: nn.Module) -> Batch:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        train = self.rolls["train"]
        choice = torch.randint(len(train), (self.batch_size,), generator=generator).tolist()
        starts = torch.rand(self.batch_size, generator=generator).tolist()
        roll = train[0].new_zeros(self.batch_size, self.crop, self.info.in_features)  # (B, T, P)
        for row, (index, u) in enumerate(zip(choice, starts, strict=True)):
            piece = train[index]
            start = int(u * (max(len(piece) - self.crop, 0) + 1))
            window = piece[start : start + self.crop]
            roll[row, : len(window)] = window
        return Batch(roll)

    def split(self, name: str) -> Iterator[Batch]:
        if name not in self.rolls:
            raise KeyError(f"unknown split {name!r}; known: {', '.join(SPLITS)}")
        return (Batch(roll.unsqueeze(0)) for roll in self.rolls[name])

    def __repr__(self) -> str:
        sizes = ", ".join(f"{split}={len(self.rolls[split])}" for split in SPLITS)
        return (f"{type(self).__name__}({sizes}, P={self.info.in_features}, "
                f"batch_size={self.batch_size}, crop={self.crop})")


def _build(collection: str, params: ChoraleParams, seed: int, device: str,
           dtype: torch.dtype) -> PianoRollEnvironment:
    pieces = load_named_pieces(collection, min_pitch=params.min_pitch,
                               max_pitch=params.max_pitch, quantum=params.quantum,
                               cache_dir=params.cache_dir, limit=params.limit, dtype=dtype)
    pieces = {split: [(name, roll.to(device)) for name, roll in items]
              for split, items in pieces.items()}
    return PianoRollEnvironment(pieces, batch_size=params.batch_size, crop=params.crop,
                                seed=seed)


def build_bach_chorales(params: ChoraleParams, *, seed: int, device: str,
                        dtype: torch.dtype) -> PianoRollEnvironment:
    return _build("bach-chorales", params, seed, device, dtype)


def build_folk_tunes(params: FolkTuneParams, *, seed: int, device: str,
                     dtype: torch.dtype) -> PianoRollEnvironment:
    return _build("folk-tunes", params, seed, device, dtype)
