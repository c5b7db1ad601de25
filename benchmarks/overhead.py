"""Overhead of the methodlab loop against a hand-written PyTorch loop.

The same model (MLP 64-256-256-10 on scikit-learn's digits), the same mini-batches and the
same optimizer (SGD with momentum) are trained by :class:`methodlab.runner.Trial` and by a
plain loop, alternately, in one process. Prints the median time ratio (target ≤ 1.05) and
asserts that the two loss sequences are identical.

Usage: ``python benchmarks/overhead.py [--steps 600] [--repeats 5] [--threads 1]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from methodlab.builtins.environments import digits_split
from methodlab.builtins.models import feedforward
from methodlab.progress import Progress
from methodlab.runfile import validate_document
from methodlab.runner import Trial

SEED = 0
BATCH = 128
LR, MOMENTUM = 0.05, 0.9


def document(steps: int) -> dict:
    return {
        "name": "overhead",
        "seeds": [SEED],
        "train": {"steps": steps},
        "environment": {"use": "digits", "batch_size": BATCH},
        "model": {"use": "mlp", "hidden": [256, 256], "activation": "relu"},
        "loss": {"use": "cross-entropy"},
        "optimizer": {"use": "sgd", "lr": LR, "momentum": MOMENTUM},
    }


def methodlab_loop(steps: int) -> tuple[float, list[float]]:
    arm = validate_document(document(steps), "<overhead>").arms[0]
    trial = Trial(arm, SEED)
    progress = Progress(sys.stderr, quiet=True)
    start = time.perf_counter()
    trial.run(progress)
    seconds = time.perf_counter() - start
    return seconds, [r["step.loss"] for r in trial.history if "step.loss" in r]


def plain_loop(steps: int) -> tuple[float, list[float]]:
    # Same seeding and batch order as methodlab's SupervisedEnvironment, written out by hand.
    torch.manual_seed(SEED)
    x_train, _, y_train, _ = digits_split()
    inputs = torch.as_tensor(x_train, dtype=torch.float32)
    targets = torch.as_tensor(y_train, dtype=torch.long)
    torch.manual_seed(SEED)
    model = feedforward((64, 256, 256, 10), "relu")
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    n = len(inputs)
    per_epoch = -(-n // BATCH)
    losses = []
    order = None
    start = time.perf_counter()
    for step in range(steps):
        epoch, position = divmod(step, per_epoch)
        if position == 0:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(
                SEED * 1_000_003 + epoch))
        index = order[position * BATCH : (position + 1) * BATCH]
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(inputs[index]), targets[index])
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return time.perf_counter() - start, losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads for both loops (1 keeps timings repeatable "
                             "on a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    methodlab_loop(50), plain_loop(50)  # warm-up: allocator, kernels, imports
    ratios, ours, theirs = [], [], []
    for _ in range(args.repeats):
        t_plain, plain_losses = plain_loop(args.steps)
        t_ours, our_losses = methodlab_loop(args.steps)
        if our_losses != plain_losses:
            pairs = enumerate(zip(our_losses, plain_losses, strict=True))
            first = next(i for i, (a, b) in pairs if a != b)
            raise SystemExit(f"loss sequences differ first at step {first + 1}: "
                             f"{our_losses[first]!r} vs {plain_losses[first]!r}")
        ours.append(t_ours)
        theirs.append(t_plain)
        ratios.append(t_ours / t_plain)
    ratio = statistics.median(ratios)
    print(f"steps per run: {args.steps}, repeats: {args.repeats}, threads: "
          f"{torch.get_num_threads()}")
    print(f"hand-written loop: median {statistics.median(theirs):.3f} s")
    print(f"methodlab loop:    median {statistics.median(ours):.3f} s")
    print(f"loss sequences identical: yes ({args.steps} steps)")
    print(f"time ratio methodlab / hand-written, median of {args.repeats} paired runs: "
          f"{ratio:.3f} (target <= 1.05) "
          f"[{'OK' if ratio <= 1.05 else 'ABOVE TARGET'}]")


if __name__ == "__main__":
    main()
