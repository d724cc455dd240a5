"""The project's small error hierarchy.

Every error the library raises on purpose is a :class:`GitopsError`. Its message is
one line a user can act on: what is wrong and what to do. The CLI turns
``exit_code`` into the process exit status and never shows a traceback for these
(``-v`` shows the chained cause). Messages never contain secrets.
"""

from __future__ import annotations


class GitopsError(Exception):
    """Base class: a failure the user can do something about (exit 1)."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(GitopsError):
    """Wrong flags or arguments (exit 2)."""

    exit_code = 2


class ConfigError(GitopsError):
    """gitops.yaml (or another input file) is missing or invalid (exit 2).

    ``problems`` holds every problem found, each already formatted as
    ``FILE:LINE path.to.field: what is wrong``.
    """

    exit_code = 2

    def __init__(self, message: str, *, problems: list[str] | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.problems = list(problems or [])


class ToolError(GitopsError):
    """A required binary (helm, kubectl) is missing, too old or failed."""


class HelmError(ToolError):
    """helm ran and failed; ``stderr_tail`` holds the last lines helm printed."""

    def __init__(self, message: str, *, stderr_tail: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.stderr_tail = stderr_tail


class ValidationFailed(GitopsError):
    """Objects were checked and at least one is invalid (exit 1)."""
