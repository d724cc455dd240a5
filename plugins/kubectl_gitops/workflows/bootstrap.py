"""`kubectl gitops bootstrap`: from gitops.yaml to a running platform that Argo CD manages.

Phases, in order, each reporting what it created, updated or found up to date:

1. preflight: config, helm, token (digitalocean) or cluster access (existing), before any change;
2. infrastructure: DigitalOcean resources through :mod:`workflows.infra`, or the given cluster;
3. platform: the umbrella chart's releases with real helm, one after another, waiting between
   them on the objects the next release needs (never sleeping), plus the Secrets the chart
   expects the CLI to create (registry push credentials, webhook token);
4. repository: the platform (chart, values) and every app (base, one overlay per environment)
   committed to the user's GitOps repository in one commit (none when nothing changed), keeping
   what a person edited in the overlays;
5. handover: the other clusters registered in Argo CD, the repository credentials, then the GitOps
   release (root Application, applications, the Applications that keep the platform itself in sync
   from the repository); waits until the root and platform Applications are Synced at the
   repository's commit and Healthy.

Every step compares before it writes, so a second run on an up-to-date platform changes
nothing. ``--dry-run`` plans all of it offline: no token, no cluster, nothing written.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..adapters import config_file, helm, kube
from ..core import inputs, lb_ownership, values
from ..core.config import Config
from ..core.defaults import MIN_KUBERNETES
from ..core.errors import CloudUnreachable, GitopsError, KubeError, UsageError, WaitTimeout
from ..core.progress import Reporter
from ..core.readiness import ObjectRef
from ..core.resources import chart_dir
from . import infra, repository
from . import validate as validate_workflow

CI_NAMESPACE = "ci"
PUSH_SECRET = "registry-push"
WEBHOOK_SECRET = "git-push-webhook"
ARGOCD_NAMESPACE = "argocd"
MANAGER_SA = "argocd-manager"
MANAGER_NAMESPACE = "kube-system"
PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = {"app.kubernetes.io/managed-by": "kubectl-gitops"}
EXPIRES_ANNOTATION = "gitops.kubectl.dev/credentials-expire-at"
REPO_SECRET = "repo-gitops"
GIT_CREDENTIALS_SECRET = "git-credentials"
REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"

# What bootstrap does in the management cluster, checked with SelfSubjectAccessReview before any change.
ACCESS_CHECKS = (
    kube.AccessCheck("create", "namespaces"),
    kube.AccessCheck("create", "customresourcedefinitions", group="apiextensions.k8s.io"),
    kube.AccessCheck("create", "clusterroles", group="rbac.authorization.k8s.io"),
    kube.AccessCheck("create", "clusterrolebindings", group="rbac.authorization.k8s.io"),
    kube.AccessCheck("create", "validatingwebhookconfigurations", group="admissionregistration.k8s.io"),
    kube.AccessCheck("create", "deployments", group="apps", namespace=ARGOCD_NAMESPACE),
    kube.AccessCheck("create", "secrets", namespace=ARGOCD_NAMESPACE),
    kube.AccessCheck("create", "secrets", namespace=CI_NAMESPACE),
)
# What registering another cluster needs there.
REMOTE_ACCESS_CHECKS = (
    kube.AccessCheck("create", "namespaces"),
    kube.AccessCheck("create", "serviceaccounts", namespace=MANAGER_NAMESPACE),
    kube.AccessCheck("create", "secrets", namespace=MANAGER_NAMESPACE),
    kube.AccessCheck("create", "roles", group="rbac.authorization.k8s.io"),
    kube.AccessCheck("create", "rolebindings", group="rbac.authorization.k8s.io"),
)


@dataclass(frozen=True)
class BootstrapOptions:
    """What to bootstrap and how.

    Attributes:
        config: path of gitops.yaml.
        kubeconfig: kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
        context: kube context of the management cluster for provider ``existing``.
        provider: overrides gitops.yaml's provider (``digitalocean`` or ``existing``).
        dry_run: plan only; needs no token and no cluster and writes nothing.
        timeout: seconds the whole run may take (helm calls and readiness waits share it).
        token_file: file holding the DigitalOcean token (else the environment).
        chart: a chart directory to install instead of the packaged one (air-gapped installs:
            its ``charts/`` holds the dependency archives).
        helm: the helm binary (default: ``GITOPS_HELM`` or ``helm`` on PATH).
        registry_auth: docker config JSON with push credentials for the CI namespace, for
            registries other than DigitalOcean's.
        cache_dir: where prepared charts are kept between runs.
        git_token_file: file holding a token for the GitOps repository over HTTPS (else
            ``$GITOPS_GIT_TOKEN``; without either, git's own credential helper or SSH agent).
        git_ssh_key_file: private SSH key Argo CD reads an ssh GitOps repository with.
        environ: the environment the tokens are read from.
    """

    config: str = "gitops.yaml"
    kubeconfig: str | None = None
    context: str | None = None
    provider: str | None = None
    dry_run: bool = False
    timeout: float = 900.0
    token_file: str | None = None
    chart: str | None = None
    helm: str | None = None
    registry_auth: str | None = None
    cache_dir: str | None = None
    git_token_file: str | None = None
    git_ssh_key_file: str | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    offline: bool = False


@dataclass(frozen=True)
class Change:
    """One thing a phase did (or, in a dry run, would do)."""

    kind: str
    name: str
    action: str  # created | updated | up to date | installed | upgraded | unchanged | checked | create | keep | ...
    detail: str = ""

    @property
    def changed(self) -> bool:
        return self.action in ("created", "updated", "installed", "upgraded", "deleted")

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "action": self.action, "detail": self.detail}


@dataclass(frozen=True)
class PhaseResult:
    name: str
    changes: tuple[Change, ...]

    @property
    def summary(self) -> str:
        counts: dict[str, int] = {}
        for c in self.changes:
            counts[c.action] = counts.get(c.action, 0) + 1
        if not counts:
            return "nothing to do"
        return ", ".join(f"{n} {action}" for action, n in counts.items())

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "summary": self.summary, "changes": [c.as_dict() for c in self.changes]}


@dataclass(frozen=True)
class BootstrapResult:
    platform: str
    provider: str
    dry_run: bool
    phases: tuple[PhaseResult, ...]
    offline: bool = False
    invalid_objects: tuple[str, ...] = ()
    objects: tuple[tuple[str, str, str], ...] = ()  # dry run: (release, kind, [namespace/]name) validated
    argocd_url: str = ""
    diff: str = ""  # dry run: what the repository phase would commit (unified diff)
    commit: str = ""  # the GitOps repository's commit Argo CD syncs

    @property
    def changed(self) -> bool:
        return any(c.changed for p in self.phases for c in p.changes)

    @property
    def ok(self) -> bool:
        return not self.invalid_objects and not any(
            c.action == "blocked" for p in self.phases for c in p.changes)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "platform": self.platform,
            "provider": self.provider,
            "dryRun": self.dry_run,
            "upToDate": not self.changed and not self.dry_run,
            "phases": [p.as_dict() for p in self.phases],
        }
        if self.dry_run:
            data["offline"] = self.offline
            data["invalidObjects"] = list(self.invalid_objects)
            data["objects"] = [{"release": r, "kind": k, "name": n} for r, k, n in self.objects]
        if self.argocd_url:
            data["argocd"] = self.argocd_url
        if self.commit:
            data["commit"] = self.commit
        return data


@dataclass(frozen=True)
class _PushCredentials:
    """Where the registry push Secret comes from: the user's file, or DigitalOcean on demand."""

    given: str | None = None
    issue: Any = None  # () -> (docker config JSON, expiry epoch or 0), called only when the Secret needs it


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self, what: str) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise GitopsError(f"bootstrap ran out of time ({self.seconds:g} s) before {what}",
                              hint="re-run with a larger --timeout; finished steps are not repeated")
        return remaining


@dataclass
class _Target:
    """A cluster bootstrap works on."""

    name: str
    context: str
    kubeconfig: str | None
    load_balancer_id: str | None = None
    conn: Any = None  # kube.Kube once connected


@contextmanager
def _phase(name: str, reporter: Reporter) -> Iterator[None]:
    """Announce a phase; mark it failed (✗) when it stops, then let the error through."""
    reporter.action(name)
    try:
        yield
    except (GitopsError, KeyboardInterrupt):
        if name == "preflight":
            reporter.failure("preflight failed: nothing was changed")
        else:
            reporter.failure(f"{name} did not finish; what it completed is kept, re-run bootstrap to continue")
        raise


def _load(opts: BootstrapOptions) -> Config:
    config = config_file.load(opts.config)
    if opts.provider and opts.provider != config.provider:
        if opts.provider == "digitalocean" and not config.region:
            raise UsageError(f"--provider digitalocean needs `region` in {opts.config}")
        from dataclasses import replace

        config = replace(config, provider=opts.provider)
    return config


def run(opts: BootstrapOptions, *, reporter: Reporter | None = None) -> BootstrapResult:
    """Bootstrap the platform of ``opts.config`` (or plan it with ``dry_run``).

    Raises:
        ConfigError: gitops.yaml is missing or invalid.
        GitopsError: a check failed, a tool or API failed, or a wait timed out; the message says
            what and what to do. Finished steps are kept, so a re-run continues.
    """
    reporter = reporter or Reporter()
    config = _load(opts)
    reporter.success(f"{opts.config} is valid (platform {config.name}, provider {config.provider})")
    if opts.dry_run:
        return _plan(config, opts, reporter)
    deadline = _Deadline(opts.timeout)
    phases: list[PhaseResult] = []

    with _phase("preflight", reporter):
        binary, token, targets, checks, given, access = _preflight(config, opts, reporter)
    phases.append(PhaseResult("preflight", tuple(checks)))

    with _phase("infrastructure", reporter):
        infra_changes, push = _infrastructure(config, opts, token, given, targets, deadline, reporter)
        if config.provider == "digitalocean":
            _connect_all(config, targets, reporter)
    phases.append(PhaseResult("infrastructure", tuple(infra_changes)))

    with _phase("platform", reporter):
        chart, platform_changes = _platform(config, opts, binary, targets, push, token, deadline, reporter)
    phases.append(PhaseResult("platform", tuple(platform_changes)))

    with _phase("repository", reporter):
        written, repo_changes = _repository(config, opts, access, chart, targets, deadline, reporter)
    phases.append(PhaseResult("repository", tuple(repo_changes)))

    with _phase("handover", reporter):
        handover_changes = _handover(config, opts, binary, chart, targets, access, written, deadline, reporter)
    phases.append(PhaseResult("handover", tuple(handover_changes)))
    result = BootstrapResult(platform=config.name, provider=config.provider, dry_run=False, phases=tuple(phases),
                             argocd_url=values.argocd_url(config), commit=written.sha)
    if result.changed:
        reporter.success(f"platform {config.name} is bootstrapped; Argo CD manages it from here")
    else:
        reporter.success(f"platform {config.name} is up to date")
    return result


# ---------------------------------------------------------------- preflight


def _targets(config: Config, opts: BootstrapOptions) -> dict[str, _Target]:
    """The clusters of an ``existing`` platform and the kube context of each."""
    management = config.management_cluster.name
    used = {e.cluster for e in config.environments}
    targets = {}
    for cluster in config.clusters:
        if cluster.name not in used:
            continue
        context = cluster.context
        if cluster.name == management and opts.context:
            context = opts.context
        targets[cluster.name] = _Target(name=cluster.name, context=context or "", kubeconfig=opts.kubeconfig)
    return targets


_RELEASE_ANNOTATIONS = ("meta.helm.sh/release-name", "meta.helm.sh/release-namespace")


def _check_cluster(target: _Target, checks: tuple[Any, ...], reporter: Reporter) -> list[Change]:
    conn = target.conn
    major, minor, text = conn.server_version()
    if (major, minor) < MIN_KUBERNETES:
        raise GitopsError(f"cluster {target.name} (context {conn.context}) runs Kubernetes {text}; "
                          f"the platform needs {MIN_KUBERNETES[0]}.{MIN_KUBERNETES[1]} or newer",
                          hint="upgrade the cluster or pick another context")
    denied = conn.denied(checks)
    if denied:
        missing = ", ".join(str(d) for d in denied)
        raise GitopsError(f"context {conn.context} may not do what bootstrap needs: {missing}",
                          hint="use a context with cluster-admin rights for the bootstrap")
    reporter.success(f"cluster {target.name}: Kubernetes {text} at {conn.server} (context {conn.context}), "
                     "access checked")
    return [Change("cluster", target.name, "checked", f"Kubernetes {text}, context {conn.context}")]


def _conflicts(config: Config, conn: Any) -> None:
    """Refuse to install over an Argo CD that another tool installed (helm would fail half-way)."""
    release = values.releases(config)[0].name
    for crd in ("applications.argoproj.io", "appprojects.argoproj.io"):
        obj = conn.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd)
        if obj is None:
            continue
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        owner = annotations.get("meta.helm.sh/release-name")
        if owner != release:
            by = f"helm release {owner}" if owner else "another tool (no helm ownership marks)"
            raise GitopsError(
                f"Argo CD is already installed in context {conn.context}: CRD {crd} belongs to {by}",
                hint="bootstrap a cluster without Argo CD, or uninstall the existing Argo CD and its CRDs first")


def _preflight(config: Config, opts: BootstrapOptions, reporter: Reporter):
    checks: list[Change] = [Change("config", opts.config, "checked")]
    binary = helm.find_helm(opts.helm)
    reporter.success(f"helm {binary.version_text} at {binary.path}")
    checks.append(Change("tool", "helm", "checked", binary.version_text))
    token = None
    targets: dict[str, _Target] = {}
    if config.provider == "digitalocean":
        token = infra.resolve_token(opts.token_file, opts.environ)
        if token is None:
            raise UsageError("no DigitalOcean token: set DIGITALOCEAN_TOKEN (or DIGITALOCEAN_ACCESS_TOKEN) "
                             "or pass --token-file", hint="--dry-run plans without one")
        plan = infra.plan(config, token=token, reporter=reporter, kubeconfig=opts.kubeconfig,
                          push_credentials=False, environ=opts.environ)
        if plan.blocked:
            rows = "; ".join(f"{r.kind} {r.name}: {r.reason}" for r in plan.blocked)
            raise GitopsError(f"the infrastructure cannot be provisioned: {rows}")
        checks.append(Change("digitalocean", "account", "checked", "token valid with write access"))
    else:
        targets = _targets(config, opts)
        checks += _connect_all(config, targets, reporter)
    given = _registry_auth_file(opts)  # an unreadable --registry-auth fails before any change
    access = _repository_access(config, opts, reporter)
    checks.append(Change("repository", access.remote.shown, "checked",
                         f"branch {config.gitops.branch} at {access.head[:12]}" if access.head
                         else f"empty: branch {config.gitops.branch} will be created"))
    return binary, token, targets, checks, given, access


def _repository_access(config: Config, opts: BootstrapOptions, reporter: Reporter) -> repository.Access:
    """The GitOps repository answers, takes the credentials and has the branch; nothing is written yet."""
    git_token = repository.resolve_token(opts.git_token_file, opts.environ)
    if opts.git_ssh_key_file:
        _read_ssh_key(opts.git_ssh_key_file)
    warning = repository.local_url_warning(config)
    if warning:
        reporter.warning(warning)
    return repository.check(config, repository.remote(config, git_token, opts.environ), reporter)


def _read_ssh_key(path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read --git-ssh-key-file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if "PRIVATE KEY" not in text:
        raise UsageError(f"--git-ssh-key-file {path} is not a private key (no PRIVATE KEY block)")
    return text


def _check_chart(opts: BootstrapOptions) -> None:
    """``--chart`` names a chart directory with every dependency archive in its ``charts/``."""
    if not opts.chart:
        return
    path = Path(opts.chart)
    if not (path / "Chart.yaml").is_file():
        raise UsageError(f"--chart {path} is not a chart directory (no Chart.yaml in it)",
                         hint="pass the directory of charts/gitops-platform or of a copy of it")
    missing = helm.missing_dependencies(path)
    if missing:
        raise UsageError(f"--chart {path} lacks the dependency charts {', '.join(missing)} in its charts/",
                         hint=f"run `helm dependency build {path}` where the chart repositories are reachable")


def _registry_auth_file(opts: BootstrapOptions) -> str | None:
    if not opts.registry_auth:
        return None
    path = Path(opts.registry_auth)
    text = inputs.read_text(path, what="--registry-auth", error=UsageError)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise UsageError(f"--registry-auth {path} is not JSON; pass a docker config.json with push credentials") \
            from None
    if not isinstance(data, dict) or not isinstance(data.get("auths"), dict) or not data["auths"]:
        raise UsageError(f"--registry-auth {path} has no `auths`; pass a docker config.json with push credentials")
    return text


# ---------------------------------------------------------------- infrastructure


def _infrastructure(config, opts, token, given, targets, deadline, reporter) -> tuple[list[Change], _PushCredentials]:
    if config.provider != "digitalocean":
        changes = [Change("cluster", t.name, "up to date", f"existing cluster, context {t.context}")
                   for t in targets.values()]
        reporter.success("existing clusters: nothing to provision")
        token = infra.resolve_token(opts.token_file, opts.environ)
        on_digitalocean = config.registry is not None and config.registry.server == "registry.digitalocean.com"
        if given is None and token is not None and on_digitalocean:  # a DOKS cluster with the account's registry
            return changes, _PushCredentials(issue=_issuer(config, token, reporter))
        return changes, _PushCredentials(given=given)
    # push credentials are issued later, only when the CI namespace has none (each issue is a new token)
    result = infra.provision(config, token=token, kubeconfig=opts.kubeconfig, push_credentials=False,
                             timeout=deadline.left("provisioning the infrastructure"), reporter=reporter,
                             environ=opts.environ)
    for name, access in result.clusters.items():
        targets[name] = _Target(name=name, context=access.context, kubeconfig=access.kubeconfig,
                                load_balancer_id=access.load_balancer_id)
    changes = [Change(row.kind, row.name, row.action, row.reason) for row in result.rows]

    return changes, _PushCredentials(given=given, issue=_issuer(config, token, reporter) if config.registry else None)


def _issuer(config: Config, token: Any, reporter: Reporter):
    """Issue read-write registry credentials on demand, with the moment they expire (0: never)."""

    def issue() -> tuple[str, float]:
        credentials = infra.issue_push_credentials(config, token=token, reporter=reporter)
        expiry = config.registry.credentials_expiry_seconds if config.registry else 0
        return credentials.reveal(), (time.time() + expiry if expiry else 0)

    return issue


def _connect_all(config: Config, targets: dict[str, _Target], reporter: Reporter) -> list[Change]:
    """Connect to every cluster and check it (version, access; no foreign Argo CD on the platform's)."""
    checks = []
    for target in targets.values():
        target.conn = kube.connect(kubeconfig=target.kubeconfig, context=target.context or None)
        target.context = target.conn.context
        is_management = target.name == config.management_cluster.name
        checks += _check_cluster(target, ACCESS_CHECKS if is_management else REMOTE_ACCESS_CHECKS, reporter)
    _conflicts(config, targets[config.management_cluster.name].conn)
    return checks


# ---------------------------------------------------------------- platform and handover


def _cache_dir(opts: BootstrapOptions) -> Path:
    if opts.cache_dir:
        return Path(opts.cache_dir)
    base = opts.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kubectl-gitops" / "charts"


def _release_values(config: Config, phase: str, lb_id: str | None, *, git_credentials: bool = False
                    ) -> dict[str, Any]:
    data = values.chart_values(config, phase=phase, load_balancer_id=lb_id, repo_url=repository.argocd_url(config))
    if phase == "gitops":
        data.setdefault("tekton", {}).setdefault("triggers", {})["webhookSecretName"] = WEBHOOK_SECRET
        if git_credentials:  # the builds clone with the credentials bootstrap stores in the CI namespace
            data["tekton"].setdefault("pipeline", {})["gitCredentialsSecretName"] = GIT_CREDENTIALS_SECRET
    return data


def _install(config: Config, conn: Any, chart: Path, binary: Any, release: values.Release, release_values: dict,
             kube_args: dict, deadline: _Deadline, reporter: Reporter, *, cluster: str | None = None
             ) -> tuple[list[Change], Change]:
    """Install or upgrade one release of the chart (its prerequisites first); nothing when it is up to date.
    ``cluster`` names a workload cluster in what is reported."""
    changes: list[Change] = []
    shown = f"{release.name} ({cluster})" if cluster else release.name
    on = f" on cluster {cluster}" if cluster else ""
    reporter.action(f"release {release.name}{on} (phase {release.phase})")
    for obj in values.prerequisites(config, release.phase):
        action = conn.apply(obj)
        if action != "unchanged":
            reporter.created(f"{obj['kind']} {obj['metadata']['name']}{on}: {action}")
            changes.append(Change(obj["kind"], obj["metadata"]["name"], action, f"before release {shown}"))
    _wait_for_admission_webhooks(config, conn, deadline, reporter)
    outcome = helm.upgrade_install(chart, release=release.name, namespace=release.namespace,
                                   values=release_values,
                                   create_namespace=release.phase in ("platform", "operator", values.INGRESS_PHASE),
                                   timeout=deadline.left(f"installing {shown}"), helm=binary, **kube_args)
    word = {"unchanged": "up to date"}.get(outcome.action, outcome.action)
    (reporter.success if outcome.action == "unchanged" else reporter.created)(
        f"release {release.name}{on}: {word} (revision {outcome.revision})")
    return changes, Change("release", shown, word, f"revision {outcome.revision}")


def _platform(config, opts, binary, targets, push, token, deadline, reporter) -> tuple[Path, list[Change]]:
    """Releases platform and tekton, the CI Secrets, the DNS-01 token, and every workload cluster's ingress
    controller."""
    management = targets[config.management_cluster.name]
    conn = management.conn
    source = Path(opts.chart) if opts.chart else chart_dir()
    if not (source / "Chart.yaml").is_file():
        raise UsageError(f"--chart {source} is not a chart directory (no Chart.yaml)")
    _check_brought_certificate(config, targets)
    chart = helm.prepare_chart(source, version_overrides=values.chart_version_overrides(config),
                               work_dir=_cache_dir(opts), helm=binary)
    changes: list[Change] = []
    kube_args = {"kube_context": conn.context, "kubeconfig": management.kubeconfig}
    for release in values.releases(config):
        if release.phase == "gitops":
            continue
        if release.phase == "platform":
            crds = _list_crds(conn)  # once, for both: the release drops the CRDs of what it no longer installs
            changes += _hand_operator_crds_over(config, conn, crds, reporter)
            changes += _keep_gateway_api(config, conn, crds, release, reporter)
        release_values = _release_values(config, release.phase, management.load_balancer_id)
        if release.phase == "platform":  # the release that swaps the edge's controller and its Service
            changes += hand_over_load_balancer(conn, edge=config.edge, load_balancer_id=management.load_balancer_id,
                                               reporter=reporter)
        before, change = _install(config, conn, chart, binary, release, release_values, kube_args, deadline,
                                  reporter)
        changes += [*before, change]
        if release.phase == "platform":
            changes += _platform_secrets(config, conn, push, reporter)
            if _dns01(config) and token is not None:
                changes.append(_dns_token_secret(config, conn, token, reporter))
        refs = [ObjectRef(**ref) for ref in values.readiness_after(config, release.phase)]
        conn.wait(refs, timeout=deadline.left(f"waiting for phase {release.phase}"), reporter=reporter,
                  what=f"phase {release.phase}")
        if release.phase == "tekton" and config.dashboard_expose:
            _check_dashboard_auth(config, conn, reporter)
    changes += _workload_edges(config, chart, binary, targets, token, deadline, reporter)
    return source, changes


def hand_over_load_balancer(conn: Any, *, edge: str, load_balancer_id: str | None, reporter: Reporter,
                            cluster: str | None = None) -> list[Change]:
    """Before the release that installs ``edge`` on a DigitalOcean cluster: make the new edge the only owner
    of the cluster's load balancer, so that the release removing the other edge's Service keeps it.

    DigitalOcean's cloud controller deletes the load balancer of a deleted LoadBalancer Service unless that
    Service is disowned (:mod:`core.lb_ownership`). So the other edge's Service that adopts the load balancer
    by id is marked ``service.kubernetes.io/do-loadbalancer-disown: "true"`` first, then a Service of
    ``edge`` that an unfinished switch left disowned owns it again; the new edge's Service, created by the
    release (or by Envoy Gateway from the Gateway), adopts the same load balancer by id. Only the edge
    namespaces are read; nothing is written when there is nothing to switch, and nothing at all is done
    without a load balancer (provider ``existing``). ``cluster`` names the cluster in the changes when it is
    not the management cluster.
    """
    if not load_balancer_id:
        return []
    services = [service for namespace in sorted(set(lb_ownership.EDGE_NAMESPACES.values()))
                for service in conn.list("v1", "Service", namespace)]
    plan = lb_ownership.handover(services, edge=edge, load_balancer_id=load_balancer_id)
    kind = f"Service ({cluster})" if cluster else "Service"
    changes = []
    for ref in plan.disown:
        conn.patch("v1", "Service", ref.name, ref.namespace,
                   patch={"metadata": {"annotations": {lb_ownership.DISOWN_ANNOTATION: "true"}}})
        detail = (f"disowned: removing it keeps load balancer {load_balancer_id}, which the {edge} edge's Service "
                  "adopts")
        reporter.created(f"{kind} {ref}: {detail}")
        changes.append(Change(kind, str(ref), "updated", detail))
    for ref in plan.reclaim:
        conn.patch("v1", "Service", ref.name, ref.namespace,
                   patch={"metadata": {"annotations": {lb_ownership.DISOWN_ANNOTATION: None}}})
        detail = f"owns load balancer {load_balancer_id} again (no longer disowned)"
        reporter.created(f"{kind} {ref}: {detail}")
        changes.append(Change(kind, str(ref), "updated", detail))
    return changes


def _values_by_phase(config: Config, targets: dict[str, _Target], git_credentials: bool) -> dict[str, dict]:
    lb_id = targets[config.management_cluster.name].load_balancer_id
    return {release.phase: _release_values(config, release.phase, lb_id, git_credentials=git_credentials)
            for release in values.releases(config)}


def _repository(config: Config, opts: BootstrapOptions, access: repository.Access, chart: Path,
                targets: dict[str, _Target], deadline: _Deadline, reporter: Reporter
                ) -> tuple[repository.WriteResult, list[Change]]:
    """Commit the platform and the apps to the GitOps repository (one commit; none when up to date)."""
    plan = repository.layout(config, chart, _values_by_phase(config, targets, _clone_credentials(access.remote)),
                             values.chart_version_overrides(config))
    written = repository.write(config, access, plan, reporter,
                               timeout=min(300.0, deadline.left("writing the GitOps repository")))
    if written.committed:
        n = len(written.changed)
        change = Change("commit", written.sha[:12], "created",
                        f"{n} file{'s' * (n != 1)} on branch {config.gitops.branch}")
    else:
        change = Change("commit", written.sha[:12], "up to date", f"branch {config.gitops.branch}")
    return written, [change]


def _handover(config: Config, opts: BootstrapOptions, binary: Any, source: Path, targets: dict[str, _Target],
              access: repository.Access, written: repository.WriteResult, deadline: _Deadline,
              reporter: Reporter) -> list[Change]:
    """Clusters and repository credentials for Argo CD, the gitops release, then the wait for Argo CD."""
    management = targets[config.management_cluster.name]
    conn = management.conn
    changes = _register_clusters(config, targets, deadline, reporter)
    changes += _repository_secrets(config, opts, conn, access, reporter)
    chart = helm.prepare_chart(source, version_overrides=values.chart_version_overrides(config),
                               work_dir=_cache_dir(opts), helm=binary)
    release = values.releases(config)[-1]
    kube_args = {"kube_context": conn.context, "kubeconfig": management.kubeconfig}
    release_values = _release_values(config, release.phase, management.load_balancer_id,
                                     git_credentials=_clone_credentials(access.remote))
    before, change = _install(config, conn, chart, binary, release, release_values, kube_args, deadline, reporter)
    changes += [*before, change]
    changes += _release_gateway_classes(config, conn, reporter)
    names = _argocd_applications(config)
    if written.committed:  # Argo CD polls every few minutes: have it look at the new commit now
        for name in names:
            if conn.get("argoproj.io/v1alpha1", "Application", name, ARGOCD_NAMESPACE) is not None:
                conn.patch("argoproj.io/v1alpha1", "Application", name, ARGOCD_NAMESPACE,
                           patch={"metadata": {"annotations": {REFRESH_ANNOTATION: "normal"}}})
    expected = written.sha if written.committed else config.gitops.branch
    refs = [ObjectRef(api_version="argoproj.io/v1alpha1", kind="Application", name=name,
                      namespace=ARGOCD_NAMESPACE, expected_revision=expected)
            for name in (f"{config.name}-root", *(r.name for r in values.releases(config)))]
    conn.wait(refs, timeout=deadline.left("waiting for Argo CD"), reporter=reporter,
              what=f"Argo CD at {written.sha[:12]}" if written.sha else "Argo CD")
    reporter.success(f"Argo CD: root and platform Applications Synced at {written.sha[:12]} and Healthy")
    changes.append(Change("wait", "Argo CD", "checked",
                          f"root and platform Applications Synced at {written.sha[:12]} and Healthy"))
    return changes


def _clone_credentials(remote: Any) -> bool:
    """Whether bootstrap stores clone credentials for the builds (a token for an http(s) repository)."""
    return remote.token is not None and remote.kind in ("https", "http")


def _argocd_applications(config: Config) -> list[str]:
    names = [f"{config.name}-root", *(r.name for r in values.releases(config))]
    names += [f"{a.name}-{e.name}"[:63].rstrip("-") for a in config.applications for e in config.environments]
    return names


def _repository_secrets(config: Config, opts: BootstrapOptions, conn: Any, access: repository.Access,
                        reporter: Reporter) -> list[Change]:
    """Read access for Argo CD (argocd namespace) and clone access for the builds (CI namespace), from the
    token or SSH key the user gave; none for a repository that needs no credentials."""
    changes: list[Change] = []
    labels = {**MANAGED_BY, PART_OF: config.name}
    token = access.remote.token
    url = repository.argocd_url(config)
    data: dict[str, str] = {"type": "git", "url": url}
    if token is not None and access.remote.kind in ("https", "http"):
        data.update(username=access.remote.username, password=token.reveal())
    elif opts.git_ssh_key_file and access.remote.kind == "ssh":
        data["sshPrivateKey"] = _read_ssh_key(opts.git_ssh_key_file)
    else:
        return changes
    action = conn.ensure_secret(ARGOCD_NAMESPACE, REPO_SECRET, string_data=data,
                                labels={**labels, "argocd.argoproj.io/secret-type": "repository"})
    changes.append(_secret_change(f"{ARGOCD_NAMESPACE}/{REPO_SECRET}", action, "Argo CD read access to the GitOps "
                                  "repository", reporter))
    if _clone_credentials(access.remote):
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        host = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
        user = access.remote.username
        credentials = f"{parts.scheme}://{user}:{token.reveal()}@{parts.netloc.rsplit('@', 1)[-1]}\n"
        action = conn.ensure_secret(
            CI_NAMESPACE, GIT_CREDENTIALS_SECRET, type="kubernetes.io/basic-auth",
            string_data={"username": user, "password": token.reveal(), ".git-credentials": credentials,
                         ".gitconfig": f"[credential \"{host}\"]\n\thelper = store\n"},
            labels=labels, annotations={"tekton.dev/git-0": host})
        changes.append(_secret_change(f"{CI_NAMESPACE}/{GIT_CREDENTIALS_SECRET}", action,
                                      "git credentials for the builds' clones", reporter))
    return changes


_WEBHOOK_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")


def _wait_for_admission_webhooks(config: Config, conn: Any, deadline: _Deadline, reporter: Reporter) -> None:
    """Before helm writes a release: wait until the admission webhooks the platform registered (an earlier,
    perhaps interrupted, run) are served, since the API server refuses what they validate until then.

    The platform's webhooks are those helm installed with one of its releases and those calling a Service in
    one of its namespaces (the Tekton operator registers its components' webhooks itself); ``failurePolicy:
    Ignore`` ones never block a write. Nothing to wait for on a first run.
    """
    ours = {r.name for r in (*values.releases(config), *values.workload_releases(config))}
    namespaces = {values.ARGOCD_NAMESPACE, values.INGRESS_NAMESPACE, values.TEKTON_NAMESPACE,
                  values.CERT_MANAGER_NAMESPACE, values.GATEWAY_NAMESPACE}
    refs = []
    for kind in _WEBHOOK_KINDS:
        for obj in conn.list("admissionregistration.k8s.io/v1", kind):
            meta = obj.get("metadata") or {}
            helm_release = (meta.get("annotations") or {}).get("meta.helm.sh/release-name")
            blocking = [hook for hook in obj.get("webhooks") or [] if hook.get("failurePolicy", "Fail") != "Ignore"
                        and ((hook.get("clientConfig") or {}).get("service") or {}).get("name")]
            if blocking and (helm_release in ours or any(
                    hook["clientConfig"]["service"].get("namespace") in namespaces for hook in blocking)):
                refs.append(ObjectRef(api_version="admissionregistration.k8s.io/v1", kind=kind, name=meta["name"]))
    if not refs:
        return
    try:
        conn.wait(refs, timeout=deadline.left("the admission webhooks were served"), reporter=reporter,
                  what="the platform's admission webhooks to be served")
    except WaitTimeout as exc:
        raise GitopsError(f"the admission webhooks the platform registered were not served within --timeout: "
                          f"{'; '.join(exc.details) or exc.summary}",
                          hint="their pods are not ready yet; re-run bootstrap once they are, or with a larger "
                               "--timeout") from None


def _push_credentials_current(secret: dict[str, Any] | None) -> bool:
    """Whether the push Secret exists and its credentials do not expire within a day."""
    if secret is None:
        return False
    expires = ((secret.get("metadata") or {}).get("annotations") or {}).get(EXPIRES_ANNOTATION)
    return not expires or float(expires) > time.time() + 86400


def _workload_edges(config: Config, chart: Path, binary: Any, targets: dict[str, _Target], token: Any,
                    deadline: _Deadline, reporter: Reporter) -> list[Change]:
    """The edge of every cluster that runs applications but not the platform: its controller and cert-manager
    (release ``<name>-ingress``), the DNS-01 token when cert-manager solves through DigitalOcean, then the
    ClusterIssuers and, on the gateway edge, its Gateway (release ``<name>-edge``), so that its app hosts are
    served and get certificates as on the platform's cluster."""
    changes: list[Change] = []
    for name in values.workload_clusters(config):
        target = targets[name]
        kube_args = {"kube_context": target.conn.context, "kubeconfig": target.kubeconfig}
        for release in values.workload_releases(config):
            data = values.chart_values(config, phase=release.phase, load_balancer_id=target.load_balancer_id,
                                       cluster=name)
            if release.phase == values.INGRESS_PHASE:  # the release that swaps this cluster's edge controller
                if config.edge != "gateway":
                    changes += _keep_gateway_api(config, target.conn, _list_crds(target.conn), release, reporter,
                                                 cluster=name)
                changes += hand_over_load_balancer(target.conn, edge=config.edge,
                                                   load_balancer_id=target.load_balancer_id, reporter=reporter,
                                                   cluster=name)
            before, change = _install(config, target.conn, chart, binary, release, data, kube_args, deadline,
                                      reporter, cluster=name)
            changes += [*before, change]
            if release.phase == values.EDGE_PHASE:
                changes += _release_gateway_classes(config, target.conn, reporter, cluster=name)
            if release.phase == values.INGRESS_PHASE and _dns01(config) and token is not None:
                changes.append(_dns_token_secret(config, target.conn, token, reporter, cluster=name))
            refs = [ObjectRef(**ref) for ref in values.readiness_after(config, release.phase)]
            target.conn.wait(refs, timeout=deadline.left(f"waiting for the edge of cluster {name}"),
                             reporter=reporter, what=f"phase {release.phase} on cluster {name}")
    return changes


def _platform_secrets(config: Config, conn: Any, push: _PushCredentials, reporter: Reporter) -> list[Change]:
    """The Secrets the chart leaves to the CLI, in the CI namespace only."""
    changes = []
    labels = {**MANAGED_BY, PART_OF: config.name}
    existing_push = conn.get("v1", "Secret", PUSH_SECRET, CI_NAMESPACE)
    if push.given is not None:  # --registry-auth: the user's credentials, kept in sync
        action = conn.ensure_secret(CI_NAMESPACE, PUSH_SECRET, type="kubernetes.io/dockerconfigjson",
                                    string_data={".dockerconfigjson": push.given}, labels=labels)
    elif push.issue is not None and not _push_credentials_current(existing_push):
        issued, expires_at = push.issue()
        annotations = {EXPIRES_ANNOTATION: str(int(expires_at))} if expires_at else None
        action = conn.ensure_secret(CI_NAMESPACE, PUSH_SECRET, type="kubernetes.io/dockerconfigjson",
                                    string_data={".dockerconfigjson": issued}, labels=labels,
                                    annotations=annotations)
    elif existing_push is not None:
        action = "unchanged"
    else:
        action = ""
        reporter.warning(f"no registry push credentials: builds cannot push until Secret {CI_NAMESPACE}/{PUSH_SECRET} "
                         "exists (pass --registry-auth with a docker config.json)")
    if action:
        changes.append(_secret_change(f"{CI_NAMESPACE}/{PUSH_SECRET}", action, "registry push credentials",
                                      reporter))
    existing = conn.get("v1", "Secret", WEBHOOK_SECRET, CI_NAMESPACE)
    if existing is None:
        action = conn.ensure_secret(CI_NAMESPACE, WEBHOOK_SECRET, string_data={"secretToken": secrets.token_hex(24)},
                                    labels=labels)
    else:  # keep the token the git hosts already know
        action = "unchanged"
    changes.append(_secret_change(f"{CI_NAMESPACE}/{WEBHOOK_SECRET}", action, "git push webhook token", reporter))
    return changes


_GATEWAY_CLASS_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
_GATEWAY_CLASS_FINALIZER = "gateway-exists-finalizer.gateway.networking.k8s.io"


def _release_gateway_classes(config: Config, conn: Any, reporter: Reporter, cluster: str | None = None
                             ) -> list[Change]:
    """After a switch to ingress-nginx: the platform's GatewayClass, deleted with the release that held it, keeps
    Envoy Gateway's finalizer (on while Gateways of the class exist) because Envoy Gateway was removed first and
    cannot take it off. Once no Gateway of that class is left and Envoy Gateway no longer runs, the finalizer
    guards nothing: take it off so that the GatewayClass goes. Nothing to do otherwise (one list)."""
    if config.edge == "gateway":
        return []
    try:
        classes = conn.list("gateway.networking.k8s.io/v1", "GatewayClass")
    except KubeError:  # the Gateway API was never installed here
        return []
    stuck = [c for c in classes if (c.get("spec") or {}).get("controllerName") == _GATEWAY_CLASS_CONTROLLER
             and (c.get("metadata") or {}).get("deletionTimestamp")
             and _GATEWAY_CLASS_FINALIZER in ((c.get("metadata") or {}).get("finalizers") or [])]
    if not stuck or conn.get("apps/v1", "Deployment", "envoy-gateway", values.GATEWAY_NAMESPACE) is not None:
        return []
    used = {(g.get("spec") or {}).get("gatewayClassName") for g in conn.list("gateway.networking.k8s.io/v1", "Gateway")}
    changes = []
    on = f" ({cluster})" if cluster else ""
    for gateway_class in stuck:
        meta = gateway_class["metadata"]
        if meta["name"] in used:
            continue
        conn.patch("gateway.networking.k8s.io/v1", "GatewayClass", meta["name"], None, patch={"metadata": {
            "finalizers": [f for f in meta["finalizers"] if f != _GATEWAY_CLASS_FINALIZER]}})
        reporter.created(f"GatewayClass {meta['name']}{on}: released (no Gateway of it left, Envoy Gateway removed)")
        changes.append(Change("GatewayClass", meta["name"] + on, "updated",
                              "Envoy Gateway's finalizer taken off: no Gateway of it is left"))
    return changes


_KEEP = {"helm.sh/resource-policy": "keep"}
_GATEWAY_GROUPS = ("gateway.networking.k8s.io", "gateway.envoyproxy.io")
_OPERATOR_GROUP = "operator.tekton.dev"


def _list_crds(conn: Any) -> list[dict[str, Any]]:
    return conn.list("apiextensions.k8s.io/v1", "CustomResourceDefinition")


def _keep_crds(conn: Any, crds: list[dict[str, Any]], *, groups: tuple[str, ...], owner: values.Release,
               annotations: dict[str, str], said: str, detail: str, reporter: Reporter,
               cluster: str | None = None) -> list[Change]:
    """Before ``owner`` is upgraded without the CRDs of ``groups`` it installed: give each of them
    ``annotations`` (``helm.sh/resource-policy: keep`` at least, so that helm leaves it: deleting a CRD deletes
    every object of its kind in the cluster). A CRD that already carries them is left alone."""
    changes = []
    on = f" ({cluster})" if cluster else ""
    for crd in crds:
        meta = crd.get("metadata") or {}
        current = meta.get("annotations") or {}
        if ((crd.get("spec") or {}).get("group") not in groups
                or tuple(current.get(a) for a in _RELEASE_ANNOTATIONS) != (owner.name, owner.namespace)
                or all(current.get(k) == v for k, v in annotations.items())):
            continue
        conn.patch("apiextensions.k8s.io/v1", "CustomResourceDefinition", meta["name"], None,
                   patch={"metadata": {"annotations": annotations}})
        reporter.created(f"CRD {meta['name']}{on}: {said}")
        changes.append(Change("CustomResourceDefinition", meta["name"] + on, "updated", detail))
    return changes


def _keep_gateway_api(config: Config, conn: Any, crds: list[dict[str, Any]], release: values.Release,
                      reporter: Reporter, cluster: str | None = None) -> list[Change]:
    """Switching from the gateway edge to ingress-nginx: keep the Gateway API and Envoy Gateway CRDs that
    ``release`` installed before it is upgraded without them.

    Deleting them would delete every object of their kinds in the cluster, the user's own Gateways and routes
    included, and the gitops (or edge) release that still holds the platform's Gateway objects could no longer be
    upgraded ("resource mapping not found"). Kept, they stay served; switching back to the gateway edge adopts
    them again (their ownership annotations still name ``release``). Nothing to do on the gateway edge."""
    if config.edge == "gateway":
        return []
    return _keep_crds(conn, crds, groups=_GATEWAY_GROUPS, owner=release, annotations=_KEEP, reporter=reporter,
                      said=f"kept when release {release.name} drops the gateway edge",
                      detail="kept: its objects stay served after the switch to ingress-nginx", cluster=cluster)


def _hand_operator_crds_over(config: Config, conn: Any, crds: list[dict[str, Any]], reporter: Reporter
                             ) -> list[Change]:
    """A platform installed when the Tekton operator was part of the platform release: hand the operator's CRDs
    to the operator release before the platform release is upgraded without the operator.

    The operator chart templates its CRDs, so the upgrade would delete them, and with them the TektonConfig and,
    through its owner references, everything the operator installed (the Tekton CRDs, every Task, Pipeline and
    PipelineRun). Kept, they survive the upgrade, and carrying the operator release's ownership annotations they
    are adopted by it. Nothing to do on any other platform."""
    platform, operator = (r for r in values.releases(config) if r.phase in ("platform", "operator"))
    return _keep_crds(conn, crds, groups=(_OPERATOR_GROUP,), owner=platform,
                      annotations={**_KEEP, _RELEASE_ANNOTATIONS[0]: operator.name,
                                   _RELEASE_ANNOTATIONS[1]: operator.namespace}, reporter=reporter,
                      said=f"handed from release {platform.name} to {operator.name}, kept",
                      detail=f"moves to release {operator.name} with the operator; its objects are kept")


def _check_brought_certificate(config: Config, targets: dict[str, _Target]) -> None:
    """On the gateway edge a certificate brought from another namespace (``tls.secret: namespace/name``) is granted
    to each cluster's Gateway by a ReferenceGrant in that namespace, which helm cannot create in a namespace that
    does not exist: the Secret must be on every cluster with an edge before the releases go in."""
    namespace, name = config.tls.secret_namespace, config.tls.secret_name
    if config.edge != "gateway" or not namespace or not config.tls.enabled:
        return
    for cluster in (config.management_cluster.name, *values.workload_clusters(config)):
        secret = targets[cluster].conn.get("v1", "Secret", name, namespace)
        if secret is None or secret.get("type") != "kubernetes.io/tls":
            what = "is not a kubernetes.io/tls Secret" if secret is not None else "does not exist"
            raise GitopsError(f"tls.secret {namespace}/{name} {what} on cluster {cluster}",
                              hint=f"create it there with kubectl create secret tls {name} -n {namespace} --cert "
                                   "<file> --key <file>, then re-run bootstrap")


def _check_dashboard_auth(config: Config, conn: Any, reporter: Reporter) -> None:
    """Warn when the htpasswd Secret in front of the exposed dashboard is missing or not one the edge reads: the
    dashboard then stays closed (ingress-nginx 503, Envoy Gateway 500) until it is fixed."""
    import base64

    from ..core import htpasswd

    name, key = config.dashboard_auth_secret, htpasswd.KEY[config.edge]
    where = f"Secret {values.TEKTON_NAMESPACE}/{name}"
    secret = conn.get("v1", "Secret", name, values.TEKTON_NAMESPACE)
    raw = ((secret or {}).get("data") or {}).get(key)
    if secret is None:
        why = "does not exist"
    elif not raw:
        why = f"has no {key!r} key"
    else:
        why = htpasswd.problem(base64.b64decode(raw).decode("utf-8", "replace"), edge=config.edge)
    if why:
        reporter.warning(f"the dashboard at tekton.{config.domain} stays closed: {where} {why} (create it with key "
                         f"{key!r} holding `htpasswd -nbs <user> <password>` lines)")


def _dns01(config: Config) -> bool:
    """Whether cert-manager solves DNS-01 through DigitalOcean (it then needs the token in a Secret)."""
    return config.tls.cert_manager and config.tls.challenge == "dns01"


def _dns_token_secret(config: Config, conn: Any, token: Any, reporter: Reporter, *, cluster: str | None = None
                      ) -> Change:
    """The DigitalOcean token of the DNS-01 solver, in a Secret of its own in cert-manager's namespace (the
    ClusterIssuers' cluster resource namespace) of each cluster with cert-manager: never in values, output or
    any other namespace."""
    action = conn.ensure_secret(values.CERT_MANAGER_NAMESPACE, values.DNS_TOKEN_SECRET,
                                string_data={values.DNS_TOKEN_KEY: token.reveal()},
                                labels={**MANAGED_BY, PART_OF: config.name})
    on = f" ({cluster})" if cluster else ""
    return _secret_change(f"{values.CERT_MANAGER_NAMESPACE}/{values.DNS_TOKEN_SECRET}{on}", action,
                          "DigitalOcean token of the DNS-01 solver", reporter)


def _secret_change(name: str, action: str, what: str, reporter: Reporter) -> Change:
    word = {"unchanged": "up to date"}.get(action, action)
    (reporter.success if word == "up to date" else reporter.created)(f"Secret {name} ({what}): {word}")
    return Change("secret", name, word, what)


def _register_clusters(config: Config, targets: dict[str, _Target], deadline: _Deadline,
                       reporter: Reporter) -> list[Change]:
    """Register every cluster but the management one in Argo CD, limited to its environment namespaces.

    In the target cluster: a ServiceAccount with a long-lived token and a Role binding it to
    full access in the environment namespaces only. In the management cluster: an Argo CD
    cluster Secret with that token, scoped to those namespaces (no cluster-wide resources).
    """
    management = targets[config.management_cluster.name]
    changes: list[Change] = []
    for target in targets.values():
        if target is management:
            continue
        conn = target.conn
        namespaces = sorted(e.namespace for e in config.environments if e.cluster == target.name)
        labels = {**MANAGED_BY, PART_OF: config.name}
        objects: list[dict[str, Any]] = [
            {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": MANAGER_SA, "namespace": MANAGER_NAMESPACE, "labels": labels}},
        ]
        for ns in namespaces:
            objects += [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}},
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                 "metadata": {"name": MANAGER_SA, "namespace": ns, "labels": labels},
                 "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                 "metadata": {"name": MANAGER_SA, "namespace": ns, "labels": labels},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": MANAGER_SA},
                 "subjects": [{"kind": "ServiceAccount", "name": MANAGER_SA, "namespace": MANAGER_NAMESPACE}]},
            ]
        for obj in objects:
            action = conn.apply(obj)
            meta = obj["metadata"]
            where = f"{meta['namespace']}/" if meta.get("namespace") else ""
            changes.append(Change(f"{obj['kind']} ({target.name})", where + meta["name"],
                                  {"unchanged": "up to date"}.get(action, action)))
        issued = conn.service_account_token(MANAGER_NAMESPACE, MANAGER_SA,
                                            timeout=min(60.0, deadline.left(f"registering cluster {target.name}")))
        name = values.argocd_cluster_name(config, target.name)
        cluster_config: dict[str, Any] = {"bearerToken": issued.token, "tlsClientConfig": {"insecure": False}}
        ca = conn.ca_data() or issued.ca_data
        if ca:
            cluster_config["tlsClientConfig"]["caData"] = ca
        action = management.conn.ensure_secret(
            ARGOCD_NAMESPACE, f"cluster-{name}",
            string_data={"name": name, "server": conn.server, "namespaces": ",".join(namespaces),
                         "clusterResources": "false", "config": json.dumps(cluster_config, sort_keys=True)},
            labels={**labels, "argocd.argoproj.io/secret-type": "cluster"})
        changes.append(_secret_change(f"{ARGOCD_NAMESPACE}/cluster-{name}", action,
                                      f"Argo CD access to cluster {target.name} ({', '.join(namespaces)})", reporter))
    return changes


# ---------------------------------------------------------------- dry run


def _plan(config: Config, opts: BootstrapOptions, reporter: Reporter) -> BootstrapResult:
    phases: list[PhaseResult] = []
    offline = True
    infra_rows: list[Change] = []
    _check_chart(opts)
    _registry_auth_file(opts)  # the same checks a real run makes
    if config.provider == "digitalocean":
        token = None if opts.offline else infra.resolve_token(opts.token_file, opts.environ)
        try:
            plan = infra.plan(config, token=token, reporter=reporter, kubeconfig=opts.kubeconfig,
                              push_credentials=False, environ=opts.environ)
        except CloudUnreachable as exc:
            raise CloudUnreachable(f"{exc.message}; the plan reads the account with the token it found",
                                   hint="pass --offline for a plan that contacts nothing") from None
        offline = plan.offline
        if plan.offline:
            reporter.warning("--offline: planned as if the account were empty" if opts.offline
                             else "no DigitalOcean token: planned as if the account were empty")
        infra_rows = [Change(r.kind, r.name, r.action, r.reason) for r in plan.rows]
    else:
        for target in _targets(config, opts).values():
            infra_rows.append(Change("cluster", target.name, "keep",
                                     f"existing cluster, context {target.context or '(current)'}"))
    phases.append(PhaseResult("infrastructure", tuple(infra_rows)))

    report = validate_workflow.run(validate_workflow.ValidateOptions(config=opts.config, helm=opts.helm,
                                                                     chart=opts.chart), reporter=reporter)
    platform: list[Change] = []
    handover: list[Change] = []
    for rendered in report.releases:
        if rendered.cluster:  # a workload cluster's releases: below, after the platform's
            continue
        omitted = (f"; charts added at install: {', '.join(rendered.omitted_dependencies)}"
                   if rendered.omitted_dependencies and rendered.phase == "platform" else "")
        count = f"{rendered.objects} object{'s' if rendered.objects != 1 else ''}"
        change = Change("release", rendered.release, "install or upgrade",
                        f"phase {rendered.phase}, namespace {rendered.namespace}, {count} validated{omitted}")
        (handover if rendered.phase == "gitops" else platform).append(change)
        if rendered.phase == "platform" and config.provider == "digitalocean":
            platform.insert(len(platform) - 1, Change(
                "load balancer", values.load_balancer_name(config, config.management_cluster.name),
                "hand over", f"before release {rendered.release}: a LoadBalancer Service of the other edge that "
                f"adopts it is disowned (do-loadbalancer-disown), so that switching to {config.edge} keeps the "
                "load balancer; nothing to do when the edge is unchanged"))
        if rendered.phase == "platform":
            platform.append(Change("secret", f"{CI_NAMESPACE}/{PUSH_SECRET}", "create or keep",
                                   "registry push credentials (read-write), CI namespace only"))
            platform.append(Change("secret", f"{CI_NAMESPACE}/{WEBHOOK_SECRET}", "create or keep",
                                   "git push webhook token"))
            if _dns01(config):
                platform.append(Change("secret", f"{values.CERT_MANAGER_NAMESPACE}/{values.DNS_TOKEN_SECRET}",
                                       "create or keep", "DigitalOcean token of the DNS-01 solver, cert-manager "
                                       "namespace only"))
        if rendered.phase == "gitops":
            continue
        refs = values.readiness_after(config, rendered.phase)
        platform.append(Change("wait", f"phase {rendered.phase}", "wait",
                               f"{len(refs)} object{'s' if len(refs) != 1 else ''} ready before going on"))
    counted = {(r.release, r.cluster): r.objects for r in report.releases if r.cluster}
    for cluster in values.workload_clusters(config):
        for release in values.workload_releases(config):
            n = counted.get((release.name, cluster), 0)
            platform.append(Change("release", f"{release.name} ({cluster})", "install or upgrade",
                                   f"phase {release.phase} on cluster {cluster}: {_workload_what(config, release)}, "
                                   f"namespace {release.namespace}, {n} object{'s' * (n != 1)} validated"))
            if release.phase == values.INGRESS_PHASE and _dns01(config):
                platform.append(Change("secret", f"{values.CERT_MANAGER_NAMESPACE}/{values.DNS_TOKEN_SECRET} "
                                       f"({cluster})", "create or keep", "DigitalOcean token of the DNS-01 solver, "
                                       "cert-manager namespace only"))
    for cluster in reversed(values.workload_clusters(config)):
        name = values.argocd_cluster_name(config, cluster)
        handover.insert(0, Change("cluster", name, "register",
                                  f"Argo CD cluster Secret {ARGOCD_NAMESPACE}/cluster-{name}, access limited to "
                                  "the environment namespaces"))
    phases.append(PhaseResult("platform", tuple(platform)))
    repo_rows, diff_text, app_results = _plan_repository(config, opts, reporter)
    phases.append(PhaseResult("repository", tuple(repo_rows)))
    handover.append(Change("wait", "Argo CD", "wait", "root and platform Applications Synced at the "
                           "repository's commit and Healthy"))
    phases.append(PhaseResult("handover", tuple(handover)))
    results = [*report.results, *app_results]
    invalid = tuple(f"{r.kind} {r.name}: " + "; ".join(f"{p.path}: {p.message}" if p.path else p.message
                                                       for p in r.problems)
                    for r in results if r.status not in ("valid", "skipped"))
    objects = tuple((r.source.split(":", 1)[0], r.kind, f"{r.namespace}/{r.name}" if r.namespace else r.name)
                    for r in results)
    return BootstrapResult(platform=config.name, provider=config.provider, dry_run=True, phases=tuple(phases),
                           offline=offline, invalid_objects=invalid, objects=objects, diff=diff_text)


def _workload_what(config: Config, release: values.Release) -> str:
    """What a workload cluster's release holds, in words."""
    if release.phase == values.INGRESS_PHASE:
        controller = ("Envoy Gateway and the Gateway API CRDs" if config.edge == "gateway"
                      else "the ingress-nginx controller")
        return controller + (" and cert-manager" if config.tls.cert_manager else "")
    parts = (["the Let's Encrypt ClusterIssuers"] if config.tls.cert_manager else []) + (
        ["the cluster's Gateway"] if config.edge == "gateway" else [])
    return " and ".join(parts) or "nothing with this edge (kept for switches)"


def _plan_repository(config: Config, opts: BootstrapOptions, reporter: Reporter):
    """The commit the repository phase would make (offline: against the branch of a local repository,
    else against an empty one), and every app directory rendered with kubectl kustomize and validated."""
    import tempfile

    from ..adapters import kubectl as kubectl_adapter
    from ..adapters import schema
    from ..core import manifests

    source = Path(opts.chart) if opts.chart else chart_dir()
    token = repository.resolve_token(opts.git_token_file, opts.environ)
    remote = repository.remote(config, token, opts.environ)
    targets = {name: _Target(name=name, context="", kubeconfig=None) for name in
               (c.name for c in config.clusters)}
    plan = repository.layout(config, source, _values_by_phase(config, targets, _clone_credentials(remote)),
                             values.chart_version_overrides(config))
    with tempfile.TemporaryDirectory(prefix="kubectl-gitops-plan-") as tmp:
        current = Path(tmp) / "repo"
        against = "the branch's head" if repository.snapshot(remote, config.gitops.branch, current) else None
        changed, diff_text = repository.diff(config, plan, current if against else None)
    where = against or "an empty repository (offline)"
    rows = [Change("commit", f"{remote.shown} {config.gitops.branch}", "commit" if changed else "up to date",
                   f"{len(changed)} file{'s' * (len(changed) != 1)} changed against {where}")]
    rows += [Change("file", rel, "write", "") for rel in changed if "/platform/chart/" not in rel]
    warning = repository.local_url_warning(config)
    if warning:
        reporter.warning(warning)
    reporter.action("rendering the apps' overlays with kubectl kustomize")
    rendered = repository.render_apps(config, plan, kubectl=kubectl_adapter.find_kubectl(environ=opts.environ))
    documents = [d for source_name, text in rendered.rendered
                 for d in manifests.parse_documents(text, source=source_name)]
    registry = schema.SchemaRegistry(kubernetes_version=config.kubernetes_minor)
    return rows, diff_text, schema.validate(documents, registry=registry)
