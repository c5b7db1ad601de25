"""Gauss-Newton-vector products of methodlab.curvature against curvlinops and BackPACK.

The same MLP (64-128-128-10, tanh) on the same batch (512 rows of scikit-learn's digits) is
given to every library, for two losses: softmax cross-entropy on the labels, and mean
squared error regressing the one-hot labels. Two ways of using the product are compared:

* ``operator``: set up once, then many products at the same parameters, which is how
  conjugate gradient uses it: ``methodlab.curvature.ggn_operator`` (built outside the timed
  region) against ``curvlinops.GGNLinearOperator`` (``op @ v``; it re-runs the forward pass
  inside every product) and ``backpack.hessianfree.ggnvp.ggn_vector_product`` (model output
  and loss computed once, outside the timed region);
* ``one-shot``: everything from scratch for one vector: ``ggn_vector_product`` against
  building a ``GGNLinearOperator`` and multiplying once, and a forward pass plus BackPACK's
  product.

Agreement is checked in float64 (max relative difference ``max|a - b| / max|b|`` against
``ggn_operator``, target <= 1e-6); timings are in float32: the median over ``--repeats``
rounds, after warm-up, each round timing ``--inner`` products of every method in a shuffled
order; the time ratio ours / theirs is the median of the per-round ratios (paired in time,
so drifting machine load cancels), target <= 1.0. BackPACK's and curvlinops' MSE is
``MSELoss(reduction="sum")``, whose GGN is ``2 B`` times methodlab's (``0.5 * sum / B``);
their products are rescaled before comparison.

With ``--variants`` (default on) it also times prototypes of other ways to implement
``ggn_operator`` (``VARIANTS``: plain autograd on a retained graph, forward-mode ``jvp``,
``linearize``) and ``ggn_vector_product`` (``ONESHOT_VARIANTS``: one forward pass carrying
forward-mode tangents, then one backward), as evidence for changes to
``methodlab.curvature``; they are checked for agreement like the peers.

Peers that are not installed are skipped with a message, so the script also runs in the main
environment. The peers need torchvision and so a different torch; the environment with
everything lives outside the repository (see benchmarks/requirements.txt)::

    python3.11 -m venv /tmp/bench-venv
    /tmp/bench-venv/bin/pip install -r benchmarks/requirements.txt
    /tmp/bench-venv/bin/python benchmarks/curvature.py [--repeats 30] [--inner 10]
        [--threads 1] [--batch 512] [--no-variants]

``--threads 1`` is the default on purpose: on a shared, loaded machine two OpenMP threads
made these small products 10-60 times slower and erratic. Exits with status 1 if any
agreement check fails; a time ratio above target is reported, not fatal.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F
from methodlab import curvature
from methodlab.builtins.environments import digits_split
from methodlab.builtins.losses import CrossEntropy, MeanSquaredError
from methodlab.builtins.models import feedforward
from methodlab.components import OutputLoss
from torch import Tensor, nn
from torch.func import functional_call, grad, jvp, linearize, vjp

Product = Callable[[Tensor], Tensor]
"""A Gauss-Newton-vector product on flat vectors of shape ``(P,)``, in methodlab's scaling."""

SIZES = (64, 128, 128, 10)
AGREEMENT_TOL = 1e-6
RATIO_TARGET = 1.0
OURS_OPERATOR = "methodlab ggn_operator"
OURS_ONESHOT = "methodlab ggn_vector_product"


# -------------------------------------------------------------------------------------------
# Problem
# -------------------------------------------------------------------------------------------


@dataclass
class Case:
    """One model, loss and batch, in one dtype; every method is built from it."""

    name: str
    model: nn.Module
    loss: OutputLoss
    peer_loss: nn.Module
    inputs: Tensor
    targets: Tensor
    peer_scale: float
    """Multiply a peer's product by this to get methodlab's loss scaling."""
    params: list[nn.Parameter] = field(init=False)

    def __post_init__(self) -> None:
        self.params = [p for p in self.model.parameters() if p.requires_grad]

    @property
    def dim(self) -> int:
        return sum(p.numel() for p in self.params)


def make_case(name: str, dtype: torch.dtype, batch: int) -> Case:
    """Build the ``"cross-entropy"`` or ``"mse"`` case with the same weights and rows."""
    x_train, _, y_train, _ = digits_split()
    inputs = torch.as_tensor(x_train[:batch], dtype=dtype)
    labels = torch.as_tensor(y_train[:batch], dtype=torch.long)
    torch.manual_seed(0)
    model = feedforward(SIZES, "tanh").to(dtype)
    if name == "cross-entropy":
        return Case(name, model, CrossEntropy(), nn.CrossEntropyLoss(), inputs, labels, 1.0)
    if name == "mse":
        onehot = F.one_hot(labels, SIZES[-1]).to(dtype)
        # MSELoss(sum) = sum (f - y)^2 has output Hessian 2 I; ours, 0.5 * sum / B, has I / B.
        return Case(name, model, MeanSquaredError(), nn.MSELoss(reduction="sum"), inputs,
                    onehot, 1.0 / (2 * batch))
    raise ValueError(name)


# -------------------------------------------------------------------------------------------
# Methods: each builder takes a Case and returns a Product; "set-up" work happens in the
# builder (untimed), the product is timed.
# -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Method:
    name: str
    mode: str  # "operator" or "one-shot"
    library: str  # "methodlab", "curvlinops", "backpack" or "variant"
    build: Callable[[Case], Product]
    slow: bool = False  # time one product per round instead of --inner


def ours_operator(case: Case) -> Product:
    return curvature.ggn_operator(case.model, case.loss, case.inputs, targets=case.targets)


def ours_oneshot(case: Case) -> Product:
    def product(v: Tensor) -> Tensor:
        return curvature.ggn_vector_product(
            case.model, case.loss, case.inputs, v, targets=case.targets
        )

    return product


def curvlinops_operator(case: Case) -> Product:
    from curvlinops import GGNLinearOperator

    op = GGNLinearOperator(case.model, case.peer_loss, case.params,
                           [(case.inputs, case.targets)], check_deterministic=False,
                           num_data=len(case.inputs))
    return lambda v: (op @ v) * case.peer_scale


def curvlinops_oneshot(case: Case) -> Product:
    from curvlinops import GGNLinearOperator

    def product(v: Tensor) -> Tensor:
        op = GGNLinearOperator(case.model, case.peer_loss, case.params,
                               [(case.inputs, case.targets)], check_deterministic=False,
                               num_data=len(case.inputs))
        return (op @ v) * case.peer_scale

    return product


def _backpack_product(case: Case, outputs: Tensor, loss: Tensor, v: Tensor) -> Tensor:
    from backpack.hessianfree.ggnvp import ggn_vector_product_from_plist

    vs = curvature.unflatten_like(v, case.params)
    return curvature.flatten(
        ggn_vector_product_from_plist(loss, outputs, case.params, vs)
    ) * case.peer_scale


def backpack_operator(case: Case) -> Product:
    import backpack.hessianfree.ggnvp  # noqa: F401  (fail here if it is missing)

    with torch.enable_grad():
        outputs = case.model(case.inputs)
        loss = case.peer_loss(outputs, case.targets)
    return lambda v: _backpack_product(case, outputs, loss, v)


def backpack_oneshot(case: Case) -> Product:
    import backpack.hessianfree.ggnvp  # noqa: F401

    def product(v: Tensor) -> Tensor:
        with torch.enable_grad():
            outputs = case.model(case.inputs)
            loss = case.peer_loss(outputs, case.targets)
        return _backpack_product(case, outputs, loss, v)

    return product


# --- Prototypes of alternative ggn_operator implementations (same maths, same API) ---------


def _functional(case: Case) -> tuple[Callable[..., Tensor], tuple[Tensor, ...]]:
    names = [name for name, p in case.model.named_parameters() if p.requires_grad]
    primals = tuple(p.detach() for p in case.params)

    def forward(*theta: Tensor) -> Tensor:
        return functional_call(case.model, dict(zip(names, theta, strict=True)),
                               (case.inputs,))

    return forward, primals


def _output_hessian(case: Case, outputs: Tensor) -> Callable[[Tensor], Tensor]:
    _, hvp = vjp(grad(lambda z: case.loss.from_outputs(z, case.targets)), outputs.detach())
    return lambda u: hvp(u)[0]


def _output_hessian_autograd(case: Case, outputs: Tensor) -> Callable[[Tensor], Tensor]:
    """``u -> H u`` by plain autograd: the loss gradient's graph is recorded once."""
    with torch.enable_grad():
        z = outputs.detach().requires_grad_()
        (gradient,) = torch.autograd.grad(case.loss.from_outputs(z, case.targets), z,
                                          create_graph=True)
    return lambda u: torch.autograd.grad(gradient, z, u, retain_graph=True)[0]


def variant_autograd(case: Case) -> Product:
    """J v by double-backward on a retained graph and J^T u by backward, with plain autograd.

    The same two backward passes as ggn_operator, without torch.func's per-call wrapping;
    H u also by plain autograd. This is the proposed ggn_operator patch.
    """
    params = case.params
    with torch.enable_grad():
        outputs = case.model(case.inputs)
        dummy = torch.zeros_like(outputs, requires_grad=True)
        # u -> J^T u as a differentiable graph in u; its gradient w.r.t. u is J v.
        transposed = torch.autograd.grad(outputs, params, dummy, create_graph=True,
                                         materialize_grads=True)
    output_hessian = _output_hessian_autograd(case, outputs)

    def product(v: Tensor) -> Tensor:
        (jv,) = torch.autograd.grad(transposed, dummy, curvature.unflatten_like(v, params),
                                    retain_graph=True)
        hjv = output_hessian(jv)
        return curvature.flatten(torch.autograd.grad(outputs, params, hjv, retain_graph=True,
                                                     materialize_grads=True))

    return product


def variant_jvp(case: Case) -> Product:
    """J v by forward mode (torch.func.jvp, re-runs the forward pass), J^T u by vjp."""
    forward, primals = _functional(case)
    outputs, pullback = vjp(forward, *primals)
    output_hessian = _output_hessian(case, outputs)

    def product(v: Tensor) -> Tensor:
        _, jv = jvp(forward, primals, tuple(curvature.unflatten_like(v, primals)))
        return curvature.flatten(pullback(output_hessian(jv)))

    return product


def variant_linearize(case: Case) -> Product:
    """J v by torch.func.linearize (forward mode traced once), J^T u by vjp."""
    forward, primals = _functional(case)
    outputs, pullback = vjp(forward, *primals)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # const_fold's get_attr warning in torch 2.13/2.14
        _, push = linearize(forward, *primals)
    output_hessian = _output_hessian(case, outputs)

    def product(v: Tensor) -> Tensor:
        jv = push(*curvature.unflatten_like(v, primals))
        return curvature.flatten(pullback(output_hessian(jv)))

    return product


def variant_dual_func(case: Case) -> Product:
    """One-shot: J v as forward-mode tangents of the same forward pass that records the
    reverse graph (torch.func.jvp inside torch.func.vjp), then one backward for J^T H J v.

    Costs one forward pass with tangents and one backward, where ggn_vector_product runs a
    forward, a backward to record the J v graph, a double backward and a backward.
    """
    forward, primals = _functional(case)

    def product(v: Tensor) -> Tensor:
        tangents = tuple(curvature.unflatten_like(v, primals))

        def outputs_and_jv(*theta: Tensor) -> tuple[Tensor, Tensor]:
            return jvp(forward, theta, tangents)

        outputs, pullback, jv = vjp(outputs_and_jv, *primals, has_aux=True)
        return curvature.flatten(pullback(_output_hessian(case, outputs)(jv)))

    return product


def variant_dual_autograd(case: Case) -> Product:
    """One-shot as variant_dual_func, with torch.autograd.forward_ad and plain autograd.

    This is the proposed ggn_vector_product patch.
    """
    names = [name for name, p in case.model.named_parameters() if p.requires_grad]
    params = case.params

    def product(v: Tensor) -> Tensor:
        tangents = curvature.unflatten_like(v, params)
        with fwAD.dual_level(), torch.enable_grad():
            duals = {name: fwAD.make_dual(p, t)
                     for name, p, t in zip(names, params, tangents, strict=True)}
            outputs, jv = fwAD.unpack_dual(
                functional_call(case.model, duals, (case.inputs,)))
        hjv = _output_hessian_autograd(case, outputs)(jv)
        return curvature.flatten(torch.autograd.grad(outputs, params, hjv,
                                                     materialize_grads=True))

    return product


def _oneshot(build: Callable[[Case], Product]) -> Callable[[Case], Product]:
    return lambda case: (lambda v: build(case)(v))


ONESHOT_VARIANTS: dict[str, Callable[[Case], Product]] = {
    "variant dual: jvp inside vjp": variant_dual_func,
    "variant dual: forward_ad + autograd": variant_dual_autograd,
}


VARIANTS: dict[str, Callable[[Case], Product]] = {
    "variant autograd (retained graph)": variant_autograd,
    "variant jvp + vjp": variant_jvp,
    "variant linearize + vjp": variant_linearize,
}

PEERS = {
    "curvlinops": ("curvlinops", "curvlinops-for-pytorch"),
    "backpack": ("backpack.hessianfree.ggnvp", "backpack-for-pytorch"),
}


def methods(variants: bool) -> tuple[list[Method], list[str]]:
    """Return the methods whose libraries import, and messages for the ones skipped."""
    found = [Method(OURS_OPERATOR, "operator", "methodlab", ours_operator),
             Method(OURS_ONESHOT, "one-shot", "methodlab", ours_oneshot)]
    skipped = []
    available = {}
    for library, (module, dist) in PEERS.items():
        try:
            __import__(module)
            available[library] = True
        except ImportError as error:
            skipped.append(f"{library}: skipped, {dist} is not importable here ({error}); "
                           f"install benchmarks/requirements.txt to compare with it")
    if "curvlinops" in available:
        found += [Method("curvlinops GGNLinearOperator @ v", "operator", "curvlinops",
                         curvlinops_operator),
                  Method("curvlinops GGNLinearOperator(...) @ v", "one-shot", "curvlinops",
                         curvlinops_oneshot)]
    if "backpack" in available:
        found += [Method("backpack ggn_vector_product", "operator", "backpack",
                         backpack_operator),
                  Method("backpack forward + ggn_vector_product", "one-shot", "backpack",
                         backpack_oneshot)]
    if variants:
        for name, build in VARIANTS.items():
            found += [Method(name, "operator", "variant", build),
                      Method(name, "one-shot", "variant", _oneshot(build),
                             slow=build is variant_linearize)]
        for name, build in ONESHOT_VARIANTS.items():
            found.append(Method(name, "one-shot", "variant", build))
    return found, skipped


# -------------------------------------------------------------------------------------------
# Measurement
# -------------------------------------------------------------------------------------------


def max_relative_difference(a: Tensor, b: Tensor) -> float:
    """``max|a - b| / max|b|``: elementwise relative errors blow up on near-zero entries."""
    return float((a - b).abs().max() / b.abs().max())


def agreement(case: Case, found: list[Method]) -> dict[tuple[str, str], float]:
    """Max relative difference of every method to ``ggn_operator`` on two random vectors."""
    generator = torch.Generator().manual_seed(1)
    vectors = [torch.randn(case.dim, generator=generator, dtype=torch.float64)
               for _ in range(2)]
    reference_op = ours_operator(case)
    references = [reference_op(v) for v in vectors]
    result = {}
    for method in found:
        product = method.build(case)
        result[(method.name, method.mode)] = max(
            max_relative_difference(product(v), ref)
            for v, ref in zip(vectors, references, strict=True)
        )
    return result


def timings(case: Case, found: list[Method], repeats: int, inner: int,
            warmup: int = 3) -> dict[tuple[str, str], list[float]]:
    """Seconds per product of every method, one entry per round (shuffled order per round)."""
    generator = torch.Generator().manual_seed(2)
    v = torch.randn(case.dim, generator=generator, dtype=torch.float32)
    products = {(m.name, m.mode): m.build(case) for m in found}
    counts = {(m.name, m.mode): 1 if m.slow else inner for m in found}
    for product in products.values():
        for _ in range(warmup):
            product(v)
    times: dict[tuple[str, str], list[float]] = {key: [] for key in products}
    order = list(products)
    shuffler = random.Random(3)
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):
            shuffler.shuffle(order)
            for key in order:
                product, count = products[key], counts[key]
                start = time.perf_counter()
                for _ in range(count):
                    product(v)
                times[key].append((time.perf_counter() - start) / count)
    finally:
        gc.enable()
    return times


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def paired_ratio(ours: list[float], theirs: list[float]) -> tuple[float, float, float]:
    return quartiles([a / b for a, b in zip(ours, theirs, strict=True)])


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} CPUs"


# -------------------------------------------------------------------------------------------
# Report
# -------------------------------------------------------------------------------------------


def report(case_name: str, found: list[Method], agree: dict[tuple[str, str], float],
           times: dict[tuple[str, str], list[float]]) -> list[str]:
    """Print the tables for one case; return the failed agreement checks."""
    failures = []
    ours = {"operator": (OURS_OPERATOR, "operator"), "one-shot": (OURS_ONESHOT, "one-shot")}
    print(f"\n== {case_name}: ours vs peers (float32 ms per product: median [q1, q3]; "
          f"ratio = median of per-round ours/theirs; agreement in float64)")
    header = (f"{'mode':<9} {'peer':<40} {'ours ms':>8} {'peer ms':>8} {'ratio':>7} "
              f"{'[q1, q3]':>15} {'max rel diff':>13}  status")
    print(header)
    print("-" * len(header))
    if not any(m.library in ("curvlinops", "backpack") for m in found):
        print("(no peer library installed: nothing to compare; see the messages above)")
    for method in found:
        key = (method.name, method.mode)
        diff = agree[key]
        agree_ok = diff <= AGREEMENT_TOL
        if not agree_ok:
            failures.append(f"{case_name}: {method.name} ({method.mode}) differs by {diff:.2e}")
        if method.library not in ("curvlinops", "backpack"):
            continue
        mine = times[ours[method.mode]]
        theirs = times[key]
        q1, ratio, q3 = paired_ratio(mine, theirs)
        status = ("OK" if ratio <= RATIO_TARGET else "SLOWER") + (
            "" if agree_ok else ", AGREEMENT FAILED")
        print(f"{method.mode:<9} {method.name:<40} {statistics.median(mine) * 1e3:8.3f} "
              f"{statistics.median(theirs) * 1e3:8.3f} {ratio:7.3f} "
              f"{f'[{q1:.2f}, {q3:.2f}]':>15} {diff:13.1e}  {status}")
    print(f"\n   {case_name}: all methods, ms per product (median [q1, q3]), and time "
          f"relative to ggn_operator's product")
    base = times[ours["operator"]]
    for method in found:
        key = (method.name, method.mode)
        q1, median, q3 = quartiles(times[key])
        rel = paired_ratio(times[key], base)[1]
        print(f"   {method.mode:<9} {method.name:<40} {median * 1e3:8.3f} "
              f"[{q1 * 1e3:.3f}, {q3 * 1e3:.3f}]  x{rel:.2f}  max rel diff {agree[key]:.1e}")
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed rounds (median)")
    parser.add_argument("--inner", type=int, default=10, help="products per round")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--cases", nargs="+", default=["cross-entropy", "mse"],
                        choices=["cross-entropy", "mse"])
    parser.add_argument("--variants", action=argparse.BooleanOptionalAction, default=True,
                        help="also time prototype implementations of ggn_operator")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    found, skipped = methods(args.variants)
    versions: dict[str, Any] = {"torch": torch.__version__}
    for library in ("curvlinops", "backpack"):
        if any(m.library == library for m in found):
            from importlib.metadata import version

            versions[library] = version(PEERS[library][1])
    print(f"MLP {'-'.join(map(str, SIZES))} tanh, digits batch {args.batch}; "
          + ", ".join(f"{k} {v}" for k, v in versions.items())
          + f"; threads {torch.get_num_threads()}; repeats {args.repeats} x {args.inner} "
          f"products")
    print(f"load at start: {load()}")
    for message in skipped:
        print(message)
    failures = []
    for case_name in args.cases:
        agree = agreement(make_case(case_name, torch.float64, args.batch), found)
        times = timings(make_case(case_name, torch.float32, args.batch), found,
                        args.repeats, args.inner)
        failures += report(case_name, found, agree, times)
    print(f"\nload at end: {load()}")
    print(f"agreement target: max rel diff <= {AGREEMENT_TOL:g}; time ratio target "
          f"ours/theirs <= {RATIO_TARGET:g}")
    if failures:
        print("AGREEMENT FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("agreement: all methods agree with ggn_operator")


if __name__ == "__main__":
    main()
