r"""The sharpness evaluator: apply :math:`T_\alpha` to a copy of the model and measure it."""

from __future__ import annotations

import torch
from methodlab import curvature
from methodlab.components import Environment, Evaluator, Loss, OutputLoss
from torch import nn

from methodlab_sharp_minima.config import SharpnessParams
from methodlab_sharp_minima.sharpness import (
    eps_sharpness,
    exact_trace,
    hutchinson_trace,
    power_iteration,
)
from methodlab_sharp_minima.transform import (
    alpha_scale,
    layer_alphas,
    linear_layers,
    parameter_scales,
)

__all__ = ["Sharpness", "build_sharpness"]


def _gradient_identity_error(
    model: nn.Module,
    scaled: nn.Module,
    alphas: tuple[float, ...],
    loss: OutputLoss,
    inputs: torch.Tensor,
    targets: torch.Tensor,
) -> float:
    r"""Relative error of :math:`\nabla L(T\theta) = D^{-1} \nabla L(\theta)`."""
    gradients = []
    for net in (model, scaled):
        params = [q for q in net.parameters() if q.requires_grad]
        with torch.enable_grad(), curvature.frozen_batchnorm_stats(net):
            value = loss.from_outputs(net(inputs), targets)
            gradients.append(curvature.flatten(torch.autograd.grad(value, params)))
    factors = torch.cat([
        torch.full((q.numel(),), c, dtype=q.dtype, device=q.device)
        for q, c in zip(model.parameters(), parameter_scales(model, alphas), strict=True)
        if q.requires_grad
    ])
    predicted = gradients[0] / factors
    # A floor on the denominator keeps the metric finite at an exact critical point.
    scale = max(float(predicted.norm()), torch.finfo(predicted.dtype).tiny)
    return float((gradients[1] - predicted).norm()) / scale


class Sharpness(Evaluator):
    r"""Sharpness of :math:`T_\alpha\theta`, the reparametrised copy of the trained model.

    Metrics (all of the mean loss over ``params.split``, at :math:`T_\alpha\theta`):

    * ``max_output_change`` :math:`\max |f_{T_\alpha\theta}(x) - f_\theta(x)|` over the split
      (0 up to round-off: the function is unchanged);
    * ``loss`` :math:`L(T_\alpha\theta)`;
    * ``gradient_identity_error`` :math:`\|\nabla L(T_\alpha\theta) - D^{-1} \nabla
      L(\theta)\| / \|D^{-1} \nabla L(\theta)\|`, :math:`D` the per-parameter factors
      (:func:`~methodlab_sharp_minima.transform.parameter_scales`): 0 up to round-off;
    * ``lambda_max`` the top Hessian eigenvalue by power iteration on
      :func:`methodlab.curvature.hessian_operator` products;
    * ``trace`` the Hessian trace (exact or Hutchinson; omitted for ``trace = "none"``);
    * ``eps_sharpness`` Keskar's ε-sharpness on the Euclidean ball, by projected ascent
      started along the top eigenvector.

    References:
        Sharp Minima Can Generalize For Deep Nets (Dinh, Pascanu, Bengio & Bengio, 2017)
        https://arxiv.org/abs/1703.04933

    Example:
        >>> from methodlab.builtins.losses import CrossEntropy
        >>> from methodlab_sharp_minima.environments import build_moons
        >>> from methodlab_sharp_minima.config import MoonsParams
        >>> env = build_moons(MoonsParams(n_train=50, n_test=10), seed=0, device="cpu",
        ...                   dtype=torch.float64)
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2)).double()
        >>> m = Sharpness(SharpnessParams(alpha=0.1))(net, env, CrossEntropy())
        >>> m["max_output_change"] < 1e-12, sorted(m)  # doctest: +NORMALIZE_WHITESPACE
        (True, ['eps_sharpness', 'gradient_identity_error', 'lambda_max', 'loss',
                'max_output_change', 'trace'])
    """

    def __init__(self, params: SharpnessParams) -> None:
        self.params = params

    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        p = self.params
        if not isinstance(loss, OutputLoss):
            raise TypeError(f"sharpness needs an OutputLoss for Hessian products; got "
                            f"{type(loss).__name__}")
        n_layers = len(linear_layers(model))
        alphas = p.alphas or layer_alphas(p.alpha, n_layers, p.layer)
        scaled = alpha_scale(model, alphas)
        batches = list(env.split(p.split))
        inputs = torch.cat([b.inputs for b in batches])
        targets = torch.cat([b.targets for b in batches])
        # A private generator: the evaluator must not shift the run's global RNG stream.
        generator = torch.Generator().manual_seed(p.seed)
        with torch.no_grad():
            change = float((scaled(inputs) - model(inputs)).abs().max())
            value = float(loss.from_outputs(scaled(inputs), targets))
        params = [q for q in scaled.parameters() if q.requires_grad]
        dim = sum(q.numel() for q in params)
        dtype, device = params[0].dtype, params[0].device
        with torch.enable_grad():
            hessian = curvature.hessian_operator(scaled, loss, inputs, targets=targets)
            lam, vector = power_iteration(hessian, dim, max_iter=p.power_iterations,
                                          tol=p.power_tol, generator=generator, dtype=dtype,
                                          device=device)
            metrics = {"max_output_change": change, "loss": value, "lambda_max": lam,
                       "gradient_identity_error": _gradient_identity_error(
                           model, scaled, alphas, loss, inputs, targets)}
            if p.trace == "exact":
                metrics["trace"] = exact_trace(hessian, dim, dtype=dtype, device=device)
            elif p.trace == "hutchinson":
                metrics["trace"] = hutchinson_trace(hessian, dim, p.trace_samples,
                                                    generator=generator, dtype=dtype,
                                                    device=device)
        metrics["eps_sharpness"] = eps_sharpness(
            scaled, loss, inputs, targets, p.epsilon, steps=p.ascent_steps,
            step_size=p.ascent_step_size, init=vector)
        return metrics


def build_sharpness(params: SharpnessParams, *, env: Environment) -> Sharpness:
    """Build ``use = "sharpness"``."""
    return Sharpness(params)
