"""Load balancers, domains, records and tags of the DigitalOcean stand-in."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from fakedo.fixtures import *  # noqa: F403  (until tests/conftest.py imports them)

LB = {
    "name": "ingress",
    "region": "fra1",
    "size_unit": 1,
    "forwarding_rules": [
        {"entry_protocol": "tcp", "entry_port": 80, "target_protocol": "tcp", "target_port": 30080},
        {"entry_protocol": "tcp", "entry_port": 443, "target_protocol": "tcp", "target_port": 30443},
    ],
    "enable_proxy_protocol": True,
    "tag": "k8s:workers",
}


def test_load_balancer_new_then_active_with_ip(fake_do, do_client):
    lb = do_client.load_balancers.create(LB)["load_balancer"]
    assert lb["status"] == "new" and lb["ip"] == ""
    fake_do.settle()
    lb = do_client.load_balancers.get(lb["id"])["load_balancer"]
    assert lb["status"] == "active" and lb["ip"].count(".") == 3
    assert lb["enable_proxy_protocol"] is True
    assert [x["id"] for x in do_client.load_balancers.list()["load_balancers"]] == [lb["id"]]
    do_client.load_balancers.delete(lb["id"])
    assert do_client.load_balancers.get(lb["id"])["id"] == "not_found"


def test_load_balancer_list_pagination(fake_do, do_client):
    for i in range(3):
        fake_do.seed_load_balancer(f"lb{i}")
    page = do_client.load_balancers.list(per_page=2, page=2)
    assert [x["name"] for x in page["load_balancers"]] == ["lb2"]
    assert page["meta"]["total"] == 3


def test_domains_and_records(do_client):
    domain = do_client.domains.create({"name": "example.com", "ip_address": "203.0.113.9"})["domain"]
    assert domain["name"] == "example.com" and "203.0.113.9" in domain["zone_file"]
    assert do_client.domains.get("example.com")["domain"]["ttl"] == 1800
    assert [d["name"] for d in do_client.domains.list()["domains"]] == ["example.com"]
    rec = do_client.domains.create_record(
        "example.com", {"type": "A", "name": "argocd", "data": "203.0.113.10", "ttl": 300}
    )["domain_record"]
    # The spec's TXT schema requires ``flags`` and ``tag`` (nullable), so clients send them as null.
    txt = {"type": "TXT", "name": "argocd", "data": "owner=gitops", "flags": None, "tag": None}
    do_client.domains.create_record("example.com", txt)
    by_name = do_client.domains.list_records("example.com", name="argocd.example.com")["domain_records"]
    assert {r["type"] for r in by_name} == {"A", "TXT"}
    assert do_client.domains.list_records("example.com", name="argocd")["domain_records"] == []
    only_a = do_client.domains.list_records("example.com", name="argocd.example.com", type="A")
    assert [r["id"] for r in only_a["domain_records"]] == [rec["id"]]
    ns = do_client.domains.list_records("example.com", type="NS")
    assert ns["meta"]["total"] == 3
    updated = do_client.domains.patch_record("example.com", rec["id"], {"type": "A", "data": "203.0.113.11"})
    assert updated["domain_record"]["data"] == "203.0.113.11"
    do_client.domains.delete_record("example.com", rec["id"])
    assert do_client.domains.get_record("example.com", rec["id"])["id"] == "not_found"
    do_client.domains.delete("example.com")
    assert do_client.domains.list()["meta"]["total"] == 0


def test_record_semantics_are_checked(fake_do, do_client):
    fake_do.seed_domain("example.com")
    with pytest.raises(HttpResponseError) as err:
        do_client.domains.create_record("example.com", {"type": "A", "name": "www", "data": "not-an-ip"})
    assert err.value.status_code == 422
    with pytest.raises(HttpResponseError) as err:
        do_client.domains.create({"name": "example.com"})
    assert err.value.response.json()["message"] == "Name already in use"


def test_tags_follow_resources(fake_do, do_client):
    do_client.tags.create({"name": "gitops"})
    cid = do_client.kubernetes.create_cluster(
        {
            "name": "c",
            "region": "fra1",
            "version": "1.34.1-do.0",
            "tags": ["gitops"],
            "node_pools": [{"name": "p", "size": "s-2vcpu-4gb", "count": 1}],
        }
    )["kubernetes_cluster"]["id"]
    tag = do_client.tags.get("gitops")["tag"]
    assert tag["resources"]["count"] == 1
    assert tag["resources"]["last_tagged_uri"].endswith(f"/v2/kubernetes/clusters/{cid}")
    do_client.tags.assign_resources("gitops", {"resources": [{"resource_id": "123", "resource_type": "droplet"}]})
    tag = do_client.tags.get("gitops")["tag"]
    assert tag["resources"]["count"] == 2 and tag["resources"]["droplets"]["count"] == 1
    do_client.tags.unassign_resources("gitops", {"resources": [{"resource_id": "123", "resource_type": "droplet"}]})
    assert do_client.tags.get("gitops")["tag"]["resources"]["droplets"]["count"] == 0
    names = [t["name"] for t in do_client.tags.list(per_page=200)["tags"]]
    assert {"gitops", "k8s", f"k8s:{cid}"} <= set(names)
    do_client.tags.delete("gitops")
    assert "gitops" not in do_client.kubernetes.get_cluster(cid)["kubernetes_cluster"]["tags"]
