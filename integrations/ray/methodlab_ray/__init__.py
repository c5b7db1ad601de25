"""``methodlab sweep``: grids of overrides times seeds on Ray or a local process pool.

Registers one command through the core's ``methodlab_commands`` hook. Its implementation
(``methodlab_ray.command``) is imported only when the command runs, and Ray only when a sweep
uses ``--backend ray``, so listing plugins stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator

import methodlab

__all__ = ["methodlab_commands"]


@methodlab.hookimpl
def methodlab_commands() -> Iterator[methodlab.CommandSpec]:
    yield methodlab.CommandSpec(
        name="sweep",
        summary="Run a run file over a grid of overrides and seeds (Ray or a local pool), "
                "aggregated into one summary.",
        configure="methodlab_ray.command:configure", run="methodlab_ray.command:run")
