"""Factory of the ``drbm`` and ``tag-smoothing-crbm`` models (one class, two defaults)."""

from __future__ import annotations

from methodlab.components import Environment
from methodlab.errors import UserError

from methodlab_crbm_autotagger.config import MAX_EXACT_TAGS, CRBMParams
from methodlab_crbm_autotagger.rbm import ConditionalRBM

__all__ = ["build"]


def build(params: CRBMParams, *, env: Environment) -> ConditionalRBM:
    """A :class:`~methodlab_crbm_autotagger.rbm.ConditionalRBM` with D = ``in_features`` and
    L = ``out_features`` of the environment."""
    tags = env.info.out_features
    if params.predict == "exact" and tags > MAX_EXACT_TAGS:
        raise UserError(f"model.predict: 'exact' enumerates 2^L label vectors; this "
                        f"environment has {tags} tags (at most {MAX_EXACT_TAGS})")
    return ConditionalRBM(env.info.in_features, tags, params.hidden,
                          init_scale=params.init_scale, direct=params.direct,
                          predict=params.predict, mean_field_steps=params.mean_field_steps,
                          gibbs_chains=params.gibbs_chains, gibbs_sweeps=params.gibbs_sweeps,
                          gibbs_burn_in=params.gibbs_burn_in)
