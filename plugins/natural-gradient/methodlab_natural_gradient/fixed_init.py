"""A multilayer perceptron whose initial weights do not depend on the run's seed."""

from __future__ import annotations

import torch
from methodlab.builtins.models import feedforward
from methodlab.components import Environment
from torch import nn

from methodlab_natural_gradient.config import FixedInitMLPParams

__all__ = ["build"]


def build(params: FixedInitMLPParams, *, env: Environment) -> nn.Sequential:
    """An MLP initialised under ``torch.manual_seed(init_seed)`` (``use = "fixed-init-mlp"``).

    The runner seeds the model's initialisation with the run's seed; the training-order
    experiment instead needs the same initial weights in every run, so that the spread of
    the learned functions across seeds comes from the resampled training block alone
    (Erhan et al., 2010). The global generator is left as it was.

    Shapes:
        input :math:`(B, \\text{in\\_features})`, output :math:`(B, \\text{out\\_features})`.

    Example:
        >>> from methodlab.components import EnvInfo
        >>> class Env(Environment):
        ...     info = EnvInfo(4, 3)
        >>> a, b = build(FixedInitMLPParams(hidden=(5,)), env=Env()), build(
        ...     FixedInitMLPParams(hidden=(5,)), env=Env())
        >>> torch.equal(a[0].weight, b[0].weight)
        True
    """
    sizes = (env.info.in_features, *params.hidden, env.info.out_features)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(params.init_seed)
        return feedforward(sizes, params.activation)
