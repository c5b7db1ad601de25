"""Cost of one natural-gradient step against one SGD step, on the same model and batch.

One :class:`~methodlab_natural_gradient.optimizer.NaturalGradient` update with exactly k
conjugate-gradient iterations (``max_iter=k, tol=0``, so the solve never stops early) is
timed against one ``torch.optim.SGD`` update, both stepped the way methodlab steps them
(``StepContext.closure_for``; ``opt.step(closure, context=ctx)`` for natural gradient), for
k in 5, 10, 20. Model: MLP 64-128-128-10 (tanh) on 512 rows of scikit-learn's digits,
softmax cross-entropy. Parameters (and the optimizers' states) are restored before every
timed step, so each step starts from the same point.

Target: a natural-gradient step costs at most (k + 2) SGD steps: the gradient, the set-up
of the Fisher operator and k Fisher-vector products, each about one forward-backward pass.
Both the optimizer's default (``adapt_damping=True``: one more Fisher product and one more
loss evaluation per step, for the Levenberg-Marquardt rule) and ``adapt_damping=False`` are
measured. A breakdown prints what the pieces cost relative to an SGD step.

Timings are medians over ``--repeats`` rounds (each round times every configuration in a
shuffled order, ``--inner`` steps each); ratios are the median of the per-round ratios, so
drifting load on a shared machine cancels. ``--threads 1`` (the default) because two OpenMP
threads on a loaded 2-CPU machine made these small steps erratic and many times slower.

Usage: ``python benchmarks/natural_gradient_step.py [--repeats 30] [--inner 3]
[--threads 1] [--ks 5 10 20]`` (main environment; needs methodlab-natural-gradient)
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import time
from collections.abc import Callable

import torch
from methodlab import curvature
from methodlab.builtins.environments import digits_split
from methodlab.builtins.losses import CrossEntropy
from methodlab.builtins.models import feedforward
from methodlab.components import Batch
from methodlab.step import StepContext
from methodlab_natural_gradient.optimizer import NaturalGradient
from torch import Tensor, nn

SIZES = (64, 128, 128, 10)
BATCH = 512
SGD_LR = 0.05


def setup(batch: int) -> tuple[nn.Module, StepContext]:
    x_train, _, y_train, _ = digits_split()
    inputs = torch.as_tensor(x_train[:batch], dtype=torch.float32)
    targets = torch.as_tensor(y_train[:batch], dtype=torch.long)
    torch.manual_seed(0)
    model = feedforward(SIZES, "tanh")
    return model, StepContext(model=model, loss=CrossEntropy(), batch=Batch(inputs, targets))


class Timed:
    """A step to time, with the parameters and optimizer state it must start from."""

    def __init__(self, name: str, model: nn.Module, optimizer: torch.optim.Optimizer,
                 step: Callable[[], object]) -> None:
        self.name = name
        self.model = model
        self.optimizer = optimizer
        self.step = step
        self.params = [p.detach().clone() for p in model.parameters()]
        self.state = optimizer.state_dict()

    def reset(self) -> None:
        with torch.no_grad():
            for p, saved in zip(self.model.parameters(), self.params, strict=True):
                p.copy_(saved)
        self.optimizer.load_state_dict(self.state)
        for p in self.model.parameters():
            p.grad = None

    def run(self, inner: int) -> float:
        """Seconds per step, over ``inner`` steps each started from the saved point."""
        total = 0.0
        for _ in range(inner):
            self.reset()
            start = time.perf_counter()
            self.step()
            total += time.perf_counter() - start
        return total / inner


def sgd_step(model: nn.Module, context: StepContext) -> Timed:
    optimizer = torch.optim.SGD(model.parameters(), lr=SGD_LR)
    closure = context.closure_for(optimizer)

    def step() -> None:
        closure()
        optimizer.step()

    return Timed("SGD", model, optimizer, step)


def natural_gradient_step(model: nn.Module, context: StepContext, k: int,
                          adapt_damping: bool) -> Timed:
    optimizer = NaturalGradient(model.parameters(), max_iter=k, tol=0.0,
                                adapt_damping=adapt_damping)
    closure = context.closure_for(optimizer)

    def step() -> None:
        optimizer.step(closure, context=context)

    name = f"NG k={k:<2d} adapt_damping={adapt_damping}"
    return Timed(name, model, optimizer, step)


def check_iterations(timed: Timed, k: int) -> str:
    """Run one step and report the solver's iteration count, where the optimizer records it."""
    timed.reset()
    timed.step()
    state = timed.optimizer.state_dict()["state"].get(0, {})
    iterations = state.get("solver_iterations")
    if iterations is None:
        return "iterations not recorded"
    if int(iterations) != k:
        raise SystemExit(f"{timed.name}: CG did {iterations} iterations, expected {k}")
    return f"{int(iterations)} CG iterations (checked)"


def component_times(model: nn.Module, context: StepContext, sgd: Timed,
                    repeats: int) -> dict[str, float]:
    """Median seconds of the pieces a natural-gradient step is made of, and of an SGD step
    timed in the same rounds (machine load drifts; the pieces are compared with this one)."""
    loss, batch = context.loss, context.batch
    params = list(model.parameters())
    vector = torch.randn(sum(p.numel() for p in params), generator=torch.Generator()
                         .manual_seed(0))
    fisher = curvature.ggn_operator(model, loss, batch.inputs, targets=batch.targets)

    def forward_backward() -> None:
        torch.autograd.grad(loss(model, batch), params)

    def forward() -> None:
        with torch.no_grad():
            loss(model, batch)

    def build() -> None:
        curvature.ggn_operator(model, loss, batch.inputs, targets=batch.targets)

    def product() -> Tensor:
        return fisher(vector)

    pieces = {"forward + backward": forward_backward, "loss forward": forward,
              "ggn_operator set-up": build, "Fisher-vector product": product}
    for piece in pieces.values():
        piece()
    times: dict[str, list[float]] = {name: [] for name in [*pieces, "SGD step"]}
    for _ in range(repeats):
        times["SGD step"].append(sgd.run(5))
        for name, piece in pieces.items():
            start = time.perf_counter()
            for _ in range(5):
                piece()
            times[name].append((time.perf_counter() - start) / 5)
    sgd.reset()
    return {name: statistics.median(values) for name, values in times.items()}


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed rounds (median)")
    parser.add_argument("--inner", type=int, default=3, help="steps per configuration per round")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--ks", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--batch", type=int, default=BATCH)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, context = setup(args.batch)
    print(f"MLP {'-'.join(map(str, SIZES))} tanh, digits batch {args.batch}, cross-entropy; "
          f"torch {torch.__version__}; threads {torch.get_num_threads()}; repeats "
          f"{args.repeats} x {args.inner} steps")
    print(f"load at start: {load()}")

    sgd = sgd_step(model, context)
    configs = [natural_gradient_step(model, context, k, adapt)
               for k in args.ks for adapt in (True, False)]
    checked = {t.name: check_iterations(t, k)
               for t, k in zip(configs, [k for k in args.ks for _ in (0, 1)], strict=True)}
    everything = [sgd, *configs]
    for timed in everything:  # warm-up
        timed.run(2)
    times: dict[str, list[float]] = {t.name: [] for t in everything}
    shuffler = random.Random(0)
    order = list(everything)
    gc.collect()
    gc.disable()
    try:
        for _ in range(args.repeats):
            shuffler.shuffle(order)
            for timed in order:
                times[timed.name].append(timed.run(args.inner))
    finally:
        gc.enable()
    sgd.reset()

    base = times[sgd.name]
    print(f"\nSGD step: median {statistics.median(base) * 1e3:.3f} ms")
    header = (f"{'configuration':<30} {'ms':>8} {'ratio NG/SGD':>13} {'[q1, q3]':>15} "
              f"{'target':>7}  status")
    print(header)
    print("-" * (len(header) + 30))
    for timed, k in zip(configs, [k for k in args.ks for _ in (0, 1)], strict=True):
        ratios = [a / b for a, b in zip(times[timed.name], base, strict=True)]
        q1, ratio, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
        target = k + 2
        status = "OK" if ratio <= target else "ABOVE TARGET"
        print(f"{timed.name:<30} {statistics.median(times[timed.name]) * 1e3:8.2f} "
              f"{ratio:13.2f} {f'[{q1:.2f}, {q3:.2f}]':>15} {target:>6}x  {status}; "
              f"{checked[timed.name]}")

    pieces = component_times(model, context, sgd, args.repeats)
    sgd_ms = pieces.pop("SGD step")
    print(f"\nbreakdown (median ms, and in SGD steps of {sgd_ms * 1e3:.3f} ms timed alongside):")
    for name, seconds in pieces.items():
        print(f"  {name:<24} {seconds * 1e3:8.3f}  {seconds / sgd_ms:5.2f}")
    product = pieces["Fisher-vector product"]
    fixed = pieces["forward + backward"] + pieces["ggn_operator set-up"]
    adapt_extra = product + pieces["loss forward"]
    print("  model of a step: forward+backward + set-up + k products (+ 1 product + 1 loss "
          "forward with adapt_damping):")
    for k in args.ks:
        plain = (fixed + k * product) / sgd_ms
        print(f"    k={k:<2d} ≈ {plain:5.2f} SGD steps without, "
              f"{plain + adapt_extra / sgd_ms:5.2f} with adapt_damping (target {k + 2})")
    print(f"\nload at end: {load()}")


if __name__ == "__main__":
    main()
