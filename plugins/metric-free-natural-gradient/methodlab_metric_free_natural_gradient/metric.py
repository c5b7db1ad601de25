r"""The MFNG metric: the covariance of energy gradients under the model, never formed.

For an energy model :math:`p(x) = e^{-E(x; \theta)} / Z(\theta)` over *all* units, the Fisher
information of the joint distribution equals the Hessian of :math:`\log Z`, which is the
covariance of the energy gradients under the model:

.. math::

    L = \nabla^2_\theta \log Z
      = \mathbb{E}_p\!\left[\partial_\theta E\, \partial_\theta E^\top\right]
        - \mathbb{E}_p[\partial_\theta E]\, \mathbb{E}_p[\partial_\theta E]^\top .

MFNG estimates it from the ``M`` persistent-chain samples :math:`x_m` and only ever multiplies
it with vectors: with centred per-sample gradients
:math:`\tilde e_m = \partial_\theta E(x_m) - \frac1M \sum_{m'} \partial_\theta E(x_{m'})`,

.. math::

    L v \approx \frac1M \sum_m \tilde e_m (\tilde e_m^\top v)
          = \frac1M J^\top C\, J v ,

where :math:`J` (``M × P``) is the Jacobian of the sample energies and
:math:`C = I - \frac1M \mathbf 1 \mathbf 1^\top` centres them. As in the paper's Theano
code, :math:`C J v` is an R-op and :math:`J^\top C u` an L-op on the centred energies, so
neither :math:`L` (``P × P``) nor :math:`J` is ever stored. Both are reverse-mode passes here:
the L-op is one backward pass, and the R-op differentiates the L-op's graph with respect to its
(linear) cotangent :math:`u` (the "double-backward" trick), which in PyTorch is much cheaper on
small models than :mod:`torch.func`'s forward mode.

References:
    Metric-Free Natural Gradient for Joint-Training of Boltzmann Machines
    (Desjardins, Pascanu, Courville & Bengio, 2013) https://arxiv.org/abs/1301.3545
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from methodlab import curvature
from torch import Tensor, nn

__all__ = ["energy_covariance_operator"]


def energy_covariance_operator(
    model: nn.Module, samples: Tensor, params: Sequence[Tensor] | None = None
) -> curvature.MatVec:
    r"""Return :math:`v \mapsto \frac1M J^\top C J v`, the sampled metric of an energy model.

    Arguments:
        model: an energy model: ``model(x)`` returns the energies :math:`E(x_m)`, shape
            ``(M,)``, of configurations ``x`` (all units, visible and hidden).
        samples: model samples :math:`x_m` (the persistent chains), shape ``(M, N)``.
        params: the parameters :math:`\theta` (default: those of ``model`` that require
            grad), which fix the layout of flat vectors as in :mod:`methodlab.curvature`.

    Returns:
        A :data:`~methodlab.curvature.MatVec` on flat vectors of shape ``(P,)``; building it
        costs one forward and one backward pass over the ``M`` energies, each product two
        backward passes.

    Example:
        >>> from methodlab_metric_free_natural_gradient.boltzmann import BoltzmannMachine
        >>> _ = torch.manual_seed(0)
        >>> rbm = BoltzmannMachine((3, 2), chains=50).double()
        >>> metric = energy_covariance_operator(rbm, rbm.gibbs_(5))
        >>> v = torch.randn(sum(p.numel() for p in rbm.parameters()), dtype=torch.float64)
        >>> bool(v.dot(metric(v)) >= 0)  # a covariance is positive semi-definite
        True
    """
    params = [p for p in model.parameters() if p.requires_grad] if params is None else list(params)
    samples = samples.detach()
    count = len(samples)
    with torch.enable_grad():
        energies = model(samples)
        centred = energies - energies.mean()  # C e, shape (M,)
        # The L-op J^T C u as a differentiable function of the cotangent u; u = 0 is only a
        # placeholder since the L-op is linear in u.
        cotangent = torch.zeros_like(centred, requires_grad=True)
        pulled = torch.autograd.grad(centred, params, grad_outputs=cotangent, create_graph=True)

    def matvec(v: Tensor) -> Tensor:
        with torch.enable_grad():
            (projected,) = torch.autograd.grad(  # R-op: C J v, shape (M,)
                pulled, cotangent, grad_outputs=curvature.unflatten_like(v, params),
                retain_graph=True)
            products = torch.autograd.grad(  # L-op: J^T C (C J v)
                centred, params, grad_outputs=projected, retain_graph=True)
        return curvature.flatten(products) / count

    return matvec
