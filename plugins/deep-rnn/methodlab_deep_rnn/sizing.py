"""Hidden sizes that give every variant the same number of parameters.

The paper compares its variants at (roughly) equal parameter counts; deeper transitions and
outputs add n_h × n_h matrices, so a deep variant gets a narrower hidden layer. The count of a
variant is a strictly increasing function of its width n_h, so the width closest to a budget
is found by bisection; candidate models are built on the ``meta`` device, which allocates no
memory.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["count_parameters", "hidden_for_budget"]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars of ``model``.

    Example:
        >>> count_parameters(nn.Linear(3, 2))
        8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def hidden_for_budget(make: Callable[[int], nn.Module], budget: int,
                      max_hidden: int = 1 << 16) -> int:
    """The width n_h ≥ 1 whose model ``make(n_h)`` has the parameter count closest to
    ``budget`` (the smaller width on a tie).

    :param make: builds the model for a width; called on the ``meta`` device.
    :param budget: target number of trainable parameters.
    :raises ValueError: if even ``make(1)`` has more than ``budget`` parameters or ``max_hidden``
        has fewer, naming the count to aim for.

    Example:
        >>> # n_h² + 2 n_h + ... : a Linear(n, n) has n² + n parameters.
        >>> hidden_for_budget(lambda n: nn.Linear(n, n), 10_100)
        100
    """
    def count(width: int) -> int:
        with torch.device("meta"):
            return count_parameters(make(width))

    low, high = 1, max_hidden
    if count(low) > budget:
        raise ValueError(f"param_budget {budget} is below the smallest model's "
                         f"{count(low)} parameters (hidden = 1); raise param_budget")
    if count(high) < budget:
        raise ValueError(f"param_budget {budget} exceeds the {count(high)} parameters of "
                         f"hidden = {high}; lower param_budget")
    while high - low > 1:  # invariant: count(low) <= budget <= count(high)
        middle = (low + high) // 2
        if count(middle) <= budget:
            low = middle
        else:
            high = middle
    return low if budget - count(low) <= count(high) - budget else high
