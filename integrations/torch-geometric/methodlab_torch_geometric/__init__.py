"""Graph data for methodlab as torch-geometric ``Data``/``Batch`` objects.

Registers the environments ``synthetic-graphs`` (seeded cycles, trees, Barabasi-Albert graphs
and grids in a canonical node order) and ``smiles-molecules`` (RDKit molecules from SMILES
files, elements and Kekulé bond orders as types, charged and stereo molecules filtered and
counted), plus a node-degree task to check them end to end: the model ``degree-gnn``, the
loss ``node-degree-nll`` and the evaluator ``node-degree-accuracy``. Registration only:
torch-geometric, networkx and RDKit are imported when a run builds a component.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_torch_geometric.config import (
    DegreeAccuracyParams,
    DegreeGNNParams,
    DegreeLossParams,
    MoleculeParams,
    SyntheticGraphParams,
)

__all__ = ["methodlab_environments", "methodlab_evaluators", "methodlab_losses",
           "methodlab_models"]

_TINY_GRAPHS = {"use": "synthetic-graphs", "family": "tree", "min_nodes": 4, "max_nodes": 6,
                "n_train": 8, "n_test": 4, "batch_size": 4}
_DEGREE = {"environment": _TINY_GRAPHS, "model": {"use": "degree-gnn", "hidden": 4},
           "loss": {"use": "node-degree-nll"},
           "evaluators": {"check": {"use": "node-degree-accuracy", "split": "test"}}}
# An environment's own table is built from "params" (the suite puts the component in its slot).
_TINY_GRAPH_PARAMS = {key: value for key, value in _TINY_GRAPHS.items() if key != "use"}


@methodlab.hookimpl
def methodlab_environments() -> Iterator[methodlab.EnvironmentSpec]:
    yield methodlab.EnvironmentSpec(
        "synthetic-graphs", "methodlab_torch_geometric.environment:build_synthetic_graphs",
        SyntheticGraphParams,
        "Seeded cycles, trees, Barabasi-Albert graphs or grids (canonical node order) as PyG Data.",
        example={**_DEGREE, "params": _TINY_GRAPH_PARAMS})
    yield methodlab.EnvironmentSpec(
        "smiles-molecules", "methodlab_torch_geometric.environment:build_smiles_molecules",
        MoleculeParams,
        "Molecules from a SMILES file (RDKit; elements and Kekule bonds as types) as PyG Data.",
        example={**_DEGREE, "params": {"limit": 40, "max_atoms": 12, "batch_size": 4}})


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        "degree-gnn", "methodlab_torch_geometric.degree:build_degree_gnn", DegreeGNNParams,
        "GraphConv layers (sum aggregation) predicting every node's degree.", example=_DEGREE)


@methodlab.hookimpl
def methodlab_losses() -> Iterator[methodlab.LossSpec]:
    yield methodlab.LossSpec(
        "node-degree-nll", "methodlab_torch_geometric.degree:build_degree_loss",
        DegreeLossParams, "Cross-entropy of each node's (clipped) degree.", example=_DEGREE)


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        "node-degree-accuracy", "methodlab_torch_geometric.degree:build_degree_accuracy",
        DegreeAccuracyParams, "Fraction of a split's nodes whose degree is predicted exactly.",
        example=_DEGREE)
