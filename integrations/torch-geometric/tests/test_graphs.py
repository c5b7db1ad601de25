"""Synthetic families, canonical orders and the environments' batches."""

from __future__ import annotations

import random
from collections import Counter

import networkx as nx
import pytest
import torch
from methodlab_torch_geometric.config import MoleculeParams, SyntheticGraphParams
from methodlab_torch_geometric.environment import build_smiles_molecules, build_synthetic_graphs
from methodlab_torch_geometric.graphs import graph_set, nx_to_data, synthetic_graph
from torch import nn
from torch_geometric.utils import to_networkx


def _earlier_neighbour_everywhere(graph: nx.Graph) -> bool:
    return all(any(u < v for u in graph.neighbors(v)) for v in graph.nodes if v > 0)


@pytest.mark.parametrize("family", ["cycle", "tree", "barabasi-albert", "grid"])
def test_families_have_their_shape_and_a_canonical_order(family):
    graphs = graph_set(family, 30, min_nodes=10, max_nodes=15, rng=random.Random(0))
    for g in graphs:
        n = g.number_of_nodes()
        assert 10 <= n <= 15 and sorted(g.nodes) == list(range(n))
        assert _earlier_neighbour_everywhere(g)
    if family == "cycle":
        assert all(sorted(g.edges) == sorted(nx.cycle_graph(len(g)).edges) for g in graphs)
    if family == "tree":
        assert all(nx.is_tree(g) for g in graphs)
        # BFS order: parents (the earlier neighbour) never decrease.
        for g in graphs:
            parents = [min(g.neighbors(v)) for v in range(1, len(g))]
            assert parents == sorted(parents)
    if family == "barabasi-albert":
        assert all(g.number_of_edges() == 2 * (len(g) - 2) for g in graphs)
    if family == "grid":
        assert {len(g) for g in graphs} <= {10, 12, 14, 15}  # 2x5, 2x6/3x4, 2x7, 3x5
        assert all(max(d for _, d in g.degree) <= 4 for g in graphs)
    sizes = Counter(len(g) for g in graphs)
    assert len(sizes) >= 3  # sizes are drawn, not fixed


def test_graph_sets_are_seeded():
    first = graph_set("tree", 5, min_nodes=5, max_nodes=9, rng=random.Random(3))
    again = graph_set("tree", 5, min_nodes=5, max_nodes=9, rng=random.Random(3))
    other = graph_set("tree", 5, min_nodes=5, max_nodes=9, rng=random.Random(4))
    edges = [[sorted(g.edges) for g in s] for s in (first, again, other)]
    assert edges[0] == edges[1] != edges[2]


def test_bad_sizes_are_explained():
    with pytest.raises(ValueError, match="at least 3 nodes"):
        synthetic_graph("cycle", 2, random.Random(0))
    with pytest.raises(ValueError, match="ba_edges < n"):
        synthetic_graph("barabasi-albert", 3, random.Random(0), ba_edges=3)
    with pytest.raises(ValueError, match="min_nodes <= max_nodes"):
        SyntheticGraphParams(min_nodes=5, max_nodes=4)
    with pytest.raises(ValueError, match="family"):
        SyntheticGraphParams(family="star")


def test_nx_to_data_keeps_isolated_nodes_and_orders_edges():
    g = nx.Graph([(0, 2), (1, 2), (0, 1)])
    g.add_node(3)
    data = nx_to_data(g)
    assert data.num_nodes == 4 and data.x.shape == (4, 1)
    assert data.edge_index.T.tolist() == [[0, 1], [1, 0], [0, 2], [2, 0], [1, 2], [2, 1]]
    assert nx.is_isomorphic(to_networkx(data, to_undirected=True), g)


def test_synthetic_environment_batches():
    params = SyntheticGraphParams(family="cycle", n_train=20, n_test=7, batch_size=4)
    env = build_synthetic_graphs(params, seed=1, device="cpu", dtype=torch.float64)
    again = build_synthetic_graphs(params, seed=1, device="cpu", dtype=torch.float64)
    batch = env.train_batch(5, nn.Identity())
    assert batch.num_graphs == 4 and batch.x.dtype == torch.float64
    assert batch.ptr.tolist() == [0, *torch.cumsum(torch.bincount(batch.batch), 0).tolist()]
    assert torch.equal(batch.edge_index, again.train_batch(5, nn.Identity()).edge_index)
    assert not torch.equal(batch.ptr, env.train_batch(6, nn.Identity()).ptr) or not torch.equal(
        batch.edge_index, env.train_batch(6, nn.Identity()).edge_index)
    test = list(env.split("test"))
    assert [b.num_graphs for b in test] == [4, 3]
    assert env.info.in_features == env.info.out_features == 1 and env.info.train_size == 20
    assert env.node_range == (10, 15)
    with pytest.raises(KeyError, match="known: train, test"):
        env.split("valid")
    with pytest.raises(ValueError, match="ba_edges < min_nodes"):
        build_synthetic_graphs(SyntheticGraphParams(family="barabasi-albert", min_nodes=2,
                                                    max_nodes=4, ba_edges=2),
                               seed=0, device="cpu", dtype=torch.float32)


def test_molecule_environment_holds_out_and_counts(tmp_path):
    path = tmp_path / "m.smi"
    path.write_text("\n".join(["CCO", "CC[N+](C)(C)C", "c1ccccc1", "CCN", "CC(=O)O", "CS"]))
    env = build_smiles_molecules(MoleculeParams(train_path=str(path), test_fraction=0.25,
                                                batch_size=2),
                                 seed=0, device="cpu", dtype=torch.float32)
    assert env.smiles == {"train": ["CCO", "c1ccccc1", "CCN", "CC(=O)O"], "test": ["CS"]}
    assert len(env.graphs["train"]) == 4 and len(env.graphs["test"]) == 1
    assert env.dropped["train"] == {"charged": 1}
    assert env.info.in_features == 7 and env.info.out_features == 3
    assert env.train_batch(0, nn.Identity()).x.shape[1] == 7
    with pytest.raises(ValueError, match="too few"):
        build_smiles_molecules(MoleculeParams(train_path=str(path), limit=1), seed=0,
                               device="cpu", dtype=torch.float32)
