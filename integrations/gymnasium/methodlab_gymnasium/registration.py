"""Registering plugin environments with gymnasium, so ``gymnasium.make`` finds them.

Plugins ship environments as ``gymnasium.Env`` subclasses and register them under the
``methodlab/`` namespace with :func:`register_env`. Gymnasium 1.x has no entry-point group for
third-party environments, so registration happens on import:

- for methodlab runs (``id = "methodlab/GridWorld-v0"``), call it from the plugin's
  registration hook, which runs whenever methodlab loads plugins (this imports gymnasium, not
  torch, at load time)::

      @methodlab.hookimpl
      def methodlab_environments():
          from methodlab_gymnasium.registration import register_env
          register_env("methodlab/GridWorld-v0", "methodlab_mine.gridworld:GridWorld",
                       max_episode_steps=50)
          ...

- for gymnasium users without methodlab, call it at the bottom of the module that defines
  the environment as well; ``gymnasium.make("methodlab_mine.gridworld:methodlab/GridWorld-v0")``
  imports that module first (gymnasium's ``module:id`` convention). Registering twice is a
  no-op.

This integration's own ``methodlab/Counter-v0`` registers only when
:mod:`methodlab_gymnasium.counter` is imported, which the ``gymnasium`` environment does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NAMESPACE", "methodlab_ids", "register_env"]

NAMESPACE = "methodlab"


def register_env(id: str, entry_point: str, **kwargs: Any) -> None:
    """Register ``id`` with gymnasium unless it is registered already (idempotent).

    :param id: ``"methodlab/<Name>-v<k>"``.
    :param entry_point: ``"module:Class"`` of the ``gymnasium.Env`` subclass.
    :param kwargs: further ``gymnasium.register`` arguments (``max_episode_steps``, ``kwargs``).
    :raises ValueError: if ``id`` is outside the ``methodlab/`` namespace, or registered already
        with another entry point.
    """
    import gymnasium

    if not id.startswith(f"{NAMESPACE}/"):
        raise ValueError(f"gymnasium id {id!r} must start with '{NAMESPACE}/'")
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

    return sorted(i for i in gymnasium.registry if i.startswith(f"{NAMESPACE}/"))
