"""Evaluators of flows: probability mass on a grid (with plots) and sample/forward agreement."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np
import torch
from methodlab.components import Environment, Evaluator, Loss
from torch import nn

from methodlab_rad_flows.config import DensityGridParams, SampleConsistencyParams

__all__ = ["DensityGrid", "PlotData", "SampleConsistency", "build_density_grid",
           "build_sample_consistency"]

_CHUNK = 1 << 15


def _sampler(model: nn.Module, name: str) -> Callable[..., tuple[torch.Tensor, torch.Tensor]]:
    sample = getattr(model, "sample", None)
    if not callable(sample):
        raise TypeError(f"{name} needs a flow model with sample(n, generator); "
                        f"{type(model).__name__} has none")
    return sample


@attrs.frozen
class PlotData:
    """What :func:`methodlab_rad_flows.plots.draw` needs, as NumPy arrays."""

    log_density: np.ndarray
    """``(R, R)`` log p on the grid, row i = i-th ordinate (``origin='lower'``)."""
    extent: tuple[float, float, float, float]
    """``(low, high, low, high)`` of the box."""
    data: np.ndarray
    """``(n, 2)`` test points."""
    samples: np.ndarray
    """``(n, 2)`` model samples."""


class DensityGrid(Evaluator):
    r"""The probability mass of the model's density inside a box, by the midpoint rule:

    .. math::

        \text{mass} = h^2 \sum_{i,j=1}^{R} p(x_{ij}), \qquad
        x_{ij} = \bigl(\text{low} + (i - \tfrac12) h,\ \text{low} + (j - \tfrac12) h\bigr),
        \quad h = (\text{high} - \text{low}) / R.

    A normalised density whose tails outside the box are negligible gives 1; a RAD flow
    without its gating mask gives less. Metric ``mass``. With ``plot`` the evaluator keeps
    :attr:`latest` (:class:`PlotData`), which the plugin's ``methodlab_evaluation_end`` hook
    draws into ``<evaluator key>.png`` in the trial's directory after the last update
    (evaluators receive no directory; trials have one).

    Example:
        >>> class Gaussian(nn.Module):
        ...     def forward(self, x):
        ...         return -0.5 * x.pow(2).sum(-1) - torch.log(torch.tensor(2 * torch.pi))
        >>> round(DensityGrid(-6.0, 6.0, 200)(Gaussian(), None, None)["mass"], 6)
        1.0
    """

    def __init__(self, low: float, high: float, resolution: int, plot: bool = False,
                 plot_samples: int = 2000) -> None:
        self.low, self.high, self.resolution = low, high, resolution
        self.plot, self.plot_samples = plot, plot_samples
        self.latest: PlotData | None = None

    @torch.no_grad()
    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        reference = next(model.parameters(), None)
        dtype = reference.dtype if reference is not None else torch.float64
        device = reference.device if reference is not None else "cpu"
        h = (self.high - self.low) / self.resolution
        axis = self.low + h * (torch.arange(self.resolution, dtype=dtype) + 0.5)
        ordinate, abscissa = torch.meshgrid(axis, axis, indexing="ij")
        points = torch.stack([abscissa, ordinate], -1).reshape(-1, 2).to(device)  # (R², 2)
        log_density = torch.cat([model(chunk) for chunk in points.split(_CHUNK)])
        mass = float(log_density.exp().sum()) * h * h
        if self.plot:
            sample = _sampler(model, "density-grid with plot = true")
            samples, _ = sample(self.plot_samples, torch.Generator().manual_seed(0))
            data = next(iter(env.split("test"))).inputs[: self.plot_samples]
            self.latest = PlotData(
                log_density.reshape(self.resolution, self.resolution).cpu().numpy(),
                (self.low, self.high, self.low, self.high),
                data.cpu().numpy(), samples.cpu().numpy())
        return {"mass": mass}


class SampleConsistency(Evaluator):
    r"""Agreement of the two ways a flow computes :math:`\log p` of its own samples.

    Draws ``x`` with :math:`\log p` accumulated along the sampling path (base density, each
    layer's inverse with its sampled piece and gate probability) and recomputes
    :math:`\log p(x)` by the forward pass, which infers the pieces from ``x``. Metrics:
    ``max_gap`` and ``mean_gap`` (absolute differences, nats) and ``sample_nll``
    (:math:`-\overline{\log p}` of the samples, the model's entropy estimate).
    """

    def __init__(self, samples: int, sample_seed: int) -> None:
        self.samples, self.sample_seed = samples, sample_seed

    @torch.no_grad()
    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        sample = _sampler(model, "sample-consistency")
        x, path_log_prob = sample(self.samples, torch.Generator().manual_seed(self.sample_seed))
        gap = (model(x) - path_log_prob).abs()
        return {"max_gap": float(gap.max()), "mean_gap": float(gap.mean()),
                "sample_nll": float(-path_log_prob.mean())}


def build_density_grid(params: DensityGridParams, *, env: Environment) -> DensityGrid:
    return DensityGrid(params.low, params.high, params.resolution, params.plot,
                       params.plot_samples)


def build_sample_consistency(params: SampleConsistencyParams, *, env: Environment
                             ) -> SampleConsistency:
    return SampleConsistency(params.samples, params.sample_seed)
