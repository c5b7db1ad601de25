"""Parameters of the ray-interference components (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "BanditDynamicsParams",
    "BanditPolicyParams",
    "ExactBanditParams",
    "ExpectedRewardParams",
    "GoodArmLikelihoodParams",
    "InterferenceLogitsParams",
]


@attrs.frozen
class ExactBanditParams:
    """The ``[environment]`` table of ``use = "exact-bandit"``: K contexts, 2 arms, exact
    expectations."""

    contexts: int = attrs.field(default=2, validator=v.ge(1))
    """Number of contexts K; each context is a one-hot observation and its good arm is arm 0
    (reward 1; the other arm pays 0). Every update sees all K contexts once, so a loss over
    the batch is the exact expected objective, not a sample of it."""


@attrs.frozen
class InterferenceLogitsParams:
    """The ``[model]`` table of ``use = "interference-logits"``: the minimal model
    d_k = w_kᵀθ, π(good | k) = σ(d_k)."""

    start: tuple[float, ...] = attrs.field(default=(0.0, -3.0))
    """Initial logit differences d₀ (one per context; the length must equal the
    environment's number of contexts K). An asymmetric start (e.g. (0, −3)) is needed for a
    plateau: from a symmetric one every context learns at the same pace."""
    interference: float = attrs.field(default=0.0)
    """Off-diagonal ρ of the Gram matrix G = WWᵀ = (1 − ρ)I + ρ11ᵀ of the context directions
    w_k (unit diagonal). ρ < 0 is negative interference: improving one context worsens the
    others. ρ = 0 is the ablation without sharing (each context owns its parameter). G is
    positive definite only for −1/(K − 1) < ρ < 1."""

    @start.validator
    def _non_empty(self, _attribute: attrs.Attribute, value: tuple[float, ...]) -> None:
        if not value:
            raise ValueError("'start' needs one logit per context, got []")

    @interference.validator
    def _positive_definite(self, _attribute: attrs.Attribute, value: float) -> None:
        k = len(self.start)
        low = -1.0 / (k - 1) if k > 1 else -float("inf")
        if not low < value < 1.0:
            raise ValueError(f"'interference' must lie in ({low:g}, 1) for K = {k} contexts "
                             f"(G = (1 - rho) I + rho 11^T must be positive definite), "
                             f"got {value}")


@attrs.frozen
class ExpectedRewardParams:
    """The ``[loss]`` table of ``use = "expected-reward"`` (no parameters)."""


@attrs.frozen
class GoodArmLikelihoodParams:
    """The ``[loss]`` table of ``use = "good-arm-likelihood"`` (no parameters)."""


@attrs.frozen
class BanditDynamicsParams:
    """The ``[evaluators.<key>]`` table of ``use = "bandit-dynamics"``."""

    threshold: float = attrs.field(default=0.9, validator=[v.gt(0.0), v.lt(1.0)])
    """A context counts as solved when π(good arm | context) ≥ threshold; the bandit is
    solved when every context is."""
    figure: str = attrs.field(default="")
    """File name (in the run directory) of the figure drawn when the run ends: learning
    curves per context with plateaus shaded and, for K = 2, the (J₁, J₂) flow field of every
    arm. Empty: no figure."""

    @figure.validator
    def _png(self, _attribute: attrs.Attribute, value: str) -> None:
        if value and (not value.endswith(".png") or "/" in value or "\\" in value):
            raise ValueError(f"'figure' must be a plain file name ending in .png, got {value!r}")


@attrs.frozen
class BanditPolicyParams:
    """The ``[model]`` table of ``use = "bandit-policy"``: softmax(V tanh(U s + b) + c)."""

    hidden: int = attrs.field(default=32, validator=v.ge(1))
    """Hidden width H of the trunk."""
    shared: bool = attrs.field(default=True)
    """``true``: one trunk and head for all contexts (interference through sharing);
    ``false``: the ablation with an independent network per context (one-hot inputs)."""
    input_std: float = attrs.field(default=0.1, validator=v.ge(0.0))
    """Standard deviation of the trunk weights U at initialisation."""
    bias_std: float = attrs.field(default=1.0, validator=v.ge(0.0))
    """Standard deviation of the trunk biases b at initialisation; larger than
    ``input_std`` means every context starts with nearly the same features."""
