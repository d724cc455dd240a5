"""Whole provisioning workflows against the stateful DigitalOcean stand-in.

Every request is checked against DigitalOcean's OpenAPI spec by the stand-in (the fixture fails the
test otherwise). Clusters and load balancers become ready on the stand-in's clock, which moves a
little with every request, so the workflow's waits run for real without wall-clock sleeping.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from fakedo import ManualClock
from fakedo.scenarios import fast_api, inventory, load_platform, platform_yaml, writes
from kubectl_gitops.core import kubeconfig as kc
from kubectl_gitops.core.errors import (
    CloudPermissionError,
    GitopsError,
    InfrastructureBlocked,
    UsageError,
    WaitTimedOut,
)
from kubectl_gitops.core.progress import Reporter
from kubectl_gitops.core.secrets import Secret
from kubectl_gitops.workflows import infra

TAG = "kubectl-gitops:shop"
DURATIONS = {"cluster": 120.0, "node_pool": 120.0, "load_balancer": 40.0}


class Lines(list):
    def reporter(self) -> Reporter:
        return Reporter(emit=lambda symbol, message: self.append(f"{symbol} {message}"), verbose=True)


@pytest.fixture
def account(fake_do_factory):
    fake = fake_do_factory(clock=ManualClock(auto_advance=10), durations=DURATIONS)
    fake.seed_domain("shop.example.com")
    return fake


def provision(fake, config, tmp_path, *, lines=None, push=True, **kwargs):
    lines = Lines() if lines is None else lines
    return infra.provision(config, token=Secret(fake.token), kubeconfig=str(tmp_path / "kubeconfig"),
                           timeout=kwargs.pop("timeout", 60), reporter=lines.reporter(), api=fast_api(fake),
                           push_credentials=push, poll_interval=kwargs.pop("poll_interval", 0.001), **kwargs)


def expected_inventory(shared: bool = False) -> dict:
    dev, prod = "shop-dev-ingress", ("shop-dev-ingress" if shared else "shop-prod-ingress")
    clusters = {
        "shop-dev": {"count": 1, "region": "fra1", "version": "1.34.1-do.0", "tags": [TAG], "registry": True,
                     "pools": [("dev-nodes", "s-2vcpu-4gb", 2, False)]},
    }
    if not shared:
        clusters["shop-prod"] = {"count": 1, "region": "fra1", "version": "1.34.1-do.0",
                                 "tags": [TAG, "production"], "registry": True,
                                 "pools": [("prod-nodes", "s-4vcpu-8gb", 3, True)]}
    return {
        "registry": ("shop-images", "basic"),
        "clusters": clusters,
        "load_balancers": {f"{n}@fra1": 1 for n in {dev, prod}},
        "records": {"shop.example.com": sorted([
            ("A", "app0", prod), ("A", "app0.dev", dev), ("A", "app1", prod), ("A", "app1.dev", dev),
            ("A", "argo", dev), ("A", "hooks", dev)])},
        "tags": {TAG: sorted(clusters), **({} if shared else {"production": ["shop-prod"]})},
    }


def test_empty_account(account, tmp_path):
    config = load_platform(platform_yaml(), tmp_path)
    lines = Lines()
    result = provision(account, config, tmp_path, lines=lines)

    assert inventory(account) == expected_inventory()
    actions = {(r.kind, r.name): r.action for r in result.rows}
    assert actions.pop(("domain", "shop.example.com")) == "up to date"
    assert set(actions.values()) == {"created"} and len(actions) == 16
    # access per cluster matches the account
    for key in ("dev", "prod"):
        access = result.clusters[key]
        cluster = account.account.clusters[access.cluster_id]
        lb = account.account.load_balancers[access.load_balancer_id]
        assert (cluster["name"], lb["name"]) == (f"shop-{key}", f"shop-{key}-ingress")
        assert access.load_balancer_ip == lb["_ip"] and access.context == f"do-fra1-shop-{key}"
        assert access.kubeconfig == str(tmp_path / "kubeconfig")
    # kubeconfig: both contexts, the management one current, mode 0600
    doc = kc.loads((tmp_path / "kubeconfig").read_text(), source="kc")
    assert sorted(kc.owned_contexts(doc, "shop")) == ["do-fra1-shop-dev", "do-fra1-shop-prod"]
    assert doc["current-context"] == "do-fra1-shop-dev"
    assert oct((tmp_path / "kubeconfig").stat().st_mode & 0o777) == "0o600"
    # read-write registry credentials with the configured expiry, for the CI namespace
    (issued,) = account.account.issued_registry_credentials
    assert issued["read_write"] is True and issued["expiry_seconds"] == 3600
    assert "auths" in json.loads(result.registry_push_dockerconfig.reveal())
    assert "registryPushCredentials" in result.as_dict() and issued["token"] not in json.dumps(result.as_dict())
    # waits were reported with the elapsed time
    assert any(line.startswith("◎ cluster shop-dev: provisioning (") for line in lines)
    assert any("load balancer shop-dev-ingress: active at" in line for line in lines)


def test_independent_creates_do_not_wait_for_each_other(fake_do_factory, tmp_path):
    # slow enough on the stand-in's clock that no create can be late for its own reason
    account = fake_do_factory(clock=ManualClock(auto_advance=10),
                              durations={"cluster": 500.0, "node_pool": 500.0, "load_balancer": 200.0})
    account.seed_domain("shop.example.com")
    provision(account, load_platform(platform_yaml(), tmp_path), tmp_path)
    log = [f"{r.method} {r.path}" for r in account.log]
    first = {entry: log.index(entry) for entry in reversed(log)}
    # every cluster and load balancer is created before any DNS record (which waits for an IP) ...
    creates = [i for i, e in enumerate(log) if e in {"POST /v2/kubernetes/clusters", "POST /v2/load_balancers"}]
    assert len(creates) == 4
    assert max(creates) < first["POST /v2/domains/shop.example.com/records"]
    # ... and DNS records go in as soon as their load balancer has an IP, before the clusters are ready
    assert first["POST /v2/domains/shop.example.com/records"] < first["POST /v2/kubernetes/registry"]
    assert first["POST /v2/registry"] < first["POST /v2/kubernetes/registry"]


def test_fully_provisioned_account_sends_no_write(account, tmp_path):
    config = load_platform(platform_yaml(), tmp_path)
    provision(account, config, tmp_path)
    kubeconfig = tmp_path / "kubeconfig"
    before = (kubeconfig.read_text(), kubeconfig.stat().st_ino, kubeconfig.stat().st_mtime_ns)
    state = inventory(account)
    account.log.clear()

    lines = Lines()
    result = provision(account, config, tmp_path, lines=lines, push=False)

    assert [c for c in account.log if c.method != "GET"] == []
    assert {r.action for r in result.rows} == {"up to date"} and len(result.rows) == 16
    assert not result.changed and result.registry_push_dockerconfig is None
    assert inventory(account) == state
    assert (kubeconfig.read_text(), kubeconfig.stat().st_ino, kubeconfig.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gitops.yaml", "kubeconfig"]  # no backup either
    assert lines[-1] == "✔ infrastructure of shop: every resource up to date"

    # push credentials are a read: still no write
    result = provision(account, config, tmp_path)
    assert [c for c in account.log if c.method != "GET"] == []
    assert [r.action for r in result.rows if r.kind == "registry_credentials"] == ["created"]
    # and the plan says keep for everything
    plan = infra.plan(config, token=Secret(account.token), reporter=Reporter(), kubeconfig=str(kubeconfig),
                      api=fast_api(account), push_credentials=False)
    assert {r.action for r in plan.rows} == {"keep"} and not plan.offline


def test_partly_provisioned_account(account, tmp_path):
    config = load_platform(platform_yaml(), tmp_path)
    account.seed_registry("shop-images", tier="basic")
    dev = account.seed_cluster("shop-dev", tags=[TAG], node_pools=[
        {"name": "dev-nodes", "size": "s-2vcpu-4gb", "count": 2}])
    lb = account.seed_load_balancer("shop-dev-ingress", cluster_id=dev)
    ip = account.account.load_balancers[lb]["_ip"]
    account.account.records["shop.example.com"].append(
        account.account._make_record({"type": "A", "name": "argo", "data": ip}))

    result = provision(account, config, tmp_path)

    actions = {(r.kind, r.name): r.action for r in result.rows}
    for key in [("registry", "shop-images"), ("cluster", "shop-dev"), ("load_balancer", "shop-dev-ingress"),
                ("dns_record", "argo.shop.example.com")]:
        assert actions[key] == "up to date", key
    for key in [("cluster", "shop-prod"), ("load_balancer", "shop-prod-ingress"),
                ("dns_record", "hooks.shop.example.com"), ("registry_integration", "shop-dev")]:
        assert actions[key] == "created", key
    assert inventory(account) == expected_inventory()
    assert result.clusters["dev"].cluster_id == dev and result.clusters["dev"].load_balancer_id == lb
    assert writes(account).count("POST /v2/kubernetes/clusters") == 1


def test_shared_cluster(account, tmp_path):
    config = load_platform(platform_yaml(shared_cluster=True), tmp_path)
    result = provision(account, config, tmp_path)
    assert inventory(account) == expected_inventory(shared=True)
    assert list(result.clusters) == ["dev"]


def test_registry_with_another_name_is_blocked_before_anything(account, tmp_path):
    account.seed_registry("someone-elses")
    config = load_platform(platform_yaml(), tmp_path)
    before = inventory(account)
    with pytest.raises(InfrastructureBlocked) as err:
        provision(account, config, tmp_path)
    text = str(err.value)
    assert "\n" not in text and "the account's registry is someone-elses" in text
    assert "set registry.name to someone-elses" in text and "nothing was changed" in text
    assert [r.kind for r in err.value.rows] == ["registry"]
    assert writes(account) == [] and inventory(account) == before
    assert not (tmp_path / "kubeconfig").exists()


def test_taken_registry_name_is_blocked_before_anything(account, tmp_path):
    account.reserve_registry_name("shop-images")
    with pytest.raises(InfrastructureBlocked, match="registry names are global"):
        provision(account, load_platform(platform_yaml(), tmp_path), tmp_path)
    assert [c.operation_id for c in account.calls("POST")] == ["registry_validate_name"]  # changes nothing
    assert writes(account) == [] and account.account.clusters == {}


def test_too_small_tier_is_blocked_before_anything(account, tmp_path):
    config = load_platform(platform_yaml(tier="basic", apps=2), tmp_path)
    starter = dataclasses.replace(config, registry=dataclasses.replace(config.registry, tier="starter"))
    with pytest.raises(InfrastructureBlocked) as err:
        provision(account, starter, tmp_path)
    assert ("tier starter holds 1 repository but 2 applications need 4 (an image and a layer cache each): set "
            "registry.tier to basic") in str(err.value)
    assert writes(account) == [] and account.account.registry is None and account.account.clusters == {}


def test_existing_registry_on_a_too_small_tier_is_upgraded(account, tmp_path):
    account.seed_registry("shop-images", tier="starter")
    result = provision(account, load_platform(platform_yaml(tier="basic", apps=2), tmp_path), tmp_path)
    (row,) = [r for r in result.rows if r.kind == "registry"]
    assert row.action == "updated" and "starter -> basic" in row.reason
    assert account.account.registry["tier"] == "basic"


def test_missing_domain_is_blocked_unless_it_may_be_created(fake_do_factory, tmp_path):
    fake = fake_do_factory(clock=ManualClock(auto_advance=10), durations=DURATIONS)
    with pytest.raises(InfrastructureBlocked, match="shop.example.com: not in this DigitalOcean account"):
        provision(fake, load_platform(platform_yaml(), tmp_path), tmp_path)
    assert writes(fake) == []
    result = provision(fake, load_platform(platform_yaml(create_domain=True), tmp_path), tmp_path)
    assert [r.action for r in result.rows if r.kind == "domain"] == ["created"]
    assert inventory(fake) == expected_inventory()


def test_untagged_cluster_with_the_platform_s_name_is_blocked(account, tmp_path):
    account.seed_cluster("shop-prod", tags=["someone"])
    with pytest.raises(InfrastructureBlocked, match="exists without the tag kubectl-gitops:shop"):
        provision(account, load_platform(platform_yaml(), tmp_path), tmp_path)
    assert writes(account) == []


def test_drifted_cluster_is_updated(account, tmp_path):
    prod = account.seed_cluster("shop-prod", tags=[TAG], node_pools=[
        {"name": "prod-nodes", "size": "s-4vcpu-8gb", "count": 2}])
    result = provision(account, load_platform(platform_yaml(), tmp_path), tmp_path)
    (row,) = [r for r in result.rows if r.name == "shop-prod" and r.kind == "cluster"]
    assert row.action == "updated" and "add tag(s) production" in row.reason and "autoscaling 3..5" in row.reason
    assert inventory(account) == expected_inventory()
    assert f"PUT /v2/kubernetes/clusters/{prod}" in writes(account)
    (pool,) = account.account.clusters[prod]["_pools"]
    assert (pool["auto_scale"], pool["min_nodes"], pool["max_nodes"]) == (True, 3, 5)


def test_record_pointing_elsewhere_is_updated_and_cname_blocks(account, tmp_path):
    recs = account.account.records["shop.example.com"]
    recs.append(account.account._make_record({"type": "A", "name": "argo", "data": "192.0.2.99"}))
    result = provision(account, load_platform(platform_yaml(), tmp_path), tmp_path)
    (row,) = [r for r in result.rows if r.name == "argo.shop.example.com"]
    assert row.action == "updated" and "was 192.0.2.99" in row.reason
    assert inventory(account) == expected_inventory()

    recs.append(account.account._make_record({"type": "CNAME", "name": "hooks", "data": "elsewhere.example.org."}))
    with pytest.raises(InfrastructureBlocked, match="hooks.shop.example.com: has a CNAME record"):
        provision(account, load_platform(platform_yaml(), tmp_path), tmp_path)


def test_read_only_token_is_stopped_by_the_first_write(fake_do_factory, tmp_path):
    fake = fake_do_factory(read_only_tokens=("dop_v1_readonly",))
    fake.seed_domain("shop.example.com")
    config = load_platform(platform_yaml(), tmp_path)
    with pytest.raises(CloudPermissionError) as err:
        infra.provision(config, token=Secret("dop_v1_readonly"), kubeconfig=str(tmp_path / "kc"), timeout=10,
                        reporter=Reporter(), api=fast_api(fake, "dop_v1_readonly"))
    assert "creating tag kubectl-gitops:shop" in str(err.value) and "write scope" in str(err.value)
    assert [(c.operation_id, c.status) for c in fake.calls("POST")] == [
        ("registry_validate_name", 403), ("tags_create", 403)]
    assert inventory(fake)["clusters"] == {} and fake.account.load_balancers == {}


def test_wait_respects_the_timeout_and_a_re_run_continues(fake_do_factory, tmp_path):
    fake = fake_do_factory(durations=DURATIONS)  # the clock stands still: nothing becomes ready
    fake.seed_domain("shop.example.com")
    config = load_platform(platform_yaml(), tmp_path)
    lines = Lines()
    with pytest.raises(WaitTimedOut) as err:
        provision(fake, config, tmp_path, lines=lines, timeout=0.3, poll_interval=0.05)
    assert "is still" in str(err.value) and "(--timeout 0s)" in str(err.value) and "re-run" in str(err.value)
    fake.settle()
    provision(fake, config, tmp_path)
    assert inventory(fake) == expected_inventory()


def test_load_balancer_that_errors_while_waiting(account, tmp_path):
    config = load_platform(platform_yaml(shared_cluster=True), tmp_path)

    def break_it(request):  # DigitalOcean fails to set the new load balancer up
        if request.method == "POST" and request.path == "/v2/load_balancers":
            (lb,) = account.account.load_balancers
            account.set_load_balancer_status(lb, "errored")

    account.add_reactor(break_it)
    with pytest.raises(GitopsError, match="load balancer shop-dev-ingress is errored") as err:
        provision(account, config, tmp_path)
    assert "delete it and re-run" in str(err.value)


def test_offline_plan_sends_nothing(account, tmp_path):
    config = load_platform(platform_yaml(dashboard=True), tmp_path)
    plan = infra.plan(config, token=None, reporter=Reporter(), kubeconfig=str(tmp_path / "kc"))
    assert plan.offline and plan.blocked == () and account.log == []
    kinds = [r.kind for r in plan.rows]
    assert kinds.count("cluster") == 2 and kinds.count("load_balancer") == 2 and kinds.count("kubeconfig") == 2
    hosts = [r.name for r in plan.rows if r.kind == "dns_record"]
    assert hosts[:3] == ["argo.shop.example.com", "tekton.shop.example.com", "hooks.shop.example.com"]
    assert {r.action for r in plan.rows if r.kind != "domain"} == {"create"}
    assert plan.as_dict()["offline"] is True and not (tmp_path / "kc").exists()


def test_plan_with_a_token_reads_only(account, tmp_path):
    config = load_platform(platform_yaml(), tmp_path)
    before = inventory(account)
    plan = infra.plan(config, token=Secret(account.token), reporter=Reporter(), kubeconfig=str(tmp_path / "kc"),
                      api=fast_api(account))
    assert not plan.offline and {r.action for r in plan.rows if r.kind != "domain"} == {"create"}
    assert {c.method for c in account.log} == {"GET", "POST"}
    assert [c.operation_id for c in account.calls("POST")] == ["registry_validate_name"]
    assert inventory(account) == before and not (tmp_path / "kc").exists()


def test_other_providers_have_no_infrastructure(tmp_path):
    text = platform_yaml().replace("provider: digitalocean", "provider: existing").replace("region: fra1\n", "")
    text = text.replace("registry: {name: shop-images, tier: basic, credentials_expiry_seconds: 3600}\n",
                        "registry: {name: shop-images, server: registry.example.com}\n")  # the apps need one
    text = text.replace("    node_pool: {size: s-2vcpu-4gb, count: 2}\n", "")
    text = text.replace("    node_pool: {size: s-4vcpu-8gb, count: 3, autoscale: {min: 3, max: 5}}\n", "")
    text = text.replace("clusters:\n  dev:\n  prod:\n    tags: [production]\n",
                        "clusters:\n  dev: {context: a}\n  prod: {context: b}\n")
    config = load_platform(text, tmp_path)
    assert infra.plan(config, token=None, reporter=Reporter()).rows == ()
    with pytest.raises(UsageError, match="provider is existing"):
        infra.provision(config, token=Secret("x"), kubeconfig=None, timeout=1, reporter=Reporter())


def test_resolve_token(tmp_path):
    assert infra.resolve_token(None, {}) is None
    assert infra.resolve_token(None, {"DIGITALOCEAN_ACCESS_TOKEN": "b"}).reveal() == "b"
    assert infra.resolve_token(None, {"DIGITALOCEAN_TOKEN": "a", "DIGITALOCEAN_ACCESS_TOKEN": "b"}).reveal() == "a"
    path = tmp_path / "token"
    path.write_text("  from-file\n")
    assert infra.resolve_token(str(path), {"DIGITALOCEAN_TOKEN": "a"}).reveal() == "from-file"
    path.write_text("")
    with pytest.raises(UsageError, match="must hold the DigitalOcean token"):
        infra.resolve_token(str(path), {})
    with pytest.raises(UsageError, match="cannot read --token-file"):
        infra.resolve_token(str(tmp_path / "missing"), {})


def test_load_balancer_renamed_by_the_cloud_controller_is_still_found(account, tmp_path):
    config = load_platform(platform_yaml(), tmp_path)
    first = provision(account, config, tmp_path)
    for key, access in first.clusters.items():  # the cloud controller adopted each one and renamed it
        account.associate_load_balancer(access.cluster_id, access.load_balancer_id)
        account.account.load_balancers[access.load_balancer_id]["name"] = f"a{key}0123456789"
    account.log.clear()
    result = provision(account, config, tmp_path, push=False)
    assert [c for c in account.log if c.method != "GET"] == []
    assert {r.action for r in result.rows} == {"up to date"}
    assert {k: a.load_balancer_id for k, a in result.clusters.items()} == \
        {k: a.load_balancer_id for k, a in first.clusters.items()}
    assert len(account.account.load_balancers) == 2
    plan = infra.plan(config, token=Secret(account.token), reporter=Reporter(), kubeconfig=str(tmp_path / "kubeconfig"),
                      api=fast_api(account))
    (row,) = [r for r in plan.rows if r.name == "shop-dev-ingress"]
    assert row.action == "keep" and "cloud controller owns it as adev0123456789" in row.reason
