"""Which LoadBalancer Service is disowned or owns the load balancer again when the edge changes
(core.lb_ownership, pure)."""

from __future__ import annotations

import pytest

from kubectl_gitops.core import lb_ownership
from kubectl_gitops.core.lb_ownership import DISOWN_ANNOTATION, ID_ANNOTATION, ServiceRef, handover

LB = "4de7ac8b-495b-4884-9a69-1050c6793cd6"


def _service(namespace: str, name: str, *, type_: str = "LoadBalancer", deleting: bool = False, **annotations):
    meta = {"namespace": namespace, "name": name, "annotations": annotations}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"type": type_}}


NGINX = ("ingress-nginx", "ingress-nginx-controller")
ENVOY = ("envoy-gateway-system", "envoy-envoy-gateway-system-platform-f2076d6c")


def test_switching_to_the_gateway_disowns_the_ingress_nginx_service():
    services = [_service(*NGINX, **{ID_ANNOTATION: LB})]
    assert handover(services, edge="gateway", load_balancer_id=LB) == lb_ownership.Handover(
        disown=(ServiceRef(*NGINX),))


def test_nothing_to_switch_is_empty():
    services = [_service(*NGINX, **{ID_ANNOTATION: LB}), _service("ingress-nginx", "admission", type_="ClusterIP")]
    assert handover(services, edge="ingress-nginx", load_balancer_id=LB).empty


def test_already_disowned_services_and_other_load_balancers_are_left_alone():
    services = [_service(*NGINX, **{ID_ANNOTATION: LB, DISOWN_ANNOTATION: "True"}),
                _service("ingress-nginx", "other", **{ID_ANNOTATION: "another-id"}),
                _service("ingress-nginx", "no-id")]
    assert handover(services, edge="gateway", load_balancer_id=LB).empty


@pytest.mark.parametrize("value", ["yes", "false", "0"])
def test_an_owner_by_the_cloud_controller_s_reading_is_disowned(value):
    services = [_service(*NGINX, **{ID_ANNOTATION: LB, DISOWN_ANNOTATION: value})]
    assert handover(services, edge="gateway", load_balancer_id=LB).disown == (ServiceRef(*NGINX),)


def test_a_service_being_deleted_is_still_disowned_the_controller_reads_it_at_cleanup():
    services = [_service(*NGINX, deleting=True, **{ID_ANNOTATION: LB})]
    assert handover(services, edge="gateway", load_balancer_id=LB).disown == (ServiceRef(*NGINX),)


def test_an_unfinished_switch_back_is_undone_the_new_edge_owns_it_again():
    services = [_service(*NGINX, **{ID_ANNOTATION: LB}),
                _service(*ENVOY, **{ID_ANNOTATION: LB, DISOWN_ANNOTATION: "true"})]
    assert handover(services, edge="gateway", load_balancer_id=LB) == lb_ownership.Handover(
        disown=(ServiceRef(*NGINX),), reclaim=(ServiceRef(*ENVOY),))


def test_unknown_edge_is_an_error():
    with pytest.raises(ValueError):
        handover([], edge="traefik", load_balancer_id=LB)
