r"""A gridworld with a suboptimal teacher, as a ``gymnasium.Env`` (``methodlab/GridWorld-v0``).

The agent starts in one corner of a ``size × size`` grid and must reach the goal in the
opposite corner; each step moves it up, right, down or left (a move into the border leaves it
in place). Reaching the goal ends the episode with the MiniGrid-style reward

.. math:: r = 1 - 0.9 \, t / T_{\max},

so shorter paths score higher; every other step gives 0, and the episode is truncated after
:math:`T_{\max}` = ``max_steps`` steps. Observations are the one-hot position ``(size²,)``.

**The teacher.** A scripted policy that knows the way but is noisy: in every state it puts
:math:`1 - \epsilon` on the moves that bring the agent closer to the goal (split evenly) and
:math:`\epsilon` uniformly on all four moves. Imitating it helps a learner early (it points the
way where a random policy rarely finds the goal) and hurts late (the optimal policy is
deterministic, the teacher is not). ``info["teacher_probs"]`` of each ``step`` is the
teacher's distribution ``(4,)`` in the state the action was taken *in*, so it lines up with the
rollout's ``obs``; ``reset`` returns an empty info.

References:
    Du et al. (2018), "Adapting auxiliary losses using gradient similarity",
    arXiv:1812.02224, Section 4.2 (gridworld with a teacher-distillation auxiliary loss; the
    teacher and the layout here are this plugin's own, see README).

Example:
    >>> env = GridWorld(size=3, max_steps=10)
    >>> obs, info = env.reset(seed=0)
    >>> obs.reshape(3, 3)[0, 0], info
    (np.float32(1.0), {})
    >>> _, reward, terminated, truncated, info = env.step(1)   # teacher at the start cell
    >>> reward, terminated, [round(float(p), 3) for p in info["teacher_probs"]]
    (0.0, False, [0.125, 0.375, 0.375, 0.125])
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numpy as np
from gymnasium import spaces

__all__ = ["MOVES", "GridWorld", "teacher_probs"]

MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))
"""(row, column) change of the actions up, right, down, left."""


def teacher_probs(position: tuple[int, int], goal: tuple[int, int], noise: float
                  ) -> np.ndarray:
    """The noisy teacher's action distribution ``(4,)`` at ``position``.

    Example:
        >>> teacher_probs((0, 0), (0, 2), 0.0).tolist()    # only "right" helps
        [0.0, 1.0, 0.0, 0.0]
    """
    row, col = position
    closer = [a for a, (dr, dc) in enumerate(MOVES)
              if abs(goal[0] - row - dr) + abs(goal[1] - col - dc)
              < abs(goal[0] - row) + abs(goal[1] - col)]
    probs = np.full(4, noise / 4, dtype=np.float32)
    if closer:
        probs[closer] += (1.0 - noise) / len(closer)
    else:  # at the goal: nothing to teach
        probs[:] = 0.25
    return probs


class GridWorld(gymnasium.Env):
    """Corner-to-corner navigation with a noisy teacher (see the module docstring).

    Arguments:
        size: grid side; max_steps: :math:`T_{\\max}`; noise: the teacher's ε;
        teacher_target: the cell the teacher heads for (default: the goal).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"]}

    def __init__(self, size: int = 7, max_steps: int = 50, noise: float = 0.5,
                 teacher_target: tuple[int, int] | None = None,
                 render_mode: str | None = None) -> None:
        if size < 2:
            raise ValueError(f"size must be at least 2, got {size}")
        if not 0.0 <= noise <= 1.0:
            raise ValueError(f"noise must lie in [0, 1], got {noise}")
        self.size, self.max_steps, self.noise = size, max_steps, noise
        self.render_mode = render_mode
        self.start, self.goal = (0, 0), (size - 1, size - 1)
        self.teacher_target = self.goal if teacher_target is None else tuple(teacher_target)
        if not all(0 <= x < size for x in self.teacher_target):
            raise ValueError(f"teacher_target {list(self.teacher_target)} lies outside the "
                             f"{size} x {size} grid")
        self.observation_space = spaces.Box(0.0, 1.0, (size * size,), np.float32)
        self.action_space = spaces.Discrete(4)
        self.position, self.steps = self.start, 0

    def _obs(self) -> np.ndarray:
        obs = np.zeros(self.size * self.size, dtype=np.float32)
        obs[self.position[0] * self.size + self.position[1]] = 1.0
        return obs

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.position, self.steps = self.start, 0
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        info = {"teacher_probs": teacher_probs(self.position, self.teacher_target, self.noise)}
        dr, dc = MOVES[int(action)]
        row = min(max(self.position[0] + dr, 0), self.size - 1)
        col = min(max(self.position[1] + dc, 0), self.size - 1)
        self.position, self.steps = (row, col), self.steps + 1
        terminated = self.position == self.goal
        reward = 1.0 - 0.9 * self.steps / self.max_steps if terminated else 0.0
        truncated = not terminated and self.steps >= self.max_steps
        return self._obs(), float(reward), terminated, truncated, info

    def render(self) -> str:
        rows = [["."] * self.size for _ in range(self.size)]
        rows[self.goal[0]][self.goal[1]] = "G"
        rows[self.position[0]][self.position[1]] = "A"
        return "\n".join("".join(row) for row in rows)
