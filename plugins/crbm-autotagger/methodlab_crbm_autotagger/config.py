"""Parameters of the plugin's components (imports attrs only, so listing stays fast)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "MAX_EXACT_TAGS",
    "CRBMLossParams",
    "CRBMParams",
    "SimulatedAnnotatorsParams",
    "SklearnTaggerParams",
    "SmoothedSVMParams",
    "SyntheticTagsParams",
    "TagAUCParams",
]

MAX_EXACT_TAGS = 12
"""Exact likelihood and exact marginals enumerate 2^L label vectors: at most 2^12 = 4,096."""

_PREDICT = ("mean-field", "gibbs", "exact")
_METHODS = ("exact", "cd", "mean-field-cd", "pseudo-likelihood")


# --- model ------------------------------------------------------------------------------------


@attrs.frozen
class CRBMParams:
    """The ``[model]`` table of ``use = "drbm"`` or ``use = "tag-smoothing-crbm"``.

    Both are the conditional RBM E(y, h; x) = −bᵀy − (c + Wx)ᵀh − hᵀUy − yᵀAx with binary
    labels y ∈ {0,1}^L and binary hidden units h ∈ {0,1}^H, conditioned on x ∈ ℝ^D.
    """

    hidden: int = attrs.field(default=50, validator=v.ge(1))
    """Hidden units H."""
    init_scale: float = attrs.field(default=0.01, validator=v.ge(0.0))
    """Standard deviation of the initial W, U (and A) entries; biases start at 0."""
    direct: bool = False
    """Add the direct input-to-label term yᵀAx (the CRBM's optional c→y connection)."""
    predict: str = attrs.field(default="mean-field", validator=v.in_(_PREDICT))
    """How ``model(x)`` computes the marginals p(y_l = 1 | x): ``mean-field`` (fixed-point
    iterations of a factorised q(y) q(h)), ``gibbs`` (block Gibbs chains, Rao-Blackwellised
    averages) or ``exact`` (enumeration of 2^L label vectors; L ≤ 12)."""
    mean_field_steps: int = attrs.field(default=20, validator=v.ge(1))
    """Mean-field sweeps at prediction."""
    gibbs_chains: int = attrs.field(default=20, validator=v.ge(1))
    """Gibbs chains per example at prediction."""
    gibbs_sweeps: int = attrs.field(default=50, validator=v.ge(1))
    """Gibbs sweeps averaged per chain, after ``gibbs_burn_in`` discarded sweeps."""
    gibbs_burn_in: int = attrs.field(default=10, validator=v.ge(0))
    """Discarded Gibbs sweeps per chain."""


# --- loss -------------------------------------------------------------------------------------


@attrs.frozen
class CRBMLossParams:
    """The ``[loss]`` table of ``use = "crbm-likelihood"``."""

    method: str = attrs.field(default="exact", validator=v.in_(_METHODS))
    """``exact`` (negative log-likelihood by enumerating 2^L label vectors, L ≤ 12), ``cd``
    (contrastive divergence, k Gibbs steps from the data labels), ``mean-field-cd`` (k
    deterministic mean-field steps from the data labels) or ``pseudo-likelihood``
    (−Σ_l log p(y_l | y_¬l, x))."""
    cd_steps: int = attrs.field(default=1, validator=v.ge(1))
    """k: Gibbs steps of ``cd`` or mean-field steps of ``mean-field-cd``."""


# --- environments -----------------------------------------------------------------------------


@attrs.frozen
class SyntheticTagsParams:
    """The ``[environment]`` table of ``use = "synthetic-tags"``."""

    tags: int = attrs.field(default=10, validator=v.ge(1))
    """Vocabulary size L."""
    genres: int = attrs.field(default=3, validator=v.ge(1))
    """Latent genres; each has its own tag probabilities, so tags co-occur and exclude."""
    features: int = attrs.field(default=40, validator=v.ge(1))
    """Input dimension D."""
    n_train: int = attrs.field(default=3000, validator=v.ge(2))
    """Training clips."""
    n_test: int = attrs.field(default=1000, validator=v.ge(2))
    """Test clips."""
    noise: float = attrs.field(default=1.0, validator=v.ge(0.0))
    """Standard deviation of the Gaussian feature noise."""
    data_seed: int = 0
    """Seed of the generated data (the same for every run seed)."""
    batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Training batch size; 0 means the full training split every step."""


@attrs.frozen
class SimulatedAnnotatorsParams:
    """The ``[environment]`` table of ``use = "simulated-annotators"``.

    A multi-label ARFF file (read by the core's ``arff-multilabel`` environment, with its
    split) whose training clips get ``annotators`` simulated taggers each.
    """

    path: str
    """A dense or sparse ARFF file (e.g. MULAN's emotions.arff)."""
    labels: tuple[str, ...] = ()
    """The label attributes by name; empty means the last ``last_labels`` attributes."""
    last_labels: int = attrs.field(default=1, validator=v.gt(0))
    """How many trailing attributes are labels when ``labels`` is empty."""
    test_fraction: float = attrs.field(default=0.3, validator=[v.gt(0.0), v.lt(1.0)])
    """Fraction of the rows held out as the test split (fixed by ``split_seed``)."""
    split_seed: int = 0
    """Seed of the train/test split (independent of the run's seed)."""
    standardize: bool = True
    """Scale features to zero mean and unit variance on the training split."""
    annotators: int = attrs.field(default=5, validator=v.ge(2))
    """Simulated annotators K per training clip (the CRBM conditions on the other K − 1)."""
    reveal: float = attrs.field(default=0.3, validator=[v.gt(0.0), v.le(1.0)])
    """Probability that an annotator reveals each true tag."""
    false_rate: float = attrs.field(default=0.02, validator=[v.ge(0.0), v.lt(1.0)])
    """Probability that an annotator adds each absent tag."""
    annotator_seed: int = 0
    """Seed of the simulated annotations, combined with the run's seed: every arm of a seed
    sees the same annotators, each seed a fresh draw."""
    batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Training batch size of (annotator, clip) pairs; 0 means all of them every step."""


# --- evaluators -------------------------------------------------------------------------------


@attrs.frozen
class TagAUCParams:
    """The ``[evaluators.<key>]`` table of ``use = "tag-auc"``."""

    split: str = "test"
    """Split of the environment to evaluate on."""


@attrs.frozen
class SklearnTaggerParams:
    """The ``[evaluators.<key>]`` table of ``use = "sklearn-tagger"``."""

    estimator: str = attrs.field(default="logistic", validator=v.in_(("logistic", "svm", "mlp")))
    """One binary scikit-learn classifier per tag: ``logistic`` (LogisticRegression),
    ``svm`` (SVC, RBF kernel) or ``mlp`` (MLPClassifier)."""
    split: str = "test"
    """Split scored; the estimators are fitted on ``train``."""
    C: float = attrs.field(default=1.0, validator=v.gt(0.0))
    """Inverse regularisation strength of ``logistic`` and ``svm``."""
    hidden: int = attrs.field(default=50, validator=v.ge(1))
    """Hidden units of ``mlp``."""
    alpha: float = attrs.field(default=1e-2, validator=v.ge(0.0))
    """L2 penalty of ``mlp``."""
    max_iter: int = attrs.field(default=1000, validator=v.ge(1))
    """Iteration cap of ``logistic`` and ``mlp``."""
    random_state: int = 0
    """Seed of ``mlp``'s initialisation."""


@attrs.frozen
class SmoothedSVMParams:
    """The ``[evaluators.<key>]`` table of ``use = "smoothed-svm"``."""

    targets: str = attrs.field(default="smoothed",
                               validator=v.in_(("smoothed", "annotator", "union", "true")))
    """SVM training targets of each training clip: ``smoothed`` (the model's p(y_l = 1 | c),
    averaged over the clip's annotators), ``annotator`` (annotator 0's tags), ``union`` (any
    annotator's tag) or ``true`` (the ARFF file's tags, an oracle reference)."""
    C: float = attrs.field(default=1.0, validator=v.gt(0.0))
    """Inverse regularisation strength of the RBF-kernel SVC."""
