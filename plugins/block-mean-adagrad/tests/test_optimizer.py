"""The three AdaGrad optimizers against dense float64 references."""

from __future__ import annotations

import copy
import io

import pytest
import torch
from methodlab.curvature import flatten
from methodlab_block_mean_adagrad.bma import block_mean
from methodlab_block_mean_adagrad.optimizer import (
    BlockMeanAdagrad,
    DiagonalAdagrad,
    FullMatrixAdagrad,
    low_rank_inverse_sqrt,
)
from methodlab_block_mean_adagrad.partition import partition_model
from torch import nn

DTYPE = torch.float64


def make_model(dtype: torch.dtype = DTYPE, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).to(dtype)


def batches(n: int, dtype: torch.dtype = DTYPE) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(1)
    return [(torch.randn(8, 3, generator=generator, dtype=dtype),
             torch.randint(0, 2, (8,), generator=generator)) for _ in range(n)]


def train(model: nn.Module, optimizer: torch.optim.Optimizer, data: list) -> list[torch.Tensor]:
    """Run the updates; return the gradient of every step."""
    gradients = []
    for x, y in data:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        gradients.append(flatten(p.grad for p in model.parameters()).clone())
        optimizer.step()
    return gradients


def dense_step(G: torch.Tensor, g: torch.Tensor, delta: float) -> torch.Tensor:
    eigenvalues, eigenvectors = torch.linalg.eigh(G + delta * torch.eye(len(G), dtype=DTYPE))
    return eigenvectors @ (eigenvalues.rsqrt() * (eigenvectors.T @ g))


def replay(model: nn.Module, data: list, matrix, lr: float, delta: float) -> torch.Tensor:
    """Dense reference: theta -= lr (matrix(G_t) + delta I)^(-1/2) g_t."""
    params = list(model.parameters())
    d = sum(p.numel() for p in params)
    G = torch.zeros(d, d, dtype=DTYPE)
    for x, y in data:
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        g = flatten(p.grad for p in params)
        G += torch.outer(g, g)
        step = dense_step(matrix(G), g, delta)
        with torch.no_grad():
            offset = 0
            for p in params:
                p -= lr * step[offset: offset + p.numel()].view_as(p)
                offset += p.numel()
    return flatten(p.detach() for p in params)


@pytest.mark.parametrize("rule", ["unit", "layer", "row", "tensor"])
def test_block_mean_adagrad_matches_dense_reference(rule):
    model, data = make_model(), batches(6)
    reference = copy.deepcopy(model)
    labels = partition_model(model, rule)
    flat = torch.cat([t.reshape(-1) for t in labels])
    optimizer = BlockMeanAdagrad(model.parameters(), lr=0.3, delta=1e-4, groups=labels)
    train(model, optimizer, data)
    expected = replay(reference, data, lambda G: block_mean(G, flat).dense(), 0.3, 1e-4)
    torch.testing.assert_close(flatten(p.detach() for p in model.parameters()), expected,
                               rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("steps", [5, 40])  # 40 > d = 26: the dense path after t = d
def test_full_matrix_adagrad_matches_dense_reference(steps):
    model, data = make_model(), batches(steps)
    reference = copy.deepcopy(model)
    optimizer = FullMatrixAdagrad(model.parameters(), lr=0.1, delta=1e-3)
    train(model, optimizer, data)
    assert ("sum" in optimizer.state[next(model.parameters())]) == (steps >= 26)
    expected = replay(reference, data, lambda G: G, 0.1, 1e-3)
    torch.testing.assert_close(flatten(p.detach() for p in model.parameters()), expected,
                               rtol=1e-8, atol=1e-10)


def test_diagonal_adagrad_matches_dense_reference():
    model, data = make_model(), batches(6)
    reference = copy.deepcopy(model)
    optimizer = DiagonalAdagrad(model.parameters(), lr=0.1, delta=1e-3)
    train(model, optimizer, data)
    expected = replay(reference, data, lambda G: torch.diag(G.diagonal()), 0.1, 1e-3)
    torch.testing.assert_close(flatten(p.detach() for p in model.parameters()), expected,
                               rtol=1e-10, atol=1e-12)


def test_element_groups_are_full_matrix_adagrad():
    first, data = make_model(), batches(8)
    second = copy.deepcopy(first)
    train(first, BlockMeanAdagrad(first.parameters(), lr=0.2, delta=1e-4, groups="element"),
          data)
    train(second, FullMatrixAdagrad(second.parameters(), lr=0.2, delta=1e-4), data)
    torch.testing.assert_close(flatten(first.parameters()), flatten(second.parameters()),
                               rtol=1e-8, atol=1e-10)


def test_diagonal_adagrad_agrees_with_torch_adagrad():
    first, data = make_model(), batches(8)
    second = copy.deepcopy(first)
    train(first, DiagonalAdagrad(first.parameters(), lr=0.1, delta=1e-30), data)
    train(second, torch.optim.Adagrad(second.parameters(), lr=0.1, eps=0.0), data)
    torch.testing.assert_close(flatten(first.parameters()), flatten(second.parameters()),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("t", [1, 5, 20])
def test_low_rank_inverse_sqrt_equals_dense(t):
    generator = torch.Generator().manual_seed(t)
    Y = torch.randn(30, t, dtype=DTYPE, generator=generator)
    v = Y @ torch.randn(t, dtype=DTYPE, generator=generator)  # in the span, as g_t is
    for delta in (1e-6, 1e-2, 10.0):
        torch.testing.assert_close(low_rank_inverse_sqrt(Y, Y.T @ Y, v, delta),
                                   dense_step(Y @ Y.T, v, delta), rtol=1e-8, atol=1e-10)
    w = torch.randn(30, dtype=DTYPE, generator=generator)  # and outside it
    torch.testing.assert_close(low_rank_inverse_sqrt(Y, Y.T @ Y, w, 0.1),
                               dense_step(Y @ Y.T, w, 0.1), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("cls", [BlockMeanAdagrad, DiagonalAdagrad, FullMatrixAdagrad])
def test_float64_state_survives_a_float32_checkpoint(cls):
    model, data = make_model(torch.float32), batches(4, torch.float32)
    optimizer = cls(model.parameters(), lr=0.05)
    train(model, optimizer, data[:3])
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    restored_model = make_model(torch.float32, seed=1)
    restored_model.load_state_dict(saved["model"])
    restored = cls(restored_model.parameters(), lr=0.05)
    restored.load_state_dict(saved["optimizer"])
    for p, q in zip(model.parameters(), restored_model.parameters(), strict=True):
        for key, value in optimizer.state[p].items():
            if isinstance(value, torch.Tensor):
                assert restored.state[q][key].dtype == DTYPE == value.dtype, key
                assert torch.equal(restored.state[q][key], value), key
    train(model, optimizer, data[3:])
    train(restored_model, restored, data[3:])
    for p, q in zip(model.parameters(), restored_model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_mismatched_state_is_rejected():
    model = make_model()
    optimizer = BlockMeanAdagrad(model.parameters(), groups="tensor")
    train(model, optimizer, batches(1))
    other = BlockMeanAdagrad(make_model().parameters(), groups="row")
    with pytest.raises(ValueError, match="groups"):
        other.load_state_dict(optimizer.state_dict())


def test_arguments_are_checked():
    params = list(make_model().parameters())
    with pytest.raises(ValueError, match="learning rate"):
        BlockMeanAdagrad(params, lr=0.0)
    with pytest.raises(ValueError, match="delta"):
        DiagonalAdagrad(params, delta=0.0)
    with pytest.raises(ValueError, match="weight_decay"):
        FullMatrixAdagrad(params, weight_decay=-1.0)
    with pytest.raises(ValueError, match="parameter groups"):
        BlockMeanAdagrad([{"params": params[:2]}, {"params": params[2:]}])
    with pytest.raises(ValueError, match="max_params"):
        FullMatrixAdagrad(params, max_params=10)
    with pytest.raises(ValueError, match="every index"):
        BlockMeanAdagrad(params, groups=[torch.full(p.shape, 1) for p in params])
    with pytest.raises(ValueError, match="shape"):
        BlockMeanAdagrad(params, groups=[torch.zeros(1, dtype=torch.long) for p in params])
    # Diagonal AdaGrad is per coordinate, so parameter groups work.
    DiagonalAdagrad([{"params": params[:2]}, {"params": params[2:], "lr": 0.5}])


def test_weight_decay_is_added_to_the_gradient():
    w = nn.Parameter(torch.tensor([3.0, -1.0], dtype=DTYPE))
    optimizer = DiagonalAdagrad([w], lr=0.5, delta=1e-12, weight_decay=1.0)
    w.grad = torch.zeros_like(w)
    optimizer.step()
    torch.testing.assert_close(w.detach(), torch.tensor([2.5, -0.5], dtype=DTYPE))


def test_step_returns_the_closure_loss():
    model, (x, y) = make_model(), batches(1)[0]
    optimizer = BlockMeanAdagrad(model.parameters())

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert loss is not None and loss.requires_grad
