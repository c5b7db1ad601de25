r"""Four ways to train a conditional RBM p(y | x): exact likelihood, CD, mean-field CD, PL.

Each loss is a batch mean whose gradient in the parameters θ is the method's update direction:

- ``exact``: :math:`-\log p(y \mid x) = F(x, y) + \log \sum_{y'} e^{-F(x, y')}` by enumerating
  the 2^L label vectors (L ≤ 12); the gradient is
  :math:`∂_θ F(x, y) - \mathbb{E}_{p(y' \mid x)} ∂_θ F(x, y')`.
- ``cd`` (Hinton 2002): :math:`F(x, y) - F(x, \tilde y)` with :math:`\tilde y` the sample after
  k block-Gibbs sweeps started at the data labels and held constant, so the model expectation
  is replaced by one short-chain sample (biased for small k).
- ``mean-field-cd`` (Welling & Hinton 2002): :math:`F(x, y) - E(x, μ, τ)` with (μ, τ) the
  mean-field state after k deterministic sweeps from μ = y, held constant:
  :math:`∂_θ E(x, μ, τ)` replaces the model expectation.
- ``pseudo-likelihood`` (Besag 1975): :math:`-\sum_l \log p(y_l \mid y_{\neg l}, x)
  = \sum_l \operatorname{softplus}(F(x, y) - F(x, y^{(l)}))` with :math:`y^{(l)}` the label
  vector with tag l flipped; flipping tag l shifts the hidden pre-activations by
  :math:`(1 - 2y_l) U_{:l}`, so all L terms cost one ``(B, L, H)`` tensor.

Only ``exact`` enumerates; the other three cost O(B·L·H) time and memory per step, so they
scale to vocabularies of hundreds of tags. Their loss values are surrogates (for ``cd`` and
``mean-field-cd`` a free-energy gap, not a likelihood): compare methods with an evaluator.
"""

from __future__ import annotations

import torch
from methodlab.components import Batch, Environment, Loss
from methodlab.errors import UserError
from torch.nn import functional as F

from methodlab_crbm_autotagger.config import MAX_EXACT_TAGS, CRBMLossParams
from methodlab_crbm_autotagger.rbm import ConditionalRBM

__all__ = ["CRBMLikelihood", "build", "exact_nll", "pseudo_likelihood_nll"]


def exact_nll(model: ConditionalRBM, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """−log p(y | x) per example by enumeration, shape ``(B,)`` (L ≤ 12)."""
    return model.free_energy(x, y) + model.log_partition(x)


def pseudo_likelihood_nll(model: ConditionalRBM, x: torch.Tensor, y: torch.Tensor
                          ) -> torch.Tensor:
    """−Σ_l log p(y_l | y_¬l, x) per example, shape ``(B,)``.

    With s_l = y_l − y^{(l)}_l = 2y_l − 1 and a = c + Wx + Uy,
    F(x, y) − F(x, y^{(l)}) = −s_l (b + Ax)_l − Σ_j [softplus(a_j) − softplus(a_j − s_l U_jl)]:
    one tensor of shape ``(B, L, H)``, no enumeration.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> rbm = ConditionalRBM(2, 1, 3, init_scale=1.0).double()
        >>> x = torch.randn(4, 2, dtype=torch.float64)
        >>> y = torch.tensor([[0.0], [1.0], [1.0], [0.0]], dtype=torch.float64)
        >>> bool(torch.allclose(pseudo_likelihood_nll(rbm, x, y), exact_nll(rbm, x, y)))
        True
    """
    sign = 2 * y - 1                                           # (B, L)
    pre = model.hidden_input(x) + y @ model.U.T                # (B, H)
    flipped = pre[:, None, :] - sign[:, :, None] * model.U.T[None]   # (B, L, H)
    # F(y) - F(y^(l)) = -s_l (b + Ax)_l - sum_j [softplus(pre_j) - softplus(flipped_lj)]
    gap = -sign * model.label_bias(x) - (F.softplus(pre)[:, None, :]
                                         - F.softplus(flipped)).sum(-1)
    return F.softplus(gap).sum(-1)


class CRBMLikelihood(Loss):
    """Training loss of a :class:`~methodlab_crbm_autotagger.rbm.ConditionalRBM`; see the
    module docstring for the four methods. Batches: inputs ``(B, D)``, targets ``(B, L)``.

    References:
        Training products of experts by minimizing contrastive divergence (Hinton, 2002);
        A new learning algorithm for mean field Boltzmann machines (Welling & Hinton, 2002);
        Statistical analysis of non-lattice data (Besag, 1975); as compared for the
        multi-label DRBM by Mandel et al. (2011), https://arxiv.org/abs/1103.2832.

    .. note::
        The paper's fourth method, loopy belief propagation, is not implemented. The CD chain
        starts at the data labels (not persistent), as in CD-k.
    """

    def __init__(self, method: str, cd_steps: int = 1) -> None:
        self.method, self.cd_steps = method, cd_steps

    def __call__(self, model: ConditionalRBM, batch: Batch) -> torch.Tensor:
        x, y = batch.inputs, batch.targets
        if self.method == "exact":
            return exact_nll(model, x, y).mean()
        if self.method == "pseudo-likelihood":
            return pseudo_likelihood_nll(model, x, y).mean()
        if self.method == "cd":
            # The chain's randomness comes from the global generator, which the runner seeds
            # and checkpoints, so resumed runs continue bitwise.
            with torch.no_grad():
                negative = model.gibbs(x, y, self.cd_steps)
            return (model.free_energy(x, y) - model.free_energy(x, negative)).mean()
        with torch.no_grad():
            mu, tau = model.mean_field(x, y, self.cd_steps)
        energy = (-(mu * model.label_bias(x)).sum(-1) - (tau * model.hidden_input(x)).sum(-1)
                  - ((tau @ model.U) * mu).sum(-1))
        return (model.free_energy(x, y) - energy).mean()


def build(params: CRBMLossParams, *, env: Environment) -> CRBMLikelihood:
    """Factory of ``crbm-likelihood``; refuses ``exact`` for more than 12 tags."""
    if params.method == "exact" and env.info.out_features > MAX_EXACT_TAGS:
        raise UserError(f"loss.method: 'exact' enumerates 2^L label vectors; this environment "
                        f"has {env.info.out_features} tags (at most {MAX_EXACT_TAGS})")
    return CRBMLikelihood(params.method, params.cd_steps)
