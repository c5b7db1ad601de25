"""Seeded synthetic graph families in a canonical node order, as torch-geometric ``Data``.

Every graph is returned with its nodes numbered in the order a sequential generator (DeepGMG)
would add them: ring order for cycles, breadth-first order for trees, arrival order for
Barabasi-Albert graphs and row-major order for grids. In each of these orders every node
after the first of its connected component has an edge to an earlier node.
"""

from __future__ import annotations

import random

import networkx as nx
import torch
from torch_geometric.data import Data

from methodlab_torch_geometric.config import FAMILIES

__all__ = ["bfs_relabel", "graph_set", "nx_to_data", "synthetic_graph"]


def bfs_relabel(graph: nx.Graph) -> nx.Graph:
    """Renumber the nodes ``0 .. N-1`` in breadth-first order from the smallest node.

    Neighbours are visited in increasing label order, so the result is a function of the
    graph's labelling only. Components are taken in order of their smallest node.

    Example:
        >>> tree = bfs_relabel(nx.Graph([(5, 3), (3, 9), (9, 1), (9, 7)]))
        >>> sorted(tuple(sorted(edge)) for edge in tree.edges())  # 1 -> 0, 9 -> 1, 3, 7 -> 2, 3
        [(0, 1), (1, 2), (1, 3), (2, 4)]
    """
    order: list = []
    seen: set = set()
    for root in sorted(graph.nodes):
        if root in seen:
            continue
        seen.add(root)
        queue = [root]
        while queue:
            node = queue.pop(0)
            order.append(node)
            for neighbour in sorted(graph.neighbors(node)):
                if neighbour not in seen:
                    seen.add(neighbour)
                    queue.append(neighbour)
    return nx.relabel_nodes(graph, {node: i for i, node in enumerate(order)})


def synthetic_graph(family: str, n: int, rng: random.Random, *, ba_edges: int = 2) -> nx.Graph:
    """Draw one graph of ``family`` with ``n`` nodes, labelled ``0 .. n-1`` canonically.

    ``cycle`` is the ring ``0-1-...-(n-1)-0``; ``tree`` a uniform random labelled tree
    renumbered breadth-first; ``barabasi-albert`` networkx's preferential-attachment graph with
    ``m = ba_edges`` (arrival order); ``grid`` an ``r x c`` lattice with ``r * c = n``
    (row-major), ``r <= c`` drawn uniformly among the factorisations of ``n``.

    :raises ValueError: for an unknown family or an ``n`` the family cannot have.
    """
    seed = rng.randrange(2**31)
    if family == "cycle":
        if n < 3:
            raise ValueError(f"a cycle needs at least 3 nodes, got {n}")
        return nx.cycle_graph(n)
    if family == "tree":
        return bfs_relabel(nx.random_labeled_tree(n, seed=seed))
    if family == "barabasi-albert":
        if not 1 <= ba_edges < n:
            raise ValueError(f"barabasi-albert needs 1 <= ba_edges < n, got m={ba_edges}, n={n}")
        return nx.barabasi_albert_graph(n, ba_edges, seed=seed)
    if family == "grid":
        shapes = [(r, n // r) for r in range(1, int(n**0.5) + 1) if n % r == 0]
        rows, cols = shapes[rng.randrange(len(shapes))]
        grid = nx.grid_2d_graph(rows, cols)
        return nx.relabel_nodes(grid, {(i, j): i * cols + j for i, j in grid.nodes})
    raise ValueError(f"unknown graph family {family!r}; known: {', '.join(FAMILIES)}")


def nx_to_data(graph: nx.Graph, dtype: torch.dtype = torch.float32) -> Data:
    """An undirected networkx graph on nodes ``0 .. N-1`` as a one-node-type ``Data``.

    ``num_nodes`` is set from the graph (isolated nodes are kept); every edge is stored in
    both directions, the pair ``(min, max)`` first, sorted by ``(max, min)`` so the edges
    appear in the order a sequential generator adds them.

    Returns:
        ``Data`` with ``x`` ``(N, 1)`` ones, ``node_type`` ``(N,)`` zeros, ``edge_index``
        ``(2, 2E)``, ``edge_type`` ``(2E,)`` zeros, ``edge_attr`` ``(2E, 1)`` ones.

    Example:
        >>> nx_to_data(nx.path_graph(3)).edge_index.tolist()
        [[0, 1, 1, 2], [1, 0, 2, 1]]
    """
    n = graph.number_of_nodes()
    if sorted(graph.nodes) != list(range(n)):
        raise ValueError("nodes must be labelled 0 .. N-1")
    pairs = sorted((min(u, v), max(u, v)) for u, v in graph.edges)
    pairs.sort(key=lambda pair: (pair[1], pair[0]))
    columns = [end for u, v in pairs for end in ((u, v), (v, u))]
    edge_index = torch.tensor(columns, dtype=torch.long).reshape(-1, 2).T  # (2, 2E)
    edges = edge_index.shape[1]
    return Data(x=torch.ones(n, 1, dtype=dtype), node_type=torch.zeros(n, dtype=torch.long),
                edge_index=edge_index, edge_type=torch.zeros(edges, dtype=torch.long),
                edge_attr=torch.ones(edges, 1, dtype=dtype), num_nodes=n)


def graph_set(family: str, count: int, *, min_nodes: int, max_nodes: int, rng: random.Random,
              ba_edges: int = 2) -> list[nx.Graph]:
    """``count`` graphs of ``family`` with node counts uniform on ``min_nodes .. max_nodes``.

    For grids the node count is drawn among the counts in range that have a factorisation
    ``r x c`` with ``r >= 2`` (so a grid is not a path); if none has, among all.
    """
    sizes = list(range(min_nodes, max_nodes + 1))
    if family == "grid":
        composite = [n for n in sizes if any(n % r == 0 for r in range(2, int(n**0.5) + 1))]
        sizes = composite or sizes
    return [synthetic_graph(family, rng.choice(sizes), rng, ba_edges=ba_edges)
            for _ in range(count)]
