"""Small networks and a dense Hessian for the tests."""

import torch
from methodlab import curvature
from methodlab_sharp_minima.environments import moons
from torch import nn
from torch.func import functional_call


def relu_net(sizes, seed=0):
    torch.manual_seed(seed)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers).double()


def moons_data(n=64):
    batch = moons(n, 0.1, 0)
    return batch.inputs, batch.targets


def flat_loss(model, loss, inputs, targets):
    names = [n for n, _ in model.named_parameters()]
    like = [p.detach() for p in model.parameters()]

    def objective(flat):
        values = dict(zip(names, curvature.unflatten_like(flat, like), strict=True))
        return loss.from_outputs(functional_call(model, values, (inputs,)), targets)

    return objective, curvature.flatten(like)


def dense_gradient(model, loss, inputs, targets):
    objective, theta = flat_loss(model, loss, inputs, targets)
    return torch.autograd.functional.jacobian(objective, theta)


def dense_hessian(model, loss, inputs, targets):
    objective, theta = flat_loss(model, loss, inputs, targets)
    return torch.autograd.functional.hessian(objective, theta)
