"""sequence-nll through methodlab-music21's frame-nll evaluator (no corpus parse needed)."""

from __future__ import annotations

import torch
from methodlab.components import Batch
from methodlab.plugin_manager import get_plugin_system
from methodlab_rnn_advances.config import PianoRollRNNParams, SyntheticChoralesParams
from methodlab_rnn_advances.losses import SequenceNLL
from methodlab_rnn_advances.rnn import PianoRollRNN
from methodlab_rnn_advances.synthetic import build_synthetic_chorales


def test_frame_nll_is_total_sequence_nll_per_predicted_frame():
    env = build_synthetic_chorales(
        SyntheticChoralesParams(n_train=4, n_valid=3, n_test=1, min_length=32, max_length=40),
        seed=0, device=torch.device("cpu"), dtype=torch.float64)
    torch.manual_seed(0)
    model = PianoRollRNN(env.info.in_features, PianoRollRNNParams(hidden=8, nade_hidden=4))
    model = model.to(torch.float64)
    loss = SequenceNLL(l1=0.5)  # the penalty must not leak into the metric
    spec = get_plugin_system().get("evaluator", "music21:frame-nll")
    evaluator = spec.load_factory()(spec.params_cls(split="valid"), env=env)
    metrics = evaluator(model, env, loss)
    pieces = [b.inputs for b in env.split("valid")]
    with torch.no_grad():
        frames = sum(p.shape[1] - 1 for p in pieces)
        expected = sum(float(model.frame_nll(p)[0].sum()) for p in pieces) / frames
        per_piece = [float(SequenceNLL()(model, Batch(p))) for p in pieces]
    assert abs(metrics["nll"] - expected) < 1e-10
    # Pieces differ in length: the metric weights frames, not pieces.
    assert len({p.shape[1] for p in pieces}) > 1
    assert abs(metrics["nll"] - sum(per_piece) / len(per_piece)) > 1e-6
