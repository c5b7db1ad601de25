"""Environments: procedurally generated tagged clips, and simulated annotators of an ARFF set.

``synthetic-tags`` is the CPU stand-in of MajorMiner the method notes describe (tags drawn from
latent genres, features a noisy non-linear function of genre and tags); it serves the
conformance suite and the scaling tests (hundreds of tags). ``simulated-annotators`` reads a
multi-label ARFF file through the core's ``arff-multilabel`` environment (same reader, split
and standardisation) and gives every training clip K simulated annotators, each revealing a
true tag with probability ``reveal`` and adding an absent one with probability ``false_rate``.
"""

from __future__ import annotations

import numpy as np
import torch
from methodlab.arffdata import build_arff_multilabel
from methodlab.builtins.config import ArffMultiLabelParams
from methodlab.components import Batch, EnvInfo
from methodlab.supervised import SupervisedEnvironment

from methodlab_crbm_autotagger.config import SimulatedAnnotatorsParams, SyntheticTagsParams

__all__ = ["AnnotatorEnvironment", "build_simulated_annotators", "build_synthetic_tags",
           "simulate_annotators", "synthetic_tags"]


def synthetic_tags(params: SyntheticTagsParams) -> tuple[np.ndarray, np.ndarray]:
    """Features ``(N, D)`` and tags ``(N, L)`` (float64), N = n_train + n_test.

    Each clip draws a genre g uniformly; each genre switches on a random third of the tags
    with probability 0.7 (the rest with 0.05), so tags co-occur within genres and exclude
    across them. Features: tanh(e_g + y V) + noise with Gaussian genre embeddings e_g and tag
    loadings V.

    Example:
        >>> x, y = synthetic_tags(SyntheticTagsParams(tags=4, features=3, n_train=5, n_test=2))
        >>> x.shape, y.shape, sorted(set(y.ravel().tolist())) == [0.0, 1.0]
        ((7, 3), (7, 4), True)
    """
    rng = np.random.default_rng(params.data_seed)
    n = params.n_train + params.n_test
    on = rng.random((params.genres, params.tags)) < 1 / 3
    tag_probs = np.where(on, 0.7, 0.05)
    embeddings = rng.normal(size=(params.genres, params.features))
    loadings = rng.normal(size=(params.tags, params.features)) / np.sqrt(params.tags)
    genre = rng.integers(params.genres, size=n)
    tags = (rng.random((n, params.tags)) < tag_probs[genre]).astype(np.float64)
    features = np.tanh(embeddings[genre] + tags @ loadings)
    features += params.noise * rng.normal(size=features.shape)
    return features, tags


def build_synthetic_tags(params: SyntheticTagsParams, *, seed: int, device: str,
                         dtype: torch.dtype) -> SupervisedEnvironment:
    """Factory of ``synthetic-tags``: splits ``train`` (the first n_train clips) and ``test``."""
    features, tags = synthetic_tags(params)

    def batch(rows: slice) -> Batch:
        return Batch(torch.as_tensor(features[rows], dtype=dtype, device=device),
                     torch.as_tensor(tags[rows], dtype=dtype, device=device))

    info = EnvInfo(params.features, params.tags, "multilabel", params.n_train)
    return SupervisedEnvironment(
        {"train": batch(slice(0, params.n_train)), "test": batch(slice(params.n_train, None))},
        info, batch_size=params.batch_size, seed=seed)


def simulate_annotators(tags: np.ndarray, annotators: int, reveal: float, false_rate: float,
                        seed: int | list[int]) -> np.ndarray:
    """Annotations ``(K, N, L)`` of true tags ``(N, L)``: each annotator keeps each true tag
    with probability ``reveal`` and adds each absent tag with probability ``false_rate``;
    ``seed`` seeds ``numpy.random.default_rng``.

    Example:
        >>> truth = np.ones((1000, 1))
        >>> float(simulate_annotators(truth, 2, 0.3, 0.0, seed=0).mean().round(2))
        0.3
    """
    rng = np.random.default_rng(seed)
    shape = (annotators, *tags.shape)
    kept = rng.random(shape) < reveal
    added = rng.random(shape) < false_rate
    return np.where(tags[None] > 0.5, kept, added).astype(np.float64)


class AnnotatorEnvironment(SupervisedEnvironment):
    """Training pairs (condition, tags) of the tag-smoothing CRBM, plus the clip data.

    The ``train`` split holds K·N pairs, annotator-major (row a·N + i is annotator a on clip
    i): inputs ``(K·N, L)`` = the mean of the other K − 1 annotators' tags of the clip,
    targets ``(K·N, L)`` = annotator a's tags. Attributes for evaluators: ``clips`` (the
    underlying ARFF environment with its ``train`` and ``test`` splits of features and true
    tags) and ``annotations`` ``(K, N, L)``.
    """

    def __init__(self, clips: SupervisedEnvironment, annotations: torch.Tensor, *,
                 batch_size: int, seed: int) -> None:
        count = annotations.shape[0]
        others = (annotations.sum(0, keepdim=True) - annotations) / (count - 1)
        tags = annotations.shape[-1]
        pairs = Batch(others.reshape(-1, tags), annotations.reshape(-1, tags))
        info = EnvInfo(tags, tags, "multilabel", len(pairs.inputs))
        super().__init__({"train": pairs}, info, batch_size=batch_size, seed=seed)
        self.clips, self.annotations = clips, annotations


def build_simulated_annotators(params: SimulatedAnnotatorsParams, *, seed: int, device: str,
                               dtype: torch.dtype) -> AnnotatorEnvironment:
    """Factory of ``simulated-annotators``."""
    clips = build_arff_multilabel(
        ArffMultiLabelParams(path=params.path, labels=params.labels,
                             last_labels=params.last_labels,
                             test_fraction=params.test_fraction, split_seed=params.split_seed,
                             standardize=params.standardize),
        seed=seed, device=device, dtype=dtype)
    truth = clips.splits["train"].targets.cpu().numpy()
    annotations = simulate_annotators(truth, params.annotators, params.reveal,
                                      params.false_rate, [params.annotator_seed, seed])
    return AnnotatorEnvironment(clips, torch.as_tensor(annotations, dtype=dtype, device=device),
                                batch_size=params.batch_size, seed=seed)
