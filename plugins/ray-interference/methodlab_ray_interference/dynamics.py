r"""The exact expected learning dynamics of a K-context, 2-arm bandit (the minimal model).

Each context k has a logit difference :math:`d_k = w_k^\top\theta` between its good arm
(reward 1) and its bad arm (reward 0), so :math:`J_k = \pi(\text{good}\mid k) = \sigma(d_k)`
and the objective is :math:`J = \sum_k J_k`. With :math:`G = WW^\top` (the Gram matrix of
the context directions; negative off-diagonals are *interference*), gradient flow gives

.. math::

    \text{on-policy:}\quad \dot\theta = \nabla_\theta J = \sum_k J_k(1 - J_k)\, w_k,
    \qquad \dot J_j = J_j(1 - J_j) \sum_k G_{jk}\, J_k(1 - J_k),

    \text{supervised:}\quad \dot\theta = \nabla_\theta \sum_k \log J_k
    = \sum_k (1 - J_k)\, w_k,
    \qquad \dot J_j = J_j(1 - J_j) \sum_k G_{jk}\, (1 - J_k).

The on-policy signal of context k carries the factor :math:`J_k`: a context the policy rarely
gets right produces little learning signal for itself (on-policy data), while the others push
it down through the negative :math:`G_{jk}` (interference). Together they make the plateaus;
the supervised (or off-policy, uniform-behaviour) signal drops the factor, and :math:`G = I`
(no sharing) drops the interference.

References:
    Ray interference: a source of plateaus in deep reinforcement learning (Schaul, Borsa,
    Modayil & Pascanu, 2019), §3, https://arxiv.org/abs/1904.11455
"""

from __future__ import annotations

import torch

__all__ = ["SIGNALS", "context_directions", "flow", "interference_gram"]

SIGNALS = ("on-policy", "supervised")


def interference_gram(contexts: int, interference: float, *,
                      dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""The Gram matrix :math:`G = (1 - \rho) I + \rho\,\mathbf{1}\mathbf{1}^\top` ``(K, K)``.

    Example:
        >>> interference_gram(2, -0.7)
        tensor([[ 1.0000, -0.7000],
                [-0.7000,  1.0000]], dtype=torch.float64)
    """
    ones = torch.ones(contexts, contexts, dtype=dtype)
    return (1.0 - interference) * torch.eye(contexts, dtype=dtype) + interference * ones


def context_directions(contexts: int, interference: float, *,
                       dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""Context directions :math:`W` (rows :math:`w_k`) with :math:`WW^\top = G`, shape ``(K, K)``.

    The lower Cholesky factor of :math:`G`, so ``interference = 0`` gives :math:`W = I`: each
    context owns one parameter and nothing is shared.

    :raises ValueError: when :math:`G` is not positive definite
        (:math:`\rho \le -1/(K-1)` or :math:`\rho \ge 1`).
    """
    gram = interference_gram(contexts, interference, dtype=dtype)
    factor, info = torch.linalg.cholesky_ex(gram)
    if int(info) != 0:
        raise ValueError(f"interference {interference} with {contexts} contexts gives a Gram "
                         f"matrix that is not positive definite; use -1/(K-1) < rho < 1")
    return factor


def flow(success: torch.Tensor, gram: torch.Tensor, signal: str) -> torch.Tensor:
    r"""The exact time derivative :math:`\dot J` of the minimal model under gradient flow.

    Arguments:
        success: :math:`J`, probabilities of the good arm per context, shape ``(..., K)``.
        gram: :math:`G`, shape ``(K, K)``.
        signal: ``on-policy`` (:math:`g_k = J_k(1-J_k)`) or ``supervised``
            (:math:`g_k = 1 - J_k`).

    Returns:
        :math:`\dot J_j = J_j(1-J_j)\sum_k G_{jk} g_k`, shape ``(..., K)``.

    Example (the on-policy flow vanishes where one context is solved and the other fully
    wrong, the saddle the plateaus pass by; the supervised one does not):
        >>> gram = interference_gram(2, -0.7)
        >>> flow(torch.tensor([1.0, 0.0], dtype=torch.float64), gram, "on-policy")
        tensor([0., 0.], dtype=torch.float64)
        >>> flow(torch.tensor([0.5, 0.5], dtype=torch.float64), gram, "supervised")
        tensor([0.0375, 0.0375], dtype=torch.float64)
    """
    if signal not in SIGNALS:
        raise ValueError(f"signal must be one of {SIGNALS}, got {signal!r}")
    own = success * (1.0 - success) if signal == "on-policy" else 1.0 - success
    return success * (1.0 - success) * (own @ gram.T)
