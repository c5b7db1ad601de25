"""Built-in optimizers: thin factories over ``torch.optim``."""

from __future__ import annotations

import torch
from torch import nn

from methodlab.builtins.config import AdagradParams, AdamParams, RMSpropParams, SGDParams


def build_sgd(params: SGDParams, *, model: nn.Module) -> torch.optim.SGD:
    return torch.optim.SGD(model.parameters(), lr=params.lr, momentum=params.momentum,
                           nesterov=params.nesterov, weight_decay=params.weight_decay)


def build_adam(params: AdamParams, *, model: nn.Module) -> torch.optim.Adam:
    return torch.optim.Adam(model.parameters(), lr=params.lr, betas=params.betas,
                            eps=params.eps, weight_decay=params.weight_decay)


def build_adagrad(params: AdagradParams, *, model: nn.Module) -> torch.optim.Adagrad:
    return torch.optim.Adagrad(model.parameters(), lr=params.lr, eps=params.eps,
                               weight_decay=params.weight_decay)


def build_rmsprop(params: RMSpropParams, *, model: nn.Module) -> torch.optim.RMSprop:
    return torch.optim.RMSprop(model.parameters(), lr=params.lr, alpha=params.alpha,
                               eps=params.eps, momentum=params.momentum)
