r"""Per-context success, time to solve and plateau speed of a bandit learner."""

from __future__ import annotations

import torch
from methodlab.components import Environment, Evaluator, Loss
from torch import nn

from methodlab_ray_interference.config import BanditDynamicsParams
from methodlab_ray_interference.exact import ExactBandit
from methodlab_ray_interference.models import policy_logits

__all__ = ["BanditDynamics", "build_bandit_dynamics", "updates_done"]


def updates_done(env: Environment) -> int:
    """The number of updates done, from an ``exact-bandit`` or a one-step ``gymnasium`` env.

    ``exact-bandit`` counts its batches. The ``gymnasium`` environment logs every finished
    training episode with the update whose rollout ended it; one-step bandit episodes end in
    every rollout, so the last logged update + 1 is the count.
    """
    if isinstance(env, ExactBandit):
        return env.updates
    ended = env.episodes["step"]
    return int(ended[-1]) + 1 if ended else 0


class BanditDynamics(Evaluator):
    r"""How far a bandit learner is: :math:`J_k = \pi(\text{good arm}\mid k)` for every context.

    Metrics:
        ``j1`` … ``jK``: :math:`J_k` (exact, from the policy on each context's observation);
        ``objective``: :math:`\frac1K\sum_k J_k`, the expected reward per context;
        ``solved``: number of contexts with :math:`J_k \ge` ``threshold``;
        ``solved_all``: 1 once every context is solved at an evaluation, else 0;
        ``updates_to_solve``: the updates done at the first evaluation with every context
        solved (resolution: the evaluator's ``every``); while unsolved, the updates done so
        far (a lower bound: the learner has not solved it yet);
        ``speed`` (``exact-bandit`` only): :math:`\frac{d}{dt}\frac1K\sum_k J_k =
        \nabla_\theta \bar J \cdot (-\nabla_\theta L)` under gradient flow of the run's loss,
        per unit of time (one ``sgd`` update with learning rate η is η time units). A plateau
        is a stretch where this is near zero while ``solved < K``.

    Arguments:
        threshold: a context is solved at :math:`J_k \ge` ``threshold``.
        observations: every context's observation, ``(K, D)``.
        good_arms: every context's good arm, ``(K,)`` long.

    The first-passage time is the evaluator's own state: it restarts after a resume.

    Example (the on-policy learner in the K = 2 interference setting, before any update):
        >>> from methodlab_ray_interference.exact import InterferenceLogits
        >>> from methodlab_ray_interference.losses import ExpectedReward
        >>> env = ExactBandit(2, device="cpu", dtype=torch.float64)
        >>> net = InterferenceLogits((0.0, -3.0), -0.7).double()
        >>> m = BanditDynamics(0.9, *env.contexts())(net, env, ExpectedReward())
        >>> round(m["j2"], 4), m["solved"], m["updates_to_solve"], round(m["speed"], 4)
        (0.0474, 0.0, 0.0, 0.0244)
    """

    def __init__(self, threshold: float, observations: torch.Tensor,
                 good_arms: torch.Tensor) -> None:
        self.threshold = threshold
        self.observations = observations
        self.good_arms = good_arms
        self.first_solved: int | None = None

    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        with torch.no_grad():
            success = torch.softmax(policy_logits(model, self.observations), dim=-1)
            success = success.gather(1, self.good_arms.unsqueeze(1)).squeeze(1)  # (K,)
        solved = int((success >= self.threshold).sum())
        updates = updates_done(env)
        if solved == len(success) and self.first_solved is None:
            self.first_solved = updates
        metrics = {f"j{k + 1}": float(value) for k, value in enumerate(success)}
        metrics.update({
            "objective": float(success.mean()),
            "solved": float(solved),
            "solved_all": float(self.first_solved is not None),
            "updates_to_solve": float(updates if self.first_solved is None
                                      else self.first_solved),
        })
        if isinstance(env, ExactBandit):
            metrics["speed"] = self._speed(model, env, loss)
        return metrics

    def _speed(self, model: nn.Module, env: ExactBandit, loss: Loss) -> float:
        params = [p for p in model.parameters() if p.requires_grad]
        with torch.enable_grad():
            success = torch.softmax(policy_logits(model, self.observations), dim=-1)
            objective = success.gather(1, self.good_arms.unsqueeze(1)).mean()
            up = torch.autograd.grad(objective, params, allow_unused=True)
            down = torch.autograd.grad(loss(model, env.batch), params, allow_unused=True)
        return -sum(float((a * b).sum()) for a, b in zip(up, down, strict=True)
                    if a is not None and b is not None)


def build_bandit_dynamics(params: BanditDynamicsParams, *, env: Environment) -> BanditDynamics:
    """Build ``use = "bandit-dynamics"`` for ``exact-bandit`` or a ``gymnasium`` bandit.

    A ``gymnasium`` environment must wrap a gymnasium env with a ``contexts()`` method (such
    as ``methodlab/ContextualBandit-v0``): one copy is made to read every context.
    """
    if isinstance(env, ExactBandit):
        return BanditDynamics(params.threshold, *env.contexts())
    gym_params = getattr(env, "params", None)
    if gym_params is None or not hasattr(env, "episodes"):
        raise ValueError(f"bandit-dynamics needs exact-bandit or a gymnasium bandit "
                         f"environment, got {type(env).__name__}")
    import gymnasium

    bandit = gymnasium.make(gym_params.id, **gym_params.kwargs).unwrapped
    if not hasattr(bandit, "contexts"):
        raise ValueError(f"bandit-dynamics needs a bandit whose env has contexts(); "
                         f"{gym_params.id!r} has none (use methodlab/ContextualBandit-v0)")
    observations, good = bandit.contexts()
    bandit.close()
    return BanditDynamics(params.threshold,
                          torch.as_tensor(observations).to(env.device, env.dtype),
                          torch.as_tensor(good, dtype=torch.long, device=env.device))
