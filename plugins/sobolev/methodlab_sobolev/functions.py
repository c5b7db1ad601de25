r"""The seven 2-D benchmark functions of Sobolev training, with analytic gradients.

Each function maps inputs ``(B, 2)`` to values ``(B,)`` and gradients ``(B, 2)``. Gradients
are written out by hand (not taken by autograd) so the environment's derivative targets are
independent of the machinery the Sobolev loss uses; the tests check them against autograd.

Domains are the paper's (its appendix, pp. 14-15, as quoted by the public reproduction
Tikquuss/lwd, ``notebooks/optimization_functions.ipynb``): the standard boxes of the Virtual
Library of Simulation Experiments (sfu.ca/~ssurjano) except Ackley on [-5, 5]² (not
[-32.768, 32.768]²) and Rosenbrock on [-2, 2]² (not [-2.048, 2.048]²).

References:
    Czarnecki, Osindero, Jaderberg, Swirszcz, Pascanu (2017), "Sobolev training for neural
    networks", NeurIPS, arXiv:1706.04859, Section 4.1 and Figure 3.
    Surjanovic & Bingham, Virtual Library of Simulation Experiments.

Example:
    >>> x = torch.tensor([[1.0, 3.0]])
    >>> value, grad = FUNCTIONS["booth"].evaluate(x)
    >>> float(value[0]), grad.tolist()
    (0.0, [[0.0, 0.0]])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import attrs
import torch

__all__ = ["FUNCTIONS", "BenchmarkFunction"]

Pair = tuple[torch.Tensor, torch.Tensor]


@attrs.frozen
class BenchmarkFunction:
    """A 2-D function with its analytic gradient and its box domain."""

    name: str
    """Name used by the ``function`` parameter of the ``sobolev-function`` environment."""
    low: tuple[float, float]
    """Lower corner of the domain."""
    high: tuple[float, float]
    """Upper corner of the domain."""
    fn: Callable[[torch.Tensor, torch.Tensor], Pair]
    """``(x1, x2) -> (f, (∂f/∂x1, ∂f/∂x2) stacked as (B, 2))`` on ``(B,)`` tensors."""

    def evaluate(self, inputs: torch.Tensor) -> Pair:
        """Values ``(B,)`` and gradients ``(B, 2)`` at ``inputs`` ``(B, 2)``."""
        return self.fn(inputs[:, 0], inputs[:, 1])


def _ackley(x: torch.Tensor, y: torch.Tensor) -> Pair:
    # f = -20 exp(-0.2 r) - exp(½(cos 2πx + cos 2πy)) + e + 20, r = sqrt(½(x² + y²)).
    r = torch.sqrt(0.5 * (x**2 + y**2)).clamp_min(1e-12)  # kink at 0: never sampled exactly
    a = torch.exp(-0.2 * r)
    b = torch.exp(0.5 * (torch.cos(2 * math.pi * x) + torch.cos(2 * math.pi * y)))
    f = -20.0 * a - b + math.e + 20.0
    gx = 2.0 * x * a / r + math.pi * torch.sin(2 * math.pi * x) * b
    gy = 2.0 * y * a / r + math.pi * torch.sin(2 * math.pi * y) * b
    return f, torch.stack([gx, gy], -1)


def _beale(x: torch.Tensor, y: torch.Tensor) -> Pair:
    f = torch.zeros_like(x)
    gx = torch.zeros_like(x)
    gy = torch.zeros_like(x)
    for i, c in enumerate((1.5, 2.25, 2.625), start=1):
        a = c - x + x * y**i
        f = f + a**2
        gx = gx + 2.0 * a * (y**i - 1.0)
        gy = gy + 2.0 * a * i * x * y ** (i - 1)
    return f, torch.stack([gx, gy], -1)


def _booth(x: torch.Tensor, y: torch.Tensor) -> Pair:
    a = x + 2.0 * y - 7.0
    b = 2.0 * x + y - 5.0
    return a**2 + b**2, torch.stack([2.0 * a + 4.0 * b, 4.0 * a + 2.0 * b], -1)


def _bukin(x: torch.Tensor, y: torch.Tensor) -> Pair:
    # Bukin N.6: 100 sqrt|y - 0.01x²| + 0.01|x + 10|; ∂/∂u sqrt|u| = sign(u) / (2 sqrt|u|).
    u = y - 0.01 * x**2
    root = torch.sqrt(u.abs()).clamp_min(1e-12)
    f = 100.0 * root + 0.01 * (x + 10.0).abs()
    du = 50.0 * torch.sign(u) / root
    gx = du * (-0.02 * x) + 0.01 * torch.sign(x + 10.0)
    return f, torch.stack([gx, du], -1)


def _mccormick(x: torch.Tensor, y: torch.Tensor) -> Pair:
    c = torch.cos(x + y)
    f = torch.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1.0
    return f, torch.stack([c + 2.0 * (x - y) - 1.5, c - 2.0 * (x - y) + 2.5], -1)


def _rosenbrock(x: torch.Tensor, y: torch.Tensor) -> Pair:
    d = y - x**2
    f = (1.0 - x) ** 2 + 100.0 * d**2
    return f, torch.stack([-2.0 * (1.0 - x) - 400.0 * x * d, 200.0 * d], -1)


def _styblinski_tang(x: torch.Tensor, y: torch.Tensor) -> Pair:
    f = 0.5 * (x**4 - 16.0 * x**2 + 5.0 * x + y**4 - 16.0 * y**2 + 5.0 * y)
    g = torch.stack([2.0 * x**3 - 16.0 * x + 2.5, 2.0 * y**3 - 16.0 * y + 2.5], -1)
    return f, g


FUNCTIONS: Mapping[str, BenchmarkFunction] = {
    f.name: f
    for f in (
        BenchmarkFunction("ackley", (-5.0, -5.0), (5.0, 5.0), _ackley),
        BenchmarkFunction("beale", (-4.5, -4.5), (4.5, 4.5), _beale),
        BenchmarkFunction("booth", (-10.0, -10.0), (10.0, 10.0), _booth),
        BenchmarkFunction("bukin", (-15.0, -3.0), (-5.0, 3.0), _bukin),
        BenchmarkFunction("mccormick", (-1.5, -3.0), (4.0, 4.0), _mccormick),
        BenchmarkFunction("rosenbrock", (-2.0, -2.0), (2.0, 2.0), _rosenbrock),
        BenchmarkFunction("styblinski-tang", (-5.0, -5.0), (5.0, 5.0), _styblinski_tang),
    )
}
"""The benchmark functions by name."""
