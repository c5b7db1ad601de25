"""Checkpoints load with weights_only=True and restore every generator exactly (FT-08)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from methodlab.checkpoint import capture_rng, load_checkpoint, restore_rng, save_checkpoint
from methodlab.errors import UserError


def draws() -> tuple[list[float], list[float], list[float], float]:
    return (torch.rand(4).tolist(), np.random.rand(4).tolist(),
            [random.random() for _ in range(4)], random.gauss(0.0, 1.0))


def test_ft08_rng_states_survive_a_weights_only_round_trip(tmp_path):
    torch.manual_seed(3)
    np.random.seed(3)
    random.seed(3)
    np.random.randn()  # leaves a cached Gaussian in numpy's state
    random.gauss(0.0, 1.0)  # and in Python's
    path = tmp_path / "checkpoint.pt"
    save_checkpoint({"rng": capture_rng(), "step": 7, "best_metric": 0.93}, path)
    expected = draws()

    torch.manual_seed(99)
    np.random.seed(99)
    random.seed(99)
    # Exactly what a user with a plain torch >= 2.6 would do:
    payload = torch.load(path, weights_only=True)
    assert payload["step"] == 7 and payload["best_metric"] == 0.93
    restore_rng(payload["rng"])
    assert draws() == expected

    restore_rng(load_checkpoint(path)["rng"])
    assert draws() == expected


def test_ft08_captured_state_holds_only_tensors_and_plain_values():
    def check(value, where):
        if isinstance(value, dict):
            for key, item in value.items():
                assert isinstance(key, str), where
                check(item, f"{where}.{key}")
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                check(item, f"{where}[{index}]")
        else:
            assert value is None or type(value) in (torch.Tensor, int, float, str, bool), (
                f"{where}: {type(value).__name__}")

    np.random.randn()
    check(capture_rng(), "rng")


def test_ft08_foreign_checkpoint_names_the_rejected_global(tmp_path):
    path = tmp_path / "legacy.pt"
    torch.save({"best_metric": np.float64(0.93), "rng": np.random.get_state()}, path)
    with pytest.raises(UserError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not a methodlab checkpoint loadable with "
                              "weights_only=True (rejected global numpy.")
    assert "weights_only=False" in message and "add_safe_globals" in message
    assert "\n" not in message


def test_corrupt_checkpoints_are_one_line_errors(tmp_path):
    good = tmp_path / "good.pt"
    save_checkpoint({"w": torch.ones(3)}, good)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:100])
    with pytest.raises(UserError, match=r"truncated\.pt: cannot read checkpoint: ") as info:
        load_checkpoint(truncated)
    assert "\n" not in str(info.value)


def test_save_is_atomic(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint({"w": torch.ones(3)}, path)
    before = path.read_bytes()
    with pytest.raises(Exception):  # noqa: B017 - whatever pickling raises
        save_checkpoint({"w": torch.zeros(3), "unpicklable": lambda: None}, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]
    assert torch.equal(load_checkpoint(path)["w"], torch.ones(3))


def test_save_creates_the_directory(tmp_path):
    path = tmp_path / "a" / "b" / "checkpoint.pt"
    save_checkpoint({"step": 1}, path)
    assert load_checkpoint(path) == {"step": 1}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_restore_accepts_states_loaded_onto_the_gpu(tmp_path):
    # A trial on a GPU loads its checkpoint with map_location="cuda"; the generators need the
    # states back on the CPU.
    path = tmp_path / "checkpoint.pt"
    save_checkpoint({"rng": capture_rng()}, path)
    expected = draws()
    state = load_checkpoint(path, map_location="cuda")["rng"]
    assert state["torch"].is_cuda
    restore_rng(state)
    assert draws() == expected
