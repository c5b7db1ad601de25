"""The built-in character-text environment, bits-per-character evaluator and recurrent model."""

from __future__ import annotations

import math

import pytest
import torch
from methodlab import api
from methodlab.builtins.losses import CrossEntropy
from methodlab.builtins.models import Recurrent
from methodlab.builtins.text import BitsPerCharacter, CharText, default_text


def test_train_batches_are_seeded_windows_of_the_training_part_only():
    text = "".join(chr(ord("a") + i % 26) for i in range(1000))
    env = CharText(text, seq_len=10, batch_size=4, valid_fraction=0.2, seed=3)
    first, again = env.train_batch(5, None), env.train_batch(5, None)
    assert torch.equal(first.inputs, again.inputs)
    assert not torch.equal(first.inputs, env.train_batch(6, None).inputs)
    assert not torch.equal(first.inputs, CharText(text, seq_len=10, batch_size=4,
                                                  valid_fraction=0.2).train_batch(5, None).inputs)
    assert first.inputs.dtype == torch.long and first.inputs.shape == (4, 10)
    # Consecutive letters: each target is its input's successor.
    assert torch.equal(first.targets, (first.inputs + 1) % 26)
    assert env.info.train_size == 800 and len(env.splits["valid"]) == 200


def test_a_split_is_covered_once_in_consecutive_windows():
    env = CharText("0123456789" * 30, seq_len=7, batch_size=5, valid_fraction=0.5,
                   eval_chars=100)
    batches = list(env.split("valid"))
    inputs = torch.cat([b.inputs.flatten() for b in batches])
    assert torch.equal(inputs, env.splits["valid"][: len(inputs)])
    assert len(inputs) == 98  # 14 windows of 7 within the first 101 characters
    with pytest.raises(KeyError, match="unknown split 'test'"):
        next(env.split("test"))


def test_the_default_text_is_pydocs_help_topics():
    text = default_text()
    assert 400_000 < len(text) < 1_000_000
    assert "The Python Language Reference" in text or "lambda" in text


def test_bits_per_character_of_a_uniform_model_is_log2_of_the_vocabulary():
    env = CharText("abcdefgh" * 50, seq_len=5, batch_size=3)

    class Uniform(torch.nn.Module):
        def forward(self, tokens):
            return torch.zeros(*tokens.shape, 8)

    bpc = BitsPerCharacter("valid")(Uniform(), env, CrossEntropy())["bpc"]
    assert bpc == pytest.approx(math.log2(8), abs=1e-6)


def test_a_recurrent_net_learns_a_periodic_text_well_below_one_bit(tmp_path):
    (tmp_path / "text.txt").write_text("the cat sat on the mat. " * 200)
    (tmp_path / "run.toml").write_text(f"""
name = "periodic"
[train]
steps = 150
threads = 1
[environment]
use = "char-text"
path = "{tmp_path / 'text.txt'}"
seq_len = 32
batch_size = 16
[model]
use = "recurrent"
cell = "gru"
hidden = 32
[loss]
use = "cross-entropy"
[optimizer]
use = "adam"
lr = 0.02
[evaluators.valid]
use = "bits-per-character"
[[claims]]
left = "valid.bpc"
op = "<"
value = 0.5
""")
    outcome = api.run(tmp_path / "run.toml", out=tmp_path / "out", quiet=True)
    start = outcome.summary["per_seed"]["main"]["valid.bpc@start"][0]
    assert start > math.log2(11) - 0.5  # near uniform over the 11 symbols before training
    assert outcome.claims_passed, outcome.summary["claims"]


def test_recurrent_model_shapes_for_features_and_tokens():
    features = Recurrent(in_features=4, out_features=3, hidden=5, cell="lstm", layers=2)
    assert features(torch.zeros(2, 6, 4)).shape == (2, 6, 3)
    tokens = Recurrent(in_features=7, out_features=7, hidden=5, tokens=True, embedding=3)
    assert tokens.embed.weight.shape == (7, 3)
    assert tokens(torch.zeros(2, 6, dtype=torch.long)).shape == (2, 6, 7)


def test_a_missing_text_file_is_a_one_line_error(tmp_path):
    (tmp_path / "run.toml").write_text(f"""
[environment]
use = "char-text"
path = "{tmp_path / 'missing.txt'}"
[model]
use = "recurrent"
[loss]
use = "cross-entropy"
[optimizer]
use = "sgd"
""")
    with pytest.raises(Exception, match="cannot build environment 'char-text': "
                                        "FileNotFoundError") as error:
        api.run(tmp_path / "run.toml", out=tmp_path / "out", quiet=True)
    assert "\n" not in str(error.value)
