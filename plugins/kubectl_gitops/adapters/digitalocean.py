"""The DigitalOcean API, through pydo: the only module that imports ``pydo`` or ``azure``.

One :class:`DigitalOcean` object wraps one ``pydo.Client`` (pydo's default endpoint, or
``DIGITALOCEAN_API_URL`` when set). Every call goes through one retry loop and leaves it
either with data (translated into :mod:`kubectl_gitops.core.infra` state objects where the
workflows need them) or with exactly one :class:`~kubectl_gitops.core.errors.CloudError`:

- 429: waits as the API says (``Retry-After``, else ``ratelimit-reset``), a bounded number
  of times, then :class:`CloudRateLimited`;
- 5xx and lost responses: retried with exponential backoff. A create that is not idempotent
  is retried only after ``recover`` (a lookup by name) found nothing, so a create whose
  response was lost is never sent twice;
- no connection: retried like 5xx (nothing was sent), then :class:`CloudUnreachable`;
- other 4xx: DigitalOcean's own message plus what to do, at once.

The token is held as a :class:`~kubectl_gitops.core.secrets.Secret`; it reaches only the
Authorization header, and every message built here is scrubbed of it as well.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from ..core.errors import (
    CloudAuthError,
    CloudError,
    CloudNotFound,
    CloudPermissionError,
    CloudRateLimited,
    CloudRejected,
    CloudServerError,
    CloudUnreachable,
    UsageError,
)
from ..core.infra import (
    AccountOptions,
    ClusterState,
    DesiredCluster,
    DesiredLoadBalancer,
    LoadBalancerState,
    NodePoolState,
    RecordState,
    RegistryState,
)
from ..core.kubeconfig import ClusterCredentials
from ..core.secrets import Secret

DEFAULT_ENDPOINT = "https://api.digitalocean.com"
ENDPOINT_ENV = "DIGITALOCEAN_API_URL"
TOKEN_URL = "https://cloud.digitalocean.com/account/api/tokens"
CLUSTER_TOKEN_SECONDS = 7 * 24 * 3600  # what DOKS gives when no expiry is asked for
RECORD_TTL = 300
_MISSING = object()
T = TypeVar("T")


@dataclass(frozen=True)
class _Reply:
    response: Any
    body: Any


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    Attributes:
        attempts: tries per request in all (the first one included).
        backoff: seconds before the first retry after a 5xx or a connection failure; doubles.
        max_backoff: longest pause between two tries.
        max_rate_wait: longest pause the rate limit may ask for; beyond it the call fails.
        sleep: how to pause (a test passes a recorder).
    """

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_rate_wait: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)


def endpoint_from(environ: Mapping[str, str]) -> str | None:
    """The API endpoint to use: ``DIGITALOCEAN_API_URL`` if set, else None (pydo's default)."""
    value = (environ.get(ENDPOINT_ENV) or "").strip().rstrip("/")
    if value and not value.startswith("https://"):
        raise UsageError(f"{ENDPOINT_ENV}={value} is not an https:// URL",
                         hint="the token is only ever sent over TLS; unset it to use https://api.digitalocean.com")
    return value or None


class DigitalOcean:
    """The DigitalOcean calls the workflows make, with errors translated once.

    Args:
        token: the API token.
        endpoint: API base URL (None: pydo's default, https://api.digitalocean.com).
        retry: the retry policy.
        request_timeout: seconds one HTTP request may take.
    """

    def __init__(self, token: Secret, *, endpoint: str | None = None, retry: RetryPolicy | None = None,
                 request_timeout: int = 60) -> None:
        import pydo

        if not isinstance(token, Secret):
            raise TypeError("the DigitalOcean token must be a Secret")
        self._token = token
        self.endpoint = endpoint or DEFAULT_ENDPOINT
        self.retry = retry or RetryPolicy()
        kwargs: dict[str, Any] = {"retry_total": 0, "timeout": request_timeout}
        if endpoint:
            kwargs["endpoint"] = endpoint
        self._client = pydo.Client(token=token.reveal(), **kwargs)

    def __repr__(self) -> str:
        return f"DigitalOcean(endpoint={self.endpoint!r})"

    # -------------------------------------------------------------- the retry loop

    def _call(self, what: str, fn: Callable[..., T], *args: Any, idempotent: bool = True,
              recover: Callable[[], Any] | None = None, not_found: Any = _MISSING, **kwargs: Any) -> T:
        policy = self.retry
        attempt = 0
        delay = policy.backoff
        while True:
            attempt += 1
            last = attempt >= policy.attempts
            try:
                return self._send(fn, *args, **kwargs)
            except HttpResponseError as exc:
                status = exc.status_code or 0
                if status == 404 and not_found is not _MISSING:
                    return not_found
                if status == 429:
                    wait = self._rate_wait(exc)
                    if last or wait > policy.max_rate_wait:
                        raise self._rate_limited(exc, what, wait) from None
                    policy.sleep(wait)
                    continue
                if status >= 500:
                    if last:
                        raise self._translate(exc, what, attempts=attempt) from None
                    if not idempotent and recover is not None:
                        found = self._recover(recover)
                        if found is not None:
                            return found
                    elif not idempotent:
                        raise self._translate(exc, what, attempts=attempt) from None
                    policy.sleep(delay)
                    delay = min(delay * 2, policy.max_backoff)
                    continue
                raise self._translate(exc, what) from None
            except ServiceRequestError as exc:  # nothing was sent: safe to send again
                if last:
                    raise self._unreachable(exc, what) from None
                policy.sleep(delay)
                delay = min(delay * 2, policy.max_backoff)
            except ServiceResponseError as exc:  # sent, but the answer was lost
                if last or (not idempotent and recover is None):
                    raise self._unreachable(exc, what) from None
                if not idempotent:
                    found = self._recover(recover)
                    if found is not None:
                        return found
                policy.sleep(delay)
                delay = min(delay * 2, policy.max_backoff)

    @staticmethod
    def _send(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call one pydo operation; an error status it returns as data (pydo does so for the
        statuses the spec documents, such as 404 on deletes) is raised like any other."""

        def keep_status(pipeline_response: Any, deserialized: Any, headers: Any) -> _Reply:
            return _Reply(pipeline_response.http_response, deserialized)

        reply = fn(*args, cls=keep_status, **kwargs)
        if isinstance(reply, _Reply):
            if reply.response.status_code >= 400:
                raise HttpResponseError(response=reply.response)
            return reply.body
        return reply

    def _recover(self, recover: Callable[[], Any] | None) -> Any:
        if recover is None:
            return None
        try:
            return recover()
        except CloudUnreachable:
            return None

    @staticmethod
    def _rate_wait(exc: HttpResponseError) -> float:
        headers = {k.lower(): v for k, v in (exc.response.headers if exc.response is not None else {}).items()}
        retry_after = headers.get("retry-after")
        if retry_after is not None:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                pass
        reset = headers.get("ratelimit-reset")
        if reset is not None:
            try:
                return max(0.0, float(reset) - time.time())
            except ValueError:
                pass
        return 1.0

    @staticmethod
    def _body(exc: HttpResponseError) -> tuple[str, str, str]:
        """DigitalOcean's (id, message, request_id) of an error response."""
        try:
            data = exc.response.json() if exc.response is not None else {}
        except (ValueError, AttributeError, TypeError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        message = str(data.get("message") or exc.reason or "").strip().rstrip(".")
        return str(data.get("id") or ""), message, str(data.get("request_id") or "")

    def _scrub(self, text: str) -> str:
        return self._token.redact(" ".join(text.split()))

    def _translate(self, exc: HttpResponseError, what: str, *, attempts: int = 1) -> CloudError:
        status = exc.status_code or 0
        error_id, message, request_id = self._body(exc)
        said = f"{message} ({status}{' ' + error_id if error_id else ''})" if message else f"HTTP {status}"
        meta = {"status": status, "error_id": error_id or None, "request_id": request_id or None}
        if status == 401:
            cls, text, hint = (CloudAuthError, f"DigitalOcean did not accept the token while {what}: {said}",
                               f"the token is invalid, expired or revoked: create one at {TOKEN_URL} and set "
                               "DIGITALOCEAN_TOKEN, or pass --token-file")
        elif status == 403:
            cls, text, hint = (CloudPermissionError, f"the DigitalOcean token may not do this ({what}): {said}",
                               "use a token with write scope (kubernetes, load balancers, domains, registry and "
                               f"tags), created at {TOKEN_URL}")
        elif status == 404:
            cls, text, hint = (CloudNotFound, f"DigitalOcean found nothing while {what}: {said}",
                               "it may have been deleted meanwhile; re-run to continue")
        elif status >= 500:
            tries = f" ({attempts} tries)" if attempts > 1 else ""
            cls, text, hint = (CloudServerError, f"DigitalOcean failed on its side while {what}{tries}: {said}",
                               "try again in a few minutes (https://status.digitalocean.com); "
                               "finished steps are not repeated")
        else:
            hint = {
                409: "it conflicts with something in the account: resolve it there, then re-run",
                412: "a precondition is not met: see DigitalOcean's message",
            }.get(status, "fix what DigitalOcean names (in gitops.yaml or the account) and re-run")
            cls, text = CloudRejected, f"DigitalOcean rejected {what}: {said}"
        return cls(self._scrub(text), hint=self._scrub(hint), **meta)

    def _rate_limited(self, exc: HttpResponseError, what: str, wait: float) -> CloudError:
        _, message, request_id = self._body(exc)
        when = time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + wait))
        return CloudRateLimited(
            self._scrub(f"DigitalOcean's rate limit stayed exhausted while {what}: {message or 'too many requests'}"),
            hint=f"wait until about {when} and re-run; finished steps are not repeated",
            status=429, error_id="too_many_requests", request_id=request_id or None)

    def _unreachable(self, exc: Exception, what: str) -> CloudError:
        text = str(exc)
        match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
        if match:
            reason = match.group(1).strip()
        elif "refused" in text.lower():
            reason = "connection refused"
        elif "timed out" in text.lower() or "timeout" in type(exc).__name__.lower():
            reason = "timed out"
        elif "aborted" in text.lower() or isinstance(exc, ServiceResponseError):
            reason = "the connection broke before the answer arrived"
        else:
            reason = "no connection"
        return CloudUnreachable(
            self._scrub(f"cannot reach the DigitalOcean API at {self.endpoint} while {what}: {reason}"),
            hint=f"check the network connection (and {ENDPOINT_ENV} if set), then re-run")

    def _pages(self, what: str, fn: Callable[..., Any], key: str, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            data = self._call(what, fn, per_page=200, page=page, **kwargs) or {}
            items.extend(data.get(key) or [])
            if not ((data.get("links") or {}).get("pages") or {}).get("next") or page >= 500:
                return items
            page += 1

    # -------------------------------------------------------------- account and tags

    def account(self) -> dict[str, Any]:
        """The account (``GET /v2/account``): checks the token."""
        return self._call("checking the token (account lookup)", self._client.account.get)["account"]

    def tag_count(self, name: str) -> int | None:
        """How many resources carry tag ``name`` (None: no such tag)."""
        data = self._call(f"reading tag {name}", self._client.tags.get, name, not_found=None)
        if data is None:
            return None
        return int(((data.get("tag") or {}).get("resources") or {}).get("count") or 0)

    def create_tag(self, name: str) -> None:
        self._call(f"creating tag {name}", self._client.tags.create, {"name": name})

    def delete_tag(self, name: str) -> bool:
        """Delete tag ``name``; False when it was already gone."""
        return self._call(f"deleting tag {name}", self._client.tags.delete, name, not_found=False) is not False

    # -------------------------------------------------------------- options

    def options(self) -> AccountOptions:
        kube = self._call("reading the Kubernetes options", self._client.kubernetes.list_options)["options"]
        reg = self._call("reading the registry options", self._client.registry.get_options)["options"]
        return AccountOptions(
            regions=tuple(r["slug"] for r in kube.get("regions") or []),
            sizes=tuple(s["slug"] for s in kube.get("sizes") or []),
            versions=tuple((v["slug"], v.get("kubernetes_version", "")) for v in kube.get("versions") or []),
            registry_regions=tuple(reg.get("available_regions") or ()),
        )

    # -------------------------------------------------------------- container registry

    @staticmethod
    def _registry_state(data: Mapping[str, Any]) -> RegistryState:
        tier = ((data.get("subscription") or {}).get("tier") or {}).get("slug") or ""
        return RegistryState(name=data["name"], tier=tier, region=data.get("region") or "")

    def registry(self) -> RegistryState | None:
        data = self._call("reading the container registry", self._client.registry.get, not_found=None)
        if data is None:
            return None
        state = self._registry_state(data["registry"])
        if not state.tier:
            sub = self._call("reading the registry subscription", self._client.registry.get_subscription)
            state = RegistryState(state.name, sub["subscription"]["tier"]["slug"], state.region)
        return state

    def registry_name_available(self, name: str) -> bool | None:
        """Whether ``name`` is free (registry names are global across accounts); None when the
        token may not ask (the create itself will say)."""
        try:
            self._call(f"checking the registry name {name}", self._client.registry.validate_name, {"name": name})
        except CloudRejected as exc:
            if exc.status == 409:
                return False
            raise
        except CloudPermissionError:
            return None
        return True

    def create_registry(self, name: str, tier: str, region: str | None) -> RegistryState:
        body: dict[str, Any] = {"name": name, "subscription_tier_slug": tier}
        if region:
            body["region"] = region
        try:
            data = self._call(f"creating registry {name}", self._client.registry.create, body,
                              idempotent=False, recover=lambda: self._registry_dict())
        except CloudRejected as exc:
            if exc.status == 409:
                existing = self.registry()
                if existing is not None and existing.name == name:
                    return existing
                raise CloudRejected(f"the registry name {name} is not available at DigitalOcean: {exc.message}",
                                    hint="choose another registry.name in gitops.yaml (names are global)",
                                    status=409, error_id=exc.error_id, request_id=exc.request_id) from None
            raise
        return self._registry_state(data["registry"])

    def _registry_dict(self) -> dict[str, Any] | None:
        return self._call("reading the container registry", self._client.registry.get, not_found=None)

    def update_registry_tier(self, tier: str) -> None:
        self._call(f"changing the registry tier to {tier}", self._client.registry.update_subscription,
                   {"tier_slug": tier})

    def delete_registry(self, name: str) -> bool:
        return self._call(f"deleting registry {name}", self._client.registry.delete, not_found=False) is not False

    def docker_credentials(self, *, read_write: bool, expiry_seconds: int) -> Secret:
        """Docker config JSON for the registry (``read_write=True`` can push)."""
        kind = "read-write" if read_write else "read-only"
        data = self._call(f"issuing {kind} registry credentials", self._client.registry.get_docker_credentials,
                          read_write=read_write, expiry_seconds=expiry_seconds)
        return Secret(json.dumps(data, sort_keys=True))

    def add_registry_to_clusters(self, cluster_ids: list[str]) -> None:
        self._call("connecting the registry to the clusters", self._client.kubernetes.add_registry,
                   {"cluster_uuids": list(cluster_ids)})

    # -------------------------------------------------------------- Kubernetes

    @staticmethod
    def _cluster_state(data: Mapping[str, Any]) -> ClusterState:
        pools = tuple(
            NodePoolState(
                id=p["id"], name=p.get("name") or "", size=p.get("size") or "", count=int(p.get("count") or 0),
                auto_scale=bool(p.get("auto_scale")), min_nodes=int(p.get("min_nodes") or 0),
                max_nodes=int(p.get("max_nodes") or 0),
            )
            for p in data.get("node_pools") or []
        )
        return ClusterState(
            id=data["id"], name=data["name"], region=data.get("region") or "", version=data.get("version") or "",
            state=((data.get("status") or {}).get("state") or "unknown"), tags=tuple(data.get("tags") or ()),
            registry_enabled=bool(data.get("registry_enabled")), node_pools=pools,
            endpoint=data.get("endpoint") or "",
        )

    def clusters(self) -> list[ClusterState]:
        return [self._cluster_state(c) for c in
                self._pages("listing Kubernetes clusters", self._client.kubernetes.list_clusters,
                            "kubernetes_clusters")]

    def cluster(self, cluster_id: str) -> ClusterState | None:
        data = self._call("reading a Kubernetes cluster", self._client.kubernetes.get_cluster, cluster_id,
                          not_found=None)
        return None if data is None else self._cluster_state(data["kubernetes_cluster"])

    def _cluster_named(self, name: str) -> ClusterState | None:
        return next((c for c in self.clusters() if c.name == name), None)

    def create_cluster(self, desired: DesiredCluster) -> ClusterState:
        pool: dict[str, Any] = {"name": desired.pool.name, "size": desired.pool.size, "count": desired.pool.count}
        if desired.pool.auto_scale:
            pool.update(auto_scale=True, min_nodes=desired.pool.min_nodes, max_nodes=desired.pool.max_nodes)
        body = {"name": desired.name, "region": desired.region, "version": desired.version,
                "tags": list(desired.tags), "node_pools": [pool]}
        data = self._call(f"creating cluster {desired.name}", self._client.kubernetes.create_cluster, body,
                          idempotent=False, recover=lambda: self._cluster_named(desired.name))
        if isinstance(data, ClusterState):
            return data
        return self._cluster_state(data["kubernetes_cluster"])

    def update_cluster_tags(self, cluster: ClusterState, tags: tuple[str, ...]) -> None:
        self._call(f"tagging cluster {cluster.name}", self._client.kubernetes.update_cluster, cluster.id,
                   {"name": cluster.name, "tags": list(tags)})

    def update_node_pool(self, cluster: ClusterState, pool: NodePoolState, changes: Mapping[str, Any]) -> None:
        body = {"name": pool.name, "count": int(changes.get("count", pool.count)), **dict(changes)}
        self._call(f"resizing node pool {pool.name} of {cluster.name}", self._client.kubernetes.update_node_pool,
                   cluster.id, pool.id, body)

    def cluster_credentials(self, cluster: ClusterState, *, context: str, platform: str, key: str,
                            expiry_seconds: int = CLUSTER_TOKEN_SECONDS) -> ClusterCredentials:
        """Credentials for the kubeconfig, from ``get_credentials`` (pydo's ``get_kubeconfig`` is broken)."""
        asked_at = time.time()
        data = self._call(f"fetching credentials of cluster {cluster.name}", self._client.kubernetes.get_credentials,
                          cluster.id, expiry_seconds=expiry_seconds)
        if not data.get("token"):
            raise CloudError(f"cluster {cluster.name} offers no token credentials",
                             hint="use a DOKS version with token authentication (1.22 or newer)")
        return ClusterCredentials(
            context=context, server=data["server"],
            certificate_authority_data=data.get("certificate_authority_data") or "",
            token=Secret(data["token"]), expires_at=asked_at + expiry_seconds,
            platform=platform, cluster=key, cluster_id=cluster.id,
        )

    def associated_resources(self, cluster_id: str) -> dict[str, list[dict[str, str]]] | None:
        """Load balancers, volumes and snapshots DigitalOcean ties to a cluster (None: cluster gone)."""
        data = self._call("listing the resources of a cluster",
                          self._client.kubernetes.list_associated_resources, cluster_id, not_found=None)
        if data is None:
            return None
        return {k: list(data.get(k) or []) for k in ("load_balancers", "volumes", "volume_snapshots")}

    def delete_cluster(self, cluster: ClusterState, *, load_balancers: list[str], volumes: list[str],
                       volume_snapshots: list[str]) -> bool:
        """Delete a cluster with the given associated resources; False when it was already gone."""
        body = {"load_balancers": load_balancers, "volumes": volumes, "volume_snapshots": volume_snapshots}
        result = self._call(f"deleting cluster {cluster.name}",
                            self._client.kubernetes.destroy_associated_resources_selective, cluster.id, body,
                            not_found=False)
        return result is not False

    # -------------------------------------------------------------- load balancers

    @staticmethod
    def _lb_state(data: Mapping[str, Any]) -> LoadBalancerState:
        region = data.get("region")
        slug = region.get("slug", "") if isinstance(region, dict) else (region or "")
        return LoadBalancerState(id=data["id"], name=data.get("name") or "", region=slug,
                                 status=data.get("status") or "", ip=data.get("ip") or "")

    def load_balancers(self) -> list[LoadBalancerState]:
        return [self._lb_state(lb) for lb in
                self._pages("listing load balancers", self._client.load_balancers.list, "load_balancers")]

    def load_balancer(self, lb_id: str) -> LoadBalancerState | None:
        data = self._call("reading a load balancer", self._client.load_balancers.get, lb_id, not_found=None)
        return None if data is None else self._lb_state(data["load_balancer"])

    def create_load_balancer(self, desired: DesiredLoadBalancer) -> LoadBalancerState:
        """A load balancer with no droplets yet: the cluster's cloud controller adopts it by id."""
        body = {
            "name": desired.name,
            "region": desired.region,
            "size_unit": 1,
            "droplet_ids": [],
            "forwarding_rules": [
                {"entry_protocol": "tcp", "entry_port": 80, "target_protocol": "tcp", "target_port": 80},
                {"entry_protocol": "tcp", "entry_port": 443, "target_protocol": "tcp", "target_port": 443},
            ],
            "health_check": {"protocol": "tcp", "port": 80, "check_interval_seconds": 10,
                             "response_timeout_seconds": 5, "healthy_threshold": 3, "unhealthy_threshold": 3},
        }

        def recover() -> LoadBalancerState | None:
            return next((lb for lb in self.load_balancers() if lb.name == desired.name), None)

        data = self._call(f"creating load balancer {desired.name}", self._client.load_balancers.create, body,
                          idempotent=False, recover=recover)
        if isinstance(data, LoadBalancerState):
            return data
        return self._lb_state(data["load_balancer"])

    def delete_load_balancer(self, lb: LoadBalancerState) -> bool:
        return self._call(f"deleting load balancer {lb.name}", self._client.load_balancers.delete, lb.id,
                          not_found=False) is not False

    # -------------------------------------------------------------- domains and records

    def domain_exists(self, name: str) -> bool:
        return self._call(f"reading domain {name}", self._client.domains.get, name, not_found=None) is not None

    def create_domain(self, name: str) -> None:
        try:
            self._call(f"creating domain {name}", self._client.domains.create, {"name": name}, idempotent=False,
                       recover=lambda: True if self.domain_exists(name) else None)
        except CloudRejected as exc:
            if exc.status == 422 and self.domain_exists(name):
                return
            raise

    def records(self, domain: str) -> list[RecordState]:
        return [RecordState(id=int(r["id"]), type=r.get("type") or "", name=r.get("name") or "",
                            data=r.get("data") or "")
                for r in self._pages(f"listing DNS records of {domain}", self._client.domains.list_records,
                                     "domain_records", domain_name=domain)]

    def create_a_record(self, domain: str, name: str, ip: str) -> RecordState:
        def recover() -> RecordState | None:
            return next((r for r in self.records(domain) if r.type == "A" and r.name == name and r.data == ip), None)

        fqdn = domain if name == "@" else f"{name}.{domain}"
        data = self._call(f"creating DNS record {fqdn}", self._client.domains.create_record, domain,
                          {"type": "A", "name": name, "data": ip, "ttl": RECORD_TTL},
                          idempotent=False, recover=recover)
        if isinstance(data, RecordState):
            return data
        r = data["domain_record"]
        return RecordState(id=int(r["id"]), type=r["type"], name=r["name"], data=r["data"])

    def update_a_record(self, domain: str, record: RecordState, ip: str) -> None:
        fqdn = domain if record.name == "@" else f"{record.name}.{domain}"
        self._call(f"updating DNS record {fqdn}", self._client.domains.update_record, domain, record.id,
                   {"type": "A", "name": record.name, "data": ip, "ttl": RECORD_TTL})

    def delete_record(self, domain: str, record: RecordState) -> bool:
        fqdn = domain if record.name == "@" else f"{record.name}.{domain}"
        return self._call(f"deleting DNS record {fqdn}", self._client.domains.delete_record, domain, record.id,
                          not_found=False) is not False
