"""Environments, the loss, the evaluators, parameter errors and the plot hook."""

from __future__ import annotations

import math
from pathlib import Path

import attrs
import pytest
import torch
from methodlab import api
from methodlab.components import Batch
from methodlab.errors import UserError
from methodlab_rad_flows import config
from methodlab_rad_flows.densities import (
    build_checkerboard,
    build_gaussian_grid,
    build_rings,
    checkerboard,
    gaussian_grid,
    rings,
)
from methodlab_rad_flows.evaluators import DensityGrid, SampleConsistency
from methodlab_rad_flows.loss import FlowNLL
from methodlab_rad_flows.rad import RADFlow

torch.set_num_threads(1)


def test_gaussian_grid_points_sit_on_their_centres() -> None:
    x, k = gaussian_grid(20_000, 5, 1.0, 0.1, torch.Generator().manual_seed(0))
    residual = x - (torch.stack([k // 5, k % 5], -1).double() - 2)
    assert abs(float(residual.std()) - 0.1) < 0.003
    assert abs(float(residual.mean())) < 0.003
    assert set(k.tolist()) == set(range(25))


def test_checkerboard_covers_half_the_board_uniformly() -> None:
    x, k = checkerboard(16_000, 4, 4.0, torch.Generator().manual_seed(0))
    assert bool((x.abs() <= 2).all())
    cell = ((x + 2) // 1).long()
    assert bool((cell.sum(-1) % 2 == 0).all())
    counts = torch.bincount(k)
    assert len(counts) == 8 and int(counts.min()) > 1800


def test_rings_radii_and_shares() -> None:
    x, k = rings(30_000, (1.0, 2.0, 3.0), 0.05, torch.Generator().manual_seed(0))
    radius = x.norm(dim=-1)
    for ring, r in enumerate((1.0, 2.0, 3.0)):
        assert abs(float(radius[k == ring].mean()) - r) < 0.01
        assert abs(float((k == ring).double().mean()) - r / 6) < 0.01


@pytest.mark.parametrize(("build", "params_cls"), [
    (build_gaussian_grid, config.GaussianGridParams),
    (build_checkerboard, config.CheckerboardParams),
    (build_rings, config.RingsParams),
])
def test_environments_are_seeded(build, params_cls) -> None:
    params = params_cls(n_train=100, n_test=50, batch_size=10)
    first = build(params, seed=1, device="cpu", dtype=torch.float32)
    again = build(params, seed=1, device="cpu", dtype=torch.float32)
    other = build(params, seed=2, device="cpu", dtype=torch.float32)
    batch = first.train_batch(3, None)
    assert batch.inputs.shape == (10, 2) and batch.inputs.dtype == torch.float32
    assert torch.equal(batch.inputs, again.train_batch(3, None).inputs)
    assert not torch.equal(first.splits["train"].inputs, other.splits["train"].inputs)
    assert first.splits["test"].inputs.shape == (50, 2)
    assert first.info.in_features == 2 and first.info.task == "density"


def test_nll_of_a_standard_normal_flow() -> None:
    class Normal(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return -0.5 * x.pow(2).sum(-1) - math.log(2 * math.pi)

    loss = FlowNLL()(Normal(), Batch(torch.zeros(4, 2)))
    assert float(loss) == pytest.approx(math.log(2 * math.pi))
    with pytest.raises(ValueError, match=r"shape \(B,\)"):
        FlowNLL()(torch.nn.Linear(2, 2), Batch(torch.zeros(4, 2)))


def test_sample_consistency_metrics() -> None:
    torch.manual_seed(0)
    model = RADFlow(2, 2, [8], [8], 1e-3).double()
    metrics = SampleConsistency(500, 0)(model, None, None)
    assert metrics["max_gap"] < 1e-10 and metrics["mean_gap"] <= metrics["max_gap"]
    assert math.isfinite(metrics["sample_nll"])
    with pytest.raises(TypeError, match="needs a flow model with sample"):
        SampleConsistency(5, 0)(torch.nn.Linear(2, 1), None, None)


def test_density_grid_misses_mass_outside_its_box() -> None:
    class Normal(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return -0.5 * x.pow(2).sum(-1) - math.log(2 * math.pi)

    # P(|x| < 1)² for a standard normal: 0.6827² = 0.4661.
    assert DensityGrid(-1.0, 1.0, 400)(Normal(), None, None)["mass"] == pytest.approx(
        0.46606, abs=1e-4)


@pytest.mark.parametrize(("cls", "fields", "message"), [
    (config.DensityGridParams, {"low": 1.0, "high": 0.0}, "high must exceed low"),
    (config.RADFlowParams, {"hidden": []}, "hidden must list at least one width"),
    (config.RADFlowParams, {"min_slope": 0.0}, "min_slope"),
    (config.RingsParams, {"radii": [1.0, -2.0]}, "radii must list"),
    (config.GaussianGridParams, {"sigma": 0.0}, "sigma"),
])
def test_bad_parameters_name_the_field(cls, fields, message) -> None:
    with pytest.raises(ValueError, match=message):
        cls(**fields)
    assert attrs.has(cls)


def _tiny_run(tmp_path: Path, plot: bool) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(f"""
name = "tiny"
seeds = [0]
[train]
steps = 3
threads = 1
dtype = "float64"
[environment]
use = "gaussian-grid"
n_train = 64
n_test = 32
batch_size = 16
[model]
use = "rad-flow"
layers = 2
hidden = [8]
gating_hidden = [8]
[loss]
use = "flow-nll"
[optimizer]
use = "adam"
[evaluators.grid]
use = "density-grid"
resolution = 40
plot = {str(plot).lower()}
plot_samples = 50
""")
    return path


def test_plot_hook_writes_png_into_the_trial_directory(tmp_path: Path) -> None:
    api.run(_tiny_run(tmp_path, plot=True), out=tmp_path / "out", quiet=True)
    png = tmp_path / "out" / "tiny" / "trials" / "main" / "seed-0" / "grid.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_png_without_plot(tmp_path: Path) -> None:
    api.run(_tiny_run(tmp_path, plot=False), out=tmp_path / "out", quiet=True)
    names = {p.name for p in (tmp_path / "out").rglob("*.png")}
    assert "grid.png" not in names and names <= {"curves.png"}


def test_bad_run_file_is_one_line(tmp_path: Path) -> None:
    path = _tiny_run(tmp_path, plot=False)
    with pytest.raises(UserError, match=r"evaluators\.grid\.resolution"):
        api.validate(path, ["evaluators.grid.resolution=1"])
