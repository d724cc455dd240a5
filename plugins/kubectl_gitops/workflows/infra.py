"""The DigitalOcean infrastructure of a platform: plan it, provision it (bootstrap's infrastructure phase).

Data flow::

    token --resolve_token--> Secret
    Config --plan--> account check (GET /v2/account) --discovery (concurrent GETs)--> core.infra.Observed
           --core.infra.decide + core.kubeconfig.inspect--> InfraPlan (create | keep | update | blocked)
    InfraPlan --provision--> tasks on threads: registry, domain, each cluster (create, wait running),
           each load balancer (create, wait active), DNS records (after their load balancer), registry
           integration (after the registry and the clusters), push credentials, cluster credentials
           --core.kubeconfig.merge--> kubeconfig (backup, atomic write, mode 0600, only when changed)
           --> InfraResult (created | updated | up to date per resource, access per cluster)

Everything is found by name and platform tag before anything is created, so a re-run after a
failure or a crash at any point continues without creating anything twice, and a re-run on a
provisioned platform sends no write at all.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from ..adapters.digitalocean import DigitalOcean, endpoint_from
from ..core import infra as model
from ..core import inputs
from ..core import kubeconfig as kubecfg
from ..core.config import Config
from ..core.errors import CloudError, GitopsError, InfrastructureBlocked, UsageError, WaitTimedOut
from ..core.files import write_atomic
from ..core.infra import PlanRow
from ..core.progress import Reporter
from ..core.secrets import Secret

__all__ = [
    "ClusterAccess",
    "InfraPlan",
    "InfraResult",
    "PlanRow",
    "default_kubeconfig",
    "issue_push_credentials",
    "open_api",
    "plan",
    "provision",
    "resolve_token",
]

TOKEN_ENV = ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN")
DO_KINDS = {"registry", "domain", "cluster", "load_balancer", "dns_record", "registry_integration"}
REPORT_EVERY = 30.0  # seconds between progress lines of an unchanged wait
BACKUP_SUFFIX = ".kubectl-gitops.bak"
T = TypeVar("T")


# ------------------------------------------------------------------ data handed to callers


@dataclass(frozen=True)
class InfraPlan:
    """The plan: one row per resource. ``offline`` is True when planned with no token, as if
    the account were empty."""

    rows: tuple[PlanRow, ...]
    offline: bool
    decisions: tuple[model.Decision, ...] = field(default=(), repr=False, compare=False)

    @property
    def blocked(self) -> tuple[PlanRow, ...]:
        return tuple(r for r in self.rows if r.action == "blocked")

    @property
    def changes(self) -> tuple[PlanRow, ...]:
        return tuple(r for r in self.rows if r.action in ("create", "update"))

    def as_dict(self) -> dict[str, Any]:
        return {"offline": self.offline, "rows": [r.as_dict() for r in self.rows]}


@dataclass(frozen=True)
class ClusterAccess:
    """How to reach one provisioned cluster."""

    name: str  # cluster name in gitops.yaml
    context: str  # kube context written to the kubeconfig
    kubeconfig: str  # path of the kubeconfig file written/merged
    cluster_id: str
    load_balancer_id: str
    load_balancer_ip: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "context": self.context, "kubeconfig": self.kubeconfig,
                "clusterId": self.cluster_id, "loadBalancerId": self.load_balancer_id,
                "loadBalancerIp": self.load_balancer_ip}


@dataclass(frozen=True)
class InfraResult:
    """What provisioning did: ``rows`` with action created / updated / up to date."""

    rows: tuple[PlanRow, ...]
    clusters: Mapping[str, ClusterAccess]
    registry_push_dockerconfig: Secret | None  # read-write docker config JSON, for the CI namespace only

    @property
    def changed(self) -> bool:
        return any(r.action != "up to date" for r in self.rows)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": [r.as_dict() for r in self.rows],
            "clusters": {k: v.as_dict() for k, v in self.clusters.items()},
            "registryPushCredentials": "issued" if self.registry_push_dockerconfig else None,
        }


# ------------------------------------------------------------------ token, client, kubeconfig path


def resolve_token(token_file: str | None, environ: Mapping[str, str]) -> Secret | None:
    """The DigitalOcean token: ``--token-file`` if given, else ``DIGITALOCEAN_TOKEN``, else
    ``DIGITALOCEAN_ACCESS_TOKEN``; None when there is none.

    Raises:
        UsageError: the token file cannot be read or is empty.
    """
    if token_file:
        path = Path(token_file).expanduser()
        text = inputs.read_text(path, what="--token-file", error=UsageError)
        value = text.strip()
        if not value or len(value.split()) != 1:
            raise UsageError(f"--token-file {path} must hold the DigitalOcean token alone on one line")
        return Secret(value)
    for name in TOKEN_ENV:
        value = (environ.get(name) or "").strip()
        if value:
            return Secret(value)
    return None


def open_api(token: Secret, environ: Mapping[str, str] | None = None) -> DigitalOcean:
    """A DigitalOcean client for ``token`` (endpoint: ``DIGITALOCEAN_API_URL`` or pydo's default)."""
    return DigitalOcean(token, endpoint=endpoint_from(os.environ if environ is None else environ))


def default_kubeconfig(kubeconfig: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """``kubeconfig``, else the first path of ``$KUBECONFIG``, else ``~/.kube/config``."""
    if kubeconfig:
        return Path(kubeconfig).expanduser()
    env = os.environ if environ is None else environ
    for part in (env.get("KUBECONFIG") or "").split(os.pathsep):
        if part.strip():
            return Path(part.strip()).expanduser()
    home = env.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".kube" / "config"


def read_kubeconfig(path: Path) -> tuple[str | None, dict[str, Any]]:
    if not path.exists():
        return None, {}
    text = inputs.read_text(path, what="kubeconfig", error=UsageError)
    return text, kubecfg.loads(text, source=str(path))


def write_kubeconfig(path: Path, new: dict[str, Any], reporter: Reporter) -> bool:
    """Write ``new`` unless the file already says exactly that; back the old file up first."""
    target = path.resolve() if path.is_symlink() else path
    old_text, old = read_kubeconfig(target)
    if old_text is not None and old == new:
        return False
    if old_text is not None:
        backup = target.with_name(target.name + BACKUP_SUFFIX)
        write_atomic(backup, old_text, mode=0o600, overwrite=True)
        reporter.detail(f"previous kubeconfig saved as {backup}")
    write_atomic(target, kubecfg.dumps(new), mode=0o600, overwrite=True)
    return True


def locked_reporter(reporter: Reporter) -> Reporter:
    """The same reporter, safe to call from several threads."""
    lock = threading.Lock()
    emit = reporter.emit

    def locked(symbol: str, message: str) -> None:
        with lock:
            emit(symbol, message)

    return Reporter(emit=locked, verbose=reporter.verbose)


def _elapsed(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


# ------------------------------------------------------------------ discovery and plan


def _discover(config: Config, api: DigitalOcean) -> model.Observed:
    """Read everything the plan depends on, concurrently; reads only (the registry name check
    is a POST that changes nothing, sent only when the registry is still to be created)."""
    with ThreadPoolExecutor(max_workers=5) as pool:
        options = pool.submit(api.options)
        registry = pool.submit(api.registry)
        clusters = pool.submit(api.clusters)
        lbs = pool.submit(api.load_balancers)
        domain = pool.submit(api.domain_exists, config.domain) if config.manage_dns else None
        domain_exists = domain.result() if domain else False
        records = pool.submit(api.records, config.domain) if domain_exists else None
        observed = model.Observed(
            options=options.result(),
            registry=registry.result(),
            clusters=tuple(clusters.result()),
            load_balancers=tuple(lbs.result()),
            domain_exists=domain_exists,
            records=tuple(records.result()) if records else (),
        )
    observed = replace(observed, adopted_load_balancers=_adopted(config, api, observed))
    if config.registry is not None and observed.registry is None:
        available = api.registry_name_available(config.registry.name)
        observed = replace(observed, registry_name_available=available)
    return observed


def _adopted(config: Config, api: DigitalOcean,
             observed: model.Observed) -> tuple[tuple[str, model.LoadBalancerState], ...]:
    """For tagged clusters whose ingress load balancer is not found by name: the one load
    balancer DigitalOcean ties to the cluster, if exactly one (reads only)."""
    tag = model.platform_tag(config)
    names = {lb.name for lb in observed.load_balancers}
    by_id = {lb.id: lb for lb in observed.load_balancers}
    adopted = []
    for cluster in model.used_clusters(config):
        name = model.cluster_name(config, cluster.name)
        state = next((c for c in observed.clusters if c.name == name and tag in c.tags), None)
        if state is None or model.load_balancer_name(config, cluster.name) in names:
            continue
        owned = (api.associated_resources(state.id) or {}).get("load_balancers") or []
        if len(owned) == 1 and str(owned[0]["id"]) in by_id:
            adopted.append((name, by_id[str(owned[0]["id"])]))
    return tuple(adopted)


def _kubeconfig_rows(config: Config, doc: Mapping[str, Any], observed: model.Observed | None,
                     now: float) -> dict[str, tuple[str, str]]:
    rows = {}
    tag = model.platform_tag(config)
    for cluster in model.used_clusters(config):
        name = model.cluster_name(config, cluster.name)
        state = None
        if observed is not None:
            state = next((c for c in observed.clusters if c.name == name and tag in c.tags), None)
        rows[cluster.name] = kubecfg.inspect(doc, context=model.context_name(config, cluster.name),
                                             platform=config.name, cluster_id=state.id if state else None, now=now)
    return rows


def check_account(api: DigitalOcean, reporter: Reporter) -> None:
    account = api.account()
    status = account.get("status") or "active"
    if status == "locked":
        raise CloudError(f"the DigitalOcean account is locked: {account.get('status_message') or 'no reason given'}",
                         hint="resolve it in the DigitalOcean control panel, then re-run")
    if status != "active":
        reporter.warning(f"DigitalOcean account status is {status}: {account.get('status_message') or ''}".rstrip(": "))
    reporter.success(f"DigitalOcean token accepted (account {account.get('email') or account.get('uuid', '')})")


def plan(
    config: Config,
    *,
    token: Secret | None,
    reporter: Reporter,
    kubeconfig: str | None = None,
    push_credentials: bool = True,
    environ: Mapping[str, str] | None = None,
    api: DigitalOcean | None = None,
) -> InfraPlan:
    """Plan the infrastructure, reading only.

    With a token: checks it (account lookup), reads the account and the kubeconfig and says
    per resource what provisioning would do. With no token: plans as if the account were
    empty (``offline``).

    Raises:
        CloudError: the token was refused or the API failed (one line, no secret in it).
        UsageError: the kubeconfig is unreadable.
    """
    if config.provider != "digitalocean":
        return InfraPlan(rows=(), offline=token is None and api is None)
    path = default_kubeconfig(kubeconfig, environ)
    _, doc = read_kubeconfig(path)
    now = time.time()
    if token is None and api is None:
        decisions = model.decide(config, None, kubeconfig_rows=_kubeconfig_rows(config, doc, None, now),
                                 push_credentials=push_credentials)
        return InfraPlan(rows=tuple(d.row for d in decisions), offline=True, decisions=decisions)
    if api is None:
        assert token is not None
        api = open_api(token, environ)
    check_account(api, reporter)
    observed = _discover(config, api)
    decisions = model.decide(config, observed, kubeconfig_rows=_kubeconfig_rows(config, doc, observed, now),
                             push_credentials=push_credentials)
    return InfraPlan(rows=tuple(d.row for d in decisions), offline=False, decisions=decisions)


def issue_push_credentials(config: Config, *, token: Secret, reporter: Reporter,
                           api: DigitalOcean | None = None) -> Secret:
    """Read-write docker credentials for the registry (for the CI namespace only)."""
    if config.registry is None:
        raise UsageError("gitops.yaml declares no registry")
    api = api or open_api(token)
    secret = api.docker_credentials(read_write=True, expiry_seconds=config.registry.credentials_expiry_seconds)
    reporter.created(f"read-write credentials for registry {config.registry.name} issued")
    return secret


# ------------------------------------------------------------------ provisioning


class _Cancelled(Exception):
    """Another task failed: stop waiting."""


class _DependencyFailed(Exception):
    """A task this one needs failed (its own error is reported)."""


class _Run:
    """One provisioning run: the decisions, the tasks carrying them out, and what they did."""

    def __init__(self, config: Config, api: DigitalOcean, decisions: tuple[model.Decision, ...], *,
                 deadline: float, timeout: float, reporter: Reporter, poll_interval: float,
                 kubeconfig: Path, push_credentials: bool) -> None:
        self.config = config
        self.api = api
        self.decisions = decisions
        self.deadline = deadline
        self.timeout = timeout
        self.reporter = reporter
        self.poll = poll_interval
        self.kubeconfig = kubeconfig
        self.push_credentials = push_credentials
        self.cancel = threading.Event()
        self._lock = threading.Lock()
        self.done: dict[tuple[str, str], PlanRow] = {}
        self.by_kind: dict[str, list[model.Decision]] = {}
        for d in decisions:
            self.by_kind.setdefault(d.row.kind, []).append(d)

    # ---- helpers

    def one(self, kind: str, key: str | None = None) -> model.Decision | None:
        for d in self.by_kind.get(kind, []):
            if key is None or d.key == key:
                return d
        return None

    def record(self, kind: str, name: str, action: str, reason: str) -> None:
        with self._lock:
            self.done[(kind, name)] = PlanRow(kind, name, action, reason)
        text = f"{kind.replace('_', ' ')} {name}: {action}" + (f" ({reason})" if reason else "")
        (self.reporter.success if action == "up to date" else self.reporter.created)(text)

    @staticmethod
    def need(future: Future[T]) -> T:
        try:
            return future.result()
        except BaseException as exc:
            raise _DependencyFailed() from exc

    def wait_for(self, what: str, fetch: Callable[[], T | None], ready: Callable[[T], bool],
                 describe: Callable[[T], str], broken: Callable[[T], str | None]) -> T:
        """Poll ``fetch`` until ``ready``; progress with elapsed time; bounded by the deadline."""
        started = time.monotonic()
        last_text, last_report = "", 0.0
        while True:
            if self.cancel.is_set():
                raise _Cancelled()
            state = fetch()
            if state is None:
                raise GitopsError(f"{what} disappeared while waiting for it",
                                  hint="someone deleted it; re-run to create it again")
            if ready(state):
                self.reporter.success(f"{what}: {describe(state)} after {_elapsed(time.monotonic() - started)}")
                return state
            problem = broken(state)
            if problem:
                raise GitopsError(f"{what} {problem}", hint="see the DigitalOcean control panel; delete it and "
                                                           "re-run to create it again")
            now = time.monotonic()
            text = describe(state)
            if text != last_text or now - last_report >= REPORT_EVERY:
                self.reporter.waiting(f"{what}: {text} ({_elapsed(now - started)})")
                last_text, last_report = text, now
            if now >= self.deadline:
                raise WaitTimedOut(f"{what} is still {text} after {_elapsed(now - started)} "
                                   f"(--timeout {_elapsed(self.timeout)})",
                                   hint="re-run with a larger --timeout; nothing is created twice")
            if self.cancel.wait(min(self.poll, max(0.0, self.deadline - now))):
                raise _Cancelled()

    # ---- tasks

    def registry(self) -> model.RegistryState | None:
        d = self.one("registry")
        if d is None:
            return None
        desired: model.DesiredRegistry = d.desired
        if d.action == "create":
            state = self.api.create_registry(desired.name, desired.tier, desired.region)
            self.record("registry", desired.name, "created", f"tier {state.tier or desired.tier}")
            return state
        if d.action == "update":
            self.api.update_registry_tier(d.changes["tier"])
            self.record("registry", desired.name, "updated", d.row.reason)
            return d.existing
        self.record("registry", desired.name, "up to date", d.row.reason)
        return d.existing

    def domain(self) -> None:
        d = self.one("domain")
        if d is None:
            return
        if d.action == "create":
            self.api.create_domain(self.config.domain)
            self.record("domain", self.config.domain, "created", "point the registrar at ns1-3.digitalocean.com")
        else:
            self.record("domain", self.config.domain, "up to date", "")

    def cluster(self, key: str) -> model.ClusterState:
        d = self.one("cluster", key)
        assert d is not None
        name = d.row.name
        if d.action == "create":
            state = self.api.create_cluster(d.desired)
            self.record("cluster", name, "created", f"Kubernetes {state.version} in {state.region}")
        elif d.action == "update":
            state = d.existing
            if "tags" in d.changes:
                self.api.update_cluster_tags(state, d.changes["tags"])
            if "node_pool" in d.changes:
                pool, change = d.changes["node_pool"]
                self.api.update_node_pool(state, pool, change)
            self.record("cluster", name, "updated", d.row.reason)
        else:
            state = d.existing
            self.record("cluster", name, "up to date", f"{state.version} in {state.region}")
        if state.running:
            return state
        return self.wait_for(
            f"cluster {name}", lambda: self.api.cluster(state.id), lambda c: c.running,
            lambda c: c.state, lambda c: f"is in state {c.state}" if c.state in {"error", "deleted", "deleting"}
            else None)

    def load_balancer(self, key: str) -> model.LoadBalancerState:
        d = self.one("load_balancer", key)
        assert d is not None
        name = d.row.name
        if d.action == "create":
            lb = self.api.create_load_balancer(d.desired)
            self.record("load_balancer", name, "created", f"in {d.desired.region}")
        else:
            lb = d.existing
            self.record("load_balancer", name, "up to date", f"{lb.status} {lb.ip}".strip())
        if lb.ready:
            return lb
        return self.wait_for(
            f"load balancer {name}", lambda: self.api.load_balancer(lb.id), lambda x: x.ready,
            lambda x: f"active at {x.ip}" if x.ready else x.status if x.status != "active" else "active, no IP yet",
            lambda x: "is errored" if x.status == "errored" else None)

    def dns_record(self, d: model.Decision, domain: Future[None], lb: Future[model.LoadBalancerState]) -> None:
        self.need(domain)
        ip = self.need(lb).ip
        desired: model.DesiredRecord = d.desired
        existing: model.RecordState | None = d.existing
        if existing is not None and existing.data == ip:
            self.record("dns_record", d.row.name, "up to date", f"A -> {ip}")
        elif existing is not None:
            self.api.update_a_record(self.config.domain, existing, ip)
            self.record("dns_record", d.row.name, "updated", f"A -> {ip} (was {existing.data})")
        else:
            self.api.create_a_record(self.config.domain, desired.name, ip)
            self.record("dns_record", d.row.name, "created", f"A -> {ip}")

    def integration(self, registry: Future[Any], clusters: Mapping[str, Future[model.ClusterState]]) -> None:
        self.need(registry)
        states = {key: self.need(f) for key, f in clusters.items()}
        decisions = {d.key: d for d in self.by_kind.get("registry_integration", [])}
        pending = [states[k] for k, d in decisions.items() if d.action != "keep" and k in states
                   and not states[k].registry_enabled]
        if pending:
            self.api.add_registry_to_clusters([c.id for c in pending])
        for key, d in decisions.items():
            state = states[key]
            if any(c.id == state.id for c in pending):
                self.record("registry_integration", d.row.name, "created", "read-only pull for the applications")
            else:
                self.record("registry_integration", d.row.name, "up to date", "")

    def credentials(self, registry: Future[Any]) -> Secret:
        self.need(registry)
        assert self.config.registry is not None
        secret = self.api.docker_credentials(read_write=True,
                                             expiry_seconds=self.config.registry.credentials_expiry_seconds)
        d = self.one("registry_credentials")
        self.record("registry_credentials", self.config.registry.name, "created",
                    d.row.reason if d else "read-write, CI namespace only")
        return secret

    def cluster_credentials(self, key: str, cluster: Future[model.ClusterState]) -> kubecfg.ClusterCredentials | None:
        state = self.need(cluster)
        d = self.one("kubeconfig", key)
        assert d is not None
        if d.action == "keep":
            return None
        return self.api.cluster_credentials(state, context=d.row.name, platform=self.config.name, key=key)

    # ---- the whole run

    def run(self) -> tuple[dict[str, ClusterAccess], Secret | None]:
        keys = [c.name for c in model.used_clusters(self.config)]
        record_decisions = self.by_kind.get("dns_record", [])
        workers = 4 + 3 * len(keys) + len(record_decisions)
        errors: list[BaseException] = []
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="infra") as pool:
            def submit(fn: Callable[..., T], *args: Any) -> Future[T]:
                def guarded() -> T:
                    try:
                        return fn(*args)
                    except (_Cancelled, _DependencyFailed):
                        raise
                    except BaseException as exc:
                        with self._lock:
                            errors.append(exc)
                        self.cancel.set()
                        raise
                return pool.submit(guarded)

            registry = submit(self.registry)
            domain = submit(self.domain)
            clusters = {k: submit(self.cluster, k) for k in keys}
            lbs = {k: submit(self.load_balancer, k) for k in keys}
            records = [submit(self.dns_record, d, domain, lbs[d.key]) for d in record_decisions]
            integration = submit(self.integration, registry, clusters) if self.config.registry else None
            push = submit(self.credentials, registry) if self.config.registry and self.push_credentials else None
            creds = {k: submit(self.cluster_credentials, k, clusters[k]) for k in keys}
            everything = [registry, domain, *clusters.values(), *lbs.values(), *records, *creds.values()]
            everything += [f for f in (integration, push) if f is not None]
            for future in everything:
                future.exception()
        fetched = [f.result() for f in creds.values() if f.exception() is None and f.result() is not None]
        self._merge_kubeconfig(fetched, keys)
        if errors:
            raise errors[0]
        access = {}
        for key in keys:
            d = self.one("kubeconfig", key)
            assert d is not None
            cluster, lb = clusters[key].result(), lbs[key].result()
            access[key] = ClusterAccess(name=key, context=d.row.name, kubeconfig=str(self.kubeconfig),
                                        cluster_id=cluster.id, load_balancer_id=lb.id, load_balancer_ip=lb.ip)
        return access, (push.result() if push is not None else None)

    def _merge_kubeconfig(self, fetched: list[kubecfg.ClusterCredentials], keys: list[str]) -> None:
        by_key = {c.cluster: c for c in fetched}
        _, doc = read_kubeconfig(self.kubeconfig)
        management = model.context_name(self.config, self.config.management_cluster.name)
        new = kubecfg.merge(doc, fetched, current=management if fetched else None)
        written = write_kubeconfig(self.kubeconfig, new, self.reporter) if fetched else False
        for key in keys:
            d = self.one("kubeconfig", key)
            assert d is not None
            if key in by_key:
                self.record("kubeconfig", d.row.name, "updated" if d.action == "update" else "created",
                            f"in {self.kubeconfig}")
            elif d.action == "keep":
                self.record("kubeconfig", d.row.name, "up to date", d.row.reason)
        if written:
            self.reporter.detail(f"kubeconfig {self.kubeconfig} written (mode 0600)")


def provision(
    config: Config,
    *,
    token: Secret,
    kubeconfig: str | None,
    timeout: float,
    reporter: Reporter,
    push_credentials: bool = True,
    environ: Mapping[str, str] | None = None,
    api: DigitalOcean | None = None,
    poll_interval: float = 5.0,
) -> InfraResult:
    """Create or adopt everything the platform needs on DigitalOcean; a re-run changes nothing.

    Args:
        config: the platform (provider digitalocean).
        token: the DigitalOcean API token.
        kubeconfig: kubeconfig file to merge the clusters into (None: $KUBECONFIG's first path
            or ~/.kube/config).
        timeout: seconds the waits for clusters and load balancers may take in all.
        reporter: progress.
        push_credentials: issue read-write registry credentials (a new set on every call; pass
            False when the CI namespace already holds valid ones).
        environ: environment for ``DIGITALOCEAN_API_URL``, ``KUBECONFIG`` and ``HOME``.
        api: a ready client (tests, benchmarks); default one for ``token``.
        poll_interval: seconds between two looks at a resource being made ready.

    Raises:
        InfrastructureBlocked: some resource cannot be provisioned (nothing was changed).
        CloudError: the API refused a request or could not be reached (one line, no secret).
        WaitTimedOut: a cluster or load balancer was not ready in time (re-run to continue).
    """
    if config.provider != "digitalocean":
        raise UsageError(f"provider is {config.provider}: there is no DigitalOcean infrastructure to provision")
    deadline = time.monotonic() + timeout
    reporter = locked_reporter(reporter)
    api = api or open_api(token, environ)
    path = default_kubeconfig(kubeconfig, environ)
    infra_plan = plan(config, token=token, reporter=reporter, kubeconfig=str(path),
                      push_credentials=push_credentials, environ=environ, api=api)
    if infra_plan.blocked:
        rows = "; ".join(f"{r.kind} {r.name}: {r.reason}" for r in infra_plan.blocked)
        raise InfrastructureBlocked(f"the infrastructure cannot be provisioned: {rows}", rows=infra_plan.blocked,
                                    hint="nothing was changed")
    if any(r.kind in DO_KINDS for r in infra_plan.changes):
        tag = model.platform_tag(config)
        if api.tag_count(tag) is None:  # the first write doubles as the check that the token may write
            api.create_tag(tag)
    run = _Run(config, api, infra_plan.decisions, deadline=deadline, timeout=timeout, reporter=reporter,
               poll_interval=poll_interval, kubeconfig=path, push_credentials=push_credentials)
    clusters, push = run.run()
    order = {(r.kind, r.name): i for i, r in enumerate(infra_plan.rows)}
    rows = tuple(sorted(run.done.values(), key=lambda r: order.get((r.kind, r.name), len(order))))
    changed = sum(1 for r in rows if r.action != "up to date")
    if changed:
        reporter.success(f"infrastructure of {config.name}: {changed} change(s), {len(rows) - changed} up to date")
    else:
        reporter.success(f"infrastructure of {config.name}: every resource up to date")
    return InfraResult(rows=rows, clusters=clusters, registry_push_dockerconfig=push)
