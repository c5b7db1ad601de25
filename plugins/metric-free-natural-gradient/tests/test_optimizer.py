import copy
import io

import pytest
import torch
from methodlab import curvature
from methodlab.components import Batch
from methodlab.step import StepContext
from methodlab_metric_free_natural_gradient.config import MFNGParams
from methodlab_metric_free_natural_gradient.metric import energy_covariance_operator
from methodlab_metric_free_natural_gradient.optimizer import MetricFreeNaturalGradient, build
from methodlab_metric_free_natural_gradient.sml import StochasticMaximumLikelihood

from .conftest import random_machine

DATA = torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0], [1.0, 0.0, 1.0, 0.0]],
                    dtype=torch.float64)


def setup(**options):
    model = random_machine((4, 3, 2), chains=40, scale=0.1)
    optimizer = MetricFreeNaturalGradient(model.parameters(), **options)
    context = StepContext(model=model, loss=StochasticMaximumLikelihood(2), batch=Batch(DATA))
    return model, optimizer, context


def test_update_is_the_damped_natural_direction():
    model, optimizer, context = setup(lr=0.3, damping=0.1, max_iter=200, tol=1e-12)
    before = curvature.flatten(model.parameters()).detach().clone()
    replay = copy.deepcopy(model)  # replays the step by hand, chains and sampler included
    optimizer.step(context.closure_for(optimizer), context=context)
    after = curvature.flatten(model.parameters()).detach()

    loss = StochasticMaximumLikelihood(2)(replay, Batch(DATA))
    gradient = curvature.flatten(torch.autograd.grad(loss, list(replay.parameters())))
    metric = energy_covariance_operator(replay, replay.chains)
    size = len(gradient)
    dense = torch.stack([metric(e) for e in torch.eye(size, dtype=torch.float64)])
    direction = torch.linalg.solve(dense + 0.1 * torch.eye(size, dtype=torch.float64), gradient)
    assert torch.allclose(after, before - 0.3 * direction, atol=1e-9)
    assert optimizer.state[optimizer._params[0]]["n_iter"] == 1


def test_state_round_trips_through_weights_only_load():
    model, optimizer, context = setup(warm_start=True, max_iter=5)
    for _ in range(2):
        optimizer.step(context.closure_for(optimizer), context=context)
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    fresh = MetricFreeNaturalGradient(model.parameters(), warm_start=True, max_iter=5)
    fresh.load_state_dict(state)
    restored = fresh.state[fresh._params[0]]
    assert restored["n_iter"] == 2 and restored["metric_products"] > 0
    assert torch.equal(restored["direction"],
                       optimizer.state[optimizer._params[0]]["direction"])


def test_training_raises_the_exact_likelihood():
    model, optimizer, context = setup(lr=0.3)
    before = float(model.log_likelihood(DATA).mean().detach())
    torch.manual_seed(0)
    for _ in range(40):
        optimizer.step(context.closure_for(optimizer), context=context)
    assert float(model.log_likelihood(DATA).mean().detach()) > before + 0.5


def test_step_needs_a_context():
    _, optimizer, context = setup()
    with pytest.raises(ValueError, match="StepContext"):
        optimizer.step(context.closure_for(optimizer))


@pytest.mark.parametrize(("option", "value"), [("lr", 0.0), ("damping", -1.0),
                                               ("max_iter", 0), ("tol", -1.0)])
def test_invalid_hyperparameters(option, value):
    model = random_machine((3, 2))
    with pytest.raises(ValueError, match="Invalid"):
        MetricFreeNaturalGradient(model.parameters(), **{option: value})


def test_single_parameter_group_only():
    model = random_machine((3, 2))
    with pytest.raises(ValueError, match="parameter groups"):
        MetricFreeNaturalGradient([{"params": [model.weights[0]]},
                                   {"params": list(model.biases)}])


def test_build_from_params():
    model = random_machine((3, 2))
    optimizer = build(MFNGParams(lr=0.2, damping=0.5), model=model)
    assert optimizer.needs_step_context
    assert optimizer.param_groups[0]["lr"] == 0.2 and optimizer.param_groups[0]["damping"] == 0.5
