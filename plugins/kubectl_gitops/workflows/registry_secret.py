"""`kubectl gitops registry-secret`: where the registry credentials live, and renewing them.

- Push (read-write): Secret ``ci/registry-push`` (``kubernetes.io/dockerconfigjson``), only in the CI
  namespace, used by the build runs. Bootstrap writes it from the user's ``--registry-auth`` file, or
  from DigitalOcean read-write credentials that expire after ``registry.credentials_expiry_seconds``
  (annotation ``gitops.kubectl.dev/credentials-expire-at``, epoch seconds).
- Pull (read-only), per environment namespace: DigitalOcean's registry integration (DOKS puts a
  read-only pull Secret into every namespace, marked ``digitalocean.com/dosecret-identifier``, and the
  namespace's ``default`` ServiceAccount pulls with it), or a pull Secret this command wrote
  (``registry-pull``, added to the ``default`` ServiceAccount's ``imagePullSecrets``).

``--rotate`` issues fresh DigitalOcean read-write credentials (one request) and applies them to the push
Secret in place (server-side apply of the same object), so there is never a moment without a valid
Secret. ``--namespace NS --registry-auth FILE`` writes a pull Secret for a registry outside DigitalOcean.
The credentials themselves appear in no result, message or output: only registry hosts, access and expiry.

:func:`check_push_credentials` and :func:`expiry_warning` are what ``build`` and ``status`` call before
a run: a registry over its tier, missing or expired push credentials stop it with one line; credentials
expiring within 7 days give a warning naming the command that renews them.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..adapters import config_file
from ..core import infra as infra_model
from ..core.config import Config
from ..core.errors import GitopsError, UsageError
from ..core.progress import Reporter

CI_NAMESPACE = "ci"
PUSH_SECRET = "registry-push"
PULL_SECRET = "registry-pull"
EXPIRES_ANNOTATION = "gitops.kubectl.dev/credentials-expire-at"
ACCESS_ANNOTATION = "gitops.kubectl.dev/access"
DO_SECRET_ANNOTATION = "digitalocean.com/dosecret-identifier"
DOCKER_CONFIG = "kubernetes.io/dockerconfigjson"
WARN_SECONDS = 7 * 86400
RENEW_COMMAND = "kubectl gitops registry-secret --rotate"
LABELS = {"app.kubernetes.io/managed-by": "kubectl-gitops"}


@dataclass(frozen=True)
class RegistrySecretOptions:
    """Attributes:
    rotate: issue fresh DigitalOcean read-write credentials into the push Secret.
    namespace: with ``registry_auth``: the namespace that gets a read-only pull Secret.
    registry_auth: a docker config.json with read-only credentials for a registry outside DigitalOcean.
    token_file: the DigitalOcean token (default: ``DIGITALOCEAN_TOKEN`` / ``DIGITALOCEAN_ACCESS_TOKEN``).
    """

    config: str = "gitops.yaml"
    kubeconfig: str | None = None
    context: str | None = None
    rotate: bool = False
    namespace: str | None = None
    registry_auth: str | None = None
    token_file: str | None = None
    request_timeout: float = 10.0
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass(frozen=True)
class Credential:
    """Where one credential lives (never the credential itself)."""

    purpose: str  # push | pull
    namespace: str
    environment: str | None  # the environment of a pull credential
    secret: str | None  # Secret name, None when there is none
    source: str  # kubectl-gitops | DigitalOcean registry integration | missing | ...
    registries: tuple[str, ...]
    access: str  # read-write | read-only | none
    expires_at: float | None = None  # epoch seconds; None: does not expire (or unknown)
    cluster: str | None = None

    @property
    def expires(self) -> str:
        if self.expires_at is None:
            return "never" if self.secret else "-"
        return datetime.fromtimestamp(self.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")

    def as_dict(self) -> dict[str, Any]:
        return {"purpose": self.purpose, "namespace": self.namespace, "environment": self.environment,
                "cluster": self.cluster, "secret": self.secret, "source": self.source,
                "registries": list(self.registries), "access": self.access,
                "expiresAt": (datetime.fromtimestamp(self.expires_at, UTC).isoformat()
                              if self.expires_at is not None else None)}


@dataclass(frozen=True)
class RegistrySecretResult:
    credentials: tuple[Credential, ...]
    changed: str = ""  # what was written: "" | "rotated" | "pull secret created" | ...
    warning: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"credentials": [c.as_dict() for c in self.credentials], "changed": self.changed or None,
                "warning": self.warning}


# ---------------------------------------------------------------- reading Secrets (no credential leaves)


def _decode(secret: Mapping[str, Any]) -> dict[str, Any]:
    encoded = (secret.get("data") or {}).get(".dockerconfigjson")
    if not encoded:
        return {}
    try:
        data = json.loads(base64.b64decode(encoded))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def registries(secret: Mapping[str, Any]) -> tuple[str, ...]:
    """The registry hosts a docker config Secret has credentials for (the ``auths`` keys only)."""
    auths = _decode(secret).get("auths")
    return tuple(sorted(auths)) if isinstance(auths, dict) else ()


def _annotations(obj: Mapping[str, Any] | None) -> dict[str, str]:
    return dict(((obj or {}).get("metadata") or {}).get("annotations") or {})


def expires_at(secret: Mapping[str, Any] | None) -> float | None:
    """When the push credentials expire (the annotation bootstrap and ``--rotate`` write), or None."""
    value = _annotations(secret).get(EXPIRES_ANNOTATION)
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def expiry_warning(secret: Mapping[str, Any] | None, *, now: float | None = None) -> str | None:
    """A one-line warning when the push credentials expire within 7 days (or have expired), else None."""
    expiry = expires_at(secret)
    if expiry is None:
        return None
    now = time.time() if now is None else now
    where = f"the registry push credentials (Secret {CI_NAMESPACE}/{PUSH_SECRET})"
    if expiry <= now:
        return f"{where} expired on {_when(expiry)}: builds cannot push; renew them with `{RENEW_COMMAND}`"
    if expiry - now <= WARN_SECONDS:
        days = (expiry - now) / 86400
        left = f"{days:.0f} day{'s' if round(days) != 1 else ''}" if days >= 1 else "less than a day"
        return f"{where} expire in {left} ({_when(expiry)}): renew them with `{RENEW_COMMAND}`"
    return None


def check_push_credentials(conn: Any, config: Config, *, now: float | None = None) -> str | None:
    """Before a build: the registry fits its tier and the push credentials exist and have not expired.

    Returns:
        A warning when they expire within 7 days, else None.

    Raises:
        GitopsError: one line: the registry is over its tier, the push Secret is missing, or it expired.
    """
    if config.registry is not None:
        need = infra_model.required_repositories(config)
        if not infra_model.tier_fits(config.registry.tier, need):
            raise GitopsError(
                f"registry {config.registry.name} (tier {config.registry.tier}) cannot hold the {need} repositories "
                f"the {len(config.applications)} applications push (image and layer cache each)",
                hint=f"set registry.tier to {infra_model.smallest_fitting_tier(need)} in {config.source} and run "
                     "`kubectl gitops bootstrap`")
    secret = conn.get("v1", "Secret", PUSH_SECRET, CI_NAMESPACE)
    if secret is None:
        raise GitopsError(f"no registry push credentials: Secret {CI_NAMESPACE}/{PUSH_SECRET} is missing",
                          hint=f"run `{RENEW_COMMAND}` (DigitalOcean) or `kubectl gitops bootstrap --registry-auth "
                               "FILE`")
    expiry = expires_at(secret)
    now = time.time() if now is None else now
    if expiry is not None and expiry <= now:
        raise GitopsError(f"the registry push credentials in Secret {CI_NAMESPACE}/{PUSH_SECRET} expired on "
                          f"{_when(expiry)}", hint=f"renew them with `{RENEW_COMMAND}`")
    return expiry_warning(secret, now=now)


# ---------------------------------------------------------------- what exists where


def _push(conn: Any, config: Config) -> Credential:
    secret = conn.get("v1", "Secret", PUSH_SECRET, CI_NAMESPACE)
    if secret is None:
        return Credential("push", CI_NAMESPACE, None, None, "missing", (), "none",
                          cluster=config.management_cluster.name)
    issued = expires_at(secret) is not None or ACCESS_ANNOTATION in _annotations(secret)
    source = "DigitalOcean (issued)" if issued else "kubectl-gitops"
    return Credential("push", CI_NAMESPACE, None, PUSH_SECRET, source, registries(secret), "read-write",
                      expires_at(secret), cluster=config.management_cluster.name)


def _pull(conn: Any, namespace: str, environment: str, cluster: str, server: str | None) -> Credential:
    found = None
    for secret in conn.list("v1", "Secret", namespace):
        if secret.get("type") != DOCKER_CONFIG:
            continue
        hosts = registries(secret)
        if server and server not in hosts:
            continue
        found = secret
        if DO_SECRET_ANNOTATION in _annotations(secret):
            break  # the integration's Secret is the one the namespace's default ServiceAccount pulls with
    if found is None:
        return Credential("pull", namespace, environment, None, "missing", (server,) if server else (), "none",
                          cluster=cluster)
    meta = found["metadata"]
    source = ("DigitalOcean registry integration" if DO_SECRET_ANNOTATION in _annotations(found)
              else "kubectl-gitops" if meta["name"] == PULL_SECRET else "pull Secret")
    return Credential("pull", namespace, environment, meta["name"], source, registries(found),
                      _annotations(found).get(ACCESS_ANNOTATION, "read-only"), expires_at(found), cluster=cluster)


def _connections(config: Config, opts: RegistrySecretOptions, management: Any) -> dict[str, Any]:
    from ..adapters import kube
    from .status import cluster_context

    conns = {config.management_cluster.name: management}
    for env in config.environments:
        if env.cluster not in conns:
            context = cluster_context(config, env.cluster)
            conns[env.cluster] = kube.connect(kubeconfig=opts.kubeconfig, context=context,
                                              request_timeout=opts.request_timeout) if context else None
    return conns


def credentials(config: Config, opts: RegistrySecretOptions, management: Any) -> tuple[Credential, ...]:
    server = config.registry.server if config.registry else None
    found = [_push(management, config)]
    conns = _connections(config, opts, management)
    for env in config.environments:
        conn = conns.get(env.cluster)
        if conn is None:
            found.append(Credential("pull", env.namespace, env.name, None, f"no context for cluster {env.cluster}",
                                    (), "unknown", cluster=env.cluster))
            continue
        found.append(_pull(conn, env.namespace, env.name, env.cluster, server))
    return tuple(found)


# ---------------------------------------------------------------- changes


def _read_registry_auth(path: str) -> tuple[str, tuple[str, ...]]:
    from ..core import inputs

    text = inputs.read_text(path, what="--registry-auth", error=UsageError)
    try:
        data = json.loads(text)
    except ValueError:
        raise UsageError(f"--registry-auth {path} is not JSON: pass a docker config.json") from None
    if not isinstance(data, dict) or not isinstance(data.get("auths"), dict) or not data["auths"]:
        raise UsageError(f"--registry-auth {path} has no `auths`; pass a docker config.json with pull credentials")
    return text, tuple(sorted(data["auths"]))


def rotate(config: Config, conn: Any, opts: RegistrySecretOptions, reporter: Reporter) -> str:
    """Issue fresh read-write DigitalOcean credentials and apply them to the push Secret in place."""
    from . import infra

    if config.registry is None or not config.registry.on_digitalocean:
        server = config.registry.server if config.registry else "no registry"
        raise UsageError(f"--rotate issues DigitalOcean registry credentials, and {config.source} names {server}: "
                         "renew these with `kubectl gitops bootstrap --registry-auth FILE`")
    token = infra.resolve_token(opts.token_file, opts.environ)
    if token is None:
        raise UsageError("--rotate needs a DigitalOcean token: set DIGITALOCEAN_TOKEN or pass --token-file")
    if conn.get("v1", "Namespace", CI_NAMESPACE) is None:
        raise GitopsError(f"namespace {CI_NAMESPACE} is not on context {conn.context}",
                          hint="run `kubectl gitops bootstrap` first, or pass --context")
    issued = infra.issue_push_credentials(config, token=token, reporter=reporter,
                                          api=infra.open_api(token, opts.environ))
    expiry = config.registry.credentials_expiry_seconds
    annotations = {ACCESS_ANNOTATION: "read-write"}
    if expiry:
        annotations[EXPIRES_ANNOTATION] = str(int(time.time() + expiry))
    # one server-side apply of the whole Secret: the old credentials stay until the new ones replace them
    action = conn.ensure_secret(CI_NAMESPACE, PUSH_SECRET, type=DOCKER_CONFIG,
                                string_data={".dockerconfigjson": issued.reveal()},
                                labels={**LABELS, "app.kubernetes.io/part-of": config.name}, annotations=annotations)
    reporter.created(f"Secret {CI_NAMESPACE}/{PUSH_SECRET} (registry push credentials): {action}")
    return "rotated"


def write_pull_secret(config: Config, conns: dict[str, Any], opts: RegistrySecretOptions,
                      reporter: Reporter) -> str:
    """A read-only pull Secret in an environment namespace, pulled with by its ``default`` ServiceAccount."""
    assert opts.namespace and opts.registry_auth
    if opts.namespace == CI_NAMESPACE:
        raise UsageError(f"--namespace {CI_NAMESPACE} holds the push credentials; pull Secrets go to the "
                         "environment namespaces")
    env = next((e for e in config.environments if e.namespace == opts.namespace), None)
    if env is None:
        names = ", ".join(e.namespace for e in config.environments)
        raise UsageError(f"--namespace {opts.namespace} is not an environment namespace in {config.source} ({names})")
    text, hosts = _read_registry_auth(opts.registry_auth)
    conn = conns.get(env.cluster)
    if conn is None:
        raise UsageError(f"no context for cluster {env.cluster}: set clusters.{env.cluster}.context in {config.source}")
    if conn.get("v1", "Namespace", env.namespace) is None:
        raise GitopsError(f"namespace {env.namespace} is not on context {conn.context}",
                          hint="run `kubectl gitops bootstrap` first")
    action = conn.ensure_secret(env.namespace, PULL_SECRET, type=DOCKER_CONFIG, string_data={".dockerconfigjson": text},
                                labels={**LABELS, "app.kubernetes.io/part-of": config.name},
                                annotations={ACCESS_ANNOTATION: "read-only"})
    account = conn.get("v1", "ServiceAccount", "default", env.namespace)
    if account is not None:
        pulls = list(account.get("imagePullSecrets") or [])
        if {"name": PULL_SECRET} not in pulls:
            conn.patch("v1", "ServiceAccount", "default", env.namespace,
                       patch={"imagePullSecrets": [*pulls, {"name": PULL_SECRET}]})
    reporter.created(f"Secret {env.namespace}/{PULL_SECRET} (read-only pull credentials for {', '.join(hosts)}): "
                     f"{action}")
    return f"pull secret {action}"


def run(opts: RegistrySecretOptions, *, reporter: Reporter | None = None) -> RegistrySecretResult:
    """Show where the registry credentials live; ``rotate`` or write a pull Secret first when asked.

    Raises:
        UsageError: bad flags or files, unknown namespace, no token. GitopsError/KubeError/Cloud*: the cluster or
        DigitalOcean refused.
    """
    from ..adapters import kube

    reporter = reporter or Reporter()
    if opts.rotate and (opts.namespace or opts.registry_auth):
        raise UsageError("--rotate renews the push credentials; --namespace with --registry-auth writes a pull "
                         "Secret: use one or the other")
    if opts.registry_auth and not opts.namespace:
        raise UsageError("--registry-auth needs --namespace (the environment namespace that pulls)")
    config = config_file.load(opts.config)
    if opts.registry_auth:
        _read_registry_auth(opts.registry_auth)  # a bad file is found before any connection
    with kube.connect(kubeconfig=opts.kubeconfig, context=opts.context, request_timeout=opts.request_timeout) as conn:
        changed = ""
        if opts.rotate:
            changed = rotate(config, conn, opts, reporter)
        elif opts.registry_auth:
            changed = write_pull_secret(config, _connections(config, opts, conn), opts, reporter)
        found = credentials(config, opts, conn)
        warning = expiry_warning(conn.get("v1", "Secret", PUSH_SECRET, CI_NAMESPACE))
    return RegistrySecretResult(found, changed=changed, warning=warning)
