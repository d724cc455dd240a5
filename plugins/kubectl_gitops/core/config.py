"""The platform config model: what gitops.yaml declares, with defaults filled in.

Parsing and schema checks live in :mod:`kubectl_gitops.adapters.config_file`; this
module only holds the frozen model and the rules that need the whole picture
(which cluster hosts the platform, sync waves from ``depends_on``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .defaults import DEFAULT_CONFIG_FILE as DEFAULT_FILE
from .defaults import DEFAULT_KUBERNETES_MINOR

API_VERSION = "gitops.kubectl.dev/v1alpha1"
KIND = "Platform"

REGISTRY_TIER_REPOSITORIES = {"starter": 1, "basic": 5, "professional": None}
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def is_commit(revision: str) -> bool:
    """Whether an app's ``revision`` is a full commit id (which no push ever builds)."""
    return bool(_COMMIT.match(revision))


def repositories_per_app(layer_cache: bool) -> int:
    """Registry repositories one application uses: its image, and its kaniko layer cache (``<app>/cache``)."""
    return 2 if layer_cache else 1


@dataclass(frozen=True)
class NodePool:
    size: str = "s-2vcpu-4gb"
    count: int = 2
    autoscale_min: int | None = None
    autoscale_max: int | None = None


@dataclass(frozen=True)
class Cluster:
    name: str
    context: str | None = None
    node_pool: NodePool = field(default_factory=NodePool)
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Environment:
    name: str
    cluster: str
    namespace: str
    sync: str  # "automated" | "manual"
    soak_seconds: float = 0.0  # promotion.soak: healthy this long before promote takes an image further

    @property
    def automated(self) -> bool:
        return self.sync == "automated"


@dataclass(frozen=True)
class Application:
    name: str
    git: str
    revision: str = "main"
    context: str = "."
    dockerfile: str = "Dockerfile"
    go_package: str | None = None
    go_test: bool = False
    port: int = 8080
    hosts: tuple[tuple[str, str], ...] = ()
    replicas: tuple[tuple[str, int], ...] = ()
    default_replicas: int = 1
    depends_on: tuple[str, ...] = ()
    build_branch: bool = True  # pushes to the ``revision`` branch start a build (build_on.branch)
    build_tags: str | None = None  # tag pushes matching this glob start a build (build_on.tags)

    def host(self, environment: str) -> str | None:
        return dict(self.hosts).get(environment)

    def replicas_in(self, environment: str) -> int:
        return dict(self.replicas).get(environment, self.default_replicas)


@dataclass(frozen=True)
class Registry:
    name: str
    tier: str = "basic"
    server: str = "registry.digitalocean.com"
    credentials_expiry_seconds: int = 0
    layer_cache: bool = True

    @property
    def url(self) -> str:
        return f"{self.server}/{self.name}"

    @property
    def on_digitalocean(self) -> bool:
        return self.server == "registry.digitalocean.com"


ISSUERS = ("letsencrypt-production", "letsencrypt-staging")


@dataclass(frozen=True)
class TLS:
    """gitops.yaml ``tls``: HTTPS for every host (on unless ``tls: false``).

    Attributes:
        enabled: serve every host over TLS, plain HTTP redirected (``tls: false`` turns it off).
        issuer: cert-manager ClusterIssuer of the certificates (:data:`ISSUERS`).
        email: ACME account e-mail, or None.
        challenge: ``http01`` (through the platform's ingress) or ``dns01`` (DigitalOcean DNS).
        secret: bring your own: a TLS Secret for every host; cert-manager then issues nothing. ``name`` (in each
            Ingress's namespace; on the gateway edge in the Gateway's) or, on the gateway edge, ``namespace/name``.
    """

    enabled: bool = True
    issuer: str = "letsencrypt-production"
    email: str | None = None
    challenge: str = "http01"
    secret: str | None = None

    @property
    def cert_manager(self) -> bool:
        """Whether cert-manager issues the certificates (TLS on, no Secret brought)."""
        return self.enabled and self.secret is None

    @property
    def secret_name(self) -> str | None:
        """The brought Secret's name (``secret`` without its namespace)."""
        return self.secret.rpartition("/")[2] if self.secret else None

    @property
    def secret_namespace(self) -> str | None:
        """The namespace ``secret`` names (``namespace/name``), or None."""
        return self.secret.partition("/")[0] if self.secret and "/" in self.secret else None


@dataclass(frozen=True)
class GitopsRepo:
    repo: str
    branch: str = "main"
    path: str = "platform"


@dataclass(frozen=True)
class Config:
    """A loaded, valid gitops.yaml."""

    name: str
    provider: str
    domain: str
    clusters: tuple[Cluster, ...]
    environments: tuple[Environment, ...]
    gitops: GitopsRepo
    region: str | None = None
    kubernetes_minor: str = DEFAULT_KUBERNETES_MINOR
    registry: Registry | None = None
    applications: tuple[Application, ...] = ()
    manage_dns: bool = True
    create_domain: bool = False
    dashboard_expose: bool = False
    dashboard_auth_secret: str | None = None
    pipeline_runs_to_keep: int = 10
    tekton_chains: bool = False
    pipelines_as_code: bool = False
    tekton_results: bool = False
    versions: tuple[tuple[str, str], ...] = ()
    tls: TLS = field(default_factory=TLS)
    edge: str = "ingress-nginx"  # or "gateway" (Envoy Gateway)
    source: str = DEFAULT_FILE

    @property
    def scheme(self) -> str:
        """``https`` unless gitops.yaml opts out of TLS."""
        return "https" if self.tls.enabled else "http"

    def environment(self, name: str) -> Environment:
        return next(e for e in self.environments if e.name == name)

    def cluster(self, name: str) -> Cluster:
        return next(c for c in self.clusters if c.name == name)

    @property
    def management_cluster(self) -> Cluster:
        """The cluster that runs Argo CD and Tekton: the dev environment's."""
        return self.cluster(self.environment("dev").cluster)

    def application(self, name: str) -> Application:
        return next(a for a in self.applications if a.name == name)

    def sync_waves(self) -> dict[str, int]:
        """Sync wave per application: one more than the deepest of its dependencies."""
        waves: dict[str, int] = {}
        by_name = {a.name: a for a in self.applications}

        def wave(name: str) -> int:
            if name not in waves:
                waves[name] = 1 + max((wave(d) for d in by_name[name].depends_on), default=-1)
            return waves[name]

        for app in self.applications:
            wave(app.name)
        return waves


def _seconds(text: str | None) -> float:
    if not text or text == "0":
        return 0.0
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    total, number = 0, ""
    for char in text:
        if char.isdigit():
            number += char
        else:
            total += int(number) * units[char]
            number = ""
    return float(total)


def _pairs(mapping: dict[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((mapping or {}).items()))


def _tls(data: Any, *, provider: str, manage_dns: bool) -> TLS:
    """gitops.yaml ``tls``; DNS-01 by default where DigitalOcean serves the domain's DNS."""
    if data is False:
        return TLS(enabled=False)
    data = data or {}
    default = "dns01" if provider == "digitalocean" and manage_dns else "http01"
    return TLS(issuer=data.get("issuer", "letsencrypt-production"), email=data.get("email"),
               challenge=data.get("challenge", default), secret=data.get("secret"))


def build(data: dict[str, Any], *, source: str = DEFAULT_FILE) -> Config:
    """Turn schema-valid gitops.yaml data into a :class:`Config` with defaults applied."""
    name = data["name"]
    clusters = []
    for cname, c in data["clusters"].items():
        pool = c.get("node_pool") or {}
        auto = pool.get("autoscale") or {}
        clusters.append(
            Cluster(
                name=cname,
                context=c.get("context"),
                node_pool=NodePool(
                    size=pool.get("size", "s-2vcpu-4gb"),
                    count=pool.get("count", 2),
                    autoscale_min=auto.get("min"),
                    autoscale_max=auto.get("max"),
                ),
                tags=tuple(c.get("tags") or ()),
            )
        )
    environments = []
    for ename, e in data["environments"].items():
        environments.append(
            Environment(
                name=ename,
                cluster=e["cluster"],
                namespace=e.get("namespace") or f"{name}-{ename}",
                sync=e.get("sync") or ("automated" if ename == "dev" else "manual"),
                soak_seconds=_seconds((e.get("promotion") or {}).get("soak")),
            )
        )
    applications = []
    for aname, a in (data.get("applications") or {}).items():
        replicas = a.get("replicas", 1)
        go = a.get("go")
        build_on = a.get("build_on") or {}
        revision = a.get("revision", "main")
        applications.append(
            Application(
                name=aname,
                git=a["git"],
                revision=revision,
                context=a.get("context", "."),
                dockerfile=a.get("dockerfile", "Dockerfile"),
                go_package=(go or {}).get("package", "./...") if go is not None else None,
                go_test=bool((go or {}).get("test", True)) if go is not None else False,
                port=a.get("port", 8080),
                hosts=_pairs(a.get("hosts")),
                replicas=_pairs(replicas) if isinstance(replicas, dict) else (),
                default_replicas=replicas if isinstance(replicas, int) else 1,
                depends_on=tuple(a.get("depends_on") or ()),
                build_branch=bool(build_on.get("branch", not is_commit(revision))),
                build_tags=build_on.get("tags"),
            )
        )
    registry = data.get("registry")
    platform = data.get("platform") or {}
    dashboard = platform.get("tekton_dashboard") or {}
    dns = data.get("dns") or {}
    gitops = data["gitops"]
    return Config(
        edge=data.get("edge", "ingress-nginx"),
        tls=_tls(data.get("tls", {}), provider=data["provider"], manage_dns=dns.get("manage", True)),
        name=name,
        provider=data["provider"],
        domain=data["domain"],
        region=data.get("region"),
        kubernetes_minor=(data.get("kubernetes") or {}).get("version", DEFAULT_KUBERNETES_MINOR),
        clusters=tuple(clusters),
        environments=tuple(environments),
        gitops=GitopsRepo(
            repo=gitops["repo"], branch=gitops.get("branch", "main"), path=gitops.get("path", "platform")
        ),
        registry=Registry(
            name=registry["name"],
            tier=registry.get("tier", "basic"),
            server=registry.get("server", "registry.digitalocean.com"),
            credentials_expiry_seconds=registry.get("credentials_expiry_seconds", 0),
            layer_cache=registry.get("layer_cache", True),
        )
        if registry
        else None,
        applications=tuple(applications),
        manage_dns=dns.get("manage", True),
        create_domain=dns.get("create_domain", False),
        dashboard_expose=dashboard.get("expose", False),
        dashboard_auth_secret=dashboard.get("auth_secret"),
        pipeline_runs_to_keep=platform.get("pipeline_runs_to_keep", 10),
        tekton_chains=bool((platform.get("tekton_chains") or {}).get("enabled", False)),
        pipelines_as_code=bool((platform.get("pipelines_as_code") or {}).get("enabled", False)),
        tekton_results=bool((platform.get("tekton_results") or {}).get("enabled", False)),
        versions=_pairs(data.get("versions")),
        source=source,
    )
