"""``methodlab new-plugin NAME``: a plugin package that installs and passes its own tests.

The scaffold registers one example optimizer (sign descent), written the way methodlab's
style guide asks: a frozen attrs parameter class, hook implementations that import nothing
heavy, an optimizer shaped like ``torch.optim``, the conformance suite and an entry-point check
in its tests, and a run file comparing it with SGD.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from methodlab import __version__
from methodlab.errors import UserError

__all__ = ["write_scaffold"]

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def _files(name: str) -> dict[str, str]:
    package = "methodlab_" + name.replace("-", "_")
    title = name.replace("-", " ").title()
    return {
        "pyproject.toml": f"""\
            [build-system]
            requires = ["setuptools>=69"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "methodlab-{name}"
            version = "0.1.0"
            description = "{title}: a methodlab plugin."
            readme = "README.md"
            requires-python = ">=3.10"
            dependencies = ["methodlab>={__version__}"]

            [project.optional-dependencies]
            test = ["pytest>=8"]

            [project.entry-points.methodlab]
            {name} = "{package}"

            [tool.setuptools]
            packages = ["{package}"]
            """,
        "README.md": f"""\
            # methodlab-{name}

            {title} for methodlab. Replace this text with the paper's claim, the method's
            equations in brief, the run file that reproduces the claim and the measured table.

            ```bash
            pip install -e .
            methodlab run runs/example.toml --check
            pytest tests
            ```
            """,
        f"{package}/__init__.py": f'''\
            """{title}: hook implementations only (no heavy imports here)."""

            from collections.abc import Iterator

            import methodlab
            from methodlab.types import OptimizerSpec

            from {package}.config import SignDescentParams


            @methodlab.hookimpl
            def methodlab_optimizers() -> Iterator[OptimizerSpec]:
                yield OptimizerSpec(
                    name="{name}-sign-descent",
                    factory="{package}.optimizer:build",
                    params_cls=SignDescentParams,
                    summary="Sign descent: steps of size lr along -sign(gradient).",
                )
            ''',
        f"{package}/config.py": '''\
            """Parameters (imports attrs only, so listing components stays fast)."""

            import attrs
            from attrs import validators as v


            @attrs.frozen
            class SignDescentParams:
                lr: float = attrs.field(default=0.01, validator=v.gt(0.0))
                """Step size η."""
            ''',
        f"{package}/optimizer.py": f'''\
            """Sign descent: θ ← θ − η sign(∇L(θ))."""

            from collections.abc import Callable, Iterable

            import torch
            from torch import nn

            from {package}.config import SignDescentParams


            class SignDescent(torch.optim.Optimizer):
                """Steps of fixed size along the sign of the gradient.

                Example:
                    >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
                    >>> opt = SignDescent([w], lr=0.5)
                    >>> (w ** 2).sum().backward(); _ = opt.step()
                    >>> w.data
                    tensor([ 0.5000, -1.5000])
                """

                def __init__(self, params: Iterable[torch.Tensor], lr: float = 0.01) -> None:
                    if lr <= 0.0:
                        raise ValueError(f"Invalid learning rate: {{lr}}")
                    super().__init__(params, {{"lr": lr}})

                @torch.no_grad()
                def step(
                    self, closure: Callable[[], torch.Tensor] | None = None
                ) -> torch.Tensor | None:
                    loss = None
                    if closure is not None:
                        with torch.enable_grad():
                            loss = closure()
                    for group in self.param_groups:
                        for p in group["params"]:
                            if p.grad is not None:
                                p.add_(p.grad.sign(), alpha=-group["lr"])
                    return loss


            def build(params: SignDescentParams, *, model: nn.Module) -> SignDescent:
                return SignDescent(model.parameters(), lr=params.lr)
            ''',
        "tests/test_plugin.py": f'''\
            import subprocess
            import sys
            from pathlib import Path

            import torch

            from methodlab.testing import conformance_suite
            from {package}.optimizer import SignDescent

            test_conformance = conformance_suite("{name}")


            def test_entry_point_installed(assert_entry_point_installed):
                assert_entry_point_installed("methodlab-{name}", "{name}")


            def test_sign_descent_step_size():
                w = torch.nn.Parameter(torch.tensor([3.0, -1.0, 0.5]))
                opt = SignDescent([w], lr=0.25)
                (w ** 2).sum().backward()
                opt.step()
                assert torch.equal(w.data, torch.tensor([2.75, -0.75, 0.25]))


            def test_example_run_file_claim_holds(tmp_path):
                run_file = Path(__file__).parents[1] / "runs" / "example.toml"
                result = subprocess.run(
                    [sys.executable, "-m", "methodlab", "run", str(run_file), "--check",
                     "--quiet", "--out", str(tmp_path)],
                    capture_output=True, text=True,
                )
                assert result.returncode == 0, result.stdout + result.stderr
            ''',
        "runs/example.toml": f'''\
            name = "{name}-example"
            description = "Sign descent against plain SGD on a synthetic regression task."
            seeds = [0, 1]

            [train]
            steps = 100

            [environment]
            use = "synthetic-regression"

            [model]
            use = "mlp"
            hidden = [32]

            [loss]
            use = "mse"

            [optimizer]
            use = "{name}-sign-descent"
            lr = 0.003

            [evaluators.train]
            use = "loss"
            split = "train"

            [arms.sign-descent]

            [arms.sgd.optimizer]
            use = "sgd"
            lr = 0.01

            [[claims]]
            name = "sign descent ends below its starting loss"
            left = "sign-descent:train.loss"
            op = "<"
            right = "sign-descent:train.loss@start"
            ''',
    }


def write_scaffold(name: str, directory: Path) -> Path:
    """Write the plugin folder ``<name>/`` under ``directory`` and return its path.

    The folder holds distribution ``methodlab-<name>``, as the repository's ``plugins/<name>/``.
    """
    if not _NAME.match(name):
        raise UserError(f"plugin name {name!r}: use lower-case words joined by '-', "
                        "e.g. 'my-method'")
    root = directory / name
    if root.exists():
        raise UserError(f"{root} already exists")
    for relative, text in _files(name).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root
