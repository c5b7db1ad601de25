"""The quantised model, the distillation loss, differentiable quantisation and the evaluators."""

from __future__ import annotations

import copy
import io

import pytest
import torch
import torch.nn.functional as F
from methodlab.builtins.config import DigitsParams
from methodlab.builtins.environments import build_digits
from methodlab.builtins.models import feedforward
from methodlab.components import Batch
from methodlab_quantized_distillation.evaluators import (
    CompressedSize,
    PostTrainingQuantization,
    accuracy,
)
from methodlab_quantized_distillation.losses import DistillationLoss, distillation_loss
from methodlab_quantized_distillation.models import QuantizedModel
from methodlab_quantized_distillation.optimizers import DifferentiableQuantization

DTYPE = torch.float64


def student(quantizer: str = "uniform", bits: int = 2, seed: int = 0, **kw) -> QuantizedModel:
    torch.manual_seed(seed)
    return QuantizedModel(feedforward((6, 5, 3), "relu"), bits=bits, bucket_size=4,
                          quantizer=quantizer, **kw).to(DTYPE)


def batch(seed: int = 1, size: int = 8) -> Batch:
    generator = torch.Generator().manual_seed(seed)
    return Batch(torch.randn(size, 6, generator=generator, dtype=DTYPE),
                 torch.randint(0, 3, (size,), generator=generator))


def test_straight_through_gradient_is_the_gradient_at_the_quantised_weights():
    # Algorithm 1: set w to Q(w), back-propagate, restore w, apply that gradient to w.
    model, data = student(), batch()
    loss = F.cross_entropy(model(data.inputs), data.targets)
    loss.backward()
    deployed = copy.deepcopy(model.net)
    with torch.no_grad():
        for parameter, (name, value) in zip(deployed.parameters(),
                                            model.quantized_parameters().items(), strict=True):
            assert not torch.equal(value, dict(model.net.named_parameters())[name])
            parameter.copy_(value)
    reference = F.cross_entropy(deployed(data.inputs), data.targets)
    reference.backward()
    assert torch.equal(loss, reference)
    for ours, theirs in zip(model.net.parameters(), deployed.parameters(), strict=True):
        assert torch.equal(ours.grad, theirs.grad)


def test_full_precision_and_inactive_learned_models_are_the_plain_network():
    data = batch()
    plain = student("none")
    learned = student("learned")
    expected = plain.net(data.inputs)
    assert torch.equal(plain(data.inputs), expected)
    assert torch.equal(learned(data.inputs), expected)
    assert not learned.is_quantized
    assert all(not p.requires_grad for p in learned.points)


def test_learned_points_get_their_gradient_and_weights_straight_through():
    model, data = student("learned", bits=2), batch()
    model.activate_points()
    out = model(data.inputs)
    upstream = torch.randn(out.shape, generator=torch.Generator().manual_seed(2), dtype=DTYPE)
    (out * upstream).sum().backward()
    # Reference: the gradient with respect to the quantised values q, as leaves.
    quantized = model.quantized()
    leaves = {name: q.values.detach().requires_grad_(True) for name, q in quantized.items()}
    reference = torch.func.functional_call(model.net, leaves, (data.inputs,))
    grads = torch.autograd.grad((reference * upstream).sum(), list(leaves.values()))
    for (name, weight), grad, point, q in zip(model.net.named_parameters(), grads,
                                             model.points, quantized.values(), strict=True):
        assert torch.equal(weight.grad, grad), name  # straight through: dL/dw = dL/dq
        alpha = (q.maximum - q.minimum).repeat_interleave(4)[: grad.numel()]
        expected = torch.zeros(4, dtype=DTYPE).index_add_(0, q.indices.reshape(-1),
                                                          alpha * grad.reshape(-1))
        torch.testing.assert_close(point.grad, expected, rtol=1e-12, atol=1e-14)


def test_evaluation_rounds_deterministically_even_with_stochastic_training():
    model, data = student(stochastic=True), batch()
    model.eval()
    first, second = model(data.inputs), model(data.inputs)
    assert torch.equal(first, second)
    model.train()
    torch.manual_seed(3)
    assert not torch.equal(model(data.inputs), first)


def test_active_points_survive_a_state_dict_round_trip():
    model = student("learned")
    model.activate_points()
    with torch.no_grad():
        model.points[0].add_(0.01)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    restored = student("learned", seed=5)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert restored.is_quantized and all(p.requires_grad for p in restored.points)
    data = batch()
    assert torch.equal(restored(data.inputs), model(data.inputs))


def test_distillation_loss_matches_its_formula():
    generator = torch.Generator().manual_seed(4)
    student_logits = torch.randn(5, 3, generator=generator, dtype=DTYPE)
    teacher_logits = torch.randn(5, 3, generator=generator, dtype=DTYPE)
    targets = torch.tensor([0, 2, 1, 1, 0])
    T, lam = 3.0, 0.7
    p = torch.softmax(teacher_logits / T, -1)
    log_q = torch.log_softmax(student_logits / T, -1)
    kl = (p * (p.log() - log_q)).sum(-1).mean()
    expected = lam * T**2 * kl + (1 - lam) * F.cross_entropy(student_logits, targets)
    torch.testing.assert_close(distillation_loss(student_logits, teacher_logits, targets, T, lam),
                               expected, rtol=1e-12, atol=0.0)
    torch.testing.assert_close(distillation_loss(student_logits, teacher_logits, targets, T, 0.0),
                               F.cross_entropy(student_logits, targets), rtol=1e-12, atol=0.0)


def test_distillation_loss_uses_the_frozen_teacher():
    teacher, model, data = student("none", seed=7), student("none"), batch()
    loss = DistillationLoss(teacher, temperature=2.0, soft_weight=0.7)
    value = loss(model, data)
    expected = distillation_loss(model(data.inputs), teacher(data.inputs).detach(),
                                 data.targets, 2.0, 0.7)
    assert torch.equal(value, expected)
    value.backward()
    assert all(p.grad is None for p in teacher.parameters())


def train(model, optimizer, steps: int) -> None:
    for step in range(steps):
        data = batch(seed=10 + step)
        optimizer.zero_grad()
        F.cross_entropy(model(data.inputs), data.targets).backward()
        optimizer.step()


def test_differentiable_quantization_first_trains_like_sgd_then_only_the_points():
    sgd_model, dq_model = student("none"), student("learned")
    options = {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}
    train(sgd_model, torch.optim.SGD(sgd_model.parameters(), **options), 5)
    optimizer = DifferentiableQuantization(dq_model, switch_step=5, points_lr=1e-2, **options)
    train(dq_model, optimizer, 5)
    for a, b in zip(sgd_model.net.parameters(), dq_model.net.parameters(), strict=True):
        assert torch.equal(a, b)
    assert dq_model.is_quantized
    weights = [w.detach().clone() for w in dq_model.net.parameters()]
    initial = [p.detach().clone() for p in dq_model.points]
    train(dq_model, optimizer, 5)
    for before, after in zip(weights, dq_model.net.parameters(), strict=True):
        assert torch.equal(before, after)
    for before, after in zip(initial, dq_model.points, strict=True):
        assert not torch.equal(before, after)
        assert bool((after[1:] >= after[:-1]).all())


def test_differentiable_quantization_needs_a_learned_model():
    with pytest.raises(ValueError, match="learned"):
        DifferentiableQuantization(student("uniform"), lr=0.1)


@pytest.fixture(scope="module")
def digits():
    return build_digits(DigitsParams(), seed=0, device="cpu", dtype=DTYPE)


def test_post_training_quantization_evaluates_the_quantised_copy(digits):
    torch.manual_seed(0)
    net = feedforward((64, 16, 10), "relu").to(DTYPE)
    original = [p.detach().clone() for p in net.parameters()]
    metrics = PostTrainingQuantization(bits=2, bucket_size=64, split="test")(net, digits, None)
    for before, after in zip(original, net.parameters(), strict=True):
        assert torch.equal(before, after)
    deployed = QuantizedModel(net, bits=2, bucket_size=64, quantizer="uniform").eval()
    assert metrics["accuracy"] == accuracy(deployed, digits, "test")
    assert metrics["error"] == 1.0 - metrics["accuracy"]
    assert metrics == pytest.approx({**metrics, **CompressedSize()(deployed, digits, None)})


def test_sizes_count_codes_and_bucket_overhead(digits):
    torch.manual_seed(0)
    net = feedforward((64, 64, 10), "relu")  # 4,160 + 650 = 4,810 parameters
    full = CompressedSize()(net, digits, None)
    assert full["bits_per_weight"] == full["huffman_bits_per_weight"] == 32.0
    assert full["size_kb"] == 4810 * 4 / 1000
    model = QuantizedModel(net, bits=2, bucket_size=64, quantizer="uniform").eval()
    size = CompressedSize()(model, digits, None)
    buckets = 4096 // 64 + 1 + 640 // 64 + 1  # weights and biases, last buckets short
    assert size["bits_per_weight"] == (2 * 4810 + 64 * buckets) / 4810
    assert 1.0 + 64 * buckets / 4810 <= size["huffman_bits_per_weight"] <= size["bits_per_weight"]
