r"""2-D densities with discrete structure, sampled procedurally from a seed.

Each environment serves ``inputs`` ``(B, 2)`` and, as ``targets``, the discrete component a
point came from (``(B,)`` long: grid component, board square or ring), so the partitions a RAD
flow learns can be compared with the truth. Splits: ``train`` and ``test``.

- **gaussian-grid**: side² equally weighted :math:`\mathcal N(\mu_{ij}, \sigma^2 I)` with
  centres on a square grid around the origin. Its entropy is
  :math:`\log(\text{side}^2) + \log(2\pi e \sigma^2)` when the components barely overlap
  (5×5, σ = 0.1, spacing 1: 1.452 nats, the best achievable test NLL).
- **checkerboard**: uniform on the squares of a cells × cells board whose indices sum to an
  even number; entropy :math:`\log(\text{size}^2 / 2)` (4×4 on [−2, 2]²: 2.079 nats).
- **rings**: concentric circles with Gaussian radial noise, points spread uniformly over arc
  length.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from methodlab.components import Batch, EnvInfo
from methodlab.supervised import SupervisedEnvironment

from methodlab_rad_flows.config import (
    CheckerboardParams,
    DensityParams,
    GaussianGridParams,
    RingsParams,
)

__all__ = ["build_checkerboard", "build_gaussian_grid", "build_rings", "checkerboard",
           "gaussian_grid", "rings"]

TASK = "density"
"""``EnvInfo.task`` of these environments: the model maps ``(B, 2)`` to log-densities."""


def gaussian_grid(n: int, side: int, spacing: float, sigma: float,
                  generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points of the Gaussian grid (float64) and their component indices.

    >>> x, k = gaussian_grid(4, 5, 1.0, 0.1, torch.Generator().manual_seed(0))
    >>> x.shape, k.shape, bool((x.abs() < 3).all())
    (torch.Size([4, 2]), torch.Size([4]), True)
    """
    k = torch.randint(side * side, (n,), generator=generator)
    offset = (side - 1) / 2
    centres = torch.stack([k // side, k % side], -1).double().sub(offset).mul(spacing)
    return centres + sigma * torch.randn(n, 2, generator=generator, dtype=torch.float64), k


def checkerboard(n: int, cells: int, size: float,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points uniform on the even squares of the board (float64) and their square.

    >>> x, k = checkerboard(1000, 4, 4.0, torch.Generator().manual_seed(0))
    >>> cell = ((x + 2) // 1).long()
    >>> bool(((cell[:, 0] + cell[:, 1]) % 2 == 0).all())
    True
    """
    even = [(i, j) for i in range(cells) for j in range(cells) if (i + j) % 2 == 0]
    k = torch.randint(len(even), (n,), generator=generator)
    corners = torch.tensor(even, dtype=torch.float64)[k]  # (n, 2)
    unit = torch.rand(n, 2, generator=generator, dtype=torch.float64)
    return (corners + unit) * (size / cells) - size / 2, k


def rings(n: int, radii: tuple[float, ...], width: float,
          generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points on noisy concentric rings (float64) and their ring.

    >>> x, k = rings(2000, (1.0, 3.0), 0.01, torch.Generator().manual_seed(0))
    >>> abs(float((k == 1).double().mean()) - 3 / 4) < 0.03  # share ∝ radius
    True
    """
    weights = torch.tensor(radii, dtype=torch.float64)
    k = torch.multinomial(weights / weights.sum(), n, replacement=True, generator=generator)
    angle = 2 * math.pi * torch.rand(n, generator=generator, dtype=torch.float64)
    radius = weights[k] + width * torch.randn(n, generator=generator, dtype=torch.float64)
    return torch.stack([radius * angle.cos(), radius * angle.sin()], -1), k


Sampler = Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]]
"""``(n, generator) → (points (n, 2), components (n,))``."""


def _environment(params: DensityParams, seed: int, device: str, dtype: torch.dtype,
                 draw: Sampler) -> SupervisedEnvironment:
    generator = torch.Generator().manual_seed(params.data_seed * 1_000_003 + seed)
    splits = {}
    for name, size in (("train", params.n_train), ("test", params.n_test)):
        x, k = draw(size, generator)
        splits[name] = Batch(x.to(device=device, dtype=dtype), k.to(device))
    info = EnvInfo(in_features=2, out_features=2, task=TASK, train_size=params.n_train)
    return SupervisedEnvironment(splits, info, batch_size=params.batch_size, seed=seed)


def build_gaussian_grid(params: GaussianGridParams, *, seed: int, device: str,
                        dtype: torch.dtype) -> SupervisedEnvironment:
    return _environment(params, seed, device, dtype, lambda n, g: gaussian_grid(
        n, params.side, params.spacing, params.sigma, g))


def build_checkerboard(params: CheckerboardParams, *, seed: int, device: str,
                       dtype: torch.dtype) -> SupervisedEnvironment:
    return _environment(params, seed, device, dtype, lambda n, g: checkerboard(
        n, params.cells, params.size, g))


def build_rings(params: RingsParams, *, seed: int, device: str,
                dtype: torch.dtype) -> SupervisedEnvironment:
    return _environment(params, seed, device, dtype, lambda n, g: rings(
        n, params.radii, params.width, g))
