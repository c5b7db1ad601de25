r"""Gradient-similarity gating of auxiliary losses: the combinator.

With a main loss :math:`L_m` and auxiliary losses :math:`L_1, \dots, L_K` of one model, let
:math:`g_m = \nabla_\theta L_m` and :math:`g_k = \nabla_\theta L_k`. The parameters
:math:`\theta_s` that both :math:`L_m` and :math:`L_k` depend on are *shared*; the others are
task heads. The update direction is

.. math::

    G = g_m + \sum_k \lambda_k \big( w_k \, g_k|_{\theta_s} + g_k|_{\text{rest}} \big),
    \qquad
    w_k = \begin{cases}
        \max\big(0, \cos(g_m|_{\theta_s}, g_k|_{\theta_s})\big) & \text{weighted} \\
        \mathbb{1}\big[\cos(g_m|_{\theta_s}, g_k|_{\theta_s}) > 0\big] & \text{unweighted} \\
        1 & \text{sum (the naive baseline)} \\
        0 & \text{main-only (heads still learn their own loss)}
    \end{cases}

with the cosine taken over the flattened shared-parameter gradients,
:math:`\cos(u, v) = u^\top v / (\|u\|\|v\| + \epsilon)`. Because
:math:`\langle g_m, G\rangle \ge \|g_m\|^2` on the shared parameters, the auxiliary part never
points uphill for the main loss, and steepest descent along :math:`-G` converges to critical
points of :math:`L_m` (Du et al., Proposition 1).

**Working with any optimizer.** :class:`GradientSimilarity` returns a *surrogate* scalar

.. math:: S(\theta) = \operatorname{sg}[L_m] + \sum_p \langle \operatorname{sg}[G_p], p\rangle
    - \operatorname{sg}\Big[\sum_p \langle G_p, p\rangle\Big]

(:math:`\operatorname{sg}` stops gradients) whose value is exactly :math:`L_m` (the last two
terms cancel bit for bit) and whose gradient is :math:`G`. ``S.backward()`` therefore fills
``p.grad`` with the gated direction, and any ``torch.optim`` optimizer (SGD, Adam, …) then
preconditions the gated sum, as the method prescribes. Gradients are computed with two
``torch.autograd.grad`` passes per auxiliary plus one cheap backward through :math:`S`.
Under ``torch.no_grad`` (evaluation) the combinator returns :math:`L_m` without gradients.

References:
    Du, Czarnecki, Jayakumar, Farajtabar, Pascanu, Lakshminarayanan (2018), "Adapting
    auxiliary losses using gradient similarity", arXiv:1812.02224, Algorithms 1 and 2.

Example:
    >>> theta = torch.nn.Parameter(torch.tensor([1.0, 0.0]))
    >>> main = (theta ** 2).sum()                    # g_m = (2, 0)
    >>> aux = ((theta - torch.tensor([1.0, 1.0])) ** 2).sum()   # g_a = (0, 2): cos 0
    >>> surrogate = GradientSimilarity("weighted")(main, [aux], [theta])
    >>> surrogate.item(), surrogate.backward(), theta.grad.tolist()
    (1.0, None, [2.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["MODES", "GradientSimilarity", "cosine", "gate", "gated_gradients"]

MODES = ("weighted", "unweighted", "sum", "main-only")
"""The gating rules: the paper's two variants and the two baselines."""


def cosine(u: Sequence[torch.Tensor], v: Sequence[torch.Tensor], eps: float = 1e-12
           ) -> torch.Tensor:
    r"""Cosine similarity of two gradients given as lists of per-parameter tensors.

    The tensors are flattened and concatenated, so the cosine is over the whole shared
    parameter vector, not layer by layer (per-layer cosines gate differently). ``eps`` keeps
    tiny gradients from producing noise: a zero gradient has cosine 0.

    Example:
        >>> cosine([torch.tensor([1.0, 0.0])], [torch.tensor([1.0, 1.0])]).item()
        0.7071067690849304
    """
    dot = sum((a * b).sum() for a, b in zip(u, v, strict=True))
    norm_u = torch.sqrt(sum(a.pow(2).sum() for a in u))
    norm_v = torch.sqrt(sum(b.pow(2).sum() for b in v))
    return dot / (norm_u * norm_v + eps)


def gate(mode: str, cos: torch.Tensor) -> torch.Tensor:
    """The weight ``w`` of an auxiliary gradient on the shared parameters (see module doc)."""
    if mode == "weighted":
        return cos.clamp_min(0.0)
    if mode == "unweighted":
        return (cos > 0).to(cos.dtype)
    if mode == "sum":
        return torch.ones_like(cos)
    if mode == "main-only":
        return torch.zeros_like(cos)
    raise ValueError(f"unknown gating mode {mode!r}; choose one of {', '.join(MODES)}")


def gated_gradients(
    main: torch.Tensor,
    auxiliaries: Sequence[torch.Tensor],
    parameters: Sequence[torch.Tensor],
    mode: str = "weighted",
    weights: float | Sequence[float] = 1.0,
    eps: float = 1e-12,
) -> tuple[list[torch.Tensor | None], torch.Tensor]:
    r"""The gated direction :math:`G` (one entry per parameter, ``None`` where no loss reaches
    it) and the cosines ``(K,)`` between the main and each auxiliary gradient on the
    parameters they share (0 where they share none).

    :param weights: :math:`\lambda_k`, one per auxiliary or one for all.
    """
    weights = ([float(weights)] * len(auxiliaries) if isinstance(weights, int | float)
               else list(weights))
    if len(weights) != len(auxiliaries):
        raise ValueError(f"{len(weights)} weights for {len(auxiliaries)} auxiliary losses")
    parameters = list(parameters)
    keep = bool(auxiliaries)
    g_main = torch.autograd.grad(main, parameters, retain_graph=keep, allow_unused=True)
    total: list[torch.Tensor | None] = [None if g is None else g.detach() for g in g_main]
    cosines = []
    for index, (auxiliary, weight) in enumerate(zip(auxiliaries, weights, strict=True)):
        g_aux = torch.autograd.grad(auxiliary, parameters,
                                    retain_graph=index < len(auxiliaries) - 1,
                                    allow_unused=True)
        # Shared parameters: those both losses depend on (the rest are task heads).
        shared = [i for i, (a, b) in enumerate(zip(g_main, g_aux, strict=True))
                  if a is not None and b is not None]
        if shared:
            cos = cosine([g_main[i] for i in shared], [g_aux[i] for i in shared], eps).detach()
        else:
            cos = main.new_zeros(())
        cosines.append(cos)
        w_shared = gate(mode, cos)
        for i, g in enumerate(g_aux):
            if g is None:
                continue
            scaled = weight * (w_shared * g if i in shared else g).detach()
            total[i] = scaled if total[i] is None else total[i] + scaled
    stacked = torch.stack(cosines) if cosines else main.new_zeros((0,))
    return total, stacked


class GradientSimilarity:
    r"""Combine a main loss with auxiliary losses by gradient-similarity gating.

    Calling it returns the surrogate :math:`S` of the module docstring: value :math:`L_m`,
    gradient :math:`G`. Use it in any training loop::

        combine = GradientSimilarity("weighted")
        optimizer.zero_grad()
        combine(main_loss, [aux_loss], model.parameters()).backward()
        optimizer.step()

    Arguments:
        mode: ``weighted`` (Algorithm 1, :math:`w = \max(0, \cos)`), ``unweighted``
            (Algorithm 2, :math:`w = \mathbb{1}[\cos > 0]`), ``sum`` (the naive sum
            :math:`L_m + \sum_k \lambda_k L_k`) or ``main-only`` (auxiliary gradients reach
            only the auxiliary heads).
        weights: :math:`\lambda_k`, one per auxiliary loss or one for all (default 1).
        eps: :math:`\epsilon` of the cosine.

    Attributes:
        last_cosines: the cosines ``(K,)`` of the latest call with gradients (diagnostics).
    """

    def __init__(self, mode: str = "weighted", weights: float | Sequence[float] = 1.0,
                 eps: float = 1e-12) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown gating mode {mode!r}; choose one of {', '.join(MODES)}")
        self.mode = mode
        self.weights = weights if isinstance(weights, int | float) else tuple(weights)
        self.eps = eps
        self.last_cosines: torch.Tensor | None = None

    def __call__(self, main: torch.Tensor, auxiliaries: Sequence[torch.Tensor],
                 parameters: Sequence[torch.Tensor] | nn.Module) -> torch.Tensor:
        if isinstance(parameters, nn.Module):
            parameters = parameters.parameters()
        parameters = [p for p in parameters if p.requires_grad]
        if not torch.is_grad_enabled() or not main.requires_grad:
            return main.detach()
        direction, self.last_cosines = gated_gradients(main, auxiliaries, parameters,
                                                       self.mode, self.weights, self.eps)
        linear = sum((g * p).sum() for g, p in zip(direction, parameters, strict=True)
                     if g is not None)
        # value: L_m exactly (linear - linear.detach() is 0); gradient: the gated direction.
        return main.detach() + (linear - linear.detach())

    def __repr__(self) -> str:
        return f"GradientSimilarity(mode={self.mode!r}, weights={self.weights}, eps={self.eps})"
