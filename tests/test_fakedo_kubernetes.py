"""DOKS endpoints of the DigitalOcean stand-in, through the real pydo client."""

from __future__ import annotations

import base64

import pytest
from azure.core.rest import HttpRequest

from fakedo.fixtures import *  # noqa: F403  (until tests/conftest.py imports them)

CLUSTER = {
    "name": "gitops-prod",
    "region": "fra1",
    "version": "1.34.1-do.0",
    "tags": ["gitops", "env:prod"],
    "node_pools": [{"name": "workers", "size": "s-2vcpu-4gb", "count": 2, "tags": ["pool:workers"]}],
}


def test_options_list_regions_versions_and_sizes(do_client):
    options = do_client.kubernetes.list_options()["options"]
    assert "fra1" in {r["slug"] for r in options["regions"]}
    assert "1.34.1-do.0" in {v["slug"] for v in options["versions"]}
    assert "s-2vcpu-4gb" in {s["slug"] for s in options["sizes"]}


def test_cluster_goes_from_provisioning_to_running_on_the_clock(fake_do, do_client):
    created = do_client.kubernetes.create_cluster(CLUSTER)["kubernetes_cluster"]
    cid = created["id"]
    assert created["status"]["state"] == "provisioning"
    assert {"k8s", f"k8s:{cid}", "gitops", "env:prod"} <= set(created["tags"])
    assert created["node_pools"][0]["nodes"][0]["status"]["state"] == "provisioning"
    fake_do.advance(60)
    assert do_client.kubernetes.get_cluster(cid)["kubernetes_cluster"]["status"]["state"] == "provisioning"
    fake_do.settle()
    cluster = do_client.kubernetes.get_cluster(cid)["kubernetes_cluster"]
    assert cluster["status"]["state"] == "running"
    assert cluster["ipv4"]
    assert all(n["status"]["state"] == "running" for n in cluster["node_pools"][0]["nodes"])
    assert len(fake_do.calls("POST", "/v2/kubernetes/clusters")) == 1


def test_invalid_choices_are_422(do_client):
    from azure.core.exceptions import HttpResponseError

    with pytest.raises(HttpResponseError) as err:
        do_client.kubernetes.create_cluster({**CLUSTER, "region": "mars1"})
    assert err.value.status_code == 422
    assert "mars1" in err.value.response.json()["message"]
    do_client.kubernetes.create_cluster(CLUSTER)
    with pytest.raises(HttpResponseError) as err:
        do_client.kubernetes.create_cluster(CLUSTER)
    assert "already exists" in err.value.response.json()["message"]


def test_list_paginates_with_links_and_total(fake_do, do_client):
    for i in range(5):
        fake_do.seed_cluster(f"c{i}")
    first = do_client.kubernetes.list_clusters(per_page=2)
    assert [c["name"] for c in first["kubernetes_clusters"]] == ["c0", "c1"]
    assert first["meta"]["total"] == 5
    assert "page=2" in first["links"]["pages"]["next"] and "page=3" in first["links"]["pages"]["last"]
    last = do_client.kubernetes.list_clusters(per_page=2, page=3)
    assert [c["name"] for c in last["kubernetes_clusters"]] == ["c4"]
    assert "next" not in last["links"]["pages"] and "page=2" in last["links"]["pages"]["prev"]


def test_unknown_cluster_is_404_body(do_client):
    # pydo returns the 404 body of GET operations instead of raising.
    missing = do_client.kubernetes.get_cluster("7f1c4a53-64c3-4ed7-9d3b-2bbd0a1c4a11")
    assert missing["id"] == "not_found"
    assert missing["request_id"]


def test_update_and_delete_cluster(fake_do, do_client):
    cid = fake_do.seed_cluster("old")
    updated = do_client.kubernetes.update_cluster(cid, {"name": "new", "tags": ["team:web"]})
    assert updated["kubernetes_cluster"]["name"] == "new"
    assert fake_do.account.tagged("team:web", "kubernetes") == [cid]
    do_client.kubernetes.delete_cluster(cid)
    assert do_client.kubernetes.list_clusters()["kubernetes_clusters"] == []
    assert fake_do.account.tagged("team:web") == []


def test_node_pools_round_trip(fake_do, do_client):
    cid = fake_do.seed_cluster()
    pool = do_client.kubernetes.add_node_pool(cid, {"name": "ci", "size": "s-4vcpu-8gb", "count": 1})["node_pool"]
    assert len(pool["nodes"]) == 1
    grown = do_client.kubernetes.update_node_pool(cid, pool["id"], {"name": "ci", "count": 3})["node_pool"]
    assert len(grown["nodes"]) == 3
    names = [p["name"] for p in do_client.kubernetes.list_node_pools(cid)["node_pools"]]
    assert names == ["default", "ci"]
    assert do_client.kubernetes.get_node_pool(cid, pool["id"])["node_pool"]["count"] == 3
    do_client.kubernetes.delete_node_pool(cid, pool["id"])
    assert len(do_client.kubernetes.list_node_pools(cid)["node_pools"]) == 1


def test_credentials_and_kubeconfig(fake_do, do_client):
    cid = fake_do.seed_cluster()
    creds = do_client.kubernetes.get_credentials(cid, expiry_seconds=600)
    assert creds["server"].startswith("https://") and creds["token"]
    assert base64.b64decode(creds["certificate_authority_data"]).startswith(b"-----BEGIN CERTIFICATE-----")
    assert creds["expires_at"] == "2026-01-01T00:10:00Z"
    assert fake_do.calls("GET", "/v2/kubernetes/clusters/{id}/credentials")[0].query == {"expiry_seconds": ["600"]}
    fake_do.set_kube_endpoint("https://127.0.0.1:6443", token="stand-in-token")
    assert do_client.kubernetes.get_credentials(cid)["server"] == "https://127.0.0.1:6443"
    request = HttpRequest("GET", f"/v2/kubernetes/clusters/{cid}/kubeconfig", headers={"Accept": "application/yaml"})
    response = do_client.send_request(request, stream=True)
    text = response.read().decode()
    assert response.status_code == 200 and "server: https://127.0.0.1:6443" in text
    assert "token: stand-in-token" in text


def test_pydo_get_kubeconfig_is_refused_like_the_real_api(fake_do, do_client):
    from azure.core.exceptions import HttpResponseError

    cid = fake_do.seed_cluster()
    with pytest.raises(HttpResponseError) as err:
        do_client.kubernetes.get_kubeconfig(cid)
    assert err.value.status_code == 406


def test_registry_integration(fake_do, do_client):
    from azure.core.exceptions import HttpResponseError

    cid = fake_do.seed_cluster()
    with pytest.raises(HttpResponseError) as err:
        do_client.kubernetes.add_registry({"cluster_uuids": [cid]})
    assert err.value.status_code == 404
    fake_do.seed_registry("acme")
    do_client.kubernetes.add_registry({"cluster_uuids": [cid]})
    assert do_client.kubernetes.get_cluster(cid)["kubernetes_cluster"]["registry_enabled"] is True
    do_client.kubernetes.remove_registry({"cluster_uuids": [cid]})
    assert do_client.kubernetes.get_cluster(cid)["kubernetes_cluster"]["registry_enabled"] is False


def test_destroy_with_associated_resources(fake_do, do_client):
    cid = fake_do.seed_cluster()
    lb = fake_do.seed_load_balancer("ingress", cluster_id=cid)
    vol = fake_do.seed_volume("pvc-1", cluster_id=cid)
    assoc = do_client.kubernetes.list_associated_resources(cid)
    assert assoc["load_balancers"] == [{"id": lb, "name": "ingress"}]
    assert [v["id"] for v in assoc["volumes"]] == [vol]
    do_client.kubernetes.destroy_associated_resources_dangerous(cid)
    assert do_client.load_balancers.list()["load_balancers"] == []
    assert do_client.kubernetes.list_clusters()["meta"]["total"] == 0


def test_destroy_selective_keeps_unlisted_resources(fake_do, do_client):
    cid = fake_do.seed_cluster()
    doomed = fake_do.seed_load_balancer("ingress", cluster_id=cid)
    kept = fake_do.seed_load_balancer("other", cluster_id=cid)
    do_client.kubernetes.destroy_associated_resources_selective(cid, {"load_balancers": [doomed]})
    assert [lb["id"] for lb in do_client.load_balancers.list()["load_balancers"]] == [kept]
    assert do_client.kubernetes.list_clusters()["kubernetes_clusters"] == []
