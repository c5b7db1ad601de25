"""The exact average log-likelihood of a split under a Boltzmann machine."""

from __future__ import annotations

import torch
from methodlab.components import Environment, Evaluator, Loss

from methodlab_metric_free_natural_gradient.boltzmann import BoltzmannMachine
from methodlab_metric_free_natural_gradient.config import ExactLogLikelihoodParams

__all__ = ["ExactLogLikelihood", "build"]


class ExactLogLikelihood(Evaluator):
    r"""Metrics ``loglik`` = :math:`\frac1B \sum_b \log p(v_b)` (nats per example, exact by
    enumeration of the odd layers) and ``log_z`` = :math:`\log Z` over split ``split``.

    Example:
        >>> from methodlab.components import Batch, EnvInfo
        >>> from methodlab.supervised import SupervisedEnvironment
        >>> data = torch.eye(4, dtype=torch.float64)
        >>> env = SupervisedEnvironment({"train": Batch(data)}, EnvInfo(4, 4, "density"))
        >>> rbm = BoltzmannMachine((4, 2), chains=2, init_scale=0.0).double()
        >>> round(ExactLogLikelihood("train")(rbm, env, None)["loglik"], 6)  # uniform: -4 log 2
        -2.772589
    """

    def __init__(self, split: str = "train") -> None:
        self.split = split

    @torch.no_grad()
    def __call__(
        self, model: BoltzmannMachine, env: Environment, loss: Loss
    ) -> dict[str, float]:
        log_z = model.log_partition()
        total, count = 0.0, 0
        for batch in env.split(self.split):
            total += float((model.log_unnormalised(batch.inputs) - log_z).sum())
            count += len(batch.inputs)
        return {"loglik": total / count, "log_z": float(log_z)}


def build(params: ExactLogLikelihoodParams, *, env: Environment) -> ExactLogLikelihood:
    """Build the evaluator (``use = "exact-log-likelihood"``)."""
    return ExactLogLikelihood(params.split)
