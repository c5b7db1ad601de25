r"""Environments whose targets carry values and input derivatives.

``sobolev-function`` samples one of the paper's 2-D benchmark functions; ``sobolev-distillation``
trains a teacher MLP on digits (deterministically, inside the factory) and serves its logits
and input Jacobians on a small transfer set.

With standardisation, inputs are mapped to :math:`u = (x - c)/s \in [-1, 1]^2` (``c`` the
domain's centre, ``s`` its half-widths) and values to :math:`z = (f - \mu)/\sigma` (training
mean and standard deviation); by the chain rule the gradient targets become
:math:`\partial z / \partial u_i = s_i \, \partial f / \partial x_i / \sigma`, so values and
derivatives stay consistent.

References:
    Czarnecki, Osindero, Jaderberg, Swirszcz, Pascanu (2017), "Sobolev training for neural
    networks", NeurIPS, arXiv:1706.04859, Sections 4.1 (regression) and 4.2 (distillation).
"""

from __future__ import annotations

import functools

import torch
from methodlab.builtins.environments import digits_split
from methodlab.builtins.models import feedforward
from methodlab.components import Batch, EnvInfo
from methodlab.supervised import SupervisedEnvironment

from methodlab_sobolev.config import DistillationParams, SobolevFunctionParams
from methodlab_sobolev.functions import FUNCTIONS

__all__ = ["build_distillation", "build_sobolev_function", "function_data", "input_jacobians"]


def function_data(params: SobolevFunctionParams, seed: int) -> dict[str, Batch]:
    """Train and test splits in float64 on the CPU; targets ``(B, 3)`` = value, gradient.

    Example:
        >>> splits = function_data(SobolevFunctionParams("booth", n_train=20, n_test=5), 0)
        >>> splits["train"].targets.shape, round(float(splits["train"].targets[:, 0].std()), 6)
        (torch.Size([20, 3]), 1.0)
    """
    function = FUNCTIONS[params.function]
    low = torch.tensor(function.low, dtype=torch.float64)
    high = torch.tensor(function.high, dtype=torch.float64)
    generator = torch.Generator().manual_seed(params.data_seed * 1_000_003 + seed)
    n = params.n_train + params.n_test
    points = low + (high - low) * torch.rand(n, 2, generator=generator, dtype=torch.float64)
    values, gradients = function.evaluate(points)
    if params.standardise:
        centre, half = (low + high) / 2, (high - low) / 2
        mean = values[: params.n_train].mean()
        std = values[: params.n_train].std() if params.n_train > 1 else values.new_tensor(1.0)
        std = std if std > 0 else values.new_tensor(1.0)
        points = (points - centre) / half
        values = (values - mean) / std
        gradients = gradients * half / std
    targets = torch.cat([values.unsqueeze(-1), gradients], -1)
    return {
        "train": Batch(points[: params.n_train], targets[: params.n_train]),
        "test": Batch(points[params.n_train :], targets[params.n_train :]),
    }


def build_sobolev_function(
    params: SobolevFunctionParams, *, seed: int, device: str, dtype: torch.dtype
) -> SupervisedEnvironment:
    splits = {name: Batch(b.inputs.to(device, dtype), b.targets.to(device, dtype))
              for name, b in function_data(params, seed).items()}
    info = EnvInfo(2, 1, "regression", params.n_train)
    return SupervisedEnvironment(splits, info, batch_size=params.batch_size, seed=seed)


def input_jacobians(model: torch.nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Jacobians ``(B, C, D)`` of ``model`` at each row of ``inputs`` ``(B, D)``."""
    with torch.enable_grad():
        x = inputs.detach().requires_grad_(True)
        outputs = model(x)
        rows = [torch.autograd.grad(outputs[:, c].sum(), x, retain_graph=True)[0]
                for c in range(outputs.shape[-1])]
    return torch.stack(rows, 1)


@functools.lru_cache(maxsize=4)
def _teacher_data(params: DistillationParams) -> dict[str, Batch]:
    """Transfer and test sets labelled by the teacher (float64, CPU), cached per process:
    every arm and seed of a run rebuilds the environment, and the teacher is the same."""
    x_train, x_test, y_train, _ = digits_split()
    x_train_t = torch.as_tensor(x_train, dtype=torch.float64)
    y_train_t = torch.as_tensor(y_train, dtype=torch.long)
    x_test_t = torch.as_tensor(x_test, dtype=torch.float64)[: params.n_test]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(params.teacher_seed)
        teacher = feedforward((64, *params.teacher_hidden, 10), "relu").double()
        optimizer = torch.optim.Adam(teacher.parameters(), lr=1e-2)
        for _ in range(params.teacher_steps):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(teacher(x_train_t), y_train_t).backward()
            optimizer.step()
    teacher.eval()
    generator = torch.Generator().manual_seed(params.teacher_seed)
    order = torch.randperm(len(x_train_t), generator=generator)
    transfer = x_train_t[order[: params.n_transfer]]
    if params.n_perturbed:
        noisy = transfer.repeat(params.n_perturbed, 1)
        noisy = noisy + params.noise * torch.randn(noisy.shape, generator=generator,
                                                   dtype=torch.float64)
        transfer = torch.cat([transfer, noisy])

    def label(inputs: torch.Tensor) -> Batch:
        with torch.no_grad():
            logits = teacher(inputs)
        jacobians = input_jacobians(teacher, inputs).flatten(1)
        return Batch(inputs, torch.cat([logits, jacobians], -1))

    return {"train": label(transfer), "test": label(x_test_t)}


def build_distillation(
    params: DistillationParams, *, seed: int, device: str, dtype: torch.dtype
) -> SupervisedEnvironment:
    splits = {name: Batch(b.inputs.to(device, dtype), b.targets.to(device, dtype))
              for name, b in _teacher_data(params).items()}
    info = EnvInfo(64, 10, "regression", len(splits["train"].inputs))
    return SupervisedEnvironment(splits, info, seed=seed)
