"""Parameters of the plugin's components (imports attrs only, so listing stays fast)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "BarsAndStripesParams",
    "BinaryDigitsParams",
    "DBMParams",
    "ExactLogLikelihoodParams",
    "MFNGParams",
    "RBMParams",
    "SMLParams",
]

_MAX_ENUMERATED_UNITS = 20
"""Exact log Z enumerates 2^n states of the odd layers; beyond 2^20 it is too slow."""


# --- environments -----------------------------------------------------------------------------


@attrs.frozen
class BarsAndStripesParams:
    """The ``[environment]`` table of ``use = "...:bars-and-stripes"``."""

    side: int = attrs.field(default=4, validator=[v.ge(2), v.le(8)])
    """Image side s; the data set has 2^(s+1) − 2 patterns of s² pixels (30 for s = 4)."""
    batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Patterns per update B; 0 uses every pattern at every update."""


@attrs.frozen
class BinaryDigitsParams:
    """The ``[environment]`` table of ``use = "...:binary-digits"``."""

    pool: int = attrs.field(default=2, validator=v.in_((1, 2, 4)))
    """Average-pooling window on the 8×8 digits: 2 gives 4×4 = 16 pixels."""
    threshold: float = attrs.field(default=0.5, validator=[v.gt(0.0), v.lt(1.0)])
    """A pooled pixel (intensity in [0, 1]) is on when it exceeds this value."""
    batch_size: int = attrs.field(default=100, validator=v.ge(0))
    """Images per update B; 0 uses the whole training split at every update."""
    limit: int = attrs.field(default=0, validator=v.ge(0))
    """Keep the first this many training images (0: all 1,437)."""
    test_fraction: float = attrs.field(default=0.2, validator=[v.gt(0.0), v.lt(1.0)])
    """Fraction of the 1,797 digits held out as the ``test`` split (stratified)."""
    split_seed: int = attrs.field(default=0, validator=v.ge(0))
    """Seed of the fixed train/test split (the same for every run seed)."""


# --- models -----------------------------------------------------------------------------------


@attrs.frozen
class RBMParams:
    """The ``[model]`` table of ``use = "...:rbm"``: a centred restricted Boltzmann machine."""

    hidden: int = attrs.field(default=8, validator=[v.ge(1), v.le(_MAX_ENUMERATED_UNITS)])
    """Hidden units; exact log Z enumerates their 2^hidden states."""
    chains: int = attrs.field(default=100, validator=v.ge(2))
    """Persistent Gibbs chains M (the negative-phase samples and the metric's samples)."""
    init_scale: float = attrs.field(default=0.01, validator=v.ge(0.0))
    """Standard deviation of the initial weights."""


@attrs.frozen
class DBMParams:
    """The ``[model]`` table of ``use = "...:dbm"``: a centred deep Boltzmann machine."""

    hidden: tuple[int, ...] = attrs.field(default=(8, 4))
    """Widths of the hidden layers h1, h2, ... (at least two); exact log Z enumerates the
    states of the odd layers h1, h3, ..."""
    chains: int = attrs.field(default=100, validator=v.ge(2))
    """Persistent Gibbs chains M (the negative-phase samples and the metric's samples)."""
    init_scale: float = attrs.field(default=0.01, validator=v.ge(0.0))
    """Standard deviation of the initial weights."""
    mean_field_steps: int = attrs.field(default=10, validator=v.ge(1))
    """Mean-field sweeps of the positive phase q(h | v)."""

    @hidden.validator
    def _check_hidden(self, _attribute: attrs.Attribute, value: tuple[int, ...]) -> None:
        if len(value) < 2 or min(value) < 1:
            raise ValueError(f"hidden must list at least two positive widths, got {value!r}")
        odd = sum(value[0::2])
        if odd > _MAX_ENUMERATED_UNITS:
            raise ValueError(
                f"the odd hidden layers {value[0::2]} have {odd} units; exact log Z enumerates "
                f"2^{odd} states, keep it at most {_MAX_ENUMERATED_UNITS}")


# --- loss -------------------------------------------------------------------------------------


@attrs.frozen
class SMLParams:
    """The ``[loss]`` table of ``use = "...:sml"``: the stochastic-maximum-likelihood surrogate."""

    gibbs_steps: int = attrs.field(default=5, validator=v.ge(1))
    """Block-Gibbs sweeps k that advance the persistent chains at each update."""


# --- optimizer --------------------------------------------------------------------------------


@attrs.frozen
class MFNGParams:
    """The ``[optimizer]`` table of ``use = "metric-free-natural-gradient"``."""

    lr: float = attrs.field(default=0.05, validator=v.gt(0.0))
    """Step size ε in θ ← θ − ε d."""
    damping: float = attrs.field(default=0.1, validator=v.ge(0.0))
    """Damping λ in (L + λI) d = g (the paper's ``damp``: 0.1)."""
    max_iter: int = attrs.field(default=20, validator=v.ge(1))
    """Maximum metric-vector products of the MINRES solve per update."""
    tol: float = attrs.field(default=1e-6, validator=v.ge(0.0))
    """Relative residual tolerance of MINRES (the paper's ``rtol``: 1e-6)."""
    warm_start: bool = False
    """Start MINRES from the previous direction instead of 0."""


# --- evaluator --------------------------------------------------------------------------------


@attrs.frozen
class ExactLogLikelihoodParams:
    """The ``[evaluators.<key>]`` table of ``use = "...:exact-log-likelihood"``."""

    split: str = "train"
    """Environment split whose average exact log-likelihood (nats per example) is reported."""
