"""Hidden sizes from a parameter budget: every variant within 5% of the budget."""

from __future__ import annotations

import pytest
from methodlab_deep_rnn.models import DOTSRNN, DTRNN, ShallowRNN, StackedRNN
from methodlab_deep_rnn.sizing import count_parameters, hidden_for_budget
from torch import nn

# Vocabulary of the pydoc text (103 characters) and the chorale pitch range (53).
SHAPES = [(103, 103, True), (53, 53, False)]


def makers(n_in: int, n_out: int, tokens: bool) -> dict:
    return {
        "shallow": lambda n: ShallowRNN(n_in, n_out, n, tokens=tokens),
        "dt": lambda n: DTRNN(n_in, n_out, n, tokens=tokens),
        "dts": lambda n: DTRNN(n_in, n_out, n, tokens=tokens, shortcut=True),
        "dots": lambda n: DOTSRNN(n_in, n_out, n, tokens=tokens),
        "dots-deeper": lambda n: DOTSRNN(n_in, n_out, n, tokens=tokens, transition_layers=2,
                                         output_layers=2),
        "stacked": lambda n: StackedRNN(n_in, n_out, n, tokens=tokens),
        "stacked-3": lambda n: StackedRNN(n_in, n_out, n, tokens=tokens, layers=3),
    }


@pytest.mark.parametrize(("n_in", "n_out", "tokens"), SHAPES)
@pytest.mark.parametrize("budget", [12_000, 43_000, 150_000])
def test_every_variant_matches_the_budget_within_five_percent(n_in, n_out, tokens, budget):
    widths = {}
    for name, make in makers(n_in, n_out, tokens).items():
        widths[name] = hidden_for_budget(make, budget)
        count = count_parameters(make(widths[name]))
        assert abs(count - budget) <= 0.05 * budget, (name, widths[name], count)
        # No other width is closer to the budget.
        for other in (widths[name] - 1, widths[name] + 1):
            assert abs(count_parameters(make(other)) - budget) >= abs(count - budget)
    # Deeper variants pay for their extra matrices with narrower layers.
    assert widths["shallow"] > widths["dt"] > widths["dts"] > widths["dots"]


def test_the_shallow_rnn_width_for_43000_parameters():
    # 103·n (U) + n (b) + n² (W) + 103·n + 103 (V, c) = n² + 207 n + 103: n = 128 gives 42,983.
    assert hidden_for_budget(makers(103, 103, True)["shallow"], 43_000) == 128
    assert count_parameters(ShallowRNN(103, 103, 128, tokens=True)) == 42_983


def test_impossible_budgets_name_the_fix():
    with pytest.raises(ValueError, match="raise param_budget"):
        hidden_for_budget(lambda n: nn.Linear(n, n), 1)
    # Not quadratic in the width: refuse rather than mis-size.
    with pytest.raises(ValueError, match="not a quadratic"):
        hidden_for_budget(lambda n: nn.Linear(n * n, n), 1000)
