r"""Stochastic maximum likelihood (SML, persistent contrastive divergence) as a loss.

The log-likelihood gradient of a Boltzmann machine is a difference of two expectations of the
energy gradient, one with the visible units clamped to data (positive phase) and one under the
model (negative phase):

.. math::

    -\nabla_\theta \log p(v) = \mathbb{E}_{p(h \mid v)}[\partial_\theta E(v, h)]
                              - \mathbb{E}_{p(v, h)}[\partial_\theta E(v, h)] .

SML estimates the negative phase with persistent Gibbs chains, advanced by ``k`` sweeps at
every update, and the positive phase with the mean-field posterior :math:`q(h \mid v)` (exact
for an RBM). Because :math:`E` is linear in each layer's state, the surrogate

.. math::

    \mathcal L(\theta) = \frac1B \sum_b E(v_b, q_b) - \frac1M \sum_m E(x_m)

with the states :math:`q_b` and :math:`x_m` held fixed has exactly the SML gradient, so any
optimizer minimising it performs SML. Its value is not the negative log-likelihood (see the
``exact-log-likelihood`` evaluator for that).

References:
    Training Restricted Boltzmann Machines using Approximations to the Likelihood Gradient
    (Tieleman, 2008) https://doi.org/10.1145/1390156.1390290

    Deep Boltzmann Machines (Salakhutdinov & Hinton, 2009)
    https://proceedings.mlr.press/v5/salakhutdinov09a.html
"""

from __future__ import annotations

import torch
from methodlab.components import Batch, Environment, Loss

from methodlab_metric_free_natural_gradient.boltzmann import BoltzmannMachine
from methodlab_metric_free_natural_gradient.config import SMLParams

__all__ = ["StochasticMaximumLikelihood", "build"]


class StochasticMaximumLikelihood(Loss):
    r"""The SML surrogate :math:`\mathcal L`; advances the model's chains in training mode.

    In training mode each call first runs ``gibbs_steps`` block-Gibbs sweeps of the model's
    persistent chains (the negative phase of this update); in eval mode the chains are left
    as they are, so evaluating the loss does not perturb training.

    Arguments:
        gibbs_steps: sweeps :math:`k` per training call.

    Shapes:
        ``batch.inputs``: binary data :math:`(B, D)`; returns a scalar.

    Example:
        >>> from methodlab_metric_free_natural_gradient.boltzmann import BoltzmannMachine
        >>> _ = torch.manual_seed(0)
        >>> rbm = BoltzmannMachine((4, 3), chains=10)
        >>> loss = StochasticMaximumLikelihood(gibbs_steps=1)
        >>> loss(rbm, Batch(torch.ones(2, 4))).backward()
        >>> rbm.weights[0].grad.shape
        torch.Size([4, 3])
    """

    def __init__(self, gibbs_steps: int = 1) -> None:
        self.gibbs_steps = gibbs_steps

    def __call__(self, model: BoltzmannMachine, batch: Batch) -> torch.Tensor:
        if model.training:
            model.gibbs_(self.gibbs_steps)
        positive = model.mean_field(batch.inputs)
        return model(positive).mean() - model(model.chains).mean()


def build(params: SMLParams, *, env: Environment) -> StochasticMaximumLikelihood:
    """Build the loss for a run (``use = "metric-free-natural-gradient:sml"``)."""
    return StochasticMaximumLikelihood(params.gibbs_steps)
