"""Parameters of the DeepGMG components (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = ["DGMGLossParams", "DGMGParams", "DegreeDistanceParams", "MoleculeMetricsParams",
           "SampleParams", "ValidityParams"]


@attrs.frozen
class DGMGParams:
    """The ``[model]`` table of ``use = "dgmg"`` (defaults: DGL's cycle configuration)."""

    node_hidden: int = attrs.field(default=16, validator=v.ge(1))
    """Node state size ``D`` (``h_v``)."""
    graph_hidden: int = attrs.field(default=32, validator=v.ge(1))
    """Graph embedding size ``G`` (``h_G``; the paper uses ``2 D``)."""
    rounds: int = attrs.field(default=2, validator=v.ge(1))
    """Propagation rounds ``T`` after each added edge, each with its own weights."""


@attrs.frozen
class DGMGLossParams:
    """The ``[loss]`` table of ``use = "dgmg-nll"`` (no settings)."""


@attrs.frozen
class SampleParams:
    """Sampling settings shared by the sampling evaluators."""

    samples: int = attrs.field(default=500, validator=v.ge(1))
    """Graphs to sample."""
    seed: int = attrs.field(default=0, validator=v.ge(0))
    """Seed of the sampling generator (the same samples at every evaluation of a model)."""
    max_nodes: int = attrs.field(default=0, validator=v.ge(0))
    """Cap on nodes per sample; 0 = one more than the environment's largest training graph
    (a sample that reaches the cap is stopped there and counted as ``truncated``)."""
    max_edge_tries: int = attrs.field(default=8, validator=v.ge(1))
    """Cap on add-edge decisions per new node (and never more than the earlier nodes it can
    still connect to)."""
    chunk: int = attrs.field(default=250, validator=v.ge(1))
    """Samples drawn in parallel."""


@attrs.frozen
class ValidityParams(SampleParams):
    """The ``[evaluators.<key>]`` table of ``use = "graph-validity"``."""

    family: str = attrs.field(default="", validator=v.in_(("", "cycle", "tree")))
    """Which property makes a sample valid; empty = the environment's family."""


@attrs.frozen
class DegreeDistanceParams(SampleParams):
    """The ``[evaluators.<key>]`` table of ``use = "degree-distance"``."""

    split: str = attrs.field(default="test", validator=v.in_(("train", "test")))
    """The data graphs whose degree histogram is the reference."""


@attrs.frozen
class MoleculeMetricsParams(SampleParams):
    """The ``[evaluators.<key>]`` table of ``use = "molecule-metrics"``."""

    max_edge_tries: int = attrs.field(default=6, validator=v.ge(1))
    """Cap on add-edge decisions per new atom."""
