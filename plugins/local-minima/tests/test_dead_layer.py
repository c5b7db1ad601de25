import torch
from methodlab.builtins.config import DigitsParams
from methodlab.builtins.environments import build_digits
from methodlab.builtins.losses import CrossEntropy
from methodlab_local_minima.config import DeadInitMLPParams
from methodlab_local_minima.evaluators import GradientStats
from methodlab_local_minima.models import build_dead_init_mlp, hidden_parameters


def _digits(batch_size=64):
    return build_digits(DigitsParams(batch_size=batch_size), seed=0, device="cpu",
                        dtype=torch.float64)


def _model(env, **kwargs):
    torch.manual_seed(0)
    return build_dead_init_mlp(DeadInitMLPParams(**kwargs), env=env).double()


def test_dead_init_makes_every_hidden_preactivation_negative():
    env = _digits()
    model = _model(env)
    x = env.splits["train"].inputs
    assert bool((model[0](x) < 0).all())
    assert bool((model[2](model[1](model[0](x))) < 0).all())


def test_dead_layer_gets_exactly_zero_hidden_gradients_for_200_adam_steps():
    env = _digits()
    model = _model(env)
    loss = CrossEntropy()
    hidden = hidden_parameters(model)
    before = [p.detach().clone() for _, p in hidden]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(200):
        optimizer.zero_grad(set_to_none=True)
        loss(model, env.train_batch(step, model)).backward()
        for name, p in hidden:
            assert p.grad is not None, name
            assert torch.count_nonzero(p.grad) == 0, (step, name)
        optimizer.step()
    for (_, p), start in zip(hidden, before, strict=True):
        assert torch.equal(p.detach(), start)  # Adam's update of a zero gradient is exactly 0


def test_leaky_relu_control_gets_hidden_gradients():
    env = _digits()
    model = _model(env, activation="leaky-relu")
    stats = GradientStats("train")(model, env, CrossEntropy())
    assert stats["hidden_grad_norm"] > 0.0


def test_gradient_stats_running_max():
    env = _digits()
    model = _model(env, init="default")
    evaluator = GradientStats("train")
    first = evaluator(model, env, CrossEntropy())
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    second = evaluator(model, env, CrossEntropy())
    assert first["hidden_grad_norm"] > 0.0
    assert second["hidden_grad_norm"] == 0.0  # zero weights: no signal reaches hidden layers
    assert second["hidden_grad_norm_max"] == first["hidden_grad_norm"]
