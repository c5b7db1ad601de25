"""Corpus selection, the split rule and the cache (the full corpus only under ``slow``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import music21
import pytest
import torch
from methodlab_music21 import corpora, load_pieces, read_score
from methodlab_music21.corpora import (
    COLLECTIONS,
    Collection,
    cache_path,
    catalogue_split,
    load_named_pieces,
)
from music21 import meter, note, stream


def test_chorale_selection_and_split_sizes():
    units = COLLECTIONS["bach-chorales"].units()
    names = [name for name, _ in units]
    assert len(names) == 409
    assert "bwv846" not in names and all(path.suffix in {".mxl", ".xml"} for _, path in units)
    assert names[:3] == ["bwv1.6", "bwv2.6", "bwv3.6"]  # catalogue order, not string order
    assert Counter(map(catalogue_split, names)) == {"train": 231, "valid": 100, "test": 78}


def test_folk_selection_and_split_sizes():
    units = COLLECTIONS["folk-tunes"].units()
    assert len(units) == 1838 == len({name for name, _ in units})
    splits = Counter(COLLECTIONS["folk-tunes"].split_of(name) for name, _ in units)
    assert splits == {"train": 1077, "valid": 365, "test": 396}


def test_variants_share_their_chorale_split():
    assert catalogue_split("bwv248.23-2") == catalogue_split("bwv248.23-s") == catalogue_split(
        "bwv248.23.mxl")
    assert catalogue_split("bwv18.5-lz") == catalogue_split("bwv18.5-w")


def test_limited_load_parses_only_the_first_pieces_per_split(tmp_path):
    pieces = load_named_pieces("bach-chorales", limit=1, cache_dir=str(tmp_path))
    assert [name for name, _ in pieces["train"]] == ["bwv1.6"]
    assert [name for name, _ in pieces["valid"]] == ["bwv3.6"]
    assert [name for name, _ in pieces["test"]] == ["bwv32.6"]
    name, roll = pieces["train"][0]
    assert roll.shape == (80, 53) and roll.dtype == torch.float32
    # BWV 1.6 (F major) opens on an F-major triad, F3 A3 C4 F4; ...
    assert (roll[0].nonzero()[:, 0] + 36).tolist() == [53, 57, 60, 65]
    # ... the same as reading the file directly, over the default range.
    path = dict(COLLECTIONS["bach-chorales"].units())[name]
    torch.testing.assert_close(roll, read_score(path, min_pitch=36, max_pitch=88), rtol=0,
                               atol=0)
    assert not any(tmp_path.iterdir()), "a limited load must not write a cache"


def _tiny_collection(tmp_path: Path) -> Collection:
    # Three one-note pieces on disk, written with music21: a collection the cache can hold.
    units = []
    for i, name in enumerate(["bwv1.1", "bwv2.1", "bwv4.1"]):
        path = tmp_path / f"{name}.musicxml"
        stream.Score([stream.Part([meter.TimeSignature("4/4"),
                                   note.Note(60 + i, quarterLength=2 + i)])]).write(
            "musicxml", fp=path)
        units.append((name, path))
    return Collection("tiny", lambda: units, COLLECTIONS["bach-chorales"].parse,
                      catalogue_split, min_pitch=60, max_pitch=64, quantum=1.0)


def test_cache_is_written_once_and_read_back(tmp_path, monkeypatch):
    (tmp_path / "scores").mkdir()
    monkeypatch.setitem(COLLECTIONS, "tiny", _tiny_collection(tmp_path / "scores"))
    cache = tmp_path / "cache"
    cold = load_named_pieces("tiny", cache_dir=str(cache))
    path = cache_path("tiny", 1.0, str(cache))
    assert path.is_file()
    assert path.name == f"tiny-m21_{music21.__version__}-q1-v1.pt"

    def no_parse(*_args):
        raise AssertionError("parsed although the cache exists")

    monkeypatch.setattr(corpora, "_parse", no_parse)
    corpora._pieces.cache_clear()  # read the file, not the in-process memo
    warm = load_named_pieces("tiny", cache_dir=str(cache))
    assert cold.keys() == warm.keys()
    for split in cold:
        for (name_a, roll_a), (name_b, roll_b) in zip(cold[split], warm[split], strict=True):
            assert name_a == name_b
            torch.testing.assert_close(roll_a, roll_b, rtol=0, atol=0)
    every = [roll for split in warm.values() for _, roll in split]
    assert sorted(int(roll.sum()) for roll in every) == [2, 3, 4]
    # Another pitch range is cut from the same cache; a half quantum is a new cache entry.
    narrow = load_pieces("tiny", min_pitch=59, max_pitch=62, cache_dir=str(cache))
    assert {roll.shape[1] for rolls in narrow.values() for roll in rolls} == {4}
    assert cache_path("tiny", 0.5, str(cache)).name == f"tiny-m21_{music21.__version__}-q1_2-v1.pt"


def test_cache_dir_defaults_to_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("METHODLAB_CACHE", str(tmp_path))
    assert cache_path("bach-chorales", 1.0).parent == tmp_path / "music21"
    monkeypatch.delenv("METHODLAB_CACHE")
    assert cache_path("bach-chorales", 1.0).parent == Path.home() / ".cache/methodlab/music21"


def test_bad_arguments_are_explained():
    with pytest.raises(KeyError, match="known: bach-chorales, folk-tunes"):
        load_pieces("chorales")
    with pytest.raises(ValueError, match="min_pitch <= max_pitch"):
        load_pieces(min_pitch=70, max_pitch=60)


@pytest.mark.slow
def test_full_chorale_corpus():
    pieces = load_pieces("bach-chorales")  # parses and caches on first use
    assert {split: len(rolls) for split, rolls in pieces.items()} == {
        "train": 231, "valid": 100, "test": 78}
    every = [roll for rolls in pieces.values() for roll in rolls]
    assert {roll.shape[1] for roll in every} == {53}
    frames = torch.cat(every)
    # The default range is exactly the corpus's: both extreme pitches occur.
    assert frames[:, 0].any() and frames[:, -1].any()
    assert sorted(len(roll) for roll in every)[len(every) // 2] == 48


@pytest.mark.slow
def test_full_folk_corpus():
    pieces = load_pieces("folk-tunes")
    assert {split: len(rolls) for split, rolls in pieces.items()} == {
        "train": 1077, "valid": 365, "test": 396}
    frames = torch.cat([roll for rolls in pieces.values() for roll in rolls])
    assert frames.shape[1] == 34 and frames[:, 0].any() and frames[:, -1].any()
