"""The stand-in's OpenAPI check must be able to fail: invalid requests are rejected."""

from __future__ import annotations

import pytest
from azure.core.rest import HttpRequest

from fakedo import FakeDigitalOcean, SpecViolation, UnhandledRoute
from fakedo.fixtures import *  # noqa: F403  (until tests/conftest.py imports them)
from fakedo.spec import RequestAdapter, ResponseAdapter


def test_body_missing_required_field_is_rejected(fake_do, do_client):
    with pytest.raises(SpecViolation) as err:
        do_client.kubernetes.create_cluster({"name": "c", "region": "fra1", "version": "1.34.1-do.0"})
    assert "kubernetes_create_cluster" in str(err.value)
    assert "'node_pools' is a required property" in str(err.value)
    violations = fake_do.take_violations()
    assert len(violations) == 1 and violations[0].startswith("POST /v2/kubernetes/clusters")
    assert fake_do.calls()[0].status == "spec-violation"


def test_wrong_type_in_body_is_rejected(fake_do, do_client):
    with pytest.raises(SpecViolation, match="registry_create"):
        do_client.registry.create({"name": "acme", "subscription_tier_slug": "gold"})
    fake_do.take_violations()


def test_unknown_query_parameter_is_rejected(fake_do, do_client):
    with pytest.raises(SpecViolation, match=r"unknown query parameter\(s\) \['tag_name'\]"):
        do_client.kubernetes.list_clusters(params={"tag_name": "gitops"})
    fake_do.take_violations()


def test_unknown_path_and_method_are_rejected(fake_do, do_client):
    with pytest.raises(SpecViolation, match="path not found"):
        do_client.send_request(HttpRequest("GET", "/v2/kubernetes/clusterz"))
    with pytest.raises(SpecViolation, match="no PATCH operation"):
        do_client.send_request(HttpRequest("PATCH", "/v2/registry", json={}))
    assert len(fake_do.take_violations()) == 2


def test_unimplemented_route_fails_loudly(fake_do, do_client):
    with pytest.raises(UnhandledRoute):
        do_client.droplets.list()
    assert fake_do.take_violations()


def test_leftover_violation_fails_the_fixture_teardown(do_spec):
    from fakedo.fixtures import _finish

    fake = FakeDigitalOcean(do_spec).start()
    with pytest.raises(SpecViolation):
        fake.client(retry_total=0).kubernetes.list_clusters(per_page=0)
    with pytest.raises(pytest.fail.Exception, match="per_page"):
        _finish(fake)


def test_response_check_can_fail(do_spec):
    request = RequestAdapter("GET", "https://api.digitalocean.com/v2/account", {"Authorization": "Bearer x"}, None)
    good = b'{"account": {"droplet_limit": 1, "floating_ip_limit": 1, "email": "a@b.c", "uuid": "u",'
    good += b' "email_verified": true, "status": "active", "status_message": ""}}'
    do_spec.check_response(request, ResponseAdapter(200, {"Content-Type": "application/json"}, good), "GET /v2/account")
    bad = b'{"account": {"status": "sleeping"}}'
    with pytest.raises(SpecViolation, match="does not match the spec"):
        do_spec.check_response(request, ResponseAdapter(200, {"Content-Type": "application/json"}, bad), "GET")


def test_other_hosts_never_pass_through(fake_do):
    import requests

    with pytest.raises(requests.ConnectionError):
        requests.get("https://example.com/", timeout=1)
