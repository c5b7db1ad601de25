"""Corpora of music21's wheel as piano rolls: file selection, the split rule and the cache.

Collections:

``bach-chorales``
    The chorale scores under ``music21/corpus/bach``: every ``.mxl`` and ``.xml`` file except
    ``bwv846`` (a prelude of the Well-Tempered Clavier). The three Humdrum ``.krn`` files are
    duplicates of ``.mxl`` chorales and the ``.rntxt`` files are Roman-numeral analyses, so
    neither is used: 409 pieces of the 433 files music21 lists for composer ``bach``.
``folk-tunes``
    The tunes of O'Neill's *Music of Ireland* (1850 tunes, 1903) under
    ``music21/corpus/oneills1850``, one piece per O'Neill number (1,838 numbers are present;
    numbers transcribed twice are taken from the first file). Single-line melodies with
    grace notes (which have no duration and so leave no trace).

Split rule for the chorales (deterministic, independent of which other files exist): a
piece's catalogue key is its file name without the variant suffix (``bwv248.23-2`` →
``248.23``); it goes to ``train`` when ``crc32(key) % 5`` is 0, 1 or 2, to ``valid`` when it
is 3 and to ``test`` when it is 4.
Variants of one chorale therefore always share a split. Folk tunes use the same rule
on their O'Neill number (``oneills0626`` → ``626``).

Cache: the cells of every piece over all 128 MIDI pitches, one ``torch.save`` file per
collection and quantum at ``<cache_dir>/music21/<collection>-m21_<music21 version>-q<quantum>
-v<format>.pt``; ``cache_dir`` defaults to ``$METHODLAB_CACHE`` or ``~/.cache/methodlab``.
The pitch range is applied when loading, so changing it needs no new parse.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import re
import zlib
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path

import attrs
import numpy as np
import torch

from methodlab_music21.rolls import NoteCells, parse_file, quantum_fraction, score_cells, to_roll

__all__ = [
    "COLLECTIONS",
    "SPLITS",
    "Collection",
    "cache_path",
    "catalogue_split",
    "default_cache_dir",
    "folk_split",
    "load_named_pieces",
    "load_pieces",
    "typical_length",
]

SPLITS = ("train", "valid", "test")
_FORMAT = 1
_CATALOGUE = re.compile(r"^bwv(\d+(?:\.\d+)?)")


def catalogue_split(name: str) -> str:
    """The split of a piece by its catalogue key (module docstring).

    Example:
        >>> catalogue_split("bwv248.23-2") == catalogue_split("bwv248.23-s")
        True
        >>> catalogue_split("bwv1.6"), catalogue_split("bwv3.6"), catalogue_split("bwv32.6")
        ('train', 'valid', 'test')
    """
    match = _CATALOGUE.match(name)
    key = match.group(1) if match else name
    bucket = zlib.crc32(key.encode()) % 5
    return "train" if bucket < 3 else SPLITS[bucket - 2]


@attrs.frozen
class Collection:
    """A set of pieces in music21's corpus and its documented defaults."""

    name: str
    units: Callable[[], list[tuple[str, Path]]]
    """``(piece name, file)`` of every piece, in catalogue order; cheap (no music parsing)."""
    parse: Callable[[str, Path, float], NoteCells]
    """Parse one piece into its cells at a quantum."""
    split_of: Callable[[str], str]
    min_pitch: int
    max_pitch: int
    quantum: float


def _corpus_root() -> Path:
    from music21 import corpus

    return Path(corpus.__file__).parent


def _natural_key(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _chorale_units() -> list[tuple[str, Path]]:
    files = [path for path in (_corpus_root() / "bach").iterdir()
             if path.suffix in {".mxl", ".xml"} and not path.name.startswith("bwv846")]
    return [(path.stem, path) for path in sorted(files, key=_natural_key)]


def _parse_score(name: str, path: Path, quantum: float) -> NoteCells:
    return score_cells(parse_file(path), quantum)


_TUNE = re.compile(r"^X:\s*(\d+)", re.MULTILINE)


def _folk_units() -> list[tuple[str, Path]]:
    # Several O'Neill numbers were transcribed twice (overlapping files): the first file in
    # name order wins, so every number is one piece.
    units: dict[str, Path] = {}
    for path in sorted((_corpus_root() / "oneills1850").glob("*.abc"), key=_natural_key):
        for number in _TUNE.findall(path.read_text(encoding="utf-8", errors="replace")):
            units.setdefault(f"oneills{int(number):04d}", path)
    return sorted(units.items())


def _parse_tune(name: str, path: Path, quantum: float) -> NoteCells:
    from music21 import converter

    number = int(name.removeprefix("oneills"))
    text = path.read_text(encoding="utf-8", errors="replace")
    tunes = re.split(r"(?m)^(?=X:)", text)
    tune = next(t for t in tunes if (m := _TUNE.match(t)) and int(m.group(1)) == number)
    return score_cells(converter.parse(tune, format="abc", forceSource=True,
                                       storePickle=False), quantum)


def folk_split(name: str) -> str:
    """The split of a folk tune: ``crc32`` of its O'Neill number, as for the chorales.

    Example:
        >>> folk_split("oneills0001") == catalogue_split("1")
        True
    """
    return catalogue_split(str(int(name.removeprefix("oneills"))))


COLLECTIONS: dict[str, Collection] = {
    "bach-chorales": Collection("bach-chorales", _chorale_units, _parse_score, catalogue_split,
                                min_pitch=36, max_pitch=88, quantum=1.0),
    "folk-tunes": Collection("folk-tunes", _folk_units, _parse_tune, folk_split,
                             min_pitch=55, max_pitch=88, quantum=0.5),
}
"""The collections ``load_pieces`` knows, by name."""


def _collection(name: str) -> Collection:
    try:
        return COLLECTIONS[name]
    except KeyError:
        raise KeyError(f"unknown collection {name!r}; known: {', '.join(COLLECTIONS)}") from None


def default_cache_dir(cache_dir: str = "") -> Path:
    """``cache_dir``, else ``$METHODLAB_CACHE``, else ``~/.cache/methodlab``."""
    return Path(cache_dir or os.environ.get("METHODLAB_CACHE") or Path.home() / ".cache"
                / "methodlab").expanduser()


def cache_path(collection: str, quantum: float, cache_dir: str = "") -> Path:
    """Where the parsed ``collection`` at ``quantum`` is cached (module docstring)."""
    q = quantum_fraction(quantum)
    tag = f"{q.numerator}" if q.denominator == 1 else f"{q.numerator}_{q.denominator}"
    return (default_cache_dir(cache_dir) / "music21"
            / f"{collection}-m21_{version('music21')}-q{tag}-v{_FORMAT}.pt")


def _parse_unit(job: tuple[str, str, Path, float]) -> tuple[str, NoteCells]:
    collection, name, path, quantum = job
    return name, COLLECTIONS[collection].parse(name, path, quantum)


def _parse(collection: Collection, units: Sequence[tuple[str, Path]], quantum: float,
           workers: int) -> list[tuple[str, NoteCells]]:
    jobs = [(collection.name, name, path, quantum) for name, path in units]
    # Forked workers inherit the imported music21, so the parallel start-up costs nothing;
    # small jobs (the tests) stay in-process.
    if workers > 1 and len(jobs) >= 32 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            return pool.map(_parse_unit, jobs, chunksize=8)
    return [_parse_unit(job) for job in jobs]


def _save(path: Path, pieces: list[tuple[str, NoteCells]]) -> None:
    lengths = [len(cells[0]) for _, cells in pieces]
    state = {
        "names": [name for name, _ in pieces],
        "frames_per_piece": torch.tensor([cells[2] for _, cells in pieces], dtype=torch.int64),
        "offsets": torch.tensor([0, *np.cumsum(lengths).tolist()], dtype=torch.int64),
        "frames": torch.as_tensor(np.concatenate([c[0] for _, c in pieces]), dtype=torch.int32),
        "pitches": torch.as_tensor(np.concatenate([c[1] for _, c in pieces]), dtype=torch.uint8),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save(state, partial)
    os.replace(partial, path)  # readers never see a half-written cache


def _load(path: Path) -> list[tuple[str, NoteCells]]:
    state = torch.load(path, weights_only=True)
    frames, pitches = state["frames"].numpy(), state["pitches"].numpy().astype(np.int64)
    offsets = state["offsets"].tolist()
    return [(name, (frames[a:b], pitches[a:b], int(length)))
            for name, a, b, length in zip(state["names"], offsets[:-1], offsets[1:],
                                          state["frames_per_piece"].tolist(), strict=True)]


def _first(collection: Collection, items: Sequence[tuple[str, object]],
           limit: int) -> list[tuple[str, object]]:
    """The first ``limit`` items of each split, in their order."""
    counts = dict.fromkeys(SPLITS, 0)
    kept = []
    for name, item in items:
        split = collection.split_of(name)
        if counts[split] < limit:
            kept.append((name, item))
            counts[split] += 1
    return kept


@functools.lru_cache(maxsize=8)
def _pieces(collection: Collection, quantum: float, cache_dir: str, limit: int,
            workers: int) -> list[tuple[str, NoteCells]]:
    """The pieces' cells, memoised per process: every trial of a run builds its environment,
    and the cells are never modified."""
    path = cache_path(collection.name, quantum, cache_dir)
    if path.is_file():
        pieces = _load(path)
        return _first(collection, pieces, limit) if limit else pieces
    if limit:
        # A few pieces per split (tests, smoke runs): parse just those, cache nothing.
        return _parse(collection, _first(collection, collection.units(), limit), quantum,
                      workers)
    pieces = _parse(collection, collection.units(), quantum, workers)
    _save(path, pieces)
    return pieces


def load_named_pieces(
    collection: str = "bach-chorales",
    *,
    min_pitch: int | None = None,
    max_pitch: int | None = None,
    quantum: float | None = None,
    cache_dir: str = "",
    limit: int = 0,
    workers: int = 0,
    dtype: torch.dtype = torch.float32,
) -> dict[str, list[tuple[str, torch.Tensor]]]:
    """Like :func:`load_pieces`, with each roll paired with its piece name."""
    spec = _collection(collection)
    low = spec.min_pitch if min_pitch is None else min_pitch
    high = spec.max_pitch if max_pitch is None else max_pitch
    if not 0 <= low <= high <= 127:
        raise ValueError(f"need 0 <= min_pitch <= max_pitch <= 127, got {low}..{high}")
    if limit < 0:
        raise ValueError(f"limit must be >= 0 (0 = all pieces), got {limit}")
    q = spec.quantum if quantum is None else quantum
    pieces = _pieces(spec, q, cache_dir, limit, workers or min(os.cpu_count() or 1, 8))
    result: dict[str, list[tuple[str, torch.Tensor]]] = {split: [] for split in SPLITS}
    for name, cells in pieces:
        roll = to_roll(cells, low, high, name=f"{collection}/{name}", dtype=dtype)
        result[spec.split_of(name)].append((name, roll))
    return result


def load_pieces(
    collection: str = "bach-chorales",
    *,
    min_pitch: int | None = None,
    max_pitch: int | None = None,
    quantum: float | None = None,
    cache_dir: str = "",
    limit: int = 0,
    workers: int = 0,
    dtype: torch.dtype = torch.float32,
) -> dict[str, list[torch.Tensor]]:
    """The pieces of a corpus collection as binary rolls ``(T_i, P)``, by split.

    The first call parses the whole collection and caches it (module docstring); later calls
    read the cache. With ``limit`` only the first ``limit`` pieces of each split (catalogue
    order) are returned, and when no cache exists only those are parsed and nothing is cached.

    :param collection: a key of :data:`COLLECTIONS`.
    :param min_pitch: MIDI number of roll column 0 (default: the collection's).
    :param max_pitch: MIDI number of the last column, ``P = max_pitch - min_pitch + 1``.
    :param quantum: frame spacing in quarter lengths (default: the collection's).
    :param cache_dir: cache root; empty = ``$METHODLAB_CACHE`` or ``~/.cache/methodlab``.
    :param limit: pieces per split (0 = all).
    :param workers: parsing processes (0 = one per CPU, at most 8).
    :returns: ``{"train": [...], "valid": [...], "test": [...]}``.
    :raises ValueError: when a piece has notes outside the pitch range.
    """
    named = load_named_pieces(collection, min_pitch=min_pitch, max_pitch=max_pitch,
                              quantum=quantum, cache_dir=cache_dir, limit=limit,
                              workers=workers, dtype=dtype)
    return {split: [roll for _, roll in pieces] for split, pieces in named.items()}


def typical_length(rolls: Sequence[torch.Tensor]) -> tuple[int, int, int]:
    """``(min, median, max)`` of the frame counts ``T_i``."""
    lengths = sorted(len(roll) for roll in rolls)
    return lengths[0], lengths[len(lengths) // 2], lengths[-1]

