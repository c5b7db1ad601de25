"""Parameters of the gymnasium components (imports attrs only)."""

from __future__ import annotations

from typing import Any

import attrs
from attrs import validators as v

__all__ = ["A2CParams", "ActorCriticParams", "EpisodeReturnParams", "GymParams"]

ACTIVATIONS = ("tanh", "relu")


@attrs.frozen
class GymParams:
    """The ``[environment]`` table of ``use = "gymnasium"``."""

    id: str = attrs.field(validator=v.instance_of(str))
    """A registered gymnasium id, e.g. ``"CartPole-v1"`` or ``"methodlab/Counter-v0"``; the
    ``"module:Id"`` form imports ``module`` first (gymnasium's own convention)."""
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    """Keyword arguments of ``gymnasium.make`` for each copy (e.g. ``max_episode_steps``)."""
    num_envs: int = attrs.field(default=8, validator=v.ge(1))
    """Parallel environments ``N`` in the vector environment."""
    n_steps: int = attrs.field(default=5, validator=v.ge(1))
    """Transitions ``T`` collected from each environment per update (the rollout length)."""
    vectorization: str = attrs.field(default="sync", validator=v.in_(("sync", "async")))
    """``sync`` (one process, ``SyncVectorEnv``) or ``async`` (one subprocess per copy)."""
    vector_kwargs: dict[str, Any] = attrs.field(factory=dict)
    """Keyword arguments of the vector environment's constructor (``gymnasium.make_vec``'s
    ``vector_kwargs``); an ``autoreset_mode`` other than next-step is rejected."""
    eval_episodes: int = attrs.field(default=10, validator=v.ge(1))
    """Episodes per evaluation (``episode-return``), run on a separate, seeded copy."""


@attrs.frozen
class ActorCriticParams:
    """The ``[model]`` table of ``use = "actor-critic"``."""

    hidden: list[int] = attrs.field(
        factory=lambda: [64, 64],
        validator=v.deep_iterable(v.and_(v.instance_of(int), v.ge(1)), v.instance_of(list)))
    """Hidden layer widths of the MLP (the trunk, or each tower when ``shared = false``)."""
    activation: str = attrs.field(default="tanh", validator=v.in_(ACTIVATIONS))
    """Hidden non-linearity: ``tanh`` or ``relu``."""
    shared: bool = True
    """One trunk for both heads (``true``), or separate policy and value towers of the same
    widths (``false``: stable-baselines3's ``MlpPolicy``; ``trunk`` is then the identity)."""
    orthogonal_init: bool = True
    """Orthogonal weights with gains √2 (hidden), 0.01 (policy head) and 1 (value head), zero
    biases (the A2C/PPO convention): the initial policy is almost uniform."""


@attrs.frozen
class A2CParams:
    """The ``[loss]`` table of ``use = "a2c"``."""

    gamma: float = attrs.field(default=0.99, validator=[v.ge(0.0), v.le(1.0)])
    """Discount factor γ."""
    gae_lambda: float = attrs.field(default=1.0, validator=[v.ge(0.0), v.le(1.0)])
    """GAE parameter λ; 1 gives n-step returns bootstrapped at the rollout's end."""
    value_coef: float = attrs.field(default=0.5, validator=v.ge(0.0))
    """Weight c_v of the value regression term."""
    entropy_coef: float = attrs.field(default=0.01, validator=v.ge(0.0))
    """Weight c_H of the entropy bonus."""
    normalize_advantages: bool = False
    """Standardise advantages over the rollout's valid transitions."""


@attrs.frozen
class EpisodeReturnParams:
    """The table of the ``episode-return`` evaluator."""

    greedy: bool = False
    """Act with the most probable action (the mean for continuous actions) instead of
    sampling from the policy."""
    window: int = attrs.field(default=100, validator=v.ge(1))
    """``train_return``/``train_length`` average the last ``window`` finished training
    episodes."""
