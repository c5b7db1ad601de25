import torch
from methodlab_metric_free_natural_gradient.boltzmann import BoltzmannMachine, binary_states


def random_machine(sizes, *, chains=8, scale=0.7, seed=0):
    """A float64 machine with non-trivial weights, biases and offsets."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BoltzmannMachine(sizes, chains=chains, visible_mean=torch.rand(sizes[0])).double()
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(scale * torch.randn_like(p))
    return model


def joint_distribution(model):
    """All joint configurations (2^N, N) and their exact probabilities (2^N,)."""
    states = binary_states(sum(model.sizes))
    with torch.no_grad():
        probs = torch.softmax(-model(states), 0)
    return states, probs
