"""gitops.yaml to chart values: phases, environments, sync policy, load balancer, overrides, self-management,
and what to wait for between phases."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import yaml

from kubectl_gitops.adapters import config_file
from kubectl_gitops.core import values


def load(repo_root, name):
    return config_file.load(repo_root / "examples" / name / "gitops.yaml")


def test_four_releases_in_order_toggle_dependencies(repo_root):
    config = load(repo_root, "proof-of-concept")
    assert [(r.phase, r.name, r.namespace) for r in values.releases(config)] == [
        ("platform", "bl-k8s-platform", "argocd"), ("operator", "bl-k8s-operator", "tekton-operator"),
        ("tekton", "bl-k8s-tekton", "argocd"), ("gitops", "bl-k8s-gitops", "argocd")]
    by_phase = {p: values.chart_values(config, phase=p) for p in values.PHASES}
    installs = {"platform": {"argo-cd", "ingress-nginx"}, "operator": {"tekton-operator"}}
    for phase, data in by_phase.items():
        assert data["phase"] == phase
        for dep in values.DEPENDENCIES:
            on = dep in installs.get(phase, ()) or (phase == "platform" and dep == "cert-manager")
            assert data[dep]["enabled"] is on, (phase, dep)
    with pytest.raises(ValueError, match="unknown phase"):
        values.chart_values(config, phase="both")


def test_environments_and_sync_policy(repo_root):
    config = load(repo_root, "dev-prod-go")
    envs = {e["name"]: e for e in values.chart_values(config, phase="gitops")["environments"]}
    assert envs["dev"]["destination"] == {"server": "https://kubernetes.default.svc"}
    assert envs["prod"]["destination"] == {"name": "shop-prod"}
    assert envs["dev"]["syncPolicy"] == {"automated": True, "prune": True, "selfHeal": True}
    assert envs["prod"]["syncPolicy"] == {"automated": False, "prune": False, "selfHeal": False}
    assert envs["prod"]["namespace"] == "shop"


def test_apps_and_waves(repo_root):
    config = load(repo_root, "dev-prod-go")
    apps = {a["name"]: a for a in values.chart_values(config, phase="gitops")["apps"]}
    assert apps["catalog"]["syncWave"] == 0 and apps["storefront"]["syncWave"] == 1
    assert apps["storefront"]["dependsOn"] == ["catalog"]
    assert apps["catalog"]["goBuild"] == {"enabled": True, "package": "./cmd/catalog"}
    assert apps["storefront"]["hosts"] == {"dev": "dev.shop.example.com", "prod": "shop.example.com"}


def test_registry_hosts_and_load_balancer(repo_root):
    config = load(repo_root, "proof-of-concept")
    plain = values.chart_values(config, phase="platform")
    assert plain["registry"]["server"] == "registry.digitalocean.com/bl-k8s"
    assert plain["ingress"]["argocd"]["host"] == "argo.homecooked.nl"
    assert plain["ingress"]["tektonDashboard"]["enabled"] is False
    assert plain["ingress-nginx"]["controller"]["service"]["annotations"] == {}
    with_lb = values.chart_values(config, phase="platform", load_balancer_id="4de7ac8b-495b-4884-9a69-1050c6793cd6")
    assert with_lb["ingress-nginx"]["controller"]["service"]["annotations"] == {
        "kubernetes.digitalocean.com/load-balancer-id": "4de7ac8b-495b-4884-9a69-1050c6793cd6",
        "service.beta.kubernetes.io/do-loadbalancer-name": "bl-k8s-mgmt-ingress"}


def test_workload_cluster_releases_bring_its_edge_and_certificates(repo_root):
    config = config_file.load(repo_root / "examples/dev-prod-go/gitops.yaml")
    assert values.workload_clusters(config) == ("prod",)
    assert values.workload_releases(config) == (
        values.Release(phase="ingress", name="shop-ingress", namespace="ingress-nginx"),
        values.Release(phase="edge", name="shop-edge", namespace="ingress-nginx"))
    data = values.chart_values(config, phase="ingress", load_balancer_id="lb-prod", cluster="prod")
    assert set(data) == {"phase", "edge", "platform", *values.DEPENDENCIES}
    assert (data["argo-cd"], data["tekton-operator"]) == ({"enabled": False}, {"enabled": False})
    assert data["cert-manager"] == {"enabled": True}, "the prod cluster issues its app hosts' certificates"
    assert (data["gateway-helm"], data["gateway-crds-helm"]) == ({"enabled": False}, {"enabled": False})
    assert data["ingress-nginx"]["controller"]["service"]["annotations"] == {
        "kubernetes.digitalocean.com/load-balancer-id": "lb-prod",
        "service.beta.kubernetes.io/do-loadbalancer-name": "shop-prod-ingress"}
    ready = [r["name"] for r in values.readiness_after(config, "ingress")]
    assert ready[:2] == ["ingress-nginx-controller", "ingress-nginx-controller-admission"]
    assert {"cert-manager-webhook", "clusterissuers.cert-manager.io"} <= set(ready)
    assert [(r["kind"], r["name"]) for r in values.readiness_after(config, "edge")] == [
        ("ClusterIssuer", "letsencrypt-production")]
    edge = values.chart_values(config, phase="edge", load_balancer_id="lb-prod", cluster="prod")
    assert all(not edge[d]["enabled"] for d in values.DEPENDENCIES)
    # seen from the prod cluster, prod is the in-cluster environment
    assert {e["name"]: e["destination"] for e in edge["environments"]} == {
        "dev": {"name": "shop-dev"}, "prod": {"server": "https://kubernetes.default.svc"}}
    assert values.prerequisites(config, "ingress") == [] and values.prerequisites(config, "edge") == []

    gateway = dataclasses.replace(config, edge="gateway")
    data = values.chart_values(gateway, phase="ingress", load_balancer_id="lb-prod", cluster="prod")
    assert data["ingress-nginx"] == {"enabled": False}
    assert data["gateway-helm"] == data["gateway-crds-helm"] == {"enabled": True}
    assert data["cert-manager"] == {"enabled": True, "config": {"enableGatewayAPI": True}}
    edge = values.chart_values(gateway, phase="edge", load_balancer_id="lb-prod", cluster="prod")
    assert edge["gateway"]["annotations"]["service.beta.kubernetes.io/do-loadbalancer-name"] == "shop-prod-ingress"
    (namespace,) = values.prerequisites(gateway, "ingress")  # Envoy Gateway's certificate hook runs there
    assert namespace["metadata"]["name"] == "envoy-gateway-system"
    assert namespace["metadata"]["annotations"] == {"meta.helm.sh/release-name": "shop-ingress",
                                                    "meta.helm.sh/release-namespace": "ingress-nginx"}

    plain = dataclasses.replace(config, tls=dataclasses.replace(config.tls, enabled=False))
    assert [r.phase for r in values.workload_releases(plain)] == ["ingress", "edge"], "empty, kept for switches"
    edge = values.chart_values(plain, phase="edge", cluster="prod")
    assert (edge["issuers"]["enabled"], edge["edge"]) == (False, "ingress-nginx")
    single = config_file.load(repo_root / "examples/proof-of-concept/gitops.yaml")
    assert values.workload_clusters(single) == ()


def test_version_overrides(repo_root):
    text = (repo_root / "examples/proof-of-concept/gitops.yaml").read_text() + (
        "versions:\n  kaniko_image: ghcr.io/osscontainertools/kaniko:v1.28.9\n  argo_cd_chart: 10.1.2\n")
    config = config_file.load_text(text, source="gitops.yaml")
    assert values.chart_values(config, phase="gitops")["versions"] == {
        "kanikoImage": "ghcr.io/osscontainertools/kaniko:v1.28.9"}
    assert values.chart_version_overrides(config) == {"argo-cd": "10.1.2"}


def test_self_management_points_at_the_chart_committed_to_the_gitops_repository(repo_root):
    config = load(repo_root, "proof-of-concept")
    gitops = values.chart_values(config, phase="gitops", load_balancer_id="lb-1")
    managed = gitops["selfManagement"]
    assert managed["enabled"] is True
    assert managed["chart"] == {"repoURL": config.gitops.repo, "path": "platform/platform/chart",
                                "targetRevision": config.gitops.branch}
    assert managed["valueFiles"] == {p: f"../values/{p}.yaml" for p in values.PHASES}
    local = values.chart_values(config, phase="gitops", repo_url="file:///srv/gitops.git")
    assert local["selfManagement"]["chart"]["repoURL"] == local["gitops"]["repoURL"] == "file:///srv/gitops.git"
    for phase in ("platform", "tekton"):
        assert "selfManagement" not in values.chart_values(config, phase=phase)


def test_chart_defaults_match_the_mapping(repo_root):
    chart_values = yaml.safe_load((repo_root / "charts/gitops-platform/values.yaml").read_text())
    assert chart_values["selfManagement"]["valueFiles"] == {p: f"../values/{p}.yaml" for p in values.PHASES}
    namespaces = chart_values["namespaces"]
    assert (namespaces["argocd"], namespaces["ingress"], namespaces["tekton"]) == (
        values.ARGOCD_NAMESPACE, values.INGRESS_NAMESPACE, values.TEKTON_NAMESPACE)
    assert chart_values["ingress-nginx"]["namespaceOverride"] == values.INGRESS_NAMESPACE


def test_readiness_after_each_phase(repo_root):
    config = load(repo_root, "proof-of-concept")
    refs = {p: values.readiness_after(config, p) for p in values.PHASES}
    for ref in (r for phase in refs.values() for r in phase):
        assert set(ref) <= {"api_version", "kind", "name", "namespace", "expected_revision"}, ref
    platform = {(r["api_version"], r["kind"], r["namespace"], r["name"]) for r in refs["platform"]}
    assert {
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "applications.argoproj.io"),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "applicationsets.argoproj.io"),
        ("apps/v1", "StatefulSet", "argocd", "argocd-application-controller"),
        ("apps/v1", "Deployment", "argocd", "argocd-server"),
        ("apps/v1", "Deployment", "argocd", "argocd-repo-server"),
        ("apps/v1", "Deployment", "ingress-nginx", "ingress-nginx-controller"),
        ("v1", "Service", "ingress-nginx", "ingress-nginx-controller-admission"),
    } <= platform
    assert not any("tekton" in name for *_, name in platform), "the operator has a release of its own"
    operator = {(r["api_version"], r["kind"], r["namespace"], r["name"]) for r in refs["operator"]}
    assert operator == {
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "tektonconfigs.operator.tekton.dev"),
        ("apps/v1", "Deployment", "tekton-operator", "tekton-operator"),
        ("apps/v1", "Deployment", "tekton-operator", "tekton-operator-webhook"),
        ("v1", "Service", "tekton-operator", "tekton-operator-webhook"),
    }
    tekton = {(r["kind"], r["namespace"], r["name"]) for r in refs["tekton"]}
    assert {
        ("TektonConfig", None, "config"),
        ("Namespace", None, "tekton-pipelines"),
        ("CustomResourceDefinition", None, "tasks.tekton.dev"),
        ("CustomResourceDefinition", None, "pipelines.tekton.dev"),
        ("CustomResourceDefinition", None, "eventlisteners.triggers.tekton.dev"),
        ("Deployment", "tekton-pipelines", "tekton-pipelines-controller"),
        ("Deployment", "tekton-pipelines", "tekton-pipelines-webhook"),
        ("Deployment", "tekton-pipelines", "tekton-triggers-webhook"),
        ("Service", "tekton-pipelines", "tekton-pipelines-webhook"),
        ("Service", "tekton-pipelines", "tekton-triggers-webhook"),
    } <= tekton
    assert refs["gitops"] == [{"api_version": "argoproj.io/v1alpha1", "kind": "Application", "name": "bl-k8s-root",
                               "namespace": "argocd", "expected_revision": "main"}]
    every = [(r["kind"], r["namespace"], r["name"]) for phase in refs.values() for r in phase]
    assert len(set(every)) == len(every), "nothing is listed twice"
    with pytest.raises(ValueError):
        values.readiness_after(config, "nope")


def test_prerequisites_are_the_ingress_namespace_owned_by_the_platform_release(repo_root):
    config = load(repo_root, "proof-of-concept")
    (namespace,) = values.prerequisites(config, "platform")
    assert namespace["kind"] == "Namespace" and namespace["metadata"]["name"] == values.INGRESS_NAMESPACE
    assert namespace["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert namespace["metadata"]["annotations"] == {"meta.helm.sh/release-name": "bl-k8s-platform",
                                                    "meta.helm.sh/release-namespace": "argocd"}
    assert values.prerequisites(config, "tekton") == values.prerequisites(config, "gitops") == []


def test_each_release_gets_only_the_values_its_templates_read(repo_root):
    """A change that concerns one release leaves the others' values alone, so their re-run changes nothing."""
    text = (repo_root / "examples/proof-of-concept/gitops.yaml").read_text()
    config = config_file.load_text(text, source="gitops.yaml")
    assert set(values.chart_values(config, phase="tekton")) == {"phase", "edge", "platform", "tekton", "issuers",
                                                                *values.DEPENDENCIES}
    assert "apps" not in values.chart_values(config, phase="platform")
    assert "ingress" in values.chart_values(config, phase="gitops"), "the dashboard Ingress is the gitops release's"
    assert values.chart_values(config, phase="gitops")["ingress-nginx"] == {"enabled": False}

    def by_phase(cfg, lb=None):
        return {p: values.chart_values(cfg, phase=p, load_balancer_id=lb) for p in values.PHASES}

    base = by_phase(config)
    other_port = config_file.load_text(text.replace("port: 80", "port: 8080"), source="gitops.yaml")
    keep_fewer = config_file.load_text(text + "platform:\n  pipeline_runs_to_keep: 3\n", source="gitops.yaml")
    changed = {name: {p for p, v in by_phase(cfg).items() if v != base[p]}
               for name, cfg in (("app", other_port), ("pruner", keep_fewer))}
    assert changed == {"app": {"gitops"}, "pruner": {"tekton"}}
    # the other releases' values live in the GitOps repository, not in the gitops release
    assert {p for p, v in by_phase(config, lb="lb-2").items() if v != base[p]} == {"platform"}


def test_argo_cd_is_told_its_host_and_https_url(repo_root):
    config = load(repo_root, "proof-of-concept")
    argo = values.chart_values(config, phase="platform")["argo-cd"]
    assert argo == {"enabled": True, "global": {"domain": "argo.homecooked.nl"},
                    "configs": {"cm": {"url": "https://argo.homecooked.nl"}},
                    "notifications": {"argocdUrl": "https://argo.homecooked.nl"}}
    for phase in ("tekton", "gitops"):
        assert values.chart_values(config, phase=phase)["argo-cd"] == {"enabled": False}
    plain = config_file.load_text((repo_root / "examples/proof-of-concept/gitops.yaml").read_text() + "tls: false\n",
                                  source="gitops.yaml")
    assert values.chart_values(plain, phase="platform")["argo-cd"]["configs"]["cm"]["url"] == "http://argo.homecooked.nl"


def _tls_config(repo_root, example: str, tls: str = "") -> Any:
    text = (repo_root / f"examples/{example}/gitops.yaml").read_text()
    return config_file.load_text(text + tls, source="gitops.yaml")


def test_https_by_default_with_cert_manager_and_lets_encrypt(repo_root):
    config = _tls_config(repo_root, "proof-of-concept", "dns:\n  manage: false\n")
    platform = values.chart_values(config, phase="platform")
    assert platform["ingress"]["tls"] == {"enabled": True, "secretName": "", "clusterIssuer": "letsencrypt-production"}
    assert platform["cert-manager"] == {"enabled": True}
    tekton = values.chart_values(config, phase="tekton")
    assert tekton["issuers"] == {"enabled": True, "email": "", "solver": "http01"}
    assert tekton["cert-manager"] == {"enabled": False}
    waited = {(r["kind"], r["name"]) for r in values.readiness_after(config, "platform")}
    assert {("CustomResourceDefinition", "clusterissuers.cert-manager.io"), ("Deployment", "cert-manager-webhook"),
            ("Service", "cert-manager-webhook"), ("Deployment", "cert-manager-cainjector")} <= waited
    assert ("ClusterIssuer", "letsencrypt-production") in {
        (r["kind"], r["name"]) for r in values.readiness_after(config, "tekton")}


def test_issuer_email_and_challenge_come_from_gitops_yaml(repo_root):
    staging = _tls_config(repo_root, "proof-of-concept", "dns:\n  manage: false\n"
                          "tls:\n  issuer: letsencrypt-staging\n  email: ops@homecooked.nl\n")
    assert values.chart_values(staging, phase="tekton")["issuers"] == {
        "enabled": True, "email": "ops@homecooked.nl", "solver": "http01"}
    assert values.chart_values(staging, phase="platform")["ingress"]["tls"]["clusterIssuer"] == "letsencrypt-staging"
    assert ("ClusterIssuer", "letsencrypt-staging") in {
        (r["kind"], r["name"]) for r in values.readiness_after(staging, "tekton")}
    do = _tls_config(repo_root, "proof-of-concept")
    assert do.provider == "digitalocean" and do.tls.challenge == "dns01", "DNS-01 where DigitalOcean serves DNS"
    assert values.chart_values(do, phase="tekton")["issuers"]["solver"] == "dns01-digitalocean"
    http = _tls_config(repo_root, "proof-of-concept", "tls:\n  challenge: http01\n")
    assert values.chart_values(http, phase="tekton")["issuers"]["solver"] == "http01"


def test_a_certificate_brought_or_tls_off_installs_no_cert_manager(repo_root):
    brought = _tls_config(repo_root, "proof-of-concept", "tls:\n  secret: wildcard-tls\n")
    platform = values.chart_values(brought, phase="platform")
    assert platform["ingress"]["tls"]["secretName"] == "wildcard-tls"
    assert platform["cert-manager"] == {"enabled": False}
    assert values.chart_values(brought, phase="tekton")["issuers"]["enabled"] is False
    assert not [r for r in values.readiness_after(brought, "platform") if "cert-manager" in r["name"]]
    off = _tls_config(repo_root, "proof-of-concept", "tls: false\n")
    assert values.chart_values(off, phase="platform")["ingress"]["tls"]["enabled"] is False
    assert values.chart_values(off, phase="platform")["cert-manager"] == {"enabled": False}


def test_tekton_chains_results_and_pipelines_as_code_are_off_unless_gitops_yaml_asks(repo_root):
    text = (repo_root / "examples/proof-of-concept/gitops.yaml").read_text()
    default = values.chart_values(config_file.load_text(text, source="gitops.yaml"), phase="tekton")["tekton"]
    assert (default["chains"], default["results"], default["pipelinesAsCode"]) == (
        {"enabled": False}, {"enabled": False}, {"enabled": False})
    asked = config_file.load_text(text + "platform:\n  tekton_chains:\n    enabled: true\n"
                                  "  tekton_results:\n    enabled: true\n"
                                  "  pipelines_as_code:\n    enabled: true\n", source="gitops.yaml")
    tekton = values.chart_values(asked, phase="tekton")["tekton"]
    assert (tekton["chains"], tekton["results"], tekton["pipelinesAsCode"]) == (
        {"enabled": True}, {"enabled": True}, {"enabled": True})
    assert "tekton" not in values.chart_values(asked, phase="platform")


def test_edge_gateway_installs_envoy_gateway_instead_of_ingress_nginx(repo_root):
    config = _tls_config(repo_root, "proof-of-concept", "edge: gateway\n")
    assert config.edge == "gateway"
    platform = values.chart_values(config, phase="platform", load_balancer_id="lb-1")
    assert (platform["edge"], platform["ingress-nginx"], platform["gateway-crds-helm"], platform["gateway-helm"]) == (
        "gateway", {"enabled": False}, {"enabled": True}, {"enabled": True})
    assert platform["cert-manager"] == {"enabled": True, "config": {"enableGatewayAPI": True}}
    gitops = values.chart_values(config, phase="gitops", load_balancer_id="lb-1")
    assert gitops["gateway"]["annotations"]["kubernetes.digitalocean.com/load-balancer-id"] == "lb-1"
    waited = {(r["kind"], r["name"]) for r in values.readiness_after(config, "platform")}
    assert ("Deployment", "envoy-gateway") in waited and ("Deployment", "ingress-nginx-controller") not in waited
    assert ("CustomResourceDefinition", "httproutes.gateway.networking.k8s.io") in waited
    assert [o["metadata"]["name"] for o in values.prerequisites(config, "platform")] == ["envoy-gateway-system"]
    default = _tls_config(repo_root, "proof-of-concept")
    assert default.edge == "ingress-nginx", "a gitops.yaml without edge keeps ingress-nginx"
    assert values.chart_values(default, phase="gitops")["gateway"] == {"annotations": {}}


def test_a_brought_certificate_in_another_namespace_on_the_gateway_edge(repo_root):
    config = config_file.load(repo_root / "examples/proof-of-concept/gitops.yaml")
    brought = dataclasses.replace(config, edge="gateway", tls=dataclasses.replace(config.tls,
                                                                                  secret="certificates/wildcard"))
    assert not brought.tls.cert_manager
    tls = values.chart_values(brought, phase="gitops")["ingress"]["tls"]
    assert (tls["secretName"], tls["secretNamespace"]) == ("wildcard", "certificates")
    same = dataclasses.replace(brought, tls=dataclasses.replace(config.tls, secret="wildcard"))
    assert "secretNamespace" not in values.chart_values(same, phase="gitops")["ingress"]["tls"]
    assert values.tls_secret_name(same, "argocd-server") == "wildcard"

