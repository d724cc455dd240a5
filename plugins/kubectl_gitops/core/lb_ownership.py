"""Which LoadBalancer Service owns a DigitalOcean load balancer across an edge switch; pure, no I/O.

On DigitalOcean the edge's LoadBalancer Service adopts the platform's load balancer through the
annotation ``kubernetes.digitalocean.com/load-balancer-id`` (ingress-nginx's controller Service, or
the Envoy Service that Envoy Gateway makes from the Gateway). DigitalOcean's cloud controller
manager (``digitalocean-cloud-controller-manager``, ``cloud-controller-manager/do/loadbalancers.go``)
reconciles every such Service:

- a Service that is deleted has its load balancer deleted (``EnsureLoadBalancerDeleted``, found by
  that id), unless the Service carries ``service.kubernetes.io/do-loadbalancer-disown`` with a true
  value: then creating, updating and deleting the load balancer are all skipped for that Service;
- the value is read from the Service's own annotations and parsed as Go's ``strconv.ParseBool``
  (``1 t T TRUE true True`` / ``0 f F FALSE false False``); any other value is an error, and the
  controller then does nothing for that Service but report it;
- two Services naming the same id both update the load balancer (name, forwarding rules, targets)
  and undo each other's changes; the upstream docs say to disown the old Service before a new one
  takes the load balancer over by id.

So when the edge changes, the Service of the edge being replaced is disowned before the release that
removes it (and before the new edge's Service exists), and the new edge's Service is the only owner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .values import GATEWAY_NAMESPACE, INGRESS_NAMESPACE

ID_ANNOTATION = "kubernetes.digitalocean.com/load-balancer-id"
DISOWN_ANNOTATION = "service.kubernetes.io/do-loadbalancer-disown"
# where each edge's LoadBalancer Service lives (the chart's namespaces)
EDGE_NAMESPACES = {"ingress-nginx": INGRESS_NAMESPACE, "gateway": GATEWAY_NAMESPACE}

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_bool(value: str) -> bool | None:
    """Go's ``strconv.ParseBool``, as the cloud controller reads the disown annotation; None: not a boolean."""
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def disowned(service: Mapping[str, Any]) -> bool:
    """Whether the cloud controller leaves this Service's load balancer alone (a true disown annotation)."""
    annotations = (service.get("metadata") or {}).get("annotations") or {}
    return DISOWN_ANNOTATION in annotations and parse_bool(str(annotations[DISOWN_ANNOTATION])) is True


@dataclass(frozen=True)
class ServiceRef:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Handover:
    """What hands the load balancer to the edge being installed: Services to disown (the other edge's),
    then Services of this edge to own it again (disowned by an earlier, unfinished switch back)."""

    disown: tuple[ServiceRef, ...] = ()
    reclaim: tuple[ServiceRef, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.disown and not self.reclaim


def handover(services: Iterable[Mapping[str, Any]], *, edge: str, load_balancer_id: str) -> Handover:
    """Decide which of ``services`` (the LoadBalancer Services of the edge namespaces) to disown or reclaim
    so that only ``edge``'s Service owns load balancer ``load_balancer_id``.

    A Service adopts the load balancer when it is of type LoadBalancer and its id annotation names it.
    Adopting Services outside ``edge``'s namespace are disowned unless they already are (a value the
    cloud controller cannot parse is replaced; one being deleted too, since the controller reads the
    annotation when it cleans up); adopting Services in it that are disowned, and not being deleted, are
    reclaimed.
    """
    if edge not in EDGE_NAMESPACES:
        raise ValueError(f"unknown edge {edge!r}")
    ours = EDGE_NAMESPACES[edge]
    disown: list[ServiceRef] = []
    reclaim: list[ServiceRef] = []
    for service in services:
        meta = service.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        if (service.get("spec") or {}).get("type") != "LoadBalancer" or \
                str(annotations.get(ID_ANNOTATION, "")) != load_balancer_id:
            continue
        ref = ServiceRef(meta.get("namespace", ""), meta.get("name", ""))
        if ref.namespace == ours:
            if disowned(service) and not meta.get("deletionTimestamp"):
                reclaim.append(ref)
        elif not disowned(service):
            disown.append(ref)
    return Handover(disown=tuple(sorted(disown, key=str)), reclaim=tuple(sorted(reclaim, key=str)))
