"""What the DigitalOcean infrastructure of a platform should be, and what to do about it (pure).

From a :class:`~kubectl_gitops.core.config.Config` this module derives the resources the
platform needs (names, tags, DNS hosts) and, given what the account already holds
(:class:`Observed`, or ``None`` for an offline plan), one :class:`Decision` per resource:
create, keep, update or blocked, with the reason in words. No I/O happens here; the
workflow reads the account through the DigitalOcean adapter and carries the decisions out.

Naming, so that a re-run finds everything it made before creating anything:

- every taggable resource (clusters and, through DOKS, their nodes) carries the platform tag
  ``kubectl-gitops:<platform>``;
- clusters are ``<platform>-<cluster>``, node pools ``<cluster>-nodes``;
- load balancers cannot carry tags in DigitalOcean's API, so the platform is in their name:
  ``<platform>-<cluster>-ingress``, matched exactly (with the region);
- kube contexts are ``do-<region>-<platform>-<cluster>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .config import REGISTRY_TIER_REPOSITORIES, Cluster, Config, repositories_per_app

TAG_PREFIX = "kubectl-gitops:"
KINDS = ("registry", "domain", "cluster", "load_balancer", "dns_record", "registry_integration",
         "registry_credentials", "kubeconfig")
ACTIONS = ("create", "keep", "update", "blocked")
TIERS = ("starter", "basic", "professional")
# DigitalOcean tags: letters, digits, colons, dashes and underscores, at most 255 characters.
_TAG = re.compile(r"^[A-Za-z0-9:_\-]{1,255}$")
_GONE_STATES = {"deleting", "deleted"}
_BROKEN_STATES = {"error", "invalid"}
OFFLINE_NOTE = "no token: not checked against the account"


# ------------------------------------------------------------------ names


def platform_tag(config: Config) -> str:
    """The tag every taggable resource of the platform carries."""
    return f"{TAG_PREFIX}{config.name}"


def cluster_name(config: Config, key: str) -> str:
    """DigitalOcean name of the cluster declared as ``clusters.<key>``."""
    return f"{config.name}-{key}"


def node_pool_name(key: str) -> str:
    return f"{key}-nodes"


def load_balancer_name(config: Config, key: str) -> str:
    """Name of the ingress load balancer of cluster ``key`` (the platform's mark on it)."""
    return f"{config.name}-{key}-ingress"


def context_name(config: Config, key: str) -> str:
    """Kube context written for cluster ``key``."""
    cluster = config.cluster(key)
    return cluster.context or f"do-{config.region}-{config.name}-{key}"


def used_clusters(config: Config) -> tuple[Cluster, ...]:
    """The clusters some environment deploys to, in gitops.yaml order."""
    used = {e.cluster for e in config.environments}
    return tuple(c for c in config.clusters if c.name in used)


def required_repositories(config: Config) -> int:
    """Registry repositories the platform needs: per application its image and (unless
    ``registry.layer_cache`` is false) its kaniko layer cache ``<app>/cache``."""
    return len(config.applications) * repositories_per_app(config.registry.layer_cache if config.registry else True)


def _per_app(layer_cache: bool) -> str:
    return "an image and a layer cache" if layer_cache else "an image"


def tier_fits(tier: str, repositories: int) -> bool:
    capacity = REGISTRY_TIER_REPOSITORIES.get(tier)
    return capacity is None or repositories <= capacity


def smallest_fitting_tier(repositories: int) -> str:
    return next(t for t in TIERS if tier_fits(t, repositories))


@dataclass(frozen=True)
class Host:
    """A DNS name the platform serves and the cluster whose load balancer answers it."""

    fqdn: str
    cluster: str
    purposes: tuple[str, ...]


def record_name(fqdn: str, domain: str) -> str | None:
    """``fqdn`` relative to ``domain`` (``@`` for the apex), or None when it lies outside."""
    fqdn, domain = fqdn.lower().rstrip("."), domain.lower().rstrip(".")
    if fqdn == domain:
        return "@"
    if fqdn.endswith("." + domain):
        return fqdn[: -len(domain) - 1]
    return None


def dns_hosts(config: Config) -> tuple[Host, ...]:
    """Every host that needs an A record: Argo CD (and its gRPC host on the gateway edge), the Tekton Dashboard
    (when exposed), the
    webhooks (on the management cluster) and each application host per environment."""
    management = config.management_cluster.name
    wanted: list[tuple[str, str, str]] = [(f"argo.{config.domain}", management, "Argo CD")]
    if config.edge == "gateway":  # the argocd CLI's gRPC has a host of its own on the Gateway
        wanted.append((f"grpc.argo.{config.domain}", management, "Argo CD gRPC"))
    if config.dashboard_expose:
        wanted.append((f"tekton.{config.domain}", management, "Tekton Dashboard"))
    wanted.append((f"hooks.{config.domain}", management, "git push webhooks"))
    for app in config.applications:
        for env_name, host in app.hosts:
            env = next((e for e in config.environments if e.name == env_name), None)
            if env is not None:
                wanted.append((host, env.cluster, f"application {app.name} ({env_name})"))
    hosts: dict[str, tuple[list[str], list[str]]] = {}
    for fqdn, cluster, purpose in wanted:
        fqdn = fqdn.lower().rstrip(".")
        clusters, purposes = hosts.setdefault(fqdn, ([], []))
        if cluster not in clusters:
            clusters.append(cluster)
        purposes.append(purpose)
    return tuple(Host(fqdn, ",".join(clusters), tuple(purposes)) for fqdn, (clusters, purposes) in hosts.items())


# ------------------------------------------------------------------ what the account holds


@dataclass(frozen=True)
class RegistryState:
    name: str
    tier: str
    region: str = ""


@dataclass(frozen=True)
class NodePoolState:
    id: str
    name: str
    size: str
    count: int
    auto_scale: bool = False
    min_nodes: int = 0
    max_nodes: int = 0


@dataclass(frozen=True)
class ClusterState:
    id: str
    name: str
    region: str
    version: str
    state: str
    tags: tuple[str, ...] = ()
    registry_enabled: bool = False
    node_pools: tuple[NodePoolState, ...] = ()
    endpoint: str = ""

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class LoadBalancerState:
    id: str
    name: str
    region: str
    status: str
    ip: str = ""

    @property
    def ready(self) -> bool:
        return self.status == "active" and bool(self.ip)


@dataclass(frozen=True)
class RecordState:
    id: int
    type: str
    name: str
    data: str


@dataclass(frozen=True)
class AccountOptions:
    """What the account may create: regions, node sizes, Kubernetes versions, registry regions."""

    regions: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    versions: tuple[tuple[str, str], ...] = ()  # (slug, kubernetes_version), e.g. ("1.34.1-do.0", "1.34.1")
    registry_regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Observed:
    """A read-only snapshot of the account, as far as the platform is concerned."""

    options: AccountOptions
    registry: RegistryState | None
    clusters: tuple[ClusterState, ...]
    load_balancers: tuple[LoadBalancerState, ...]
    domain_exists: bool
    records: tuple[RecordState, ...] = ()
    registry_name_available: bool | None = None  # None: not asked
    # per DigitalOcean cluster name: the one load balancer DigitalOcean ties to that cluster, for
    # clusters whose ingress load balancer is not found by name (the cloud controller renames a
    # load balancer it adopts unless the Service names it)
    adopted_load_balancers: tuple[tuple[str, LoadBalancerState], ...] = ()


# ------------------------------------------------------------------ what it should hold


@dataclass(frozen=True)
class DesiredPool:
    name: str
    size: str
    count: int
    auto_scale: bool
    min_nodes: int
    max_nodes: int


@dataclass(frozen=True)
class DesiredCluster:
    key: str
    name: str
    region: str
    version: str | None  # DigitalOcean version slug; None in an offline plan
    pool: DesiredPool
    tags: tuple[str, ...]


@dataclass(frozen=True)
class DesiredLoadBalancer:
    key: str
    name: str
    region: str


@dataclass(frozen=True)
class DesiredRecord:
    host: Host
    name: str  # relative to the domain


@dataclass(frozen=True)
class DesiredRegistry:
    name: str
    tier: str
    region: str | None  # None: DigitalOcean's default


@dataclass(frozen=True)
class PlanRow:
    """One resource of the plan: ``action`` is create, keep, update or blocked (or, in a
    provisioning result, created, updated or up to date) and ``reason`` says why."""

    kind: str
    name: str
    action: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "action": self.action, "reason": self.reason}


@dataclass(frozen=True)
class Decision:
    """A plan row plus what the workflow needs to carry it out."""

    row: PlanRow
    key: str = ""  # the gitops.yaml cluster it belongs to, if any
    existing: Any = None
    desired: Any = None
    changes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def action(self) -> str:
        return self.row.action


def resolve_version(minor: str, versions: tuple[tuple[str, str], ...]) -> str | None:
    """The slug of the newest patch of ``minor`` (``"1.34"``) DigitalOcean offers."""
    best: tuple[tuple[int, ...], str] | None = None
    for slug, version in versions:
        parts = version.split(".")
        if ".".join(parts[:2]) != minor:
            continue
        try:
            key = tuple(int(p) for p in parts)
        except ValueError:
            continue
        if best is None or key > best[0]:
            best = (key, slug)
    return best[1] if best else None


def _automatic_tag(tag: str) -> bool:
    """Tags DOKS puts on every cluster by itself (``k8s``, ``k8s:<cluster id>``)."""
    return tag == "k8s" or tag.startswith("k8s:")


def _minors(versions: tuple[tuple[str, str], ...]) -> list[str]:
    seen: list[str] = []
    for _, version in versions:
        minor = ".".join(version.split(".")[:2])
        if minor not in seen:
            seen.append(minor)
    return seen


def desired_pool(cluster: Cluster) -> DesiredPool:
    pool = cluster.node_pool
    auto = pool.autoscale_min is not None and pool.autoscale_max is not None
    count = pool.count
    if auto:
        count = min(max(count, pool.autoscale_min or 1), pool.autoscale_max or count)
    return DesiredPool(
        name=node_pool_name(cluster.name),
        size=pool.size,
        count=count,
        auto_scale=auto,
        min_nodes=pool.autoscale_min or 0,
        max_nodes=pool.autoscale_max or 0,
    )


def _pool_text(pool: DesiredPool) -> str:
    scale = f", autoscaling {pool.min_nodes}..{pool.max_nodes}" if pool.auto_scale else ""
    return f"{pool.count} x {pool.size}{scale}"


# ------------------------------------------------------------------ the decisions


def decide(
    config: Config,
    observed: Observed | None,
    *,
    kubeconfig_rows: Mapping[str, tuple[str, str]] | None = None,
    push_credentials: bool = True,
) -> tuple[Decision, ...]:
    """One decision per resource of the platform, in the order they are listed to users.

    Args:
        config: the platform.
        observed: the account's state; ``None`` plans offline, as if the account were empty.
        kubeconfig_rows: per cluster key, the (action, reason) of its kubeconfig entry (see
            :func:`kubectl_gitops.core.kubeconfig.inspect`); missing keys mean "create".
        push_credentials: whether read-write registry credentials are to be issued.
    """
    offline = observed is None
    decisions: list[Decision] = []
    clusters = used_clusters(config)
    tag = platform_tag(config)

    # registry
    if config.registry is not None:
        decisions.append(_registry(config, observed))

    # domain
    if config.manage_dns:
        decisions.append(_domain(config, observed))

    # clusters
    cluster_states: dict[str, ClusterState | None] = {}
    for cluster in clusters:
        decision = _cluster(config, cluster, observed, tag)
        cluster_states[cluster.name] = decision.existing
        decisions.append(decision)

    # load balancers
    lb_states: dict[str, LoadBalancerState | None] = {}
    for cluster in clusters:
        decision = _load_balancer(config, cluster, observed)
        lb_states[cluster.name] = decision.existing
        decisions.append(decision)

    # DNS records
    if config.manage_dns:
        for host in dns_hosts(config):
            decisions.append(_record(config, host, observed, lb_states))

    # registry integration and credentials
    if config.registry is not None:
        for cluster in clusters:
            name = cluster_name(config, cluster.name)
            state = cluster_states.get(cluster.name)
            if state is not None and state.registry_enabled:
                row = PlanRow("registry_integration", name, "keep",
                              f"cluster pulls from registry {config.registry.name}")
            else:
                why = "read-only pull access for the applications"
                row = PlanRow("registry_integration", name, "create", why)
            decisions.append(Decision(row, key=cluster.name, existing=state))
        if push_credentials:
            expiry = config.registry.credentials_expiry_seconds
            lifetime = f"expire after {expiry} s" if expiry else "never expire"
            decisions.append(Decision(PlanRow(
                "registry_credentials", config.registry.name, "create",
                f"read-write docker credentials for the CI namespace only; issued on each run, {lifetime}")))

    # kubeconfig entries
    for cluster in clusters:
        action, reason = (kubeconfig_rows or {}).get(cluster.name, ("create", "context added to the kubeconfig"))
        decisions.append(Decision(PlanRow("kubeconfig", context_name(config, cluster.name), action, reason),
                                  key=cluster.name))
    if offline:
        decisions = [_offline(d) for d in decisions]
    return tuple(decisions)


def _offline(decision: Decision) -> Decision:
    row = decision.row
    if row.action == "create" and row.kind in {"cluster", "registry", "load_balancer"}:
        row = PlanRow(row.kind, row.name, row.action, f"{row.reason} ({OFFLINE_NOTE})")
        return Decision(row, decision.key, decision.existing, decision.desired, decision.changes)
    return decision


def _registry(config: Config, observed: Observed | None) -> Decision:
    reg = config.registry
    assert reg is not None
    need = required_repositories(config)
    if not tier_fits(reg.tier, need):
        fit = smallest_fitting_tier(need)
        capacity = REGISTRY_TIER_REPOSITORIES[reg.tier]
        return Decision(PlanRow(
            "registry", reg.name, "blocked",
            f"tier {reg.tier} holds {capacity} repositor{'y' if capacity == 1 else 'ies'} but "
            f"{len(config.applications)} applications need {need} ({_per_app(reg.layer_cache)} each): "
            f"set registry.tier to {fit} in gitops.yaml"))
    region = config.region
    if observed is not None:
        region = config.region if config.region in observed.options.registry_regions else None
    desired = DesiredRegistry(reg.name, reg.tier, region)
    where = f"in {region}" if region else "in DigitalOcean's default registry region"
    if observed is None:
        return Decision(PlanRow("registry", reg.name, "create", f"tier {reg.tier}, {where}"), desired=desired)
    current = observed.registry
    if current is None:
        if observed.registry_name_available is False:
            return Decision(PlanRow(
                "registry", reg.name, "blocked",
                f"the registry name {reg.name} is taken at DigitalOcean (registry names are global): "
                "choose another registry.name in gitops.yaml"), desired=desired)
        return Decision(PlanRow("registry", reg.name, "create", f"tier {reg.tier}, {where}"), desired=desired)
    if current.name != reg.name:
        return Decision(PlanRow(
            "registry", reg.name, "blocked",
            f"the account's registry is {current.name} and DigitalOcean allows one per account: set registry.name "
            f"to {current.name} in gitops.yaml, or delete that registry"), existing=current, desired=desired)
    rank = {t: i for i, t in enumerate(TIERS)}
    if not tier_fits(current.tier, need) or rank.get(reg.tier, 0) > rank.get(current.tier, 0):
        return Decision(PlanRow("registry", reg.name, "update",
                                f"tier {current.tier} -> {reg.tier} ({need} repositories)"),
                        existing=current, desired=desired, changes={"tier": reg.tier})
    note = f" (gitops.yaml says {reg.tier}; a registry is never downgraded)" if reg.tier != current.tier else ""
    return Decision(PlanRow("registry", reg.name, "keep", f"tier {current.tier}{note}"),
                    existing=current, desired=desired)


def _domain(config: Config, observed: Observed | None) -> Decision:
    if observed is None:
        if config.create_domain:
            return Decision(PlanRow("domain", config.domain, "create", "dns.create_domain is true"))
        return Decision(PlanRow("domain", config.domain, "keep",
                                f"must already be in the account ({OFFLINE_NOTE})"))
    if observed.domain_exists:
        return Decision(PlanRow("domain", config.domain, "keep", "in the account"))
    if config.create_domain:
        return Decision(PlanRow("domain", config.domain, "create",
                                "dns.create_domain is true; point the registrar at ns1-3.digitalocean.com"))
    return Decision(PlanRow(
        "domain", config.domain, "blocked",
        "not in this DigitalOcean account: add it (Networking > Domains) or set dns.create_domain: true"))


def _cluster(config: Config, cluster: Cluster, observed: Observed | None, tag: str) -> Decision:
    name = cluster_name(config, cluster.name)
    pool = desired_pool(cluster)
    extra_tags = tuple(dict.fromkeys(cluster.tags))
    bad_tags = [t for t in extra_tags if not _TAG.match(t)]
    region = config.region or ""
    tags = (tag, *[t for t in extra_tags if t != tag])

    def blocked(reason: str, existing: ClusterState | None = None) -> Decision:
        return Decision(PlanRow("cluster", name, "blocked", reason), key=cluster.name, existing=existing)

    if not region:
        return blocked("no region: set region in gitops.yaml (for example ams3)")
    if bad_tags:
        return blocked(f"tag(s) {', '.join(bad_tags)} are not valid DigitalOcean tags (letters, digits, ':', '-', "
                       "'_' only): fix clusters." + cluster.name + ".tags")
    if observed is None:
        desired = DesiredCluster(cluster.name, name, region, None, pool, tags)
        return Decision(PlanRow("cluster", name, "create",
                                f"newest Kubernetes {config.kubernetes_minor} patch in {region}, {_pool_text(pool)}"),
                        key=cluster.name, desired=desired)
    existing = next((c for c in observed.clusters if c.name == name), None)
    if existing is None:
        options = observed.options
        if options.regions and region not in options.regions:
            return blocked(f"DigitalOcean offers no Kubernetes in region {region}: choose one of "
                           f"{', '.join(options.regions)}")
        if options.sizes and pool.size not in options.sizes:
            return blocked(f"node size {pool.size} is not offered for Kubernetes: choose one of "
                           f"{', '.join(options.sizes)}")
        version = resolve_version(config.kubernetes_minor, options.versions)
        if version is None:
            return blocked(f"DigitalOcean offers no Kubernetes {config.kubernetes_minor} (it offers "
                           f"{', '.join(_minors(options.versions)) or 'none'}): set kubernetes.version in gitops.yaml")
        desired = DesiredCluster(cluster.name, name, region, version, pool, tags)
        return Decision(PlanRow("cluster", name, "create", f"Kubernetes {version} in {region}, {_pool_text(pool)}"),
                        key=cluster.name, desired=desired)
    desired = DesiredCluster(cluster.name, name, region, existing.version, pool, tags)
    if tag not in existing.tags:
        return blocked(f"a cluster named {name} exists without the tag {tag}, so this platform did not create it: "
                       "delete or rename that cluster, or rename the platform", existing)
    if existing.region != region:
        return blocked(f"the cluster is in {existing.region} but gitops.yaml says {region}: a cluster cannot move; "
                       f"set region back to {existing.region} or tear the platform down first", existing)
    if existing.state in _GONE_STATES:
        return blocked(f"the cluster is being deleted ({existing.state}): wait until it is gone, then re-run", existing)
    if existing.state in _BROKEN_STATES:
        return blocked(f"the cluster is in state {existing.state}: see the DigitalOcean control panel; delete it "
                       "and re-run to create it again", existing)
    changes: dict[str, Any] = {}
    notes: list[str] = []
    missing = [t for t in tags if t not in existing.tags]
    if missing:
        changes["tags"] = tuple(t for t in existing.tags if not _automatic_tag(t)) + tuple(missing)
        notes.append(f"add tag(s) {', '.join(missing)}")
    current_pool = next((p for p in existing.node_pools if p.name == pool.name), None)
    if current_pool is None and len(existing.node_pools) == 1:
        current_pool = existing.node_pools[0]
    if current_pool is not None:
        if current_pool.size != pool.size:
            notes.append(f"nodes are {current_pool.size}, gitops.yaml says {pool.size}: DigitalOcean cannot resize "
                         "a node pool in place (kept)")
        pool_change: dict[str, Any] = {}
        if pool.auto_scale != current_pool.auto_scale or (
            pool.auto_scale and (pool.min_nodes, pool.max_nodes) != (current_pool.min_nodes, current_pool.max_nodes)
        ):
            pool_change.update(auto_scale=pool.auto_scale, min_nodes=pool.min_nodes, max_nodes=pool.max_nodes)
            notes.append(f"autoscaling {pool.min_nodes}..{pool.max_nodes}" if pool.auto_scale else "no autoscaling")
        if not pool.auto_scale and current_pool.count != pool.count:
            pool_change["count"] = pool.count
            notes.append(f"{current_pool.count} -> {pool.count} nodes")
        elif pool.auto_scale and not pool.min_nodes <= current_pool.count <= pool.max_nodes:
            pool_change["count"] = min(max(current_pool.count, pool.min_nodes), pool.max_nodes)
            notes.append(f"{current_pool.count} -> {pool_change['count']} nodes")
        if pool_change:
            changes["node_pool"] = (current_pool, pool_change)
    wanted_minor = config.kubernetes_minor
    have_minor = ".".join(existing.version.split(".")[:2])
    if have_minor != wanted_minor:
        notes.append(f"runs {existing.version}, gitops.yaml says {wanted_minor}: upgrade it from the control panel")
    state = "running" if existing.running else f"{existing.state}: will wait for it"
    if changes:
        return Decision(PlanRow("cluster", name, "update", "; ".join([state, *notes])),
                        key=cluster.name, existing=existing, desired=desired, changes=changes)
    return Decision(PlanRow("cluster", name, "keep", "; ".join([f"{state}, {existing.version}", *notes])),
                    key=cluster.name, existing=existing, desired=desired)


def _load_balancer(config: Config, cluster: Cluster, observed: Observed | None) -> Decision:
    name = load_balancer_name(config, cluster.name)
    region = config.region or ""
    desired = DesiredLoadBalancer(cluster.name, name, region)
    purpose = f"ingress of cluster {cluster_name(config, cluster.name)}; its IP is known before the cluster is ready"
    if not region:
        return Decision(PlanRow("load_balancer", name, "blocked", "no region: set region in gitops.yaml"),
                        key=cluster.name)
    if observed is None:
        return Decision(PlanRow("load_balancer", name, "create", f"in {region}, {purpose}"),
                        key=cluster.name, desired=desired)
    found = [lb for lb in observed.load_balancers if lb.name == name]
    adopted = dict(observed.adopted_load_balancers).get(cluster_name(config, cluster.name))
    if not found and adopted is not None:
        found = [adopted]
    if len(found) > 1:
        ids = ", ".join(lb.id for lb in found)
        return Decision(PlanRow("load_balancer", name, "blocked",
                                f"{len(found)} load balancers are named {name} ({ids}): delete all but one"),
                        key=cluster.name)
    if not found:
        return Decision(PlanRow("load_balancer", name, "create", f"in {region}, {purpose}"),
                        key=cluster.name, desired=desired)
    lb = found[0]
    if lb.region != region:
        return Decision(PlanRow("load_balancer", name, "blocked",
                                f"it is in {lb.region} but gitops.yaml says {region}: delete it or set region back"),
                        key=cluster.name, existing=lb)
    if lb.status == "errored":
        return Decision(PlanRow("load_balancer", name, "blocked",
                                "DigitalOcean reports it errored: delete it and re-run to create it again"),
                        key=cluster.name, existing=lb)
    state = f"active at {lb.ip}" if lb.ready else f"{lb.status}: will wait for its IP"
    if lb.name != name:
        state += f"; the cluster's cloud controller owns it as {lb.name}"
    return Decision(PlanRow("load_balancer", name, "keep", state), key=cluster.name, existing=lb, desired=desired)


def _record(config: Config, host: Host, observed: Observed | None,
            lbs: Mapping[str, LoadBalancerState | None]) -> Decision:
    name = record_name(host.fqdn, config.domain)
    purpose = ", ".join(host.purposes)
    if "," in host.cluster:
        return Decision(PlanRow("dns_record", host.fqdn, "blocked",
                                f"used by environments on different clusters ({host.cluster}): give each its own host"))
    target = f"load balancer {load_balancer_name(config, host.cluster)}"
    if name is None:
        return Decision(PlanRow("dns_record", host.fqdn, "blocked",
                                f"{purpose}: not inside domain {config.domain}, so DigitalOcean DNS cannot hold it; "
                                "use a host under the domain, or set dns.manage: false and point it yourself"))
    desired = DesiredRecord(host, name)
    if observed is None or not observed.domain_exists:
        return Decision(PlanRow("dns_record", host.fqdn, "create", f"A -> {target} ({purpose})"),
                        key=host.cluster, desired=desired)
    lb = lbs.get(host.cluster)
    ip = lb.ip if lb is not None and lb.ready else ""
    same = [r for r in observed.records if r.name == name]
    cnames = [r for r in same if r.type == "CNAME"]
    if cnames:
        return Decision(PlanRow("dns_record", host.fqdn, "blocked",
                                f"has a CNAME record (-> {cnames[0].data}); an A record cannot sit beside it: delete "
                                "the CNAME"), key=host.cluster, desired=desired)
    a_records = [r for r in same if r.type == "A"]
    matching = [r for r in a_records if ip and r.data == ip]
    if matching:
        others = [r.data for r in a_records if r.data != ip]
        note = f"; other A records left alone: {', '.join(others)}" if others else ""
        return Decision(PlanRow("dns_record", host.fqdn, "keep", f"A -> {ip} ({purpose}){note}"),
                        key=host.cluster, existing=matching[0], desired=desired)
    if len(a_records) > 1:
        return Decision(PlanRow("dns_record", host.fqdn, "blocked",
                                f"{len(a_records)} A records ({', '.join(r.data for r in a_records)}): delete all "
                                "but one"), key=host.cluster, desired=desired)
    if a_records:
        return Decision(PlanRow("dns_record", host.fqdn, "update",
                                f"A -> {a_records[0].data} now; will point at {target} ({purpose})"),
                        key=host.cluster, existing=a_records[0], desired=desired)
    return Decision(PlanRow("dns_record", host.fqdn, "create", f"A -> {target} ({purpose})"),
                    key=host.cluster, desired=desired)
