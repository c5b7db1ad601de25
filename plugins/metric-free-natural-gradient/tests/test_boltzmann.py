import pytest
import torch
from methodlab_metric_free_natural_gradient.boltzmann import BoltzmannMachine, binary_states

from .conftest import joint_distribution, random_machine

SIZES = [(4, 3), (3, 3, 2), (2, 3, 2, 2), (3, 2, 3, 1, 2)]


@pytest.mark.parametrize("sizes", SIZES, ids=str)
def test_log_partition_matches_brute_force(sizes):
    model = random_machine(sizes)
    brute = torch.logsumexp(-model(binary_states(sum(sizes))), 0)
    assert torch.allclose(model.log_partition(), brute, rtol=0, atol=1e-12)


@pytest.mark.parametrize("sizes", SIZES, ids=str)
def test_log_likelihood_matches_brute_force_marginal(sizes):
    model = random_machine(sizes)
    states, probs = joint_distribution(model)
    visible = binary_states(sizes[0])
    # p(v) by summing the joint over the hidden units.
    codes = (states[:, : sizes[0]] * 2 ** torch.arange(sizes[0] - 1, -1, -1)).sum(1).long()
    marginal = torch.zeros(len(visible), dtype=torch.float64).index_add_(0, codes, probs)
    assert torch.allclose(model.log_likelihood(visible), marginal.log(), rtol=0, atol=1e-12)
    assert torch.isclose(torch.logsumexp(model.log_likelihood(visible), 0),
                         torch.tensor(0.0, dtype=torch.float64), atol=1e-12)


def test_uniform_machine():
    model = BoltzmannMachine((5, 3), chains=2, init_scale=0.0).double()
    assert torch.isclose(model.log_partition(), torch.tensor(8 * 0.6931471805599453,
                                                             dtype=torch.float64))


def test_rbm_mean_field_is_exact_posterior():
    model = random_machine((4, 3))
    visible = binary_states(4)
    states, probs = joint_distribution(model)
    for row, v in enumerate(visible):
        mask = (states[:, :4] == v).all(1)
        posterior = probs[mask] / probs[mask].sum()
        exact = posterior @ states[mask, 4:]
        assert torch.allclose(model.mean_field(visible)[row, 4:], exact, atol=1e-12)


def test_dbm_mean_field_is_a_fixed_point():
    model = random_machine((3, 3, 2), scale=0.3)
    model.mean_field_steps = 50
    visible = binary_states(3)
    q = model.mean_field(visible)
    layers = model.layers(q)
    for i in (1, 2):
        assert torch.allclose(torch.sigmoid(model.field(layers, i)), layers[i], atol=1e-10)


def test_gibbs_sampler_reaches_the_model_distribution():
    model = random_machine((3, 2), chains=4000, scale=1.0)
    torch.manual_seed(0)
    chains = model.gibbs_(30)
    codes = (chains[:, :3] * torch.tensor([4.0, 2.0, 1.0], dtype=torch.float64)).sum(1).long()
    empirical = torch.bincount(codes, minlength=8).double() / len(chains)
    exact = model.log_likelihood(binary_states(3)).exp()
    # Multinomial standard errors: sqrt(p (1 - p) / M) <= 0.008.
    assert (empirical - exact).abs().max() < 0.03


def test_gibbs_updates_chain_buffer_deterministically():
    model = random_machine((4, 3))
    assert "chains" in model.state_dict() and "offsets" in model.state_dict()
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    first = model.gibbs_(3).clone()
    assert not torch.equal(first, saved["chains"])
    assert not torch.equal(model.sampler_state, saved["sampler_state"])
    model.load_state_dict(saved)
    torch.manual_seed(123)  # the global generator plays no part
    assert torch.equal(model.gibbs_(3), first)
    assert set(first.unique().tolist()) <= {0.0, 1.0}


def test_sampler_is_seeded_by_the_global_generator():
    torch.manual_seed(5)
    a = BoltzmannMachine((4, 3), chains=6)
    torch.manual_seed(5)
    b = BoltzmannMachine((4, 3), chains=6)
    torch.manual_seed(6)
    c = BoltzmannMachine((4, 3), chains=6)
    assert torch.equal(a.sampler_state, b.sampler_state)
    assert not torch.equal(a.sampler_state, c.sampler_state)
    assert torch.equal(a.gibbs_(2), b.gibbs_(2))


def test_rejects_single_layer():
    with pytest.raises(ValueError, match="at least two"):
        BoltzmannMachine((4,), chains=2)
