r"""The 2-D curved-boundary task of Gulcehre et al. (2014), §4.1."""

from __future__ import annotations

import torch
from methodlab.components import Batch, EnvInfo
from methodlab.supervised import SupervisedEnvironment

from methodlab_lp_units.config import CurvedBoundaryParams

__all__ = ["build_curved_boundary", "curved_boundary_points"]


def curved_boundary_points(
    n: int, generator: torch.Generator, *, half_width: float = 1.5, radius: float = 1.0,
    amplitude: float = 0.3, frequency: int = 3, dtype: torch.dtype = torch.float64,
) -> Batch:
    r"""``n`` points uniform in ``[−w, w]²`` labelled 1 inside the wavy circle, else 0.

    The enclosed area is ``π(r₀² + A²/2)`` (3.28 for the defaults), so with ``w = 1.5`` about
    36 % of the points are inside.

    .. math::

        y = \mathbb{1}\big[\, r < r_0 + A \sin(\omega\theta) \,\big], \qquad
        (r, \theta) \text{ the polar coordinates of } x.

    Shapes:
        inputs ``(n, 2)``; targets ``(n,)`` (int64).

    Example:
        >>> batch = curved_boundary_points(5000, torch.Generator().manual_seed(0))
        >>> batch.inputs.shape, round(float(batch.targets.double().mean()), 3)
        (torch.Size([5000, 2]), 0.371)
    """
    inputs = (torch.rand(n, 2, generator=generator, dtype=torch.float64) * 2 - 1) * half_width
    r = inputs.norm(dim=1)
    theta = torch.atan2(inputs[:, 1], inputs[:, 0])
    targets = (r < radius + amplitude * torch.sin(frequency * theta)).long()
    return Batch(inputs.to(dtype), targets)


def build_curved_boundary(
    params: CurvedBoundaryParams, *, seed: int, device: str, dtype: torch.dtype
) -> SupervisedEnvironment:
    """Build ``use = "curved-boundary"``: 2 inputs, 2 classes, data fixed by ``data_seed``."""
    generator = torch.Generator().manual_seed(params.data_seed)
    shape = {"half_width": params.half_width, "radius": params.radius,
             "amplitude": params.amplitude, "frequency": params.frequency, "dtype": dtype}
    train = curved_boundary_points(params.n_train, generator, **shape).to(device)
    test = curved_boundary_points(params.n_test, generator, **shape).to(device)
    info = EnvInfo(2, 2, "classification", params.n_train)
    return SupervisedEnvironment({"train": train, "test": test}, info,
                                 batch_size=params.batch_size, seed=seed)
