r"""The exact-expectation bandit and the minimal model.

How the ODE runs in methodlab's generic loop: the environment serves all K contexts as every
batch, so the loss *is* the exact expected objective; the model holds θ; plain ``sgd`` with
``lr = dt`` is then exactly one explicit Euler step of the gradient flow
:math:`\dot\theta = -\nabla_\theta L`, and ``u`` updates are ``u · lr`` time units. On such
batches the losses (:mod:`~methodlab_ray_interference.losses`) sum over contexts
(:math:`J = \sum_k J_k`, as in the paper).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from methodlab.components import Batch, EnvInfo, Environment
from torch import nn

from methodlab_ray_interference.config import ExactBanditParams, InterferenceLogitsParams
from methodlab_ray_interference.dynamics import context_directions

__all__ = [
    "ExactBandit",
    "InterferenceLogits",
    "build_exact_bandit",
    "build_interference_logits",
]


class ExactBandit(Environment):
    r"""K contexts, 2 arms, every context in every batch: exact expected gradients.

    The batch is ``Batch(inputs, targets)`` with one-hot contexts ``inputs`` of shape
    ``(K, K)`` and good arms ``targets = 0`` of shape ``(K,)`` (long). The ``train`` split is
    the same batch. The environment is also the clock: ``updates`` counts the batches served,
    which equals the number of updates done when evaluators run (checkpointed, so it survives
    a resume).

    Example:
        >>> env = ExactBandit(3, device="cpu", dtype=torch.float64)
        >>> batch = env.train_batch(0, None)
        >>> tuple(batch.inputs.shape), batch.targets.tolist(), env.updates
        ((3, 3), [0, 0, 0], 1)
    """

    def __init__(self, contexts: int, *, device: str, dtype: torch.dtype) -> None:
        self.info = EnvInfo(contexts, 2, "bandit", contexts)
        self.batch = Batch(torch.eye(contexts, dtype=dtype, device=device),
                           torch.zeros(contexts, dtype=torch.long, device=device))
        self.updates = 0

    def contexts(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every context's observation ``(K, K)`` and good arm ``(K,)``."""
        return self.batch.inputs, self.batch.targets

    def train_batch(self, step: int, model: nn.Module) -> Batch:
        self.updates = step + 1
        return self.batch

    def split(self, name: str) -> Iterable[Batch]:
        if name != "train":
            raise KeyError(f"unknown split {name!r}; exact-bandit has: train")
        return [self.batch]

    def state_dict(self) -> dict[str, Any]:
        return {"updates": self.updates}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.updates = int(state["updates"])


class InterferenceLogits(nn.Module):
    r"""The minimal model: logits :math:`(d_k, 0)` with :math:`d = W\theta`.

    .. math::

        \pi(\text{good}\mid k) = \sigma(d_k), \qquad d_k = w_k^\top\theta,
        \qquad WW^\top = G = (1-\rho)I + \rho\mathbf{1}\mathbf{1}^\top.

    θ starts at :math:`W^{-1}d_0`, so every ρ starts from the same logits :math:`d_0`.

    Arguments:
        start: :math:`d_0`, one logit difference per context (length K).
        interference: ρ; 0 means no sharing (:math:`W = I`).

    Shapes:
        input ``(B, K)`` one-hot contexts (any context features work: ``d = x W θ``);
        output ``(B, 2)`` logits of (good arm, bad arm).

    Example:
        >>> net = InterferenceLogits((0.0, -3.0), -0.7).double()
        >>> torch.sigmoid(net.logits()).tolist()  # J at the start
        [0.5, 0.04742587317756678]
    """

    def __init__(self, start: tuple[float, ...], interference: float) -> None:
        super().__init__()
        self.interference = interference
        directions = context_directions(len(start), interference)  # (K, K)
        self.register_buffer("directions", directions)
        target = torch.tensor(start, dtype=directions.dtype).unsqueeze(1)  # (K, 1)
        self.theta = nn.Parameter(torch.linalg.solve_triangular(directions, target,
                                                                upper=False).squeeze(1))

    def logits(self) -> torch.Tensor:
        """Per-context logit differences :math:`d = W\\theta`, shape ``(K,)``."""
        return self.directions @ self.theta

    def forward(self, contexts: torch.Tensor) -> torch.Tensor:
        d = contexts @ self.logits()  # (B,)
        return torch.stack([d, torch.zeros_like(d)], dim=-1)  # (B, 2)

    def extra_repr(self) -> str:
        return f"contexts={len(self.theta)}, interference={self.interference}"


def build_exact_bandit(params: ExactBanditParams, *, seed: int, device: str,
                       dtype: torch.dtype) -> ExactBandit:
    """Build ``use = "exact-bandit"`` (deterministic: the seed is not used)."""
    return ExactBandit(params.contexts, device=device, dtype=dtype)


def build_interference_logits(params: InterferenceLogitsParams, *,
                              env: Environment) -> InterferenceLogits:
    """Build ``use = "interference-logits"``; ``start`` must have one entry per context."""
    if len(params.start) != env.info.in_features:
        raise ValueError(f"'start' has {len(params.start)} logits but the environment has "
                         f"{env.info.in_features} contexts")
    return InterferenceLogits(params.start, params.interference)
