"""Deep generative models of graphs (DeepGMG; Li et al., 2018) as a methodlab plugin.

Registers the model ``dgmg``, the loss ``dgmg-nll`` (teacher-forced ``-log p(G, pi)``,
batched across graphs) and the sampling evaluators ``graph-validity`` (cycles, trees),
``degree-distance`` (degree histograms against an Erdős–Rényi baseline) and
``molecule-metrics`` (validity, uniqueness, novelty with RDKit). The data come from the
``torch-geometric`` integration. Registration only: torch is imported when a run builds a
component.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_graph_generation.config import (
    DegreeDistanceParams,
    DGMGLossParams,
    DGMGParams,
    MoleculeMetricsParams,
    ValidityParams,
)

__all__ = ["methodlab_evaluators", "methodlab_losses", "methodlab_models"]


def _tiny(family: str, evaluator: dict) -> dict:
    # Tiny graphs and few samples keep a conformance run to a fraction of a second.
    return {"environment": {"use": "synthetic-graphs", "family": family, "min_nodes": 3,
                            "max_nodes": 5, "n_train": 8, "n_test": 4, "batch_size": 4},
            "model": {"use": "dgmg", "node_hidden": 4, "graph_hidden": 6},
            "loss": {"use": "dgmg-nll"}, "evaluators": {"check": evaluator}}


_CYCLES = _tiny("cycle", {"use": "graph-validity", "samples": 6})
_MOLECULES = {"environment": {"use": "smiles-molecules", "limit": 40, "max_atoms": 10,
                              "batch_size": 4},
              "model": {"use": "dgmg", "node_hidden": 4, "graph_hidden": 6},
              "loss": {"use": "dgmg-nll"}}


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        "dgmg", "methodlab_graph_generation.nll:build_dgmg", DGMGParams,
        "DeepGMG: add-node, add-edge and pick-node modules over message-passing node states.",
        example=_CYCLES)


@methodlab.hookimpl
def methodlab_losses() -> Iterator[methodlab.LossSpec]:
    yield methodlab.LossSpec(
        "dgmg-nll", "methodlab_graph_generation.nll:build_dgmg_nll", DGMGLossParams,
        "Teacher-forced -log p(G, pi) in canonical order, all graphs of a batch in lockstep.",
        example=_CYCLES)


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        "graph-validity", "methodlab_graph_generation.evaluators:build_graph_validity",
        ValidityParams, "Fraction of seeded samples that are in-range cycles or trees.",
        example=_CYCLES)
    yield methodlab.EvaluatorSpec(
        "degree-distance", "methodlab_graph_generation.evaluators:build_degree_distance",
        DegreeDistanceParams,
        "Degree-histogram TV and KL of samples and of an equal-density ER baseline to the data.",
        example=_tiny("barabasi-albert", {"use": "degree-distance", "samples": 6}) | {
            "environment": {"use": "synthetic-graphs", "family": "barabasi-albert",
                            "min_nodes": 4, "max_nodes": 6, "ba_edges": 2, "n_train": 8,
                            "n_test": 4, "batch_size": 4}})
    yield methodlab.EvaluatorSpec(
        "molecule-metrics", "methodlab_graph_generation.evaluators:build_molecule_metrics",
        MoleculeMetricsParams, "Validity, uniqueness and novelty of seeded samples via RDKit.",
        example=_MOLECULES | {"evaluators": {"check": {"use": "molecule-metrics",
                                                       "samples": 6}}})
