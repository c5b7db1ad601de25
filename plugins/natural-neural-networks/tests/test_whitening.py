import pytest
import torch
from methodlab_natural_neural_networks.whitening import whitening


@pytest.mark.parametrize("kind", ["pca", "zca"])
def test_whitened_inputs_have_identity_covariance(kind):
    generator = torch.Generator().manual_seed(0)
    mixing = torch.randn(5, 5, generator=generator, dtype=torch.float64)
    x = torch.randn(4000, 5, generator=generator, dtype=torch.float64) @ mixing + 3.0
    c, U, U_inv = whitening(x, epsilon=1e-12, kind=kind)
    z = (x - c) @ U.T
    eye = torch.eye(5, dtype=torch.float64)
    assert torch.allclose(z.mean(0), torch.zeros(5, dtype=torch.float64), atol=1e-10)
    assert torch.allclose(z.T @ z / len(z), eye, atol=1e-8)
    assert torch.allclose(U_inv @ U, eye, atol=1e-10)


def test_zca_is_symmetric_and_pca_is_a_rotation_of_it():
    x = torch.rand(300, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    _, U_zca, _ = whitening(x, 1e-3, "zca")
    _, U_pca, _ = whitening(x, 1e-3, "pca")
    assert torch.allclose(U_zca, U_zca.T, atol=1e-12)
    assert torch.allclose(U_zca.T @ U_zca, U_pca.T @ U_pca, atol=1e-10)


def test_rank_deficient_inputs_stay_invertible_thanks_to_epsilon(digits):
    always_zero = (digits == 0).all(0)
    assert always_zero.any()  # the trap the research notes warn about
    epsilon = 1e-2
    _, U, U_inv = whitening(digits, epsilon)
    assert torch.isfinite(U).all()
    assert torch.allclose(U_inv @ U, torch.eye(64, dtype=torch.float64), atol=1e-10)
    # Directions without variance are scaled by ε^(-1/2), not blown up.
    assert float(torch.linalg.matrix_norm(U, ord=2)) <= epsilon**-0.5 + 1e-9


def test_rejects_bad_arguments():
    x = torch.rand(10, 3)
    with pytest.raises(ValueError, match="epsilon"):
        whitening(x, 0.0)
    with pytest.raises(ValueError, match="unknown whitening"):
        whitening(x, 1e-2, "cholesky")
    with pytest.raises(ValueError, match="two samples"):
        whitening(x[:1], 1e-2)


def test_returns_the_input_dtype():
    c, U, U_inv = whitening(torch.rand(10, 3), 1e-2)
    assert c.dtype == U.dtype == U_inv.dtype == torch.float32
