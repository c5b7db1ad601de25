"""Partitions of parameters into groups."""

from __future__ import annotations

import pytest
import torch
from methodlab_block_mean_adagrad.partition import (
    flat_labels,
    partition_model,
    partition_parameters,
)
from torch import nn


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 2))


def group_sizes(labels: list[torch.Tensor]) -> list[int]:
    flat = torch.cat([t.reshape(-1) for t in labels])
    return torch.bincount(flat).tolist()


def test_rules_give_the_documented_groups():
    model = mlp()  # weights (2, 3), (2, 2); biases (2,), (2,)
    assert group_sizes(partition_model(model, "unit")) == [4, 4, 3, 3]
    assert group_sizes(partition_model(model, "layer")) == [8, 6]
    assert group_sizes(partition_model(model, "tensor")) == [6, 2, 4, 2]
    assert group_sizes(partition_model(model, "row")) == [3, 3, 1, 1, 2, 2, 1, 1]
    assert group_sizes(partition_model(model, "element")) == [1] * 14


def test_unit_groups_join_weight_rows_and_bias_entries():
    weight, bias, *_ = partition_model(mlp(), "unit")
    assert torch.equal(bias, weight[:, 0])
    assert torch.equal(weight, weight[:, :1].expand_as(weight))


def test_unit_falls_back_to_rows_when_first_dimensions_differ():
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Parameter(torch.zeros(2, 3))
            self.b = nn.Parameter(torch.zeros(3))
            self.c = nn.Parameter(torch.zeros(()))

    assert group_sizes(partition_model(Odd(), "unit")) == [3, 3, 1, 1, 1, 1]


def test_explicit_groups_by_name_pattern():
    labels = partition_model(mlp(), "explicit", [["*.bias"], ["0.weight"], ["2.weight"]])
    assert [int(t.reshape(-1)[0]) for t in labels] == [1, 0, 2, 0]
    with pytest.raises(ValueError, match=r"'2\.bias' matches groups \[0, 2\]"):
        partition_model(mlp(), "explicit", [["*.bias"], ["0.weight"], ["2.*"]])
    with pytest.raises(ValueError, match=r"'0\.weight' matches no group"):
        partition_model(mlp(), "explicit", [["*.bias"], ["2.weight"]])
    with pytest.raises(ValueError, match=r"\[2\] match no trainable"):
        partition_model(mlp(), "explicit", [["*.bias"], ["*.weight"], ["3.*"]])
    with pytest.raises(ValueError, match="needs explicit_groups"):
        partition_model(mlp(), "explicit")


def test_frozen_parameters_are_left_out():
    model = mlp()
    model[0].requires_grad_(False)
    assert group_sizes(partition_model(model, "unit")) == [3, 3]


def test_unknown_rules_are_rejected():
    with pytest.raises(ValueError, match="unknown partition rule 'cols'"):
        partition_model(mlp(), "cols")
    with pytest.raises(ValueError, match="pass label tensors"):
        partition_parameters(list(mlp().parameters()), "unit")


def test_flat_labels_checks_its_input():
    params = [torch.zeros(2, 2)]
    flat, n_groups = flat_labels([torch.tensor([[0, 1], [1, 0]])], params)
    assert flat.tolist() == [0, 1, 1, 0] and n_groups == 2
    with pytest.raises(ValueError, match="2 label tensors for 1"):
        flat_labels([torch.zeros(2, 2), torch.zeros(1)], params)
