r"""Sharpness measures of a minimum: Hessian :math:`\lambda_{\max}`, trace and ε-sharpness.

All three are the measures Dinh et al. (2017) show to be arbitrarily changeable by a
function-preserving reparametrisation (:mod:`methodlab_sharp_minima.transform`):

.. math::

    \lambda_{\max} = \max_{\|v\| = 1} v^\top \nabla^2 L(\theta)\, v, \qquad
    \operatorname{tr} \nabla^2 L(\theta), \qquad
    s_\varepsilon(\theta) = \frac{\max_{\|\delta\|_2 \le \varepsilon} L(\theta + \delta)
    - L(\theta)}{1 + L(\theta)}

(Keskar et al.'s ε-sharpness over a Euclidean ball, the form Dinh et al. analyse). The
Hessian is only accessed through products from :mod:`methodlab.curvature`.

References:
    Sharp Minima Can Generalize For Deep Nets (Dinh, Pascanu, Bengio & Bengio, 2017)
    https://arxiv.org/abs/1703.04933

    On Large-Batch Training for Deep Learning: Generalization Gap and Sharp Minima
    (Keskar, Mudigere, Nocedal, Smelyanskiy & Tang, 2017) https://arxiv.org/abs/1609.04836

    A stochastic estimator of the trace of the influence matrix for Laplacian smoothing
    splines (Hutchinson, 1990) https://doi.org/10.1080/03610919008812866
"""

from __future__ import annotations

from typing import Any

import torch
from methodlab import curvature
from methodlab.components import OutputLoss
from torch import Tensor, nn
from torch.func import functional_call

__all__ = ["eps_sharpness", "exact_trace", "hutchinson_trace", "power_iteration"]


def power_iteration(
    matvec: curvature.MatVec,
    dim: int,
    *,
    max_iter: int = 300,
    tol: float = 1e-10,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> tuple[float, Tensor]:
    r"""Dominant eigenpair of a symmetric operator by power iteration.

    :math:`v_{t+1} = A v_t / \|A v_t\|`, reporting the Rayleigh quotient
    :math:`v_t^\top A v_t`; stops when it changes by less than ``tol`` relative. Converges to
    the eigenvalue of largest *magnitude*, which at a minimum (Hessian positive
    semi-definite up to round-off) is :math:`\lambda_{\max}`.

    Returns:
        ``(eigenvalue, unit eigenvector of shape (dim,))``.

    Example:
        >>> A = torch.diag(torch.tensor([1.0, 5.0, 2.0], dtype=torch.float64))
        >>> value, vector = power_iteration(lambda v: A @ v, 3)
        >>> round(value, 6), vector.abs().argmax().item()
        (5.0, 1)
    """
    # Drawn on the CPU (where a default generator lives), then moved: same start on any device.
    v = torch.randn(dim, generator=generator, dtype=dtype).to(device)
    v = v / v.norm()
    value = 0.0
    for _ in range(max_iter):
        w = matvec(v)
        new_value = float(v.dot(w))
        norm = w.norm()
        if float(norm) == 0.0:  # v is in the null space: A = 0 on the Krylov space
            return 0.0, v
        v = w / norm
        if abs(new_value - value) <= tol * abs(new_value):
            return new_value, v
        value = new_value
    return value, v


def exact_trace(matvec: curvature.MatVec, dim: int, *, dtype: torch.dtype = torch.float64,
                device: torch.device | str | None = None) -> float:
    r""":math:`\operatorname{tr} A = \sum_i e_i^\top A e_i` from ``dim`` products (small nets).

    Example:
        >>> A = torch.diag(torch.tensor([1.0, 5.0, 2.0], dtype=torch.float64))
        >>> exact_trace(lambda v: A @ v, 3)
        8.0
    """
    total = 0.0
    for i in range(dim):
        e = torch.zeros(dim, dtype=dtype, device=device)
        e[i] = 1.0
        total += float(matvec(e)[i])
    return total


def hutchinson_trace(
    matvec: curvature.MatVec,
    dim: int,
    samples: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> float:
    r"""Hutchinson's estimate :math:`\frac1S \sum_s z_s^\top A z_s`, :math:`z_s` Rademacher.

    Unbiased, with variance :math:`2 \sum_{i \ne j} A_{ij}^2` per probe.

    Example:
        >>> A = torch.diag(torch.tensor([1.0, 5.0, 2.0], dtype=torch.float64))
        >>> hutchinson_trace(lambda v: A @ v, 3, 4)  # exact for a diagonal matrix
        8.0
    """
    total = 0.0
    for _ in range(samples):
        z = torch.randint(0, 2, (dim,), generator=generator).to(dtype=dtype, device=device)
        z = 2.0 * z - 1.0
        total += float(z.dot(matvec(z)))
    return total / samples


def eps_sharpness(
    model: nn.Module,
    loss: OutputLoss,
    inputs: Any,
    targets: Any,
    epsilon: float,
    *,
    steps: int = 20,
    step_size: float = 0.5,
    init: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> float:
    r"""ε-sharpness by projected gradient ascent on the Euclidean ball.

    .. math::

        \delta_{t+1} = \Pi_{\|\delta\| \le \varepsilon}\Big(\delta_t + \eta\,\varepsilon\,
        \frac{\nabla L(\theta + \delta_t)}{\|\nabla L(\theta + \delta_t)\|}\Big),
        \qquad s_\varepsilon = \frac{\max_t L(\theta + \delta_t) - L(\theta)}{1 + L(\theta)}

    At a minimum the gradient vanishes, so the ascent starts on the sphere
    :math:`\|\delta_0\| = \varepsilon` along ``init`` (e.g. the top Hessian eigenvector; both
    signs are tried and the better kept) or a random direction. The maximum over the iterates
    is a lower bound of the true maximum.

    Arguments:
        model, loss: the network and an :class:`~methodlab.components.OutputLoss`.
        inputs, targets: the data the mean loss is taken over.
        epsilon: radius :math:`\varepsilon`.
        steps: ascent steps (0: evaluate the start point only).
        step_size: :math:`\eta`, the step length as a fraction of :math:`\varepsilon`.
        init: start direction of shape :math:`(P,)` (any norm).
        generator: for the random start direction when ``init`` is ``None``.

    Example:
        >>> from methodlab.builtins.losses import MeanSquaredError
        >>> net = nn.Linear(1, 1, bias=False).double()
        >>> _ = net.weight.data.fill_(1.0)
        >>> x = torch.ones(4, 1, dtype=torch.float64)
        >>> # L(w) = (w - 1)^2 / 2 is 0 at w = 1; max over |δ| <= 0.1 is 0.005
        >>> round(eps_sharpness(net, MeanSquaredError(), x, x, 0.1), 6)
        0.005
    """
    names = [name for name, p in model.named_parameters() if p.requires_grad]
    theta = curvature.flatten([p.detach() for _, p in model.named_parameters()
                               if p.requires_grad])
    like = [p for _, p in model.named_parameters() if p.requires_grad]

    def objective(flat: Tensor) -> Tensor:
        values = dict(zip(names, curvature.unflatten_like(flat, like), strict=True))
        return loss.from_outputs(functional_call(model, values, (inputs,)), targets)

    with torch.no_grad(), curvature.frozen_batchnorm_stats(model):
        base = float(objective(theta))
    if init is None:
        init = torch.randn(theta.shape, generator=generator, dtype=theta.dtype).to(theta.device)
    direction = init / init.norm()
    best = -float("inf")
    for sign in (1.0, -1.0):
        delta = sign * epsilon * direction
        for step in range(steps + 1):
            with torch.enable_grad(), curvature.frozen_batchnorm_stats(model):
                point = (theta + delta).requires_grad_()
                value = objective(point)
                best = max(best, float(value.detach()))
                if step == steps:
                    break
                (gradient,) = torch.autograd.grad(value, point)
            norm = gradient.norm()
            if float(norm) == 0.0:
                break
            delta = delta + step_size * epsilon * gradient / norm
            radius = delta.norm()
            if float(radius) > epsilon:  # projection onto the ball
                delta = delta * (epsilon / radius)
    return (best - base) / (1.0 + base)
