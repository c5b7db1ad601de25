"""One optimizer update: plain optimizers and the StepContext path."""

from __future__ import annotations

import copy

import pytest
import torch
from methodlab.builtins.losses import CrossEntropy
from methodlab.components import Batch
from methodlab.step import StepContext, optimizer_step
from torch import nn


def problem():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    batches = [Batch(torch.randn(8, 4), torch.randint(3, (8,))) for _ in range(4)]
    return model, CrossEntropy(), batches


@pytest.mark.parametrize("make", [
    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    lambda p: torch.optim.Adam(p, lr=0.01),
])
def test_plain_optimizer_step_equals_a_hand_written_loop(make):
    model, loss, batches = problem()
    reference = copy.deepcopy(model)
    optimizer, reference_optimizer = make(model.parameters()), make(reference.parameters())
    for index, batch in enumerate(batches):
        value = optimizer_step(optimizer, model, loss, batch, index)

        reference_optimizer.zero_grad()
        expected = nn.functional.cross_entropy(reference(batch.inputs), batch.targets)
        expected.backward()
        reference_optimizer.step()

        assert torch.equal(value, expected.detach())
        assert not value.requires_grad
        for a, b in zip(model.parameters(), reference.parameters(), strict=True):
            assert torch.equal(a, b)


class ContextOptimizer(torch.optim.SGD):
    """A fake curvature optimizer: records its context and steps with a closure."""

    needs_step_context = True

    def __init__(self, params) -> None:
        super().__init__(params, lr=0.1)
        self.contexts: list[StepContext] = []

    def step(self, closure=None, *, context: StepContext):  # type: ignore[override]
        self.contexts.append(context)
        loss = closure()
        assert all(p.grad is not None for p in context.model.parameters())
        super().step()
        return loss


def test_optimizers_that_need_a_context_get_one():
    model, loss, batches = problem()
    optimizer = ContextOptimizer(model.parameters())
    unlabeled = torch.randn(5, 4)
    before = [p.detach().clone() for p in model.parameters()]
    value = optimizer_step(optimizer, model, loss, batches[1], step=7,
                           curvature_inputs=unlabeled)
    (context,) = optimizer.contexts
    assert context.model is model and context.loss is loss and context.batch is batches[1]
    assert context.step == 7 and context.curvature_inputs is unlabeled
    with torch.no_grad():
        expected = nn.functional.cross_entropy(
            torch.func.functional_call(  # the loss at the parameters before the step
                model, dict(zip([n for n, _ in model.named_parameters()], before, strict=True)),
                (batches[1].inputs,)),
            batches[1].targets)
    assert torch.equal(value, expected)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_closure_zeroes_gradients_and_back_propagates():
    model, loss, batches = problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    context = StepContext(model, loss, batches[0])
    closure = context.closure_for(optimizer)
    first = closure()
    grads = [p.grad.clone() for p in model.parameters()]
    second = closure()  # gradients are replaced, not accumulated
    assert torch.equal(first, second)
    for grad, p in zip(grads, model.parameters(), strict=True):
        assert torch.equal(grad, p.grad)
