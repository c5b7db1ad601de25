import pytest
import torch
from methodlab import curvature
from methodlab_metric_free_natural_gradient.metric import energy_covariance_operator
from torch.func import functional_call, grad, vmap

from .conftest import joint_distribution, random_machine


def energy_gradients(model, states):
    """Per-configuration energy gradients dE(x)/dθ, shape (K, P), by vectorised autograd."""
    params = {n: p.detach() for n, p in model.named_parameters()}

    def energy(p, x):
        return functional_call(model, p, (x.unsqueeze(0),)).sum()

    grads = vmap(grad(energy), in_dims=(None, 0))(params, states)
    return torch.cat([g.reshape(len(states), -1) for g in grads.values()], dim=1)


class LogPartition(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self):
        return self.model.log_partition()


def exact_metric(model):
    """Cov_p[dE/dθ] by enumerating every joint configuration, shape (P, P)."""
    states, probs = joint_distribution(model)
    grads = energy_gradients(model, states)
    mean = probs @ grads
    centred = grads - mean
    return centred.T @ (probs.unsqueeze(1) * centred)


@pytest.mark.parametrize("sizes", [(3, 2), (3, 3, 2)], ids=str)
def test_exact_metric_is_the_hessian_of_log_partition(sizes):
    model = random_machine(sizes)
    params = list(model.parameters())
    names = [f"model.{n}" for n, _ in model.named_parameters()]
    wrapper = LogPartition(model)

    def log_z(flat):
        tensors = curvature.unflatten_like(flat, params)
        return functional_call(wrapper, dict(zip(names, tensors, strict=True)), ())

    hessian = torch.autograd.functional.hessian(log_z, curvature.flatten(params).detach())
    assert torch.allclose(hessian, exact_metric(model), atol=1e-10)


@pytest.mark.parametrize("sizes", [(3, 2), (3, 3, 2)], ids=str)
def test_product_equals_explicit_centred_gradient_formula(sizes):
    model = random_machine(sizes)
    torch.manual_seed(0)
    samples = model.gibbs_(5)
    grads = energy_gradients(model, samples)
    centred = grads - grads.mean(0)
    v = torch.randn(grads.shape[1], dtype=torch.float64)
    expected = centred.T @ (centred @ v) / len(samples)
    assert torch.allclose(energy_covariance_operator(model, samples)(v), expected, atol=1e-12)


def _assert_within_monte_carlo_error(model, samples, seed, *, centre=True):
    exact = exact_metric(model)
    torch.manual_seed(seed)
    v = torch.randn(exact.shape[0], dtype=torch.float64)
    target = exact @ v
    if centre:
        estimate = energy_covariance_operator(model, samples)(v)
    else:  # the uncentred second moment E[∂E ∂Eᵀ] v: a wrong metric, for a negative control
        raw = energy_gradients(model, samples)
        estimate = raw.T @ (raw @ v) / len(samples)
    # Standard error of the estimator from its per-sample terms ẽ_m (ẽ_mᵀ v), centred with
    # the exact mean: E‖error‖² = Σ_i Var_i / M.
    states, probs = joint_distribution(model)
    mean = probs @ energy_gradients(model, states)
    centred = energy_gradients(model, samples) - mean
    terms = centred * (centred @ v).unsqueeze(1)
    standard_error = terms.var(0).sum().div(len(samples)).sqrt()
    relative_error = (estimate - target).norm() / target.norm()
    relative_standard_error = standard_error / target.norm()
    assert relative_standard_error < 0.1  # the test has power: the MC error is small
    assert relative_error < 3 * relative_standard_error, (
        f"relative error {float(relative_error):.4f} exceeds 3 MC standard errors "
        f"({float(relative_standard_error):.4f} each)")


@pytest.mark.parametrize("sizes", [(3, 2), (3, 3, 2)], ids=str)
def test_sampled_product_matches_exact_covariance_with_exact_samples(sizes):
    model = random_machine(sizes)
    states, probs = joint_distribution(model)
    generator = torch.Generator().manual_seed(0)
    samples = states[torch.multinomial(probs, 4000, replacement=True, generator=generator)]
    _assert_within_monte_carlo_error(model, samples, seed=1)
    # The criterion has power: forgetting to centre the energy gradients fails it.
    with pytest.raises(AssertionError, match="exceeds 3 MC standard errors"):
        _assert_within_monte_carlo_error(model, samples, seed=1, centre=False)


@pytest.mark.parametrize("sizes", [(3, 2), (3, 3, 2)], ids=str)
def test_sampled_product_matches_exact_covariance_with_gibbs_chains(sizes):
    model = random_machine(sizes, chains=4000, scale=0.5)
    torch.manual_seed(0)
    samples = model.gibbs_(50)
    _assert_within_monte_carlo_error(model, samples, seed=1)


def test_operator_is_symmetric_positive_semidefinite():
    model = random_machine((4, 3, 2), chains=30)
    torch.manual_seed(0)
    metric = energy_covariance_operator(model, model.gibbs_(2))
    size = sum(p.numel() for p in model.parameters())
    dense = torch.stack([metric(e) for e in torch.eye(size, dtype=torch.float64)])
    assert torch.allclose(dense, dense.T, atol=1e-12)
    assert torch.linalg.eigvalsh(dense).min() > -1e-10
    # Rank at most M - 1: the centred gradients of M samples span M - 1 directions.
    assert torch.linalg.matrix_rank(dense, atol=1e-8) <= 29


def test_params_subset_layout():
    model = random_machine((3, 2))
    torch.manual_seed(0)
    samples = model.gibbs_(2)
    weights = [model.weights[0]]
    v = torch.randn(6, dtype=torch.float64)
    full = torch.cat([v, torch.zeros(3 + 2, dtype=torch.float64)])
    assert torch.allclose(energy_covariance_operator(model, samples, weights)(v),
                          energy_covariance_operator(model, samples)(full)[:6], atol=1e-12)
