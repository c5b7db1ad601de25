"""The DeepGMG likelihood, its lockstep batching, and sampling caps."""

from __future__ import annotations

import math
import random

import pytest
import torch
from methodlab_graph_generation.dgmg import DGMG, sample_graphs, segment_log_softmax
from methodlab_torch_geometric.graphs import graph_set, nx_to_data
from methodlab_torch_geometric.molecules import load_molecules
from torch_geometric.data import Batch

torch.set_num_threads(1)
ATOMS = ("C", "N", "O", "F", "S", "Cl", "Br", "Na")


def _cycles(count: int, seed: int = 0) -> list:
    return [nx_to_data(g, torch.float64) for g in
            graph_set("cycle", count, min_nodes=3, max_nodes=6, rng=random.Random(seed))]


def test_batched_likelihood_equals_each_graph_alone():
    torch.manual_seed(0)
    model = DGMG(1, 1, node_hidden=6, graph_hidden=8).double()
    graphs = _cycles(5) + [nx_to_data(g, torch.float64) for g in graph_set(
        "barabasi-albert", 3, min_nodes=5, max_nodes=7, rng=random.Random(1))]
    together = model.log_likelihood(Batch.from_data_list(graphs))
    alone = torch.cat([model.log_likelihood(Batch.from_data_list([g])) for g in graphs])
    torch.testing.assert_close(together, alone, rtol=1e-10, atol=1e-10)
    assert (together < 0).all()


def test_ft12_molecule_trace_keeps_the_isolated_sodium():
    # The salt's Na (no bonds) is one add-node decision followed by a single "no edge".
    torch.manual_seed(0)
    graphs, _, _ = load_molecules(["CC(=O)[O-].[Na+]", "CCO"], atoms=ATOMS, max_atoms=9,
                                  charged="keep", dtype=torch.float64)
    model = DGMG(len(ATOMS), 3, node_hidden=6, graph_hidden=8).double()
    together = model.log_likelihood(Batch.from_data_list(graphs))
    alone = torch.cat([model.log_likelihood(Batch.from_data_list([g])) for g in graphs])
    torch.testing.assert_close(together, alone, rtol=1e-10, atol=1e-10)
    # Without the Na node the salt is a different (here: more probable) decision sequence.
    trimmed, _, _ = load_molecules(["CC(=O)[O-].[Na+]"], atoms=ATOMS, max_atoms=9,
                                   charged="keep", fragments="largest", dtype=torch.float64)
    assert trimmed[0].num_nodes == 4
    with torch.no_grad():
        alone_trimmed = float(model.log_likelihood(Batch.from_data_list(trimmed)))
    assert alone_trimmed > float(together.detach()[0])


def test_single_node_graph_likelihood_is_two_add_node_decisions():
    # One node, no edges: p = p(add node | empty) p(no edge | v) p(stop | one node).
    torch.manual_seed(0)
    model = DGMG(1, 1, node_hidden=4, graph_hidden=4).double()
    graph = nx_to_data(__import__("networkx").empty_graph(1), torch.float64)
    with torch.no_grad():
        value = float(model.log_likelihood(Batch.from_data_list([graph])))
        empty = model.add_node(torch.zeros(1, 4, dtype=torch.float64)).log_softmax(1)[0, 0]
    assert value < float(empty) < 0


def test_segment_log_softmax_normalises_each_group():
    scores = torch.randn(7, 3, dtype=torch.float64)
    group = torch.tensor([0, 0, 1, 1, 1, 2, 2])
    probs = segment_log_softmax(scores, group, 3).exp()
    sums = torch.zeros(3, dtype=torch.float64).index_add(0, group, probs.sum(1))
    torch.testing.assert_close(sums, torch.ones(3, dtype=torch.float64))
    expected = scores[:2].flatten().log_softmax(0).view(2, 3)
    torch.testing.assert_close(segment_log_softmax(scores, group, 3)[:2], expected)


def test_sampling_is_seeded_capped_and_has_no_duplicate_edges():
    torch.manual_seed(0)
    model = DGMG(2, 3, node_hidden=6, graph_hidden=8)
    with torch.no_grad():
        model.add_node.bias.copy_(torch.tensor([3.0, 3.0, -3.0]))  # rarely stop
        model.add_edge.bias.fill_(4.0)  # almost always try another edge
    state = torch.random.get_rng_state()
    first = sample_graphs(model, 40, seed=3, max_nodes=7, max_edge_tries=3, chunk=16)
    again = sample_graphs(model, 40, seed=3, max_nodes=7, max_edge_tries=3, chunk=16)
    assert torch.equal(state, torch.random.get_rng_state())  # the global state is untouched
    assert first == again
    assert first != sample_graphs(model, 40, seed=4, max_nodes=7, max_edge_tries=3, chunk=16)
    assert any(s.truncated for s in first)
    for s in first:
        assert len(s.node_types) <= 7 and set(s.node_types) <= {0, 1}
        pairs = [(u, v) for u, v, _ in s.edges]
        assert len(pairs) == len(set(pairs))  # no duplicates
        assert all(u < v < len(s.node_types) for u, v in pairs)  # no self-loops
        for v in range(len(s.node_types)):
            assert sum(1 for _, w in pairs if w == v) <= min(3, v)  # edge-try cap
        assert {r for _, _, r in s.edges} <= {0, 1, 2}
    assert model.training


def test_training_lowers_the_nll_of_cycles():
    torch.manual_seed(0)
    model = DGMG(1, 1, node_hidden=8, graph_hidden=8).double()
    graphs = _cycles(64)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    batch = Batch.from_data_list(graphs)
    start = float(-model.log_likelihood(batch).detach().mean())
    for step in range(30):
        optimizer.zero_grad()
        loss = -model.log_likelihood(Batch.from_data_list(graphs[step % 4 * 16:][:16])).mean()
        loss.backward()
        optimizer.step()
    end = float(-model.log_likelihood(batch).detach().mean())
    assert end < 0.5 * start
    assert end > math.log(4)  # four sizes 3..6: the order-free entropy is a lower bound


def test_bad_parameters_name_the_field():
    from methodlab_graph_generation.config import DGMGParams, ValidityParams

    with pytest.raises(ValueError, match="rounds"):
        DGMGParams(rounds=0)
    with pytest.raises(ValueError, match="family"):
        ValidityParams(family="grid")
