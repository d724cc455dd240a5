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


class InputRejected(GitopsError):
    """An input (a manifest file, stdin) is refused as a whole: not UTF-8 text, binary, or over a limit of
    :mod:`core.inputs` (exit 1)."""


class ToolError(GitopsError):
    """A required binary (helm, kubectl) is missing, too old or failed."""


class HelmError(ToolError):
    """helm ran and failed; ``stderr_tail`` holds the last lines helm printed."""

    def __init__(self, message: str, *, stderr_tail: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.stderr_tail = stderr_tail


class ValidationFailed(GitopsError):
    """Objects were checked and at least one is invalid (exit 1)."""


class CloudError(GitopsError):
    """A request to the cloud provider's API failed (exit 1).

    ``status`` is the HTTP status (None when the API could not be reached), ``error_id`` and
    ``request_id`` are the provider's own identifiers (quote ``request_id`` to its support).
    """

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None,
                 error_id: str | None = None, request_id: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.error_id = error_id
        self.request_id = request_id


class CloudAuthError(CloudError):
    """The API token is missing, invalid or expired (401)."""


class CloudPermissionError(CloudError):
    """The token is valid but may not do this (403), e.g. a read-only token asked to create."""


class CloudNotFound(CloudError):
    """The API says the resource does not exist (404)."""


class CloudRejected(CloudError):
    """The API refused the request as invalid or conflicting (400, 409, 422 and other 4xx)."""


class CloudRateLimited(CloudError):
    """The API's rate limit stayed exhausted through every retry (429)."""


class CloudServerError(CloudError):
    """The API kept failing on its side (5xx) through every retry."""


class CloudUnreachable(CloudError):
    """No connection to the API (network down, DNS, refused, TLS)."""


class InfrastructureBlocked(GitopsError):
    """The infrastructure plan has rows that cannot be carried out; nothing was changed.

    ``rows`` holds the blocked plan rows (objects with ``kind``, ``name`` and ``reason``).
    """

    def __init__(self, message: str, *, rows: tuple = (), hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.rows = tuple(rows)


class WaitTimedOut(GitopsError):
    """A resource did not become ready within the time given (--timeout)."""


class KubeError(GitopsError):
    """The cluster could not be used: kubeconfig, connection, credentials, permissions or an API error."""


class KubeconfigError(KubeError):
    """No kubeconfig, or no such context in it (the message lists the contexts there are): a config error (exit 2)."""

    exit_code = 2


class KubeUnreachable(KubeError):
    """The API server did not answer (refused, timed out, TLS failure); the message names server and context."""


class KubeForbidden(KubeError):
    """401 or 403: the message names the verb and resource that were refused."""


class WaitError(GitopsError):
    """Waiting for objects ended without all of them ready.

    ``details`` holds one line per object that is not ready, sorted (``Kind namespace/name: message``);
    the message is the summary line followed by those lines, indented.
    """

    def __init__(self, summary: str, *, details: list[str] | None = None, hint: str | None = None) -> None:
        self.summary = summary
        self.details = list(details or [])
        super().__init__("\n  ".join([summary, *self.details]), hint=hint)

    def __str__(self) -> str:
        if not self.hint:
            return self.message
        return "\n  ".join([f"{self.summary} ({self.hint})", *self.details])


class WaitTimeout(WaitError):
    """The timeout passed before every object was ready."""


class WaitFailed(WaitError):
    """An object failed (a rollout past its deadline, a failed sync): waiting longer would not help."""


class KubeApiError(KubeError):
    """The API server answered a request with an error status (``status``: the HTTP code, ``reason``: its reason)."""

    def __init__(self, message: str, *, status: int, reason: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.reason = reason

    @property
    def transient(self) -> bool:
        """Worth retrying later: throttled (429) or a server-side failure (5xx)."""
        return self.status == 429 or self.status >= 500
