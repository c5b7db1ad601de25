import pytest
import torch
from methodlab.components import Batch
from methodlab_sobolev.config import DistillationParams, SobolevFunctionParams
from methodlab_sobolev.environments import _teacher_data, function_data, input_jacobians
from methodlab_sobolev.evaluators import ValueMSE
from methodlab_sobolev.functions import FUNCTIONS
from methodlab_sobolev.loss import SobolevLoss


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_analytic_gradient_matches_autograd(name):
    function = FUNCTIONS[name]
    low = torch.tensor(function.low, dtype=torch.float64)
    high = torch.tensor(function.high, dtype=torch.float64)
    generator = torch.Generator().manual_seed(1)
    x = (low + (high - low) * torch.rand(64, 2, generator=generator, dtype=torch.float64))
    x.requires_grad_(True)
    values, gradients = function.evaluate(x)
    (expected,) = torch.autograd.grad(values.sum(), x)
    torch.testing.assert_close(gradients, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(("name", "minimum", "point"), [
    ("ackley", 0.0, (0.0, 0.0)), ("beale", 0.0, (3.0, 0.5)), ("booth", 0.0, (1.0, 3.0)),
    ("bukin", 0.0, (-10.0, 1.0)), ("mccormick", -1.9133, (-0.54719, -1.54719)),
    ("rosenbrock", 0.0, (1.0, 1.0)), ("styblinski-tang", -78.33234, (-2.903534, -2.903534)),
])
def test_known_minima(name, minimum, point):
    value, _ = FUNCTIONS[name].evaluate(torch.tensor([point], dtype=torch.float64))
    assert float(value[0]) == pytest.approx(minimum, abs=1e-4)


def test_standardised_gradients_follow_the_chain_rule():
    params = SobolevFunctionParams("styblinski-tang", n_train=30, n_test=10)
    raw = function_data(SobolevFunctionParams("styblinski-tang", n_train=30, n_test=10,
                                              standardise=False), 0)["train"]
    scaled = function_data(params, 0)["train"]
    std = raw.targets[:, 0].std()
    torch.testing.assert_close(scaled.inputs, raw.inputs / 5.0)
    torch.testing.assert_close(scaled.targets[:, 1:], raw.targets[:, 1:] * 5.0 / std)
    assert float(scaled.targets[:, 0].mean()) == pytest.approx(0.0, abs=1e-12)


def test_same_seed_same_data_and_seeds_differ():
    params = SobolevFunctionParams("beale", n_train=5, n_test=5)
    assert torch.equal(function_data(params, 0)["train"].inputs,
                       function_data(params, 0)["train"].inputs)
    assert not torch.equal(function_data(params, 0)["train"].inputs,
                           function_data(params, 1)["train"].inputs)


def _quadratic_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 7), torch.nn.Tanh(), torch.nn.Linear(7, 4))


def test_full_jacobian_term_matches_manual():
    model = _quadratic_model().double()
    x = torch.randn(5, 3, dtype=torch.float64)
    jac = torch.func.vmap(torch.func.jacrev(model))(x)  # (B, C, D)
    target_values = torch.randn(5, 4, dtype=torch.float64)
    target_jac = torch.randn(5, 4, 3, dtype=torch.float64)
    targets = torch.cat([target_values, target_jac.flatten(1)], -1)
    expected = ((model(x) - target_values).pow(2).sum(-1).mean()
                + 0.5 * (jac - target_jac).pow(2).sum((1, 2)).mean())
    got = SobolevLoss(weight=0.5)(model, Batch(x, targets))
    torch.testing.assert_close(got, expected)


def test_weight_zero_is_plain_regression():
    model = _quadratic_model().double()
    x = torch.randn(5, 3, dtype=torch.float64)
    targets = torch.randn(5, 4 + 12, dtype=torch.float64)
    expected = (model(x) - targets[:, :4]).pow(2).sum(-1).mean()
    torch.testing.assert_close(SobolevLoss(weight=0.0)(model, Batch(x, targets)), expected)


def test_projections_are_unbiased_for_the_frobenius_term():
    model = _quadratic_model().double()
    x = torch.randn(4, 3, dtype=torch.float64)
    targets = torch.cat([model(x).detach(), torch.randn(4, 12, dtype=torch.float64)], -1)
    full = SobolevLoss(weight=1.0)(model, Batch(x, targets))
    torch.manual_seed(0)
    projected = SobolevLoss(weight=1.0, projections=4000)(model, Batch(x, targets))
    assert projected.item() == pytest.approx(full.item(), rel=0.05)


def test_loss_is_differentiable_and_works_under_no_grad():
    model = _quadratic_model().double()
    x = torch.randn(4, 3, dtype=torch.float64)
    targets = torch.randn(4, 16, dtype=torch.float64)
    loss = SobolevLoss(weight=1.0)
    loss(model, Batch(x, targets)).backward()
    assert all(p.grad is not None for p in model.parameters())
    with torch.no_grad():
        assert torch.isfinite(loss(model, Batch(x, targets)))


def test_value_mse_of_the_true_function_is_zero():
    # A "model" that is the standardised function itself has zero value and gradient error.
    params = SobolevFunctionParams("rosenbrock", n_train=10, n_test=10, standardise=False)
    split = function_data(params, 0)

    class Exact(torch.nn.Module):
        def forward(self, x):
            return FUNCTIONS["rosenbrock"].evaluate(x)[0].unsqueeze(-1)

    class Env:
        def split(self, name):
            yield split[name]

    metrics = ValueMSE("test")(Exact(), Env(), None)
    assert metrics["mse"] == pytest.approx(0.0, abs=1e-20)
    assert metrics["gradient_mse"] == pytest.approx(0.0, abs=1e-16)


def test_teacher_targets_are_its_logits_and_jacobians():
    params = DistillationParams(teacher_hidden=(8,), teacher_steps=3, n_transfer=5,
                                n_perturbed=2, n_test=7)
    data = _teacher_data(params)
    assert data["train"].inputs.shape == (15, 64)
    assert data["train"].targets.shape == (15, 10 + 640)
    assert data["test"].targets.shape == (7, 650)
    # Deterministic: a second build (cache cleared) gives the same teacher.
    _teacher_data.cache_clear()
    again = _teacher_data(params)
    assert torch.equal(data["test"].targets, again["test"].targets)


def test_input_jacobians_match_jacrev():
    model = _quadratic_model().double()
    x = torch.randn(3, 3, dtype=torch.float64)
    torch.testing.assert_close(input_jacobians(model, x),
                               torch.func.vmap(torch.func.jacrev(model))(x))


def test_normalise_divides_the_derivative_term_by_the_target_scale():
    model = _quadratic_model().double()
    x = torch.randn(4, 3, dtype=torch.float64)
    targets = torch.cat([model(x).detach(), 3.0 * torch.randn(4, 12, dtype=torch.float64)], -1)
    plain = SobolevLoss(weight=1.0)(model, Batch(x, targets))
    scale = targets[:, 4:].pow(2).sum(-1).mean()
    normalised = SobolevLoss(weight=1.0, normalise=True)(model, Batch(x, targets))
    torch.testing.assert_close(normalised, plain / scale)
