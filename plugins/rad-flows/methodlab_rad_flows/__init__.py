"""RAD flows (Dinh, Sohl-Dickstein, Pascanu & Larochelle, 2019) as a methodlab plugin.

Registration only: the component modules (and torch, matplotlib) are imported when a run
builds them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import methodlab

from methodlab_rad_flows import config as c

if TYPE_CHECKING:
    from methodlab.runner import Trial

__all__ = ["methodlab_environments", "methodlab_evaluation_end", "methodlab_evaluators",
           "methodlab_losses", "methodlab_models"]

_PKG = "methodlab_rad_flows"
_SMALL_GRID = {"use": "rad-flows:gaussian-grid", "n_train": 32, "n_test": 16, "batch_size": 8}
_FLOW_RUN = {"environment": _SMALL_GRID, "loss": {"use": "rad-flows:flow-nll"}}
_SMALL_RAD = {"use": "rad-flows:rad-flow", "layers": 2, "hidden": [8], "gating_hidden": [8]}


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        name="rad-flow",
        factory=f"{_PKG}.rad:build_rad_flow",
        params_cls=c.RADFlowParams,
        summary="RAD flow: coupling layers with N-shaped piecewise-linear maps and masked "
        "gating over the pieces; forward(x) = exact log p(x) (B,), exact sampling.",
        example={**_FLOW_RUN, "params": {"layers": 2, "hidden": [8], "gating_hidden": [8]}},
    )
    yield methodlab.ModelSpec(
        name="real-nvp",
        factory=f"{_PKG}.realnvp:build_real_nvp",
        params_cls=c.RealNVPParams,
        summary="RealNVP: affine coupling layers with alternating halves (zuko's "
        "parametrisation); forward(x) = log p(x) (B,).",
        example={**_FLOW_RUN, "params": {"layers": 2, "hidden": [8]}},
    )


@methodlab.hookimpl
def methodlab_losses() -> Iterator[methodlab.LossSpec]:
    yield methodlab.LossSpec(
        name="flow-nll",
        factory=f"{_PKG}.loss:build_flow_nll",
        params_cls=c.NLLParams,
        summary="Mean negative log-likelihood −log p(x) in nats of a model returning log p(x).",
        example={"environment": _SMALL_GRID, "model": _SMALL_RAD},
    )


@methodlab.hookimpl
def methodlab_environments() -> Iterator[methodlab.EnvironmentSpec]:
    flow = {"model": _SMALL_RAD, "loss": {"use": "rad-flows:flow-nll"}}
    small = {"n_train": 32, "n_test": 16, "batch_size": 8}
    yield methodlab.EnvironmentSpec(
        name="gaussian-grid",
        factory=f"{_PKG}.densities:build_gaussian_grid",
        params_cls=c.GaussianGridParams,
        summary="side × side grid of equal isotropic Gaussians in 2-D (default 5 × 5, σ = 0.1); "
        "targets = component.",
        example={**flow, "params": small},
    )
    yield methodlab.EnvironmentSpec(
        name="checkerboard",
        factory=f"{_PKG}.densities:build_checkerboard",
        params_cls=c.CheckerboardParams,
        summary="Uniform on the even squares of a 2-D checkerboard (default 4 × 4 on "
        "[−2, 2]²); targets = square.",
        example={**flow, "params": small},
    )
    yield methodlab.EnvironmentSpec(
        name="rings",
        factory=f"{_PKG}.densities:build_rings",
        params_cls=c.RingsParams,
        summary="Concentric noisy rings in 2-D (default radii 1, 2, 3); targets = ring.",
        example={**flow, "params": small},
    )


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    flow = {**_FLOW_RUN, "model": _SMALL_RAD}
    yield methodlab.EvaluatorSpec(
        name="density-grid",
        factory=f"{_PKG}.evaluators:build_density_grid",
        params_cls=c.DensityGridParams,
        summary="Probability mass of a 2-D flow's density on a fine grid (metric mass); "
        "with plot = true, data/density/sample panels as <key>.png in the trial directory.",
        example={**flow, "params": {"resolution": 20, "plot": True, "plot_samples": 10}},
    )
    yield methodlab.EvaluatorSpec(
        name="sample-consistency",
        factory=f"{_PKG}.evaluators:build_sample_consistency",
        params_cls=c.SampleConsistencyParams,
        summary="log p of a flow's samples along the sampling path vs recomputed by the "
        "forward pass: max_gap, mean_gap, sample_nll.",
        example={**flow, "params": {"samples": 16}},
    )


@methodlab.hookimpl
def methodlab_evaluation_end(trial: Trial, step: int, metrics: Mapping[str, float]) -> None:
    """Draw every ``density-grid`` evaluator with ``plot = true`` into the trial's directory
    after the trial's last update (evaluators get no directory; the trial has one)."""
    evaluators = sys.modules.get(f"{_PKG}.evaluators")
    if evaluators is None or trial.directory is None or step != trial.spec.train.steps:
        return  # no density-grid was built in this process, or nowhere to write
    for key, evaluator in trial.evaluators.items():
        if isinstance(evaluator, evaluators.DensityGrid) and evaluator.latest is not None:
            from methodlab_rad_flows.plots import draw

            draw(evaluator.latest, trial.directory / f"{key}.png",
                 f"{trial.arm}, seed {trial.seed}, step {step}")
