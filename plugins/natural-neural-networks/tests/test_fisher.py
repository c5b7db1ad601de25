import math

import pytest
import torch
from methodlab.builtins.losses import BernoulliCrossEntropy, CrossEntropy
from methodlab.components import Batch
from methodlab_natural_neural_networks.fisher import (
    FisherConditioning,
    condition_number,
    fisher_blocks,
    parameter_blocks,
)
from methodlab_natural_neural_networks.network import WhitenedNetwork
from torch import nn


def brute_force_block(net, loss, batch, names):
    """Σ_n J_nᵀ H_n J_n / N with autograd, one output coordinate at a time."""
    params = [p for n, p in net.named_parameters() if n in names]
    total = 0
    for x, y in zip(batch.inputs, batch.targets, strict=True):
        out = net(x.unsqueeze(0)).squeeze(0)
        rows = []
        for k in range(len(out)):
            grads = torch.autograd.grad(out[k], params, retain_graph=True)
            rows.append(torch.cat([g.flatten() for g in grads]))
        J = torch.stack(rows)
        o = out.detach().requires_grad_()
        H = torch.autograd.functional.hessian(
            lambda z, y=y: loss.from_outputs(z.unsqueeze(0), y.unsqueeze(0)), o)
        total = total + J.T @ H @ J
    return total / len(batch.inputs)


@pytest.mark.parametrize("loss_kind", ["softmax", "bernoulli"])
def test_blocks_match_a_brute_force_gauss_newton(loss_kind):
    torch.manual_seed(0)
    net = WhitenedNetwork.feedforward((4, 3, 5), "tanh").double()
    x = torch.rand(6, 4, dtype=torch.float64)
    net.reparametrize(x)
    if loss_kind == "softmax":
        loss, y = CrossEntropy(), torch.tensor([0, 1, 2, 3, 4, 0])
    else:
        loss, y = BernoulliCrossEntropy(), torch.rand(6, 5, dtype=torch.float64)
    batch = Batch(x, y)
    blocks = fisher_blocks(net, loss, batch)
    assert list(blocks) == ["body.0", "body.2"]
    for block, names in parameter_blocks(net).items():
        expected = brute_force_block(net, loss, batch, names)
        assert torch.allclose(blocks[block], expected, atol=1e-12)


def test_condition_number_ignores_the_null_space_and_reports_the_rank():
    F = torch.diag(torch.tensor([10.0, 1.0, 1e-20, 0.0], dtype=torch.float64))
    assert condition_number(F) == (10.0, 2)
    assert condition_number(torch.zeros(2, 2)) == (math.inf, 0)


def test_whitening_improves_the_conditioning_of_the_same_function(digits):
    torch.manual_seed(0)
    net = WhitenedNetwork.feedforward((64, 8, 10), "tanh", epsilon=0.1).double()
    net.reparametrize(digits[:500])
    targets = torch.arange(len(digits)) % 10
    evaluator = FisherConditioning(num_samples=300)

    class Env:
        def split(self, name):
            yield Batch(digits, targets)

    metrics = evaluator(net, Env(), CrossEntropy())
    assert metrics["mean_condition"] < metrics["canonical.mean_condition"]
    assert metrics["rank.1"] == metrics["canonical.rank.1"]
    assert all(math.isfinite(v) for v in metrics.values())


def test_needs_an_output_loss():
    with pytest.raises(TypeError, match="output loss"):
        FisherConditioning()(nn.Linear(2, 2), None, lambda model, batch: 0.0)
