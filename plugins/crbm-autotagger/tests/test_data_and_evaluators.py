"""Environments and evaluators on small ARFF files the tests write, and on MULAN emotions."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from methodlab.arffdata import build_arff_multilabel
from methodlab.builtins.config import ArffMultiLabelParams
from methodlab_crbm_autotagger import EXAMPLE_ARFF
from methodlab_crbm_autotagger.config import (
    SimulatedAnnotatorsParams,
    SklearnTaggerParams,
    SmoothedSVMParams,
    SyntheticTagsParams,
)
from methodlab_crbm_autotagger.data import (
    build_simulated_annotators,
    build_synthetic_tags,
    simulate_annotators,
)
from methodlab_crbm_autotagger.evaluators import SklearnTagger, SmoothedSVM, TagAUC, tag_metrics
from methodlab_crbm_autotagger.rbm import ConditionalRBM

# Run files name ../shared/data/ relative to the repository root, parents[3] of this file.
DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
EMOTIONS = DATA / "emotions.arff"


def write_arff(path, features, tags):
    """A dense ARFF file: numeric features f0.. then {0,1} tags t0.. last."""
    lines = ["@relation test"]
    lines += [f"@attribute f{i} numeric" for i in range(features.shape[1])]
    lines += [f"@attribute t{i} {{0,1}}" for i in range(tags.shape[1])]
    lines.append("@data")
    lines += [",".join([*(f"{v:.5f}" for v in row), *(str(int(t)) for t in labels)])
              for row, labels in zip(features, tags, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def easy_arff(tmp_path):
    """120 clips, 3 features, 2 tags: tag 0 is feature 0 > 0, tag 1 is feature 1 > 0.5."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(120, 3))
    tags = np.stack([features[:, 0] > 0, features[:, 1] > 0.5], 1).astype(float)
    return write_arff(tmp_path / "easy.arff", features, tags)


def arff_env(path, labels=2):
    return build_arff_multilabel(ArffMultiLabelParams(path=str(path), last_labels=labels),
                                 seed=0, device="cpu", dtype=torch.float64)


def annotator_env(path, labels=2, annotators=4, **kwargs):
    params = SimulatedAnnotatorsParams(path=str(path), last_labels=labels,
                                       annotators=annotators, **kwargs)
    return build_simulated_annotators(params, seed=0, device="cpu", dtype=torch.float64)


def test_tag_metrics_leaves_out_one_class_tags():
    truth = np.array([[1, 0], [0, 0], [1, 0]])
    scores = np.array([[0.9, 0.1], [0.2, 0.2], [0.1, 0.9]])
    result = tag_metrics(scores, scores > 0.5, truth)
    assert result == {"auc": 0.5, "accuracy": pytest.approx((2 / 3 + 2 / 3) / 2),
                      "auc_tags": 1.0}


def test_baselines_separate_an_easy_file(easy_arff):
    env = arff_env(easy_arff)
    for estimator in ("logistic", "svm", "mlp"):
        result = SklearnTagger(SklearnTaggerParams(estimator=estimator))(None, env, None)
        assert result["auc"] > 0.95, estimator
        assert result["accuracy"] > 0.85, estimator


def test_tag_auc_scores_the_model_marginals(easy_arff):
    env = arff_env(easy_arff)
    model = ConditionalRBM(3, 2, 2, init_scale=0.0, direct=True, predict="exact").double()
    with torch.no_grad():                    # σ(10 x0) and σ(10 (x1 − 0.5)), standardised x
        model.A.copy_(torch.tensor([[10.0, 0, 0], [0, 10.0, 0]]))
    result = TagAUC("test")(model, env, None)
    assert result["auc"] > 0.95 and result["auc_tags"] == 2.0
    with torch.no_grad():
        model.A.neg_()
    assert TagAUC("test")(model, env, None)["auc"] < 0.05


def test_simulated_annotators_reveal_and_add_at_their_rates():
    truth = (np.random.default_rng(0).random((4000, 5)) < 0.3).astype(float)
    notes = simulate_annotators(truth, 3, reveal=0.3, false_rate=0.02, seed=1)
    assert notes.shape == (3, 4000, 5)
    assert notes[:, truth > 0].mean() == pytest.approx(0.3, abs=0.01)
    assert notes[:, truth == 0].mean() == pytest.approx(0.02, abs=0.003)


def test_annotator_pairs_condition_on_the_other_annotators(easy_arff):
    env = annotator_env(easy_arff, annotators=4)
    annotations = env.annotations
    count, clips, tags = annotations.shape
    assert (count, tags) == (4, 2) and clips == len(env.clips.splits["train"].inputs)
    pairs = env.splits["train"]
    assert pairs.inputs.shape == (4 * clips, 2) == pairs.targets.shape
    a, i = 2, 7
    others = annotations[[0, 1, 3], i].mean(0)
    assert torch.equal(pairs.targets[a * clips + i], annotations[a, i])
    assert torch.allclose(pairs.inputs[a * clips + i], others)
    assert env.info.in_features == env.info.out_features == 2
    # Same run seed, same annotators; another run seed, a fresh draw.
    assert torch.equal(annotator_env(easy_arff, annotators=4).annotations, annotations)
    other = build_simulated_annotators(
        SimulatedAnnotatorsParams(path=str(easy_arff), last_labels=2, annotators=4),
        seed=1, device="cpu", dtype=torch.float64)
    assert not torch.equal(other.annotations, annotations)


def test_smoothed_svm_targets(easy_arff):
    env = annotator_env(easy_arff, reveal=0.3, false_rate=0.02)
    truth = SmoothedSVM(SmoothedSVMParams(targets="true"))(None, env, None)
    one = SmoothedSVM(SmoothedSVMParams(targets="annotator"))(None, env, None)
    assert truth["auc"] > 0.95
    assert one["auc"] < truth["auc"]
    # A "CRBM" whose marginals are the true tags makes the smoothed targets the truth.
    true_tags = env.clips.splits["train"].targets

    class Oracle(torch.nn.Module):
        def forward(self, c):
            return true_tags.repeat(env.annotations.shape[0], 1)

    smoothed = SmoothedSVM(SmoothedSVMParams(targets="smoothed"))(Oracle(), env, None)
    assert smoothed == truth
    with pytest.raises(KeyError, match="simulated-annotators"):
        SmoothedSVM(SmoothedSVMParams())(Oracle(), arff_env(easy_arff), None)


def test_synthetic_tags_are_learnable_by_logistic_regression():
    env = build_synthetic_tags(SyntheticTagsParams(tags=6, n_train=600, n_test=300, noise=0.3),
                               seed=0, device="cpu", dtype=torch.float64)
    assert env.splits["train"].inputs.shape == (600, 40)
    assert env.splits["test"].targets.shape == (300, 6)
    assert SklearnTagger(SklearnTaggerParams())(None, env, None)["auc"] > 0.75


def test_example_arff_is_the_documented_synthetic_sample():
    env = annotator_env(EXAMPLE_ARFF, labels=3, annotators=3)
    assert env.clips.info.in_features == 4 and env.info.out_features == 3
    assert len(env.clips.splits["train"].inputs) + len(env.clips.splits["test"].inputs) == 40


def test_bad_parameters_are_one_line_errors_naming_the_field(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[environment]\nuse = "synthetic-tags"\n'
                   '[model]\nuse = "drbm"\npredict = "loopy"\n'
                   '[loss]\nuse = "crbm-likelihood"\nmethod = "cdd"\n'
                   '[optimizer]\nuse = "adam"\n')
    result = subprocess.run([sys.executable, "-m", "methodlab", "validate", str(bad)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert any("model.predict" in line for line in errors), result.stderr
    assert any("loss.method" in line for line in errors), result.stderr


@pytest.mark.skipif(not EMOTIONS.exists(), reason=f"{EMOTIONS} is absent (../shared not here)")
def test_emotions_has_six_tags_and_annotated_training_clips():
    env = annotator_env(EMOTIONS, labels=6, annotators=5)
    assert env.clips.info.in_features == 72 and env.info.out_features == 6
    assert len(env.clips.splits["train"].inputs) == 415
    assert len(env.clips.splits["test"].inputs) == 178
    assert env.splits["train"].inputs.shape == (5 * 415, 6)
