"""Scores to binary piano rolls: the sampling rule, and reading a file a user points to.

A piano roll of a score is a binary matrix :math:`R \\in \\{0, 1\\}^{T \\times P}`. Frame
:math:`t` is the instant :math:`t q` (``q`` the quantum, in quarter lengths) and

.. math::

    R_{t, p} = 1 \\iff \\text{a note of MIDI pitch } m_0 + p \\text{ sounds at } t q,
    \\quad\\text{i.e. } o \\le t q < o + d

for a note with onset ``o`` and duration ``d`` (quarter lengths from the start of the score,
pickup included). So a note covers frames :math:`\\lceil o/q \\rceil` to
:math:`\\lceil (o + d)/q \\rceil - 1`; a note that does not sound at any grid instant (an
eighth off the beat at ``q = 1``, a grace note) leaves no trace, as in the sampled rolls of
Boulanger-Lewandowski et al. (2012). ``T = ceil(end / q)`` with ``end`` the latest note end.
Sounding, not onsets, is recorded: a tie and a re-struck note of the same pitch give the same
roll, and in a chord each pitch has its own tie (see the tests). Every part and voice is
included; repeats are not expanded; unpitched notes are skipped.

Computation happens on exact fractions, so triplets and other tuplets fall on the grid
exactly when they should.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["NoteCells", "read_score", "score_cells", "to_roll"]

NoteCells = tuple[np.ndarray, np.ndarray, int]
"""``(frames, pitches, T)``: the active cells of a roll over all 128 MIDI pitches, as two
int arrays of the same length (frame index, MIDI number) plus the number of frames."""


def quantum_fraction(quantum: float) -> Fraction:
    """The quantum as an exact fraction (``1/3`` written as ``0.3333`` becomes ``1/3``).

    Example:
        >>> quantum_fraction(0.25), quantum_fraction(1 / 3)
        (Fraction(1, 4), Fraction(1, 3))
    """
    if not quantum > 0:
        raise ValueError(f"quantum must be a positive number of quarter lengths, got {quantum}")
    return Fraction(quantum).limit_denominator(1000)


def score_cells(score: Any, quantum: float) -> NoteCells:
    """The active cells of a parsed music21 score sampled every ``quantum`` quarter lengths.

    :param score: a ``music21.stream.Stream`` (a score, part or measure stream).
    :param quantum: frame spacing ``q`` in quarter lengths (``1`` = a frame per quarter note).
    :returns: ``(frames, pitches, T)`` with duplicates removed.
    """
    q = quantum_fraction(quantum)
    frames: list[int] = []
    pitches: list[int] = []
    end = Fraction(0)
    for element in score.flatten().notes:
        midis = [p.midi for p in getattr(element, "pitches", ())]
        if not midis:
            continue
        onset = Fraction(element.offset)
        stop = onset + Fraction(element.duration.quarterLength)
        end = max(end, stop)
        first, last = math.ceil(onset / q), math.ceil(stop / q)
        for frame in range(first, last):
            frames.extend([frame] * len(midis))
            pitches.extend(midis)
    cells = np.unique(np.stack([np.asarray(frames, np.int64), np.asarray(pitches, np.int64)]),
                      axis=1) if frames else np.zeros((2, 0), np.int64)
    return cells[0], cells[1], math.ceil(end / q)


def to_roll(
    cells: NoteCells,
    min_pitch: int,
    max_pitch: int,
    *,
    name: str = "score",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """A dense roll of shape ``(T, P)``, ``P = max_pitch - min_pitch + 1``, from its cells.

    :raises ValueError: when a note lies outside ``[min_pitch, max_pitch]``; the message gives
        the range the piece needs.

    Example:
        >>> import numpy as np
        >>> to_roll((np.array([0, 0, 1]), np.array([60, 64, 62]), 3), 60, 64)
        tensor([[1., 0., 0., 0., 1.],
                [0., 0., 1., 0., 0.],
                [0., 0., 0., 0., 0.]])
    """
    frames, pitches, length = cells
    if len(pitches) and (pitches.min() < min_pitch or pitches.max() > max_pitch):
        raise ValueError(
            f"{name}: notes span MIDI {int(pitches.min())}..{int(pitches.max())}, outside "
            f"min_pitch..max_pitch = {min_pitch}..{max_pitch}; widen the pitch range")
    roll = torch.zeros(length, max_pitch - min_pitch + 1, dtype=dtype)  # (T, P)
    roll[torch.as_tensor(frames), torch.as_tensor(pitches - min_pitch)] = 1
    return roll


def parse_file(path: str | Path) -> Any:
    """Parse a MIDI or MusicXML file (``.mid``, ``.midi``, ``.musicxml``, ``.xml``, ``.mxl``)
    with music21, without writing music21's own pickle cache."""
    from music21 import converter

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no score file {str(path)!r}")
    return converter.parse(path, forceSource=True, storePickle=False)


def read_score(
    path: str | Path,
    *,
    min_pitch: int = 0,
    max_pitch: int = 127,
    quantum: float = 1.0,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The binary piano roll ``(T, P)`` of a MIDI or MusicXML file a user points to.

    Same sampling rule as the corpora (module docstring). MIDI files are read with music21's
    defaults, which snap note times to sixteenths and eighth-note triplets before sampling.

    :param path: the file; its format is taken from the extension.
    :param min_pitch: MIDI number of roll column 0.
    :param max_pitch: MIDI number of the last column (``P = max_pitch - min_pitch + 1``).
    :param quantum: frame spacing in quarter lengths.
    :raises ValueError: for notes outside the pitch range.
    """
    return to_roll(score_cells(parse_file(path), quantum), min_pitch, max_pitch,
                   name=str(path), dtype=dtype)
