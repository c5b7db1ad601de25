r"""Evaluators: gradient norms (whole and hidden layers) and the plain mean squared error."""

from __future__ import annotations

import torch
from methodlab.components import Batch, Environment, Evaluator, Loss
from torch import nn

from methodlab_local_minima.config import GradientStatsParams, SquaredErrorParams
from methodlab_local_minima.models import hidden_parameters

__all__ = ["GradientStats", "SquaredError", "build_gradient_stats", "build_squared_error"]


def _whole_split(env: Environment, split: str) -> Batch:
    batches = list(env.split(split))
    targets = None if batches[0].targets is None else torch.cat([b.targets for b in batches])
    return Batch(torch.cat([b.inputs for b in batches]), targets)


class GradientStats(Evaluator):
    r"""Norms of the full-split gradient :math:`g = \nabla_\theta L(\theta)`.

    Metrics:
        ``grad_norm``: :math:`\|g\|_2` over all parameters;
        ``hidden_grad_norm``: :math:`\|g_{\text{hidden}}\|_2` over every layer but the output
        layer (exactly 0 when every hidden ReLU unit is inactive on every point);
        ``hidden_grad_norm_max``: the largest ``hidden_grad_norm`` seen by this evaluator so far
        in the trial (run it with ``every = 1`` to get the maximum over all steps; it restarts
        from the current value after a resume).

    References:
        Local minima in training of neural networks (Swirszcz, Czarnecki & Pascanu, 2016)
        https://arxiv.org/abs/1611.06310

    Example:
        >>> from methodlab.builtins.losses import MeanSquaredError
        >>> from methodlab.supervised import SupervisedEnvironment
        >>> from methodlab.components import EnvInfo
        >>> x = torch.randn(8, 3)
        >>> env = SupervisedEnvironment({"train": Batch(x, x[:, :1])}, EnvInfo(3, 1))
        >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
        >>> with torch.no_grad():
        ...     _ = net[0].bias.fill_(-100.0)  # every hidden unit dead
        >>> GradientStats("train")(net, env, MeanSquaredError())["hidden_grad_norm"]
        0.0
    """

    def __init__(self, split: str) -> None:
        self.split = split
        self.running_max = 0.0

    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        batch = _whole_split(env, self.split)
        hidden = {id(p) for _, p in hidden_parameters(model)}
        params = [p for p in model.parameters() if p.requires_grad]
        with torch.enable_grad():
            grads = torch.autograd.grad(loss(model, batch), params, allow_unused=True)
        squares = [0.0 if g is None else float(g.pow(2).sum()) for g in grads]
        total = sum(squares) ** 0.5
        hidden_norm = sum(s for s, p in zip(squares, params, strict=True)
                          if id(p) in hidden) ** 0.5
        self.running_max = max(self.running_max, hidden_norm)
        return {"grad_norm": total, "hidden_grad_norm": hidden_norm,
                "hidden_grad_norm_max": self.running_max}


class SquaredError(Evaluator):
    r"""Plain mean squared error :math:`\frac{1}{N}\sum_i \|f(x_i) - y_i\|^2`: metric ``mse``.

    The builtin ``mse`` loss carries a factor ½; the paper's numbers (0.125 at the blind
    spot) are the plain mean.

    Example:
        >>> from methodlab.supervised import SupervisedEnvironment
        >>> from methodlab.components import EnvInfo
        >>> x = torch.tensor([[1.0], [2.0]])
        >>> env = SupervisedEnvironment({"train": Batch(x, x + 1)}, EnvInfo(1, 1))
        >>> SquaredError("train")(nn.Identity(), env, None)
        {'mse': 1.0}
    """

    def __init__(self, split: str) -> None:
        self.split = split

    @torch.no_grad()
    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        total, count = 0.0, 0
        for batch in env.split(self.split):
            error = model(batch.inputs) - batch.targets.reshape(len(batch.inputs), -1)
            total += float(error.pow(2).sum(-1).sum())
            count += len(batch.inputs)
        return {"mse": total / count}


def build_gradient_stats(params: GradientStatsParams, *, env: Environment) -> GradientStats:
    """Build the evaluator of ``use = "gradient-stats"``."""
    return GradientStats(params.split)


def build_squared_error(params: SquaredErrorParams, *, env: Environment) -> SquaredError:
    """Build the evaluator of ``use = "squared-error"``."""
    return SquaredError(params.split)
