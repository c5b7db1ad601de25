"""Hidden sizes that give every variant the same number of parameters.

The paper compares its variants at (roughly) equal parameter counts; deeper transitions and
outputs add n_h × n_h matrices, so a deep variant gets a narrower hidden layer. Every weight of
these models is n_h × n_h, n_h × D or D × n_h and every bias has n_h or D entries, so the
parameter count is a quadratic a n_h² + b n_h + c. Four tiny builds (n_h = 1..4) determine and
check the polynomial; the width closest to the budget then follows without building big models.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

__all__ = ["count_parameters", "hidden_for_budget", "parameter_polynomial"]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars of ``model``.

    Example:
        >>> count_parameters(nn.Linear(3, 2))
        8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def parameter_polynomial(make: Callable[[int], nn.Module]) -> tuple[int, int, int]:
    """Coefficients ``(a, b, c)`` with ``count_parameters(make(n)) == a n² + b n + c``.

    :raises ValueError: if the count of ``make(4)`` departs from the quadratic through
        ``make(1..3)`` (a model whose size is not quadratic in its width).

    Example:
        >>> parameter_polynomial(lambda n: nn.Sequential(nn.Linear(5, n), nn.Linear(n, n)))
        (1, 7, 0)
    """
    c1, c2, c3, c4 = (count_parameters(make(width)) for width in (1, 2, 3, 4))
    a2 = c3 - 2 * c2 + c1  # second difference = 2a
    if a2 % 2 or c4 - 3 * c3 + 3 * c2 - c1 != 0:
        raise ValueError(f"parameter counts {c1}, {c2}, {c3}, {c4} at widths 1-4 are not a "
                         "quadratic in the width; hidden_for_budget cannot size this model")
    a = a2 // 2
    b = c2 - c1 - 3 * a
    return a, b, c1 - a - b


def hidden_for_budget(make: Callable[[int], nn.Module], budget: int) -> int:
    """The width n_h ≥ 1 whose model ``make(n_h)`` has the parameter count closest to
    ``budget`` (the smaller width on a tie).

    :param make: builds the model for a width (called for widths 1 to 4 only).
    :param budget: target number of trainable parameters.
    :raises ValueError: if even ``make(1)`` has more than ``budget`` parameters.

    Example:
        >>> hidden_for_budget(lambda n: nn.Linear(n, n), 10_100)  # n² + n
        100
    """
    a, b, c = parameter_polynomial(make)

    def count(width: int) -> int:
        return a * width * width + b * width + c

    if count(1) > budget:
        raise ValueError(f"param_budget {budget} is below the smallest model's "
                         f"{count(1)} parameters (hidden = 1); raise param_budget")
    low, high = 1, 2
    while count(high) < budget:
        high *= 2
    while high - low > 1:  # invariant: count(low) <= budget <= count(high)
        middle = (low + high) // 2
        if count(middle) <= budget:
            low = middle
        else:
            high = middle
    return low if budget - count(low) <= count(high) - budget else high
