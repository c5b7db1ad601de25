"""Validity, degree distances and molecule metrics on hand-made samples."""

from __future__ import annotations

import networkx as nx
import pytest
import torch
from methodlab_graph_generation import evaluators
from methodlab_graph_generation.config import (
    DegreeDistanceParams,
    MoleculeMetricsParams,
    ValidityParams,
)
from methodlab_graph_generation.dgmg import Sample
from methodlab_graph_generation.evaluators import (
    DegreeDistance,
    GraphValidity,
    MoleculeMetrics,
    degree_histogram,
    is_cycle,
    is_tree,
    total_variation,
)
from methodlab_torch_geometric.config import SyntheticGraphParams
from methodlab_torch_geometric.environment import GraphEnvironment, build_synthetic_graphs
from methodlab_torch_geometric.molecules import load_molecules


def _sample(graph: nx.Graph, truncated: bool = False) -> Sample:
    return Sample([0] * len(graph), sorted((min(e), max(e), 0) for e in graph.edges), truncated)


def _fixed(monkeypatch, samples):
    monkeypatch.setattr(evaluators._Sampling, "samples", lambda self, model, env: samples)


def test_cycle_and_tree_checks():
    assert is_cycle(nx.cycle_graph(3)) and not is_cycle(nx.cycle_graph(3).__class__())
    two = nx.disjoint_union(nx.cycle_graph(4), nx.cycle_graph(5))
    assert not is_cycle(two) and not is_cycle(nx.path_graph(6))
    assert is_tree(nx.path_graph(4)) and not is_tree(nx.cycle_graph(4))
    assert not is_tree(nx.empty_graph(2)) and not is_tree(nx.Graph())


def test_validity_counts_in_range_family_members(monkeypatch):
    env = build_synthetic_graphs(SyntheticGraphParams(family="cycle", n_train=4, n_test=2),
                                 seed=0, device="cpu", dtype=torch.float32)
    samples = [_sample(nx.cycle_graph(12)), _sample(nx.cycle_graph(20)),
               _sample(nx.path_graph(12)), _sample(nx.cycle_graph(10), truncated=True)]
    _fixed(monkeypatch, samples)
    metrics = GraphValidity(ValidityParams())(None, env, None)
    assert metrics == {"valid": 0.5, "valid_any_size": 0.75, "mean_nodes": 13.5,
                       "truncated": 0.25}
    trees = GraphValidity(ValidityParams(family="tree"))(None, env, None)
    assert trees["valid"] == 0.25  # only the 12-node path
    env.family = "grid"
    with pytest.raises(ValueError, match="set family"):
        GraphValidity(ValidityParams())(None, env, None)


def test_degree_histogram_and_distances(monkeypatch):
    hist = degree_histogram([nx.star_graph(3)], 5)  # centre degree 3, three leaves
    assert hist.tolist() == [0.0, 0.75, 0.0, 0.25, 0.0]
    assert total_variation(hist, hist) == 0.0
    assert total_variation(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])) == 1.0
    env = build_synthetic_graphs(SyntheticGraphParams(family="barabasi-albert", min_nodes=15,
                                                      max_nodes=20, n_train=4, n_test=50),
                                 seed=0, device="cpu", dtype=torch.float32)
    data = [nx.Graph(g.edge_index.T.tolist()) for g in env.graphs["test"]]
    _fixed(monkeypatch, [_sample(g) for g in data])  # samples = the data itself
    same = DegreeDistance(DegreeDistanceParams())(None, env, None)
    assert same["degree_tv"] == 0.0 and same["degree_kl"] == pytest.approx(0.0, abs=1e-12)
    assert same["er_degree_tv"] > 0.1 and same["er_degree_kl"] > 0.1
    _fixed(monkeypatch, [_sample(nx.cycle_graph(17))] * 10)
    far = DegreeDistance(DegreeDistanceParams())(None, env, None)
    assert far["degree_tv"] > far["er_degree_tv"]


def test_molecule_metrics(monkeypatch):
    atoms = ("C", "N", "O")
    graphs, smiles, _ = load_molecules(["CCO", "CC"], atoms=atoms, max_atoms=9)
    env = GraphEnvironment({"train": graphs}, batch_size=2, seed=0, node_types=atoms,
                           edge_types=("single", "double", "triple"), family="molecules",
                           smiles={"train": smiles})
    samples = [Sample([0, 0, 2], [(0, 1, 0), (1, 2, 0)], False),  # CCO, in the training set
               Sample([0, 0, 1], [(0, 1, 0), (1, 2, 0)], False),  # CCN, novel
               Sample([0, 0, 1], [(0, 1, 0), (1, 2, 0)], False),  # CCN again
               Sample([0, 2], [], False),  # C.O: valid, two fragments, novel
               Sample([2, 2, 2], [(0, 1, 1), (1, 2, 1)], False),  # O=O=O: invalid
               Sample([], [], False)]  # empty: invalid
    _fixed(monkeypatch, samples)
    metrics = MoleculeMetrics(MoleculeMetricsParams())(None, env, None)
    assert metrics["validity"] == pytest.approx(4 / 6)
    assert metrics["valid_connected"] == pytest.approx(3 / 6)
    assert metrics["uniqueness"] == pytest.approx(3 / 4)
    assert metrics["novelty"] == pytest.approx(2 / 3)
