"""methodlab: research methods as plugins, experiments as declarative run files.

Importing this package is cheap: it does not import torch. Plugin authors need
:data:`hookimpl` and the descriptor types from :mod:`methodlab.types`.
"""

from methodlab.hookspecs import hookimpl
from methodlab.types import (
    CommandSpec,
    EnvironmentSpec,
    EvaluatorSpec,
    LossSpec,
    ModelSpec,
    OptimizerSpec,
    SettingsSpec,
)

__all__ = [
    "CommandSpec",
    "EnvironmentSpec",
    "EvaluatorSpec",
    "LossSpec",
    "ModelSpec",
    "OptimizerSpec",
    "SettingsSpec",
    "__version__",
    "hookimpl",
]

__version__ = "0.1.0"
