"""The sampling rule, on small scores written with music21 and read back from disk."""

from __future__ import annotations

import pytest
import torch
from methodlab_music21 import read_score
from music21 import chord, meter, note, stream, tie


def _two_parts() -> stream.Score:
    # Upper part: C4 quarter, D4 and E4 eighths, an F4-A4 half-note chord; lower: a whole C3.
    upper = stream.Part([meter.TimeSignature("4/4"), note.Note("C4", quarterLength=1),
                         note.Note("D4", quarterLength=0.5), note.Note("E4", quarterLength=0.5),
                         chord.Chord(["F4", "A4"], quarterLength=2)])
    lower = stream.Part([meter.TimeSignature("4/4"), note.Note("C3", quarterLength=4)])
    return stream.Score([upper, lower])


def _expected_two_parts(frames_per_quarter: int, low: int) -> torch.Tensor:
    f = frames_per_quarter
    roll = torch.zeros(4 * f, 69 - low + 1)
    for midi, start, stop in [(60, 0, 1), (62, 1, 1.5), (64, 1.5, 2), (65, 2, 4), (69, 2, 4),
                              (48, 0, 4)]:
        roll[int(start * f) : int(stop * f), midi - low] = 1
    return roll


@pytest.mark.parametrize("suffix", [".mid", ".musicxml"])
def test_written_file_reads_back_to_the_exact_roll(tmp_path, suffix):
    path = tmp_path / f"two-parts{suffix}"
    _two_parts().write("midi" if suffix == ".mid" else "musicxml", fp=path)
    roll = read_score(path, min_pitch=48, max_pitch=69, quantum=0.5)
    torch.testing.assert_close(roll, _expected_two_parts(2, 48), rtol=0, atol=0)
    assert roll.shape == (8, 22)


def test_coarse_quantum_samples_at_frame_instants(tmp_path):
    # At one frame per quarter the off-beat E4 eighth (onset 1.5) sounds at no grid instant.
    path = tmp_path / "two-parts.musicxml"
    _two_parts().write("musicxml", fp=path)
    roll = read_score(path, min_pitch=48, max_pitch=69, quantum=1.0)
    expected = torch.zeros(4, 22)
    expected[:, 48 - 48] = 1
    expected[0, 60 - 48] = expected[1, 62 - 48] = 1
    expected[2:4, 65 - 48] = expected[2:4, 69 - 48] = 1
    torch.testing.assert_close(roll, expected, rtol=0, atol=0)


def test_chord_with_one_tied_pitch_keeps_both_chords(tmp_path):
    # FT-15: [C4, E4] then [C4, G4] in one 2/4 measure, only C4 tied across.
    first, second = chord.Chord(["C4", "E4"], quarterLength=1), chord.Chord(["C4", "G4"],
                                                                             quarterLength=1)
    first.notes[0].tie, second.notes[0].tie = tie.Tie("start"), tie.Tie("stop")
    path = tmp_path / "tied.musicxml"
    stream.Score([stream.Part([meter.TimeSignature("2/4"), first, second])]).write(
        "musicxml", fp=path)
    roll = read_score(path, min_pitch=60, max_pitch=67, quantum=0.25)  # 4 frames per quarter
    expected = torch.zeros(8, 8)
    expected[0:8, 0] = 1  # C4 sounds throughout
    expected[0:4, 4] = 1  # E4 with the first chord
    expected[4:8, 7] = 1  # G4 with the second
    torch.testing.assert_close(roll, expected, rtol=0, atol=0)
    assert int(roll.sum()) == 16


def test_triplets_fall_on_a_triplet_grid(tmp_path):
    notes = [note.Note(name, quarterLength=1 / 3) for name in ("C4", "D4", "E4")]
    path = tmp_path / "triplet.musicxml"
    stream.Score([stream.Part([meter.TimeSignature("1/4"), *notes])]).write("musicxml", fp=path)
    roll = read_score(path, min_pitch=60, max_pitch=64, quantum=1 / 3)
    torch.testing.assert_close(roll, torch.tensor([[1.0, 0, 0, 0, 0], [0, 0, 1, 0, 0],
                                                   [0, 0, 0, 0, 1]]), rtol=0, atol=0)


def test_notes_outside_the_range_are_an_error_naming_the_span(tmp_path):
    path = tmp_path / "two-parts.mid"
    _two_parts().write("midi", fp=path)
    with pytest.raises(ValueError, match=r"MIDI 48\.\.69, outside min_pitch\.\.max_pitch = "
                                         r"50\.\.69; widen"):
        read_score(path, min_pitch=50, max_pitch=69)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing\.mid"):
        read_score(tmp_path / "nothing.mid")
