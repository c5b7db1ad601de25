"""Parameter classes of the built-in components (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "AccuracyParams",
    "AdagradParams",
    "AdamParams",
    "ArffMultiLabelParams",
    "AutoencoderParams",
    "BitsPerCharacterParams",
    "CharTextParams",
    "CrossEntropyParams",
    "DigitsParams",
    "LossEvaluatorParams",
    "MLPParams",
    "NoParams",
    "RMSpropParams",
    "RecurrentParams",
    "SGDParams",
    "SyntheticRegressionParams",
]

_ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky-relu", "identity")


@attrs.frozen
class NoParams:
    """A component without parameters."""


# --- optimizers ------------------------------------------------------------------------------


@attrs.frozen
class SGDParams:
    lr: float = attrs.field(default=0.1, validator=v.gt(0.0))
    """Learning rate η."""
    momentum: float = attrs.field(default=0.0, validator=[v.ge(0.0), v.lt(1.0)])
    """Momentum coefficient μ (0 disables momentum)."""
    nesterov: bool = attrs.field(default=False)
    """Use Nesterov momentum (needs momentum > 0)."""
    weight_decay: float = attrs.field(default=0.0, validator=v.ge(0.0))
    """L2 penalty coefficient."""

    @nesterov.validator
    def _nesterov_needs_momentum(self, _attribute: attrs.Attribute, value: bool) -> None:
        if value and self.momentum == 0.0:
            raise ValueError("'nesterov' needs 'momentum' > 0")


@attrs.frozen
class AdamParams:
    lr: float = attrs.field(default=1e-3, validator=v.gt(0.0))
    """Learning rate α."""
    betas: tuple[float, float] = (0.9, 0.999)
    """Decay rates (β₁, β₂) of the first and second moment estimates."""
    eps: float = attrs.field(default=1e-8, validator=v.gt(0.0))
    """Term ε added to the denominator for numerical stability."""
    weight_decay: float = attrs.field(default=0.0, validator=v.ge(0.0))
    """L2 penalty coefficient."""


@attrs.frozen
class AdagradParams:
    lr: float = attrs.field(default=1e-2, validator=v.gt(0.0))
    """Learning rate η."""
    eps: float = attrs.field(default=1e-10, validator=v.gt(0.0))
    """Term ε added to the denominator for numerical stability."""
    weight_decay: float = attrs.field(default=0.0, validator=v.ge(0.0))
    """L2 penalty coefficient."""


@attrs.frozen
class RMSpropParams:
    lr: float = attrs.field(default=1e-2, validator=v.gt(0.0))
    """Learning rate η."""
    alpha: float = attrs.field(default=0.99, validator=[v.gt(0.0), v.lt(1.0)])
    """Decay rate of the squared-gradient average."""
    eps: float = attrs.field(default=1e-8, validator=v.gt(0.0))
    """Term ε added to the denominator for numerical stability."""
    momentum: float = attrs.field(default=0.0, validator=[v.ge(0.0), v.lt(1.0)])
    """Momentum coefficient."""


# --- models ----------------------------------------------------------------------------------


@attrs.frozen
class MLPParams:
    hidden: tuple[int, ...] = (64,)
    """Hidden layer widths; input and output sizes come from the environment."""
    activation: str = attrs.field(default="tanh", validator=v.in_(_ACTIVATIONS))
    """Hidden non-linearity: one of tanh, relu, sigmoid, leaky-relu, identity."""
    init: str = attrs.field(default="default", validator=v.in_(("default", "sparse")))
    """``default`` is PyTorch's; ``sparse`` is Martens (2010): 15 non-zero N(0,1) weights
    per unit, zero biases."""


@attrs.frozen
class AutoencoderParams:
    sizes: tuple[int, ...] = attrs.field(default=(64, 32, 16, 32, 64))
    """Layer widths from input to reconstruction; first and last must equal the data size."""
    activation: str = attrs.field(default="tanh", validator=v.in_(_ACTIVATIONS))
    """Hidden non-linearity; the output layer is linear (logits for Bernoulli losses)."""
    init: str = attrs.field(default="default", validator=v.in_(("default", "sparse")))
    """``default`` is PyTorch's; ``sparse`` is Martens (2010) sparse initialisation."""

    @sizes.validator
    def _at_least_two(self, _attribute: attrs.Attribute, value: tuple[int, ...]) -> None:
        if len(value) < 2 or any(size < 1 for size in value):
            raise ValueError("'sizes' needs at least two positive widths")


@attrs.frozen
class RecurrentParams:
    hidden: int = attrs.field(default=128, validator=v.gt(0))
    """Hidden units per layer."""
    layers: int = attrs.field(default=1, validator=v.gt(0))
    """Stacked recurrent layers."""
    cell: str = attrs.field(default="rnn", validator=v.in_(("rnn", "gru", "lstm")))
    """``rnn`` (tanh), ``gru`` or ``lstm`` (the ``torch.nn`` implementations)."""
    embedding: int = attrs.field(default=0, validator=v.ge(0))
    """Width of the token embedding for text (0: as many as the vocabulary)."""


# --- losses ----------------------------------------------------------------------------------


@attrs.frozen
class CrossEntropyParams:
    label_smoothing: float = attrs.field(default=0.0, validator=[v.ge(0.0), v.lt(1.0)])
    """Label smoothing ε of ``torch.nn.functional.cross_entropy``."""


# --- environments ----------------------------------------------------------------------------


@attrs.frozen
class DigitsParams:
    task: str = attrs.field(
        default="classification", validator=v.in_(("classification", "reconstruction"))
    )
    """``classification`` (targets are labels 0-9) or ``reconstruction`` (targets = inputs)."""
    batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Training batch size ``B``; 0 means the full training set every step."""
    test_fraction: float = attrs.field(default=0.2, validator=[v.gt(0.0), v.lt(1.0)])
    """Fraction of the 1,797 digits held out as the test split (stratified, fixed)."""
    split_seed: int = 0
    """Seed of the fixed train/test split (independent of the run's seed)."""
    n_labeled: int = attrs.field(default=0, validator=v.ge(0))
    """Use only this many training digits as labeled data (0 = all)."""
    n_unlabeled: int = attrs.field(default=0, validator=v.ge(0))
    """Serve this many other training digits, unlabeled, as the curvature batch."""


@attrs.frozen
class SyntheticRegressionParams:
    n_train: int = attrs.field(default=512, validator=v.gt(0))
    """Number of training points."""
    n_test: int = attrs.field(default=256, validator=v.gt(0))
    """Number of test points."""
    in_features: int = attrs.field(default=8, validator=v.gt(0))
    """Input dimension ``D``."""
    out_features: int = attrs.field(default=1, validator=v.gt(0))
    """Output dimension."""
    noise: float = attrs.field(default=0.1, validator=v.ge(0.0))
    """Standard deviation of the Gaussian label noise."""
    batch_size: int = attrs.field(default=64, validator=v.ge(0))
    """Training batch size; 0 means full batch."""
    data_seed: int = 0
    """Seed of the teacher network and the data (independent of the run's seed)."""


@attrs.frozen
class CharTextParams:
    path: str = ""
    """A UTF-8 text file; empty means the English help topics CPython ships in ``pydoc_data``."""
    seq_len: int = attrs.field(default=100, validator=v.gt(0))
    """Characters per window ``T`` (the model predicts each one from those before it)."""
    batch_size: int = attrs.field(default=32, validator=v.gt(0))
    """Windows per training batch ``B``."""
    valid_fraction: float = attrs.field(default=0.1, validator=[v.gt(0.0), v.lt(1.0)])
    """Fraction of the text, at its end, held out as the ``valid`` split."""
    eval_chars: int = attrs.field(default=100_000, validator=v.gt(0))
    """Evaluate at most this many characters from the start of a split."""


@attrs.frozen
class ArffMultiLabelParams:
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
    batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Training batch size; 0 means the full training split every step."""
    standardize: bool = True
    """Scale features to zero mean and unit variance on the training split."""


# --- evaluators ------------------------------------------------------------------------------


@attrs.frozen
class LossEvaluatorParams:
    split: str = "train"
    """Split of the environment to evaluate on (e.g. ``train``, ``test``)."""


@attrs.frozen
class AccuracyParams:
    split: str = "test"
    """Split of the environment to evaluate on (e.g. ``train``, ``test``)."""


@attrs.frozen
class BitsPerCharacterParams:
    split: str = "valid"
    """Split of the text to evaluate on (``train`` or ``valid``)."""
