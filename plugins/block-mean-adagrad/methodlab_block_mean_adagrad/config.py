"""Parameters of the three AdaGrad optimizers (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "PARTITIONS",
    "BlockMeanAdagradParams",
    "DiagonalAdagradParams",
    "FullMatrixAdagradParams",
]

PARTITIONS = ("unit", "layer", "tensor", "row", "element", "explicit")
"""How ``block-mean-adagrad`` groups the parameters (see ``partition.partition_model``)."""


@attrs.frozen
class BlockMeanAdagradParams:
    """The ``[optimizer]`` table of ``use = "block-mean-adagrad"`` (Lu et al., 2018)."""

    lr: float = attrs.field(default=0.01, validator=v.gt(0.0))
    """Step size η in θ ← θ − η (M̂ + δI)^(−1/2) g."""
    delta: float = attrs.field(default=1e-8, validator=v.gt(0.0))
    """Damping δ added to the accumulated matrix inside the inverse square root."""
    weight_decay: float = attrs.field(default=0.0, validator=v.ge(0.0))
    """L2 penalty coefficient, added to the gradient before it is accumulated."""
    groups: str = attrs.field(default="unit", validator=v.in_(PARTITIONS))
    """Partition into L groups: ``unit`` (one group per output unit: a weight row and its
    bias entry), ``layer`` (one per module), ``tensor`` (one per parameter tensor), ``row``
    (one per slice along the first dimension of every tensor), ``element`` (every scalar:
    exact full-matrix AdaGrad) or ``explicit`` (``explicit_groups``)."""
    explicit_groups: tuple[tuple[str, ...], ...] = attrs.field(default=())
    """For ``groups = "explicit"``: one list of parameter-name patterns (fnmatch, e.g.
    ``"0.*"``) per group; every trainable parameter must match exactly one group."""

    @explicit_groups.validator
    def _explicit_only_with_explicit(
        self, _attribute: attrs.Attribute, value: tuple[tuple[str, ...], ...]
    ) -> None:
        if (self.groups == "explicit") != bool(value):
            raise ValueError("give 'explicit_groups' exactly when groups = \"explicit\"")


@attrs.frozen
class DiagonalAdagradParams:
    """The ``[optimizer]`` table of ``use = "diagonal-adagrad"`` (Duchi et al., 2011)."""

    lr: float = attrs.field(default=0.01, validator=v.gt(0.0))
    """Step size η in θ ← θ − η (diag(G) + δI)^(−1/2) g."""
    delta: float = attrs.field(default=1e-8, validator=v.gt(0.0))
    """Damping δ added inside the square root (torch.optim.Adagrad adds ε outside it)."""
    weight_decay: float = attrs.field(default=0.0, validator=v.ge(0.0))
    """L2 penalty coefficient, added to the gradient before it is accumulated."""


@attrs.frozen
class FullMatrixAdagradParams:
    """The ``[optimizer]`` table of ``use = "full-matrix-adagrad"`` (Duchi et al., 2011)."""

    lr: float = attrs.field(default=0.01, validator=v.gt(0.0))
    """Step size η in θ ← θ − η (G + δI)^(−1/2) g."""
    delta: float = attrs.field(default=1e-8, validator=v.gt(0.0))
    """Damping δ added to G inside the inverse square root."""
    weight_decay: float = attrs.field(default=0.0, validator=v.ge(0.0))
    """L2 penalty coefficient, added to the gradient before it is accumulated."""
    max_params: int = attrs.field(default=4096, validator=v.ge(1))
    """Refuse models with more trainable scalars d than this (G is d × d in float64)."""
