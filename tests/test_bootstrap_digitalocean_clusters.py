"""`kubectl gitops bootstrap` with provider digitalocean and two clusters (examples/dev-prod-go): dev runs the
platform, prod only the production apps. Each DigitalOcean cluster answers at a Kubernetes stand-in of its own,
with the platform's controllers and DigitalOcean's cloud controller (tests/fakeccm.py) on each, so prod's edge
adopts prod's own load balancer, gets cert-manager with DNS-01 through DigitalOcean, and a switch of the edge
keeps both load balancers."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml

import fakecharts
import platforms
from fakedo import ManualClock
from fakekube import FakeKube
from fakeplatform import FakePlatform
from kubectl_gitops.cli import main as cli_main
from test_bootstrap_digitalocean import assert_token_only_in_its_secret

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def world(tmp_path, monkeypatch, fake_do_factory, helm_bin, shared_reference):
    account = fake_do_factory(clock=ManualClock(auto_advance=30), durations={"cluster": 60.0, "node_pool": 60.0,
                                                                             "load_balancer": 20.0})
    account.seed_domain("shop.example.com")
    dev, prod = FakeKube().start(), FakeKube().start()
    controllers = []
    try:
        pools = {"dev": [{"name": "dev-nodes", "size": "s-2vcpu-4gb", "count": 2}],
                 "prod": [{"name": "prod-nodes", "size": "s-4vcpu-8gb", "count": 3, "auto_scale": True,
                           "min_nodes": 3, "max_nodes": 6}]}
        ids = {}
        for name, kube in (("dev", dev), ("prod", prod)):
            ids[name] = account.seed_cluster(f"shop-{name}", tags=["kubectl-gitops:shop"], node_pools=pools[name])
            account.set_kube_endpoint(kube.url, token=f"kube-token-{name}", cluster_id=ids[name])
        controllers = [FakePlatform(dev, shared_reference, remote_kubes={prod.url: prod}, digitalocean=account,
                                    cluster=ids["dev"]).install(),
                       FakePlatform(prod, shared_reference, digitalocean=account, cluster=ids["prod"]).install()]
        platforms.in_process_env(monkeypatch, tmp_path / "home" / ".kube" / "config", tmp_path / "home", helm_bin)
        monkeypatch.setenv("DIGITALOCEAN_TOKEN", account.token)
        config = tmp_path / "gitops.yaml"
        data = yaml.safe_load((EXAMPLES / "dev-prod-go" / "gitops.yaml").read_text())
        data["gitops"]["repo"] = "gitops.git"
        config.write_text(yaml.safe_dump(data, sort_keys=False))
        platforms.bare_repo(tmp_path / "gitops.git")
        chart = fakecharts.chart_with_dependencies(tmp_path / "chart", shared_reference)
        yield {"config": config, "chart": chart, "account": account, "dev": dev, "prod": prod,
               "controllers": controllers}
        assert [c.errors for c in controllers] == [[], []]
        assert [c.ccm.conflicts for c in controllers] == [[], []]
    finally:
        for c in controllers:
            c.close()
        dev.stop()
        prod.stop()


def _bootstrap(world, *args):
    return cli_main._run(cli_main.cli, ["bootstrap", "--config", str(world["config"]), "--chart", str(world["chart"]),
                                        "--timeout", "180s", *args], "kubectl gitops")


def _lb_of(kube, namespace):
    (service,) = [s for s in kube.list("services", namespace) if s["spec"].get("type") == "LoadBalancer"
                  and "service.kubernetes.io/do-loadbalancer-disown" not in (s["metadata"].get("annotations") or {})]
    return service["metadata"]["annotations"]["kubernetes.digitalocean.com/load-balancer-id"]


def test_prod_gets_its_own_edge_certificates_and_load_balancer_and_keeps_it_across_a_switch(world, capsys):
    account, dev, prod = world["account"], world["dev"], world["prod"]
    assert _bootstrap(world) == 0, capsys.readouterr().err
    out = capsys.readouterr()
    assert account.token not in out.out + out.err
    lbs = set(account.account.load_balancers)
    assert len(lbs) == 2, "one load balancer per cluster"
    dev_lb, prod_lb = _lb_of(dev, "ingress-nginx"), _lb_of(prod, "ingress-nginx")
    assert {dev_lb, prod_lb} == lbs
    # prod: cert-manager with the DNS-01 token in its own Secret, nowhere else in prod either
    secret = prod.get("secrets", "digitalocean-dns", "cert-manager")
    assert base64.b64decode(secret["data"]["access-token"]).decode() == account.token
    issuer = prod.get("clusterissuers.cert-manager.io", "letsencrypt-production")
    assert "dns01" in issuer["spec"]["acme"]["solvers"][0]
    for kube in (dev, prod):
        assert_token_only_in_its_secret(kube, {"config": world["config"]}, account.token)
    for c in world["controllers"]:
        c.settle()
    assert cli_main._run(cli_main.cli, ["status", "--config", str(world["config"]), "-o", "json"],
                         "kubectl gitops") == 0, capsys.readouterr().out
    report = json.loads(capsys.readouterr().out)
    prod_status = next(c for c in report["clusters"] if c["name"] == "prod")
    assert prod_status["ready"] and prod_status["edge"]["address"]

    # switching the edge keeps both load balancers, each owned by its cluster's new edge
    data = yaml.safe_load(world["config"].read_text())
    data["edge"] = "gateway"
    world["config"].write_text(yaml.safe_dump(data, sort_keys=False))
    assert _bootstrap(world) == 0, capsys.readouterr().err
    capsys.readouterr()
    for c in world["controllers"]:
        c.settle()
    assert set(account.account.load_balancers) == lbs
    assert (_lb_of(dev, "envoy-gateway-system"), _lb_of(prod, "envoy-gateway-system")) == (dev_lb, prod_lb)
    gateway = prod.get("gateways.gateway.networking.k8s.io", "platform", "envoy-gateway-system")
    assert {listener.get("hostname") for listener in gateway["spec"]["listeners"]} == {
        None, "catalog.shop.example.com", "shop.example.com"}

    dev.reset_counters()
    prod.reset_counters()
    before = len(account.log)
    assert _bootstrap(world, "-o", "json") == 0
    assert json.loads(capsys.readouterr().out)["upToDate"] is True
    assert (dev.writes, prod.writes) == (0, 0)
    assert {r.method for r in account.log[before:]} == {"GET"}
