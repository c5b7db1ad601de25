"""Parameters of the gradient-similarity components (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "A2CDistillationParams",
    "AuxDigitsParams",
    "ConvergenceParams",
    "GateParams",
    "MultiHeadParams",
    "PointParams",
    "TaskAccuracyParams",
    "ToyQuadraticsParams",
]

MODES = ("weighted", "unweighted", "sum", "main-only")
AUXILIARIES = ("other-digits", "digits", "shuffled", "none")


def _pair(_instance: object, attribute: attrs.Attribute, value: tuple[float, ...]) -> None:
    if len(value) != 2:
        raise ValueError(f"'{attribute.name}' needs 2 numbers (a point in the plane), got "
                         f"{list(value)}")


def _positive_pair(instance: object, attribute: attrs.Attribute,
                   value: tuple[float, ...]) -> None:
    _pair(instance, attribute, value)
    if min(value) <= 0:
        raise ValueError(f"'{attribute.name}' must be positive, got {list(value)}")


@attrs.frozen
class GateParams:
    """The ``[loss]`` table of ``use = "gradient-similarity"``."""

    mode: str = attrs.field(default="weighted", validator=v.in_(MODES))
    """How each auxiliary gradient enters the shared parameters: ``weighted`` (× max(0, cos),
    the paper's Algorithm 1), ``unweighted`` (× 1[cos > 0], Algorithm 2), ``sum`` (× 1: the
    naive sum L_main + λ L_aux) or ``main-only`` (× 0; auxiliary heads still learn)."""
    aux_weight: float = attrs.field(default=1.0, validator=v.ge(0.0))
    """λ, the weight of every auxiliary loss."""
    eps: float = attrs.field(default=1e-12, validator=v.ge(0.0))
    """ε in cos(u, v) = uᵀv / (‖u‖‖v‖ + ε): a zero gradient gets cosine 0."""


@attrs.frozen
class ToyQuadraticsParams:
    """The ``[environment]`` table of ``use = "toy-quadratics"``:
    L(θ) = Σᵢ sᵢ (θᵢ − cᵢ)² for the main and the auxiliary loss."""

    main_centre: tuple[float, ...] = attrs.field(default=(0.0, 0.0), validator=_pair)
    """c of the main loss: its minimum."""
    aux_centre: tuple[float, ...] = attrs.field(default=(4.0, 4.0), validator=_pair)
    """c of the auxiliary loss: far from the main's (harmful) or near it (helpful)."""
    main_scale: tuple[float, ...] = attrs.field(default=(1.0, 1.0), validator=_positive_pair)
    """s of the main loss (curvature per axis)."""
    aux_scale: tuple[float, ...] = attrs.field(default=(1.0, 1.0), validator=_positive_pair)
    """s of the auxiliary loss."""
    threshold: float = attrs.field(default=0.1, validator=v.gt(0.0))
    """Convergence: the first update count at which L_main < threshold (the paper: 0.1)."""


@attrs.frozen
class PointParams:
    """The ``[model]`` table of ``use = "point"``: a free vector θ, the toy's parameters."""

    low: float = -5.0
    """Each coordinate of the start θ₀ is uniform on [low, high], drawn from the run's seed."""
    high: float = attrs.field(default=5.0)
    """Upper end of the start box."""

    @high.validator
    def _ordered(self, _attribute: attrs.Attribute, value: float) -> None:
        if value <= self.low:
            raise ValueError(f"'high' ({value}) must exceed 'low' ({self.low})")


@attrs.frozen
class ConvergenceParams:
    """The table of the ``convergence`` evaluator (toy-quadratics only)."""


@attrs.frozen
class AuxDigitsParams:
    """The ``[environment]`` table of ``use = "aux-digits"``."""

    main_classes: tuple[int, ...] = attrs.field(default=(0, 1, 2, 3, 4))
    """Digits of the main task (a |main_classes|-way classification)."""
    n_main: int = attrs.field(default=50, validator=v.ge(1))
    """Labelled training digits of the main task, fixed by ``split_seed``."""
    auxiliary: str = attrs.field(default="other-digits", validator=v.in_(AUXILIARIES))
    """``other-digits``: classify the pool's digits of the other classes (a related task with
    many labels); ``digits``: classify the pool's digits 0-9 by their true class;
    ``shuffled``: the pool's digit labels randomly permuted among its rows (harmful: only
    memorisation fits them); ``none``: no auxiliary task."""
    aux_pool: str = attrs.field(default="other-classes",
                                validator=v.in_(("other-classes", "unlabelled")))
    """Digits the auxiliary task sees: ``other-classes`` (the training digits not in
    ``main_classes``) or ``unlabelled`` (every training digit outside the main labelled set,
    main classes included; with ``shuffled`` this puts random labels on main-class digits
    too). ``other-digits`` needs ``other-classes``: its labels are the other classes."""
    n_aux: int = attrs.field(default=0, validator=v.ge(0))
    """Auxiliary digits used; 0 takes the whole pool."""
    split_seed: int = attrs.field(default=0, validator=v.ge(0))
    """Seed of the labelled subset and of the label shuffle: the same in every arm and seed."""
    batch_size: int = attrs.field(default=0, validator=v.ge(0))
    """Mini-batch size over the union of both tasks' rows; 0 trains full-batch."""

    @aux_pool.validator
    def _pool(self, _attribute: attrs.Attribute, value: str) -> None:
        if value == "unlabelled" and self.auxiliary == "other-digits":
            raise ValueError("'aux_pool' = 'unlabelled' needs auxiliary = 'shuffled': the "
                             "other-digits labels exist only for the other classes")

    @main_classes.validator
    def _classes(self, _attribute: attrs.Attribute, value: tuple[int, ...]) -> None:
        if len(value) < 2 or len(set(value)) != len(value) or not set(value) <= set(range(10)):
            raise ValueError(f"'main_classes' needs at least 2 distinct digits 0-9, got "
                             f"{list(value)}")


@attrs.frozen
class MultiHeadParams:
    """The ``[model]`` table of ``use = "multi-head-mlp"``: a shared trunk, one head per task."""

    hidden: tuple[int, ...] = attrs.field(default=(64, 64))
    """Widths of the shared trunk's layers (each followed by the activation)."""
    activation: str = attrs.field(default="relu",
                                  validator=v.in_(("relu", "tanh", "sigmoid", "leaky-relu")))
    """Non-linearity of the trunk."""

    @hidden.validator
    def _positive(self, _attribute: attrs.Attribute, value: tuple[int, ...]) -> None:
        if not value or any(width < 1 for width in value):
            raise ValueError(f"'hidden' needs at least one positive width, got {list(value)}")


@attrs.frozen
class TaskAccuracyParams:
    """The table of the ``task-accuracy`` evaluator."""

    split: str = "test"
    """Split to evaluate on."""


@attrs.frozen
class A2CDistillationParams:
    """The ``[loss]`` table of ``use = "a2c-distillation"``: A2C's loss as the main loss and
    distillation of a teacher's policy as the auxiliary loss, gated."""

    mode: str = attrs.field(default="weighted", validator=v.in_(MODES))
    """Gating of the distillation gradient on the shared parameters (trunk and policy head):
    ``weighted``, ``unweighted``, ``sum`` or ``main-only`` (see ``gradient-similarity``)."""
    aux_weight: float = attrs.field(default=1.0, validator=v.ge(0.0))
    """λ, the weight of the distillation loss."""
    eps: float = attrs.field(default=1e-12, validator=v.ge(0.0))
    """ε of the cosine."""
    teacher_key: str = "teacher_probs"
    """Key of the rollout's ``info`` holding the teacher's action distribution ``(T, N, A)``
    in the state each action was taken in."""
    gamma: float = attrs.field(default=0.99, validator=[v.ge(0.0), v.le(1.0)])
    """Discount factor γ of A2C."""
    gae_lambda: float = attrs.field(default=1.0, validator=[v.ge(0.0), v.le(1.0)])
    """GAE λ; 1 gives A2C's n-step returns."""
    value_coef: float = attrs.field(default=0.5, validator=v.ge(0.0))
    """Weight of the value regression term."""
    entropy_coef: float = attrs.field(default=0.01, validator=v.ge(0.0))
    """Weight of the entropy bonus."""
    normalize_advantages: bool = False
    """Standardise advantages over the rollout's valid transitions."""
