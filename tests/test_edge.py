"""The platform's edge: cert-manager's stand-in (:mod:`fakecertmanager`) issuing certificates for annotated
Ingresses, and ``status`` reporting every host with its certificate and DNS (a resolver injected: tests never
look anything up)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fakecertmanager import FakeCertManager
from fakekube.platform import install_platform
from kubectl_gitops.workflows import status as status_workflow
from test_status import APPS, ENVS, REVISION, add_context, write_config

LB = "203.0.113.10"


def _crds(kube, reference: Path) -> None:
    for path in sorted((reference / "crds" / "cert-manager-v1.21.1").glob("*.yaml")):
        kube.create(yaml.safe_load(path.read_text(encoding="utf-8")))


def _issuer(kube, name: str = "letsencrypt-production", *, dns_token: bool = False) -> None:
    solver = ({"dns01": {"digitalocean": {"tokenSecretRef": {"name": "digitalocean-dns", "key": "access-token"}}}}
              if dns_token else {"http01": {"ingress": {"ingressClassName": "nginx"}}})
    kube.create({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": name},
                 "spec": {"acme": {"server": "https://acme-v02.api.letsencrypt.org/directory",
                                   "privateKeySecretRef": {"name": f"{name}-account-key"}, "solvers": [solver]}}})


def _ingress(kube, name: str, namespace: str, host: str, *, issuer: str | None = "letsencrypt-production",
             secret: str | None = None) -> None:
    annotations = {"cert-manager.io/cluster-issuer": issuer} if issuer else {}
    spec = {"ingressClassName": "nginx", "rules": [{"host": host}]}
    if issuer or secret:
        spec["tls"] = [{"hosts": [host], "secretName": secret or f"{name}-tls"}]
    kube.create({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                 "metadata": {"name": name, "namespace": namespace, "annotations": annotations,
                              "labels": {"app.kubernetes.io/part-of": "shop"}}, "spec": spec})


@pytest.fixture
def edge(fake_kube, tmp_path, shared_reference):
    add_context(fake_kube.kubeconfig, "prod", fake_kube.url)
    install_platform(fake_kube, platform="shop", apps=tuple((a, e) for a in APPS for e in ENVS), revision=REVISION)
    for service in fake_kube.list("services", "ingress-nginx"):
        if service["spec"].get("type") == "LoadBalancer":
            fake_kube.set_load_balancer_ip(service["metadata"]["name"], "ingress-nginx", LB)
    _crds(fake_kube, shared_reference)
    for namespace in ("cert-manager", "shop-dev"):
        if fake_kube.get("namespaces", namespace) is None:
            fake_kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    FakeCertManager(fake_kube).install("cert-manager")
    return fake_kube, write_config(tmp_path / "gitops.yaml")


def _report(kube, config, resolve=None):
    return status_workflow.run(status_workflow.StatusOptions(config=str(config), kubeconfig=str(kube.kubeconfig),
                                                             resolve=resolve))


def test_annotated_ingresses_get_ready_certificates_and_status_shows_them(edge):
    kube, config = edge
    _issuer(kube)
    _ingress(kube, "argocd-server", "argocd", "argo.shop.example.com")
    _ingress(kube, "catalog", "shop-dev", "catalog.shop.example.com")
    certificate = kube.get("certificates.cert-manager.io", "catalog-tls", "shop-dev")
    assert certificate["spec"]["dnsNames"] == ["catalog.shop.example.com"]
    assert certificate["metadata"]["ownerReferences"][0]["kind"] == "Ingress"
    secret = kube.get("secrets", "catalog-tls", "shop-dev")
    assert secret["type"] == "kubernetes.io/tls" and {"tls.crt", "tls.key"} <= set(secret["data"])
    looked_up = []

    def resolve(host: str) -> tuple[str, ...]:
        looked_up.append(host)
        return (LB,) if host.startswith("argo.") else ("198.51.100.7",)

    report = _report(kube, config, resolve)
    assert report.healthy and report.edge.address == LB
    hosts = {h.host: h for h in report.edge.hosts}
    argo = hosts["argo.shop.example.com"]
    assert (argo.url, argo.certificate, argo.dns) == ("https://argo.shop.example.com", "Ready", "ok")
    assert argo.expires == certificate["status"]["notAfter"] or argo.expires
    assert hosts["catalog.shop.example.com"].dns == "points at 198.51.100.7"
    # the prod context reaches the same stand-in: its edge (prod's own) shows the same hosts, looked up again
    assert sorted(looked_up) == sorted(2 * list(hosts))
    assert {h.dns for h in _report(kube, config).edge.hosts} == {None}, "no lookup unless asked"


def test_an_issuer_that_does_not_exist_keeps_the_certificate_pending_with_cert_managers_message(edge):
    kube, config = edge
    _ingress(kube, "argocd-server", "argocd", "argo.shop.example.com", issuer="letsencrypt-prod")
    certificate = kube.get("certificates.cert-manager.io", "argocd-server-tls", "argocd")
    ready = next(c for c in certificate["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["message"]) == ("False", "Issuing certificate as Secret does not exist")
    assert kube.get("secrets", "argocd-server-tls", "argocd") is None
    report = _report(kube, config)
    assert not report.healthy
    (host,) = report.edge.hosts
    assert host.certificate == "not ready"
    assert host.message == ('Referenced "ClusterIssuer" not found: clusterissuer.cert-manager.io "letsencrypt-prod" '
                            "not found")
    _issuer(kube, "letsencrypt-prod")  # the issuer appears: issued
    assert _report(kube, config).healthy


def test_dns01_waits_for_its_token_secret(edge):
    kube, config = edge
    _issuer(kube, dns_token=True)
    _ingress(kube, "el-git-push", "shop-dev", "hooks.shop.example.com")
    (host,) = _report(kube, config).edge.hosts
    assert host.message == 'error getting digitalocean token: secret "digitalocean-dns" not found'
    kube.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "digitalocean-dns",
                                                                     "namespace": "cert-manager"},
                 "stringData": {"access-token": "sentinel"}})
    (host,) = _report(kube, config).edge.hosts
    assert host.certificate == "Ready"


def test_a_certificate_brought_and_plain_http_hosts(edge):
    kube, config = edge
    _ingress(kube, "argocd-server", "argocd", "argo.shop.example.com", issuer=None, secret="wildcard-tls")
    _ingress(kube, "plain", "shop-dev", "plain.shop.example.com", issuer=None)
    hosts = {h.host: h for h in _report(kube, config).edge.hosts}
    assert (hosts["argo.shop.example.com"].certificate, hosts["argo.shop.example.com"].url) == (
        "brought", "https://argo.shop.example.com")
    assert (hosts["plain.shop.example.com"].certificate, hosts["plain.shop.example.com"].url) == (
        "none", "http://plain.shop.example.com")
    assert kube.list("certificates.cert-manager.io") == []


@pytest.mark.parametrize("edge", ["ingress-nginx", "gateway"])
def test_validate_renders_and_validates_every_object_of_both_edges(edge, tmp_path, helm_bin):
    import platforms
    from kubectl_gitops.core.progress import Reporter
    from kubectl_gitops.workflows import validate

    config = platforms.write_existing(tmp_path / "gitops.yaml")
    data = yaml.safe_load(config.read_text())
    dashboard = {"tekton_dashboard": {"expose": True, "auth_secret": "dashboard-auth"}}
    config.write_text(yaml.safe_dump({**data, "edge": edge, "platform": {**(data.get("platform") or {}), **dashboard}},
                                     sort_keys=False))
    report = validate.run(validate.ValidateOptions(config=str(config), helm=str(helm_bin)), reporter=Reporter())
    assert report.ok, [(r.kind, r.name, r.problems) for r in report.results if r.status != "valid"]
    kinds = {r.kind for r in report.results}
    if edge == "gateway":
        assert {"Gateway", "GatewayClass", "HTTPRoute", "GRPCRoute", "ClusterIssuer", "SecurityPolicy"} <= kinds
        assert "Ingress" not in kinds
    else:
        assert {"Ingress", "ClusterIssuer"} <= kinds and "Gateway" not in kinds


def test_validate_warns_in_one_line_when_tls_is_off(tmp_path, helm_bin):
    import platforms
    from kubectl_gitops.core.progress import WARNING, Reporter
    from kubectl_gitops.workflows import validate

    config = platforms.write_existing(tmp_path / "gitops.yaml")
    lines: list[tuple[str, str]] = []
    reporter = Reporter(emit=lambda symbol, message: lines.append((symbol, message)))
    validate.run(validate.ValidateOptions(config=str(config), helm=str(helm_bin)), reporter=reporter)
    assert not [m for s, m in lines if s == WARNING]
    config.write_text(config.read_text() + "tls: false\n")
    lines.clear()
    report = validate.run(validate.ValidateOptions(config=str(config), helm=str(helm_bin)), reporter=reporter)
    warnings = [m for s, m in lines if s == WARNING]
    assert len(warnings) == 1 and "tls: false" in warnings[0] and "plain HTTP" in warnings[0]
    assert report.ok and "ClusterIssuer" not in {r.kind for r in report.results}
