"""The exact dynamics: losses against the closed-form flow, the loop against Euler, dt."""

import math

import attrs
import pytest
import torch
from methodlab.components import EnvInfo, Environment
from methodlab.runfile import validate_document
from methodlab.runner import Trial
from methodlab_ray_interference.config import BanditDynamicsParams, InterferenceLogitsParams
from methodlab_ray_interference.dynamics import context_directions, flow, interference_gram
from methodlab_ray_interference.evaluators import BanditDynamics
from methodlab_ray_interference.exact import (
    ExactBandit,
    InterferenceLogits,
    build_interference_logits,
)
from methodlab_ray_interference.losses import ExpectedReward, GoodArmLikelihood


def _success_rate(net: InterferenceLogits, loss) -> tuple[torch.Tensor, torch.Tensor]:
    """J and dJ/dt = (dJ/dθ)(−∇L) by autograd, for all contexts."""
    env = ExactBandit(len(net.theta), device="cpu", dtype=torch.float64)
    gradient = torch.autograd.grad(loss(net, env.batch), net.theta)[0]
    success = torch.sigmoid(net.logits())
    jacobian = torch.autograd.functional.jacobian(
        lambda theta: torch.sigmoid(net.directions @ theta), net.theta.detach())
    return success.detach(), jacobian @ -gradient


@pytest.mark.parametrize(("loss", "signal"), [(ExpectedReward(), "on-policy"),
                                              (GoodArmLikelihood(), "supervised")])
@pytest.mark.parametrize("rho", [-0.3, 0.0, 0.5])
def test_loss_gradients_give_the_closed_form_flow(loss, signal, rho):
    net = InterferenceLogits((0.7, -1.2, -2.5), rho).double()
    success, rate = _success_rate(net, loss)
    expected = flow(success, interference_gram(3, rho), signal)
    torch.testing.assert_close(rate, expected, rtol=1e-10, atol=1e-12)


def test_directions_factor_the_gram_matrix_and_start_is_exact():
    w = context_directions(4, -0.2)
    torch.testing.assert_close(w @ w.T, interference_gram(4, -0.2))
    net = InterferenceLogits((0.0, -1.0, -2.0, -3.0), -0.2).double()
    torch.testing.assert_close(net.logits().detach(),
                               torch.tensor([0.0, -1.0, -2.0, -3.0], dtype=torch.float64))
    assert torch.equal(context_directions(3, 0.0), torch.eye(3, dtype=torch.float64))


def _euler(start, rho, signal, dt, steps):
    """Euler steps of the logits ODE ḋ = G g(σ(d)) (the paper's dynamics in d-space)."""
    gram = interference_gram(len(start), rho)
    d = torch.tensor(start, dtype=torch.float64)
    for _ in range(steps):
        j = torch.sigmoid(d)
        d = d + dt * (gram @ (j * (1 - j) if signal == "on-policy" else 1 - j))
    return d


def _document(loss: str, steps: int, lr: float) -> dict:
    return {
        "name": "t", "seeds": [0],
        "train": {"steps": steps, "dtype": "float64", "eval_every": 1},
        "environment": {"use": "ray-interference:exact-bandit", "contexts": 2},
        "model": {"use": "ray-interference:interference-logits", "start": [0.0, -3.0],
                  "interference": -0.7},
        "loss": {"use": f"ray-interference:{loss}"},
        "optimizer": {"use": "sgd", "lr": lr},
        "evaluators": {"dyn": {"use": "ray-interference:bandit-dynamics"}},
    }


@pytest.mark.parametrize(("loss", "signal"), [("expected-reward", "on-policy"),
                                              ("good-arm-likelihood", "supervised")])
def test_sgd_in_the_generic_loop_is_euler_integration(loss, signal):
    spec = validate_document(_document(loss, 50, 0.5), "<test>")
    trial = Trial(spec.arms[0], seed=0)
    for _ in range(50):
        trial.train_step()
    expected = _euler((0.0, -3.0), -0.7, signal, 0.5, 50)
    torch.testing.assert_close(trial.model.logits().detach(), expected, rtol=1e-12,
                               atol=1e-12)
    assert trial.env.updates == 50


def _time_to_solve(dt: float, horizon: float = 2000.0) -> float:
    gram = interference_gram(2, -0.7)
    d = torch.tensor([0.0, -3.0], dtype=torch.float64)
    for step in range(int(horizon / dt)):
        j = torch.sigmoid(d)
        if bool((j >= 0.9).all()):
            return step * dt
        d = d + dt * (gram @ (j * (1 - j)))
    return math.inf


def test_dt_of_the_run_files_is_accurate():
    # The run files use dt = 0.5; a 10x finer step moves the K = 2 on-policy time to solve
    # (about 1,494 time units) by less than 0.5 %.
    coarse, fine = _time_to_solve(0.5), _time_to_solve(0.05)
    assert 1400 < fine < 1600
    assert abs(coarse - fine) / fine < 0.005


def test_evaluator_first_passage_and_lower_bound():
    env = ExactBandit(2, device="cpu", dtype=torch.float64)
    evaluator = BanditDynamics(0.9, *env.contexts())
    net = InterferenceLogits((0.0, -3.0), -0.7).double()
    env.updates = 7
    unsolved = evaluator(net, env, ExpectedReward())
    assert unsolved["solved"] == 0.0 and unsolved["solved_all"] == 0.0
    assert unsolved["updates_to_solve"] == 7.0  # a lower bound while unsolved
    assert unsolved["j1"] == pytest.approx(0.5) and unsolved["j2"] == pytest.approx(0.0474259)
    with torch.no_grad():
        net.theta.copy_(torch.linalg.solve(net.directions,
                                           torch.tensor([3.0, 3.0], dtype=torch.float64)))
    env.updates = 12
    assert evaluator(net, env, ExpectedReward())["updates_to_solve"] == 12.0
    env.updates = 30
    later = evaluator(net, env, ExpectedReward())
    assert later["updates_to_solve"] == 12.0 and later["solved"] == 2.0
    assert later["objective"] == pytest.approx(torch.sigmoid(torch.tensor(3.0)).item())


def test_speed_is_near_zero_by_the_on_policy_saddle():
    # Near J = (1, 0), a fixed point of the on-policy flow, the on-policy objective barely
    # moves (3.4e-8 per time unit), while the supervised signal still pulls J2 up (5.0e-5).
    env = ExactBandit(2, device="cpu", dtype=torch.float64)
    net = InterferenceLogits((8.0, -8.0), -0.7).double()
    on_policy = BanditDynamics(0.9, *env.contexts())(net, env, ExpectedReward())["speed"]
    supervised = BanditDynamics(0.9, *env.contexts())(net, env, GoodArmLikelihood())["speed"]
    assert 0 < on_policy < 1e-7
    assert supervised > 1000 * on_policy


def test_bad_parameters_are_one_line_errors():
    with pytest.raises(ValueError, match=r"'interference' must lie in \(-0.5, 1\)"):
        InterferenceLogitsParams(start=(0.0, 0.0, 0.0), interference=-0.6)
    with pytest.raises(ValueError, match="'start' needs one logit per context"):
        InterferenceLogitsParams(start=())
    with pytest.raises(ValueError, match="'figure' must be a plain file name"):
        BanditDynamicsParams(figure="out/x.png")

    class Three(Environment):
        info = EnvInfo(3, 2, "bandit")

    with pytest.raises(ValueError, match="'start' has 2 logits but the environment has 3"):
        build_interference_logits(InterferenceLogitsParams(), env=Three())
    assert attrs.evolve(InterferenceLogitsParams(), interference=0.99).interference == 0.99
