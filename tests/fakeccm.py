"""DigitalOcean's cloud controller manager (CCM), for the LoadBalancer Services of a DOKS cluster played by the
Kubernetes API stand-in (:class:`fakekube.FakeKube`), on the load balancers of the DigitalOcean stand-in's
account (:class:`fakedo.FakeDigitalOcean`).

What it plays, from ``digitalocean/digitalocean-cloud-controller-manager`` (``cloud-controller-manager/do/
loadbalancers.go``, ``lb_annotations.go``, ``annotations.go``; ``docs/controllers/services/annotations.md`` and
``docs/controllers/services/examples/README.md``, "Changing ownership of a load-balancer"):

- ``service.kubernetes.io/do-loadbalancer-disown`` is read from the Service's own annotations and parsed with
  Go's ``strconv.ParseBool`` (``1 t T TRUE true True`` / ``0 f F FALSE false False``; missing = false). True
  short-circuits ``EnsureLoadBalancer``, ``UpdateLoadBalancer`` and ``EnsureLoadBalancerDeleted``: the load
  balancer is neither created, updated nor deleted for that Service, and its status is left as it is. Any
  other value is an error: the CCM does nothing for the Service but report it (here: ``events``).
- A LoadBalancer Service is reconciled (``EnsureLoadBalancer``) by finding its load balancer by the id in
  ``kubernetes.digitalocean.com/load-balancer-id`` (``GET /v2/load_balancers/{id}``), or without one by name:
  ``service.beta.kubernetes.io/do-loadbalancer-name``, else the legacy name ``a`` + the Service's UID without
  dashes (32 characters at most). Found: the load balancer is updated (``PUT``) to what the Service asks:
  it is renamed to that name, its forwarding rules become one TCP rule per Service port (entry port = the
  port, target port = its node port) and it is tied to the cluster (the ``k8s:<cluster id>`` tag, which is
  what makes DigitalOcean list it among the cluster's associated resources). An id that names no load
  balancer (404) is not an error: a new load balancer is created and the Service's id annotation rewritten
  to it. Once the load balancer is ``active`` its IP becomes the Service's ``status.loadBalancer.ingress``
  (while it is ``new`` the CCM retries; here :meth:`FakeCloudControllerManager.resync`).
- A deleted LoadBalancer Service (``EnsureLoadBalancerDeleted``) has its load balancer, found the same way,
  deleted (``DELETE /v2/load_balancers/{id}``; already gone is fine) unless it is disowned; the CCM never
  checks whether another Service still names that load balancer.
- Two Services that own (adopt and are not disowned) one load balancer both update it and undo each other's
  rules; upstream says to disown the old Service before another takes the load balancer over. The stand-in
  records every such pair in ``conflicts`` (tests assert it stays empty).

Where it differs: it acts on the stand-in's events instead of the service controller's queue: on creation and
on each change of a Service's type, annotations or ports (not on status changes or node changes; there are
no nodes), and on the ``DELETED`` event with the Service's last state, which is what the service controller's
``service.kubernetes.io/load-balancer-cleanup`` finalizer guarantees the real CCM sees (the stand-in adds no
finalizer, so a Service whose disown value does not parse is gone here while a real one stays Terminating;
either way the load balancer stays). A Service that changes from type LoadBalancer to another type keeps its
load balancer here. It does not write the ``service.beta.kubernetes.io/do-loadbalancer-type`` annotation, and
of the load balancer settings only name, forwarding rules and cluster are reconciled. Its API calls are not in
the account's request ``log`` (they are the cluster's, not the tool's) but in ``calls``.
"""

from __future__ import annotations

import threading
import traceback

ID_ANNOTATION = "kubernetes.digitalocean.com/load-balancer-id"
NAME_ANNOTATION = "service.beta.kubernetes.io/do-loadbalancer-name"
DISOWN_ANNOTATION = "service.kubernetes.io/do-loadbalancer-disown"
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def parse_bool(value: str) -> bool | None:
    """Go's ``strconv.ParseBool``; None when the value is not a boolean."""
    return True if value in _TRUE else False if value in _FALSE else None


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _key(service: dict) -> tuple[str, str]:
    return _meta(service).get("namespace", ""), _meta(service).get("name", "")


class FakeCloudControllerManager:
    """The CCM's load balancer controller for one cluster; see the module docstring.

    Args:
        kube: the Kubernetes API stand-in serving the cluster.
        digitalocean: the DigitalOcean stand-in holding the account.
        cluster: name of the account's cluster that ``kube`` serves (default: the account's only cluster,
            looked up at each event, since bootstrap creates it after the stand-ins start).
    """

    def __init__(self, kube, digitalocean, *, cluster: str | None = None) -> None:
        self.kube = kube
        self.do = digitalocean
        self.cluster = cluster
        self.errors: list[str] = []
        self.events: list[str] = []  # Warning events the CCM reports on Services
        self.conflicts: list[str] = []  # two owning Services reconciling one load balancer
        self.calls: list[tuple[str, str]] = []  # (method, path) of the CCM's DigitalOcean API calls
        self._seen: dict[tuple[str, str], tuple] = {}  # what each Service looked like when last reconciled
        self._owners: dict[tuple[str, str], str] = {}  # owning Service -> load balancer id
        self._pending: set[tuple[str, str]] = set()  # Services whose load balancer is not active yet
        self._queue: list[tuple[str, dict]] = []
        self._busy = False
        self._lock = threading.RLock()

    def install(self) -> FakeCloudControllerManager:
        self.kube.add_reactor(self._react)
        return self

    def resync(self) -> None:
        """Retry the Services whose load balancer was not active yet (the CCM's requeue)."""
        for namespace, name in sorted(self._pending):
            service = self.kube.get("services", name, namespace)
            if service is not None:
                self._seen.pop((namespace, name), None)
                self._react("MODIFIED", service)

    # ------------------------------------------------------------ dispatch
    def _react(self, event: str, obj: dict) -> None:
        if obj.get("kind") != "Service" or obj.get("apiVersion") != "v1":
            return
        with self._lock:
            self._queue.append((event, obj))
            if self._busy:
                return  # our own write: handled once the current event is done
            self._busy = True
            try:
                while self._queue:
                    item = self._queue.pop(0)
                    try:
                        self._handle(*item)
                    except Exception:  # noqa: BLE001 - reported through `errors`, never into the stand-in
                        self.errors.append(f"{item[0]} Service {'/'.join(_key(item[1]))}: {traceback.format_exc()}")
            finally:
                self._busy = False

    def _handle(self, event: str, service: dict) -> None:
        key = _key(service)
        if (service.get("spec") or {}).get("type") != "LoadBalancer":
            return
        if event == "DELETED" or _meta(service).get("deletionTimestamp"):
            if event == "DELETED":
                self._seen.pop(key, None)
                self._pending.discard(key)
                self._ensure_deleted(service)
            return
        annotations = _meta(service).get("annotations") or {}
        state = (tuple(sorted(annotations.items())), repr((service.get("spec") or {}).get("ports")))
        if self._seen.get(key) == state:
            return  # a status change (or one of ours): the service controller does not call the CCM
        self._seen[key] = state
        self._ensure(service)

    def _disowned(self, service: dict, what: str) -> bool | None:
        """True/False as the CCM parses the disown annotation; None (and an event) when it does not parse."""
        value = (_meta(service).get("annotations") or {}).get(DISOWN_ANNOTATION)
        if value is None:
            return False
        parsed = parse_bool(str(value))
        if parsed is None:
            self.events.append(f"Warning {what} Service {'/'.join(_key(service))}: failed to get disown LB "
                               f"configuration setting: cannot convert value {value!r} for annotation "
                               f"{DISOWN_ANNOTATION!r} to bool")
        return parsed

    # ------------------------------------------------------------ the account
    def _cluster(self, account) -> dict | None:
        clusters = list(account.clusters.values())
        if self.cluster is not None:
            return next((c for c in clusters if c["name"] == self.cluster), None)
        return clusters[0] if len(clusters) == 1 else None

    def _find(self, account, service: dict) -> dict | None:
        annotations = _meta(service).get("annotations") or {}
        lb_id = annotations.get(ID_ANNOTATION)
        if lb_id:
            self.calls.append(("GET", f"/v2/load_balancers/{lb_id}"))
            return account.load_balancers.get(lb_id)
        self.calls.append(("GET", "/v2/load_balancers"))
        names = {self._name(service), "a" + _meta(service).get("uid", "").replace("-", "")[:31]}
        return next((lb for lb in account.load_balancers.values() if lb["name"] in names), None)

    @staticmethod
    def _name(service: dict) -> str:
        annotations = _meta(service).get("annotations") or {}
        return annotations.get(NAME_ANNOTATION) or "a" + _meta(service).get("uid", "").replace("-", "")[:31]

    @staticmethod
    def _rules(service: dict) -> list[dict]:
        return [{"entry_protocol": "tcp", "entry_port": port["port"], "target_protocol": "tcp",
                 "target_port": port.get("nodePort") or port["port"]}
                for port in (service.get("spec") or {}).get("ports") or [] if port.get("protocol", "TCP") == "TCP"]

    def _ensure(self, service: dict) -> None:
        key = _key(service)
        disowned = self._disowned(service, "SyncLoadBalancerFailed")
        if disowned is None or disowned:
            self._owners.pop(key, None)
            self._pending.discard(key)
            return
        with self.do.locked() as account:
            lb = self._find(account, service)
            cluster = self._cluster(account)
            if lb is None:
                body = {"name": self._name(service), "region": (cluster or {}).get("region", "nyc3"),
                        "forwarding_rules": self._rules(service)}
                lb = account.seed_load_balancer(body, (cluster or {}).get("id"))
                self.calls.append(("POST", "/v2/load_balancers"))
            else:
                lb["name"] = self._name(service)
                lb["forwarding_rules"] = self._rules(service) or lb["forwarding_rules"]
                if cluster is not None:
                    lb["_cluster"] = cluster["id"]
                self.calls.append(("PUT", f"/v2/load_balancers/{lb['id']}"))
            view = account._lb_view(lb)
        for other, owned in sorted(self._owners.items()):
            if owned == lb["id"] and other != key and self._still_owns(other, lb["id"]):
                self.conflicts.append(f"Services {'/'.join(other)} and {'/'.join(key)} both own load balancer "
                                      f"{lb['id']}")
        self._owners[key] = lb["id"]
        annotations = _meta(service).get("annotations") or {}
        if annotations.get(ID_ANNOTATION) != lb["id"]:
            def annotate(obj: dict) -> None:
                obj["metadata"].setdefault("annotations", {})[ID_ANNOTATION] = lb["id"]

            self.kube.update("services", key[1], annotate, key[0])
        if view["status"] != "active":
            self._pending.add(key)
            return
        self._pending.discard(key)
        ingress = [{"ip": view["ip"]}]
        if ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") != ingress:
            self.kube.patch_status("services", key[1], {"loadBalancer": {"ingress": ingress}}, key[0])

    def _still_owns(self, key: tuple[str, str], lb_id: str) -> bool:
        service = self.kube.get("services", key[1], key[0])
        if service is None or (service.get("spec") or {}).get("type") != "LoadBalancer":
            return False
        annotations = _meta(service).get("annotations") or {}
        return annotations.get(ID_ANNOTATION) == lb_id and parse_bool(str(annotations.get(DISOWN_ANNOTATION,
                                                                                            "false"))) is False

    def _ensure_deleted(self, service: dict) -> None:
        key = _key(service)
        self._owners.pop(key, None)
        disowned = self._disowned(service, "DeleteLoadBalancerFailed")
        if disowned is None or disowned:
            return
        with self.do.locked() as account:
            lb = self._find(account, service)
            if lb is None:
                return
            account._delete_lb(lb["id"])
            self.calls.append(("DELETE", f"/v2/load_balancers/{lb['id']}"))
