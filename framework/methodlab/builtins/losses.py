"""Built-in losses; all are output losses, so curvature-based optimizers can use them."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from methodlab.builtins.config import CrossEntropyParams, NoParams
from methodlab.components import Environment, OutputLoss

__all__ = ["BernoulliCrossEntropy", "CrossEntropy", "MeanSquaredError"]


class CrossEntropy(OutputLoss):
    """Softmax cross-entropy :math:`-\\log \\mathrm{softmax}(z)_y`, averaged over the batch.

    Shapes:
        outputs ``(B, C)`` logits and targets ``(B,)`` class indices, or per time step:
        outputs ``(B, T, C)`` and targets ``(B, T)`` (averaged over ``B`` and ``T``).
    """

    def __init__(self, label_smoothing: float = 0.0) -> None:
        self.label_smoothing = label_smoothing

    def from_outputs(self, outputs: torch.Tensor, targets: Any) -> torch.Tensor:
        return F.cross_entropy(outputs.flatten(0, -2), targets.flatten(),
                               label_smoothing=self.label_smoothing)

    def sample_targets(self, outputs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        probs = torch.softmax(outputs.detach(), dim=-1)
        draws = torch.multinomial(probs.flatten(0, -2), 1, generator=generator)
        return draws.reshape(probs.shape[:-1])


class MeanSquaredError(OutputLoss):
    """:math:`\\tfrac12\\|f(x) - y\\|^2` summed over outputs and averaged over the batch.

    Shapes:
        outputs and targets ``(B, C)``.
    """

    def from_outputs(self, outputs: torch.Tensor, targets: Any) -> torch.Tensor:
        return 0.5 * (outputs - targets).pow(2).sum(-1).mean()

    def sample_targets(self, outputs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn(outputs.shape, generator=generator, dtype=outputs.dtype,
                            device=generator.device)
        return outputs.detach() + noise.to(outputs.device)


class BernoulliCrossEntropy(OutputLoss):
    """Sigmoid cross-entropy on logits, summed over outputs and averaged over the batch.

    :math:`-\\sum_c [y_c \\log \\sigma(z_c) + (1 - y_c) \\log(1 - \\sigma(z_c))]`, the
    reconstruction error of Hinton & Salakhutdinov's deep autoencoders.

    Shapes:
        outputs ``(B, C)`` logits; targets ``(B, C)`` in [0, 1].
    """

    def from_outputs(self, outputs: torch.Tensor, targets: Any) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(outputs, targets, reduction="sum") / len(
            outputs
        )

    def sample_targets(self, outputs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        probs = torch.sigmoid(outputs.detach())
        return torch.bernoulli(probs, generator=generator)


def build_cross_entropy(params: CrossEntropyParams, *, env: Environment) -> CrossEntropy:
    return CrossEntropy(params.label_smoothing)


def build_mse(params: NoParams, *, env: Environment) -> MeanSquaredError:
    return MeanSquaredError()


def build_bernoulli(params: NoParams, *, env: Environment) -> BernoulliCrossEntropy:
    return BernoulliCrossEntropy()
