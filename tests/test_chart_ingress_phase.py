"""A cluster that runs applications but not the platform (e.g. prod) gets two releases of the umbrella chart:
phase ingress (the edge's controller on the cluster's own load balancer, and cert-manager) then phase edge
(the ClusterIssuers and, on the gateway edge, the cluster's Gateway with a listener per app host of its
environments), and nothing else of the platform."""

from __future__ import annotations

import dataclasses

import pytest

import fakecharts
from kubectl_gitops.adapters import config_file, schema
from kubectl_gitops.adapters import helm as helm_adapter
from kubectl_gitops.core import manifests, values
from kubectl_gitops.core.errors import HelmError


@pytest.fixture(scope="module")
def chart(tmp_path_factory, shared_reference):
    return fakecharts.chart_with_dependencies(tmp_path_factory.mktemp("chart"), shared_reference)


@pytest.fixture(scope="module")
def config(repo_root):
    return config_file.load(repo_root / "examples/dev-prod-go/gitops.yaml")


def _render(chart, config, release, helm, *, text=False):
    data = values.chart_values(config, phase=release.phase, load_balancer_id="lb-prod", cluster="prod")
    rendered = helm_adapter.render(chart, release=release.name, namespace=release.namespace, values=data,
                                   helm=str(helm))
    return rendered.manifest_text if text else rendered.objects()


def _names(objects):
    return {o["metadata"].get("labels", {}).get("app.kubernetes.io/name") for o in objects}


def test_ingress_phase_renders_the_controller_on_the_cluster_s_load_balancer_and_cert_manager(chart, config,
                                                                                               any_helm):
    ingress, edge = values.workload_releases(config)
    objects = _render(chart, config, ingress, any_helm)
    assert {"ingress-nginx", "cert-manager"} <= _names(objects)
    assert not {"argocd-server", "tekton-operator", "gateway-helm"} & _names(objects)
    service = next(o for o in objects if o["kind"] == "Service" and o["spec"].get("type") == "LoadBalancer")
    assert service["metadata"]["annotations"]["kubernetes.digitalocean.com/load-balancer-id"] == "lb-prod"
    assert service["metadata"]["annotations"]["service.beta.kubernetes.io/do-loadbalancer-name"] == "shop-prod-ingress"
    assert {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"} == {"cert-manager"}

    issuers = _render(chart, config, edge, any_helm)
    assert {(o["kind"], o["metadata"]["name"]) for o in issuers} == {
        ("ClusterIssuer", "letsencrypt-staging"), ("ClusterIssuer", "letsencrypt-production")}
    solver = issuers[0]["spec"]["acme"]["solvers"][0]
    assert solver["dns01"]["digitalocean"]["tokenSecretRef"]["name"] == "digitalocean-dns"


def test_gateway_edge_gives_the_cluster_its_own_gateway_for_its_app_hosts_only(chart, config, helm_bin):
    gateway = dataclasses.replace(config, edge="gateway")
    ingress, edge = values.workload_releases(gateway)
    objects = _render(chart, gateway, ingress, helm_bin)
    assert "ingress-nginx" not in _names(objects)
    assert any(o["kind"] == "CustomResourceDefinition" and o["metadata"]["name"] == "gateways.gateway.networking.k8s.io"
               for o in objects)
    assert {"Deployment"} <= {o["kind"] for o in objects if o["metadata"].get("namespace") == "envoy-gateway-system"}

    objects = _render(chart, gateway, edge, helm_bin)
    (gw,) = [o for o in objects if o["kind"] == "Gateway"]
    hosts = {listener.get("hostname") for listener in gw["spec"]["listeners"]}
    assert hosts == {None, "catalog.shop.example.com", "shop.example.com"}, "prod's app hosts, no platform host"
    assert gw["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt-production"}
    assert gw["spec"]["infrastructure"]["annotations"]["kubernetes.digitalocean.com/load-balancer-id"] == "lb-prod"
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == ["ClusterIssuer", "ClusterIssuer", "Gateway", "GatewayClass", "HTTPRoute"], kinds
    assert not [o for o in objects if o["kind"] == "GRPCRoute"], "Argo CD is served by the platform's cluster"
    registry = schema.SchemaRegistry(kubernetes_version=config.kubernetes_minor)
    documents = manifests.parse_documents(_render(chart, gateway, edge, helm_bin, text=True), source="edge")
    problems = [(r.kind, r.name, r.problems) for r in schema.validate(list(documents), registry=registry)
                if r.status != "valid"]
    assert problems == []


@pytest.mark.parametrize("dependency", ["argo-cd", "tekton-operator"])
def test_ingress_phase_refuses_the_platform_s_other_dependencies(chart, config, helm_bin, dependency):
    data = values.chart_values(config, phase="ingress", cluster="prod")
    data[dependency] = {"enabled": True}
    with pytest.raises(HelmError, match=dependency):
        helm_adapter.render(chart, release="shop-ingress", namespace="ingress-nginx", values=data, helm=str(helm_bin))


def test_edge_phase_installs_no_dependency(chart, config, helm_bin):
    data = values.chart_values(config, phase="edge", cluster="prod")
    data["cert-manager"] = {"enabled": True}
    with pytest.raises(HelmError, match="cert-manager"):
        helm_adapter.render(chart, release="shop-edge", namespace="ingress-nginx", values=data, helm=str(helm_bin))
