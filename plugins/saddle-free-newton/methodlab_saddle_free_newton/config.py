"""Parameters of the saddle-free Newton components (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "CriticalPointParams",
    "DampedNewtonParams",
    "Digits4x4Params",
    "KrylovSaddleFreeNewtonParams",
    "LinearAutoencoderParams",
    "SaddleFreeNewtonParams",
    "SpikedGaussianParams",
]

_DAMPINGS = (1.0, 0.1, 0.01, 0.001, 0.0001)


def _check_dampings(_instance: object, attribute: attrs.Attribute, value: tuple) -> None:
    if not value:
        raise ValueError(f"'{attribute.name}' needs at least one damping value")
    if any(d < 0.0 for d in value):
        raise ValueError(f"'{attribute.name}' must be non-negative, got {list(value)}")


def _check_step_sizes(_instance: object, attribute: attrs.Attribute, value: tuple) -> None:
    if not value or any(a <= 0.0 for a in value):
        raise ValueError(f"'{attribute.name}' needs positive values, got {list(value)}")


def _check_distinct(_instance: object, attribute: attrs.Attribute, value: tuple) -> None:
    if len(set(value)) != len(value) or any(k < 0 for k in value):
        raise ValueError(f"'{attribute.name}' must be distinct non-negative indices, got "
                         f"{list(value)}")


# --- optimizers ------------------------------------------------------------------------------


@attrs.frozen
class SaddleFreeNewtonParams:
    """The ``[optimizer]`` table of ``use = "saddle-free-newton"`` (exact Hessian)."""

    dampings: tuple[float, ...] = attrs.field(default=_DAMPINGS, validator=_check_dampings)
    """Candidate damping values λ of Δθ = −(|H| + λI)⁻¹ g; each update keeps the one with the
    lowest loss on the batch (the paper's line search over λ). Unitless multiples of I, in
    the loss's curvature units."""
    step_sizes: tuple[float, ...] = attrs.field(default=(1.0,), validator=_check_step_sizes)
    """Candidate step lengths α of θ ← θ + αΔθ(λ), searched jointly with λ; the paper
    searches λ only (α = 1)."""


@attrs.frozen
class KrylovSaddleFreeNewtonParams:
    """The ``[optimizer]`` table of ``use = "krylov-saddle-free-newton"``."""

    dampings: tuple[float, ...] = attrs.field(default=_DAMPINGS, validator=_check_dampings)
    """Candidate damping values λ of Δθ = −V(|T| + λI)⁻¹Vᵀg; the one with the lowest loss on
    the batch is kept (the paper's line search over λ)."""
    step_sizes: tuple[float, ...] = attrs.field(default=(1.0,), validator=_check_step_sizes)
    """Candidate step lengths α of θ ← θ + αΔθ(λ), searched jointly with λ; the paper
    searches λ only (α = 1)."""
    krylov_dim: int = attrs.field(default=20, validator=v.ge(1))
    """Number k of Lanczos vectors V (Hessian-vector products per update); the paper: k."""
    subspace_steps: int = attrs.field(default=1, validator=v.ge(1))
    """Updates taken inside one Krylov subspace, each with a fresh gradient (the paper's m)."""


@attrs.frozen
class DampedNewtonParams:
    """The ``[optimizer]`` table of ``use = "damped-newton"`` (the paper's baseline)."""

    dampings: tuple[float, ...] = attrs.field(default=_DAMPINGS, validator=_check_dampings)
    """Candidate damping values λ of Δθ = −(H + λI)⁻¹ g; the one with the lowest loss on the
    batch is kept, exactly as for saddle-free Newton."""
    step_sizes: tuple[float, ...] = attrs.field(default=(1.0,), validator=_check_step_sizes)
    """Candidate step lengths α of θ ← θ + αΔθ(λ), searched jointly with λ; the paper
    searches λ only (α = 1)."""


# --- models ----------------------------------------------------------------------------------


@attrs.frozen
class LinearAutoencoderParams:
    """The ``[model]`` table of ``use = "linear-autoencoder"``: x̂ = W₂W₁x, no biases."""

    hidden: int = attrs.field(default=4, validator=v.ge(1))
    """Bottleneck width p (rows of W₁, columns of W₂)."""
    init: str = attrs.field(default="saddle", validator=v.in_(("saddle", "default")))
    """``saddle``: W₁ = Wᵀ₂ = the chosen eigenvectors of the training data's second-moment
    matrix (a critical point of the squared error, Baldi & Hornik 1989) plus a small
    perturbation; ``default``: PyTorch's initialisation."""
    saddle_eigenvectors: tuple[int, ...] = attrs.field(default=(0,), validator=_check_distinct)
    """0-based ranks (0 = largest eigenvalue) of the eigenvectors the first hidden units hold
    at the saddle; the remaining hidden units start at zero. Any choice other than the top p
    eigenvectors is a saddle point."""
    perturbation: float = attrs.field(default=1e-3, validator=v.ge(0.0))
    """Standard deviation ε of the Gaussian noise added to every weight of the saddle (drawn
    from the run's seed); an exact critical point has zero gradient and no method leaves it."""

    @saddle_eigenvectors.validator
    def _fits_hidden(self, _attribute: attrs.Attribute, value: tuple[int, ...]) -> None:
        if len(value) > self.hidden:
            raise ValueError(f"{len(value)} saddle_eigenvectors do not fit in hidden = "
                             f"{self.hidden} units")


# --- environments ----------------------------------------------------------------------------


@attrs.frozen
class Digits4x4Params:
    """The ``[environment]`` table of ``use = "digits-4x4"``."""

    batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Training batch size B; 0 serves the whole training split every step (full batch)."""
    test_fraction: float = attrs.field(default=0.2, validator=[v.gt(0.0), v.lt(1.0)])
    """Fraction of the 1,797 digits held out as the test split (stratified, fixed)."""
    split_seed: int = 0
    """Seed of the fixed train/test split (independent of the run's seed)."""


@attrs.frozen
class SpikedGaussianParams:
    """The ``[environment]`` table of ``use = "spiked-gaussian"``: reconstruct x ~ N(0, Σ)."""

    in_features: int = attrs.field(default=64, validator=v.ge(2))
    """Dimension D of x."""
    variances: tuple[float, ...] = attrs.field(default=(1.0, 0.03, 0.025, 0.02))
    """Leading eigenvalues σ₁ ≥ σ₂ ≥ … of Σ; one dominant direction and a few weak ones make
    the saddle that holds only the first a long plateau for gradient descent."""
    noise_variance: float = attrs.field(default=1e-3, validator=v.ge(0.0))
    """Eigenvalue of Σ in the remaining D − len(variances) directions."""
    n_train: int = attrs.field(default=1024, validator=v.ge(1))
    """Number of training points."""
    n_test: int = attrs.field(default=256, validator=v.ge(1))
    """Number of test points."""
    batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Training batch size B; 0 means full batch."""
    data_seed: int = 0
    """Seed of the eigenbasis of Σ and of the samples (independent of the run's seed)."""

    @variances.validator
    def _check_variances(self, _attribute: attrs.Attribute, value: tuple[float, ...]) -> None:
        if not value or len(value) > self.in_features or any(s <= 0.0 for s in value):
            raise ValueError(f"'variances' needs 1 to in_features = {self.in_features} positive "
                             f"values, got {list(value)}")


# --- evaluators ------------------------------------------------------------------------------


@attrs.frozen
class CriticalPointParams:
    """The ``[evaluators.<key>]`` table of ``use = "critical-point"``."""

    split: str = "train"
    """Split whose mean loss the Hessian is taken of (the whole split, one batch)."""
    tolerance: float = attrs.field(default=1e-6, validator=v.ge(0.0))
    """An eigenvalue counts as negative when below −tolerance · max|λ| (relative), so the
    zero eigenvalues of symmetries do not count by rounding."""
