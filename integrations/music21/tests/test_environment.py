"""Training windows and evaluation pieces of the piano-roll environment."""

from __future__ import annotations

import pytest
import torch
from methodlab_music21.environment import PianoRollEnvironment, marginal_rates
from torch import nn


def _pieces() -> dict[str, list[tuple[str, torch.Tensor]]]:
    generator = torch.Generator().manual_seed(0)

    def roll(length: int) -> torch.Tensor:
        return (torch.rand(length, 5, generator=generator) < 0.4).double()

    return {"train": [("long", roll(20)), ("short", roll(3))],
            "valid": [("v", roll(7))], "test": [("t1", roll(4)), ("t2", roll(6))]}


def _env(seed: int = 0, crop: int = 6) -> PianoRollEnvironment:
    return PianoRollEnvironment(_pieces(), batch_size=16, crop=crop, seed=seed)


def _is_window_of(window: torch.Tensor, piece: torch.Tensor) -> bool:
    if len(piece) < len(window):  # a short piece, whole, then silence
        return (torch.equal(window[: len(piece)], piece)
                and not window[len(piece) :].any())
    return any(torch.equal(window, piece[s : s + len(window)])
               for s in range(len(piece) - len(window) + 1))


def test_train_batches_are_windows_of_training_pieces():
    env = _env()
    pieces = [roll for _, roll in _pieces()["train"]]
    batch = env.train_batch(3, nn.Identity())
    assert batch.targets is None and batch.inputs.shape == (16, 6, 5)
    assert batch.inputs.dtype == torch.float64
    for window in batch.inputs:
        assert any(_is_window_of(window, piece) for piece in pieces)
    # Both pieces and the short one (padded) occur in 16 draws.
    padded = [not window[3:].any() and window[:3].any() for window in batch.inputs]
    assert any(padded) and not all(padded)


def test_train_batches_are_a_function_of_seed_and_step():
    a, b = _env(seed=1), _env(seed=1)
    assert torch.equal(a.train_batch(7, nn.Identity()).inputs,
                       b.train_batch(7, nn.Identity()).inputs)
    # Order of calls does not matter.
    b.train_batch(0, nn.Identity())
    assert torch.equal(a.train_batch(5, nn.Identity()).inputs,
                       b.train_batch(5, nn.Identity()).inputs)
    assert not torch.equal(a.train_batch(5, nn.Identity()).inputs,
                           a.train_batch(6, nn.Identity()).inputs)
    assert not torch.equal(a.train_batch(5, nn.Identity()).inputs,
                           _env(seed=2).train_batch(5, nn.Identity()).inputs)


def test_window_starts_cover_every_offset():
    env = PianoRollEnvironment({"train": [("ramp", torch.eye(10))], "valid": [], "test": []},
                               batch_size=64, crop=4, seed=0)
    starts = {int(window.argmax(1)[0]) for step in range(4)
              for window in env.train_batch(step, nn.Identity()).inputs}
    assert starts == set(range(7))  # 0 .. T - crop


def test_splits_yield_whole_pieces_one_per_batch():
    env = _env()
    test = list(env.split("test"))
    assert [batch.inputs.shape for batch in test] == [(1, 4, 5), (1, 6, 5)]
    assert torch.equal(test[1].inputs[0], _pieces()["test"][1][1])
    assert env.info.in_features == env.info.out_features == 5
    assert env.info.task == "piano-roll" and env.info.train_size == 2
    with pytest.raises(KeyError, match="known: train, valid, test"):
        env.split("validation")


def test_marginal_rates_are_add_one_smoothed_frequencies():
    rolls = [roll for _, roll in _pieces()["train"]]
    frames = torch.cat(rolls)
    expected = (frames.sum(0) + 1) / (23 + 2)
    torch.testing.assert_close(marginal_rates(rolls), expected)
    torch.testing.assert_close(_env().pitch_rates, expected)
