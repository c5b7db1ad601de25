"""Test helpers for plugins that ship gymnasium environments."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["check_gym_envs"]


def check_gym_envs(ids: Iterable[str] | None = None) -> list[str]:
    """Run ``gymnasium.utils.env_checker.check_env`` on each id; returns the ids checked.

    :param ids: gymnasium ids; ``None`` checks every registered ``methodlab/`` id (after
        methodlab has loaded its plugins, whose hooks register them).
    :raises AssertionError: naming the id when the checker fails or warns that the
        environment breaks the API (warnings are errors here).
    """
    import warnings

    import gymnasium
    from gymnasium.utils.env_checker import check_env
    from methodlab.plugin_manager import get_plugin_system

    import methodlab_gymnasium.counter  # noqa: F401  (registers methodlab/Counter-v0)
    from methodlab_gymnasium.registration import methodlab_ids, register_pending

    get_plugin_system()  # registration hooks run here and register the plugins' envs
    register_pending()
    checked = list(methodlab_ids() if ids is None else ids)
    for env_id in checked:
        env = gymnasium.make(env_id).unwrapped
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                check_env(env, skip_render_check=True)
        except Exception as exc:
            raise AssertionError(f"gymnasium env {env_id!r} fails check_env: "
                                 f"{type(exc).__name__}: {exc}") from exc
        finally:
            env.close()
    return checked
