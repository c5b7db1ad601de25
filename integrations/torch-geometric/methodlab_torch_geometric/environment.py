"""Graph environments: fixed seeded graph sets served as torch-geometric ``Batch`` objects."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence

import torch
from methodlab.components import EnvInfo, Environment
from torch import nn
from torch_geometric.data import Batch, Data

from methodlab_torch_geometric.config import MoleculeParams, SyntheticGraphParams
from methodlab_torch_geometric.graphs import graph_set, nx_to_data
from methodlab_torch_geometric.molecules import (
    default_smiles_path,
    load_molecules,
    read_smiles,
)

__all__ = ["GraphEnvironment", "build_smiles_molecules", "build_synthetic_graphs"]


class GraphEnvironment(Environment):
    """Fixed train and test graph sets; training batches are seeded draws with replacement.

    ``train_batch(step)`` draws ``B`` training graphs uniformly with replacement from a
    generator seeded by ``(seed, step)`` only and collates them with
    ``Batch.from_data_list`` (node counts are explicit, so ``batch.ptr`` is exact).
    ``split(name)`` yields the split's graphs in order, ``B`` per batch.

    Attributes:
        graphs: ``{split: [Data]}``; node types in ``x``/``node_type``, edge types in
            ``edge_attr``/``edge_type``, nodes in canonical generation order.
        node_types, edge_types: names of the node and edge types (``K`` and ``R`` of them).
        node_range: ``(min, max)`` node count of the family (synthetic sets) or ``None``.
        family: the synthetic family, or ``"molecules"``.
        smiles: ``{split: [canonical SMILES]}`` for molecules (empty for synthetic sets).
        dropped: ``{split: Counter(reason -> molecules dropped)}`` (empty for synthetic sets).

    Shapes:
        a batch has ``x`` ``(sum N_b, K)``, ``edge_index`` ``(2, sum 2E_b)``, ``batch``
        ``(sum N_b,)`` and ``ptr`` ``(B + 1,)``.
    """

    def __init__(self, graphs: Mapping[str, list[Data]], *, batch_size: int, seed: int,
                 node_types: Sequence[str], edge_types: Sequence[str], family: str,
                 node_range: tuple[int, int] | None = None,
                 smiles: Mapping[str, list[str]] | None = None,
                 dropped: Mapping[str, Counter] | None = None) -> None:
        if not graphs.get("train"):
            raise ValueError("the environment has no training graphs")
        self.graphs = dict(graphs)
        self.batch_size = batch_size
        self.seed = seed
        self.node_types = tuple(node_types)
        self.edge_types = tuple(edge_types)
        self.family = family
        self.node_range = node_range
        self.smiles = dict(smiles or {})
        self.dropped = dict(dropped or {})
        self.info = EnvInfo(len(self.node_types), len(self.edge_types), "graph-generation",
                            len(self.graphs["train"]))

    def train_batch(self, step: int, model: nn.Module) -> Batch:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        train = self.graphs["train"]
        choice = torch.randint(len(train), (self.batch_size,), generator=generator).tolist()
        return Batch.from_data_list([train[i] for i in choice])

    def split(self, name: str) -> Iterator[Batch]:
        if name not in self.graphs:
            raise KeyError(f"unknown split {name!r}; known: {', '.join(self.graphs)}")
        graphs = self.graphs[name]
        return (Batch.from_data_list(graphs[i : i + self.batch_size])
                for i in range(0, len(graphs), self.batch_size))

    def __repr__(self) -> str:
        sizes = ", ".join(f"{split}={len(graphs)}" for split, graphs in self.graphs.items())
        return (f"{type(self).__name__}({self.family}, {sizes}, K={len(self.node_types)}, "
                f"R={len(self.edge_types)}, batch_size={self.batch_size})")


def build_synthetic_graphs(params: SyntheticGraphParams, *, seed: int, device: str,
                           dtype: torch.dtype) -> GraphEnvironment:
    if params.family == "barabasi-albert" and params.ba_edges >= params.min_nodes:
        raise ValueError(f"environment.ba_edges: needs ba_edges < min_nodes, got "
                         f"{params.ba_edges} >= {params.min_nodes}")
    rng = random.Random(seed if params.data_seed < 0 else params.data_seed)
    kwargs = {"min_nodes": params.min_nodes, "max_nodes": params.max_nodes, "rng": rng,
              "ba_edges": params.ba_edges}
    train = graph_set(params.family, params.n_train, **kwargs)
    test = graph_set(params.family, params.n_test, **kwargs)
    graphs = {split: [nx_to_data(g, dtype).to(device) for g in items]
              for split, items in (("train", train), ("test", test))}
    return GraphEnvironment(graphs, batch_size=params.batch_size, seed=seed,
                            node_types=("node",), edge_types=("edge",), family=params.family,
                            node_range=(params.min_nodes, params.max_nodes))


def build_smiles_molecules(params: MoleculeParams, *, seed: int, device: str,
                           dtype: torch.dtype) -> GraphEnvironment:
    train_path = params.train_path or default_smiles_path()
    options = {"atoms": params.atoms, "max_atoms": params.max_atoms, "charged": params.charged,
               "chirality": params.chirality, "fragments": params.fragments, "dtype": dtype}
    train, train_smiles, train_dropped = load_molecules(
        read_smiles(train_path, params.limit), label=str(train_path), **options)
    if params.test_path:
        test, test_smiles, test_dropped = load_molecules(
            read_smiles(params.test_path, params.limit), label=params.test_path, **options)
    else:
        cut = len(train) - max(1, round(params.test_fraction * len(train)))
        if cut < 1:
            raise ValueError(f"environment.train_path: only {len(train)} molecules kept, too "
                             "few to hold out a test set")
        train, test = train[:cut], train[cut:]
        train_smiles, test_smiles = train_smiles[:cut], train_smiles[cut:]
        test_dropped = Counter()
    graphs = {"train": [g.to(device) for g in train], "test": [g.to(device) for g in test]}
    return GraphEnvironment(
        graphs, batch_size=params.batch_size, seed=seed, node_types=params.atoms,
        edge_types=("single", "double", "triple"), family="molecules",
        smiles={"train": train_smiles, "test": test_smiles},
        dropped={"train": train_dropped, "test": test_dropped})
