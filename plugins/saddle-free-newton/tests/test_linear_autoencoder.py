import pytest
import torch
from methodlab.builtins.losses import MeanSquaredError
from methodlab.components import Batch
from methodlab_saddle_free_newton.config import LinearAutoencoderParams, SpikedGaussianParams
from methodlab_saddle_free_newton.critical_point import CriticalPoint
from methodlab_saddle_free_newton.environments import build_spiked_gaussian
from methodlab_saddle_free_newton.linear_autoencoder import (
    LinearAutoencoder,
    build_linear_autoencoder,
    saddle_weights,
)

_DATA = SpikedGaussianParams(in_features=8, variances=(1.0, 0.3, 0.2), noise_variance=0.01,
                             n_train=400, n_test=10)


def _env():
    return build_spiked_gaussian(_DATA, seed=0, device="cpu", dtype=torch.float64)


def _model(**kwargs):
    torch.manual_seed(0)
    return build_linear_autoencoder(LinearAutoencoderParams(**kwargs), env=_env()).double()


def _gradient_norm(model, env):
    batch = next(iter(env.split("train")))
    grads = torch.autograd.grad(MeanSquaredError()(model, batch), model.parameters())
    return float(torch.cat([g.reshape(-1) for g in grads]).norm())


@pytest.mark.parametrize("eigenvectors", [(0,), (1, 2), (0, 1), ()])
def test_saddle_weights_are_a_critical_point(eigenvectors):
    model = _model(hidden=2, saddle_eigenvectors=eigenvectors, perturbation=0.0)
    assert _gradient_norm(model, _env()) < 1e-12


def test_the_top_only_saddle_has_negative_curvature_minus_sigma_two():
    env = _env()
    model = _model(hidden=2, saddle_eigenvectors=(0,), perturbation=0.0)
    x = next(iter(env.split("train"))).inputs
    sigma = torch.linalg.eigvalsh(x.T @ x / len(x)).flip(0)
    metrics = CriticalPoint("train")(model, env, MeanSquaredError())
    assert metrics["lambda_min"] == pytest.approx(-float(sigma[1]), rel=1e-6)
    assert metrics["index"] > 0


def test_the_top_eigenvectors_are_a_minimum():
    model = _model(hidden=2, saddle_eigenvectors=(0, 1), perturbation=0.0)
    metrics = CriticalPoint("train")(model, _env(), MeanSquaredError())
    assert metrics["index"] == 0.0


def test_perturbation_depends_on_the_seed():
    torch.manual_seed(1)
    a = build_linear_autoencoder(LinearAutoencoderParams(), env=_env())
    torch.manual_seed(2)
    b = build_linear_autoencoder(LinearAutoencoderParams(), env=_env())
    difference = (a.encoder.weight - b.encoder.weight).detach().abs().max()
    assert 0 < float(difference) < 0.01


def test_saddle_weights_place_eigenvectors_in_the_first_units():
    x = torch.randn(500, 3, dtype=torch.float64) * torch.tensor([3.0, 2.0, 1.0],
                                                                dtype=torch.float64)
    encoder, decoder = saddle_weights(x, 3, [2, 0])
    assert torch.allclose(encoder[0].abs(), torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64),
                          atol=0.1)
    assert torch.allclose(encoder[1].abs(), torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64),
                          atol=0.1)
    assert torch.equal(encoder[2], torch.zeros(3, dtype=torch.float64))
    assert torch.equal(decoder, encoder.T)


def test_default_init_and_shapes():
    model = _model(init="default")
    assert model(torch.zeros(5, 8, dtype=torch.float64)).shape == (5, 8)
    assert isinstance(model, LinearAutoencoder)


def test_rejects_classification_environments_and_bad_indices():
    class Info:
        in_features, out_features = 16, 10

    class Env:
        info = Info()

    with pytest.raises(ValueError, match="reconstruct"):
        build_linear_autoencoder(LinearAutoencoderParams(), env=Env())
    with pytest.raises(ValueError, match="exceed"):
        saddle_weights(torch.randn(10, 3), 2, [5])
    with pytest.raises(ValueError, match="fit"):
        LinearAutoencoderParams(hidden=1, saddle_eigenvectors=(0, 1))
    with pytest.raises(ValueError, match="distinct"):
        LinearAutoencoderParams(saddle_eigenvectors=(1, 1))


def test_forward_is_the_product_of_the_weights():
    model = LinearAutoencoder(3, 2)
    x = torch.randn(4, 3)
    assert torch.allclose(model(x), x @ (model.decoder.weight @ model.encoder.weight).T)
    assert model(Batch(x).inputs).shape == (4, 3)
