"""Model factories: a centred RBM and a centred DBM sized by the environment."""

from __future__ import annotations

import torch
from methodlab.components import Environment

from methodlab_metric_free_natural_gradient.boltzmann import BoltzmannMachine
from methodlab_metric_free_natural_gradient.config import DBMParams, RBMParams

__all__ = ["build_dbm", "build_rbm", "data_mean"]


def data_mean(env: Environment) -> torch.Tensor:
    """Per-pixel mean of the environment's ``train`` split, shape ``(D,)``."""
    total, count = 0.0, 0
    for batch in env.split("train"):
        total = total + batch.inputs.sum(0)
        count += len(batch.inputs)
    return total / count


def build_rbm(params: RBMParams, *, env: Environment) -> BoltzmannMachine:
    """``use = "centred-rbm"``: layers ``(D, hidden)``."""
    return BoltzmannMachine((env.info.in_features, params.hidden), chains=params.chains,
                            visible_mean=data_mean(env), init_scale=params.init_scale)


def build_dbm(params: DBMParams, *, env: Environment) -> BoltzmannMachine:
    """``use = "centred-dbm"``: layers ``(D, *hidden)``."""
    return BoltzmannMachine((env.info.in_features, *params.hidden), chains=params.chains,
                            visible_mean=data_mean(env), init_scale=params.init_scale,
                            mean_field_steps=params.mean_field_steps)
