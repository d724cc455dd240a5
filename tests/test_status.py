"""`kubectl gitops status` against the Kubernetes API stand-in: in-process and through kubectl plugin dispatch."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import platforms
from fakekube.platform import app_image, install_platform, set_application, versions
from kubectl_gitops.cli.main import _run, cli

BIN = Path(sys.executable).parent
APPS = ("catalog", "storefront")
ENVS = ("dev", "prod")
REVISION = "3f2a9c1d4b5e6f708192a3b4c5d6e7f8091a2b3c"


def write_config(path: Path, *, contexts=("fake", "prod"), platform="shop") -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "gitops.kubectl.dev/v1alpha1", "kind": "Platform", "name": platform, "provider": "existing",
        "domain": "shop.example.com",
        "clusters": {"dev": {"context": contexts[0]}, "prod": {"context": contexts[1]}},
        "environments": {"dev": {"cluster": "dev", "namespace": "shop-dev"},
                         "prod": {"cluster": "prod", "namespace": "shop"}},
        "gitops": {"repo": platforms.bare_repo(path.parent / "gitops.git").as_uri()},
        "applications": {app: {"git": f"https://github.com/example/{app}"} for app in APPS},
    }, sort_keys=False))
    return path


def add_context(kubeconfig: Path, name: str, server: str) -> None:
    doc = yaml.safe_load(kubeconfig.read_text())
    doc["clusters"].append({"name": name, "cluster": {"server": server}})
    doc["users"].append({"name": name, "user": {"token": "prod-token"}})
    doc["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    kubeconfig.write_text(yaml.safe_dump(doc))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def platform(fake_kube, tmp_path):
    """A healthy platform; the prod cluster is a second context of the same stand-in."""
    add_context(fake_kube.kubeconfig, "prod", fake_kube.url)
    install_platform(fake_kube, platform="shop", apps=tuple((a, e) for a in APPS for e in ENVS), revision=REVISION)
    return write_config(tmp_path / "gitops.yaml")


def status(fake_kube, config, *args, capsys):
    code = _run(cli, ["--kubeconfig", str(fake_kube.kubeconfig), "--config", str(config), "status", *args],
                "kubectl gitops")
    out = capsys.readouterr()
    return code, out.out, out.err


def test_healthy_platform_text(platform, fake_kube, capsys):
    code, out, err = status(fake_kube, platform, capsys=capsys)
    assert (code, err) == (0, "")
    v = versions()
    lines = out.splitlines()
    assert lines[0] == f"Platform shop on context fake ({fake_kube.url}): healthy"
    rows = {line.split()[0]: line.split() for line in lines if line}
    assert rows["argo-cd"][1:4] == ["argocd", "yes", v["argocd"]]
    assert rows["tekton-operator"][1:4] == ["tekton-operator", "yes", v["tektonOperator"]]
    assert rows["ingress-nginx"][1:4] == ["ingress-nginx", "yes", v["ingressNginx"]]
    assert rows["tekton-pipelines"][1:4] == ["tekton-pipelines", "yes", v["tektonPipelines"]]
    assert rows["tekton-triggers"][1:4] == ["tekton-pipelines", "yes", v["tektonTriggers"]]
    assert rows["tekton-dashboard"][1:4] == ["tekton-pipelines", "yes", v["tektonDashboard"]]
    assert ["dev", "(platform)", "fake", "yes", "v1.35.0"] == rows["dev"][:5]
    assert ["prod", "prod", "yes", "v1.35.0"] == rows["prod"][:4]
    apps = [line.split() for line in lines if line.startswith(APPS)]
    assert [a[:5] for a in apps] == [[a, e, "Synced", "Healthy", REVISION[:12]] for a in APPS for e in ENVS]
    assert apps[0][5] == app_image("catalog").split("@")[0] + "@" + app_image("catalog").split("@")[1][:19]
    platform_apps = [line.split()[:4] for line in lines if line.startswith("shop-")]
    assert platform_apps == [["shop-gitops", "gitops", "Synced", "Healthy"],
                             ["shop-platform", "platform", "Synced", "Healthy"],
                             ["shop-root", "root", "Synced", "Healthy"],
                             ["shop-tekton", "tekton", "Synced", "Healthy"]]


def test_json_and_yaml(platform, fake_kube, capsys):
    code, out, _ = status(fake_kube, platform, "-o", "json", capsys=capsys)
    data = json.loads(out)
    assert code == 0 and data["healthy"] is True and data["platform"] == "shop"
    assert [c["name"] for c in data["components"]] == ["argo-cd", "tekton-operator", "ingress-nginx",
                                                       "tekton-pipelines", "tekton-triggers", "tekton-dashboard"]
    assert all(c["ready"] and c["installed"] for c in data["components"])
    assert [(c["name"], c["management"], c["reachable"]) for c in data["clusters"]] == [
        ("dev", True, True), ("prod", False, True)]
    first = data["applications"][0]
    assert (first["application"], first["sync"], first["health"], first["revision"]) == (
        "catalog-dev", "Synced", "Healthy", REVISION)
    assert first["images"] == [app_image("catalog")] and first["digest"] == app_image("catalog").split("@")[1]
    assert len(data["platformApplications"]) == 4
    code, out, _ = status(fake_kube, platform, "-o", "yaml", capsys=capsys)
    assert code == 0 and yaml.safe_load(out) == data


def test_fetches_only_what_the_answer_needs(platform, fake_kube, capsys):
    fake_kube.reset_counters()
    assert status(fake_kube, platform, "-o", "json", capsys=capsys)[0] == 0
    requests = sorted((r.method, r.path) for r in fake_kube.requests)
    assert requests == sorted([
        ("GET", "/version"), ("GET", "/version"),  # the platform's cluster and prod
        ("GET", "/apis/apps/v1/namespaces/argocd/deployments"),
        ("GET", "/apis/apps/v1/namespaces/argocd/statefulsets"),
        ("GET", "/apis/apps/v1/namespaces/ingress-nginx/deployments"),
        ("GET", "/apis/apps/v1/namespaces/ingress-nginx/deployments"),  # prod's own ingress controller
        ("GET", "/apis/apps/v1/namespaces/tekton-operator/deployments"),
        ("GET", "/apis/apps/v1/namespaces/tekton-pipelines/deployments"),
        ("GET", "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications"),
        ("GET", "/api/v1/namespaces/ci/secrets/registry-push"),  # when the push credentials expire
        # the edge: the platform's Ingresses, the load balancer Service, cert-manager's Certificates (the kind
        # is not served here: discovery says so)
        ("GET", "/apis/networking.k8s.io/v1/ingresses"), ("GET", "/api/v1/namespaces/ingress-nginx/services"),
        ("GET", "/apis/cert-manager.io/v1"),
        # prod's own edge, the same three lists
        ("GET", "/apis/networking.k8s.io/v1/ingresses"), ("GET", "/api/v1/namespaces/ingress-nginx/services"),
        ("GET", "/apis/cert-manager.io/v1"),
    ])
    assert fake_kube.writes == 0


def test_warns_when_the_push_credentials_expire_within_7_days(platform, fake_kube, capsys):
    import time

    if fake_kube.get("namespaces", "ci") is None:
        fake_kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ci"}})
    fake_kube.create({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                      "metadata": {"name": "registry-push", "namespace": "ci", "annotations": {
                          "gitops.kubectl.dev/credentials-expire-at": str(int(time.time() + 2 * 86400 + 600))}},
                      "data": {".dockerconfigjson": "e30="}})
    code, _, err = status(fake_kube, platform, capsys=capsys)
    assert code == 0
    assert "expire in 2 days" in err and "kubectl gitops registry-secret --rotate" in err


def test_unhealthy_parts_are_named_and_exit_1(platform, fake_kube, capsys):
    fake_kube.put_status("deployments", "tekton-dashboard", {}, "tekton-pipelines")
    set_application(fake_kube, "storefront-prod", sync="OutOfSync", health="Missing", revision=REVISION)
    set_application(fake_kube, "catalog-prod", health="Degraded", phase="Failed", revision=REVISION,
                    message="one or more objects failed to apply")
    code, out, err = status(fake_kube, platform, capsys=capsys)
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert lines[0].endswith(": NOT healthy")
    dashboard = next(line for line in lines if line.startswith("tekton-dashboard"))
    assert dashboard.split()[2] == "no"
    assert "Deployment tekton-dashboard: waiting for the controller to observe generation 1" in dashboard
    assert next(line for line in lines if line.split()[:2] == ["storefront", "prod"]).split()[2:4] == [
        "OutOfSync", "Missing"]
    catalog = next(line for line in lines if line.split()[:2] == ["catalog", "prod"])
    assert catalog.endswith("sync Failed (health Degraded): one or more objects failed to apply")
    data = json.loads(status(fake_kube, platform, "-o", "json", capsys=capsys)[1])
    assert data["healthy"] is False
    assert [a["application"] for a in data["applications"] if not a["ready"]] == ["catalog-prod", "storefront-prod"]


def test_missing_application_and_platform_parts(fake_kube, tmp_path, capsys):
    add_context(fake_kube.kubeconfig, "prod", fake_kube.url)
    install_platform(fake_kube, platform="shop", apps=(("catalog", "dev"),), self_managed=False)
    for name in ("tekton-triggers-controller", "tekton-triggers-webhook", "tekton-triggers-core-interceptors"):
        fake_kube.delete("deployments", name, "tekton-pipelines")
    config = write_config(tmp_path / "gitops.yaml")
    code, out, _ = status(fake_kube, config, "-o", "json", capsys=capsys)
    data = json.loads(out)
    assert code == 1
    triggers = next(c for c in data["components"] if c["name"] == "tekton-triggers")
    assert (triggers["installed"], triggers["ready"], triggers["message"]) == (
        False, False, "not installed (nothing in namespace tekton-pipelines)")
    missing = next(a for a in data["applications"] if a["application"] == "storefront-dev")
    assert (missing["sync"], missing["health"], missing["message"]) == (
        "-", "Missing", "Application argocd/storefront-dev not found")
    assert data["platformApplications"] == []


def test_platform_not_installed(fake_kube, tmp_path, capsys):
    add_context(fake_kube.kubeconfig, "prod", fake_kube.url)
    code, out, err = status(fake_kube, write_config(tmp_path / "gitops.yaml"), capsys=capsys)
    assert (code, out) == (1, "")
    assert err == (f"error: the platform is not installed on context fake ({fake_kube.url}): no Argo CD, "
                   "ingress-nginx or Tekton found (run `kubectl gitops bootstrap`, or pass --context for the "
                   "platform's cluster)\n")


def test_unreachable_platform_cluster_is_one_line(tmp_path, capsys):
    port = closed_port()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "c", "user": "u"}}]}))
    config = write_config(tmp_path / "gitops.yaml")
    code = _run(cli, ["--kubeconfig", str(kubeconfig), "--config", str(config), "status"], "kubectl gitops")
    out = capsys.readouterr()
    assert (code, out.out) == (1, "")
    assert out.err == (f"error: cannot reach the Kubernetes API server https://127.0.0.1:{port} (context fake): "
                       "connection refused (check that the cluster is running and that context fake points at it)\n")


def test_unreachable_other_cluster_is_reported(platform, fake_kube, tmp_path, capsys):
    add_context(fake_kube.kubeconfig, "prod-gone", f"http://127.0.0.1:{closed_port()}")
    config = write_config(tmp_path / "other.yaml", contexts=("fake", "prod-gone"))
    code, out, _ = status(fake_kube, config, "-o", "json", capsys=capsys)
    data = json.loads(out)
    assert code == 1 and all(c["ready"] for c in data["components"])
    prod = data["clusters"][1]
    assert (prod["reachable"], prod["version"]) == (False, None)
    assert prod["message"].startswith("cannot reach the Kubernetes API server http://127.0.0.1:")
    config = write_config(tmp_path / "absent.yaml", contexts=("fake", "nowhere"))
    data = json.loads(status(fake_kube, config, "-o", "json", capsys=capsys)[1])
    assert data["clusters"][1]["message"] == f"context nowhere not found in {fake_kube.kubeconfig} (available: " \
                                             "fake, prod, prod-gone)"


def test_forbidden_namespace_is_reported_per_component(platform, fake_kube, capsys):
    fake_kube.deny("list", "deployments", "apps", "tekton-pipelines")
    code, out, _ = status(fake_kube, platform, "-o", "json", capsys=capsys)
    data = json.loads(out)
    assert code == 1
    tekton = [c for c in data["components"] if c["namespace"] == "tekton-pipelines"]
    assert {c["message"] for c in tekton} == {
        "forbidden: context fake may not list deployments.apps in namespace tekton-pipelines (ask a cluster admin "
        "for this permission, or use a context that has it)"}
    assert all(c["ready"] for c in data["components"] if c["namespace"] != "tekton-pipelines")


def test_warns_when_the_config_names_another_context(platform, fake_kube, tmp_path, capsys):
    config = write_config(tmp_path / "named.yaml", contexts=("prod", "prod"))
    code, _, err = status(fake_kube, config, capsys=capsys)
    assert code == 0
    assert err == (f"⚠ {config} names context prod for cluster dev; looking at context fake (pass --context prod "
                   "for that one)\n")


def test_config_problems_exit_2(fake_kube, tmp_path, capsys):
    code, out, err = status(fake_kube, tmp_path / "none.yaml", capsys=capsys)
    assert (code, out) == (2, "") and err.startswith(f"error: config file {tmp_path / 'none.yaml'} not found")
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: gitops.kubectl.dev/v1alpha1\nkind: Platform\nname: shop\n")
    code, _, err = status(fake_kube, bad, capsys=capsys)
    assert code == 2 and err.startswith(f"error: {bad} has ") and "missing required key" in err


# ---------------------------------------------------------------- through kubectl
@pytest.fixture
def plugin_env(platform, fake_kube, kube_env, kubectl_bin, tmp_path):
    path_dir = tmp_path / "path"
    path_dir.mkdir()
    for name in ("kubectl-gitops", "kubectl_complete-gitops"):
        (path_dir / name).symlink_to(BIN / name)
    (path_dir / "kubectl").symlink_to(kubectl_bin)
    return {**kube_env, "PATH": f"{path_dir}:/usr/bin:/bin", "GITOPS_CONFIG": str(platform)}


def kubectl(env, *args):
    return subprocess.run(["kubectl", *args], capture_output=True, text=True, env=env, timeout=60)


def test_through_kubectl_plugin_dispatch(plugin_env, fake_kube):
    out = kubectl(plugin_env, "gitops", "status", "-o", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["healthy"] is True and out.stderr == ""
    out = kubectl(plugin_env, "gitops", "--context", "fake", "status")
    assert out.returncode == 0 and out.stdout.startswith("Platform shop on context fake")
    set_application(fake_kube, "catalog-dev", health="Progressing", revision=REVISION)
    out = kubectl(plugin_env, "gitops", "status", "-o", "json")
    assert out.returncode == 1 and json.loads(out.stdout)["healthy"] is False
    out = kubectl(plugin_env, "gitops", "status", "--context", "nope")
    assert (out.returncode, out.stdout) == (2, "")  # a config error
    assert out.stderr == f"error: context nope not found in {fake_kube.kubeconfig} (available: fake, prod)\n"
    values = kubectl(plugin_env, "__complete", "gitops", "status", "-o", "")
    assert values.stdout.split()[:3] == ["text", "json", "yaml"]
