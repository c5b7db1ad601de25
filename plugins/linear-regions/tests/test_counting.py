"""Exact counting: the theorems' numbers as exact unit tests."""

import itertools
from fractions import Fraction

import pytest
import torch
from methodlab_linear_regions.bounds import (
    deep_rectifier_lower_montufar,
    deep_rectifier_upper,
    shallow_rectifier_regions,
)
from methodlab_linear_regions.counting import count_line, count_plane, relu_layers
from methodlab_linear_regions.zigzag import zigzag
from torch import nn


@pytest.mark.parametrize(("n", "depth", "expected"), [(3, 4, 81), (4, 3, 64), (2, 6, 64),
                                                      (12, 1, 12), (1, 5, 1)])
def test_zigzag_has_n_to_the_l_pieces(n, depth, expected):
    result = count_line(relu_layers(zigzag(n, depth)), [0.0], [1.0])
    assert result.pieces == result.regions == expected == n**depth
    # the breakpoints are exactly the multiples of 1 / n^L
    assert result.breakpoints == tuple(Fraction(k, n**depth) for k in range(1, n**depth))


def test_zigzag_reaches_the_lower_bound_order():
    # n^L pieces on [0, 1] is within a factor (n+1)/n of Montufar's n^(L-1)(n+1)
    for n, depth in [(3, 4), (4, 3)]:
        pieces = count_line(relu_layers(zigzag(n, depth)), [0.0], [1.0]).pieces
        assert pieces * (n + 1) == deep_rectifier_lower_montufar(1, [n] * depth) * n
        assert pieces <= deep_rectifier_upper(1, [n] * depth)


def test_zigzag_values_fold_the_interval():
    net = zigzag(3, 2).double()
    x = torch.tensor([[k / 9] for k in range(10)], dtype=torch.float64)
    expected = torch.tensor([0.0, 1.0] * 5, dtype=torch.float64)
    # k / 9 is not a float exactly, so the values match to rounding only
    assert torch.allclose(net(x).flatten(), expected, atol=1e-12)


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("units", [1, 5, 12])
def test_shallow_net_has_at_most_n_plus_one_pieces(seed, units):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(1, units), nn.ReLU(), nn.Linear(units, 1))
    # a long segment covers every breakpoint -b_i / w_i of the default init (|b/w| <= 1 / ...)
    result = count_line(relu_layers(net), [-1e3], [1e3])
    assert result.pieces <= result.regions <= units + 1 == shallow_rectifier_regions(1, units)


def test_shallow_net_in_general_position_reaches_n_plus_one():
    units = 12
    net = nn.Sequential(nn.Linear(1, units), nn.ReLU(), nn.Linear(units, 1))
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.copy_(-torch.arange(units, dtype=torch.float32) / units)
        net[2].weight.fill_(1.0)
    assert count_line(relu_layers(net), [-1.0], [2.0]).pieces == units + 1


def test_equal_slopes_merge_into_one_piece():
    # relu(x) + relu(-x) * 0: the second unit's kink does not change the output
    net = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))
        net[0].bias.copy_(torch.tensor([-0.5, 0.25]))
        net[2].weight.copy_(torch.tensor([[1.0, 0.0]]))
    result = count_line(relu_layers(net), [0.0], [1.0])
    assert (result.regions, result.pieces) == (3, 2)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("widths", [(6,), (4, 4), (3, 3, 3), (8, 8)])
def test_random_counts_never_exceed_bounds(seed, widths):
    torch.manual_seed(seed)
    sizes = (2, *widths)
    modules: list[nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        modules += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    net = nn.Sequential(*modules, nn.Linear(widths[-1], 1))
    layers = relu_layers(net)
    line = count_line(layers, [-2.0, -1.5], [2.0, 1.0])
    assert line.pieces <= line.regions <= deep_rectifier_upper(1, list(widths))
    plane = count_plane(layers, [-2.0, -2.0], [4.0, 0.0], [0.0, 4.0])
    assert plane.regions <= deep_rectifier_upper(2, list(widths))


def test_shallow_plane_count_in_general_position():
    # 3 lines in general position through the square cut it into 7 regions
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        net[0].bias.copy_(torch.tensor([-0.5, -0.5, -0.75]))
    assert count_plane(relu_layers(net), [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]).regions == 7


def test_plane_count_of_zigzag_matches_line_count():
    # the 2-D zigzag folds along u only: its cells are the n^L strips
    net = zigzag(3, 3, in_features=2)
    assert count_plane(relu_layers(net), [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]).regions == 27


def test_dead_unit_is_not_double_counted():
    net = nn.Sequential(nn.Linear(2, 1), nn.ReLU(), nn.Linear(1, 1))
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].bias.zero_()
    assert count_plane(relu_layers(net), [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]).regions == 1


def test_unsupported_module_raises():
    with pytest.raises(TypeError):
        relu_layers(nn.Sequential(nn.Linear(1, 2), nn.Tanh(), nn.Linear(2, 1)))


@pytest.mark.parametrize(("n", "depth"), [(3, 3), (2, 4), (2, 2)])
def test_folded_zigzag_cuts_the_square_into_n_to_the_2l_cells(n, depth):
    net = zigzag(n, depth, in_features=2, fold_inputs=2)
    cells = count_plane(relu_layers(net), [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]).regions
    assert cells == n ** (2 * depth)
    assert cells <= deep_rectifier_upper(2, [2 * n] * depth)


def test_deep_2d_construction_beats_every_shallow_net_with_as_many_units():
    # 3 layers x 6 units = 18 units: 729 cells in the unit square; 18 shallow units: <= 172
    cells = count_plane(relu_layers(zigzag(3, 3, 2, fold_inputs=2)),
                        [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]).regions
    assert cells == 729 > shallow_rectifier_regions(2, 18) == 172
