"""The DigitalOcean cloud controller manager stand-in (tests/fakeccm.py) plays the load balancer lifecycle of
LoadBalancer Services as the real one does: adoption by id, deletion with the Service unless it is disowned,
a new load balancer for an id that names none, and two owners of one load balancer reported."""

from __future__ import annotations

import pytest

from fakeccm import DISOWN_ANNOTATION, ID_ANNOTATION, NAME_ANNOTATION, FakeCloudControllerManager, parse_bool


@pytest.fixture
def cloud(fake_kube, fake_do):
    cluster = fake_do.seed_cluster("shop-main")
    lb = fake_do.seed_load_balancer("shop-main-ingress")
    fake_kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    ccm = FakeCloudControllerManager(fake_kube, fake_do).install()
    yield {"kube": fake_kube, "do": fake_do, "cluster": cluster, "lb": lb, "ccm": ccm}
    assert ccm.errors == []


def _service(kube, name: str, namespace: str = "default", **annotations: str) -> dict:
    return kube.create({"apiVersion": "v1", "kind": "Service",
                        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
                        "spec": {"type": "LoadBalancer", "selector": {"app": name},
                                 "ports": [{"name": "http", "port": 80, "nodePort": 30080},
                                           {"name": "https", "port": 443, "nodePort": 30443}]}})


def test_a_service_adopts_the_load_balancer_by_id_and_its_deletion_deletes_it(cloud):
    kube, account, lb_id = cloud["kube"], cloud["do"].account, cloud["lb"]
    _service(kube, "edge", **{ID_ANNOTATION: lb_id, NAME_ANNOTATION: "shop-main-edge"})
    lb = account.load_balancers[lb_id]
    assert lb["name"] == "shop-main-edge", "the name annotation renames the load balancer"
    assert [(r["entry_port"], r["target_port"]) for r in lb["forwarding_rules"]] == [(80, 30080), (443, 30443)]
    assert lb["_cluster"] == cloud["cluster"], "tied to the cluster (listed among its associated resources)"
    status = kube.get("services", "edge", "default")["status"]["loadBalancer"]["ingress"]
    assert status == [{"ip": lb["_ip"]}]

    kube.delete("services", "edge", "default")
    assert account.load_balancers == {}, "the CCM deletes the load balancer of a deleted, owning Service"
    assert ("DELETE", f"/v2/load_balancers/{lb_id}") in cloud["ccm"].calls


@pytest.mark.parametrize("value", ["true", "1", "T", "TRUE", "True"])
def test_a_disowned_service_leaves_the_load_balancer_alone(cloud, value):
    kube, account, lb_id = cloud["kube"], cloud["do"].account, cloud["lb"]
    _service(kube, "old", **{ID_ANNOTATION: lb_id, DISOWN_ANNOTATION: value, NAME_ANNOTATION: "renamed"})
    assert account.load_balancers[lb_id]["name"] == "shop-main-ingress", "disowned: not even updated"
    assert not ((kube.get("services", "old", "default").get("status") or {}).get("loadBalancer") or {}).get("ingress")
    kube.delete("services", "old", "default")
    assert list(account.load_balancers) == [lb_id]


def test_disowning_an_owner_before_deleting_it_keeps_the_load_balancer(cloud):
    kube, account, lb_id = cloud["kube"], cloud["do"].account, cloud["lb"]
    _service(kube, "old", **{ID_ANNOTATION: lb_id})
    kube.update("services", "old", lambda obj: obj["metadata"]["annotations"].update({DISOWN_ANNOTATION: "true"}),
                "default")
    kube.delete("services", "old", "default")
    _service(kube, "new", "other", **{ID_ANNOTATION: lb_id})
    assert list(account.load_balancers) == [lb_id]
    assert kube.get("services", "new", "other")["status"]["loadBalancer"]["ingress"][0]["ip"] == \
        account.load_balancers[lb_id]["_ip"]
    assert cloud["ccm"].conflicts == []


@pytest.mark.parametrize("value", ["false", "0", "F"])
def test_disown_false_is_an_owner(cloud, value):
    kube, account = cloud["kube"], cloud["do"].account
    _service(kube, "edge", **{ID_ANNOTATION: cloud["lb"], DISOWN_ANNOTATION: value})
    kube.delete("services", "edge", "default")
    assert account.load_balancers == {}


def test_a_disown_value_the_ccm_cannot_parse_is_reported_and_changes_nothing(cloud):
    kube, account, lb_id = cloud["kube"], cloud["do"].account, cloud["lb"]
    _service(kube, "edge", **{ID_ANNOTATION: lb_id, DISOWN_ANNOTATION: "yes", NAME_ANNOTATION: "renamed"})
    kube.delete("services", "edge", "default")
    assert account.load_balancers[lb_id]["name"] == "shop-main-ingress"
    assert len(cloud["ccm"].events) == 2 and all("cannot convert value 'yes'" in e for e in cloud["ccm"].events)


def test_an_id_that_names_no_load_balancer_gets_a_new_one(cloud):
    kube, account, lb_id = cloud["kube"], cloud["do"].account, cloud["lb"]
    _service(kube, "edge", **{ID_ANNOTATION: "0b7f2b52-0000-4000-8000-000000000000", NAME_ANNOTATION: "fresh"})
    (new_id,) = set(account.load_balancers) - {lb_id}
    assert account.load_balancers[new_id]["name"] == "fresh"
    assert kube.get("services", "edge", "default")["metadata"]["annotations"][ID_ANNOTATION] == new_id


def test_two_owners_of_one_load_balancer_are_reported(cloud):
    kube, lb_id = cloud["kube"], cloud["lb"]
    _service(kube, "one", **{ID_ANNOTATION: lb_id})
    _service(kube, "two", "other", **{ID_ANNOTATION: lb_id})
    assert cloud["ccm"].conflicts == [f"Services default/one and other/two both own load balancer {lb_id}"]


def test_parse_bool_is_go_strconv():
    assert [parse_bool(v) for v in ("1", "t", "T", "TRUE", "true", "True")] == [True] * 6
    assert [parse_bool(v) for v in ("0", "f", "F", "FALSE", "false", "False")] == [False] * 6
    assert [parse_bool(v) for v in ("yes", "on", "tRUE", "", " true")] == [None] * 5
