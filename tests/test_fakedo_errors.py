"""Injected failures, authentication, the request log and scripted latency of the stand-in."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

from fakedo import ERROR_IDS
from fakedo.fixtures import *  # noqa: F403  (until tests/conftest.py imports them)

CLUSTER = {
    "name": "c",
    "region": "fra1",
    "version": "1.34.1-do.0",
    "node_pools": [{"name": "p", "size": "s-2vcpu-4gb", "count": 1}],
}


@pytest.mark.parametrize("status", [401, 403, 404, 422, 429, 500, 503])
def test_injected_status_surfaces_as_http_response_error(fake_do, do_client, status):
    fake_do.fail_next("POST", "/v2/kubernetes/clusters", status, message=f"injected {status}")
    with pytest.raises(HttpResponseError) as err:
        do_client.kubernetes.create_cluster(CLUSTER)
    assert err.value.status_code == status
    body = err.value.response.json()
    assert body["id"] == ERROR_IDS[status][0]
    assert body["message"] == f"injected {status}" and body["request_id"]
    assert f"injected {status}" in str(err.value)
    # Only the next request was affected, and nothing was created by the failed one.
    assert do_client.kubernetes.list_clusters()["meta"]["total"] == 0
    do_client.kubernetes.create_cluster(CLUSTER)
    assert [c.status for c in fake_do.calls("POST", "/v2/kubernetes/clusters")] == [status, 201]


def test_rate_limit_headers(fake_do, do_client):
    fake_do.fail_next(None, r"/v2/registry.*", 429, retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(HttpResponseError) as err:
            do_client.registry.get_options()
        headers = err.value.response.headers
        assert headers["Retry-After"] == "7" and headers["ratelimit-remaining"] == "0"
        assert int(headers["ratelimit-reset"]) > time.time()
    assert "subscription_tiers" in do_client.registry.get_options()["options"]


def test_default_client_retries_transient_failures(fake_do):
    client = fake_do.client()  # azure-core's default retry policy
    fake_do.fail_next("GET", "/v2/account", 503)
    fake_do.fail_next("GET", "/v2/account", 429, retry_after=0)
    assert client.account.get()["account"]["status"] == "active"
    assert [c.status for c in fake_do.calls("GET", "/v2/account")] == [503, 429, 200]


def test_connection_refused_surfaces_as_service_request_error(fake_do, do_client):
    fake_do.refuse_next("POST", "/v2/load_balancers")
    rules = [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}]
    with pytest.raises(ServiceRequestError):
        do_client.load_balancers.create({"name": "lb", "region": "fra1", "forwarding_rules": rules, "tag": "k8s"})
    assert fake_do.calls("POST", "/v2/load_balancers")[0].status == "connection-error"
    assert do_client.load_balancers.list()["load_balancers"] == []


def test_invalid_token_is_401_and_never_logged(fake_do):
    secret = "dop_v1_" + "9" * 64
    client = fake_do.client(token=secret, retry_total=0)
    with pytest.raises(ClientAuthenticationError) as err:
        client.account.get()
    assert err.value.status_code == 401
    assert err.value.response.json()["id"] == "unauthorized"
    fake_do.client(retry_total=0).account.get()
    assert [c.auth for c in fake_do.log] == ["invalid", "valid"]
    assert secret not in repr(fake_do.log) and fake_do.token not in repr(fake_do.log)


def test_read_only_token_cannot_write(fake_do_factory):
    fake = fake_do_factory(read_only_tokens=("dop_v1_readonly",))
    client = fake.client(token="dop_v1_readonly", retry_total=0)
    assert client.kubernetes.list_clusters()["meta"]["total"] == 0
    with pytest.raises(HttpResponseError) as err:
        client.kubernetes.create_cluster(CLUSTER)
    assert err.value.status_code == 403 and err.value.response.json()["id"] == "forbidden"


def test_request_log_shows_duplicate_creates(fake_do, do_client):
    do_client.domains.create({"name": "example.com"})
    with pytest.raises(HttpResponseError):
        do_client.domains.create({"name": "example.com"})
    creates = fake_do.calls("POST", "/v2/domains")
    assert [(c.json, c.status) for c in creates] == [({"name": "example.com"}, 201)] + [({"name": "example.com"}, 422)]
    assert creates[0].operation_id == "domains_create"


def test_auto_advancing_clock(fake_do_factory):
    from fakedo import ManualClock

    fake = fake_do_factory(clock=ManualClock(auto_advance=30), durations={"cluster": 90})
    client = fake.client(retry_total=0)
    cid = client.kubernetes.create_cluster(CLUSTER)["kubernetes_cluster"]["id"]
    states = [client.kubernetes.get_cluster(cid)["kubernetes_cluster"]["status"]["state"] for _ in range(3)]
    assert states == ["provisioning", "provisioning", "running"]


def test_scripted_latency_overlaps_concurrent_creates(fake_do_factory):
    fake = fake_do_factory(latencies={"cluster": 0.3, "load_balancer": 0.2, "dns_record": 0.15})
    client = fake.client(retry_total=0)
    fake.seed_domain("example.com")
    rules = [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}]
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        records = [
            pool.submit(
                client.domains.create_record, "example.com", {"type": "A", "name": f"h{i}", "data": "192.0.2.1"}
            )
            for i in range(4)
        ]
        for future in records:
            future.result()
    assert time.monotonic() - started < 0.45  # four 0.15 s creates overlapped
    cid = client.kubernetes.create_cluster(CLUSTER)["kubernetes_cluster"]["id"]
    lb = client.load_balancers.create({"name": "lb", "region": "fra1", "forwarding_rules": rules, "tag": "k8s"})[
        "load_balancer"
    ]
    assert lb["status"] == "new"
    time.sleep(0.35)
    assert client.kubernetes.get_cluster(cid)["kubernetes_cluster"]["status"]["state"] == "running"
    assert client.load_balancers.get(lb["id"])["load_balancer"]["status"] == "active"
