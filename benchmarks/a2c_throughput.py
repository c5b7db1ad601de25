"""Environment steps per second of methodlab's A2C against stable-baselines3's A2C.

Both agents train on CartPole-v1 with the same settings, alternately, in one process: 8
copies of the environment stepped in one process (gymnasium's ``SyncVectorEnv`` for
methodlab, SB3's ``DummyVecEnv``), rollouts of 5 steps, separate 64-64 tanh policy and value
networks with orthogonal initialisation (SB3's ``MlpPolicy``: 9,155 parameters), RMSprop
(lr 7e-4, α 0.99, ε 1e-5), γ 0.99, λ 1, value coefficient 0.5, no entropy bonus, one torch
thread. SB3 clips the gradient norm at ``max_grad_norm``; it is set to 1e9 here so both
agents apply the same update (SB3 still computes the norm, a small cost on its side).

Throughput is the number of environment steps of training (collection and updates) divided
by the wall time of ``Trial.run`` for methodlab and of ``A2C.learn`` for SB3, with no
evaluation in between. Afterwards both are evaluated on 10 episodes with sampled actions
(each with its own evaluation code: methodlab's ``episode-return``, SB3's
``evaluate_policy``). Prints per repeat, then the median ratio methodlab / SB3 (target ≥ 1.0).

Needs ``stable-baselines3`` (a benchmark-only peer, not a dependency of methodlab-gymnasium):
``pip install torch==2.13.0 stable-baselines3``.

Usage: ``python benchmarks/a2c_throughput.py [--env-steps 80000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch
from methodlab.progress import Progress
from methodlab.runfile import validate_document
from methodlab.runner import Trial

ENV_ID, NUM_ENVS, N_STEPS = "CartPole-v1", 8, 5
LR, ALPHA, EPS, GAMMA = 7e-4, 0.99, 1e-5, 0.99


def document(updates: int) -> dict:
    return {
        "name": "a2c-throughput",
        "seeds": [0],
        "train": {"steps": updates, "threads": 1},
        "environment": {"use": "gymnasium", "id": ENV_ID, "num_envs": NUM_ENVS,
                        "n_steps": N_STEPS, "eval_episodes": 10},
        "model": {"use": "actor-critic", "hidden": [64, 64], "shared": False},
        "loss": {"use": "a2c", "gamma": GAMMA, "gae_lambda": 1.0, "value_coef": 0.5,
                 "entropy_coef": 0.0},
        "optimizer": {"use": "rmsprop", "lr": LR, "alpha": ALPHA, "eps": EPS},
    }


def methodlab_a2c(env_steps: int, seed: int) -> tuple[float, float, int]:
    """(seconds, mean evaluation return, parameters) of methodlab's A2C."""
    updates = env_steps // (NUM_ENVS * N_STEPS)
    trial = Trial(validate_document(document(updates), "<a2c-throughput>").arms[0], seed)
    start = time.perf_counter()
    trial.run(Progress(sys.stderr, quiet=True))
    seconds = time.perf_counter() - start
    trial.model.eval()
    result = trial.env.evaluate_policy(trial.model, 10)
    trial.env.close()
    return seconds, float(np.mean(result["return"])), sum(
        p.numel() for p in trial.model.parameters())


def sb3_a2c(env_steps: int, seed: int) -> tuple[float, float, int]:
    """(seconds, mean evaluation return, parameters) of stable-baselines3's A2C."""
    from stable_baselines3 import A2C
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    envs = make_vec_env(ENV_ID, n_envs=NUM_ENVS, seed=seed)
    model = A2C("MlpPolicy", envs, learning_rate=LR, n_steps=N_STEPS, gamma=GAMMA,
                gae_lambda=1.0, ent_coef=0.0, vf_coef=0.5, max_grad_norm=1e9,
                rms_prop_eps=EPS, policy_kwargs={"net_arch": [64, 64]}, seed=seed,
                device="cpu")
    start = time.perf_counter()
    model.learn(total_timesteps=env_steps)
    seconds = time.perf_counter() - start
    returns, _ = evaluate_policy(model, make_vec_env(ENV_ID, n_envs=1, seed=seed + 1000),
                                 n_eval_episodes=10, deterministic=False,
                                 return_episode_rewards=True)
    envs.close()
    return seconds, float(np.mean(returns)), sum(p.numel() for p in model.policy.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-steps", type=int, default=80_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ratios = []
    for repeat in range(args.repeats):
        ml_seconds, ml_return, ml_params = methodlab_a2c(args.env_steps, repeat)
        sb_seconds, sb_return, sb_params = sb3_a2c(args.env_steps, repeat)
        assert ml_params == sb_params, (ml_params, sb_params)
        ml_rate, sb_rate = args.env_steps / ml_seconds, args.env_steps / sb_seconds
        ratios.append(ml_rate / sb_rate)
        print(f"repeat {repeat} (seed {repeat}): methodlab {ml_rate:,.0f} steps/s, eval return "
              f"{ml_return:.1f} | stable-baselines3 {sb_rate:,.0f} steps/s, eval return "
              f"{sb_return:.1f} | ratio {ratios[-1]:.3f}", flush=True)
    print(f"{args.env_steps:,} environment steps per agent, {ml_params:,} parameters each; "
          f"median throughput ratio methodlab / stable-baselines3: "
          f"{statistics.median(ratios):.3f} (target >= 1.0)")


if __name__ == "__main__":
    main()
