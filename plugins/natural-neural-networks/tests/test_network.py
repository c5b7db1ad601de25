import pytest
import torch
from methodlab.builtins.models import feedforward
from methodlab_natural_neural_networks.network import WhitenedLinear, WhitenedNetwork
from torch import nn

SIZES = (64, 32, 16, 32, 64)


def trained_like(net, digits, refreshes=3):
    """A network several reparametrisations and parameter changes away from c = 0, U = I."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for round_ in range(refreshes):
            net.reparametrize(digits[round_ * 400 : round_ * 400 + 500])
            for p in net.parameters():
                p.add_(0.05 * torch.randn(p.shape, generator=generator, dtype=p.dtype))
    return net


@pytest.mark.parametrize("whitening", ["pca", "zca"])
@pytest.mark.parametrize("epsilon", [1e-3, 1e-1])
def test_reparametrisation_leaves_the_function_unchanged_float64(digits, whitening, epsilon):
    torch.manual_seed(0)
    net = WhitenedNetwork.feedforward(SIZES, "tanh", epsilon=epsilon, whitening=whitening)
    net = trained_like(net.double(), digits)
    with torch.no_grad():
        before = net(digits)
        net.reparametrize(digits[700:1200])
        after = net(digits)
    assert float((after - before).abs().max()) < 1e-10


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_prong_plus_reparametrisation_is_invariant_in_both_modes(digits, mode):
    torch.manual_seed(0)
    net = WhitenedNetwork.feedforward(SIZES, "tanh", batch_norm=True).double()
    net.train()
    net(digits[:256])  # give the running statistics something to hold
    net = trained_like(net, digits)
    getattr(net, mode)()
    with torch.no_grad():
        before = net(digits)
        running = [b.clone() for name, b in net.named_buffers() if "running" in name]
        net.reparametrize(digits[:500])
        # The statistics pass does not move batch normalisation's running statistics.
        now = [b.clone() for name, b in net.named_buffers() if "running" in name]
        after = net(digits)
    assert all(torch.equal(a, b) for a, b in zip(running, now, strict=True))
    assert float((after - before).abs().max()) < 1e-10


def test_centring_and_whitening_buffers_get_no_gradient(digits):
    torch.manual_seed(0)
    net = WhitenedNetwork.feedforward(SIZES, "tanh").double()
    net.reparametrize(digits[:500])
    names = [name for name, _ in net.named_parameters()]
    assert not any(name.endswith((".c", ".U")) for name in names)
    net(digits[:64]).pow(2).sum().backward()
    for layer in net.whitened_layers():
        assert not layer.c.requires_grad and layer.c.grad is None
        assert not layer.U.requires_grad and layer.U.grad is None
        assert layer.V.grad is not None and layer.d.grad is not None


def test_buffers_are_in_the_state_dict_and_restore_the_function(digits):
    torch.manual_seed(0)
    net = WhitenedNetwork.feedforward(SIZES, "tanh").double()
    net.reparametrize(digits[:500])
    state = net.state_dict()
    assert {"body.0.c", "body.0.U", "body.6.c", "body.6.U"} <= set(state)
    torch.manual_seed(1)
    fresh = WhitenedNetwork.feedforward(SIZES, "tanh").double()
    fresh.load_state_dict(state)
    assert torch.equal(fresh(digits), net(digits))


def test_starts_as_the_plain_network_with_the_same_random_draws(digits):
    torch.manual_seed(3)
    plain = feedforward(SIZES, "tanh").double()
    after_plain = torch.rand(1)
    torch.manual_seed(3)
    net = WhitenedNetwork.feedforward(SIZES, "tanh").double()
    after_whitened = torch.rand(1)
    assert torch.equal(net(digits), plain(digits))
    assert torch.equal(after_plain, after_whitened)


def test_canonical_network_computes_the_same_function(digits):
    torch.manual_seed(0)
    net = trained_like(WhitenedNetwork.feedforward(SIZES, "tanh").double(), digits)
    plain = net.canonical_network()
    assert all(type(m) is not WhitenedLinear for m in plain.modules())
    assert torch.allclose(plain(digits), net(digits), atol=1e-10, rtol=0)


def test_float32_reparametrisation_is_invariant_to_float32_precision(digits):
    torch.manual_seed(0)
    net = WhitenedNetwork.feedforward(SIZES, "tanh")
    x = digits.float()
    with torch.no_grad():
        before = net(x)
        net.reparametrize(x[:500])
        assert float((net(x) - before).abs().max()) < 1e-4


def test_layer_repr_and_construction():
    layer = WhitenedLinear(3, 2)
    assert repr(layer) == "WhitenedLinear(in_features=3, out_features=2)"
    assert torch.equal(layer.U, torch.eye(3)) and torch.equal(layer.c, torch.zeros(3))
    with pytest.raises(ValueError, match="epsilon"):
        WhitenedNetwork(nn.Sequential(layer), epsilon=0.0)
    with pytest.raises(ValueError, match="no WhitenedLinear"):
        WhitenedNetwork(nn.Sequential(nn.Linear(2, 2)))


def test_reparametrize_does_not_track_gradients(digits):
    net = WhitenedNetwork.feedforward((64, 8, 64), "tanh").double()
    net.reparametrize(digits[:100])
    assert all(p.grad_fn is None and p.is_leaf and p.requires_grad for p in net.parameters())
