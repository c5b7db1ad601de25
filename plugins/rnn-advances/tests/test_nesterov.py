"""The reformulated Nesterov update against classical Nesterov momentum, in float64."""

from __future__ import annotations

import copy

import pytest
import torch
from methodlab_rnn_advances.nesterov import NesterovSGD

DTYPE = torch.float64


def quadratic(seed: int = 0, d: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """f(θ) = ½ θᵀAθ − bᵀθ with an ill-conditioned SPD A (eigenvalues 0.01 … 1)."""
    generator = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=generator, dtype=DTYPE))
    A = q @ torch.diag(torch.logspace(-2, 0, d, dtype=DTYPE)) @ q.T
    return A, torch.randn(d, generator=generator, dtype=DTYPE)


def classical_nesterov(theta0, A, b, lrs, momenta):
    """NAG: v_t = μ_{t−1} v_{t−1} − ε_{t−1} ∇f(θ_{t−1} + μ_{t−1} v_{t−1}); θ_t = θ_{t−1} + v_t.

    Returns the look-ahead points Θ_t = θ_t + μ_t v_t, the trajectory the reformulation keeps.
    """
    theta, v, mu_prev = theta0.clone(), torch.zeros_like(theta0), 0.0
    lookahead = []
    for lr, mu in zip(lrs, momenta, strict=True):
        v = mu_prev * v - lr * (A @ (theta + mu_prev * v) - b)
        theta = theta + v
        lookahead.append(theta + mu * v)
        mu_prev = mu
    return torch.stack(lookahead)


def reformulated(theta0, A, b, lrs, momenta, max_grad_norm=0.0):
    param = torch.nn.Parameter(theta0.clone())
    optimizer = NesterovSGD([param], lr=lrs[0], momentum=momenta[0],
                            max_grad_norm=max_grad_norm)
    trajectory = []
    for lr, mu in zip(lrs, momenta, strict=True):
        optimizer.param_groups[0]["lr"], optimizer.param_groups[0]["momentum"] = lr, mu
        optimizer.zero_grad()
        (0.5 * param @ A @ param - b @ param).backward()
        optimizer.step()
        trajectory.append(param.detach().clone())
    return torch.stack(trajectory)


def test_same_trajectory_as_classical_nesterov_on_a_quadratic():
    A, b = quadratic()
    theta0 = torch.linspace(-1.0, 1.0, 6, dtype=DTYPE)
    steps = 200
    lrs, momenta = [0.9] * steps, [0.95] * steps
    expected = classical_nesterov(theta0, A, b, lrs, momenta)
    actual = reformulated(theta0, A, b, lrs, momenta)
    torch.testing.assert_close(actual, expected, rtol=0.0, atol=1e-10)
    # The trajectory does move: the test would catch an optimizer that does nothing.
    assert float((expected[-1] - theta0).norm()) > 1.0


def test_same_trajectory_with_momentum_and_learning_rate_schedules():
    # Sutskever et al.'s schedule μ_t = min(1 − 2^(−1 − log2(⌊t/250⌋ + 1)), μ_max), sped up.
    A, b = quadratic(seed=1)
    theta0 = torch.ones(6, dtype=DTYPE)
    steps = 120
    momenta = [min(1 - 2 ** (-1 - torch.log2(torch.tensor(t // 20 + 1.0)).item()), 0.99)
               for t in range(steps)]
    lrs = [0.5 / (1 + t / 50) for t in range(steps)]
    assert len(set(momenta)) > 3 and len(set(lrs)) == steps
    expected = classical_nesterov(theta0, A, b, lrs, momenta)
    torch.testing.assert_close(reformulated(theta0, A, b, lrs, momenta), expected, rtol=0.0,
                               atol=1e-10)


def test_equals_torch_sgd_nesterov_with_constant_hyperparameters():
    A, b = quadratic(seed=2)
    theta0 = torch.zeros(6, dtype=DTYPE)
    ours = reformulated(theta0, A, b, [0.3] * 50, [0.9] * 50)
    param = torch.nn.Parameter(theta0.clone())
    sgd = torch.optim.SGD([param], lr=0.3, momentum=0.9, nesterov=True)
    theirs = []
    for _ in range(50):
        sgd.zero_grad()
        (0.5 * param @ A @ param - b @ param).backward()
        sgd.step()
        theirs.append(param.detach().clone())
    torch.testing.assert_close(ours, torch.stack(theirs), rtol=0.0, atol=1e-10)


def test_zero_momentum_is_plain_sgd():
    A, b = quadratic(seed=3)
    theta0 = torch.ones(6, dtype=DTYPE)
    theta, expected = theta0.clone(), []
    for _ in range(10):
        theta = theta - 0.5 * (A @ theta - b)
        expected.append(theta)
    torch.testing.assert_close(reformulated(theta0, A, b, [0.5] * 10, [0.0] * 10),
                               torch.stack(expected), rtol=0.0, atol=1e-12)


def test_clipping_rescales_to_the_global_norm():
    w1 = torch.nn.Parameter(torch.zeros(2, dtype=DTYPE))
    w2 = torch.nn.Parameter(torch.zeros(1, dtype=DTYPE))
    optimizer = NesterovSGD([w1, w2], lr=1.0, momentum=0.0, max_grad_norm=1.0)
    w1.grad = torch.tensor([3.0, 0.0], dtype=DTYPE)
    w2.grad = torch.tensor([4.0], dtype=DTYPE)  # global norm 5
    optimizer.step()
    torch.testing.assert_close(w1.detach(), torch.tensor([-0.6, 0.0], dtype=DTYPE))
    torch.testing.assert_close(w2.detach(), torch.tensor([-0.8], dtype=DTYPE))
    # Below the threshold nothing is rescaled.
    w1.grad = torch.tensor([0.3, 0.0], dtype=DTYPE)
    w2.grad = torch.tensor([0.4], dtype=DTYPE)
    optimizer.step()
    torch.testing.assert_close(w2.detach(), torch.tensor([-1.2], dtype=DTYPE))


def test_non_finite_gradient_skips_the_update():
    w = torch.nn.Parameter(torch.tensor([1.0, 2.0], dtype=DTYPE))
    optimizer = NesterovSGD([w], lr=0.1, momentum=0.9, max_grad_norm=1.0)
    w.grad = torch.tensor([1.0, 0.0], dtype=DTYPE)
    optimizer.step()
    before, velocity = w.detach().clone(), optimizer.state[w]["velocity"].clone()
    w.grad = torch.tensor([float("inf"), 0.0], dtype=DTYPE)
    optimizer.step()
    assert torch.equal(w.detach(), before)
    assert torch.equal(optimizer.state[w]["velocity"], velocity)
    assert optimizer.state[w]["skipped_steps"] == 1


def test_state_dict_round_trip_continues_identically():
    A, b = quadratic(seed=4)
    param = torch.nn.Parameter(torch.ones(6, dtype=DTYPE))
    optimizer = NesterovSGD([param], lr=0.2, momentum=0.8)

    def step(p, opt):
        opt.zero_grad()
        (0.5 * p @ A @ p - b @ p).backward()
        opt.step()

    for _ in range(3):
        step(param, optimizer)
    clone = torch.nn.Parameter(param.detach().clone())
    restored = NesterovSGD([clone], lr=0.2, momentum=0.8)
    restored.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    step(param, optimizer)
    step(clone, restored)
    assert torch.equal(param, clone)


@pytest.mark.parametrize(("kwargs", "match"), [({"lr": 0.0}, "learning rate"),
                                               ({"momentum": 1.0}, "momentum"),
                                               ({"max_grad_norm": -1.0}, "max_grad_norm")])
def test_rejects_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NesterovSGD([torch.nn.Parameter(torch.zeros(1))], **kwargs)
