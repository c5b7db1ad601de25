"""Per-tag ROC-AUC and accuracy (macro means) of the RBMs, the scikit-learn baselines and the
SVMs trained on smoothed or raw annotator tags.

The baselines are evaluators, not models: each fits one scikit-learn classifier per tag on the
environment's ``train`` split when it is first called (and caches the fitted scores per
environment), then scores a split. An arm that uses one sets ``train.steps = 0``: its model
is built (every arm has one) but never read, so the run file compares the DRBM with the
baselines on the same split, under the same metric, in one run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from methodlab.components import Environment, Evaluator, Loss
from torch import nn

from methodlab_crbm_autotagger.config import SklearnTaggerParams, SmoothedSVMParams, TagAUCParams
from methodlab_crbm_autotagger.data import AnnotatorEnvironment

__all__ = ["SklearnTagger", "SmoothedSVM", "TagAUC", "build_sklearn_tagger",
           "build_smoothed_svm", "build_tag_auc", "tag_metrics"]


def tag_metrics(scores: np.ndarray, predictions: np.ndarray, truth: np.ndarray
                ) -> dict[str, float]:
    """Macro means over tags of ROC-AUC (``auc``) and accuracy (``accuracy``).

    ``scores``, ``predictions`` (0/1) and ``truth`` (0/1) have shape ``(N, L)``. A tag whose
    truth has one class only has no AUC and is left out of ``auc``; ``auc_tags`` counts the
    tags that entered it.

    Example:
        >>> truth = np.array([[1, 0], [0, 0], [1, 1]])
        >>> scores = np.array([[0.9, 0.2], [0.1, 0.4], [0.6, 0.3]])
        >>> {k: round(v, 4) for k, v in tag_metrics(scores, scores > 0.5, truth).items()}
        {'auc': 0.75, 'accuracy': 0.8333, 'auc_tags': 2.0}
    """
    from sklearn.metrics import roc_auc_score

    aucs = [roc_auc_score(truth[:, tag], scores[:, tag]) for tag in range(truth.shape[1])
            if 0 < truth[:, tag].sum() < len(truth)]
    accuracy = (np.asarray(predictions, dtype=float) == truth).mean(0)
    return {"auc": float(np.mean(aucs)) if aucs else 0.5, "accuracy": float(accuracy.mean()),
            "auc_tags": float(len(aucs))}


def _split_arrays(env: Environment, split: str) -> tuple[np.ndarray, np.ndarray]:
    batches = list(env.split(split))
    inputs = torch.cat([b.inputs for b in batches]).detach().cpu().double().numpy()
    targets = torch.cat([b.targets for b in batches]).detach().cpu().double().numpy()
    return inputs, targets


class TagAUC(Evaluator):
    """The model's marginals p(y_l = 1 | x) scored against a split's tags; accuracy thresholds
    them at 0.5. Metrics ``auc``, ``accuracy``, ``auc_tags`` (see :func:`tag_metrics`)."""

    def __init__(self, split: str) -> None:
        self.split = split

    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        inputs, truth = _split_arrays(env, self.split)
        parameter = next(model.parameters())
        with torch.no_grad():
            scores = model(torch.as_tensor(inputs, dtype=parameter.dtype,
                                           device=parameter.device)).cpu().double().numpy()
        return tag_metrics(scores, scores > 0.5, truth)


def _fit_binary(estimator: Any, inputs: np.ndarray, targets: np.ndarray,
                weights: np.ndarray | None = None) -> Any | None:
    """Fit a binary classifier; ``None`` when the (weighted) targets hold one class only."""
    if weights is None:
        weights = np.ones(len(targets))
    keep = weights > 0      # zero-weight rows change nothing; dropping them saves SVM time
    if len(np.unique(targets[keep])) < 2:
        return None
    return estimator.fit(inputs[keep], targets[keep], sample_weight=weights[keep])


def _scores(fitted: Any | None, inputs: np.ndarray, constant: float) -> np.ndarray:
    if fitted is None:
        return np.full(len(inputs), constant)
    if hasattr(fitted, "predict_proba"):
        return fitted.predict_proba(inputs)[:, 1]
    return fitted.decision_function(inputs)


class SklearnTagger(Evaluator):
    """Independent per-tag scikit-learn classifiers fitted on ``train``, scored on ``split``.

    ``logistic``: ``LogisticRegression(C)``; ``svm``: ``SVC(C, kernel="rbf")`` scored by its
    decision function (accuracy at 0); ``mlp``: ``MLPClassifier((hidden,), alpha)``.
    A tag with one class in training gets a constant score. The model argument is ignored.
    """

    def __init__(self, params: SklearnTaggerParams) -> None:
        self.params = params
        self._cache: dict[int, dict[str, float]] = {}

    def _estimator(self) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.neural_network import MLPClassifier
        from sklearn.svm import SVC

        p = self.params
        if p.estimator == "logistic":
            return LogisticRegression(C=p.C, max_iter=p.max_iter)
        if p.estimator == "svm":
            return SVC(C=p.C, kernel="rbf")
        return MLPClassifier(hidden_layer_sizes=(p.hidden,), alpha=p.alpha, max_iter=p.max_iter,
                             random_state=p.random_state)

    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        if id(env) not in self._cache:
            train_x, train_y = _split_arrays(env, "train")
            test_x, truth = _split_arrays(env, self.params.split)
            scores = np.stack([
                _scores(_fit_binary(self._estimator(), train_x, train_y[:, tag]), test_x,
                        float(train_y[:, tag].mean()))
                for tag in range(train_y.shape[1])], 1)
            threshold = 0.0 if self.params.estimator == "svm" else 0.5
            self._cache = {id(env): tag_metrics(scores, scores > threshold, truth)}
        return self._cache[id(env)]


class SmoothedSVM(Evaluator):
    """RBF SVMs on the clips' features, trained on targets from the annotators, scored by
    per-tag AUC and accuracy against the true tags of the ``test`` clips.

    Soft targets s ∈ [0, 1] train each tag's SVM on every clip twice, as a positive with
    weight s / (2 mean(s)) and as a negative with weight (1 − s) / (2 mean(1 − s))
    (``sample_weight``; the classes are balanced, each with half the total weight); hard
    targets are the special case s ∈ {0, 1}, so all target kinds share one code path.
    ``smoothed`` targets are the model's (the tag-smoothing CRBM's) p(y_l = 1 | c) averaged
    over the clip's K annotators, each conditioned on the other K − 1. Needs
    ``simulated-annotators``.
    """

    def __init__(self, params: SmoothedSVMParams) -> None:
        self.params = params

    def _targets(self, model: nn.Module, env: AnnotatorEnvironment) -> np.ndarray:
        annotations = env.annotations
        if self.params.targets == "smoothed":
            with torch.no_grad():
                probs = model(env.train.inputs)
            return probs.view(annotations.shape).mean(0).cpu().double().numpy()
        if self.params.targets == "annotator":
            return annotations[0].cpu().double().numpy()
        if self.params.targets == "union":
            return annotations.amax(0).cpu().double().numpy()
        return env.clips.splits["train"].targets.cpu().double().numpy()

    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        from sklearn.svm import SVC

        if not isinstance(env, AnnotatorEnvironment):
            raise KeyError("smoothed-svm needs the simulated-annotators environment")
        targets = self._targets(model, env)
        features, _ = _split_arrays(env.clips, "train")
        test_x, truth = _split_arrays(env.clips, "test")
        doubled = np.concatenate([features, features])
        labels = np.concatenate([np.ones(len(features)), np.zeros(len(features))])
        columns = []
        for tag in range(targets.shape[1]):
            positive, negative = targets[:, tag], 1 - targets[:, tag]
            # Balanced classes: both copies carry half the total weight, as the paper's
            # balanced training sets do; unbalanced soft targets (annotators reveal 30 % of
            # the tags) let the negatives swamp the SVM.
            weights = np.concatenate([positive / max(positive.mean(), 1e-12),
                                      negative / max(negative.mean(), 1e-12)]) / 2
            fitted = _fit_binary(SVC(C=self.params.C, kernel="rbf"), doubled, labels, weights)
            columns.append(_scores(fitted, test_x, 0.0))
        scores = np.stack(columns, 1)
        return tag_metrics(scores, scores > 0, truth)


def build_tag_auc(params: TagAUCParams, *, env: Environment) -> TagAUC:
    """Factory of ``tag-auc``."""
    return TagAUC(params.split)


def build_sklearn_tagger(params: SklearnTaggerParams, *, env: Environment) -> SklearnTagger:
    """Factory of ``sklearn-tagger``."""
    return SklearnTagger(params)


def build_smoothed_svm(params: SmoothedSVMParams, *, env: Environment) -> SmoothedSVM:
    """Factory of ``smoothed-svm``."""
    return SmoothedSVM(params)
