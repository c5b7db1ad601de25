"""Parameter classes of the plugin's components (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "FisherConditioningParams",
    "InvarianceParams",
    "PRONGParams",
    "WhitenedAutoencoderParams",
    "WhitenedMLPParams",
]

_ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky-relu", "identity")
_WHITENING = ("pca", "zca")


# --- models ----------------------------------------------------------------------------------


@attrs.frozen
class WhitenedMLPParams:
    hidden: tuple[int, ...] = (64,)
    """Hidden layer widths; input and output sizes come from the environment."""
    activation: str = attrs.field(default="tanh", validator=v.in_(_ACTIVATIONS))
    """Hidden non-linearity f: one of tanh, relu, sigmoid, leaky-relu, identity."""
    init: str = attrs.field(default="default", validator=v.in_(("default", "sparse")))
    """Initial canonical weights, drawn as the built-in ``mlp`` draws them: ``default``
    (PyTorch's) or ``sparse`` (Martens, 2010)."""
    epsilon: float = attrs.field(default=1e-2, validator=v.gt(0.0))
    """Whitening regulariser ε added to the covariance eigenvalues (paper: 1e-3 to 1e-1)."""
    whitening: str = attrs.field(default="pca", validator=v.in_(_WHITENING))
    """``pca`` (U = (diag(s) + ε)^(-1/2) Eᵀ) or ``zca`` (E U_pca)."""
    batch_norm: bool = False
    """PRONG+: batch-normalise each hidden pre-activation before the non-linearity."""


@attrs.frozen
class WhitenedAutoencoderParams:
    sizes: tuple[int, ...] = attrs.field(default=(64, 32, 16, 32, 64))
    """Layer widths from input to reconstruction; first and last must equal the data size."""
    activation: str = attrs.field(default="tanh", validator=v.in_(_ACTIVATIONS))
    """Hidden non-linearity f; the output layer is linear (logits for Bernoulli losses)."""
    init: str = attrs.field(default="default", validator=v.in_(("default", "sparse")))
    """Initial canonical weights, drawn as the built-in ``autoencoder`` draws them:
    ``default`` (PyTorch's) or ``sparse`` (Martens, 2010)."""
    epsilon: float = attrs.field(default=1e-2, validator=v.gt(0.0))
    """Whitening regulariser ε added to the covariance eigenvalues (paper: 1e-3 to 1e-1)."""
    whitening: str = attrs.field(default="pca", validator=v.in_(_WHITENING))
    """``pca`` (U = (diag(s) + ε)^(-1/2) Eᵀ) or ``zca`` (E U_pca)."""
    batch_norm: bool = False
    """PRONG+: batch-normalise each hidden pre-activation before the non-linearity."""

    @sizes.validator
    def _at_least_two(self, _attribute: attrs.Attribute, value: tuple[int, ...]) -> None:
        if len(value) < 2 or any(size < 1 for size in value):
            raise ValueError("'sizes' needs at least two positive widths")


# --- optimizer -------------------------------------------------------------------------------


@attrs.frozen
class PRONGParams:
    lr: float = attrs.field(default=0.01, validator=v.gt(0.0))
    """Learning rate η of the SGD step on the whitened parameters V, d."""
    period: int = attrs.field(default=50, validator=v.ge(1))
    """Reparametrisation period T in updates (paper: 10² to 10³)."""
    num_samples: int = attrs.field(default=500, validator=v.ge(2))
    """Refresh sample size N_s: the most recent training inputs (paper: 10² to 10³)."""


# --- evaluators ------------------------------------------------------------------------------


@attrs.frozen
class InvarianceParams:
    split: str = "train"
    """Split whose inputs are the refresh sample and the points where outputs are compared."""
    num_samples: int = attrs.field(default=500, validator=v.ge(2))
    """Refresh sample size N_s: the split's first N_s inputs."""


@attrs.frozen
class FisherConditioningParams:
    split: str = "train"
    """Split whose first ``num_samples`` examples define the Fisher."""
    num_samples: int = attrs.field(default=256, validator=v.ge(0))
    """Number of examples N the Fisher is averaged over (0: the whole split)."""
    rtol: float = attrs.field(default=1e-15, validator=[v.gt(0.0), v.lt(1.0)])
    """Eigenvalues below rtol·λ_max count as the block's null space (directions no example
    moves, e.g. weights of always-zero pixels) and are left out of λ_min. In float64 the
    computed null-space eigenvalues lie near 1e-17·λ_max."""
