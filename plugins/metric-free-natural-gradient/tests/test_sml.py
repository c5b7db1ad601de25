import torch
from methodlab.components import Batch
from methodlab_metric_free_natural_gradient.boltzmann import binary_states
from methodlab_metric_free_natural_gradient.sml import StochasticMaximumLikelihood

from .conftest import random_machine


def test_rbm_positive_phase_gradient_is_exact():
    model = random_machine((4, 3))
    data = binary_states(4)[[1, 6, 9, 15]]
    params = list(model.parameters())
    surrogate = torch.autograd.grad(model(model.mean_field(data)).mean(), params)
    exact = torch.autograd.grad(-model.log_unnormalised(data).mean(), params)
    for a, b in zip(surrogate, exact, strict=True):
        assert torch.allclose(a, b, atol=1e-12)


def test_exact_negative_phase_gives_the_likelihood_gradient():
    # With the model expectation in place of the chains, the surrogate's gradient is exactly
    # the gradient of the negative log-likelihood (RBM: mean-field is the exact posterior).
    model = random_machine((4, 3))
    data = binary_states(4)[[1, 6, 9, 15]]
    params = list(model.parameters())
    states = binary_states(7)
    probs = torch.softmax(-model(states), 0).detach()
    surrogate = model(model.mean_field(data)).mean() - probs @ model(states)
    nll = -model.log_likelihood(data).mean()
    for a, b in zip(torch.autograd.grad(surrogate, params), torch.autograd.grad(nll, params),
                    strict=True):
        assert torch.allclose(a, b, atol=1e-12)


def test_chains_advance_only_in_training_mode():
    model = random_machine((4, 3, 2), chains=16)
    loss = StochasticMaximumLikelihood(gibbs_steps=3)
    batch = Batch(binary_states(4)[:5])
    model.eval()
    before = model.chains.clone()
    value = loss(model, batch)
    assert torch.equal(model.chains, before) and value.dim() == 0
    model.train()
    torch.manual_seed(0)
    loss(model, batch)
    assert not torch.equal(model.chains, before)
