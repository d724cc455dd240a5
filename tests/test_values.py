"""gitops.yaml to chart values: phases, environments, sync policy, load balancer, overrides."""

from __future__ import annotations

from kubectl_gitops.adapters import config_file
from kubectl_gitops.core import values


def load(repo_root, name):
    return config_file.load(repo_root / "examples" / name / "gitops.yaml")


def test_phases_toggle_dependencies(repo_root):
    config = load(repo_root, "proof-of-concept")
    assert [r.name for r in values.releases(config)] == ["bl-k8s-platform", "bl-k8s-gitops"]
    platform = values.chart_values(config, phase="platform")
    gitops = values.chart_values(config, phase="gitops")
    assert platform["phase"] == "platform" and gitops["phase"] == "gitops"
    for dep in values.DEPENDENCIES:
        assert platform[dep]["enabled"] is True
        assert gitops[dep]["enabled"] is False


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
        "kubernetes.digitalocean.com/load-balancer-id": "4de7ac8b-495b-4884-9a69-1050c6793cd6"}


def test_version_overrides(repo_root):
    text = (repo_root / "examples/proof-of-concept/gitops.yaml").read_text() + (
        "versions:\n  kaniko_image: ghcr.io/osscontainertools/kaniko:v1.28.9\n  argo_cd_chart: 10.1.2\n")
    config = config_file.load_text(text, source="gitops.yaml")
    assert values.chart_values(config, phase="gitops")["versions"] == {
        "kanikoImage": "ghcr.io/osscontainertools/kaniko:v1.28.9"}
    assert values.chart_version_overrides(config) == {"argo-cd": "10.1.2"}
