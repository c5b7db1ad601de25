"""Character-level text: next-character prediction on any text file, in bits per character.

By default the text is the English documentation that CPython ships in ``pydoc_data`` (the
help topics of the language reference, about 465,000 characters over 103 symbols), so the
environment needs no download. The last ``valid_fraction`` of the text is the validation split;
training windows are drawn only from the rest.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from methodlab.builtins.config import BitsPerCharacterParams, CharTextParams
from methodlab.components import Batch, EnvInfo, Environment, Evaluator, Loss

__all__ = ["BitsPerCharacter", "CharText", "build_bits_per_character", "build_char_text",
           "default_text"]


def default_text() -> str:
    """The help topics of ``pydoc_data.topics``, concatenated in sorted key order.

    Example:
        >>> text = default_text()
        >>> len(text) > 400_000, text == default_text()
        (True, True)
    """
    from pydoc_data.topics import topics

    return "".join(topics[key] for key in sorted(topics))


class CharText(Environment):
    """Windows of a text as character indices.

    Training batch ``step`` holds ``B`` windows of ``T + 1`` characters at offsets drawn from
    ``(seed, step)``; inputs are the first ``T`` and targets the last ``T`` characters.
    ``split(name)`` covers the split's first ``eval_chars`` characters in consecutive windows.

    Shapes:
        inputs and targets: ``(B, T)`` ``torch.long`` indices into :attr:`vocabulary`.

    Example:
        >>> env = CharText("abcabcabcabc" * 10, seq_len=4, batch_size=2, valid_fraction=0.25)
        >>> batch = env.train_batch(0, None)
        >>> batch.inputs.shape, env.info.out_features, env.vocabulary
        (torch.Size([2, 4]), 3, 'abc')
        >>> bool((batch.targets[:, :-1] == batch.inputs[:, 1:]).all())
        True
    """

    def __init__(self, text: str, *, seq_len: int = 100, batch_size: int = 32,
                 valid_fraction: float = 0.1, eval_chars: int = 100_000, seed: int = 0,
                 device: str | torch.device = "cpu") -> None:
        self.vocabulary = "".join(sorted(set(text)))
        lookup = {char: index for index, char in enumerate(self.vocabulary)}
        codes = torch.tensor([lookup[char] for char in text], dtype=torch.long)
        cut = len(codes) - round(len(codes) * valid_fraction)
        self.splits = {"train": codes[:cut].to(device), "valid": codes[cut:].to(device)}
        if min(len(part) for part in self.splits.values()) <= seq_len:
            raise ValueError(f"the text ({len(text)} characters) is too short for seq_len "
                             f"{seq_len} with valid_fraction {valid_fraction}")
        self.seq_len, self.batch_size, self.eval_chars = seq_len, batch_size, eval_chars
        self.seed = seed
        self.info = EnvInfo(len(self.vocabulary), len(self.vocabulary), "characters", cut)

    def _windows(self, codes: torch.Tensor, starts: torch.Tensor) -> Batch:
        index = starts.unsqueeze(1) + torch.arange(self.seq_len + 1, device=codes.device)
        windows = codes[index]
        return Batch(windows[:, :-1], windows[:, 1:])

    def train_batch(self, step: int, model: nn.Module | None) -> Batch:
        codes = self.splits["train"]
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        starts = torch.randint(len(codes) - self.seq_len, (self.batch_size,),
                               generator=generator)
        return self._windows(codes, starts.to(codes.device))

    def split(self, name: str) -> Iterator[Batch]:
        if name not in self.splits:
            raise KeyError(f"unknown split {name!r}; this environment has {sorted(self.splits)}")
        codes = self.splits[name][: self.eval_chars + 1]
        starts = torch.arange(0, len(codes) - self.seq_len, self.seq_len, device=codes.device)
        for first in range(0, len(starts), self.batch_size):
            yield self._windows(codes, starts[first : first + self.batch_size])


class BitsPerCharacter(Evaluator):
    """Mean next-character cross-entropy over a split in bits: metric ``bpc``.

    :math:`\\mathrm{bpc} = -\\frac{1}{N \\ln 2} \\sum_{t} \\ln p(c_{t+1} \\mid c_{\\le t})`
    from the model's logits ``(B, T, V)``, whatever loss the run trains with.
    """

    def __init__(self, split: str) -> None:
        self.split = split

    @torch.no_grad()
    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        total, count = 0.0, 0
        for batch in env.split(self.split):
            logits = model(batch.inputs)
            total += float(F.cross_entropy(logits.flatten(0, -2).float(),
                                           batch.targets.flatten(), reduction="sum"))
            count += batch.targets.numel()
        return {"bpc": total / count / math.log(2)}


def build_char_text(params: CharTextParams, *, seed: int, device: str,
                    dtype: torch.dtype) -> CharText:
    text = Path(params.path).expanduser().read_text() if params.path else default_text()
    return CharText(text, seq_len=params.seq_len, batch_size=params.batch_size,
                    valid_fraction=params.valid_fraction, eval_chars=params.eval_chars,
                    seed=seed, device=device)


def build_bits_per_character(params: BitsPerCharacterParams, *,
                             env: Environment) -> BitsPerCharacter:
    return BitsPerCharacter(params.split)
