"""Ω and its immediate gradient against explicit Jacobian products (float64)."""

from __future__ import annotations

import pytest
import torch
from methodlab.components import Batch
from methodlab_gradient_clipping.config import TanhRNNParams
from methodlab_gradient_clipping.omega import RNNTaskLoss, task_loss, vanishing_regularizer
from methodlab_gradient_clipping.rnn import TanhRNN

DTYPE = torch.float64
B, T, D, H, C = 3, 7, 4, 5, 3


def make(seed: int = 0, per_step: bool = False) -> tuple[TanhRNN, Batch]:
    torch.manual_seed(seed)
    model = TanhRNN(D, C, TanhRNNParams(hidden=H, input_std=0.8, recurrent_std=0.5,
                                        output_std=0.5, spectral_radius=1.2), per_step)
    model = model.to(DTYPE)
    inputs = torch.randn(B, T, D, dtype=DTYPE)
    targets = torch.randint(C, (B, T) if per_step else (B,))
    return model, Batch(inputs, targets)


def step_function(model: TanhRNN, x_t: torch.Tensor):
    return lambda h: torch.tanh(model.weight_ih @ x_t + model.bias + model.weight_hh @ h)


def explicit_terms(model: TanhRNN, batch: Batch, task: str):
    """δ_k by autograd and, per (k, b), the full Jacobian ∂h_k/∂h_{k−1} by
    torch.autograd.functional.jacobian; returns the (ratio − 1)² terms and ‖δ_k‖²."""
    states = model.states(batch.inputs)
    error = task_loss(model.read(states), batch.targets, task)
    deltas = torch.autograd.grad(error, states[1:])
    terms, norms = [], []
    for k in range(1, T + 1):
        for b in range(B):
            jacobian = torch.autograd.functional.jacobian(
                step_function(model, batch.inputs[b, k - 1]), states[k - 1][b].detach())
            delta = deltas[k - 1][b]
            back = delta @ jacobian  # δ_k ∂h_k/∂h_{k−1}
            terms.append((back.norm() / delta.norm() - 1.0) ** 2)
            norms.append(delta.pow(2).sum())
    return torch.stack(terms), torch.stack(norms), deltas, states


@pytest.mark.parametrize(("task", "per_step"), [("last-classification", False),
                                                ("sequence-classification", True)])
def test_omega_equals_explicit_jacobian_products(task, per_step):
    model, batch = make(per_step=per_step)
    terms, _, _, _ = explicit_terms(model, batch, task)
    _, omega, _ = RNNTaskLoss(task, omega=2.0).parts(model, batch)
    torch.testing.assert_close(omega, terms.mean(), rtol=1e-12, atol=1e-14)
    assert omega.item() > 1e-3  # not a trivially vanishing value


def test_immediate_gradient_holds_delta_and_states_fixed():
    model, batch = make(seed=1)
    task, alpha = "last-classification", 3.0
    _, _, deltas, states = explicit_terms(model, batch, task)
    fixed_deltas = torch.stack(deltas).detach()
    fixed_states = torch.stack(states[1:]).detach()

    def omega_of(weight: torch.Tensor) -> torch.Tensor:
        # Explicit Jacobians diag(1 − h_k²) W with h_k held at its current value.
        total = []
        for k in range(T):
            for b in range(B):
                jacobian = torch.diag(1 - fixed_states[k, b] ** 2) @ weight
                delta = fixed_deltas[k, b]
                total.append(((delta @ jacobian).norm() / delta.norm() - 1) ** 2)
        return torch.stack(total).mean()

    weight = model.weight_hh.detach().clone()
    # Central finite differences of the explicit Ω in every entry of W.
    eps = 1e-6
    numeric = torch.zeros_like(weight)
    for i in range(H):
        for j in range(H):
            step = torch.zeros_like(weight)
            step[i, j] = eps
            numeric[i, j] = (omega_of(weight + step) - omega_of(weight - step)) / (2 * eps)

    model.zero_grad()
    RNNTaskLoss(task, omega=alpha)(model, batch).backward()
    with_omega = model.weight_hh.grad.clone()
    model.zero_grad()
    RNNTaskLoss(task)(model, batch).backward()
    without = model.weight_hh.grad.clone()
    torch.testing.assert_close(with_omega - without, alpha * numeric, rtol=1e-6, atol=1e-9)
    # Only W receives the regulariser's gradient.
    model.zero_grad()
    RNNTaskLoss(task, omega=alpha)(model, batch).backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad()
    RNNTaskLoss(task)(model, batch).backward()
    for name, p in model.named_parameters():
        if name != "weight_hh":
            torch.testing.assert_close(grads[name], p.grad, rtol=0, atol=0)


def test_bound_leaves_out_negligible_error_signals():
    weight = torch.eye(2, dtype=DTYPE) * 3.0
    deltas = torch.tensor([[[1.0, 0.0]], [[1e-12, 0.0]]], dtype=DTYPE)  # (T=2, B=1, H=2)
    states = torch.zeros(2, 1, 2, dtype=DTYPE)
    # The second pair has ‖δ‖² = 1e-24 < 1e-20: only the first, (3 − 1)² = 4, counts.
    assert float(vanishing_regularizer(weight, deltas, states, 1e-20)) == pytest.approx(4.0)
    assert float(vanishing_regularizer(weight, deltas, states, 0.0)) == pytest.approx(4.0)
    weight.requires_grad_(True)
    vanishing_regularizer(weight, torch.zeros(2, 1, 2, dtype=DTYPE), states).backward()
    assert torch.equal(weight.grad, torch.zeros_like(weight))  # nothing kept: 0, no NaN


def test_without_gradients_the_loss_is_the_task_loss():
    model, batch = make(seed=2)
    loss = RNNTaskLoss("last-classification", omega=5.0)
    with torch.no_grad():
        plain = loss(model, batch)
    error, omega, _ = loss.parts(model, batch)
    torch.testing.assert_close(plain, error.detach())
    torch.testing.assert_close(loss(model, batch).detach(), (error + 5.0 * omega).detach())
