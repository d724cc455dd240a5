"""Two existing clusters (dev runs the platform, prod only the production apps): bootstrap registers prod
in Argo CD declaratively, with a ServiceAccount token limited to the prod namespace, and a second
run changes neither cluster. Each cluster is its own Kubernetes API stand-in."""

from __future__ import annotations

import base64
import json

import pytest
import yaml

import fakecharts
import platforms
from fakekube import FakeKube
from fakeplatform import FakePlatform
from kubectl_gitops.cli import main as cli_main

CONFIG = """\
apiVersion: gitops.kubectl.dev/v1alpha1
kind: Platform
name: shop
provider: existing
domain: shop.example.com
registry: {name: team, server: registry.example.com}
clusters:
  dev: {context: dev}
  prod: {context: prod}
environments:
  dev: {cluster: dev, namespace: shop-dev}
  prod: {cluster: prod, namespace: shop}
gitops:
  repo: https://github.com/example/shop-gitops
applications:
  catalog:
    git: https://github.com/example/catalog
    hosts: {dev: catalog.dev.shop.example.com}
"""


@pytest.fixture
def clusters(tmp_path, monkeypatch, shared_reference, helm_bin):
    dev, prod = FakeKube().start(), FakeKube().start()
    try:
        docs = [yaml.safe_load(k.write_kubeconfig(tmp_path / f"{n}.yaml", context=n).read_text())
                for n, k in (("dev", dev), ("prod", prod))]
        merged = {"apiVersion": "v1", "kind": "Config", "current-context": "dev",
                  "clusters": [c for d in docs for c in d["clusters"]], "users": [u for d in docs for u in d["users"]],
                  "contexts": [c for d in docs for c in d["contexts"]]}
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(merged))
        platforms.in_process_env(monkeypatch, kubeconfig, tmp_path / "home", helm_bin)
        controllers = [FakePlatform(dev, shared_reference, remote_kubes={prod.url: prod}).install(),
                       FakePlatform(prod, shared_reference, load_balancer_ip="203.0.113.20").install()]
        yield dev, prod, controllers
        assert [c.errors for c in controllers] == [[], []]
    finally:
        dev.stop()
        prod.stop()


def test_prod_is_registered_with_least_privilege_and_rerun_changes_nothing(clusters, tmp_path, shared_reference,
                                                                            capsys):
    dev, prod, controllers = clusters
    chart = fakecharts.chart_with_dependencies(tmp_path / "chart", shared_reference)
    config = tmp_path / "gitops.yaml"
    config.write_text(CONFIG.replace("https://github.com/example/shop-gitops", "gitops.git"))
    platforms.bare_repo(config.parent / "gitops.git")
    args = ["bootstrap", "--config", str(config), "--chart", str(chart), "--timeout", "120s"]
    assert cli_main._run(cli_main.cli, args, "kubectl gitops") == 0, capsys.readouterr().err
    out = capsys.readouterr()

    # in prod: the manager's ServiceAccount, with full access to the prod namespace and nothing cluster-wide
    assert prod.get("serviceaccounts", "argocd-manager", "kube-system") is not None
    role = prod.get("roles.rbac.authorization.k8s.io", "argocd-manager", "shop")
    assert role["rules"] == [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    binding = prod.get("rolebindings.rbac.authorization.k8s.io", "argocd-manager", "shop")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "argocd-manager", "namespace": "kube-system"}]
    cluster_bindings = prod.list("clusterrolebindings.rbac.authorization.k8s.io")
    assert all("argocd-manager" not in json.dumps(b.get("subjects")) for b in cluster_bindings)
    assert prod.get("namespaces", "argocd") is None  # the platform itself stays in dev
    # prod's own edge for its application hosts (ingress controller, cert-manager and the Let's Encrypt
    # issuers), and nothing else of the platform
    assert prod.get("deployments", "ingress-nginx-controller", "ingress-nginx") is not None
    assert {d["metadata"]["name"] for d in prod.list("deployments")} == {
        "ingress-nginx-controller", "cert-manager", "cert-manager-cainjector", "cert-manager-webhook"}
    issuer = prod.get("clusterissuers.cert-manager.io", "letsencrypt-production")
    assert issuer["spec"]["acme"]["solvers"] == [{"http01": {"ingress": {"ingressClassName": "nginx"}}}]
    assert {c["type"]: c["status"] for c in issuer["status"]["conditions"]} == {"Ready": "True"}
    assert "shop-ingress" in out.out and "shop-edge" in out.out

    # in dev: Argo CD's cluster Secret, scoped to the prod namespace, holding the ServiceAccount's token
    secret = dev.get("secrets", "cluster-shop-prod", "argocd")
    assert secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "cluster"
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data["name"] == "shop-prod" and data["server"] == prod.url
    assert data["namespaces"] == "shop" and data["clusterResources"] == "false"
    token_secret = next(s for s in prod.list("secrets", "kube-system")
                        if s.get("type") == "kubernetes.io/service-account-token")
    token = base64.b64decode(token_secret["data"]["token"]).decode()
    assert json.loads(data["config"])["bearerToken"] == token
    assert token not in out.out + out.err

    # the prod Application goes to the registered cluster
    app = dev.get("applications.argoproj.io", "catalog-prod", "argocd")
    assert app["spec"]["destination"] == {"name": "shop-prod", "namespace": "shop"}

    # status looks at prod's ingress controller too
    for c in controllers:
        c.settle()  # bootstrap waits for the platform's Applications, not for the apps'
    assert cli_main._run(cli_main.cli, ["status", "--config", str(config), "-o", "json"], "kubectl gitops") == 0
    report = json.loads(capsys.readouterr().out)
    prod_status = next(c for c in report["clusters"] if c["name"] == "prod")
    assert (prod_status["ready"], prod_status["message"]) == (True, "ingress controller ready")
    assert prod_status["edge"]["controller"] == "ingress-nginx (ingress-nginx)"
    assert prod_status["edge"]["hosts"] == [], "prod's app hosts come with the first promotion"
    # right after bootstrap nothing was built or promoted: reported as such, not as unhealthy
    assert {(a["environment"], a["message"]) for a in report["applications"]} == {
        ("dev", "not built yet"), ("prod", "not promoted yet")}

    dev.reset_counters()
    prod.reset_counters()
    assert cli_main._run(cli_main.cli, [*args, "-o", "json"], "kubectl gitops") == 0
    assert json.loads(capsys.readouterr().out)["upToDate"] is True
    assert (dev.writes, prod.writes) == (0, 0)


def test_switching_both_clusters_to_the_gateway_gives_prod_its_own_gateway_and_certificates(
        clusters, tmp_path, shared_reference, capsys):
    dev, prod, controllers = clusters
    chart = fakecharts.chart_with_dependencies(tmp_path / "chart", shared_reference)
    config = tmp_path / "gitops.yaml"
    config.write_text(CONFIG.replace("https://github.com/example/shop-gitops", "gitops.git").replace(
        "hosts: {dev: catalog.dev.shop.example.com}",
        "hosts: {dev: catalog.dev.shop.example.com, prod: catalog.shop.example.com}"))
    platforms.bare_repo(config.parent / "gitops.git")
    args = ["bootstrap", "--config", str(config), "--chart", str(chart), "--timeout", "120s"]
    assert cli_main._run(cli_main.cli, args, "kubectl gitops") == 0, capsys.readouterr().err
    capsys.readouterr()

    config.write_text(config.read_text() + "edge: gateway\n")
    assert cli_main._run(cli_main.cli, args, "kubectl gitops") == 0, capsys.readouterr().err
    capsys.readouterr()
    for c in controllers:
        c.settle()
    # prod: the retired controller gone, Envoy Gateway and a Gateway of its own, one listener per prod app host
    assert prod.list("deployments", "ingress-nginx") == []
    gateway = prod.get("gateways.gateway.networking.k8s.io", "platform", "envoy-gateway-system")
    assert {listener.get("hostname") for listener in gateway["spec"]["listeners"]} == {None, "catalog.shop.example.com"}
    assert {c["type"]: c["status"] for c in gateway["status"]["conditions"]} == {"Accepted": "True",
                                                                                "Programmed": "True"}
    certificate = prod.get("certificates.cert-manager.io", "catalog-shop-example-com-tls", "envoy-gateway-system")
    assert {c["type"]: c["status"] for c in certificate["status"]["conditions"]}["Ready"] == "True"
    issuer = prod.get("clusterissuers.cert-manager.io", "letsencrypt-production")
    assert issuer["spec"]["acme"]["solvers"][0]["http01"]["gatewayHTTPRoute"]["parentRefs"][0]["name"] == "platform"
    # dev keeps serving only its own hosts
    dev_gateway = dev.get("gateways.gateway.networking.k8s.io", "platform", "envoy-gateway-system")
    assert "catalog.shop.example.com" not in {listener.get("hostname") for listener in dev_gateway["spec"]["listeners"]}
    assert prod.get("namespaces", "argocd") is None

    assert cli_main._run(cli_main.cli, ["status", "--config", str(config), "-o", "json"], "kubectl gitops") == 0
    report = json.loads(capsys.readouterr().out)
    prod_status = next(c for c in report["clusters"] if c["name"] == "prod")
    assert prod_status["ready"] and prod_status["message"] == "Envoy Gateway ready"
    assert prod_status["edge"]["address"] == "203.0.113.20"
    assert [(h["url"], h["certificate"]) for h in prod_status["edge"]["hosts"]] == [
        ("https://catalog.shop.example.com", "Ready")]
    assert cli_main._run(cli_main.cli, ["status", "--config", str(config)], "kubectl gitops") == 0
    assert "Edge of cluster prod: envoy-gateway (envoy-gateway-system), load balancer 203.0.113.20" in \
        capsys.readouterr().out

    dev.reset_counters()
    prod.reset_counters()
    assert cli_main._run(cli_main.cli, [*args, "-o", "json"], "kubectl gitops") == 0
    assert json.loads(capsys.readouterr().out)["upToDate"] is True
    assert (dev.writes, prod.writes) == (0, 0)

    # and back: both clusters' Gateway API CRDs are kept (deleting them would delete every Gateway object), the
    # platform's Gateways go, ingress-nginx serves again
    config.write_text(config.read_text().replace("edge: gateway\n", "edge: ingress-nginx\n"))
    assert cli_main._run(cli_main.cli, args, "kubectl gitops") == 0, capsys.readouterr().err
    capsys.readouterr()
    for c in controllers:
        c.settle()
    for kube in (dev, prod):
        assert kube.get("customresourcedefinitions.apiextensions.k8s.io", "gateways.gateway.networking.k8s.io")
        assert kube.list("gateways.gateway.networking.k8s.io") == []
        assert kube.list("gatewayclasses.gateway.networking.k8s.io") == [], "not left Terminating"
        assert kube.get("deployments", "ingress-nginx-controller", "ingress-nginx") is not None


def test_prod_context_missing_is_one_line(clusters, tmp_path, shared_reference, capsys):
    dev, prod, controllers = clusters
    config = tmp_path / "gitops.yaml"
    config.write_text(CONFIG.replace("prod: {context: prod}", "prod: {context: staging}"))
    assert cli_main._run(cli_main.cli, ["bootstrap", "--config", str(config)], "kubectl gitops") == 2  # config
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "staging" in errors[0]
    assert dev.writes == 0 and prod.writes == 0


def test_a_cluster_older_than_the_pinned_components_support_is_refused_before_any_write(tmp_path, monkeypatch,
                                                                                       helm_bin, capsys):
    """Argo CD 3.4 is tested on Kubernetes 1.32 to 1.35 (ingress-nginx 1.15 on 1.31 to 1.35): 1.31 is too old."""
    old, new = FakeKube(version="v1.31.9").start(), FakeKube(version="v1.32.0").start()
    try:
        docs = [yaml.safe_load(k.write_kubeconfig(tmp_path / f"{n}.yaml", context=n).read_text())
                for n, k in (("dev", old), ("prod", new))]
        merged = {"apiVersion": "v1", "kind": "Config", "current-context": "dev",
                  "clusters": [c for d in docs for c in d["clusters"]], "users": [u for d in docs for u in d["users"]],
                  "contexts": [c for d in docs for c in d["contexts"]]}
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(merged))
        platforms.in_process_env(monkeypatch, kubeconfig, tmp_path / "home", helm_bin)
        config = tmp_path / "gitops.yaml"
        config.write_text(CONFIG)
        assert cli_main._run(cli_main.cli, ["bootstrap", "--config", str(config)], "kubectl gitops") == 1
        errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, errors
        assert "runs Kubernetes v1.31.9" in errors[0] and "needs 1.32 or newer" in errors[0]
        assert old.writes == 0 and new.writes == 0
    finally:
        old.stop()
        new.stop()
