"""Environment steps per second of methodlab's A2C against stable-baselines3's A2C.

Both agents train on CartPole-v1 with the same settings, alternately, in one process: 8
copies of the environment stepped in one process (gymnasium's ``SyncVectorEnv`` for
methodlab, SB3's ``DummyVecEnv``), rollouts of 5 steps, separate 64-64 tanh policy and value
networks with orthogonal initialisation (SB3's ``MlpPolicy``: 9,155 parameters), RMSprop
(lr 7e-4, α 0.99, ε 1e-5), γ 0.99, λ 1, value coefficient 0.5, no entropy bonus, one torch
thread. SB3 clips the gradient norm at ``max_grad_norm``; it is set to 1e9 here so both
agents apply the same update (SB3 still computes the norm, a small cost on its side).

Throughput is environment steps of training (collection and updates) per second. The two
agents are trained in alternating chunks of ``--chunk`` environment steps (methodlab's
``Trial.train_step``, SB3's ``A2C.learn(..., reset_num_timesteps=False)``), so load from other
processes falls on both alike; both wall time and process CPU time are summed per agent.
Afterwards both are evaluated on 10 episodes with sampled actions (each with its own
evaluation code: methodlab's ``GymEnvironment.evaluate_policy``, SB3's ``evaluate_policy``).
Prints per repeat, then the median ratios methodlab / SB3 (target ≥ 1.0).

Needs ``stable-baselines3`` (a benchmark-only peer, not a dependency of methodlab-gymnasium):
``pip install torch==2.13.0 stable-baselines3``.

Usage: ``python benchmarks/a2c_throughput.py [--env-steps 100000] [--chunk 4000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
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


class MethodlabA2C:
    """methodlab's A2C: a :class:`Trial` of the document above, trained chunk by chunk."""

    def __init__(self, seed: int) -> None:
        arm = validate_document(document(0), "<a2c-throughput>").arms[0]
        self.trial = Trial(arm, seed)

    def train(self, env_steps: int) -> None:
        for _ in range(env_steps // (NUM_ENVS * N_STEPS)):
            self.trial.train_step()

    def evaluate(self) -> float:
        self.trial.model.eval()
        return float(np.mean(self.trial.env.evaluate_policy(self.trial.model, 10)["return"]))

    def parameters(self) -> int:
        return sum(p.numel() for p in self.trial.model.parameters())


class SB3A2C:
    """stable-baselines3's A2C with the same settings."""

    def __init__(self, seed: int) -> None:
        from stable_baselines3 import A2C
        from stable_baselines3.common.env_util import make_vec_env

        self.seed = seed
        self.model = A2C("MlpPolicy", make_vec_env(ENV_ID, n_envs=NUM_ENVS, seed=seed),
                         learning_rate=LR, n_steps=N_STEPS, gamma=GAMMA, gae_lambda=1.0,
                         ent_coef=0.0, vf_coef=0.5, max_grad_norm=1e9, rms_prop_eps=EPS,
                         policy_kwargs={"net_arch": [64, 64]}, seed=seed, device="cpu")
        self.started = False

    def train(self, env_steps: int) -> None:
        self.model.learn(total_timesteps=env_steps, reset_num_timesteps=not self.started)
        self.started = True

    def evaluate(self) -> float:
        from stable_baselines3.common.env_util import make_vec_env
        from stable_baselines3.common.evaluation import evaluate_policy

        env = make_vec_env(ENV_ID, n_envs=1, seed=self.seed + 1000)
        returns, _ = evaluate_policy(self.model, env, n_eval_episodes=10, deterministic=False,
                                     return_episode_rewards=True)
        return float(np.mean(returns))

    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.policy.parameters())


def compare(env_steps: int, chunk: int, seed: int) -> dict[str, dict[str, float]]:
    """Train both agents for ``env_steps`` in alternating chunks; their times and returns."""
    agents = {"methodlab": MethodlabA2C(seed), "stable-baselines3": SB3A2C(seed)}
    wall = dict.fromkeys(agents, 0.0)
    cpu = dict.fromkeys(agents, 0.0)
    for _ in range(env_steps // chunk):
        for name, agent in agents.items():
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            agent.train(chunk)
            wall[name] += time.perf_counter() - wall_start
            cpu[name] += time.process_time() - cpu_start
    steps = chunk * (env_steps // chunk)
    return {name: {"rate": steps / wall[name], "cpu_rate": steps / cpu[name],
                   "return": agent.evaluate(), "parameters": agent.parameters()}
            for name, agent in agents.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-steps", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=4_000,
                        help="environment steps per agent before switching (a multiple of 40)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ratios, cpu_ratios = [], []
    for repeat in range(args.repeats):
        result = compare(args.env_steps, args.chunk, seed=repeat)
        ml, sb = result["methodlab"], result["stable-baselines3"]
        assert ml["parameters"] == sb["parameters"], (ml["parameters"], sb["parameters"])
        ratios.append(ml["rate"] / sb["rate"])
        cpu_ratios.append(ml["cpu_rate"] / sb["cpu_rate"])
        print(f"seed {repeat}: methodlab {ml['rate']:,.0f} steps/s ({ml['cpu_rate']:,.0f} per "
              f"CPU s), eval return {ml['return']:.1f} | stable-baselines3 {sb['rate']:,.0f} "
              f"steps/s ({sb['cpu_rate']:,.0f} per CPU s), eval return {sb['return']:.1f} | "
              f"ratio {ratios[-1]:.3f} (CPU {cpu_ratios[-1]:.3f})", flush=True)
    print(f"{args.env_steps:,} environment steps per agent and seed, {ml['parameters']:,} "
          f"parameters each; median throughput ratio methodlab / stable-baselines3: "
          f"{statistics.median(ratios):.3f} wall, {statistics.median(cpu_ratios):.3f} CPU "
          f"(target >= 1.0)")


if __name__ == "__main__":
    main()
