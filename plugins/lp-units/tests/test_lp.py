"""The stable Lp norm, the Lp layer and the Lp recurrent cell."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from methodlab_lp_units.lp import LpPool, LpRNN, LpRNNCell, inverse_softplus, lp_norm

DTYPE = torch.float64


def naive_lp(z: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """The textbook formula ``(mean |z|^p)^(1/p)``, which overflows for large ``|z|^p``."""
    return z.abs().pow(p.unsqueeze(-1)).mean(-1).pow(1.0 / p)


def random_groups(seed: int, shape: tuple[int, ...] = (6, 4, 3), scale: float = 1.0):
    generator = torch.Generator().manual_seed(seed)
    return scale * torch.randn(shape, generator=generator, dtype=DTYPE)


@pytest.mark.parametrize("p_value", [1.0, 1.5, 2.0, 3.0, 7.5, 20.0])
@pytest.mark.parametrize("seed", range(3))
def test_stable_equals_naive_where_naive_is_finite(p_value, seed):
    z = random_groups(seed)
    p = torch.full((4,), p_value, dtype=DTYPE)
    expected = naive_lp(z, p)
    assert torch.isfinite(expected).all()
    torch.testing.assert_close(lp_norm(z, p), expected, rtol=1e-12, atol=0.0)


def test_stable_equals_naive_with_a_different_order_per_unit():
    z = random_groups(3)
    p = torch.tensor([1.0, 2.0, 4.0, 30.0], dtype=DTYPE)
    torch.testing.assert_close(lp_norm(z, p), naive_lp(z, p), rtol=1e-12, atol=0.0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_large_inputs_and_large_orders_stay_finite_where_naive_overflows(dtype):
    z = torch.tensor([[[1e30, -3e29, 5e29]], [[2.0, -1.0, 0.5]]], dtype=dtype)  # (2, 1, 3)
    p = torch.tensor([40.0], dtype=dtype)
    naive = naive_lp(z, p)
    assert not torch.isfinite(naive[0]).all()  # 1e30^40 overflows either dtype
    stable = lp_norm(z, p)
    assert torch.isfinite(stable).all()
    # Exact value: 1e30 · ((1 + 0.3^40 + 0.5^40) / 3)^(1/40).
    expected = 1e30 * ((1 + 0.3**40 + 0.5**40) / 3) ** (1 / 40)
    assert float(stable[0, 0]) == pytest.approx(expected, rel=1e-6)
    assert float(stable[1, 0]) == pytest.approx(((2**40 + 1 + 0.5**40) / 3) ** (1 / 40), rel=1e-6)
    # p = 1e4 would overflow |z|^p even for |z| = 2.
    huge = lp_norm(z, torch.tensor([1e4], dtype=dtype))
    assert torch.isfinite(huge).all()


def test_large_orders_approach_the_maximum():
    z = random_groups(4)
    maximum = z.abs().amax(-1)
    gaps = []
    for p_value in [2.0, 10.0, 100.0, 1e3, 1e5]:
        u = lp_norm(z, torch.full((4,), p_value, dtype=DTYPE))
        assert (u <= maximum * (1 + 1e-12)).all()  # the normalised mean never exceeds the max
        gaps.append(float((maximum - u).abs().max()))
    assert gaps == sorted(gaps, reverse=True)
    # (1/N)^(1/p) · max ≤ u: at p = 1e5 with N = 3 the gap is below max · log(3)/1e5.
    assert gaps[-1] <= float(maximum.max()) * math.log(3) / 1e5 * 1.01
    assert gaps[-1] < 1e-4


def test_order_one_is_the_mean_absolute_value_and_two_the_rms():
    z = torch.tensor([[[3.0, -4.0, 0.0, 1.0]]], dtype=DTYPE)
    one = lp_norm(z, torch.tensor([1.0], dtype=DTYPE))
    assert float(one) == pytest.approx(8.0 / 4, rel=1e-14)
    two = lp_norm(z, torch.tensor([2.0], dtype=DTYPE))
    assert float(two) == pytest.approx(math.sqrt(26.0 / 4), rel=1e-14)


def test_gradients_match_autograd_of_the_naive_formula():
    z = random_groups(5).requires_grad_()
    p = torch.tensor([1.3, 2.0, 3.5, 8.0], dtype=DTYPE, requires_grad=True)
    weights = torch.randn(6, 4, generator=torch.Generator().manual_seed(6), dtype=DTYPE)
    stable = torch.autograd.grad((lp_norm(z, p) * weights).sum(), (z, p))
    naive = torch.autograd.grad((naive_lp(z, p) * weights).sum(), (z, p))
    for a, b in zip(stable, naive, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_gradcheck():
    z = random_groups(7, (3, 2, 4)).requires_grad_()
    p = torch.tensor([1.7, 4.0], dtype=DTYPE, requires_grad=True)
    assert torch.autograd.gradcheck(lp_norm, (z, p))


@pytest.mark.parametrize("p_value", [1.0, 1.01, 3.0, 200.0, 1e4])
def test_gradients_finite_at_zeros_ties_and_huge_inputs(p_value):
    z = torch.tensor([[[0.0, 0.0], [0.0, 2.0], [5.0, -5.0], [1e30, 1e-30], [-1e300, 3.0]]],
                     dtype=DTYPE, requires_grad=True)  # (1, 5, 2)
    p = torch.full((5,), p_value, dtype=DTYPE, requires_grad=True)
    u = lp_norm(z, p)
    assert torch.isfinite(u).all()
    grad_z, grad_p = torch.autograd.grad(u.sum(), (z, p))
    assert torch.isfinite(grad_z).all() and torch.isfinite(grad_p).all()
    assert float(u[0, 0].detach()) < 1e-300  # an all-zero group is (numerically) zero


def test_pooling_is_nonnegative_and_homogeneous():
    z = random_groups(8)
    p = torch.tensor([1.2, 2.0, 5.0, 12.0], dtype=DTYPE)
    u = lp_norm(z, p)
    assert (u >= 0).all()
    torch.testing.assert_close(lp_norm(-3.5 * z, p), 3.5 * u, rtol=1e-12, atol=0.0)


def test_inverse_softplus_round_trips():
    y = torch.tensor([1e-3, 0.5, 2.0, 30.0], dtype=DTYPE)
    torch.testing.assert_close(F.softplus(inverse_softplus(y)), y, rtol=1e-12, atol=0.0)


# -- the Lp layer ------------------------------------------------------------------------------


def test_layer_is_the_formula_with_centres():
    torch.manual_seed(0)
    layer = LpPool(3, 4, group_size=2, p_init=2.5, p_init_std=0.1).double()
    x = torch.randn(7, 3, dtype=DTYPE)
    a = x @ layer.linear.weight.T - layer.centres  # (7, 8)
    p = 1 + F.softplus(layer.rho)
    expected = torch.stack([
        ((a[:, 2 * j : 2 * j + 2].abs() ** p[j]).mean(-1)) ** (1 / p[j]) for j in range(4)
    ], dim=-1)
    torch.testing.assert_close(layer(x), expected, rtol=1e-12, atol=0.0)
    assert torch.all(layer.p > 1.0)


def test_initial_orders_follow_p_init():
    torch.manual_seed(1)
    layer = LpPool(5, 2000, p_init=3.0, p_init_std=0.005)
    p = layer.p.detach()
    assert float(p.mean()) == pytest.approx(3.0, abs=1e-3)
    assert float(p.std()) == pytest.approx(0.005, rel=0.1)


def test_fixed_order_is_a_buffer_and_stays():
    layer = LpPool(2, 3, p_init=2.0, learn_p=False)
    assert "rho" not in dict(layer.named_parameters())
    assert "rho" in dict(layer.named_buffers())
    torch.testing.assert_close(layer.p, torch.full((3,), 2.0), rtol=1e-6, atol=0.0)


def test_order_at_most_one_is_rejected():
    with pytest.raises(ValueError, match="p_init must exceed 1"):
        LpPool(2, 3, p_init=1.0)


def test_every_layer_parameter_gets_a_finite_gradient():
    layer = LpPool(4, 3, group_size=3, p_init=1.5)
    out = layer(1e6 * torch.randn(5, 4)).sum()
    out.backward()
    for name, parameter in layer.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name


# -- the recurrent cell ------------------------------------------------------------------------


def test_cell_step_is_tanh_of_the_projected_lp_units():
    torch.manual_seed(2)
    cell = LpRNNCell(3, 5, units=4, group_size=2).double()
    x, h = torch.randn(2, 3, dtype=DTYPE), torch.randn(2, 5, dtype=DTYPE)
    a = torch.cat([x, h], -1) @ cell.lp.linear.weight.T - cell.lp.centres
    u = naive_lp(a.unflatten(-1, (4, 2)), cell.lp.p)
    expected = torch.tanh(u @ cell.output.weight.T + cell.output.bias)
    torch.testing.assert_close(cell(x, h), expected, rtol=1e-12, atol=1e-14)


def test_rnn_unrolls_the_cell():
    torch.manual_seed(3)
    cell = LpRNNCell(3, 4).double()
    x = torch.randn(6, 2, 3, dtype=DTYPE)
    states = LpRNN(cell)(x)
    h = torch.zeros(2, 4, dtype=DTYPE)
    for t in range(6):
        h = cell(x[t], h)
        torch.testing.assert_close(states[t], h, rtol=0.0, atol=0.0)


def test_rnn_state_stays_bounded_and_gradients_finite_on_long_large_sequences():
    torch.manual_seed(4)
    cell = LpRNNCell(2, 8, p_init=3.0, p_init_std=0.5)
    with torch.no_grad():
        cell.lp.linear.weight.mul_(50.0)  # large recurrent weights
    x = 1e3 * torch.randn(200, 3, 2)
    states = LpRNN(cell)(x)
    assert states.abs().max() <= 1.0 and torch.isfinite(states).all()
    states[-1].sum().backward()
    for name, parameter in cell.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name


def test_rnn_learns_the_sign_of_a_running_sum():
    # The answer depends on all five inputs: a model that sees only the last input is right
    # about 70 % of the time (P[sign x_5 = sign Σx] for Gaussian inputs), so > 85 % needs
    # the state to carry the sum.
    torch.manual_seed(5)
    cell, readout = LpRNNCell(1, 8), torch.nn.Linear(8, 2)
    rnn = LpRNN(cell)
    optimizer = torch.optim.Adam([*rnn.parameters(), *readout.parameters()], lr=0.03)
    generator = torch.Generator().manual_seed(6)
    for _ in range(200):
        x = torch.randn(5, 64, 1, generator=generator)  # (T, B, D)
        loss = F.cross_entropy(readout(rnn(x)[-1]), (x.sum((0, 2)) > 0).long())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    x = torch.randn(5, 512, 1, generator=generator)
    with torch.no_grad():
        correct = readout(rnn(x)[-1]).argmax(-1) == (x.sum((0, 2)) > 0).long()
    assert float(correct.double().mean()) > 0.85
