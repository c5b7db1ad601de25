"""The conditional RBM and its four training losses against exact enumeration."""

import itertools

import pytest
import torch
from methodlab.components import Batch, EnvInfo
from methodlab.errors import UserError
from methodlab.supervised import SupervisedEnvironment
from methodlab_crbm_autotagger import losses, rbm
from methodlab_crbm_autotagger.config import CRBMLossParams, CRBMParams
from methodlab_crbm_autotagger.losses import CRBMLikelihood, exact_nll, pseudo_likelihood_nll
from methodlab_crbm_autotagger.models import build as build_model
from methodlab_crbm_autotagger.rbm import ConditionalRBM, label_states


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def machine(in_features=3, tags=3, hidden=4, *, scale=0.7, direct=True, seed=0, **kwargs):
    """A float64 CRBM with non-trivial weights and biases."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ConditionalRBM(in_features, tags, hidden, direct=direct, **kwargs).double()
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(scale * torch.randn_like(p))
    return model


def inputs_and_labels(model, batch=5, seed=1):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, model.in_features, generator=generator, dtype=torch.float64)
    y = torch.bernoulli(torch.full((batch, model.tags), 0.4, dtype=torch.float64),
                        generator=generator)
    return x, y


def grads(model, value):
    model.zero_grad(set_to_none=True)
    value.backward()
    return {n: p.grad.clone() for n, p in model.named_parameters()}


def test_free_energy_sums_the_hidden_units_out_of_the_energy():
    model = machine()
    x, y = inputs_and_labels(model)
    hiddens = torch.tensor(list(itertools.product([0.0, 1.0], repeat=model.hidden)),
                           dtype=torch.float64)
    with torch.no_grad():
        for xi, yi in zip(x, y, strict=True):
            energies = (-(yi @ model.b) - yi @ model.A @ xi
                        - hiddens @ (model.c + model.W @ xi) - hiddens @ model.U @ yi)
            expected = -torch.logsumexp(-energies, 0)
            assert torch.allclose(model.free_energy(xi[None], yi[None])[0], expected)


def test_enumeration_normalises_and_matches_exact_nll():
    model = machine(tags=4)
    x, _ = inputs_and_labels(model)
    with torch.no_grad():
        log_probs = model.log_prob_all(x)
        assert torch.allclose(log_probs.exp().sum(1), torch.ones(len(x), dtype=torch.float64))
        states = label_states(4)
        for index in (0, 5, 15):
            y = states[index].expand(len(x), 4)
            assert torch.allclose(-exact_nll(model, x, y), log_probs[:, index])
        marginals = model.exact_marginals(x)
    assert torch.allclose(marginals, log_probs.exp() @ states)


def test_enumeration_in_chunks_equals_one_block(monkeypatch):
    model = machine(tags=6, hidden=5)
    x, _ = inputs_and_labels(model, batch=7)
    with torch.no_grad():
        whole = model.log_partition(x)
        monkeypatch.setattr(rbm, "_CHUNK_ELEMENTS", 7 * 5 * 3)    # chunks of 3 label vectors
        chunked = model.log_partition(x)
    assert torch.allclose(whole, chunked)


def test_exact_gradient_is_data_minus_model_expectation_of_free_energy_gradient():
    model = machine()
    x, y = inputs_and_labels(model)
    exact = grads(model, exact_nll(model, x, y).mean())
    with torch.no_grad():
        weights = model.log_prob_all(x).exp()                   # (B, S)
    states = label_states(model.tags)
    expected = {}
    for i in range(len(x)):
        data = grads(model, model.free_energy(x[i:i + 1], y[i:i + 1])[0])
        for name, g in data.items():
            expected[name] = expected.get(name, 0) + g / len(x)
        for s, state in enumerate(states):
            negative = grads(model, model.free_energy(x[i:i + 1], state[None])[0])
            for name, g in negative.items():
                expected[name] = expected[name] - weights[i, s] * g / len(x)
    for name, g in exact.items():
        assert torch.allclose(g, expected[name]), name


def test_pseudo_likelihood_equals_exact_likelihood_for_one_tag():
    model = machine(tags=1)
    x, y = inputs_and_labels(model, batch=6)
    pl = pseudo_likelihood_nll(model, x, y)
    exact = exact_nll(model, x, y)
    assert torch.allclose(pl, exact)
    g_pl, g_exact = grads(model, pl.mean()), grads(model, exact.mean())
    for name in g_pl:
        assert torch.allclose(g_pl[name], g_exact[name]), name


def test_pseudo_likelihood_terms_are_the_exact_conditionals():
    model = machine(tags=4)
    x, y = inputs_and_labels(model, batch=3)
    with torch.no_grad():
        log_probs = model.log_prob_all(x)                         # (B, 16)
        states = label_states(4)
        expected = torch.zeros(len(x), dtype=torch.float64)
        for i in range(len(x)):
            for tag in range(4):
                same = (states[:, torch.arange(4) != tag] == y[i, torch.arange(4) != tag]).all(1)
                match = same & (states[:, tag] == y[i, tag])
                expected[i] -= log_probs[i, match].logsumexp(0) - log_probs[i, same].logsumexp(0)
        assert torch.allclose(pseudo_likelihood_nll(model, x, y), expected)
        # With four coupled tags the pseudo-likelihood is not the likelihood.
        assert not torch.allclose(pseudo_likelihood_nll(model, x, y), exact_nll(model, x, y))


def test_long_chain_cd_gradient_approaches_the_exact_gradient():
    model = machine(scale=0.5)
    x, y = inputs_and_labels(model, batch=4)
    exact = grads(model, exact_nll(model, x, y).mean())
    repeats = 4000
    batch = Batch(x.repeat(repeats, 1), y.repeat(repeats, 1))
    torch.manual_seed(0)
    cd = grads(model, CRBMLikelihood("cd", cd_steps=20)(model, batch))
    torch.manual_seed(0)
    cd1 = grads(model, CRBMLikelihood("cd", cd_steps=1)(model, batch))
    total = sum(float((exact[n]).norm() ** 2) for n in exact) ** 0.5
    error = sum(float((cd[n] - exact[n]).norm() ** 2) for n in exact) ** 0.5
    error_1 = sum(float((cd1[n] - exact[n]).norm() ** 2) for n in exact) ** 0.5
    assert error < 0.05 * total
    # One step from the data is biased: measurably further from the exact gradient.
    assert error_1 > 2 * error


def test_cd_and_mean_field_cd_are_exact_without_label_hidden_coupling():
    # With U = 0 the labels are independent given x: p(y_l = 1 | x) = σ(b + Ax)_l, one
    # mean-field sweep reaches it exactly, and the hidden units do not depend on y.
    model = machine()
    with torch.no_grad():
        model.U.zero_()
    x, y = inputs_and_labels(model)
    exact = grads(model, exact_nll(model, x, y).mean())
    mean_field = grads(model, CRBMLikelihood("mean-field-cd", 1)(model, Batch(x, y)))
    for name in exact:
        assert torch.allclose(mean_field[name], exact[name]), name
    repeats = 20000
    torch.manual_seed(0)
    cd = grads(model, CRBMLikelihood("cd", 1)(model, Batch(x.repeat(repeats, 1),
                                                           y.repeat(repeats, 1))))
    for name in ("b", "A"):
        assert torch.allclose(cd[name], exact[name], atol=0.02), name


def test_mean_field_and_gibbs_marginals_approach_exact_ones():
    weak = machine(scale=0.1, mean_field_steps=30)
    x, _ = inputs_and_labels(weak)
    with torch.no_grad():
        assert torch.allclose(weak(x), weak.exact_marginals(x), atol=1e-3)
    strong = machine(scale=0.8, predict="gibbs", gibbs_chains=200, gibbs_sweeps=100)
    with torch.no_grad():
        gibbs = strong(x)
        assert torch.allclose(gibbs, strong.exact_marginals(x), atol=0.02)
        assert torch.equal(gibbs, strong(x))                       # private, fixed generator


def test_approximate_methods_train_300_tags_without_enumeration(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("enumerated the label vectors")

    monkeypatch.setattr(rbm, "label_states", refuse)
    batch, tags, hidden, features = 64, 300, 32, 10
    torch.manual_seed(0)
    model = ConditionalRBM(features, tags, hidden, init_scale=0.1)
    x = torch.randn(batch, features)
    y = torch.bernoulli(torch.full((batch, tags), 0.05))
    for method in ("cd", "mean-field-cd", "pseudo-likelihood"):
        sizes: list[int] = []

        def record(tensor, sizes=sizes):
            sizes.append(tensor.numel())
            return tensor

        with torch.autograd.graph.saved_tensors_hooks(record, lambda tensor: tensor):
            value = CRBMLikelihood(method, cd_steps=2)(model, Batch(x, y))
        before = [p.detach().clone() for p in model.parameters()]
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        assert torch.isfinite(value), method
        assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(),
                                                         strict=True)), method
        # Memory is linear in the vocabulary: nothing larger than one (B, L, H) tensor.
        assert max(sizes) <= batch * tags * hidden, method
    with torch.no_grad():
        marginals = model(x)
    assert marginals.shape == (batch, tags) and bool(((marginals > 0) & (marginals < 1)).all())


def test_exact_methods_refuse_more_than_twelve_tags_naming_the_field():
    env = SupervisedEnvironment({"train": Batch(torch.zeros(2, 3), torch.zeros(2, 13))},
                                EnvInfo(3, 13, "multilabel", 2))
    with pytest.raises(UserError, match=r"^loss\.method: .*13 tags"):
        losses.build(CRBMLossParams(method="exact"), env=env)
    with pytest.raises(UserError, match=r"^model\.predict: .*13 tags"):
        build_model(CRBMParams(predict="exact"), env=env)
    assert losses.build(CRBMLossParams(method="pseudo-likelihood"), env=env).method == \
        "pseudo-likelihood"
