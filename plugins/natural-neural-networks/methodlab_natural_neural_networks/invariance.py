r"""Check that a PRONG reparametrisation leaves the network function unchanged."""

from __future__ import annotations

import copy

import torch
from methodlab.components import Environment, Evaluator, Loss
from torch import Tensor, nn

from methodlab_natural_neural_networks.config import InvarianceParams

__all__ = ["ReparametrizationInvariance", "build", "reparametrization_change"]


@torch.no_grad()
def reparametrization_change(model: nn.Module, refresh: Tensor, inputs: Tensor) -> float:
    r""":math:`\max |f_{\Omega'}(x) - f_\Omega(x)|` over ``inputs`` after reparametrising a
    float64 copy of ``model`` from the ``refresh`` sample (the model is not modified).

    References:
        Natural Neural Networks (Desjardins, Simonyan, Pascanu & Kavukcuoglu, 2015),
        https://arxiv.org/abs/1507.00210, Section 3.2 (the projection preserves the
        function).

    Shapes:
        refresh :math:`(N_s, D)`; inputs :math:`(N, D)`.

    Example:
        >>> from methodlab_natural_neural_networks.network import WhitenedNetwork
        >>> net = WhitenedNetwork.feedforward((3, 4, 2), "tanh")
        >>> x = torch.rand(20, 3)
        >>> reparametrization_change(net, x, x) < 1e-12
        True
    """
    if not callable(getattr(model, "reparametrize", None)):
        raise TypeError(f"reparametrization-invariance needs a model with reparametrize(inputs) "
                        f"(whitened-autoencoder, whitened-mlp); got {type(model).__name__}")
    network = copy.deepcopy(model).double()
    refresh, inputs = refresh.double(), inputs.double()
    before = network(inputs)
    network.reparametrize(refresh)
    return float((network(inputs) - before).abs().max())


class ReparametrizationInvariance(Evaluator):
    r"""Metric ``max_abs_change``: the largest output change a reparametrisation from the first
    :math:`N_s` inputs of a split causes on that split, computed in float64.

    Metric ``max_abs_output`` gives the scale of the outputs it is compared with.
    """

    def __init__(self, split: str = "train", num_samples: int = 500) -> None:
        self.split = split
        self.num_samples = num_samples

    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        inputs = torch.cat([batch.inputs for batch in env.split(self.split)])
        change = reparametrization_change(model, inputs[: self.num_samples], inputs)
        with torch.no_grad():
            scale = float(model(inputs).abs().max())
        return {"max_abs_change": change, "max_abs_output": scale}


def build(params: InvarianceParams, *, env: Environment) -> ReparametrizationInvariance:
    return ReparametrizationInvariance(params.split, params.num_samples)
