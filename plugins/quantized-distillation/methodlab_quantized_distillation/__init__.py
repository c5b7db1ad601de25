"""Quantised distillation and differentiable quantisation (Polino, Pascanu & Alistarh, 2018)
as a methodlab plugin.

Registration only: torch and the algorithm modules are imported when a run builds a component.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import methodlab

from methodlab_quantized_distillation.config import (
    CompressedSizeParams,
    DifferentiableQuantizationParams,
    DistillationParams,
    PostTrainingQuantizationParams,
    QuantizedMLPParams,
)

__all__ = ["methodlab_evaluators", "methodlab_losses", "methodlab_models",
           "methodlab_optimizers"]

_PKG = "methodlab_quantized_distillation"
_DIGITS = {"use": "digits", "n_labeled": 64, "batch_size": 16}
_TINY_TEACHER = {"teacher": {"run": str(Path(__file__).with_name("tiny_teacher.toml"))}}
_LEARNED = {"use": "quantized-distillation:quantized-mlp", "hidden": [6], "quantizer": "learned",
            "bits": 2, "bucket_size": 8}


@methodlab.hookimpl
def methodlab_models() -> Iterator[methodlab.ModelSpec]:
    yield methodlab.ModelSpec(
        name="quantized-mlp",
        factory=f"{_PKG}.models:build_quantized_mlp",
        params_cls=QuantizedMLPParams,
        summary="MLP whose forward pass uses bucketed quantised weights Q(w), with straight-"
        "through gradients to full-precision w (or learned points).",
        example={"params": {"hidden": [6], "bucket_size": 8, "rounding": "stochastic"}},
    )


@methodlab.hookimpl
def methodlab_losses() -> Iterator[methodlab.LossSpec]:
    yield methodlab.LossSpec(
        name="distillation",
        factory=f"{_PKG}.losses:build_distillation",
        params_cls=DistillationParams,
        summary="λT²·KL(teacher_T ‖ student_T) + (1 − λ)·CE; the teacher is an earlier run's "
        "model ([inputs.teacher]).",
        example={"environment": _DIGITS, "inputs": _TINY_TEACHER},
    )


@methodlab.hookimpl
def methodlab_optimizers() -> Iterator[methodlab.OptimizerSpec]:
    yield methodlab.OptimizerSpec(
        name="differentiable-quantization",
        factory=f"{_PKG}.optimizers:build_differentiable_quantization",
        params_cls=DifferentiableQuantizationParams,
        summary="SGD on the weights for switch_step updates, then SGD on learned quantisation "
        "points only (re-sorted each step).",
        example={"model": _LEARNED, "params": {"switch_step": 1, "lr": 0.01}},
    )


@methodlab.hookimpl
def methodlab_evaluators() -> Iterator[methodlab.EvaluatorSpec]:
    yield methodlab.EvaluatorSpec(
        name="post-training-quantization",
        factory=f"{_PKG}.evaluators:build_post_training_quantization",
        params_cls=PostTrainingQuantizationParams,
        summary="Accuracy and size after bucketed uniform quantisation of a trained "
        "full-precision model (the post-mortem baseline).",
        example={"environment": _DIGITS, "loss": {"use": "cross-entropy"},
                 "params": {"bucket_size": 8}},
    )
    yield methodlab.EvaluatorSpec(
        name="compressed-size",
        factory=f"{_PKG}.evaluators:build_compressed_size",
        params_cls=CompressedSizeParams,
        summary="Bits per weight and size of the deployed model, fixed-length and "
        "Huffman-coded.",
        example={"model": {"use": "quantized-distillation:quantized-mlp", "hidden": [6],
                           "bucket_size": 8}},
    )
