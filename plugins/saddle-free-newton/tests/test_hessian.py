import torch
from methodlab import curvature
from methodlab.builtins.losses import CrossEntropy
from methodlab_saddle_free_newton.hessian import absolute_value, dense_hessian
from methodlab_saddle_free_newton.optimizer import saddle_free_direction
from torch import nn


def _random_symmetric(dim, seed=0):
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(dim, dim, generator=generator, dtype=torch.float64)
    return a + a.T


def test_dense_hessian_matches_torch_func_hessian():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3)).double()
    x, y = torch.randn(10, 3, dtype=torch.float64), torch.randint(0, 3, (10,))
    params = list(net.parameters())
    names = [name for name, _ in net.named_parameters()]

    def objective(theta):
        values = dict(zip(names, curvature.unflatten_like(theta, params), strict=True))
        return CrossEntropy().from_outputs(torch.func.functional_call(net, values, (x,)), y)

    expected = torch.func.hessian(objective)(curvature.flatten(p.detach() for p in params))
    assert torch.allclose(dense_hessian(net, CrossEntropy(), x, y), expected, atol=1e-12)


def test_absolute_value_equals_dense_eigen_reconstruction():
    matrix = _random_symmetric(7)
    values, vectors = torch.linalg.eigh(matrix)
    reconstruction = sum(abs(float(values[i])) * torch.outer(vectors[:, i], vectors[:, i])
                         for i in range(7))
    result = absolute_value(matrix)
    assert torch.allclose(result, reconstruction, atol=1e-12)
    # |A| is the positive square root of A², so it commutes with A and squares to A².
    assert torch.allclose(result @ result, matrix @ matrix, atol=1e-10)
    assert torch.linalg.eigvalsh(result).min() >= 0


def test_absolute_value_keeps_positive_definite_matrices():
    a = _random_symmetric(5, seed=1)
    spd = a @ a.T + torch.eye(5, dtype=torch.float64)
    assert torch.allclose(absolute_value(spd), spd, atol=1e-12)


def test_saddle_free_direction_solves_the_absolute_system():
    hessian = _random_symmetric(6, seed=2)
    gradient = torch.randn(6, dtype=torch.float64)
    direction = saddle_free_direction(hessian, gradient, 0.5)
    system = absolute_value(hessian) + 0.5 * torch.eye(6, dtype=torch.float64)
    assert torch.allclose(system @ direction, gradient, atol=1e-10)
