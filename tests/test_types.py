"""Component descriptors: validation and lazy factory loading."""

from __future__ import annotations

import sys

import attrs
import pytest
from methodlab.types import EnvironmentSpec, LossSpec, ModelSpec, OptimizerSpec


@attrs.frozen
class Params:
    width: int = 3


def test_names_are_normalised_and_checked():
    assert ModelSpec("  MLP ", "torch.nn:Linear", Params, "x").name == "mlp"
    with pytest.raises(ValueError, match="must be lower-case letters"):
        ModelSpec("my model", "torch.nn:Linear", Params, "x")
    with pytest.raises(ValueError, match="must be lower-case letters"):
        ModelSpec("-lead", "torch.nn:Linear", Params, "x")


def test_factory_and_params_and_summary_are_checked():
    with pytest.raises(ValueError, match=r"must look like 'package\.module:callable'"):
        LossSpec("l", "torch.nn.Linear", Params, "x")
    with pytest.raises(TypeError, match="factory must be"):
        LossSpec("l", 3, Params, "x")
    with pytest.raises(TypeError, match="params_cls must be an attrs class"):
        LossSpec("l", "a:b", dict, "x")
    with pytest.raises(ValueError, match="summary must be one non-empty line"):
        LossSpec("l", "a:b", Params, "two\nlines")
    with pytest.raises(ValueError, match="summary must be one non-empty line"):
        LossSpec("l", "a:b", Params, "")


def test_factories_load_lazily_with_clear_errors():
    spec = OptimizerSpec("sgd", "torch.optim:SGD", Params, "x")
    import torch

    assert spec.load_factory() is torch.optim.SGD
    nested = ModelSpec("m", "torch:nn.Linear", Params, "x")
    assert nested.load_factory() is torch.nn.Linear
    with pytest.raises(ImportError, match="environment 'e': cannot import factory module "
                                          "'no_such_module_xyz'"):
        EnvironmentSpec("e", "no_such_module_xyz:build", Params, "x").load_factory()
    assert "no_such_module_xyz" not in sys.modules
    with pytest.raises(ImportError, match=r"model 'm': module 'torch\.nn' has no attribute "
                                          r"'Nope'"):
        ModelSpec("m", "torch.nn:Nope", Params, "x").load_factory()

    def build(params):
        return params

    assert ModelSpec("m", build, Params, "x").load_factory() is build


def test_specs_are_frozen_and_carry_examples():
    spec = ModelSpec("m", "a:b", Params, "x", example={"environment": {"use": "digits"}})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        spec.name = "other"  # type: ignore[misc]
    assert spec.kind == "model" and spec.example["environment"]["use"] == "digits"
