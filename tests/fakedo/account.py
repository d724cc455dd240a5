"""The state of one fake DigitalOcean account and the handlers that serve its API.

Each handler receives a ``Call`` (path parameters, query, JSON body) and returns a ``Reply``.
Handlers run with the account lock held; they never sleep. Status fields that change over time
(clusters ``provisioning`` -> ``running``, load balancers ``new`` -> ``active``) are computed on
read from the creation time and the account's clock, so no background thread is needed.
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import json
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .clock import rfc3339

API_ROOT = "https://api.digitalocean.com"

ERROR_IDS = {
    400: ("bad_request", "The request could not be understood."),
    401: ("unauthorized", "Unable to authenticate you."),
    403: ("forbidden", "You do not have access for the attempted action."),
    404: ("not_found", "The resource you were accessing could not be found."),
    406: ("not_acceptable", "The requested content type is not available."),
    409: ("conflict", "The request conflicts with the current state of the resource."),
    412: ("precondition_failed", "A precondition of the request is not met."),
    422: ("unprocessable_entity", "The request could not be processed."),
    429: ("too_many_requests", "API Rate limit exceeded."),
    500: ("server_error", "Server was unable to give you a response."),
    502: ("bad_gateway", "Server received an invalid response."),
    503: ("service_unavailable", "The service is temporarily unavailable."),
    504: ("gateway_timeout", "The server did not respond in time."),
}

KUBERNETES_REGIONS = [
    ("New York 1", "nyc1"),
    ("New York 3", "nyc3"),
    ("San Francisco 3", "sfo3"),
    ("Amsterdam 3", "ams3"),
    ("Singapore 1", "sgp1"),
    ("London 1", "lon1"),
    ("Frankfurt 1", "fra1"),
    ("Toronto 1", "tor1"),
    ("Bangalore 1", "blr1"),
    ("Sydney 1", "syd1"),
]
KUBERNETES_VERSIONS = [("1.34.1-do.0", "1.34.1"), ("1.33.5-do.0", "1.33.5"), ("1.32.9-do.0", "1.32.9")]
KUBERNETES_SIZES = [
    ("s-1vcpu-2gb", "s-1vcpu-2gb"),
    ("s-2vcpu-2gb", "s-2vcpu-2gb"),
    ("s-2vcpu-4gb", "s-2vcpu-4gb"),
    ("s-4vcpu-8gb", "s-4vcpu-8gb"),
    ("s-8vcpu-16gb", "s-8vcpu-16gb"),
]
REGISTRY_REGIONS = ["nyc3", "sfo3", "ams3", "sgp1", "fra1"]
REGISTRY_TIERS = {
    "starter": dict(
        name="Starter",
        slug="starter",
        included_repositories=1,
        included_storage_bytes=524288000,
        allow_storage_overage=False,
        included_bandwidth_bytes=524288000,
        monthly_price_in_cents=0,
        storage_overage_price_in_cents=0,
    ),
    "basic": dict(
        name="Basic",
        slug="basic",
        included_repositories=5,
        included_storage_bytes=5368709120,
        allow_storage_overage=True,
        included_bandwidth_bytes=5368709120,
        monthly_price_in_cents=500,
        storage_overage_price_in_cents=2,
    ),
    "professional": dict(
        name="Professional",
        slug="professional",
        included_repositories=0,
        included_storage_bytes=107374182400,
        allow_storage_overage=True,
        included_bandwidth_bytes=107374182400,
        monthly_price_in_cents=2000,
        storage_overage_price_in_cents=2,
    ),
}
DEFAULT_DURATIONS = {"cluster": 360.0, "node_pool": 240.0, "load_balancer": 90.0}
_RECORD_TYPES = {"A", "AAAA", "CAA", "CNAME", "MX", "NS", "SOA", "SRV", "TXT"}
_REGISTRY_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_DOMAIN_NAME = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class ApiError(Exception):
    """Raised by a handler to answer with DigitalOcean's error body."""

    def __init__(self, status: int, message: str | None = None, error_id: str | None = None):
        default_id, default_message = ERROR_IDS.get(status, ("error", "Error."))
        super().__init__(message or default_message)
        self.status = status
        self.error_id = error_id or default_id
        self.message = message or default_message


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def q_int(self, name: str, default: int) -> int:
        value = self.q(name)
        return int(value) if value not in (None, "") else default

    def q_bool(self, name: str) -> bool:
        return (self.q(name) or "").lower() in {"true", "1"}


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    # Real seconds the server waits before answering (scripted-latency mode); slept outside the lock.
    delay: float = 0.0


Handler = Callable[["Account", Call], Reply]
ROUTES: list[tuple[str, str, str]] = []  # (method, spec path template, handler name)


def route(method: str, template: str):
    def deco(fn):
        ROUTES.append((method, template, fn.__name__))
        return fn

    return deco


def _new_id() -> str:
    return str(uuid.uuid4())


def _fake_ip(n: int) -> str:
    return f"203.0.113.{(n % 250) + 2}"


def paginate(call: Call, items: list[Any], key: str) -> dict[str, Any]:
    """DigitalOcean's page/per_page pagination with ``links.pages`` and ``meta.total``."""
    per_page = call.q_int("per_page", 20)
    page = call.q_int("page", 1)
    total = len(items)
    last = max(1, -(-total // per_page))
    start = (page - 1) * per_page
    extra = [(k, v) for k, vs in call.query.items() if k not in {"page", "per_page"} for v in vs]

    def link(n: int) -> str:
        return f"{API_ROOT}{call.path}?{urlencode([*extra, ('page', n), ('per_page', per_page)])}"

    pages: dict[str, str] = {}
    if page > 1:
        pages["first"] = link(1)
        pages["prev"] = link(min(page - 1, last))
    if page < last:
        pages["next"] = link(page + 1)
        pages["last"] = link(last)
    return {
        key: items[start : start + per_page],
        "links": {"pages": pages} if pages else {},
        "meta": {"total": total},
    }


class Account:
    """One DigitalOcean account: every resource the fake knows, keyed by id or name."""

    def __init__(self, clock, durations: dict[str, float], sleeps: dict[str, float]):
        self.clock = clock
        self.durations = {**DEFAULT_DURATIONS, **durations}
        self.sleeps = dict(sleeps)
        self.info = {
            "droplet_limit": 25,
            "floating_ip_limit": 3,
            "email": "ops@example.com",
            "name": "Example Ops",
            "uuid": _new_id(),
            "email_verified": True,
            "status": "active",
            "status_message": "",
            "team": {"uuid": _new_id(), "name": "Example Team"},
        }
        self.registry: dict[str, Any] | None = None
        self.taken_registry_names: set[str] = set()
        self.issued_registry_credentials: list[dict[str, Any]] = []
        self.clusters: dict[str, dict[str, Any]] = {}
        self.load_balancers: dict[str, dict[str, Any]] = {}
        self.domains: dict[str, dict[str, Any]] = {}
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.tags: dict[str, set[tuple[str, str]]] = {}
        self.volumes: dict[str, dict[str, Any]] = {}
        self.kube_endpoint: dict[str, str] = {}
        self._seq = 0
        self._record_seq = 1000

    # -- helpers ---------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now()

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _ready(self, obj: dict[str, Any], kind: str) -> bool:
        return self.now() >= obj["_created"] + self.durations.get(kind, 0.0)

    def _tag(self, names: list[str], kind: str, rid: str) -> None:
        for name in names:
            self.tags.setdefault(name, set()).add((kind, rid))

    def _untag_all(self, kind: str, rid: str) -> None:
        for members in self.tags.values():
            members.discard((kind, rid))

    def _sleep_for(self, kind: str) -> float:
        return float(self.sleeps.get(kind, 0.0))

    # -- account -----------------------------------------------------------------------------
    @route("GET", "/v2/account")
    def get_account(self, call: Call) -> Reply:
        return Reply(200, {"account": copy.deepcopy(self.info)})

    # -- container registry ------------------------------------------------------------------
    def _registry_view(self) -> dict[str, Any]:
        reg = self.registry
        assert reg is not None
        return {
            "name": reg["name"],
            "created_at": rfc3339(reg["_created"]),
            "region": reg["region"],
            "storage_usage_bytes": 0,
            "storage_usage_bytes_updated_at": rfc3339(self.now()),
            "subscription": self._subscription_view(),
        }

    def _subscription_view(self) -> dict[str, Any]:
        reg = self.registry
        assert reg is not None
        return {
            "tier": dict(REGISTRY_TIERS[reg["tier"]]),
            "created_at": rfc3339(reg["_created"]),
            "updated_at": rfc3339(reg["_tier_updated"]),
        }

    def _need_registry(self) -> dict[str, Any]:
        if self.registry is None:
            raise ApiError(404, "registry not found")
        return self.registry

    def seed_registry(self, name: str, tier: str = "basic", region: str = "fra1") -> dict[str, Any]:
        now = self.now()
        self.registry = {"name": name, "tier": tier, "region": region, "_created": now, "_tier_updated": now}
        self.taken_registry_names.add(name)
        return self._registry_view()

    @route("GET", "/v2/registry")
    def get_registry(self, call: Call) -> Reply:
        self._need_registry()
        return Reply(200, {"registry": self._registry_view()})

    @route("POST", "/v2/registry")
    def create_registry(self, call: Call) -> Reply:
        body = call.body
        name = body["name"]
        if self.registry is not None:
            raise ApiError(409, "a registry already exists for this account", "conflict")
        if not _REGISTRY_NAME.match(name):
            raise ApiError(422, "registry name must be lowercase alphanumerics and dashes, at most 63")
        if name in self.taken_registry_names:
            raise ApiError(409, "registry name is not available", "conflict")
        region = body.get("region") or "nyc3"
        self.seed_registry(name, body["subscription_tier_slug"], region)
        return Reply(201, {"registry": self._registry_view()}, delay=self._sleep_for("registry"))

    @route("POST", "/v2/registry/validate-name")
    def validate_registry_name(self, call: Call) -> Reply:
        name = (call.body or {}).get("name") or ""
        if name in self.taken_registry_names:
            raise ApiError(409, "registry name is not available", "conflict")
        return Reply(204)

    @route("DELETE", "/v2/registry")
    def delete_registry(self, call: Call) -> Reply:
        self._need_registry()
        self.registry = None
        for cluster in self.clusters.values():
            cluster["registry_enabled"] = False
        return Reply(204)

    @route("GET", "/v2/registry/subscription")
    def get_subscription(self, call: Call) -> Reply:
        self._need_registry()
        return Reply(200, {"subscription": self._subscription_view()})

    @route("POST", "/v2/registry/subscription")
    def update_subscription(self, call: Call) -> Reply:
        reg = self._need_registry()
        tier = (call.body or {}).get("tier_slug")
        if tier is None:
            raise ApiError(422, "tier_slug is required")
        reg["tier"] = tier
        reg["_tier_updated"] = self.now()
        return Reply(200, {"subscription": self._subscription_view()})

    @route("GET", "/v2/registry/options")
    def registry_options(self, call: Call) -> Reply:
        current = self.registry["tier"] if self.registry else None
        tiers = []
        for slug, tier in REGISTRY_TIERS.items():
            eligible = slug != current
            tiers.append(
                {
                    **tier,
                    "eligible": eligible,
                    "eligibility_reasons": [] if eligible else ["OverRepositoryLimit"],
                }
            )
        return Reply(200, {"options": {"available_regions": list(REGISTRY_REGIONS), "subscription_tiers": tiers}})

    @route("GET", "/v2/registry/docker-credentials")
    def docker_credentials(self, call: Call) -> Reply:
        self._need_registry()
        read_write = call.q_bool("read_write")
        expiry = call.q_int("expiry_seconds", 0)
        token = f"dop_v1_{'rw' if read_write else 'ro'}{secrets.token_hex(31)}"
        self.issued_registry_credentials.append(
            {"read_write": read_write, "expiry_seconds": expiry, "token": token, "issued_at": self.now()}
        )
        auth = base64.b64encode(f"{token}:{token}".encode()).decode()
        return Reply(200, {"auths": {"registry.digitalocean.com": {"auth": auth}}})

    # -- kubernetes ----------------------------------------------------------------------------
    @route("GET", "/v2/kubernetes/options")
    def kubernetes_options(self, call: Call) -> Reply:
        return Reply(
            200,
            {
                "options": {
                    "regions": [{"name": n, "slug": s} for n, s in KUBERNETES_REGIONS],
                    "versions": [
                        {"slug": s, "kubernetes_version": k, "supported_features": ["cluster-autoscaler"]}
                        for s, k in KUBERNETES_VERSIONS
                    ],
                    "sizes": [{"name": n, "slug": s} for n, s in KUBERNETES_SIZES],
                }
            },
        )

    def _new_pool(self, spec: dict[str, Any], cluster_tags: list[str], created: float) -> dict[str, Any]:
        pool = {
            "id": _new_id(),
            "name": spec.get("name") or f"pool-{secrets.token_hex(3)}",
            "size": spec.get("size"),
            "count": int(spec.get("count", 1)),
            "tags": list(dict.fromkeys([*cluster_tags, *spec.get("tags", [])])),
            "labels": spec.get("labels"),
            "taints": spec.get("taints", []),
            "auto_scale": bool(spec.get("auto_scale", False)),
            "min_nodes": int(spec.get("min_nodes", 0)),
            "max_nodes": int(spec.get("max_nodes", 0)),
            "_created": created,
            "_nodes": [],
        }
        self._resize_pool(pool)
        return pool

    def _check_pool_spec(self, spec: dict[str, Any]) -> None:
        if spec.get("size") not in {s for _, s in KUBERNETES_SIZES}:
            raise ApiError(422, f"validation error: invalid size {spec.get('size')!r}")
        if not spec.get("name"):
            raise ApiError(422, "validation error: node pool name is required")
        if int(spec.get("count", 0)) < 1 and not spec.get("auto_scale"):
            raise ApiError(422, "validation error: node pool count must be at least 1")

    def _resize_pool(self, pool: dict[str, Any]) -> None:
        nodes = pool["_nodes"]
        while len(nodes) < pool["count"]:
            nodes.append(
                {
                    "id": _new_id(),
                    "name": f"{pool['name']}-{secrets.token_hex(2)}",
                    "droplet_id": str(400000000 + self._next()),
                    "_created": self.now(),
                }
            )
        del nodes[pool["count"] :]

    def _pool_view(self, pool: dict[str, Any]) -> dict[str, Any]:
        view = {k: copy.deepcopy(v) for k, v in pool.items() if not k.startswith("_")}
        view["nodes"] = [
            {
                "id": n["id"],
                "name": n["name"],
                "droplet_id": n["droplet_id"],
                "status": {"state": "running" if self._ready(n, "node_pool") else "provisioning"},
                "created_at": rfc3339(n["_created"]),
                "updated_at": rfc3339(n["_created"]),
            }
            for n in pool["_nodes"]
        ]
        return view

    def _cluster_state(self, c: dict[str, Any]) -> str:
        if c.get("_state_override"):
            return c["_state_override"]
        return "running" if self._ready(c, "cluster") else "provisioning"

    def _cluster_view(self, c: dict[str, Any]) -> dict[str, Any]:
        state = self._cluster_state(c)
        view = {k: copy.deepcopy(v) for k, v in c.items() if not k.startswith("_")}
        view["node_pools"] = [self._pool_view(p) for p in c["_pools"]]
        view["status"] = {
            "state": state,
            "message": "Cluster is ready" if state == "running" else "Cluster is provisioning",
        }
        ready = state == "running"
        view["ipv4"] = c["_ipv4"] if ready else ""
        view["updated_at"] = rfc3339(max(c["_created"], c["_updated"]))
        return view

    def _need_cluster(self, cluster_id: str) -> dict[str, Any]:
        cluster = self.clusters.get(cluster_id)
        if cluster is None:
            raise ApiError(404)
        return cluster

    def seed_cluster(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a cluster in state (the POST handler and the test seeding helper share it)."""
        cid = _new_id()
        now = self.now()
        tags = list(dict.fromkeys(["k8s", f"k8s:{cid}", *body.get("tags", [])]))
        cluster = {
            "id": cid,
            "name": body["name"],
            "region": body["region"],
            "version": body["version"],
            "cluster_subnet": body.get("cluster_subnet", "10.244.0.0/16"),
            "service_subnet": body.get("service_subnet", "10.245.0.0/16"),
            "vpc_uuid": body.get("vpc_uuid", _new_id()),
            "endpoint": f"https://{cid}.k8s.ondigitalocean.com",
            "tags": tags,
            "maintenance_policy": {
                "start_time": "00:00",
                "duration": "4h0m0s",
                "day": "any",
                **(body.get("maintenance_policy") or {}),
            },
            "auto_upgrade": bool(body.get("auto_upgrade", False)),
            "surge_upgrade": bool(body.get("surge_upgrade", False)),
            "ha": bool(body.get("ha", False)),
            "registry_enabled": False,
            "created_at": rfc3339(now),
            "_created": now,
            "_updated": now,
            "_ipv4": _fake_ip(self._next()),
            "_pools": [],
        }
        cluster["_pools"] = [self._new_pool(p, tags, now) for p in body["node_pools"]]
        self.clusters[cid] = cluster
        self._tag(tags, "kubernetes", cid)
        return cluster

    @route("POST", "/v2/kubernetes/clusters")
    def create_cluster(self, call: Call) -> Reply:
        body = call.body
        if body["region"] not in {s for _, s in KUBERNETES_REGIONS}:
            raise ApiError(422, f"validation error: invalid region {body['region']!r}")
        if body["version"] not in {s for s, _ in KUBERNETES_VERSIONS} | {"latest"}:
            raise ApiError(422, f"validation error: invalid version {body['version']!r}")
        if any(c["name"] == body["name"] for c in self.clusters.values()):
            raise ApiError(422, "a cluster with this name already exists")
        if not body["node_pools"]:
            raise ApiError(422, "validation error: at least one node pool is required")
        for pool in body["node_pools"]:
            self._check_pool_spec(pool)
        if body["version"] == "latest":
            body = {**body, "version": KUBERNETES_VERSIONS[0][0]}
        cluster = self.seed_cluster(body)
        return Reply(201, {"kubernetes_cluster": self._cluster_view(cluster)}, delay=self._sleep_for("cluster"))

    @route("GET", "/v2/kubernetes/clusters")
    def list_clusters(self, call: Call) -> Reply:
        items = [self._cluster_view(c) for c in self.clusters.values()]
        return Reply(200, paginate(call, items, "kubernetes_clusters"))

    @route("GET", "/v2/kubernetes/clusters/{cluster_id}")
    def get_cluster(self, call: Call) -> Reply:
        return Reply(200, {"kubernetes_cluster": self._cluster_view(self._need_cluster(call.params["cluster_id"]))})

    @route("PUT", "/v2/kubernetes/clusters/{cluster_id}")
    def update_cluster(self, call: Call) -> Reply:
        cluster = self._need_cluster(call.params["cluster_id"])
        body = call.body
        cid = cluster["id"]
        for key in ("name", "auto_upgrade", "surge_upgrade", "ha"):
            if key in body:
                cluster[key] = body[key]
        if "maintenance_policy" in body and body["maintenance_policy"]:
            cluster["maintenance_policy"].update(body["maintenance_policy"])
        if "tags" in body:
            self._untag_all("kubernetes", cid)
            cluster["tags"] = list(dict.fromkeys(["k8s", f"k8s:{cid}", *body["tags"]]))
            self._tag(cluster["tags"], "kubernetes", cid)
        cluster["_updated"] = self.now()
        return Reply(202, {"kubernetes_cluster": self._cluster_view(cluster)})

    def _delete_cluster(self, cid: str) -> None:
        self.clusters.pop(cid)
        self._untag_all("kubernetes", cid)
        for lb in self.load_balancers.values():
            if lb.get("_cluster") == cid:
                lb["_cluster"] = None
        for vol in self.volumes.values():
            if vol.get("_cluster") == cid:
                vol["_cluster"] = None

    @route("DELETE", "/v2/kubernetes/clusters/{cluster_id}")
    def delete_cluster(self, call: Call) -> Reply:
        self._need_cluster(call.params["cluster_id"])
        self._delete_cluster(call.params["cluster_id"])
        return Reply(204)

    def _associated(self, cid: str) -> dict[str, list[dict[str, str]]]:
        lbs = [{"id": lb["id"], "name": lb["name"]} for lb in self.load_balancers.values() if lb.get("_cluster") == cid]
        vols = [{"id": v["id"], "name": v["name"]} for v in self.volumes.values() if v.get("_cluster") == cid]
        return {"load_balancers": lbs, "volumes": vols, "volume_snapshots": []}

    @route("GET", "/v2/kubernetes/clusters/{cluster_id}/destroy_with_associated_resources")
    def list_associated(self, call: Call) -> Reply:
        self._need_cluster(call.params["cluster_id"])
        return Reply(200, self._associated(call.params["cluster_id"]))

    @route("DELETE", "/v2/kubernetes/clusters/{cluster_id}/destroy_with_associated_resources/dangerous")
    def destroy_dangerous(self, call: Call) -> Reply:
        cid = call.params["cluster_id"]
        self._need_cluster(cid)
        assoc = self._associated(cid)
        self._delete_cluster(cid)
        for lb in assoc["load_balancers"]:
            self._delete_lb(lb["id"])
        for vol in assoc["volumes"]:
            self.volumes.pop(vol["id"], None)
        return Reply(204)

    @route("DELETE", "/v2/kubernetes/clusters/{cluster_id}/destroy_with_associated_resources/selective")
    def destroy_selective(self, call: Call) -> Reply:
        cid = call.params["cluster_id"]
        self._need_cluster(cid)
        body = call.body or {}
        for lb_id in body.get("load_balancers", []):
            if lb_id not in self.load_balancers:
                raise ApiError(404, f"load balancer {lb_id} not found")
        self._delete_cluster(cid)
        for lb_id in body.get("load_balancers", []):
            self._delete_lb(lb_id)
        for vol_id in body.get("volumes", []):
            self.volumes.pop(vol_id, None)
        return Reply(204)

    def _credentials(self, cluster: dict[str, Any], expiry: int) -> dict[str, Any]:
        ep = {**self.kube_endpoint, **cluster.get("_kube_endpoint", {})}
        if "_token" not in cluster:
            cluster["_token"] = f"doks_{secrets.token_hex(24)}"
        ca = (
            ep.get("certificate_authority_data")
            or base64.b64encode(b"-----BEGIN CERTIFICATE-----\nZmFrZWRvIENB\n-----END CERTIFICATE-----\n").decode()
        )
        return {
            "server": ep.get("server", cluster["endpoint"]),
            "certificate_authority_data": ca,
            "client_certificate_data": None,
            "client_key_data": None,
            "token": ep.get("token", cluster["_token"]),
            "expires_at": rfc3339(self.now() + (expiry or 7 * 24 * 3600)),
        }

    @route("GET", "/v2/kubernetes/clusters/{cluster_id}/credentials")
    def get_credentials(self, call: Call) -> Reply:
        cluster = self._need_cluster(call.params["cluster_id"])
        return Reply(200, self._credentials(cluster, call.q_int("expiry_seconds", 0)))

    @route("GET", "/v2/kubernetes/clusters/{cluster_id}/kubeconfig")
    def get_kubeconfig(self, call: Call) -> Reply:
        cluster = self._need_cluster(call.params["cluster_id"])
        accept = call.headers.get("Accept", "*/*")
        if "yaml" not in accept and "*/*" not in accept:
            raise ApiError(406, "the kubeconfig is only available as application/yaml")
        cred = self._credentials(cluster, call.q_int("expiry_seconds", 0))
        name = f"do-{cluster['region']}-{cluster['name']}"
        text = "\n".join(
            [
                "apiVersion: v1",
                "kind: Config",
                "clusters:",
                f"- name: {name}",
                "  cluster:",
                f"    server: {cred['server']}",
                f"    certificate-authority-data: {cred['certificate_authority_data']}",
                "contexts:",
                f"- name: {name}",
                "  context:",
                f"    cluster: {name}",
                f"    user: {name}-admin",
                f"current-context: {name}",
                "users:",
                f"- name: {name}-admin",
                "  user:",
                f"    token: {cred['token']}",
                "",
            ]
        )
        return Reply(200, text, content_type="application/yaml")

    @route("GET", "/v2/kubernetes/clusters/{cluster_id}/node_pools")
    def list_pools(self, call: Call) -> Reply:
        cluster = self._need_cluster(call.params["cluster_id"])
        return Reply(200, {"node_pools": [self._pool_view(p) for p in cluster["_pools"]]})

    def _need_pool(self, call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
        cluster = self._need_cluster(call.params["cluster_id"])
        for pool in cluster["_pools"]:
            if pool["id"] == call.params["node_pool_id"]:
                return cluster, pool
        raise ApiError(404)

    @route("GET", "/v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}")
    def get_pool(self, call: Call) -> Reply:
        return Reply(200, {"node_pool": self._pool_view(self._need_pool(call)[1])})

    @route("POST", "/v2/kubernetes/clusters/{cluster_id}/node_pools")
    def add_pool(self, call: Call) -> Reply:
        cluster = self._need_cluster(call.params["cluster_id"])
        self._check_pool_spec(call.body)
        if any(p["name"] == call.body["name"] for p in cluster["_pools"]):
            raise ApiError(422, "a node pool with this name already exists")
        pool = self._new_pool(call.body, cluster["tags"], self.now())
        cluster["_pools"].append(pool)
        return Reply(201, {"node_pool": self._pool_view(pool)})

    @route("PUT", "/v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}")
    def update_pool(self, call: Call) -> Reply:
        _, pool = self._need_pool(call)
        for key in ("name", "count", "labels", "taints", "auto_scale", "min_nodes", "max_nodes"):
            if key in call.body:
                pool[key] = call.body[key]
        if "tags" in call.body:
            pool["tags"] = list(call.body["tags"])
        self._resize_pool(pool)
        return Reply(202, {"node_pool": self._pool_view(pool)})

    @route("DELETE", "/v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}")
    def delete_pool(self, call: Call) -> Reply:
        cluster, pool = self._need_pool(call)
        cluster["_pools"].remove(pool)
        return Reply(204)

    def _registry_clusters(self, call: Call, enabled: bool) -> Reply:
        uuids = (call.body or {}).get("cluster_uuids") or []
        if enabled:
            self._need_registry()
        for cid in uuids:
            self._need_cluster(cid)
        for cid in uuids:
            self.clusters[cid]["registry_enabled"] = enabled
        return Reply(204)

    @route("POST", "/v2/kubernetes/registry")
    def add_registry(self, call: Call) -> Reply:
        return self._registry_clusters(call, True)

    @route("DELETE", "/v2/kubernetes/registry")
    def remove_registry(self, call: Call) -> Reply:
        return self._registry_clusters(call, False)

    # -- load balancers ------------------------------------------------------------------------
    def seed_load_balancer(self, body: dict[str, Any], cluster_id: str | None = None) -> dict[str, Any]:
        lid = _new_id()
        now = self.now()
        region = body.get("region", "nyc3")
        lb = {
            "id": lid,
            "name": body.get("name") or f"lb-{secrets.token_hex(4)}",
            "project_id": body.get("project_id", self.info["uuid"]),
            "size_unit": body.get("size_unit", 1),
            "size": body.get("size", "lb-small"),
            "algorithm": body.get("algorithm", "round_robin"),
            "created_at": rfc3339(now),
            "forwarding_rules": copy.deepcopy(body.get("forwarding_rules", [])),
            "health_check": body.get("health_check")
            or {
                "protocol": "http",
                "port": 80,
                "path": "/",
                "check_interval_seconds": 10,
                "response_timeout_seconds": 5,
                "healthy_threshold": 5,
                "unhealthy_threshold": 3,
            },
            "sticky_sessions": body.get("sticky_sessions") or {"type": "none"},
            "redirect_http_to_https": bool(body.get("redirect_http_to_https", False)),
            "enable_proxy_protocol": bool(body.get("enable_proxy_protocol", False)),
            "enable_backend_keepalive": bool(body.get("enable_backend_keepalive", False)),
            "http_idle_timeout_seconds": body.get("http_idle_timeout_seconds", 60),
            "vpc_uuid": body.get("vpc_uuid", _new_id()),
            "disable_lets_encrypt_dns_records": bool(body.get("disable_lets_encrypt_dns_records", False)),
            "network": body.get("network", "EXTERNAL"),
            "network_stack": body.get("network_stack", "IPV4"),
            "type": body.get("type", "REGIONAL"),
            "tls_cipher_policy": body.get("tls_cipher_policy", "DEFAULT"),
            "droplet_ids": list(body.get("droplet_ids", [])),
            "_region": region,
            "_created": now,
            "_ip": _fake_ip(self._next()),
            "_cluster": cluster_id,
            "_status_override": None,
        }
        if "tag" in body:
            lb["tag"] = body["tag"]
        if body.get("firewall"):
            lb["firewall"] = body["firewall"]
        self.load_balancers[lid] = lb
        return lb

    def _lb_view(self, lb: dict[str, Any]) -> dict[str, Any]:
        view = {k: copy.deepcopy(v) for k, v in lb.items() if not k.startswith("_")}
        status = lb["_status_override"] or ("active" if self._ready(lb, "load_balancer") else "new")
        view["status"] = status
        view["ip"] = lb["_ip"] if status == "active" else ""
        view["region"] = {
            "name": lb["_region"],
            "slug": lb["_region"],
            "sizes": ["s-1vcpu-1gb"],
            "features": ["load_balancers"],
            "available": True,
        }
        return view

    def _need_lb(self, lb_id: str) -> dict[str, Any]:
        lb = self.load_balancers.get(lb_id)
        if lb is None:
            raise ApiError(404)
        return lb

    def _delete_lb(self, lb_id: str) -> None:
        self.load_balancers.pop(lb_id, None)
        self._untag_all("load_balancer", lb_id)

    @route("POST", "/v2/load_balancers")
    def create_lb(self, call: Call) -> Reply:
        if not call.body.get("forwarding_rules"):
            raise ApiError(422, "at least one forwarding rule is required")
        lb = self.seed_load_balancer(call.body)
        return Reply(202, {"load_balancer": self._lb_view(lb)})

    @route("GET", "/v2/load_balancers")
    def list_lbs(self, call: Call) -> Reply:
        items = [self._lb_view(lb) for lb in self.load_balancers.values()]
        return Reply(200, paginate(call, items, "load_balancers"))

    @route("GET", "/v2/load_balancers/{lb_id}")
    def get_lb(self, call: Call) -> Reply:
        return Reply(200, {"load_balancer": self._lb_view(self._need_lb(call.params["lb_id"]))})

    @route("PUT", "/v2/load_balancers/{lb_id}")
    def update_lb(self, call: Call) -> Reply:
        lb = self._need_lb(call.params["lb_id"])
        for key, value in call.body.items():
            if key == "region":
                lb["_region"] = value
            elif key in lb and not key.startswith("_") and key not in {"id", "created_at"}:
                lb[key] = copy.deepcopy(value)
        return Reply(200, {"load_balancer": self._lb_view(lb)})

    @route("DELETE", "/v2/load_balancers/{lb_id}")
    def delete_lb(self, call: Call) -> Reply:
        self._need_lb(call.params["lb_id"])
        self._delete_lb(call.params["lb_id"])
        return Reply(204)

    # -- domains -------------------------------------------------------------------------------
    def seed_domain(self, name: str, ip_address: str | None = None) -> dict[str, Any]:
        self.domains[name] = {"name": name, "ttl": 1800, "_created": self.now()}
        records = [
            self._make_record({"type": "SOA", "name": "@", "data": "1800", "ttl": 1800}),
            *(
                self._make_record({"type": "NS", "name": "@", "data": f"ns{i}.digitalocean.com", "ttl": 1800})
                for i in (1, 2, 3)
            ),
        ]
        if ip_address:
            records.append(self._make_record({"type": "A", "name": "@", "data": ip_address, "ttl": 1800}))
        self.records[name] = records
        return self._domain_view(name)

    def _domain_view(self, name: str) -> dict[str, Any]:
        lines = [f"$ORIGIN {name}.", "$TTL 1800"]
        for rec in self.records.get(name, []):
            lines.append(f"{rec['name']} {rec['ttl']} IN {rec['type']} {rec['data']}")
        return {"name": name, "ttl": self.domains[name]["ttl"], "zone_file": "\n".join(lines) + "\n"}

    def _need_domain(self, name: str) -> None:
        if name not in self.domains:
            raise ApiError(404)

    @route("POST", "/v2/domains")
    def create_domain(self, call: Call) -> Reply:
        name = (call.body.get("name") or "").lower().rstrip(".")
        if not _DOMAIN_NAME.match(name):
            raise ApiError(422, "Name is invalid")
        if name in self.domains:
            raise ApiError(422, "Name already in use")
        ip = call.body.get("ip_address")
        if ip:
            _check_ip(ip, 4)
        view = self.seed_domain(name, ip)
        return Reply(201, {"domain": view}, delay=self._sleep_for("domain"))

    @route("GET", "/v2/domains")
    def list_domains(self, call: Call) -> Reply:
        items = [self._domain_view(n) for n in sorted(self.domains)]
        return Reply(200, paginate(call, items, "domains"))

    @route("GET", "/v2/domains/{domain_name}")
    def get_domain(self, call: Call) -> Reply:
        self._need_domain(call.params["domain_name"])
        return Reply(200, {"domain": self._domain_view(call.params["domain_name"])})

    @route("DELETE", "/v2/domains/{domain_name}")
    def delete_domain(self, call: Call) -> Reply:
        self._need_domain(call.params["domain_name"])
        self.domains.pop(call.params["domain_name"])
        self.records.pop(call.params["domain_name"], None)
        return Reply(204)

    def _make_record(self, body: dict[str, Any]) -> dict[str, Any]:
        self._record_seq += 1
        rtype = body["type"]
        return {
            "id": self._record_seq,
            "type": rtype,
            "name": body.get("name", "@"),
            "data": body.get("data", ""),
            "priority": body.get("priority"),
            "port": body.get("port"),
            "ttl": body.get("ttl") or 1800,
            "weight": body.get("weight"),
            "flags": body.get("flags"),
            "tag": body.get("tag"),
        }

    def _validate_record(self, body: dict[str, Any]) -> None:
        rtype = body.get("type")
        if rtype not in _RECORD_TYPES:
            raise ApiError(422, f"Type {rtype!r} is not a supported record type")
        if rtype in {"SOA"}:
            raise ApiError(422, "SOA records cannot be created")
        if not body.get("data"):
            raise ApiError(422, "Data needs to be provided")
        if rtype == "A":
            _check_ip(body["data"], 4)
        if rtype == "AAAA":
            _check_ip(body["data"], 6)
        if rtype in {"MX", "SRV"} and body.get("priority") is None:
            raise ApiError(422, "Priority needs to be provided")

    @route("GET", "/v2/domains/{domain_name}/records")
    def list_records(self, call: Call) -> Reply:
        domain = call.params["domain_name"]
        self._need_domain(domain)
        items = list(self.records[domain])
        name = call.q("name")
        if name is not None:
            # The filter takes a fully qualified name ("www.example.com"), not the relative "www".
            items = [r for r in items if _fqdn(r["name"], domain) == name.rstrip(".")]
        rtype = call.q("type")
        if rtype is not None:
            items = [r for r in items if r["type"] == rtype]
        return Reply(200, paginate(call, [dict(r) for r in items], "domain_records"))

    @route("POST", "/v2/domains/{domain_name}/records")
    def create_record(self, call: Call) -> Reply:
        domain = call.params["domain_name"]
        self._need_domain(domain)
        self._validate_record(call.body)
        record = self._make_record(call.body)
        self.records[domain].append(record)
        return Reply(201, {"domain_record": dict(record)}, delay=self._sleep_for("dns_record"))

    def _need_record(self, call: Call) -> dict[str, Any]:
        domain = call.params["domain_name"]
        self._need_domain(domain)
        try:
            rid = int(call.params["domain_record_id"])
        except ValueError:
            raise ApiError(404) from None
        for rec in self.records[domain]:
            if rec["id"] == rid:
                return rec
        raise ApiError(404)

    @route("GET", "/v2/domains/{domain_name}/records/{domain_record_id}")
    def get_record(self, call: Call) -> Reply:
        return Reply(200, {"domain_record": dict(self._need_record(call))})

    def _update_record(self, call: Call) -> Reply:
        rec = self._need_record(call)
        merged = {**rec, **{k: v for k, v in call.body.items() if k != "id"}}
        self._validate_record(merged)
        rec.update(merged)
        return Reply(200, {"domain_record": dict(rec)})

    @route("PUT", "/v2/domains/{domain_name}/records/{domain_record_id}")
    def put_record(self, call: Call) -> Reply:
        return self._update_record(call)

    @route("PATCH", "/v2/domains/{domain_name}/records/{domain_record_id}")
    def patch_record(self, call: Call) -> Reply:
        return self._update_record(call)

    @route("DELETE", "/v2/domains/{domain_name}/records/{domain_record_id}")
    def delete_record(self, call: Call) -> Reply:
        rec = self._need_record(call)
        self.records[call.params["domain_name"]].remove(rec)
        return Reply(204)

    # -- tags ------------------------------------------------------------------------------------
    def _tag_view(self, name: str) -> dict[str, Any]:
        members = self.tags[name]
        resources: dict[str, Any] = {"count": len(members)}
        if members:
            resources["last_tagged_uri"] = _resource_uri(*sorted(members)[-1])
        for kind, key in (
            ("droplet", "droplets"),
            ("image", "imgages"),
            ("volume", "volumes"),
            ("volume_snapshot", "volume_snapshots"),
            ("database", "databases"),
        ):
            ids = sorted(rid for k, rid in members if k == kind)
            entry: dict[str, Any] = {"count": len(ids)}
            if ids:
                entry["last_tagged_uri"] = _resource_uri(kind, ids[-1])
            resources[key] = entry
        return {"name": name, "resources": resources}

    def _need_tag(self, name: str) -> None:
        if name not in self.tags:
            raise ApiError(404)

    @route("POST", "/v2/tags")
    def create_tag(self, call: Call) -> Reply:
        name = call.body.get("name") or ""
        if not re.fullmatch(r"[A-Za-z0-9:_\-]{1,255}", name):
            raise ApiError(422, "tag name may contain letters, numbers, colons, dashes and underscores")
        self.tags.setdefault(name, set())
        return Reply(201, {"tag": self._tag_view(name)})

    @route("GET", "/v2/tags")
    def list_tags(self, call: Call) -> Reply:
        return Reply(200, paginate(call, [self._tag_view(n) for n in sorted(self.tags)], "tags"))

    @route("GET", "/v2/tags/{tag_id}")
    def get_tag(self, call: Call) -> Reply:
        self._need_tag(call.params["tag_id"])
        return Reply(200, {"tag": self._tag_view(call.params["tag_id"])})

    @route("DELETE", "/v2/tags/{tag_id}")
    def delete_tag(self, call: Call) -> Reply:
        self._need_tag(call.params["tag_id"])
        self.tags.pop(call.params["tag_id"])
        for cluster in self.clusters.values():
            if call.params["tag_id"] in cluster["tags"]:
                cluster["tags"].remove(call.params["tag_id"])
        return Reply(204)

    @route("POST", "/v2/tags/{tag_id}/resources")
    def tag_resources(self, call: Call) -> Reply:
        self._need_tag(call.params["tag_id"])
        for res in call.body["resources"]:
            self.tags[call.params["tag_id"]].add((res.get("resource_type", "droplet"), str(res["resource_id"])))
        return Reply(204)

    @route("DELETE", "/v2/tags/{tag_id}/resources")
    def untag_resources(self, call: Call) -> Reply:
        self._need_tag(call.params["tag_id"])
        for res in call.body["resources"]:
            self.tags[call.params["tag_id"]].discard((res.get("resource_type", "droplet"), str(res["resource_id"])))
        return Reply(204)

    def tagged(self, name: str, kind: str | None = None) -> list[str]:
        """Ids of the resources carrying tag ``name`` (optionally of one kind)."""
        return sorted(rid for k, rid in self.tags.get(name, set()) if kind is None or k == kind)


def _fqdn(name: str, domain: str) -> str:
    return domain if name == "@" else f"{name}.{domain}"


def _resource_uri(kind: str, rid: str) -> str:
    paths = {
        "droplet": "droplets",
        "image": "images",
        "volume": "volumes",
        "volume_snapshot": "snapshots",
        "database": "databases",
        "kubernetes": "kubernetes/clusters",
        "load_balancer": "load_balancers",
    }
    return f"{API_ROOT}/v2/{paths.get(kind, kind)}/{rid}"


def _check_ip(value: str, version: int) -> None:
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise ApiError(422, f"{value!r} is not a valid IPv{version} address") from None
    if addr.version != version:
        raise ApiError(422, f"{value!r} is not a valid IPv{version} address")


def error_body(status: int, message: str | None, error_id: str | None, request_id: str) -> str:
    default_id, default_message = ERROR_IDS.get(status, ("error", "Error."))
    return json.dumps({"id": error_id or default_id, "message": message or default_message, "request_id": request_id})
