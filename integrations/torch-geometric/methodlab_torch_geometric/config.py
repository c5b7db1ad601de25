"""Parameters of the torch-geometric components (imports attrs only)."""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "FAMILIES",
    "DegreeAccuracyParams",
    "DegreeGNNParams",
    "DegreeLossParams",
    "MoleculeParams",
    "SyntheticGraphParams",
]

FAMILIES = ("cycle", "tree", "barabasi-albert", "grid")
"""Synthetic graph families (see :func:`methodlab_torch_geometric.graphs.synthetic_graph`)."""


def _at_least_min_nodes(instance: SyntheticGraphParams, _attribute: attrs.Attribute,
                        value: int) -> None:
    if value < instance.min_nodes:
        raise ValueError(f"need min_nodes <= max_nodes, got {instance.min_nodes}..{value}")


def _nonempty_atoms(_instance: MoleculeParams, _attribute: attrs.Attribute,
                    value: tuple[str, ...]) -> None:
    if not value or len(set(value)) != len(value):
        raise ValueError(f"need distinct element symbols, got {list(value)}")


@attrs.frozen
class SyntheticGraphParams:
    """The ``[environment]`` table of ``use = "synthetic-graphs"``."""

    family: str = attrs.field(default="cycle", validator=v.in_(FAMILIES))
    """Graph family: ``cycle``, ``tree`` (uniform random labelled tree), ``barabasi-albert``
    or ``grid`` (a ``r x c`` lattice with ``r * c`` in the node range)."""
    min_nodes: int = attrs.field(default=10, validator=v.ge(1))
    """Smallest node count ``N`` (drawn uniformly from ``min_nodes .. max_nodes``)."""
    max_nodes: int = attrs.field(default=15, validator=_at_least_min_nodes)
    """Largest node count ``N``."""
    ba_edges: int = attrs.field(default=2, validator=v.ge(1))
    """Edges ``m`` each new Barabasi-Albert node attaches with (needs ``m < min_nodes``)."""
    n_train: int = attrs.field(default=1000, validator=v.ge(1))
    """Training graphs (a fixed set drawn once from the seed)."""
    n_test: int = attrs.field(default=200, validator=v.ge(1))
    """Test graphs (drawn after the training graphs from the same seeded generator)."""
    batch_size: int = attrs.field(default=32, validator=v.ge(1))
    """Graphs per training batch ``B``."""
    data_seed: int = attrs.field(default=-1, validator=v.ge(-1))
    """Seed of the graph sets; -1 = the trial's seed."""


@attrs.frozen
class MoleculeParams:
    """The ``[environment]`` table of ``use = "smiles-molecules"``."""

    train_path: str = ""
    """SMILES file of the training molecules (first column; a header line ``smiles`` or
    ``SMILES`` is skipped); empty = RDKit's ``Data/NCI/first_5K.smi``."""
    test_path: str = ""
    """SMILES file of the test molecules; empty = the last ``test_fraction`` of the kept
    training molecules (in file order)."""
    test_fraction: float = attrs.field(default=0.1, validator=[v.gt(0.0), v.lt(1.0)])
    """Share of the kept molecules held out when ``test_path`` is empty."""
    atoms: tuple[str, ...] = attrs.field(
        default=("C", "N", "O", "F", "S", "Cl", "Br"), converter=tuple,
        validator=_nonempty_atoms)
    """Element vocabulary, the node types in this order; molecules with others are dropped."""
    max_atoms: int = attrs.field(default=30, validator=v.ge(1))
    """Heavy atoms at most; larger molecules are dropped."""
    charged: str = attrs.field(default="drop", validator=v.in_(("drop", "keep")))
    """Molecules with a charged atom: ``drop`` them (DeepGMG cannot generate charges) or
    ``keep`` them (the charge is then not a feature)."""
    chirality: str = attrs.field(default="drop", validator=v.in_(("drop", "strip", "keep")))
    """Molecules with chiral centres or double-bond stereo: ``drop`` them, ``strip`` the
    stereo labels and keep the molecule, or ``keep`` (stereo is never a feature)."""
    fragments: str = attrs.field(default="keep", validator=v.in_(("keep", "largest", "drop")))
    """Molecules of several fragments (salts): ``keep`` every atom (isolated ones too; node
    counts are set from the atom count), keep the ``largest`` fragment, or ``drop`` them."""
    limit: int = attrs.field(default=0, validator=v.ge(0))
    """Read at most this many lines of each file (0 = all); for tests and smoke runs."""
    batch_size: int = attrs.field(default=32, validator=v.ge(1))
    """Molecules per training batch ``B``."""


@attrs.frozen
class DegreeGNNParams:
    """The ``[model]`` table of ``use = "degree-gnn"``."""

    hidden: int = attrs.field(default=16, validator=v.ge(1))
    """Node state size ``D``."""
    rounds: int = attrs.field(default=2, validator=v.ge(1))
    """Message-passing rounds ``T``."""
    max_degree: int = attrs.field(default=8, validator=v.ge(1))
    """Degree classes ``0 .. max_degree`` (higher degrees are clipped to the last)."""


@attrs.frozen
class DegreeLossParams:
    """The ``[loss]`` table of ``use = "node-degree-nll"`` (no settings)."""


@attrs.frozen
class DegreeAccuracyParams:
    """The ``[evaluators.<key>]`` table of ``use = "node-degree-accuracy"``."""

    split: str = attrs.field(default="test", validator=v.in_(("train", "test")))
    """Which graphs to score."""
