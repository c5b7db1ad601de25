"""A small supervised task on any graph environment: predict each node's degree.

It exercises the environments end to end (batches, ``edge_index`` offsets, explicit node
counts) and is the smallest check that a message-passing network sees the graph: with sum
aggregation one round suffices to count neighbours exactly, while a model that ignores the
edges can only predict the most frequent degree.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import torch
from methodlab.components import Environment, Evaluator, Loss
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.nn import GraphConv
from torch_geometric.utils import degree

from methodlab_torch_geometric.config import (
    DegreeAccuracyParams,
    DegreeGNNParams,
    DegreeLossParams,
)

__all__ = ["DegreeGNN", "DegreeLoss", "build_degree_accuracy", "build_degree_gnn",
           "build_degree_loss", "degree_targets"]


def degree_targets(batch: Batch, max_degree: int) -> torch.Tensor:
    """Each node's degree (edges stored in both directions), clipped at ``max_degree``.

    Example:
        >>> from torch_geometric.data import Data
        >>> g = Data(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=4)
        >>> degree_targets(Batch.from_data_list([g]), 8).tolist()
        [1, 2, 1, 0]
    """
    counts = degree(batch.edge_index[0], num_nodes=batch.num_nodes, dtype=torch.long)  # (N,)
    return counts.clamp(max=max_degree)


class DegreeGNN(nn.Module):
    """``T`` rounds of ``GraphConv`` (sum aggregation) and a per-node read-out of degrees.

    .. math::
        h_v^{(t+1)} = \\mathrm{ReLU}\\big(W_1 h_v^{(t)} + W_2 \\textstyle\\sum_{u \\in N(v)}
        h_u^{(t)}\\big), \\qquad z_v = W_o h_v^{(T)}

    Shapes:
        input: a ``Batch`` with ``x`` ``(N, K)``; output: logits ``(N, max_degree + 1)``.
    """

    def __init__(self, in_features: int, hidden: int, rounds: int, max_degree: int) -> None:
        super().__init__()
        self.max_degree = max_degree
        sizes = [in_features] + [hidden] * rounds
        self.convs = nn.ModuleList(GraphConv(a, b) for a, b in itertools.pairwise(sizes))
        self.readout = nn.Linear(hidden, max_degree + 1)

    def forward(self, batch: Batch) -> torch.Tensor:
        h = batch.x  # (N, K)
        for conv in self.convs:
            h = torch.relu(conv(h, batch.edge_index))  # (N, D)
        return self.readout(h)  # (N, max_degree + 1)


class DegreeLoss(Loss):
    """Mean cross-entropy of the nodes' degrees."""

    def __call__(self, model: DegreeGNN, batch: Batch) -> torch.Tensor:
        return nn.functional.cross_entropy(model(batch), degree_targets(batch, model.max_degree))


class DegreeAccuracy(Evaluator):
    """Fraction of nodes of a split whose degree the model predicts exactly."""

    def __init__(self, split: str) -> None:
        self.split = split

    @torch.no_grad()
    def __call__(self, model: DegreeGNN, env: Environment, loss: Loss) -> Mapping[str, float]:
        correct = total = 0
        for batch in env.split(self.split):
            predicted = model(batch).argmax(1)
            correct += int((predicted == degree_targets(batch, model.max_degree)).sum())
            total += batch.num_nodes
        return {"degree_accuracy": correct / total}


def build_degree_gnn(params: DegreeGNNParams, *, env: Environment) -> DegreeGNN:
    return DegreeGNN(env.info.in_features, params.hidden, params.rounds, params.max_degree)


def build_degree_loss(params: DegreeLossParams, *, env: Environment) -> DegreeLoss:
    return DegreeLoss()


def build_degree_accuracy(params: DegreeAccuracyParams, *, env: Environment) -> DegreeAccuracy:
    return DegreeAccuracy(params.split)
