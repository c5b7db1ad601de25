"""The teacher-forced DeepGMG loss and the model factory."""

from __future__ import annotations

import torch
from methodlab.components import Environment, Loss
from torch_geometric.data import Batch

from methodlab_graph_generation.config import DGMGLossParams, DGMGParams
from methodlab_graph_generation.dgmg import DGMG

__all__ = ["DGMGLoss", "build_dgmg", "build_dgmg_nll"]


class DGMGLoss(Loss):
    """Mean over the batch's graphs of ``-log p(G, pi)`` in the stored (canonical) order.

    One call advances all graphs of the batch in lockstep (see :mod:`.dgmg`), so the batch is
    trained together, not one graph at a time.
    """

    def __call__(self, model: DGMG, batch: Batch) -> torch.Tensor:
        return -model.log_likelihood(batch).mean()


def build_dgmg(params: DGMGParams, *, env: Environment) -> DGMG:
    return DGMG(env.info.in_features, env.info.out_features, node_hidden=params.node_hidden,
                graph_hidden=params.graph_hidden, rounds=params.rounds)


def build_dgmg_nll(params: DGMGLossParams, *, env: Environment) -> DGMGLoss:
    return DGMGLoss()
