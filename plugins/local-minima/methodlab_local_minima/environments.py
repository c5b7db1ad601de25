"""The blind-spot regression data: y = |x| on a few 1-d points."""

from __future__ import annotations

import torch
from methodlab.components import Batch, EnvInfo
from methodlab.supervised import SupervisedEnvironment

from methodlab_local_minima.config import AbsPointsParams

__all__ = ["build_abs_points"]


def build_abs_points(
    params: AbsPointsParams, *, seed: int, device: str, dtype: torch.dtype
) -> SupervisedEnvironment:
    """Build ``use = "abs-points"``: inputs ``(N, 1)``, targets ``|x|`` of shape ``(N, 1)``.

    Full batch every step; ``train`` and ``test`` are the same points (the claims are about
    optimisation, not generalisation).

    References:
        Local minima in training of neural networks (Swirszcz, Czarnecki & Pascanu, 2016),
        §3.2, https://arxiv.org/abs/1611.06310

    Example:
        >>> env = build_abs_points(AbsPointsParams(), seed=0, device="cpu", dtype=torch.float64)
        >>> env.train_batch(0, None).targets.squeeze(1).tolist()
        [2.0, 1.0, 1.0, 2.0]
    """
    x = torch.tensor(params.points, dtype=dtype, device=device).unsqueeze(1)
    data = Batch(x, x.abs())
    info = EnvInfo(1, 1, "regression", len(x))
    return SupervisedEnvironment({"train": data, "test": data}, info, batch_size=0, seed=seed)
