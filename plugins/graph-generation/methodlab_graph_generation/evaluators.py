"""Sampling evaluators: validity of cycles and trees, degree-histogram distance, molecules.

Each evaluator draws its samples from a generator seeded by its own ``seed`` (never the
global random state), so the same model gives the same samples and metrics every time.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence

import networkx as nx
import torch
from methodlab.components import Environment, Evaluator, Loss
from methodlab_torch_geometric.molecules import canonical_smiles, graph_to_mol
from rdkit import Chem
from torch_geometric.data import Data

from methodlab_graph_generation.config import (
    DegreeDistanceParams,
    MoleculeMetricsParams,
    SampleParams,
    ValidityParams,
)
from methodlab_graph_generation.dgmg import DGMG, Sample, sample_graphs

__all__ = ["DegreeDistance", "GraphValidity", "MoleculeMetrics", "build_degree_distance",
           "build_graph_validity", "build_molecule_metrics", "degree_histogram", "is_cycle",
           "is_tree", "to_networkx", "total_variation"]


def to_networkx(sample: Sample) -> nx.Graph:
    """The sample as an undirected networkx graph on ``0 .. N-1`` (isolated nodes kept)."""
    graph = nx.Graph()
    graph.add_nodes_from(range(len(sample.node_types)))
    graph.add_edges_from((u, v) for u, v, _ in sample.edges)
    return graph


def is_cycle(graph: nx.Graph) -> bool:
    """A single cycle: connected, at least 3 nodes, every degree 2.

    Example:
        >>> is_cycle(nx.cycle_graph(5)), is_cycle(nx.path_graph(5))
        (True, False)
    """
    return (len(graph) >= 3 and nx.is_connected(graph)
            and all(degree == 2 for _, degree in graph.degree))


def is_tree(graph: nx.Graph) -> bool:
    """Connected and acyclic (``networkx.is_tree``); the empty graph is not a tree."""
    return len(graph) > 0 and nx.is_tree(graph)


def degree_histogram(graphs: Iterable[nx.Graph], bins: int) -> torch.Tensor:
    """Pooled, normalised degree histogram over all nodes of ``graphs``, ``(bins,)``.

    Degrees ``>= bins - 1`` share the last bin.

    Example:
        >>> degree_histogram([nx.path_graph(4)], 3).tolist()
        [0.0, 0.5, 0.5]
    """
    counts = torch.zeros(bins, dtype=torch.float64)
    for graph in graphs:
        for _, degree in graph.degree:
            counts[min(degree, bins - 1)] += 1
    return counts / counts.sum().clamp(min=1)


def total_variation(p: torch.Tensor, q: torch.Tensor) -> float:
    """``0.5 * sum |p - q|`` of two histograms (0 = equal, 1 = disjoint)."""
    return float(0.5 * (p - q).abs().sum())


def _kl(p: torch.Tensor, q: torch.Tensor, eps: float = 1e-4) -> float:
    # KL(p || q) with both smoothed by eps, so an empty bin of q is penalised, not infinite.
    p, q = (p + eps) / (1 + eps * len(p)), (q + eps) / (1 + eps * len(q))
    return float((p * (p / q).log()).sum())


def _data_to_networkx(data: Data) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(range(data.num_nodes))
    graph.add_edges_from(data.edge_index.T.tolist())
    return graph


class _Sampling(Evaluator):
    """Shared sampling: caps from the parameters or the environment's largest graph."""

    def __init__(self, params: SampleParams) -> None:
        self.params = params

    def samples(self, model: DGMG, env: Environment) -> Sequence[Sample]:
        max_nodes = self.params.max_nodes or 1 + max(
            data.num_nodes for data in env.graphs["train"])
        return sample_graphs(model, self.params.samples, seed=self.params.seed,
                             max_nodes=max_nodes, max_edge_tries=self.params.max_edge_tries,
                             chunk=self.params.chunk)

    @staticmethod
    def sizes(samples: Sequence[Sample]) -> dict[str, float]:
        return {"mean_nodes": sum(len(s.node_types) for s in samples) / len(samples),
                "truncated": sum(s.truncated for s in samples) / len(samples)}


class GraphValidity(_Sampling):
    """Fraction of samples that are valid members of the family with an in-range size.

    ``valid``: a cycle (:func:`is_cycle`) or a tree (:func:`is_tree`) whose node count lies in
    the environment's ``node_range``; ``valid_any_size`` drops the size condition.
    """

    def __call__(self, model: DGMG, env: Environment, loss: Loss) -> Mapping[str, float]:
        family = self.params.family or env.family
        if family not in ("cycle", "tree"):
            raise ValueError(f"evaluators: graph-validity needs family cycle or tree, the "
                             f"environment has {family!r}; set family")
        check = is_cycle if family == "cycle" else is_tree
        low, high = env.node_range or (1, 10**9)
        samples = self.samples(model, env)
        graphs = [to_networkx(s) for s in samples]
        shaped = [check(g) for g in graphs]
        in_range = [low <= len(g) <= high for g in graphs]
        count = len(samples)
        return {"valid": sum(a and b for a, b in zip(shaped, in_range, strict=True)) / count,
                "valid_any_size": sum(shaped) / count, **self.sizes(samples)}


class DegreeDistance(_Sampling):
    """Degree-histogram distances of the samples and of Erdős–Rényi graphs to the data.

    The reference is the pooled degree histogram of the split's graphs. The baseline draws,
    for each data graph, an Erdős–Rényi graph with the same node count and the data's overall
    edge density ``p = sum E / sum N(N-1)/2`` (seeded). Metrics: total variation
    ``degree_tv`` / ``er_degree_tv`` and smoothed ``KL(data || model)`` ``degree_kl`` /
    ``er_degree_kl``.
    """

    def __init__(self, params: DegreeDistanceParams) -> None:
        super().__init__(params)
        self.split = params.split

    def __call__(self, model: DGMG, env: Environment, loss: Loss) -> Mapping[str, float]:
        data = [_data_to_networkx(d) for d in env.graphs[self.split]]
        samples = self.samples(model, env)
        generated = [to_networkx(s) for s in samples]
        pairs = sum(len(g) * (len(g) - 1) / 2 for g in data)
        density = sum(g.number_of_edges() for g in data) / pairs
        rng = random.Random(self.params.seed)
        baseline = [nx.gnp_random_graph(len(g), density, seed=rng.randrange(2**31))
                    for g in data]
        bins = 1 + max(max((d for _, d in g.degree), default=0)
                       for g in [*data, *generated, *baseline])
        reference = degree_histogram(data, bins)
        model_hist, er_hist = degree_histogram(generated, bins), degree_histogram(baseline, bins)
        return {"degree_tv": total_variation(reference, model_hist),
                "er_degree_tv": total_variation(reference, er_hist),
                "degree_kl": _kl(reference, model_hist), "er_degree_kl": _kl(reference, er_hist),
                **self.sizes(samples)}


class MoleculeMetrics(_Sampling):
    """Validity, uniqueness and novelty of sampled molecules (RDKit).

    ``validity``: fraction of samples with at least one atom that RDKit sanitizes (implicit
    hydrogens; a valence the element cannot have fails); ``valid_connected``: those that are
    also one fragment. ``uniqueness``: distinct canonical SMILES among the valid samples over
    the valid samples; ``novelty``: distinct valid SMILES not among the training molecules
    over the distinct valid SMILES (the MOSES definitions).
    """

    def __call__(self, model: DGMG, env: Environment, loss: Loss) -> Mapping[str, float]:
        samples = self.samples(model, env)
        smiles = []
        connected = 0
        for sample in samples:
            mol = graph_to_mol(sample.node_types, sample.edges, env.node_types)
            if mol is None:
                continue
            smiles.append(canonical_smiles(mol))
            connected += len(Chem.GetMolFrags(mol)) == 1
        distinct = set(smiles)
        novel = distinct - set(env.smiles["train"])
        return {"validity": len(smiles) / len(samples),
                "valid_connected": connected / len(samples),
                "uniqueness": len(distinct) / max(len(smiles), 1),
                "novelty": len(novel) / max(len(distinct), 1), **self.sizes(samples)}


def build_graph_validity(params: ValidityParams, *, env: Environment) -> GraphValidity:
    return GraphValidity(params)


def build_degree_distance(params: DegreeDistanceParams, *, env: Environment) -> DegreeDistance:
    return DegreeDistance(params)


def build_molecule_metrics(params: MoleculeMetricsParams, *,
                           env: Environment) -> MoleculeMetrics:
    return MoleculeMetrics(params)
