"""The batch that the ``gymnasium`` environment yields to the training loop."""

from __future__ import annotations

from typing import Any

import attrs
import torch

__all__ = ["Rollout"]


@attrs.frozen
class Rollout:
    """``T`` steps of ``N`` parallel environments, collected with the model as policy.

    Gymnasium's vector environments reset a finished copy on the *next* call to ``step``
    (next-step autoreset): that call ignores the action and returns the first observation of
    the new episode with reward 0 and both flags false. Such steps are not transitions:
    ``valid`` is false there and every loss and statistic must mask with it.

    Shapes:
        obs, next_obs: ``(T, N, *obs_shape)`` float; actions: ``(T, N)`` long for discrete
        action spaces, ``(T, N, A)`` float for continuous ones; rewards: ``(T, N)`` float;
        terminated, truncated, valid: ``(T, N)`` bool; info values: ``(T, N, ...)``.
    """

    obs: torch.Tensor
    """Observation the action was taken in."""
    actions: torch.Tensor
    """Action taken (sampled from the policy; unclipped for continuous spaces)."""
    rewards: torch.Tensor
    """Reward of the transition (0 at autoreset steps)."""
    terminated: torch.Tensor
    """The episode reached a terminal state here: no bootstrap from ``next_obs``."""
    truncated: torch.Tensor
    """The episode was cut here (time limit): bootstrap from ``next_obs``."""
    valid: torch.Tensor
    """False for next-step autoreset steps, which are not transitions."""
    next_obs: torch.Tensor
    """Observation after the transition; for an episode's last transition the real final
    observation (next-step autoreset returns it before resetting)."""
    info: dict[str, Any] = attrs.field(factory=dict)
    """Numeric entries of the environments' info dicts stacked to ``(T, N, ...)``; zeros
    where a step's info lacks the key."""

    @property
    def done(self) -> torch.Tensor:
        """``terminated | truncated``: the episode ended with this transition; ``(T, N)``."""
        return self.terminated | self.truncated

    def to(self, device: torch.device | str) -> Rollout:
        """The rollout with every tensor moved to ``device``."""
        return Rollout(**{field.name: getattr(self, field.name).to(device)
                          for field in attrs.fields(Rollout) if field.name != "info"},
                       info={key: value.to(device) for key, value in self.info.items()})
