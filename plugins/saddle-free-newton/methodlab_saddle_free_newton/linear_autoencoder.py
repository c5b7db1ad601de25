r"""A linear autoencoder :math:`\hat x = W_2 W_1 x` that can start at a saddle point.

With the squared error :math:`L = \tfrac{1}{2N} \sum_n \|x_n - W_2 W_1 x_n\|^2` and the
data's second-moment matrix :math:`\Sigma = \tfrac1N \sum_n x_n x_n^\top = U \Lambda U^\top`,
every critical point projects onto a subset of eigenvectors (Baldi & Hornik, 1989): with
:math:`U_S` the eigenvectors of a set :math:`S`, :math:`W_1 = U_S^\top`, :math:`W_2 = U_S`
has gradients

.. math::

    \nabla_{W_2} L = -(I - U_S U_S^\top) \Sigma U_S = 0, \qquad
    \nabla_{W_1} L = -U_S^\top (I - U_S U_S^\top) \Sigma = 0,

and hidden units whose rows of :math:`W_1` and columns of :math:`W_2` are zero keep zero
gradients too. Only :math:`S` = the top :math:`p` eigenvectors is a minimum; any other choice
is a saddle whose negative curvatures are :math:`-\sigma_i` for the eigenvalues an idle unit
could pick up and :math:`-(\sigma_i - \sigma_j)` for a held eigenvector :math:`j` that a
better one :math:`i \notin S` could replace. ``init = "saddle"`` builds such a point and adds
a small perturbation, since a method that starts exactly at a critical point has no gradient
to follow.

Gradient descent from a small random start visits these saddles in turn (first the top
eigenvector, then the next ones): holding only the top eigenvector is the plateau it meets
after its first fast drop.

References:
    Neural networks and principal component analysis: Learning from examples without local
    minima (Baldi & Hornik, 1989) https://doi.org/10.1016/0893-6080(89)90014-2

    Identifying and attacking the saddle point problem in high-dimensional non-convex
    optimization (Dauphin et al., 2014) https://arxiv.org/abs/1406.2572
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from methodlab.components import Environment
from torch import Tensor, nn

from methodlab_saddle_free_newton.config import LinearAutoencoderParams

__all__ = ["LinearAutoencoder", "build_linear_autoencoder", "saddle_weights"]


class LinearAutoencoder(nn.Module):
    """Encoder :math:`W_1` (``(p, D)``) and decoder :math:`W_2` (``(D, p)``), no biases.

    Shapes:
        input ``(B, D)``; output ``(B, D)``.

    Example:
        >>> LinearAutoencoder(64, 4)
        LinearAutoencoder(
          (encoder): Linear(in_features=64, out_features=4, bias=False)
          (decoder): Linear(in_features=4, out_features=64, bias=False)
        )
    """

    def __init__(self, features: int, hidden: int) -> None:
        super().__init__()
        self.encoder = nn.Linear(features, hidden, bias=False)
        self.decoder = nn.Linear(hidden, features, bias=False)

    def forward(self, inputs: Tensor) -> Tensor:
        return self.decoder(self.encoder(inputs))


def saddle_weights(
    inputs: Tensor, hidden: int, eigenvectors: Sequence[int]
) -> tuple[Tensor, Tensor]:
    r"""Return a critical point :math:`(W_1, W_2)` of the linear autoencoder's squared error.

    Hidden unit :math:`h < |S|` holds eigenvector ``eigenvectors[h]`` of
    :math:`\Sigma = X^\top X / N` (rank 0 = largest eigenvalue); the other units are zero.

    Shapes:
        inputs: :math:`(N, D)`; returns :math:`W_1` of shape :math:`(p, D)` and
        :math:`W_2 = W_1^\top` of shape :math:`(D, p)`.

    Example:
        >>> x = torch.randn(100, 3) * torch.tensor([3.0, 2.0, 1.0])
        >>> w1, w2 = saddle_weights(x, 2, [1])
        >>> w1.shape, bool(w1[1].eq(0).all())
        (torch.Size([2, 3]), True)
    """
    second_moment = inputs.T @ inputs / len(inputs)  # (D, D)
    _, vectors = torch.linalg.eigh(second_moment)
    vectors = vectors.flip(1)  # (D, D), columns by decreasing eigenvalue
    if max(eigenvectors, default=-1) >= vectors.shape[1]:
        raise ValueError(f"saddle_eigenvectors {list(eigenvectors)} exceed the data dimension "
                         f"{vectors.shape[1]}")
    encoder = inputs.new_zeros(hidden, inputs.shape[1])  # (p, D)
    encoder[: len(eigenvectors)] = vectors[:, list(eigenvectors)].T
    return encoder, encoder.T.clone()


def build_linear_autoencoder(
    params: LinearAutoencoderParams, *, env: Environment
) -> LinearAutoencoder:
    """Build ``use = "linear-autoencoder"``; the saddle is computed from the training split.

    The perturbation is drawn from the global generator, which the runner seeds with the
    run's seed before building the model.
    """
    if env.info.out_features != env.info.in_features:
        raise ValueError(f"linear-autoencoder reconstructs its input: the environment has "
                         f"{env.info.in_features} inputs but {env.info.out_features} outputs; "
                         f"use a reconstruction task")
    model = LinearAutoencoder(env.info.in_features, params.hidden)
    if params.init == "saddle":
        # In the data's dtype (the run's), so that float64 runs start exactly at the saddle.
        inputs = torch.cat([batch.inputs for batch in env.split("train")]).detach().cpu()
        encoder, decoder = saddle_weights(inputs, params.hidden, params.saddle_eigenvectors)
        model = model.to(inputs.dtype)
        with torch.no_grad():
            for weight, value in ((model.encoder.weight, encoder), (model.decoder.weight, decoder)):
                weight.copy_(value + params.perturbation * torch.randn(value.shape,
                                                                       dtype=value.dtype))
    return model
