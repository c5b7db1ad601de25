"""Training throughput of methodlab-rad-flows' RealNVP and RAD flow against zuko's RealNVP.

All flows have 6 coupling layers with alternating halves on a standard normal base and are
trained with Adam (1e-3) on the same batches of the 5 x 5 Gaussian grid (batch 512):

- ours-realnvp and zuko-realnvp: 2 x 64 ReLU conditioner MLPs (26,508 parameters each, the
  same architecture and log-scale bound);
- ours-rad: a 2 x 64 piece MLP and a 2 x 64 gating MLP per layer (55,350 parameters);
- zuko-realnvp-96: 2 x 96 conditioners (58,188 parameters), zuko's RealNVP of RAD's size.

Per repeat all flows are trained from the same fresh seed, one update of each in turn (the
order rotates every step), and every update is timed on its own, so that load changes on a
shared machine hit all flows alike. Throughput is training samples per second (warm-up
excluded), and each ratio (ours / zuko's) is the median of the per-repeat ratios. Targets:
ours-realnvp / zuko-realnvp >= 1.0 and ours-rad / zuko-realnvp-96 >= 1.0 (ours-rad /
zuko-realnvp is printed too).

The same runs give each flow's test NLL; the two RealNVPs agree "within noise" when the
difference of their mean test NLLs is at most twice its standard error over the repeats
(seed-to-seed variation). Both build their MLPs in the same order from the same seed, so they
also start from the same weights; the largest per-seed difference shows how far the two
implementations drift apart in training.

zuko is a benchmark-only peer (``pip install zuko``); the plugin does not depend on it.

Usage: ``python benchmarks/rad_flows_throughput.py [--steps 600] [--repeats 5] [--threads 1]
[--dtype float32]``
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable

import torch
import zuko
from methodlab_rad_flows.densities import gaussian_grid
from methodlab_rad_flows.rad import RADFlow
from methodlab_rad_flows.realnvp import RealNVP

LAYERS, HIDDEN, BATCH, LR = 6, (64, 64), 512, 1e-3
N_TRAIN, N_TEST = 20_000, 5_000
WARMUP = 20


class ZukoRealNVP(torch.nn.Module):
    """zuko's RealNVP behind the plugin's interface: ``forward(x)`` is log p(x)."""

    def __init__(self, hidden: tuple[int, ...] = HIDDEN) -> None:
        super().__init__()
        self.flow = zuko.flows.RealNVP(2, transforms=LAYERS, hidden_features=hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.flow().log_prob(x)


BUILDERS: dict[str, Callable[[], torch.nn.Module]] = {
    "ours-realnvp": lambda: RealNVP(2, LAYERS, HIDDEN),
    "zuko-realnvp": ZukoRealNVP,
    "ours-rad": lambda: RADFlow(2, LAYERS, HIDDEN, HIDDEN, 1e-3),
    "zuko-realnvp-96": lambda: ZukoRealNVP((96, 96)),
}
TARGETS = (("ours-realnvp", "zuko-realnvp"), ("ours-rad", "zuko-realnvp-96"),
           ("ours-rad", "zuko-realnvp"))
"""(ours, peer) throughput ratios printed; the first two have the target >= 1.0."""


def train_all(seed: int, steps: int, data: tuple[torch.Tensor, torch.Tensor],
              dtype: torch.dtype) -> dict[str, tuple[float, float]]:
    """Train every flow from ``seed`` on the same batches, one update of each in turn (in an
    order that rotates every step), timing each update on its own so that load changes on a
    shared machine hit all flows alike.

    :returns: ``{name: (training samples per second, test NLL in nats)}``.
    """
    train_x, test_x = data
    models, optimizers = {}, {}
    for name, build in BUILDERS.items():
        torch.manual_seed(seed)
        models[name] = build().to(dtype)
        optimizers[name] = torch.optim.Adam(models[name].parameters(), lr=LR)
    seconds = dict.fromkeys(BUILDERS, 0.0)
    batches = torch.randint(len(train_x), (WARMUP + steps, BATCH),
                            generator=torch.Generator().manual_seed(seed))
    names = list(BUILDERS)
    for step, index in enumerate(batches):
        x = train_x[index]
        for name in names[step % len(names):] + names[:step % len(names)]:
            start = time.perf_counter()
            loss = -models[name](x).mean()
            optimizers[name].zero_grad(set_to_none=True)
            loss.backward()
            optimizers[name].step()
            if step >= WARMUP:
                seconds[name] += time.perf_counter() - start
    result = {}
    with torch.no_grad():
        for name, model in models.items():
            result[name] = (steps * BATCH / seconds[name], float(-model(test_x).mean()))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)

    generator = torch.Generator().manual_seed(0)
    data = tuple(gaussian_grid(n, 5, 1.0, 0.1, generator)[0].to(dtype)
                 for n in (N_TRAIN, N_TEST))
    names = list(BUILDERS)
    throughput: dict[str, list[float]] = {name: [] for name in names}
    nll: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(args.repeats):
        for name, (rate, value) in train_all(repeat, args.steps, data, dtype).items():
            throughput[name].append(rate)
            nll[name].append(value)
        print(f"repeat {repeat}: " + ", ".join(
            f"{n} {throughput[n][-1]:,.0f}/s NLL {nll[n][-1]:.3f}" for n in names), flush=True)

    print(f"\n{args.steps} steps x batch {BATCH}, {args.repeats} repeats, {args.dtype}, "
          f"{args.threads} thread(s)")
    print("flow             samples/s (median)   test NLL (mean ± sd)   parameters")
    for name in names:
        parameters = sum(p.numel() for p in BUILDERS[name]().parameters())
        print(f"{name:16} {statistics.median(throughput[name]):>18,.0f}   "
              f"{statistics.fmean(nll[name]):.3f} ± {statistics.stdev(nll[name]):.3f}"
              f"          {parameters:,}")
    for index, (name, peer) in enumerate(TARGETS):
        ratio = statistics.median(a / b for a, b in zip(throughput[name], throughput[peer],
                                                        strict=True))
        verdict = ("met" if ratio >= 1.0 else "NOT met") if index < 2 else "no target"
        print(f"{name} / {peer} throughput: {ratio:.2f}x (target >= 1.0: {verdict})")
    ours, theirs = nll["ours-realnvp"], nll["zuko-realnvp"]
    difference = statistics.fmean(ours) - statistics.fmean(theirs)
    error = math.sqrt((statistics.variance(ours) + statistics.variance(theirs)) / len(ours))
    agree = abs(difference) <= 2 * error
    largest = max(abs(a - b) for a, b in zip(ours, theirs, strict=True))
    print(f"RealNVP test NLL ours - zuko: {difference:+.4f} nats, standard error {error:.4f} "
          f"(seed-to-seed): {'within' if agree else 'NOT within'} noise (|difference| <= 2 "
          f"standard errors); largest per-seed |difference| {largest:.2e}")


if __name__ == "__main__":
    main()
