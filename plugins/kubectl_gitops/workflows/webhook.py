"""`kubectl gitops webhook <app>`: what to set on the app's repository so that its pushes start builds.

The platform's EventListener ``git-push`` is reached through the webhook Ingress at
``https://hooks.<domain>/`` (``http://`` with ``tls: false`` in gitops.yaml). Every Trigger checks GitHub's signature
(``X-Hub-Signature-256``) with the token in Secret ``ci/git-push-webhook`` (key ``secretToken``, made
by bootstrap), so the repository's webhook needs that token as its secret; it is read from the cluster
only when asked (``--show-secret``). Which pushes build follows gitops.yaml: pushes to the ``revision``
branch, tag pushes matching ``build_on.tags``; a commit revision never triggers.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from ..adapters import config_file
from ..core.config import Application, Config, is_commit
from ..core.errors import GitopsError, UsageError

CI_NAMESPACE = "ci"
WEBHOOK_SECRET = "git-push-webhook"
SECRET_KEY = "secretToken"
CONTENT_TYPE = "application/json"
EVENTS = ("push",)


@dataclass(frozen=True)
class WebhookOptions:
    """Attributes:
    app: the application (gitops.yaml ``applications``).
    show_secret: read the webhook token from the cluster and include it.
    """

    app: str
    config: str = "gitops.yaml"
    kubeconfig: str | None = None
    context: str | None = None
    show_secret: bool = False
    request_timeout: float = 10.0


@dataclass(frozen=True)
class Webhook:
    """What the app's repository needs: where to send, how, which events, which pushes build."""

    app: str
    repository: str
    url: str
    content_type: str
    events: tuple[str, ...]
    branch: str | None  # the branch whose pushes build, if any
    tags: str | None  # the tag glob whose pushes build, if any
    settings_url: str | None  # where the repository's webhooks are set (GitHub)
    secret: str | None = field(default=None, repr=False)

    @property
    def builds(self) -> str:
        parts = ([f"pushes to branch {self.branch}"] if self.branch else []) + (
            [f"tags matching {self.tags}"] if self.tags else [])
        return " and ".join(parts) or "nothing (the revision is a commit and build_on names no tags)"

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"app": self.app, "repository": self.repository, "payloadURL": self.url,
                                "contentType": self.content_type, "events": list(self.events),
                                "branch": self.branch, "tags": self.tags, "settingsURL": self.settings_url}
        data["secret"] = self.secret if self.secret is not None else None
        return data


def webhook_url(config: Config) -> str:
    """The payload URL of the push webhook (the webhook Ingress host ``hooks.<domain>``)."""
    return f"{config.scheme}://hooks.{config.domain}/"


def _settings_url(git_url: str) -> str | None:
    url = git_url.removesuffix("/").removesuffix(".git")
    if url.startswith("git@github.com:"):
        url = "https://github.com/" + url.split(":", 1)[1]
    if url.startswith(("https://github.com/", "http://github.com/")):
        return url.replace("http://", "https://", 1) + "/settings/hooks"
    return None


def describe(config: Config, app: Application) -> Webhook:
    branch = app.revision if app.build_branch and not is_commit(app.revision) else None
    return Webhook(app=app.name, repository=app.git, url=webhook_url(config), content_type=CONTENT_TYPE,
                   events=EVENTS, branch=branch, tags=app.build_tags, settings_url=_settings_url(app.git))


def read_secret(conn: Any) -> str:
    """The webhook token from Secret ci/git-push-webhook.

    Raises:
        GitopsError: the Secret (or its key) is not there.
    """
    secret = conn.get("v1", "Secret", WEBHOOK_SECRET, CI_NAMESPACE)
    encoded = ((secret or {}).get("data") or {}).get(SECRET_KEY)
    if not encoded:
        raise GitopsError(f"no webhook token: Secret {CI_NAMESPACE}/{WEBHOOK_SECRET} (key {SECRET_KEY}) is not on "
                          f"context {conn.context}", hint="run `kubectl gitops bootstrap`, or pass --context")
    return base64.b64decode(encoded).decode()


def run(opts: WebhookOptions) -> Webhook:
    """The webhook settings of ``opts.app`` (with its secret when asked).

    Raises:
        UsageError: unknown app. ConfigError: gitops.yaml. GitopsError/KubeError: the token cannot be read.
    """
    config = config_file.load(opts.config)
    names = [a.name for a in config.applications]
    if opts.app not in names:
        raise UsageError(f"no application {opts.app!r} in {config.source} (applications: {', '.join(names) or 'none'})")
    hook = describe(config, config.application(opts.app))
    if not opts.show_secret:
        return hook
    from dataclasses import replace

    from ..adapters import kube

    with kube.connect(kubeconfig=opts.kubeconfig, context=opts.context, request_timeout=opts.request_timeout) as conn:
        return replace(hook, secret=read_secret(conn))
