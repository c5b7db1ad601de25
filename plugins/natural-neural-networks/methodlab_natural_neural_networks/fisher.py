r"""Per-layer diagonal blocks of the Fisher and their condition numbers."""

from __future__ import annotations

import copy
import math

import torch
from methodlab.components import Batch, Environment, Evaluator, Loss, OutputLoss
from torch import Tensor, nn
from torch.func import functional_call, hessian, jacrev, vmap

from methodlab_natural_neural_networks.config import FisherConditioningParams

__all__ = [
    "FisherConditioning",
    "build",
    "condition_number",
    "fisher_blocks",
    "parameter_blocks",
]

_CHUNK = 32


def parameter_blocks(model: nn.Module) -> dict[str, list[str]]:
    """Group the trainable parameters by the module that owns them (one block per layer).

    Example:
        >>> parameter_blocks(nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)))
        {'0': ['0.weight', '0.bias'], '2': ['2.weight', '2.bias']}
    """
    blocks: dict[str, list[str]] = {}
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            blocks.setdefault(name.rpartition(".")[0], []).append(name)
    return blocks


def fisher_blocks(model: nn.Module, loss: OutputLoss, batch: Batch) -> dict[str, Tensor]:
    r"""The exact Fisher (generalised Gauss-Newton) restricted to each layer's parameters.

    .. math::

        F_b = \frac1N \sum_{n=1}^N J_{n,b}^\top H_n J_{n,b}, \qquad
        J_{n,b} = \frac{\partial f_\theta(x_n)}{\partial \theta_b}, \quad
        H_n = \frac{\partial^2 \ell(f_\theta(x_n), y_n)}{\partial f^2}

    computed from per-example Jacobians. For the softmax and Bernoulli cross-entropies and
    the squared error on outputs (canonical links) this Gauss-Newton matrix is the Fisher of
    the model's predictive distribution. The model is evaluated as it is (use evaluation
    mode for batch normalisation); the blocks are the sets of parameters owned by one module
    (:func:`parameter_blocks`).

    Arguments:
        model: the network :math:`f_\theta`.
        loss: output loss :math:`\ell` (``from_outputs`` of one example gives its loss).
        batch: the :math:`N` examples.

    Returns:
        ``{module name: F_b}``.

    Shapes:
        batch.inputs :math:`(N, D)`; outputs :math:`(N, C)`; F_b :math:`(P_b, P_b)`.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 1)).double()
        >>> from methodlab.builtins.losses import MeanSquaredError
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
        >>> fisher_blocks(net, MeanSquaredError(), Batch(x, torch.zeros(2, 1)))["0"]
        tensor([[0.5000, 0.0000, 0.5000],
                [0.0000, 2.0000, 1.0000],
                [0.5000, 1.0000, 1.0000]], dtype=torch.float64)
    """
    params = {name: p.detach() for name, p in model.named_parameters()}
    buffers = {name: b.detach() for name, b in model.named_buffers()}
    blocks = parameter_blocks(model)

    def output(theta: dict[str, Tensor], x: Tensor) -> Tensor:
        return functional_call(model, (theta, buffers), (x.unsqueeze(0),)).squeeze(0)

    def example_loss(out: Tensor, target: Tensor) -> Tensor:
        return loss.from_outputs(out.unsqueeze(0), target.unsqueeze(0))

    jacobian = vmap(jacrev(output), in_dims=(None, 0))
    output_hessian = vmap(hessian(example_loss))
    total = {name: None for name in blocks}
    inputs, targets = batch.inputs, batch.targets
    for start in range(0, len(inputs), _CHUNK):
        x, y = inputs[start : start + _CHUNK], targets[start : start + _CHUNK]
        with torch.no_grad():
            outputs = vmap(output, in_dims=(None, 0))(params, x)  # (n, C)
        J = jacobian(params, x)  # name -> (n, C, *shape)
        H = output_hessian(outputs, y)  # (n, C, C)
        # H_n = R_n R_nᵀ, so J_nᵀ H_n J_n = (R_nᵀ J_n)ᵀ (R_nᵀ J_n): one Gram matrix per block.
        s, Q = torch.linalg.eigh(H)
        root = Q * s.clamp_min(0.0).sqrt().unsqueeze(-2)  # (n, C, C)
        for block, names in blocks.items():
            J_b = torch.cat([J[name].flatten(2) for name in names], dim=-1)  # (n, C, P_b)
            A = torch.einsum("nck,ncp->nkp", root, J_b).flatten(0, 1)  # (n C, P_b)
            gram = A.T @ A
            total[block] = gram if total[block] is None else total[block] + gram
    return {block: F / len(inputs) for block, F in total.items()}


def condition_number(matrix: Tensor, rtol: float = 1e-15) -> tuple[float, int]:
    r""":math:`\kappa = \lambda_{\max} / \lambda_{\min}^+` of a symmetric positive
    semi-definite matrix, where :math:`\lambda_{\min}^+` is the smallest eigenvalue above
    :math:`\text{rtol} \cdot \lambda_{\max}`, and the number of such eigenvalues (the rank).

    Eigenvalues below the threshold are the null space: directions in which no example moves
    the output (weights of always-zero pixels, a shift of all softmax logits). An invertible
    reparametrisation of the layer maps the null space onto the null space, so the rank is
    the same in every parametrisation (a check that the threshold separates it correctly).

    Example:
        >>> condition_number(torch.diag(torch.tensor([4.0, 0.5, 0.0], dtype=torch.float64)))
        (8.0, 2)
    """
    eigenvalues = torch.linalg.eigvalsh(matrix.double())
    largest = float(eigenvalues[-1])
    if largest <= 0.0:
        return math.inf, 0
    kept = eigenvalues[eigenvalues > rtol * largest]
    return largest / float(kept[0]), len(kept)


class FisherConditioning(Evaluator):
    r"""Condition numbers of the per-layer Fisher blocks on the first examples of a split.

    Metrics: ``mean_condition`` (the mean of :math:`\kappa(F_b)` over the layers),
    ``max_condition``, ``mean_log10_condition``, ``condition.<i>`` and ``rank.<i>`` for the
    :math:`i`-th block (1-based, in parameter order).
    For a model with ``canonical_network()`` (a whitened network), the same metrics prefixed
    ``canonical.`` are computed for the equivalent plain network :math:`W = VU, b = d - Wc`:
    the same function in the ordinary parametrisation.

    The model is copied, cast to float64 and put in evaluation mode first.

    References:
        Natural Neural Networks (Desjardins, Simonyan, Pascanu & Kavukcuoglu, 2015),
        https://arxiv.org/abs/1507.00210, Figure 2.

    Arguments:
        split: the split to take examples from.
        num_samples: number of examples :math:`N` (the first of the split; 0: all).
        rtol: relative null-space threshold of :func:`condition_number`.
    """

    def __init__(self, split: str = "train", num_samples: int = 256, rtol: float = 1e-15) -> None:
        self.split = split
        self.num_samples = num_samples
        self.rtol = rtol

    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        if not isinstance(loss, OutputLoss):
            raise TypeError(f"fisher-conditioning needs an output loss (cross-entropy, mse, "
                            f"bernoulli-cross-entropy), got {type(loss).__name__}")
        batch = _first_examples(env, self.split, self.num_samples)
        network = copy.deepcopy(model).double().eval()
        metrics = self._metrics(network, loss, batch, prefix="")
        if callable(getattr(network, "canonical_network", None)):
            metrics.update(self._metrics(network.canonical_network(), loss, batch,
                                         prefix="canonical."))
        return metrics

    def _metrics(
        self, network: nn.Module, loss: OutputLoss, batch: Batch, prefix: str
    ) -> dict[str, float]:
        blocks = fisher_blocks(network, loss, batch)
        spectra = {name: condition_number(F, self.rtol) for name, F in blocks.items()}
        values = [condition for condition, _ in spectra.values()]
        metrics = {
            f"{prefix}mean_condition": sum(values) / len(values),
            f"{prefix}max_condition": max(values),
            f"{prefix}mean_log10_condition": sum(map(math.log10, values)) / len(values),
        }
        for layer, (condition, rank) in enumerate(spectra.values(), start=1):
            metrics[f"{prefix}condition.{layer}"] = condition
            metrics[f"{prefix}rank.{layer}"] = float(rank)
        return metrics


def _first_examples(env: Environment, split: str, count: int) -> Batch:
    inputs, targets, seen = [], [], 0
    for batch in env.split(split):
        inputs.append(batch.inputs)
        targets.append(batch.targets)
        seen += len(batch.inputs)
        if count and seen >= count:
            break
    x = torch.cat(inputs)[: count or seen].double()
    y = torch.cat(targets)[: count or seen]
    return Batch(x, y.double() if y.is_floating_point() else y)


def build(params: FisherConditioningParams, *, env: Environment) -> FisherConditioning:
    return FisherConditioning(params.split, params.num_samples, params.rtol)
