"""Any registered gymnasium environment as a methodlab environment.

Experience collection runs ``N`` copies in a gymnasium vector environment with the model as
policy: each update's batch is a :class:`~methodlab_gymnasium.rollout.Rollout` of ``T`` steps.
Gymnasium ≥ 1.0 vector environments reset a finished copy on the next ``step`` call
(next-step autoreset) and no longer put the final observation in ``info``; the collector
marks those steps invalid instead of treating them as transitions (field trap FT-16).

**Checkpoints and resume.** A gymnasium simulator cannot in general be saved (its state is
arbitrary Python), so a checkpoint is an episode boundary: :meth:`GymEnvironment.state_dict`
abandons the episodes in progress (they are not logged) and resets every copy with a seed
derived from (trial seed, step); :meth:`~GymEnvironment.load_state_dict` makes the same
reset. The action-sampling generator, the episode log and the pending-reset flags are saved,
so a resumed trial continues bitwise like an uninterrupted one that wrote the same
checkpoints. The cost: with ``train.checkpoint_every = k`` an episode never lasts past a
multiple of ``k`` updates (its last transition is bootstrapped like a truncation, because the
rollout ends there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from methodlab.components import EnvInfo, Environment
from torch import nn

from methodlab_gymnasium.config import GymParams
from methodlab_gymnasium.registration import register_pending
from methodlab_gymnasium.rollout import Rollout

__all__ = ["GymEnvironment", "build_gymnasium", "derived_seed", "make_vector_env"]

# Streams of derived seeds: one per purpose, so no two draw the same numbers.
_TRAIN_RESET, _ACTIONS, _EVAL_RESET, _EVAL_ACTIONS = 0, 1, 2, 3


def derived_seed(seed: int, stream: int, step: int = 0) -> int:
    """A 31-bit seed for ``(trial seed, stream, step)`` via ``numpy.random.SeedSequence``.

    >>> derived_seed(0, 0, 5) == derived_seed(0, 0, 5) != derived_seed(0, 0, 6)
    True
    """
    return int(np.random.SeedSequence([seed, stream, step]).generate_state(1)[0] >> 1)


def make_vector_env(params: GymParams, num_envs: int) -> VectorEnv:
    """``gymnasium.make_vec`` of ``params.id`` with ``num_envs`` copies.

    :raises ValueError: if the vector environment does not use next-step autoreset.
    """
    register_pending()  # plugin environments noted while plugins loaded
    envs = gymnasium.make_vec(params.id, num_envs=num_envs,
                              vectorization_mode=params.vectorization,
                              vector_kwargs=dict(params.vector_kwargs), **params.kwargs)
    check_autoreset(envs)
    return envs


def check_autoreset(envs: VectorEnv) -> None:
    """Reject vector environments whose autoreset mode is not next-step (FT-16).

    :raises ValueError: naming the mode found and the fix.
    """
    mode = envs.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    if mode != AutoresetMode.NEXT_STEP:
        envs.close()
        raise ValueError(
            f"vector environment autoreset mode {getattr(mode, 'value', mode)!r} is not "
            "supported: the rollout needs next-step autoreset (gymnasium's default), whose "
            "reset steps it masks; remove autoreset_mode from environment.vector_kwargs")


def _single_space(envs: VectorEnv, name: str) -> spaces.Space:
    return getattr(envs, f"single_{name}_space")


def _obs_size(space: spaces.Space) -> tuple[int, ...]:
    if isinstance(space, spaces.Box):
        return tuple(space.shape)
    if isinstance(space, spaces.Discrete):
        return (int(space.n),)
    raise ValueError(f"observation space {space} is not supported: use a Box or Discrete "
                     "space (or a gymnasium FlattenObservation wrapper)")


class GymEnvironment(Environment):
    """A vector environment that yields a :class:`Rollout` per update.

    Arguments:
        envs: a next-step-autoreset vector environment of ``N`` copies (training).
        make_eval_envs: builds a vector environment of ``k`` copies for evaluation.
        params: the table; ``n_steps`` and ``eval_episodes`` are read here.
        seed: the trial seed; resets and action sampling use seeds derived from it.
        device, dtype: where and in which float type observations and rewards are put.

    Attributes:
        observation_space, action_space: one copy's spaces.
        continuous: whether actions are real vectors (``Box``) rather than ``Discrete``.
        episodes: the training-episode log, ``{column: list}`` with columns ``return``,
            ``length``, ``terminated``, ``truncated``, ``env`` (copy index) and ``step`` (the
            update whose rollout ended it).

    Example:
        >>> from methodlab_gymnasium.models import ActorCritic
        >>> env = build_gymnasium(GymParams(id="methodlab/Counter-v0", num_envs=2, n_steps=5),
        ...                       seed=0)
        >>> rollout = env.train_batch(0, ActorCritic(1, 2, hidden=[4]))
        >>> rollout.obs[:, 0, 0].tolist(), rollout.valid[:, 0].tolist()  # index 3: autoreset
        ([0.0, 1.0, 2.0, 3.0, 0.0], [True, True, True, False, True])
        >>> env.episodes["return"], env.episodes["terminated"]
        ([3.0, 3.0], [True, True])
    """

    def __init__(self, envs: VectorEnv, make_eval_envs: Callable[[int], VectorEnv],
                 params: GymParams, *, seed: int, device: str = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:
        check_autoreset(envs)
        self.envs = envs
        self.params = params
        self.seed = seed
        self.device = torch.device(device)
        self.dtype = dtype
        self.num_envs = envs.num_envs
        self._make_eval_envs = make_eval_envs
        self._eval_envs: VectorEnv | None = None
        self.observation_space = _single_space(envs, "observation")
        self.action_space = _single_space(envs, "action")
        if isinstance(self.action_space, spaces.Discrete):
            self.continuous, out_features = False, int(self.action_space.n)
        elif isinstance(self.action_space, spaces.Box) and len(self.action_space.shape) == 1:
            self.continuous, out_features = True, int(self.action_space.shape[0])
        else:
            raise ValueError(f"action space {self.action_space} is not supported: use "
                             "Discrete or a 1-D Box")
        self.obs_shape = _obs_size(self.observation_space)
        self.info = EnvInfo(in_features=int(np.prod(self.obs_shape)),
                            out_features=out_features, task="reinforcement")
        self.generator = torch.Generator().manual_seed(derived_seed(seed, _ACTIONS))
        self.episodes: dict[str, list] = {key: [] for key in
                                          ("return", "length", "terminated", "truncated",
                                           "env", "step")}
        self._next_step = 0  # updates done: train_batch(step) was called for step - 1
        self._reset(0)

    # -- collection ---------------------------------------------------------------------------

    def _reset(self, step: int) -> None:
        obs, _ = self.envs.reset(seed=derived_seed(self.seed, _TRAIN_RESET, step))
        self._obs = self._to_obs(obs, self.observation_space)  # (N, *obs_shape)
        self._pending = np.zeros(self.num_envs, dtype=bool)  # next step is an autoreset
        self._ep_return = np.zeros(self.num_envs)
        self._ep_length = np.zeros(self.num_envs, dtype=np.int64)

    def _to_obs(self, obs: np.ndarray, space: spaces.Space) -> torch.Tensor:
        if isinstance(space, spaces.Discrete):
            index = torch.as_tensor(np.asarray(obs) - space.start, dtype=torch.long)
            return nn.functional.one_hot(index, int(space.n)).to(self.device, self.dtype)
        return torch.as_tensor(np.asarray(obs), device=self.device).to(self.dtype)

    def act(self, model: nn.Module, obs: torch.Tensor, generator: torch.Generator,
            greedy: bool = False) -> torch.Tensor:
        """Sample actions from the policy ``model(obs)`` without building a graph.

        Shapes:
            obs: ``(B, *obs_shape)``; returns ``(B,)`` long or ``(B, A)`` float, on CPU.
        """
        with torch.no_grad():
            out, _ = model(obs)  # (B, A)
            out = out.detach().to("cpu", torch.float64)
            if self.continuous:
                if greedy:
                    return out
                std = model.log_std.detach().to("cpu", torch.float64).exp()  # (A,)
                noise = torch.randn(out.shape, generator=generator, dtype=torch.float64)
                return out + std * noise
            if greedy:
                return out.argmax(-1)
            # Inverse-CDF sampling: one uniform per row, cheaper than torch.multinomial for
            # small batches (this runs once per environment step).
            cdf = torch.softmax(out, dim=-1).cumsum(-1)  # (B, A)
            u = torch.rand(cdf.shape[0], 1, generator=generator, dtype=cdf.dtype)  # (B, 1)
            return (cdf < u * cdf[:, -1:]).sum(-1).clamp(max=cdf.shape[1] - 1)

    def _env_actions(self, actions: torch.Tensor) -> np.ndarray:
        if self.continuous:
            space = self.action_space
            return np.clip(actions.numpy(), space.low, space.high).astype(space.dtype)
        return (actions.numpy() + int(self.action_space.start)).astype(np.int64)

    def train_batch(self, step: int, model: nn.Module) -> Rollout:
        """Collect ``n_steps`` steps of every copy, acting with ``model``; see :class:`Rollout`.

        Finished episodes (return, length, how they ended) go to :attr:`episodes`.
        """
        T, N = self.params.n_steps, self.num_envs
        self._next_step = step + 1
        obs, actions, rewards, next_obs = [], [], [], []
        terminated = np.zeros((T, N), dtype=bool)
        truncated = np.zeros((T, N), dtype=bool)
        valid = np.zeros((T, N), dtype=bool)
        infos: list[Mapping[str, Any]] = []
        for t in range(T):
            action = self.act(model, self._obs, self.generator)  # (N,) or (N, A)
            raw_obs, reward, term, trunc, info = self.envs.step(self._env_actions(action))
            valid[t] = ~self._pending
            terminated[t], truncated[t] = term & valid[t], trunc & valid[t]
            reward = np.where(valid[t], np.asarray(reward, dtype=np.float64), 0.0)  # (N,)
            self._log_episodes(step, valid[t], reward, terminated[t], truncated[t])
            self._pending = terminated[t] | truncated[t]
            obs.append(self._obs)
            actions.append(action)
            rewards.append(reward)
            self._obs = self._to_obs(raw_obs, self.observation_space)
            next_obs.append(self._obs)
            infos.append(info)

        def tensor(array: np.ndarray | Iterable[Any], dtype: torch.dtype) -> torch.Tensor:
            return torch.as_tensor(np.asarray(array)).to(self.device, dtype)

        return Rollout(
            obs=torch.stack(obs),  # (T, N, *obs_shape)
            actions=torch.stack(actions).to(
                self.device, self.dtype if self.continuous else torch.long),  # (T, N[, A])
            rewards=tensor(np.stack(rewards), self.dtype),  # (T, N)
            terminated=tensor(terminated, torch.bool),
            truncated=tensor(truncated, torch.bool),
            valid=tensor(valid, torch.bool),
            next_obs=torch.stack(next_obs),  # (T, N, *obs_shape)
            info=self._stack_infos(infos),
        )

    def _log_episodes(self, step: int, valid: np.ndarray, reward: np.ndarray,
                      terminated: np.ndarray, truncated: np.ndarray) -> None:
        self._ep_return += reward
        self._ep_length += valid
        for n in np.flatnonzero(terminated | truncated):
            self.episodes["return"].append(float(self._ep_return[n]))
            self.episodes["length"].append(int(self._ep_length[n]))
            self.episodes["terminated"].append(bool(terminated[n]))
            self.episodes["truncated"].append(bool(truncated[n]))
            self.episodes["env"].append(int(n))
            self.episodes["step"].append(step)
            self._ep_return[n], self._ep_length[n] = 0.0, 0

    def _stack_infos(self, infos: list[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        # Vector infos hold (N, ...) arrays plus "_key" masks; keep numeric top-level arrays,
        # zero-filled at steps whose info lacks the key.
        N = self.num_envs
        shapes: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
        for info in infos:
            for key, value in info.items():
                if key.startswith("_") or not isinstance(value, np.ndarray):
                    continue
                if value.dtype.kind in "biuf" and value.shape[:1] == (N,):
                    shapes.setdefault(key, (value.shape, value.dtype))
        stacked = {}
        for key, (shape, dtype) in shapes.items():
            array = np.zeros((len(infos), *shape), dtype=dtype)  # (T, N, ...)
            for t, info in enumerate(infos):
                if key in info and np.shape(info[key]) == shape:
                    mask = info.get(f"_{key}", np.ones(N, dtype=bool))
                    array[t][mask] = np.asarray(info[key])[mask]
            tensor = torch.as_tensor(array, device=self.device)
            stacked[key] = tensor.to(self.dtype) if dtype.kind == "f" else tensor
        return stacked

    # -- evaluation ---------------------------------------------------------------------------

    def evaluate_policy(self, model: nn.Module, episodes: int | None = None,
                        greedy: bool = False) -> dict[str, np.ndarray]:
        """Run ``episodes`` fresh episodes (default ``eval_episodes``) with ``model``.

        One copy per episode on a separate vector environment, reset with a seed derived from
        the trial seed only: every evaluation, and every arm of a seed, starts the same
        initial states and draws the same sampling noise, so differences are the policy's.

        :returns: ``{"return": (k,), "length": (k,)}`` arrays.
        """
        k = episodes or self.params.eval_episodes
        if self._eval_envs is None or self._eval_envs.num_envs != k:
            if self._eval_envs is not None:
                self._eval_envs.close()
            self._eval_envs = self._make_eval_envs(k)
            check_autoreset(self._eval_envs)
        envs = self._eval_envs
        raw, _ = envs.reset(seed=derived_seed(self.seed, _EVAL_RESET))
        generator = torch.Generator().manual_seed(derived_seed(self.seed, _EVAL_ACTIONS))
        returns, lengths = np.zeros(k), np.zeros(k, dtype=np.int64)
        running = np.ones(k, dtype=bool)
        while running.any():
            obs = self._to_obs(raw, self.observation_space)  # (k, *obs_shape)
            action = self.act(model, obs, generator, greedy=greedy)
            raw, reward, term, trunc, _ = envs.step(self._env_actions(action))
            returns += np.where(running, reward, 0.0)
            lengths += running
            running &= ~(term | trunc)
        return {"return": returns, "length": lengths}

    # -- state --------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The episode log, the sampling generator and the update count; resets every copy.

        The reset (seeded by the update count, see the module docstring) makes the checkpoint
        an episode boundary that :meth:`load_state_dict` recreates exactly.
        """
        self._reset(self._next_step)
        return {"episodes": {key: list(values) for key, values in self.episodes.items()},
                "generator": self.generator.get_state(),
                "step": self._next_step}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.episodes = {key: list(values) for key, values in state["episodes"].items()}
        self.generator.set_state(state["generator"])
        self._next_step = int(state["step"])
        self._reset(self._next_step)

    def close(self) -> None:
        """Close the training and evaluation vector environments."""
        self.envs.close()
        if self._eval_envs is not None:
            self._eval_envs.close()


def build_gymnasium(params: GymParams, *, seed: int, device: str = "cpu",
                    dtype: torch.dtype = torch.float32) -> GymEnvironment:
    """Factory of the ``gymnasium`` environment."""
    return GymEnvironment(make_vector_env(params, params.num_envs),
                          lambda k: make_vector_env(params, k), params,
                          seed=seed, device=device, dtype=dtype)
