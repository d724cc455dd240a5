"""`kubectl gitops teardown`: delete the platform's DigitalOcean resources, and only those.

Data flow::

    Config + token --plan_teardown--> account check, then reads: clusters carrying the platform
        tag and what DigitalOcean ties to each (load balancers, volumes, snapshots), the ingress
        load balancers by their platform name, the A records of the platform's hosts that point
        at those load balancers, the registry, the tag, the kubeconfig entries marked as ours
        --> TeardownPlan (delete | keep, with the reason)
    TeardownPlan --teardown--> 1. DNS records (while the load balancer IPs still identify them)
        2. clusters with their load balancers and volumes in one request each (selective
           destroy), concurrently; load balancers no cluster owns any more, by id
        3. the registry (only with --delete-registry)  4. the tag, once nothing carries it
        5. the kubeconfig entries (backup, atomic write)
        --> TeardownResult (deleted | already gone | kept)

Anything without the platform tag (or, for load balancers, which DigitalOcean cannot tag,
without the platform's exact name or a tie to a tagged cluster) is never touched. Every step
tolerates what an interrupted run already deleted, so a re-run finishes the job.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..adapters.digitalocean import DigitalOcean
from ..core import infra as model
from ..core import kubeconfig as kubecfg
from ..core.config import Config
from ..core.errors import UsageError
from ..core.progress import Reporter
from ..core.secrets import Secret
from .infra import check_account, default_kubeconfig, locked_reporter, open_api, read_kubeconfig, write_kubeconfig

__all__ = ["TeardownItem", "TeardownPlan", "TeardownResult", "offline_plan", "plan_teardown", "teardown"]


@dataclass(frozen=True)
class TeardownItem:
    """One resource: ``action`` is delete or keep in a plan; deleted, already gone or kept after."""

    kind: str  # dns_record | cluster | load_balancer | volume | volume_snapshot | registry | tag | kubeconfig
    name: str
    action: str
    reason: str
    id: str = ""

    def as_dict(self) -> dict[str, str]:
        data = {"kind": self.kind, "name": self.name, "action": self.action, "reason": self.reason}
        if self.id:
            data["id"] = self.id
        return data


@dataclass(frozen=True)
class _ClusterJob:
    cluster: model.ClusterState
    load_balancers: tuple[str, ...]
    volumes: tuple[str, ...]
    volume_snapshots: tuple[str, ...]


@dataclass(frozen=True)
class TeardownPlan:
    """What teardown would delete and what it leaves alone."""

    platform: str
    kubeconfig: str
    items: tuple[TeardownItem, ...]
    records: tuple[model.RecordState, ...] = field(default=(), repr=False)
    clusters: tuple[_ClusterJob, ...] = field(default=(), repr=False)
    load_balancers: tuple[model.LoadBalancerState, ...] = field(default=(), repr=False)
    delete_registry: bool = False
    tag: str = ""

    @property
    def deletions(self) -> tuple[TeardownItem, ...]:
        return tuple(i for i in self.items if i.action == "delete")

    @property
    def kept(self) -> tuple[TeardownItem, ...]:
        return tuple(i for i in self.items if i.action != "delete")

    def as_dict(self) -> dict[str, Any]:
        return {"platform": self.platform, "kubeconfig": self.kubeconfig,
                "delete": [i.as_dict() for i in self.deletions], "keep": [i.as_dict() for i in self.kept]}


@dataclass(frozen=True)
class TeardownResult:
    platform: str
    rows: tuple[TeardownItem, ...]

    @property
    def deleted(self) -> tuple[TeardownItem, ...]:
        return tuple(r for r in self.rows if r.action == "deleted")

    def as_dict(self) -> dict[str, Any]:
        return {"platform": self.platform, "rows": [r.as_dict() for r in self.rows]}


def _check_provider(config: Config) -> None:
    if config.provider != "digitalocean":
        raise UsageError(f"provider is {config.provider}: teardown removes DigitalOcean infrastructure only",
                         hint="uninstall the platform's helm releases from an existing cluster with helm")


def offline_plan(config: Config, *, kubeconfig: str | None = None, delete_registry: bool = False,
                 environ: Mapping[str, str] | None = None) -> TeardownPlan:
    """What teardown looks for, without a token: every resource of the platform by the name it would
    have, each deleted only if it exists and carries the platform's mark (the account is not read).

    Raises:
        UsageError: the provider is not digitalocean, or the kubeconfig is unreadable.
    """
    _check_provider(config)
    unread = "if it exists (no token: the account was not read)"
    items: list[TeardownItem] = []
    for host in model.dns_hosts(config):
        items.append(TeardownItem("dns_record", host.fqdn, "delete", f"A record of the platform, {unread}"))
    tag = model.platform_tag(config)
    for cluster in model.used_clusters(config):
        items.append(TeardownItem("cluster", model.cluster_name(config, cluster.name), "delete",
                                  f"tagged {tag}, with its load balancers and volumes, {unread}"))
        items.append(TeardownItem("load_balancer", model.load_balancer_name(config, cluster.name), "delete",
                                  f"ingress load balancer of the platform, {unread}"))
    if config.registry:
        items.append(TeardownItem("registry", config.registry.name, "delete" if delete_registry else "keep",
                                  unread if delete_registry else "kept without --delete-registry"))
    items.append(TeardownItem("tag", tag, "delete", "once nothing carries it"))
    path = default_kubeconfig(kubeconfig, environ)
    _, doc = read_kubeconfig(path)
    for context in doc.get("contexts") or []:
        if isinstance(context, dict) and context.get("name") in {model.context_name(config, c.name)
                                                                  for c in model.used_clusters(config)}:
            items.append(TeardownItem("kubeconfig", str(context["name"]), "delete",
                                      f"context in {path} written by bootstrap"))
    return TeardownPlan(platform=config.name, kubeconfig=str(path), items=tuple(items), tag=tag)


def plan_teardown(
    config: Config,
    *,
    token: Secret,
    reporter: Reporter,
    kubeconfig: str | None = None,
    delete_registry: bool = False,
    keep_volumes: bool = False,
    environ: Mapping[str, str] | None = None,
    api: DigitalOcean | None = None,
) -> TeardownPlan:
    """What teardown would delete (reads only).

    Raises:
        UsageError: the provider is not digitalocean, or the kubeconfig is unreadable.
        CloudError: the token was refused or the API failed.
    """
    _check_provider(config)
    api = api or open_api(token, environ)
    check_account(api, reporter)
    tag = model.platform_tag(config)
    path = default_kubeconfig(kubeconfig, environ)
    items: list[TeardownItem] = []

    with ThreadPoolExecutor(max_workers=5) as pool:
        clusters_f = pool.submit(api.clusters)
        lbs_f = pool.submit(api.load_balancers)
        registry_f = pool.submit(api.registry)
        tag_f = pool.submit(api.tag_count, tag)
        domain_f = pool.submit(api.domain_exists, config.domain) if config.manage_dns else None
        tagged = [c for c in clusters_f.result() if tag in c.tags]
        assoc = {c.id: pool.submit(api.associated_resources, c.id) for c in tagged}
        records_f = pool.submit(api.records, config.domain) if domain_f is not None and domain_f.result() else None
        all_lbs = {lb.id: lb for lb in lbs_f.result()}

        jobs: list[_ClusterJob] = []
        owned_lb_ids: set[str] = set()
        cluster_items: list[TeardownItem] = []
        for cluster in tagged:
            if cluster.state in {"deleting", "deleted"}:
                cluster_items.append(TeardownItem("cluster", cluster.name, "keep", "already being deleted",
                                                  cluster.id))
                continue
            res = assoc[cluster.id].result() or {"load_balancers": [], "volumes": [], "volume_snapshots": []}
            lb_ids = tuple(str(x["id"]) for x in res["load_balancers"])
            owned_lb_ids.update(lb_ids)
            vols = tuple(str(x["id"]) for x in res["volumes"])
            snaps = tuple(str(x["id"]) for x in res["volume_snapshots"])
            kept = ""
            if keep_volumes and (vols or snaps):
                kept = f"; its {len(vols) + len(snaps)} volume(s) and snapshot(s) are kept (--keep-volumes)"
            if keep_volumes:
                vols, snaps = (), ()
            parts = [f"{n} {what}" for n, what in ((len(lb_ids), "load balancer(s)"), (len(vols), "volume(s)"),
                                                   (len(snaps), "snapshot(s)")) if n]
            jobs.append(_ClusterJob(cluster, lb_ids, vols, snaps))
            why = (("with " + ", ".join(parts)) if parts else "nothing else is tied to it") + kept
            cluster_items.append(TeardownItem("cluster", cluster.name, "delete", why, cluster.id))
            for x in res["load_balancers"]:
                cluster_items.append(TeardownItem("load_balancer", x.get("name") or x["id"], "delete",
                                                  f"with cluster {cluster.name}", str(x["id"])))
            for kind, key in (("volume", "volumes"), ("volume_snapshot", "volume_snapshots")):
                for x in res[key]:
                    action = "keep" if keep_volumes else "delete"
                    why = "--keep-volumes" if keep_volumes else f"with cluster {cluster.name} (its data is lost)"
                    cluster_items.append(TeardownItem(kind, x.get("name") or x["id"], action, why, str(x["id"])))

        # ingress load balancers by their platform name that no cluster takes along
        names = {model.load_balancer_name(config, c.name) for c in config.clusters}
        orphans = tuple(lb for lb in all_lbs.values()
                        if lb.name in names and lb.region == config.region and lb.id not in owned_lb_ids)
        for lb in orphans:
            cluster_items.append(TeardownItem("load_balancer", lb.name, "delete",
                                              "the platform's ingress load balancer, not owned by a cluster", lb.id))

        # DNS records of the platform's hosts pointing at one of those load balancers
        ips = {lb.ip for lb in all_lbs.values() if lb.ip and (lb.id in owned_lb_ids or lb in orphans)}
        records: list[model.RecordState] = []
        if records_f is not None:
            wanted = {model.record_name(h.fqdn, config.domain): h for h in model.dns_hosts(config)}
            for rec in records_f.result():
                if rec.type == "A" and rec.name in wanted and rec.data in ips:
                    records.append(rec)
                    items.append(TeardownItem("dns_record", wanted[rec.name].fqdn, "delete",
                                              f"A -> {rec.data} ({', '.join(wanted[rec.name].purposes)})",
                                              str(rec.id)))
        items += cluster_items
        registry = registry_f.result()
        tag_count = tag_f.result()

    reg_delete = False
    if config.registry is not None and registry is not None:
        if registry.name != config.registry.name:
            items.append(TeardownItem("registry", registry.name, "keep",
                                      f"not this platform's registry ({config.registry.name})"))
        elif delete_registry:
            reg_delete = True
            items.append(TeardownItem("registry", registry.name, "delete", "--delete-registry: every image in it "
                                                                           "is lost"))
        else:
            items.append(TeardownItem("registry", registry.name, "keep",
                                      "kept with its images; pass --delete-registry to delete it"))
    if tag_count is not None:
        items.append(TeardownItem("tag", tag, "delete", "once nothing carries it"))
    _, doc = read_kubeconfig(path)
    for context in kubecfg.owned_contexts(doc, config.name):
        items.append(TeardownItem("kubeconfig", context, "delete", f"context, cluster and user entries in {path}"))
    return TeardownPlan(platform=config.name, kubeconfig=str(path), items=tuple(items), records=tuple(records),
                        clusters=tuple(jobs), load_balancers=orphans, delete_registry=reg_delete,
                        tag=tag if tag_count is not None else "")


def teardown(
    config: Config,
    plan: TeardownPlan,
    *,
    token: Secret,
    reporter: Reporter,
    environ: Mapping[str, str] | None = None,
    api: DigitalOcean | None = None,
) -> TeardownResult:
    """Delete what ``plan`` lists, in a safe order; resources already gone are fine.

    Raises:
        CloudError: a deletion failed (what was deleted before stays deleted; re-run to finish).
    """
    _check_provider(config)
    reporter = locked_reporter(reporter)
    api = api or open_api(token, environ)
    rows: list[TeardownItem] = []

    def done(item: TeardownItem, deleted: bool) -> None:
        word = "deleted" if deleted else "already gone"
        rows.append(TeardownItem(item.kind, item.name, word, item.reason, item.id))
        (reporter.created if deleted else reporter.success)(f"{item.kind.replace('_', ' ')} {item.name}: {word}")

    by_id = {(i.kind, i.id): i for i in plan.items if i.id}
    # 1. DNS records, while the load balancers still identify them
    for rec in plan.records:
        done(by_id[("dns_record", str(rec.id))], api.delete_record(config.domain, rec))
    # 2. clusters with what they own, and the platform's unowned load balancers, concurrently
    with ThreadPoolExecutor(max_workers=max(1, len(plan.clusters) + len(plan.load_balancers))) as pool:
        cluster_futures = [
            (job, pool.submit(api.delete_cluster, job.cluster, load_balancers=list(job.load_balancers),
                              volumes=list(job.volumes), volume_snapshots=list(job.volume_snapshots)))
            for job in plan.clusters
        ]
        lb_futures = [(lb, pool.submit(api.delete_load_balancer, lb)) for lb in plan.load_balancers]
        first_error: BaseException | None = None
        for job, future in cluster_futures:
            if future.exception() is not None:
                first_error = first_error or future.exception()
                continue
            deleted = future.result()
            done(by_id[("cluster", job.cluster.id)], deleted)
            for kind, ids in (("load_balancer", job.load_balancers), ("volume", job.volumes),
                              ("volume_snapshot", job.volume_snapshots)):
                for rid in ids:
                    done(by_id[(kind, rid)], deleted)
        for lb, future in lb_futures:
            if future.exception() is not None:
                first_error = first_error or future.exception()
                continue
            done(by_id[("load_balancer", lb.id)], future.result())
    if first_error is not None:
        raise first_error
    # 3. the registry, when asked
    if plan.delete_registry and config.registry is not None:
        item = next(i for i in plan.items if i.kind == "registry" and i.action == "delete")
        done(item, api.delete_registry(config.registry.name))
    # 4. the tag, once nothing carries it
    if plan.tag:
        item = next(i for i in plan.items if i.kind == "tag")
        count = api.tag_count(plan.tag)
        if count is None:
            done(item, False)
        elif count == 0:
            done(item, api.delete_tag(plan.tag))
        else:
            rows.append(TeardownItem("tag", plan.tag, "kept", f"still on {count} resource(s); re-run once the "
                                                                "clusters being deleted are gone"))
            reporter.warning(f"tag {plan.tag} kept: still on {count} resource(s)")
    # 5. kubeconfig entries
    contexts = [i for i in plan.items if i.kind == "kubeconfig"]
    if contexts:
        path = Path(plan.kubeconfig)
        _, doc = read_kubeconfig(path)
        new, removed = kubecfg.remove(doc, config.name)
        if removed:
            write_kubeconfig(path, new, reporter)
        gone = {n.split(" ", 1)[1] for n in removed if n.startswith("context ")}
        for item in contexts:
            done(item, item.name in gone)
    for item in plan.kept:
        rows.append(TeardownItem(item.kind, item.name, "kept", item.reason, item.id))
    reporter.success(f"platform {config.name}: {sum(1 for r in rows if r.action == 'deleted')} resource(s) deleted")
    return TeardownResult(platform=config.name, rows=tuple(rows))
