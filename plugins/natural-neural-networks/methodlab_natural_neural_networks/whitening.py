r"""Centring and whitening transforms estimated from samples (the mirror map Φ of PRONG)."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["WHITENING_KINDS", "whitening"]

WHITENING_KINDS = ("pca", "zca")
"""``pca``: U = (diag(s) + ε)^(-1/2) Eᵀ; ``zca``: U = E U_pca."""


def whitening(inputs: Tensor, epsilon: float, kind: str = "pca") -> tuple[Tensor, Tensor, Tensor]:
    r"""Estimate the centring :math:`c` and whitening :math:`U` of a layer's inputs.

    With the sample mean :math:`c = \mu` and the eigen-decomposition of the sample covariance
    :math:`\Sigma = E\, \mathrm{diag}(s)\, E^\top`,

    .. math::

        U_{\mathrm{pca}} = (\mathrm{diag}(s) + \epsilon I)^{-1/2} E^\top, \qquad
        U_{\mathrm{zca}} = E\, U_{\mathrm{pca}},

    so that :math:`U (x - c)` has (almost) identity covariance. :math:`\epsilon > 0` keeps
    :math:`U` invertible when the inputs are rank-deficient (digits has pixels that are
    always zero). The inverse comes from the same decomposition,
    :math:`U^{-1}_{\mathrm{pca}} = E\, (\mathrm{diag}(s) + \epsilon I)^{1/2}` (and
    :math:`U^{-1}_{\mathrm{zca}} = U^{-1}_{\mathrm{pca}} E^\top`): it is exact up to the
    orthogonality of :math:`E`, with no explicit matrix inversion. Everything is computed in
    float64 and returned in the dtype of ``inputs``.

    References:
        Natural Neural Networks (Desjardins, Simonyan, Pascanu & Kavukcuoglu, 2015),
        https://arxiv.org/abs/1507.00210, Section 3.1 and Algorithm 1.

    Arguments:
        inputs: samples of the layer's input :math:`h_{i-1}`.
        epsilon: regulariser :math:`\epsilon` added to the covariance eigenvalues.
        kind: ``"pca"`` or ``"zca"``.

    Returns:
        ``(c, U, U_inv)``.

    Shapes:
        inputs :math:`(N_s, D)`; c :math:`(D,)`; U, U_inv :math:`(D, D)`.

    Example:
        >>> x = torch.randn(1000, 3, dtype=torch.float64) @ torch.tensor(
        ...     [[2.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.0, 0.0, 0.1]], dtype=torch.float64)
        >>> c, U, U_inv = whitening(x, epsilon=1e-8)
        >>> z = (x - c) @ U.T
        >>> torch.allclose(z.T @ z / len(z), torch.eye(3, dtype=torch.float64), atol=1e-5)
        True
        >>> torch.allclose(U_inv @ U, torch.eye(3, dtype=torch.float64))
        True
    """
    if kind not in WHITENING_KINDS:
        raise ValueError(f"unknown whitening {kind!r}; choose one of {WHITENING_KINDS}")
    if epsilon <= 0.0:
        raise ValueError(f"epsilon must be > 0 to keep U invertible, got {epsilon}")
    if inputs.ndim != 2 or len(inputs) < 2:
        raise ValueError(f"need at least two samples of shape (N_s, D), got {tuple(inputs.shape)}")
    samples = inputs.detach().to(torch.float64)
    c = samples.mean(0)  # (D,)
    centred = samples - c  # (N_s, D)
    covariance = centred.T @ centred / len(samples)  # (D, D)
    s, E = torch.linalg.eigh(covariance)
    # eigh returns ascending eigenvalues; list the principal components first. Round-off can
    # make the eigenvalues of a singular covariance slightly negative.
    s, E = s.flip(0).clamp_min(0.0), E.flip(1)
    root = (s + epsilon).sqrt()  # (D,)
    U = E.T / root[:, None]  # diag(s + ε)^(-1/2) Eᵀ
    U_inv = E * root[None, :]  # E diag(s + ε)^(1/2)
    if kind == "zca":
        U, U_inv = E @ U, U_inv @ E.T
    return c.to(inputs.dtype), U.to(inputs.dtype), U_inv.to(inputs.dtype)
