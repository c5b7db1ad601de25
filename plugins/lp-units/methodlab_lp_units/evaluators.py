"""The learned orders of a model's Lp units."""

from __future__ import annotations

import torch
from methodlab.components import Environment, Evaluator, Loss
from torch import nn

from methodlab_lp_units.config import LpOrdersParams
from methodlab_lp_units.lp import LpPool

__all__ = ["LpOrders", "build_lp_orders"]


class LpOrders(Evaluator):
    """Mean, standard deviation, minimum and maximum of ``p`` over every Lp unit of the model.

    Metrics ``p_mean``, ``p_std`` (population standard deviation, over all units of all
    :class:`~methodlab_lp_units.lp.LpPool` layers), ``p_min`` and ``p_max``.
    """

    @torch.no_grad()
    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        orders = [module.p.flatten() for module in model.modules() if isinstance(module, LpPool)]
        if not orders:
            raise ValueError(f"lp-orders: the model ({type(model).__name__}) has no Lp units; "
                             f"use it with an Lp model such as 'lp-mlp'")
        p = torch.cat(orders).double()
        return {"p_mean": float(p.mean()), "p_std": float(p.std(correction=0)),
                "p_min": float(p.min()), "p_max": float(p.max())}


def build_lp_orders(params: LpOrdersParams, *, env: Environment) -> LpOrders:
    """Build ``use = "lp-orders"``."""
    return LpOrders()
