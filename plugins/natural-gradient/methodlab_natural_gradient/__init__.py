"""Natural gradient for deep networks (Pascanu & Bengio, 2014) as a methodlab plugin.

Registration only: the optimizer module (and torch) is imported when a run builds it.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

from methodlab_natural_gradient.config import NaturalGradientParams

__all__ = ["methodlab_optimizers"]


@methodlab.hookimpl
def methodlab_optimizers() -> Iterator[methodlab.OptimizerSpec]:
    yield methodlab.OptimizerSpec(
        name="natural-gradient",
        factory="methodlab_natural_gradient.optimizer:build",
        params_cls=NaturalGradientParams,
        summary="Natural gradient (Fisher = Gauss-Newton) with truncated CG/MINRES solves "
        "and Levenberg-Marquardt damping.",
    )
