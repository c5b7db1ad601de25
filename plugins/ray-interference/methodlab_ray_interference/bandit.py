"""The contextual bandit as a gymnasium environment: ``methodlab/ContextualBandit-v0``."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numpy as np
from gymnasium import spaces

__all__ = ["ContextualBanditEnv"]


class ContextualBanditEnv(gymnasium.Env):
    r"""K contexts, A arms, one step per episode; arm ``good_arms[k]`` pays 1 in context k.

    Each episode draws a context k uniformly, shows it as a one-hot observation, takes one
    action a and ends (``terminated``) with reward :math:`r = 1[a = g_k]`. The expected
    return of a policy is :math:`\frac1K\sum_k J_k` with :math:`J_k = \pi(g_k \mid k)`: the
    K-component objective of the paper. ``info`` carries ``context`` and ``good_arm`` (the
    supervised label, for the supervised ablation).

    Arguments:
        contexts: K.
        arms: A.
        good_arms: the good arm of each context (default ``k mod A``).

    Shapes:
        observation ``(K,)`` float32 one-hot; action a scalar in ``[0, A)``.

    References:
        Ray interference: a source of plateaus in deep reinforcement learning (Schaul,
        Borsa, Modayil & Pascanu, 2019), https://arxiv.org/abs/1904.11455

    Example:
        >>> env = ContextualBanditEnv(contexts=4, arms=3)
        >>> obs, info = env.reset(seed=0)
        >>> good = info["good_arm"]
        >>> env.step(good)[1:3], env.contexts()[1].tolist()
        ((1.0, True), [0, 1, 2, 0])
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, contexts: int = 4, arms: int = 3,
                 good_arms: list[int] | tuple[int, ...] | None = None) -> None:
        if contexts < 1 or arms < 2:
            raise ValueError(f"need contexts >= 1 and arms >= 2, got {contexts} and {arms}")
        good = np.arange(contexts) % arms if good_arms is None else np.asarray(good_arms)
        if good.shape != (contexts,) or good.min() < 0 or good.max() >= arms:
            raise ValueError(f"good_arms needs {contexts} arms in [0, {arms}), got "
                             f"{list(good_arms or [])}")
        self.good_arms = good.astype(np.int64)
        self.observation_space = spaces.Box(0.0, 1.0, (contexts,), dtype=np.float32)
        self.action_space = spaces.Discrete(arms)
        self._context = 0

    def contexts(self) -> tuple[np.ndarray, np.ndarray]:
        """Every context's observation ``(K, K)`` and good arm ``(K,)``."""
        return np.eye(len(self.good_arms), dtype=np.float32), self.good_arms.copy()

    def _observation(self) -> np.ndarray:
        return np.eye(len(self.good_arms), dtype=np.float32)[self._context]

    def _info(self) -> dict[str, Any]:
        return {"context": self._context, "good_arm": int(self.good_arms[self._context])}

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._context = int(self.np_random.integers(len(self.good_arms)))
        return self._observation(), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        reward = float(int(action) == self.good_arms[self._context])
        return self._observation(), reward, True, False, self._info()
