import pytest
import torch
from methodlab_aux_loss_similarity.config import AuxDigitsParams, ToyQuadraticsParams
from methodlab_aux_loss_similarity.similarity import GradientSimilarity
from methodlab_aux_loss_similarity.toy import ConvergenceEvaluator, Point, ToyQuadratics


def _descend(mode, start, aux_centre, steps=600):
    env = ToyQuadratics(ToyQuadraticsParams(aux_centre=aux_centre), torch.float64)
    point = Point(2).double()
    with torch.no_grad():
        point.theta.copy_(torch.tensor(start, dtype=torch.float64))
    optimizer = torch.optim.SGD(point.parameters(), lr=0.01)
    combine = GradientSimilarity(mode)
    for step in range(steps):
        env.train_batch(step, point)
        optimizer.zero_grad()
        main, auxiliaries = env.objectives(point, None)
        combine(main, auxiliaries, point).backward()
        optimizer.step()
    return ConvergenceEvaluator()(point, env, None)


def test_naive_sum_ends_at_the_midpoint_and_gating_at_the_main_minimum():
    start = (-3.0, 4.0)
    assert _descend("sum", start, (4.0, 4.0))["main"] == pytest.approx(8.0, rel=1e-6)
    for mode in ("weighted", "unweighted"):
        assert _descend(mode, start, (4.0, 4.0))["main"] < 1e-6


def test_a_helpful_auxiliary_shortens_convergence():
    start = (-3.0, 4.0)
    alone = _descend("main-only", start, (0.5, 0.0))["converged_step"]
    gated = _descend("weighted", start, (0.5, 0.0))["converged_step"]
    # Main alone: 25 * 0.98^(2k) < 0.1 needs k = 137 updates.
    assert alone == 137
    assert gated < alone


def test_convergence_is_a_lower_bound_when_not_reached_and_survives_state():
    env = ToyQuadratics(ToyQuadraticsParams(), torch.float64)
    point = Point(2).double()
    with torch.no_grad():
        point.theta.fill_(3.0)
    for step in range(5):
        env.train_batch(step, point)
    assert ConvergenceEvaluator()(point, env, None)["converged_step"] == 6.0
    with torch.no_grad():
        point.theta.zero_()
    env.train_batch(5, point)
    restored = ToyQuadratics(ToyQuadraticsParams(), torch.float64)
    restored.load_state_dict(env.state_dict())
    assert ConvergenceEvaluator()(point, restored, None)["converged_step"] == 5.0


def test_bad_parameters_name_the_field():
    with pytest.raises(ValueError, match="'aux_centre' needs 2 numbers"):
        ToyQuadraticsParams(aux_centre=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="'aux_pool' = 'unlabelled' needs auxiliary"):
        AuxDigitsParams(aux_pool="unlabelled")
