"""Platforms and account snapshots for the infrastructure workflow tests.

- ``platform_yaml(...)``: a gitops.yaml text for provider digitalocean (two clusters dev/prod by
  default, two applications with hosts), ``load_platform(text, tmp_path)`` loads it through the
  real config loader;
- ``inventory(fake)``: what the fake account holds, by name, so two accounts can be compared
  (ids and timestamps left out): registry, clusters with tags and node pools, load balancers,
  DNS records per domain, tags with their members' names;
- ``fast_api(fake, token=None)``: the project's DigitalOcean adapter for the fake with a retry
  policy that records its pauses instead of sleeping (``api.retry.sleep.pauses``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from .server import FakeDigitalOcean


def platform_yaml(
    *,
    name: str = "shop",
    domain: str = "shop.example.com",
    region: str = "fra1",
    registry: str = "shop-images",
    tier: str = "basic",
    shared_cluster: bool = False,
    apps: int = 2,
    create_domain: bool = False,
    manage_dns: bool = True,
    dashboard: bool = False,
    expiry: int = 3600,
) -> str:
    lines = [
        "apiVersion: gitops.kubectl.dev/v1alpha1",
        "kind: Platform",
        f"name: {name}",
        "provider: digitalocean",
        f"region: {region}",
        f"domain: {domain}",
        "kubernetes: {version: \"1.34\"}",
        f"registry: {{name: {registry}, tier: {tier}, credentials_expiry_seconds: {expiry}}}",
        f"dns: {{manage: {str(manage_dns).lower()}, create_domain: {str(create_domain).lower()}}}",
        "clusters:",
        "  dev:",
        "    node_pool: {size: s-2vcpu-4gb, count: 2}",
    ]
    if not shared_cluster:
        lines += ["  prod:", "    node_pool: {size: s-4vcpu-8gb, count: 3, autoscale: {min: 3, max: 5}}",
                  "    tags: [production]"]
    lines += ["environments:", "  dev: {cluster: dev}"]
    lines += [f"  prod: {{cluster: {'dev' if shared_cluster else 'prod'}}}"]
    lines += ["gitops: {repo: https://github.com/example/shop-gitops}"]
    if dashboard:
        lines += ["platform:", "  tekton_dashboard: {expose: true, auth_secret: dashboard-auth}"]
    if apps:
        lines.append("applications:")
        for i in range(apps):
            app = f"app{i}"
            lines += [f"  {app}:", f"    git: https://github.com/example/{app}",
                      f"    hosts: {{dev: {app}.dev.{domain}, prod: {app}.{domain}}}"]
    return "\n".join(lines) + "\n"


def load_platform(text: str, directory: Path):
    from kubectl_gitops.adapters import config_file

    path = directory / "gitops.yaml"
    path.write_text(text)
    return config_file.load(path)


class PauseRecorder:
    """A ``sleep`` that only remembers how long it was asked to pause."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)


def fast_api(fake: FakeDigitalOcean, token: str | None = None, *, attempts: int = 4):
    from kubectl_gitops.adapters.digitalocean import DigitalOcean, RetryPolicy
    from kubectl_gitops.core.secrets import Secret

    return DigitalOcean(Secret(token or fake.token), retry=RetryPolicy(attempts=attempts, sleep=PauseRecorder()))


def inventory(fake: FakeDigitalOcean) -> dict[str, Any]:
    """The account by name, comparable across runs (duplicates show up as counts above 1)."""
    acct = fake.account
    with fake._lock:
        clusters = Counter(c["name"] for c in acct.clusters.values())
        lbs = Counter((lb["name"], lb["_region"]) for lb in acct.load_balancers.values())
        names = {("kubernetes", cid): c["name"] for cid, c in acct.clusters.items()}
        names.update({("load_balancer", lid): lb["name"] for lid, lb in acct.load_balancers.items()})
        ips = {lb["_ip"]: lb["name"] for lb in acct.load_balancers.values()}
        return {
            "registry": None if acct.registry is None else (acct.registry["name"], acct.registry["tier"]),
            "clusters": {
                c["name"]: {
                    "count": clusters[c["name"]],
                    "region": c["region"],
                    "version": c["version"],
                    "tags": sorted(t for t in c["tags"] if not t.startswith("k8s")),
                    "registry": c["registry_enabled"],
                    "pools": sorted((p["name"], p["size"], p["count"], p["auto_scale"]) for p in c["_pools"]),
                }
                for c in acct.clusters.values()
            },
            "load_balancers": {f"{n}@{r}": count for (n, r), count in lbs.items()},
            "records": {
                domain: sorted(
                    (r["type"], r["name"], ips.get(r["data"], r["data"]))
                    for r in recs if r["type"] not in {"SOA", "NS"}
                )
                for domain, recs in acct.records.items()
            },
            "tags": {
                tag: sorted(names.get(m, f"{m[0]}:{m[1]}") for m in members)
                for tag, members in acct.tags.items()
                if not tag.startswith("k8s")
            },
        }


def tagged(fake: FakeDigitalOcean, tag: str) -> list[tuple[str, str]]:
    """(kind, id) of every resource carrying ``tag``."""
    with fake._lock:
        return sorted(fake.account.tags.get(tag, set()))


def writes(fake: FakeDigitalOcean) -> list[str]:
    """``METHOD path`` of every POST/PUT/PATCH/DELETE the fake saw, except the registry name check
    (a POST that changes nothing)."""
    return [f"{r.method} {r.path}" for r in fake.log
            if r.method in {"POST", "PUT", "PATCH", "DELETE"} and r.operation_id != "registry_validate_name"]
