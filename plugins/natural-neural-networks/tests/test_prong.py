import io

import pytest
import torch
from methodlab.components import Batch
from methodlab.plugin_manager import get_plugin_system
from methodlab.runfile import validate_document
from methodlab.runner import Trial
from methodlab.step import StepContext
from methodlab_natural_neural_networks.network import WhitenedNetwork
from methodlab_natural_neural_networks.prong import PRONG


def bce(net, x):
    return torch.nn.functional.binary_cross_entropy_with_logits(net(x), x)


def test_refreshes_after_updates_that_are_multiples_of_the_period(digits):
    torch.manual_seed(0)
    net = WhitenedNetwork.feedforward((64, 8, 64), "tanh").double()
    opt = PRONG(net, lr=0.1, period=3, num_samples=100)
    counts = []
    for step in range(7):
        x = digits[step * 32 : (step + 1) * 32]
        opt.zero_grad()
        bce(net, x).backward()
        opt.step(inputs=x)
        counts.append(opt.reparametrizations)
    assert counts == [1, 1, 1, 2, 2, 2, 3]  # after updates 0, 3 and 6
    # The refresh sample is the most recent N_s inputs.
    recent = opt.state[next(iter(net.parameters()))]["recent_inputs"]
    assert torch.equal(recent, digits[7 * 32 - 100 : 7 * 32])


def test_between_refreshes_the_step_is_sgd_on_the_whitened_parameters(digits):
    torch.manual_seed(0)
    net = WhitenedNetwork.feedforward((64, 8, 64), "tanh").double()
    opt = PRONG(net, lr=0.5, period=1000, num_samples=200)
    for step in range(2):  # update 0 refreshes, update 1 must be plain SGD on V, d
        x = digits[step * 100 : (step + 1) * 100]
        opt.zero_grad()
        bce(net, x).backward()
        expected = [p - 0.5 * p.grad for p in net.parameters()]
        buffers = [b.clone() for b in net.buffers()]
        opt.step(inputs=x)
    assert all(torch.equal(p, e) for p, e in zip(net.parameters(), expected, strict=True))
    assert all(torch.equal(b, c) for b, c in zip(net.buffers(), buffers, strict=True))


def test_in_a_methodlab_step_it_uses_the_context_batch(digits):
    torch.manual_seed(0)
    net = WhitenedNetwork.feedforward((64, 8, 64), "tanh").double()
    opt = PRONG(net, lr=0.1, period=2, num_samples=50)
    ctx = StepContext(net, lambda model, batch: bce(model, batch.inputs), Batch(digits[:40]),
                      step=4)
    loss = opt.step(ctx.closure_for(opt), context=ctx)
    assert loss is not None and opt.reparametrizations == 1
    assert opt.state[next(iter(net.parameters()))]["step"] == 5


def test_needs_a_reparametrisable_model_and_valid_settings():
    with pytest.raises(TypeError, match="reparametrize"):
        PRONG(torch.nn.Linear(2, 2), lr=0.1)
    net = WhitenedNetwork.feedforward((2, 2), "tanh")
    for kwargs, match in [({"lr": 0.0}, "learning rate"), ({"period": 0}, "period"),
                          ({"num_samples": 1}, "N_s")]:
        with pytest.raises(ValueError, match=match):
            PRONG(net, **kwargs)


def test_a_refresh_without_inputs_explains_what_to_pass():
    net = WhitenedNetwork.feedforward((2, 2), "tanh")
    opt = PRONG(net, lr=0.1)
    net(torch.rand(3, 2)).sum().backward()
    with pytest.raises(RuntimeError, match="step\\(inputs=x\\)"):
        opt.step()


def _trial(document):
    plugins = get_plugin_system()
    return Trial(validate_document(document, "<test>", plugins).arms[0], seed=0, plugins=plugins)


def _document(batch_norm):
    return {
        "name": "t", "seeds": [0], "train": {"steps": 8, "dtype": "float64"},
        "environment": {"use": "digits", "task": "reconstruction", "batch_size": 32},
        "model": {"use": "whitened-autoencoder", "sizes": [64, 16, 8, 16, 64],
                  "batch_norm": batch_norm},
        "loss": {"use": "bernoulli-cross-entropy"},
        "optimizer": {"use": "prong", "lr": 0.05, "period": 3, "num_samples": 64},
    }


@pytest.mark.parametrize("batch_norm", [False, True], ids=["prong", "prong-plus"])
def test_trains_and_resumes_bitwise_in_the_generic_loop(batch_norm):
    with torch.random.fork_rng(devices=[]):
        trial = _trial(_document(batch_norm))
        losses = [trial.train_step() for _ in range(5)]
        assert all(torch.isfinite(torch.tensor(losses)))
        assert trial.optimizer.reparametrizations == 2  # after updates 0 and 3
        if batch_norm:
            assert any(isinstance(m, torch.nn.BatchNorm1d) for m in trial.model.modules())
        buffer = io.BytesIO()
        torch.save(trial.state_dict(), buffer)
        buffer.seek(0)
        restored = _trial(_document(batch_norm))
        restored.load_state_dict(torch.load(buffer, weights_only=True))
        # Update 6 refreshes again: the restored sample buffer must equal the original's.
        for _ in range(3):
            assert trial.train_step() == restored.train_step()
        for a, b in zip(trial.model.state_dict().values(), restored.model.state_dict().values(),
                        strict=True):
            assert torch.equal(a, b)
