"""A deterministic counter environment, registered with gymnasium as ``methodlab/Counter-v0``.

It makes vector-environment bookkeeping checkable by hand (field trap FT-16): the observation
is the number of steps taken, every step pays 1, and the episode terminates after ``length``
steps. With a ``TimeLimit`` shorter than ``length`` it is truncated instead. Importing this
module registers it (``gymnasium.make("methodlab_gymnasium.counter:methodlab/Counter-v0")``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numpy as np
from gymnasium import spaces

from methodlab_gymnasium.registration import register_env

__all__ = ["CounterEnv"]


class CounterEnv(gymnasium.Env[np.ndarray, np.int64]):
    """obs_t = t (steps taken so far), r_t = 1, terminated when t = ``length``.

    Example:
        >>> env = CounterEnv(length=3)
        >>> env.reset(seed=0)[0], [env.step(0)[:3] for _ in range(3)][-1]
        (array([0.], dtype=float32), (array([3.], dtype=float32), 1.0, True))
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, length: int = 3, n_actions: int = 2) -> None:
        if length < 1 or n_actions < 1:
            raise ValueError(f"CounterEnv needs length >= 1 and n_actions >= 1, got "
                             f"{length}, {n_actions}")
        self.length = length
        self.observation_space = spaces.Box(0.0, float(length), shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(n_actions)
        self._t = 0

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._t = 0
        return self._obs(), {}

    def step(self, action: np.int64) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"CounterEnv: action {action!r} not in {self.action_space}")
        self._t += 1
        return self._obs(), 1.0, self._t >= self.length, False, {"count": self._t}

    def _obs(self) -> np.ndarray:
        return np.array([self._t], dtype=np.float32)


register_env("methodlab/Counter-v0", "methodlab_gymnasium.counter:CounterEnv")
