"""Exceptions that reach the user as one-line messages (the CLI exits with status 2)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["PluginError", "RunFileError", "UserError"]


class UserError(Exception):
    """A mistake in the user's input: shown as one line, without a traceback, exit code 2."""

    exit_code = 2


class PluginError(UserError):
    """A plugin failed to load, or a run needs a plugin that failed (strict mode raises it)."""


class RunFileError(UserError):
    """A run file is invalid; ``problems`` holds one line per error, each naming the path."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))
