"""Registering plugin environments with gymnasium, so ``gymnasium.make`` finds them.

Plugins ship environments as ``gymnasium.Env`` subclasses and register them under the
``methodlab/`` namespace with :func:`register_env`. Gymnasium 1.x has no entry-point group for
third-party environments, so registration happens on import:

- for methodlab runs (``id = "methodlab/GridWorld-v0"``), call it from the plugin's
  registration hook (or its package's import). Loading plugins must stay cheap, so while
  gymnasium is not imported yet the registration is only noted, and it reaches gymnasium's
  registry when this integration first uses gymnasium (:func:`register_pending`: building a
  ``gymnasium`` environment, :func:`methodlab_ids`, ``check_gym_envs``)::

      @methodlab.hookimpl
      def methodlab_environments():
          from methodlab_gymnasium.registration import register_env
          register_env("methodlab/GridWorld-v0", "methodlab_mine.gridworld:GridWorld",
                       max_episode_steps=50)
          ...

- for gymnasium users without methodlab, ``gymnasium.make("methodlab_mine:methodlab/...")``
  imports the package first (gymnasium's ``module:id`` convention); gymnasium is imported
  then, so :func:`register_env` registers at once. Registering twice is a no-op.

This integration's own ``methodlab/Counter-v0`` registers only when
:mod:`methodlab_gymnasium.counter` is imported, which the ``gymnasium`` environment does.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["NAMESPACE", "methodlab_ids", "register_env", "register_pending"]

NAMESPACE = "methodlab"


_PENDING: dict[str, tuple[str, dict[str, Any]]] = {}
"""Registrations noted before gymnasium was imported: ``{id: (entry_point, kwargs)}``."""


def register_env(id: str, entry_point: str, **kwargs: Any) -> None:
    """Register ``id`` with gymnasium unless it is registered already (idempotent).

    While gymnasium is not imported yet the registration is noted and completed by
    :func:`register_pending`, so that loading plugins does not import gymnasium.

    :param id: ``"methodlab/<Name>-v<k>"``.
    :param entry_point: ``"module:Class"`` of the ``gymnasium.Env`` subclass.
    :param kwargs: further ``gymnasium.register`` arguments (``max_episode_steps``, ``kwargs``).
    :raises ValueError: if ``id`` is outside the ``methodlab/`` namespace, or registered already
        with another entry point.
    """
    if not id.startswith(f"{NAMESPACE}/"):
        raise ValueError(f"gymnasium id {id!r} must start with '{NAMESPACE}/'")
    noted = _PENDING.get(id)
    if noted is not None and noted[0] != entry_point:
        raise ValueError(f"gymnasium id {id!r} is registered already for {noted[0]!r}, not "
                         f"{entry_point!r}")
    if "gymnasium" not in sys.modules:
        _PENDING[id] = (entry_point, kwargs)
        return
    _register(id, entry_point, kwargs)


def register_pending() -> None:
    """Complete the registrations noted before gymnasium was imported (imports it)."""
    while _PENDING:
        id, (entry_point, kwargs) = _PENDING.popitem()
        _register(id, entry_point, kwargs)


def _register(id: str, entry_point: str, kwargs: dict[str, Any]) -> None:
    import gymnasium

    existing = gymnasium.registry.get(id)
    if existing is not None:
        if existing.entry_point != entry_point:
            raise ValueError(f"gymnasium id {id!r} is registered already for "
                             f"{existing.entry_point!r}, not {entry_point!r}")
        return
    gymnasium.register(id=id, entry_point=entry_point, **kwargs)


def methodlab_ids() -> list[str]:
    """Every registered gymnasium id in the ``methodlab/`` namespace, sorted."""
    import gymnasium

    register_pending()

    return sorted(i for i in gymnasium.registry if i.startswith(f"{NAMESPACE}/"))
