"""An evaluator reporting the model's outputs on a fixed probe set, one metric per output."""

from __future__ import annotations

import torch
from methodlab.components import Environment, Evaluator, Loss
from torch import nn

from methodlab_natural_gradient.config import ProbeOutputsParams

__all__ = ["ProbeOutputs", "build"]


class ProbeOutputs(Evaluator):
    r"""Class probabilities :math:`\operatorname{softmax}(f_\theta(x))` on the first
    ``n_probe`` inputs of a split, flattened into metrics ``probe.0``, ``probe.1``, ….

    Metric ``probe.{i·C + c}`` is the probability of class :math:`c` for probe input
    :math:`i`. Across seeds, their variances measure how much the learned function depends on
    what varies with the seed (Erhan et al., 2010, §6.4); a claim with ``"arm:probe.*"`` and
    ``reduce = "var"`` averages those variances over the probe outputs.

    References:
        Why Does Unsupervised Pre-training Help Deep Learning? (Erhan, Bengio, Courville,
        Manzagol, Vincent & Bengio, 2010) https://jmlr.org/papers/v11/erhan10a.html

        Revisiting Natural Gradient for Deep Networks (Pascanu & Bengio, 2014)
        https://arxiv.org/abs/1301.3584

    Example:
        >>> from methodlab.components import Batch, EnvInfo
        >>> class Env(Environment):
        ...     info = EnvInfo(2, 3)
        ...     def split(self, name):
        ...         yield Batch(torch.zeros(4, 2), None)
        >>> metrics = ProbeOutputs("test", 2)(nn.Linear(2, 3), Env(), None)
        >>> len(metrics), round(sum(metrics.values()), 6)
        (6, 2.0)
    """

    def __init__(self, split: str, n_probe: int) -> None:
        self.split = split
        self.n_probe = n_probe

    @torch.no_grad()
    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        inputs = torch.cat([batch.inputs for batch in env.split(self.split)])[: self.n_probe]
        probabilities = torch.softmax(model(inputs), dim=-1).reshape(-1)
        return {f"probe.{i}": float(p) for i, p in enumerate(probabilities)}


def build(params: ProbeOutputsParams, *, env: Environment) -> ProbeOutputs:
    """Build the evaluator (``use = "probe-outputs"``)."""
    return ProbeOutputs(params.split, params.n_probe)
