"""The pure infrastructure plan: names, DNS hosts, versions, and one decision per resource."""

from __future__ import annotations

import dataclasses

import pytest

from fakedo.scenarios import load_platform, platform_yaml
from kubectl_gitops.core import infra as m

OPTIONS = m.AccountOptions(
    regions=("fra1", "ams3"), sizes=("s-2vcpu-4gb", "s-4vcpu-8gb"),
    versions=(("1.34.9-do.0", "1.34.9"), ("1.34.10-do.1", "1.34.10"), ("1.33.5-do.0", "1.33.5")),
    registry_regions=("fra1", "ams3"),
)
TAG = "kubectl-gitops:shop"


@pytest.fixture
def config(tmp_path):
    return load_platform(platform_yaml(), tmp_path)


def observed(**kwargs) -> m.Observed:
    base = dict(options=OPTIONS, registry=None, clusters=(), load_balancers=(), domain_exists=True, records=(),
                registry_name_available=True)
    return m.Observed(**{**base, **kwargs})


def rows(decisions) -> dict[tuple[str, str], m.PlanRow]:
    return {(d.row.kind, d.row.name): d.row for d in decisions}


def cluster(name="shop-dev", *, tags=(TAG,), region="fra1", state="running", pools=None, registry=False):
    pools = pools or (m.NodePoolState("p1", "dev-nodes", "s-2vcpu-4gb", 2),)
    return m.ClusterState(f"id-{name}", name, region, "1.34.10-do.1", state, ("k8s", f"k8s:id-{name}", *tags),
                          registry, pools)


def test_names(config):
    assert m.platform_tag(config) == TAG
    assert m.cluster_name(config, "dev") == "shop-dev"
    assert m.load_balancer_name(config, "prod") == "shop-prod-ingress"
    assert m.context_name(config, "prod") == "do-fra1-shop-prod"
    assert [c.name for c in m.used_clusters(config)] == ["dev", "prod"]


def test_newest_patch_of_the_minor_is_picked_numerically():
    assert m.resolve_version("1.34", OPTIONS.versions) == "1.34.10-do.1"
    assert m.resolve_version("1.33", OPTIONS.versions) == "1.33.5-do.0"
    assert m.resolve_version("1.35", OPTIONS.versions) is None


def test_dns_hosts(tmp_path):
    config = load_platform(platform_yaml(dashboard=True, apps=1), tmp_path)
    hosts = {h.fqdn: (h.cluster, h.purposes) for h in m.dns_hosts(config)}
    assert hosts == {
        "argo.shop.example.com": ("dev", ("Argo CD",)),
        "tekton.shop.example.com": ("dev", ("Tekton Dashboard",)),
        "hooks.shop.example.com": ("dev", ("git push webhooks",)),
        "app0.dev.shop.example.com": ("dev", ("application app0 (dev)",)),
        "app0.shop.example.com": ("prod", ("application app0 (prod)",)),
    }
    assert m.record_name("shop.example.com", "shop.example.com") == "@"
    assert m.record_name("a.b.shop.example.com.", "shop.example.com") == "a.b"
    assert m.record_name("shop.example.org", "shop.example.com") is None
    assert m.record_name("xshop.example.com", "shop.example.com") is None


def test_host_outside_the_domain_and_host_on_two_clusters_are_blocked(tmp_path):
    text = platform_yaml(apps=1).replace("prod: app0.shop.example.com", "prod: app0.example.org")
    config = load_platform(text, tmp_path)
    row = rows(m.decide(config, observed()))[("dns_record", "app0.example.org")]
    assert row.action == "blocked" and "not inside domain shop.example.com" in row.reason
    text = platform_yaml(apps=1).replace("prod: app0.shop.example.com", "prod: app0.dev.shop.example.com")
    config = load_platform(text, tmp_path)
    row = rows(m.decide(config, observed()))[("dns_record", "app0.dev.shop.example.com")]
    assert row.action == "blocked" and "different clusters (dev,prod)" in row.reason


def test_empty_account(config):
    got = rows(m.decide(config, observed()))
    assert got[("cluster", "shop-dev")] == m.PlanRow("cluster", "shop-dev", "create",
                                                     "Kubernetes 1.34.10-do.1 in fra1, 2 x s-2vcpu-4gb")
    assert got[("cluster", "shop-prod")].reason.endswith("3 x s-4vcpu-8gb, autoscaling 3..5")
    assert {r.action for k, r in got.items() if k[0] != "domain"} == {"create"}
    assert got[("domain", "shop.example.com")].action == "keep"


@pytest.mark.parametrize(("change", "words"), [
    ({"regions": ("ams3",)}, "no Kubernetes in region fra1: choose one of ams3"),
    ({"sizes": ("s-4vcpu-8gb",)}, "node size s-2vcpu-4gb is not offered"),
    ({"versions": (("1.33.5-do.0", "1.33.5"),)}, "offers no Kubernetes 1.34 (it offers 1.33)"),
])
def test_what_the_account_cannot_create_is_blocked(config, change, words):
    row = rows(m.decide(config, observed(options=dataclasses.replace(OPTIONS, **change))))[("cluster", "shop-dev")]
    assert row.action == "blocked" and words in row.reason


def test_invalid_extra_tag_is_blocked(tmp_path):
    config = load_platform(platform_yaml().replace("tags: [production]", "tags: [prod.eu]"), tmp_path)
    row = rows(m.decide(config, None))[("cluster", "shop-prod")]
    assert row.action == "blocked" and "prod.eu" in row.reason


@pytest.mark.parametrize(("state", "action", "words"), [
    (dict(region="ams3"), "blocked", "a cluster cannot move"),
    (dict(state="deleting"), "blocked", "being deleted"),
    (dict(state="error"), "blocked", "state error"),
    (dict(state="provisioning"), "keep", "provisioning: will wait for it"),
    (dict(tags=()), "blocked", "did not create it"),
])
def test_existing_cluster_states(config, state, action, words):
    row = rows(m.decide(config, observed(clusters=(cluster(**state),))))[("cluster", "shop-dev")]
    assert row.action == action and words in row.reason


def test_node_size_difference_is_noted_not_changed(config):
    pools = (m.NodePoolState("p1", "dev-nodes", "s-4vcpu-8gb", 2),)
    decision = next(d for d in m.decide(config, observed(clusters=(cluster(pools=pools),)))
                    if d.row.name == "shop-dev" and d.row.kind == "cluster")
    assert decision.action == "keep" and "cannot resize a node pool in place" in decision.row.reason


def test_node_count_drift_is_an_update(config):
    pools = (m.NodePoolState("p1", "dev-nodes", "s-2vcpu-4gb", 5),)
    decision = next(d for d in m.decide(config, observed(clusters=(cluster(pools=pools),)))
                    if d.row.name == "shop-dev" and d.row.kind == "cluster")
    assert decision.action == "update" and decision.changes["node_pool"][1] == {"count": 2}


def test_load_balancer_states(config):
    def lb(**kw):
        base = dict(id="lb1", name="shop-dev-ingress", region="fra1", status="active", ip="192.0.2.7")
        return m.LoadBalancerState(**{**base, **kw})

    def row(*lbs):
        return rows(m.decide(config, observed(load_balancers=lbs)))[("load_balancer", "shop-dev-ingress")]

    assert row(lb()).action == "keep" and row(lb()).reason == "active at 192.0.2.7"
    assert row(lb(status="new", ip="")).reason == "new: will wait for its IP"
    assert row(lb(status="errored")).action == "blocked"
    assert row(lb(region="ams3")).action == "blocked"
    assert "delete all but one" in row(lb(), lb(id="lb2")).reason
    assert row(lb(name="other")).action == "create"


def test_records(config):
    lb = m.LoadBalancerState("lb1", "shop-dev-ingress", "fra1", "active", "192.0.2.7")

    def row(*records):
        got = rows(m.decide(config, observed(load_balancers=(lb,), records=records)))
        return got[("dns_record", "argo.shop.example.com")]

    assert row(m.RecordState(1, "A", "argo", "192.0.2.7")).action == "keep"
    assert row(m.RecordState(1, "A", "argo", "192.0.2.99")).action == "update"
    assert row(m.RecordState(1, "A", "argo", "192.0.2.1"), m.RecordState(2, "A", "argo", "192.0.2.2")).action == \
        "blocked"
    assert "left alone: 192.0.2.2" in row(m.RecordState(1, "A", "argo", "192.0.2.7"),
                                          m.RecordState(2, "A", "argo", "192.0.2.2")).reason
    assert row(m.RecordState(1, "CNAME", "argo", "x.example.org.")).action == "blocked"
    assert row(m.RecordState(1, "TXT", "argo", "hello")).action == "create"


def test_registry(config):
    def row(**kw):
        return rows(m.decide(config, observed(**kw)))[("registry", "shop-images")]

    assert row().reason == "tier basic, in fra1"
    assert row(options=dataclasses.replace(OPTIONS, registry_regions=("nyc3",))).reason.endswith(
        "in DigitalOcean's default registry region")
    assert row(registry_name_available=False).action == "blocked"
    assert row(registry=m.RegistryState("shop-images", "professional")).reason == \
        "tier professional (gitops.yaml says basic; a registry is never downgraded)"
    assert row(registry=m.RegistryState("shop-images", "starter")).action == "update"
    assert row(registry=m.RegistryState("other", "basic")).action == "blocked"


def test_registry_integration_and_credentials(config):
    got = rows(m.decide(config, observed(clusters=(cluster(registry=True),)), push_credentials=False))
    assert got[("registry_integration", "shop-dev")].action == "keep"
    assert got[("registry_integration", "shop-prod")].action == "create"
    assert not any(k[0] == "registry_credentials" for k in got)
    got = rows(m.decide(config, observed()))
    assert "expire after 3600 s" in got[("registry_credentials", "shop-images")].reason


def test_kubeconfig_rows_come_from_the_inspection(config):
    got = rows(m.decide(config, observed(), kubeconfig_rows={"dev": ("blocked", "foreign context")}))
    assert got[("kubeconfig", "do-fra1-shop-dev")] == m.PlanRow("kubeconfig", "do-fra1-shop-dev", "blocked",
                                                                "foreign context")
    assert got[("kubeconfig", "do-fra1-shop-prod")].action == "create"


def test_without_dns_management_there_are_no_domain_or_records(tmp_path):
    config = load_platform(platform_yaml(manage_dns=False), tmp_path)
    kinds = {d.row.kind for d in m.decide(config, None)}
    assert "domain" not in kinds and "dns_record" not in kinds and "cluster" in kinds


def test_offline_plan(tmp_path):
    got = rows(m.decide(load_platform(platform_yaml(create_domain=True), tmp_path), None))
    assert got[("domain", "shop.example.com")].action == "create"
    assert got[("cluster", "shop-dev")].reason.endswith(f"({m.OFFLINE_NOTE})")
    got = rows(m.decide(load_platform(platform_yaml(), tmp_path), None))
    assert got[("domain", "shop.example.com")].action == "keep"
    assert "must already be in the account" in got[("domain", "shop.example.com")].reason


def test_plan_row_as_dict():
    assert m.PlanRow("cluster", "a", "create", "b").as_dict() == {"kind": "cluster", "name": "a", "action": "create",
                                                                  "reason": "b"}
