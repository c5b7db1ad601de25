"""The curved-boundary environment, the models and the learned-order evaluator."""

from __future__ import annotations

import math

import pytest
import torch
from methodlab_lp_units.config import CurvedBoundaryParams, LpMLPParams, MaxoutMLPParams
from methodlab_lp_units.environments import build_curved_boundary, curved_boundary_points
from methodlab_lp_units.evaluators import LpOrders
from methodlab_lp_units.lp import LpPool
from methodlab_lp_units.models import Maxout, build_lp_mlp, build_maxout_mlp


def build_env(**overrides):
    params = CurvedBoundaryParams(**{"n_train": 400, "n_test": 100, **overrides})
    return build_curved_boundary(params, seed=3, device="cpu", dtype=torch.float64)


def test_labels_follow_the_wavy_circle():
    batch = curved_boundary_points(2000, torch.Generator().manual_seed(1))
    x, y = batch.inputs, batch.targets
    assert x.abs().max() <= 1.5
    r, theta = x.norm(dim=1), torch.atan2(x[:, 1], x[:, 0])
    boundary = 1 + 0.3 * torch.sin(3 * theta)
    assert torch.equal(y, (r < boundary).long())
    # Both classes, in proportion to the areas: π(1 + 0.3²/2) of the 3 × 3 box.
    assert float(y.double().mean()) == pytest.approx(math.pi * 1.045 / 9, abs=0.03)


def test_data_depend_on_data_seed_not_on_the_run_seed():
    params = CurvedBoundaryParams(n_train=50, n_test=10)
    a = build_curved_boundary(params, seed=0, device="cpu", dtype=torch.float64)
    b = build_curved_boundary(params, seed=9, device="cpu", dtype=torch.float64)
    assert torch.equal(a.train.inputs, b.train.inputs)
    c = build_env(n_train=50, n_test=10, data_seed=1)
    assert not torch.equal(a.train.inputs, c.train.inputs)
    test = next(iter(a.split("test")))
    assert test.inputs.shape == (10, 2) and not torch.equal(test.inputs, a.train.inputs[:10])


def test_environment_info_and_batches():
    env = build_env(batch_size=32)
    assert (env.info.in_features, env.info.out_features, env.info.train_size) == (2, 2, 400)
    assert env.train_batch(0, None).inputs.shape == (32, 2)
    assert env.train_batch(0, None).inputs.dtype == torch.float64


def test_lp_mlp_has_the_requested_units_and_parameters():
    torch.manual_seed(0)
    model = build_lp_mlp(LpMLPParams(hidden=(3,), group_size=2), env=build_env())
    assert isinstance(model[0], LpPool) and model[0].units == 3
    # 6 filters × 2 inputs, 6 centres, 3 orders, then 3 × 2 + 2 output weights.
    assert sum(p.numel() for p in model.parameters()) == 12 + 6 + 3 + 8
    assert model(torch.zeros(5, 2)).shape == (5, 2)


def test_maxout_is_the_max_over_pieces():
    torch.manual_seed(0)
    layer = Maxout(2, 3, pieces=4)
    x = torch.randn(5, 2)
    pieces = layer.linear(x).view(5, 3, 4)
    torch.testing.assert_close(layer(x), pieces.max(-1).values)
    model = build_maxout_mlp(MaxoutMLPParams(hidden=(3,), pieces=2), env=build_env())
    assert sum(p.numel() for p in model.parameters()) == 6 * 2 + 6 + 3 * 2 + 2


def test_large_orders_turn_lp_units_into_maxout_of_absolute_values():
    layer = LpPool(2, 3, group_size=2, p_init=1e4, learn_p=False).double()
    x = torch.randn(7, 2, dtype=torch.float64)
    a = (x @ layer.linear.weight.T - layer.centres).view(7, 3, 2)
    torch.testing.assert_close(layer(x), a.abs().amax(-1), rtol=2e-4, atol=0.0)


def test_orders_evaluator_reports_the_statistics_of_p():
    torch.manual_seed(0)
    model = torch.nn.Sequential(LpPool(4, 3), LpPool(3, 2), torch.nn.Linear(2, 2))
    with torch.no_grad():
        model[0].rho.copy_(torch.log(torch.expm1(torch.tensor([1.0, 2.0, 3.0]))))
        model[1].rho.copy_(torch.log(torch.expm1(torch.tensor([4.0, 5.0]))))
    metrics = LpOrders()(model, None, None)
    p = torch.tensor([2.0, 3.0, 4.0, 5.0, 6.0], dtype=torch.float64)
    assert metrics["p_mean"] == pytest.approx(4.0, rel=1e-6)
    assert metrics["p_std"] == pytest.approx(float(p.std(correction=0)), rel=1e-6)
    assert (metrics["p_min"], metrics["p_max"]) == (pytest.approx(2.0), pytest.approx(6.0))


def test_orders_evaluator_rejects_models_without_lp_units():
    with pytest.raises(ValueError, match="has no Lp units"):
        LpOrders()(torch.nn.Linear(2, 2), None, None)


def test_widths_are_validated():
    with pytest.raises(ValueError, match="at least one positive width"):
        LpMLPParams(hidden=())
    with pytest.raises(ValueError):
        LpMLPParams(p_init=1.0)
