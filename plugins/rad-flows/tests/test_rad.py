"""The exactness of RAD layers and flows: piecewise invertibility, masked gating
normalisation, integration to one, and sampling-path vs forward log-densities."""

from __future__ import annotations

import math

import pytest
import torch
from methodlab_rad_flows.coupling import standard_normal_log_prob
from methodlab_rad_flows.evaluators import DensityGrid
from methodlab_rad_flows.rad import (
    PIECES,
    NShape,
    RADCoupling,
    RADFlow,
    masked_log_softmax,
    sample_label,
)
from methodlab_rad_flows.realnvp import RealNVP

torch.set_num_threads(1)
F64 = torch.float64


def _shapes(n: int, seed: int) -> NShape:
    """``n`` random N-shaped maps (one transformed feature each), with varied widths and
    slopes."""
    generator = torch.Generator().manual_seed(seed)
    raw = torch.randn(n, 1, 6, generator=generator, dtype=F64) * 1.5
    return NShape.from_raw(raw, 1e-3)


def _piece_points(shape: NShape, k: int, generator: torch.Generator) -> torch.Tensor:
    """A point strictly inside piece ``k`` of every map: (n, 1)."""
    u = torch.rand(shape.a.shape, generator=generator, dtype=F64) * 0.98 + 0.01
    width = shape.b - shape.a
    return (shape.a - 5 * u, shape.a + u * width, shape.b + 5 * u)[k]


@pytest.mark.parametrize("k", range(PIECES))
def test_each_piece_is_inverted_exactly(k: int) -> None:
    shape = _shapes(500, seed=k)
    x = _piece_points(shape, k, torch.Generator().manual_seed(10 + k))
    labels, z, log_slope = shape.forward(x)
    assert bool((labels == k).all())
    assert bool(shape.reachable(z)[..., k].all()), "a piece must reach its own image"
    x_back, log_slope_back = shape.inverse(z, labels)
    torch.testing.assert_close(x_back, x, rtol=0, atol=1e-11)
    torch.testing.assert_close(log_slope_back, log_slope, rtol=0, atol=0)
    torch.testing.assert_close(log_slope, shape.slopes[..., k].abs().log(), rtol=0, atol=0)


def test_map_is_continuous_and_n_shaped() -> None:
    shape = _shapes(200, seed=3)
    s1, s2, s3 = shape.slopes.unbind(-1)
    assert bool((s1 > 0).all() and (s2 < 0).all() and (s3 > 0).all())
    assert bool((shape.a < shape.b).all())
    eps = 1e-9
    for point in (shape.a, shape.b):
        left = shape.forward(point - eps)[1]
        right = shape.forward(point + eps)[1]
        torch.testing.assert_close(left, right, rtol=0, atol=1e-6)


def test_preimages_per_level_are_one_or_three() -> None:
    shape = _shapes(300, seed=4)
    inside = (shape.valley + shape.t) / 2  # between g(b) and g(a): all three pieces
    below, above = shape.valley - 1.0, shape.t + 1.0
    assert bool(shape.reachable(inside).all())
    torch.testing.assert_close(shape.reachable(below)[..., 0].long(), torch.ones_like(below).long())
    assert int(shape.reachable(below).sum()) == below.numel()
    assert int(shape.reachable(above).sum()) == above.numel()
    assert bool(shape.reachable(above)[..., 2].all())
    # Every preimage that inverse returns maps back to the level, on its own piece.
    for k in range(PIECES):
        labels = torch.full(inside.shape, k)
        x, _ = shape.inverse(inside, labels)
        k_back, z_back, _ = shape.forward(x)
        assert bool((k_back == k).all())
        torch.testing.assert_close(z_back, inside, rtol=0, atol=1e-10)


def test_masked_gating_is_normalised_over_reachable_pieces() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(1000, 3, 3, generator=generator, dtype=F64) * 4
    mask = torch.rand(1000, 3, 3, generator=generator) < 0.5
    mask[..., 0] |= ~mask.any(-1)  # at least one reachable piece, as reachable() guarantees
    log_p = masked_log_softmax(logits, mask)
    torch.testing.assert_close(log_p.exp().sum(-1), torch.ones(1000, 3, dtype=F64))
    assert bool((log_p[~mask] == float("-inf")).all())
    # Reachable pieces keep the softmax ratios of their logits.
    both = mask[..., 0] & mask[..., 2]
    ratio = (log_p[..., 0] - log_p[..., 2])[both]
    torch.testing.assert_close(ratio, (logits[..., 0] - logits[..., 2])[both])


def test_gumbel_sampling_follows_masked_probabilities() -> None:
    log_p = masked_log_softmax(torch.tensor([0.0, 1.0, 2.0], dtype=F64),
                               torch.tensor([True, False, True])).expand(200_000, 3)
    k = sample_label(log_p, torch.Generator().manual_seed(0))
    assert int((k == 1).sum()) == 0
    expected = 1 / (1 + math.e ** 2)
    assert abs(float((k == 0).double().mean()) - expected) < 0.005


def _one_dimensional_density(x: torch.Tensor, shape: NShape, masked: bool) -> torch.Tensor:
    r"""p(x) = N(g(x)) p(φ(x) | g(x)) |g'(x)| of a 1-D RAD layer with a gating that depends
    non-linearly on z (logits sin 3z, z², −z)."""
    k, z, log_slope = shape.forward(x)
    logits = torch.stack([torch.sin(3 * z), z.pow(2) / 4, -z], -1)
    mask = shape.reachable(z) if masked else torch.ones_like(logits, dtype=torch.bool)
    log_gate = masked_log_softmax(logits, mask).gather(-1, k.unsqueeze(-1)).squeeze(-1)
    return (standard_normal_log_prob(z.unsqueeze(-1)) + log_gate + log_slope).exp()


def _integrate(density: torch.Tensor, h: float) -> float:
    return float(density.sum()) * h


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_dimensional_rad_density_integrates_to_one(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    raw = torch.randn(1, 1, 6, generator=generator, dtype=F64)
    shape = NShape.from_raw(raw, 1e-3)
    # The preimage of N(0, 1) lies within |z| <= 9 / min slope of the breakpoints.
    slope = float(shape.slopes.abs().min())
    span = 9 / slope + float(shape.b - shape.a) + abs(float(shape.a)) + abs(float(shape.t)) / slope
    h = 2 * span / 2_000_000
    x = (-span + h * (torch.arange(2_000_000, dtype=F64) + 0.5)).reshape(-1, 1)
    shape = NShape(*(t.expand(len(x), *t.shape[1:]) for t in shape))
    mass = _integrate(_one_dimensional_density(x, shape, masked=True), h)
    assert abs(mass - 1) < 1e-4, mass
    unmasked = _integrate(_one_dimensional_density(x, shape, masked=False), h)
    assert abs(unmasked - 1) > 1e-2, "dropping the mask must break normalisation"


def test_layer_log_slope_is_the_autograd_log_det() -> None:
    torch.manual_seed(0)
    layer = RADCoupling(2, 1, [16], [16], 1e-3).double()
    x = torch.randn(20, 2, dtype=F64)
    shape = layer.pieces(x[:, layer.conditioning])
    _, _, log_slope = shape.forward(x[:, layer.transformed])
    for b in range(len(x)):
        jacobian = torch.autograd.functional.jacobian(lambda v: layer(v.unsqueeze(0))[0][0],
                                                      x[b])
        torch.testing.assert_close(torch.linalg.det(jacobian).abs().log(), log_slope[b].sum())


def test_rad_layer_round_trip_on_inferred_pieces() -> None:
    torch.manual_seed(1)
    layer = RADCoupling(3, 0, [16], [16], 1e-3).double()
    x = torch.randn(200, 3, dtype=F64) * 2
    y, _ = layer(x)
    assert bool(torch.equal(y[:, layer.conditioning], x[:, layer.conditioning]))
    torch.testing.assert_close(layer.invert_piece(y, layer.labels(x)), x, rtol=0, atol=1e-10)


@pytest.mark.parametrize("flow", ["rad", "realnvp"])
def test_sample_log_prob_matches_forward(flow: str) -> None:
    torch.manual_seed(2)
    model = (RADFlow(2, 4, [16], [16], 1e-3) if flow == "rad" else RealNVP(2, 4, [16])).double()
    x, log_prob = model.sample(3000, torch.Generator().manual_seed(0))
    assert x.shape == (3000, 2)
    with torch.no_grad():
        gap = (model(x) - log_prob).abs().max()
    assert float(gap) < 1e-10


def test_rad_flow_mass_on_a_grid_is_one() -> None:
    torch.manual_seed(3)
    model = RADFlow(2, 2, [8], [8], 1e-3).double()
    x, _ = model.sample(20_000, torch.Generator().manual_seed(1))
    bound = float(x.abs().max()) * 1.5
    mass = DensityGrid(-bound, bound, 600)(model, None, None)["mass"]
    assert abs(mass - 1) < 0.01, mass


def test_rad_samples_follow_its_density() -> None:
    """Exact sampling: the fraction of samples in a box equals the density's mass there."""
    torch.manual_seed(4)
    model = RADFlow(2, 2, [8], [8], 1e-3).double()
    x, _ = model.sample(40_000, torch.Generator().manual_seed(2))
    box = DensityGrid(-0.5, 1.0, 300)(model, None, None)["mass"]
    inside = ((x >= -0.5) & (x <= 1.0)).all(-1).double().mean()
    assert abs(float(inside) - box) < 4 * math.sqrt(box * (1 - box) / len(x)) + 2e-3


def test_labels_one_per_layer() -> None:
    model = RADFlow(2, 3, [8], [8], 1e-3)
    labels = model.labels(torch.randn(7, 2))
    assert [tuple(k.shape) for k in labels] == [(7, 1)] * 3
    assert all(bool(((k >= 0) & (k < PIECES)).all()) for k in labels)
