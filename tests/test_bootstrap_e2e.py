"""`kubectl gitops bootstrap` end to end, as users run it: real kubectl plugin dispatch, real helm,
the Kubernetes API stand-in with the platform's controllers played by :mod:`fakeplatform`, and the
stand-in dependency charts of :mod:`fakecharts` passed with ``--chart`` (no chart repository is
reachable from the tests).

The same scenarios run against a real cluster with ``--real-kubeconfig`` (see test_real_cluster.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import fakecharts
import gitopsrepo
import platforms
from fakekube.fixtures import make_kube_env
from fakeplatform import FakePlatform

BIN = Path(sys.executable).parent
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXECUTABLES = ["kubectl-gitops"]
PUSH_AUTH = {"auths": {"registry.example.com": {"auth": "cHVzaGVyOnNlbnRpbmVsLXB1c2gtcGFzc3dvcmQ="}}}
PUSH_SENTINEL = "sentinel-push-password"


@pytest.fixture(scope="module")
def stand_in_chart(tmp_path_factory, shared_reference) -> Path:
    return fakecharts.chart_with_dependencies(tmp_path_factory.mktemp("chart"), shared_reference)


class Platform:
    """One test's cluster, environment and config, with helpers to run the CLI."""

    def __init__(self, kube, controllers, env, tmp_path, chart, gitops_repo):
        self.kube, self.controllers, self.env, self.tmp, self.chart = kube, controllers, env, tmp_path, chart
        self.config = platforms.write_existing(tmp_path / "gitops.yaml", repo=gitops_repo)
        self.auth = tmp_path / "push-config.json"
        self.auth.write_text(json.dumps(PUSH_AUTH))

    def kubectl(self, *args, timeout=180, env=None):
        return subprocess.run(["kubectl", *map(str, args)], capture_output=True, text=True, cwd=self.tmp,
                              env=env or self.env, timeout=timeout)

    def bootstrap(self, *args, timeout=180, env=None):
        return self.kubectl("gitops", "bootstrap", "--config", self.config, "--chart", self.chart,
                            "--registry-auth", self.auth, "--timeout", "60s", *args, timeout=timeout, env=env)

    def helm_revisions(self) -> dict[str, int]:
        out = subprocess.run(["helm", "list", "-n", "argocd", "-o", "json"], capture_output=True, text=True,
                             env=self.env, timeout=60, check=True)
        return {r["name"]: int(r["revision"]) for r in json.loads(out.stdout)}


@pytest.fixture
def platform(tmp_path, shared_reference, kubectl_bin, helm_bin, stand_in_chart, fake_kube, git_host):
    gitops_repo = git_host.create_repo("gitops")  # empty: bootstrap fills it
    controllers = FakePlatform(fake_kube, shared_reference, kubectl=kubectl_bin).install()
    path_dir = tmp_path / "path"
    path_dir.mkdir()
    for name in EXECUTABLES:
        (path_dir / name).symlink_to(BIN / name)
    (path_dir / "kubectl").symlink_to(kubectl_bin)
    (path_dir / "helm").symlink_to(helm_bin)
    env = make_kube_env(fake_kube.kubeconfig, tmp_path / "home")
    env.update(PATH=f"{path_dir}:/usr/bin:/bin", LC_ALL="C.UTF-8")
    env.pop("GITOPS_HELM", None)
    yield Platform(fake_kube, controllers, env, tmp_path, stand_in_chart, gitops_repo)
    controllers.close()
    assert controllers.errors == []


def test_bootstrap_then_status_then_noop_rerun(platform):
    out = platform.bootstrap()
    assert out.returncode == 0, out.stderr
    for phase in ("preflight", "infrastructure", "platform", "repository", "handover"):
        assert f"{phase}:" in out.stdout
    assert "✔ Argo CD: root and platform Applications Synced at" in out.stderr and "Traceback" not in out.stderr
    kube = platform.kube
    # the push credentials live in the CI namespace only, and in no helm values
    secret = kube.get("secrets", "registry-push", "ci")
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    holders = [(s["metadata"]["namespace"], s["metadata"]["name"]) for s in kube.list("secrets")
               if s.get("type") == "kubernetes.io/dockerconfigjson"]
    assert holders == [("ci", "registry-push")]
    for release in ("bl-k8s-platform", "bl-k8s-tekton", "bl-k8s-gitops"):
        values = subprocess.run(["helm", "get", "values", release, "-n", "argocd", "-o", "json"],
                                capture_output=True, text=True, env=platform.env, timeout=60, check=True).stdout
        assert "auths" not in values and "cHVzaGVy" not in values
    assert PUSH_SENTINEL not in out.stdout + out.stderr
    # the Tekton target namespace is the operator's (controlled by the TektonConfig), in no release
    namespace = kube.get("namespaces", "tekton-pipelines")
    config = kube.get("tektonconfigs.operator.tekton.dev", "config")
    assert namespace["metadata"]["ownerReferences"] == [
        {"apiVersion": "operator.tekton.dev/v1alpha1", "kind": "TektonConfig", "name": "config",
         "uid": config["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    for release in ("bl-k8s-platform", "bl-k8s-tekton", "bl-k8s-gitops"):
        manifest = subprocess.run(["helm", "get", "manifest", release, "-n", "argocd"], capture_output=True,
                                  text=True, env=platform.env, timeout=60, check=True).stdout
        assert not [d for d in yaml.safe_load_all(manifest) if d and d["kind"] == "Namespace"
                    and d["metadata"]["name"] == "tekton-pipelines"], release

    platform.controllers.settle()  # bootstrap waits for the root Application only
    status = platform.kubectl("gitops", "status", "--config", platform.config)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "Edge: ingress-nginx (ingress-nginx), load balancer 203.0.113.10" in status.stdout
    edge = json.loads(platform.kubectl("gitops", "status", "--config", platform.config, "-o", "json").stdout)["edge"]
    hosts = {h["host"]: h for h in edge["hosts"]}
    domain = yaml.safe_load(platform.config.read_text())["domain"]
    assert {f"argo.{domain}", f"hooks.{domain}"} <= set(hosts), hosts
    for host in hosts.values():  # every host on https with a certificate cert-manager issued
        assert host["url"].startswith("https://") and host["certificate"] == "Ready", host
        assert host["expires"] and host["dns"] is None, "no DNS lookup in tests"
    secret = kube.get("secrets", "argocd-server-tls", "argocd")
    assert secret["type"] == "kubernetes.io/tls" and secret["metadata"]["annotations"][
        "cert-manager.io/issuer-name"] == "letsencrypt-production"
    assert kube.get("clusterissuers.cert-manager.io", "letsencrypt-production")["status"]["conditions"][0][
        "status"] == "True"
    assert "Argo CD: https://argo." in out.stdout

    revisions = platform.helm_revisions()
    kube.reset_counters()
    again = platform.bootstrap("-o", "json")
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    assert result["upToDate"] is True
    assert kube.writes == 0, [r for r in kube.requests if r.method not in ("GET",)]
    assert platform.helm_revisions() == revisions


def test_password_after_bootstrap(platform):
    assert platform.bootstrap().returncode == 0
    out = platform.kubectl("gitops", "password")
    assert out.returncode == 0, out.stderr
    assert out.stdout.endswith("\n") and len(out.stdout.strip()) >= 8 and out.stdout.count("\n") == 1


def test_unreachable_api_server_fails_fast_with_one_line(platform):
    kubeconfig = platform.tmp / "dead-kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "dead",
        "clusters": [{"name": "dead", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "dead", "user": {"token": "x"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "dead"}}]}))
    env = dict(platform.env, KUBECONFIG=str(kubeconfig))
    started = time.monotonic()
    out = platform.bootstrap(env=env)
    elapsed = time.monotonic() - started
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "127.0.0.1:1" in errors[0], out.stderr
    assert "Traceback" not in out.stderr
    assert elapsed < 30  # a generous bound: the request timeout is seconds, not minutes


def test_forbidden_by_rbac_changes_nothing(platform):
    platform.kube.deny("create", "clusterroles", group="rbac.authorization.k8s.io")
    platform.kube.reset_counters()
    out = platform.bootstrap()
    assert out.returncode == 1
    assert "clusterroles" in out.stderr and "cluster-admin" in out.stderr
    assert platform.kube.writes == 0


def test_helm_missing(platform):
    (platform.tmp / "path" / "helm").unlink()
    out = platform.bootstrap()
    assert out.returncode == 1
    assert "error: helm was not found on PATH" in out.stderr
    assert platform.kube.writes == 0


def test_helm_too_old(platform):
    old = platform.tmp / "path" / "helm"
    old.unlink()
    old.write_text("#!/bin/sh\necho 'v3.18.6+gb76a950'\n")  # answers `helm version --short` as helm 3.18 does
    old.chmod(0o755)
    out = platform.bootstrap()
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "v3.18.6" in errors[0] and "3.19" in errors[0]
    assert platform.kube.writes == 0


def test_deployment_that_never_becomes_ready_is_named_then_rerun_completes(platform):
    platform.controllers.never_ready.add(("Deployment", "argocd", "argocd-repo-server"))
    out = platform.bootstrap("--timeout", "30s")
    assert out.returncode == 1
    assert "Deployment argocd/argocd-repo-server" in out.stderr
    assert "✗ platform did not finish" in out.stderr
    assert "Traceback" not in out.stderr
    platform.controllers.never_ready.clear()
    platform.kube.mark_deployment_available("argocd-repo-server", "argocd")  # the rollout finishes late
    again = platform.bootstrap()
    assert again.returncode == 0, again.stderr


def test_chart_install_failure_reports_helm_and_rerun_completes(platform):
    platform.controllers.failing_jobs.add("argocd-redis-secret-init")
    out = platform.bootstrap()
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert errors and "helm" in errors[0], out.stderr
    platform.controllers.failing_jobs.clear()
    again = platform.bootstrap()
    assert again.returncode == 0, again.stderr


def test_interrupted_run_is_completed_by_a_rerun(platform):
    proc = subprocess.Popen(["kubectl", "gitops", "bootstrap", "--config", str(platform.config), "--chart",
                             str(platform.chart), "--registry-auth", str(platform.auth)],
                            env=platform.env, cwd=platform.tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    platform.kube.wait_for("deployments", "argocd-server", "argocd", timeout=120)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    again = platform.bootstrap()
    assert again.returncode == 0, again.stderr
    platform.controllers.settle()  # bootstrap waits for the root Application only
    status = platform.kubectl("gitops", "status", "--config", platform.config)
    assert status.returncode == 0, status.stdout + status.stderr


def test_bootstrap_writes_the_gitops_repository_argo_cd_syncs_from(platform, git_host):
    url = git_host.create_repo("fresh")  # empty: bootstrap is to fill it
    platforms.write_existing(platform.config, repo=url)
    out = platform.bootstrap("--timeout", "30s")
    assert out.returncode == 0, out.stderr
    head = gitopsrepo.git("--git-dir", str(git_host.path("fresh")), "rev-parse", "main")
    platform.controllers.settle()
    for app in platform.kube.list("applications.argoproj.io", "argocd"):
        sync = app["status"]["sync"]
        assert (sync["status"], sync.get("revision")) == ("Synced", head), app["metadata"]["name"]


def _edge(platform) -> dict:
    out = platform.kubectl("gitops", "status", "--config", platform.config, "-o", "json")
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)["edge"]


def _set_edge(platform, edge: str) -> None:
    data = yaml.safe_load(platform.config.read_text())
    data["edge"] = edge
    platform.config.write_text(yaml.safe_dump(data, sort_keys=False))


def test_gateway_edge_serves_every_host_over_https_and_a_rerun_writes_nothing(platform):
    _set_edge(platform, "gateway")
    out = platform.bootstrap()
    assert out.returncode == 0, out.stderr
    kube = platform.kube
    platform.controllers.settle()
    domain = yaml.safe_load(platform.config.read_text())["domain"]
    gateway = kube.get("gateways.gateway.networking.k8s.io", "platform", "envoy-gateway-system")
    assert {c["type"]: c["status"] for c in gateway["status"]["conditions"]} == {"Accepted": "True",
                                                                                "Programmed": "True"}
    assert kube.list("ingresses.networking.k8s.io") == [], "no Ingress on the gateway edge"
    assert kube.list("deployments", "ingress-nginx") == []
    assert kube.get("grpcroutes.gateway.networking.k8s.io", "argocd-server", "argocd") is not None
    edge = _edge(platform)
    assert edge["controller"] == "envoy-gateway (envoy-gateway-system)" and edge["address"] == "203.0.113.10"
    hosts = {h["host"]: h for h in edge["hosts"]}
    assert {f"argo.{domain}", f"hooks.{domain}"} <= set(hosts)
    assert all(h["url"].startswith("https://") and h["certificate"] == "Ready" for h in hosts.values()), hosts
    secret = kube.get("secrets", f"argo-{domain.replace('.', '-')}-tls", "envoy-gateway-system")
    assert secret["type"] == "kubernetes.io/tls"

    revisions = platform.helm_revisions()
    kube.reset_counters()
    again = platform.bootstrap("-o", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["upToDate"] is True
    assert kube.writes == 0, [r for r in kube.requests if r.method not in ("GET",)]
    assert platform.helm_revisions() == revisions


def test_switching_an_ingress_nginx_platform_to_the_gateway_is_a_rerun_that_loses_nothing(platform, git_host):
    assert platform.bootstrap().returncode == 0
    platform.controllers.settle()
    kube = platform.kube
    repo = git_host.path("gitops")
    before = gitopsrepo.git("--git-dir", str(repo), "rev-parse", "main")
    secrets = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in kube.list("secrets")
               if s["metadata"]["namespace"] in ("ci", "argocd", "cert-manager")
               and not s["metadata"]["name"].startswith("sh.helm.release")}
    namespaces = {n["metadata"]["name"] for n in kube.list("namespaces")}
    applications = {a["metadata"]["name"] for a in kube.list("applications.argoproj.io", "argocd")}

    _set_edge(platform, "gateway")
    out = platform.bootstrap()
    assert out.returncode == 0, out.stderr
    platform.controllers.settle()
    after = gitopsrepo.git("--git-dir", str(repo), "rev-parse", "main")
    assert after != before
    merged = subprocess.run(["git", "--git-dir", str(repo), "merge-base", "--is-ancestor", before, after])
    assert merged.returncode == 0, "the GitOps branch moved forward: its history is kept"
    assert namespaces <= {n["metadata"]["name"] for n in kube.list("namespaces")}
    assert secrets <= {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in kube.list("secrets")}
    assert applications <= {a["metadata"]["name"] for a in kube.list("applications.argoproj.io", "argocd")}
    assert kube.list("deployments", "ingress-nginx") == [], "the retired controller is gone"
    assert kube.list("ingresses.networking.k8s.io", "argocd") == []
    edge = _edge(platform)
    assert edge["controller"].startswith("envoy-gateway") and edge["hosts"]
    assert all(h["certificate"] == "Ready" and h["url"].startswith("https://") for h in edge["hosts"])


def test_gateway_edge_serves_the_dashboard_only_behind_basic_authentication(platform):
    """The dashboard exposed on the gateway edge: a listener, an HTTPRoute and Envoy Gateway's basic authentication
    (SecurityPolicy). Without a users Secret Envoy Gateway refuses the policy and the route answers 500: bootstrap
    warns, status says so; once the Secret holds {SHA} entries the policy is accepted and status is healthy."""
    import base64
    import hashlib

    data = yaml.safe_load(platform.config.read_text())
    data["edge"] = "gateway"
    data.setdefault("platform", {})["tekton_dashboard"] = {"expose": True, "auth_secret": "dashboard-auth"}
    platform.config.write_text(yaml.safe_dump(data, sort_keys=False))
    out = platform.bootstrap()
    assert out.returncode == 0, out.stderr
    warnings = [line for line in (out.stdout + out.stderr).splitlines() if "dashboard" in line and "closed" in line]
    assert len(warnings) == 1 and "Secret tekton-pipelines/dashboard-auth does not exist" in warnings[0], warnings
    platform.controllers.settle()
    kube = platform.kube
    domain = data["domain"]
    route = kube.get("httproutes.gateway.networking.k8s.io", "tekton-dashboard", "tekton-pipelines")
    assert route["spec"]["hostnames"] == [f"tekton.{domain}"]
    policy = kube.get("securitypolicies.gateway.envoyproxy.io", "tekton-dashboard", "tekton-pipelines")
    assert policy["spec"]["basicAuth"] == {"users": {"name": "dashboard-auth"}}
    status = platform.kubectl("gitops", "status", "--config", platform.config, "-o", "json")
    assert status.returncode == 1, status.stdout + status.stderr
    hosts = {h["host"]: h for h in json.loads(status.stdout)["edge"]["hosts"]}
    dashboard = hosts[f"tekton.{domain}"]
    assert (dashboard["certificate"], dashboard["ready"]) == ("Ready", False)
    assert dashboard["message"] == ("basic authentication refused by Envoy Gateway: BasicAuth: secret "
                                    "tekton-pipelines/dashboard-auth does not exist.")

    sha = "{SHA}" + base64.b64encode(hashlib.sha1(b"s3cret").digest()).decode()
    kube.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "dashboard-auth",
                                                                    "namespace": "tekton-pipelines"},
                 "stringData": {".htpasswd": "ops:$apr1$VD0UN8jS$Q1ybTb4ArG8RKz1JqC9PB/\n",
                                "auth": f"ops:{sha}\n"}})
    status = platform.kubectl("gitops", "status", "--config", platform.config, "-o", "json")
    hosts = {h["host"]: h for h in json.loads(status.stdout)["edge"]["hosts"]}
    assert hosts[f"tekton.{domain}"]["message"].endswith("unsupported htpasswd format: please use {SHA}.")
    again = platform.bootstrap()
    assert again.returncode == 0, again.stderr
    assert "not {SHA}, the only kind Envoy Gateway accepts" in again.stdout + again.stderr

    def fix(obj):
        obj["data"][".htpasswd"] = base64.b64encode(f"ops:{sha}\n".encode()).decode()

    kube.update("secrets", "dashboard-auth", fix, "tekton-pipelines")
    status = platform.kubectl("gitops", "status", "--config", platform.config, "-o", "json")
    assert status.returncode == 0, status.stdout + status.stderr
    assert json.loads(status.stdout)["edge"]["ready"]


def test_gateway_edge_serves_a_certificate_brought_from_another_namespace(platform):
    """``tls.secret: namespace/name`` on the gateway edge: bootstrap refuses before any write while that Secret is
    missing; with it, the chart grants the Gateway that one Secret (ReferenceGrant) and every host is served with it,
    which Envoy Gateway refuses without the grant."""
    data = yaml.safe_load(platform.config.read_text())
    data["edge"] = "gateway"
    data["tls"] = {"secret": "certificates/wildcard"}
    platform.config.write_text(yaml.safe_dump(data, sort_keys=False))
    kube = platform.kube
    kube.reset_counters()
    out = platform.bootstrap()
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, out.stderr
    assert errors[0].startswith("error: tls.secret certificates/wildcard does not exist on cluster mgmt (create it "
                                "there with kubectl create secret tls wildcard -n certificates"), errors
    assert kube.writes == 0

    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "certificates"}})
    kube.create({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                 "metadata": {"name": "wildcard", "namespace": "certificates"},
                 "stringData": {"tls.crt": "-----BEGIN CERTIFICATE-----\n",
                                "tls.key": "-----BEGIN PRIVATE KEY-----\n"}})
    out = platform.bootstrap()
    assert out.returncode == 0, out.stderr
    platform.controllers.settle()
    grant = kube.get("referencegrants.gateway.networking.k8s.io", "gateway-platform-certificate", "certificates")
    assert grant["spec"]["to"] == [{"group": "", "kind": "Secret", "name": "wildcard"}]
    assert kube.list("deployments", "cert-manager") == [], "no cert-manager: the certificate is brought"
    edge = _edge(platform)
    assert edge["hosts"] and all((h["certificate"], h["ready"]) == ("brought", True) for h in edge["hosts"]), edge

    # without the grant Envoy Gateway does not use the certificate, and status says why
    kube.delete("referencegrants.gateway.networking.k8s.io", "gateway-platform-certificate", "certificates")
    out = platform.kubectl("gitops", "status", "--config", platform.config, "-o", "json")
    hosts = json.loads(out.stdout)["edge"]["hosts"]
    assert out.returncode == 1 and not any(h["ready"] for h in hosts)
    assert hosts[0]["message"] == ("No valid secrets exist: certificate refs 0: Certificate ref to secret "
                                   "certificates/wildcard not permitted by any ReferenceGrant.")


def test_a_platform_from_before_the_operator_release_keeps_every_tekton_object(platform):
    """Platforms installed when the Tekton operator was part of the platform release (its CRDs templated in that
    release): re-running bootstrap moves the operator to its own release without the platform release's upgrade
    deleting the operator's CRDs, and so without losing the TektonConfig and what hangs off it."""
    name = yaml.safe_load(platform.config.read_text())["name"]
    archive = next((platform.chart / "charts").glob("tekton-operator-*.tgz"))
    helm = ["helm"]
    old = subprocess.run([*helm, "install", f"{name}-platform", str(archive), "-n", "argocd", "--create-namespace",
                          "--set", "installCRDs=true", "--set", "fullnameOverride=tekton-operator",
                          "--set", "operator.autoInstallComponents=false", "--set", "kubernetesMinVersion=v1.32.0"],
                         capture_output=True, text=True, env=platform.env, timeout=120)
    assert old.returncode == 0, old.stderr
    tekton = subprocess.run([*helm, "install", f"{name}-tekton", str(platform.chart), "-n", "argocd",
                             "--set", "phase=tekton", "--set", "issuers.enabled=false",
                             *(a for dep in ("argo-cd", "ingress-nginx", "cert-manager", "gateway-crds-helm",
                                             "gateway-helm", "tekton-operator")
                               for a in ("--set", f"{dep}.enabled=false"))],
                            capture_output=True, text=True, env=platform.env, timeout=120)
    assert tekton.returncode == 0, tekton.stderr
    kube = platform.kube
    before = kube.get("tektonconfigs.operator.tekton.dev", "config")
    assert before is not None

    out = platform.bootstrap()
    assert out.returncode == 0, out.stderr
    assert "CRD tektonconfigs.operator.tekton.dev: handed from release" in out.stderr
    after = kube.get("tektonconfigs.operator.tekton.dev", "config")
    assert after is not None and after["metadata"]["uid"] == before["metadata"]["uid"], "the TektonConfig was kept"
    crd = kube.get("customresourcedefinitions.apiextensions.k8s.io", "tektonconfigs.operator.tekton.dev")
    annotations = crd["metadata"]["annotations"]
    assert (annotations["meta.helm.sh/release-name"], annotations["meta.helm.sh/release-namespace"]) == (
        f"{name}-operator", "tekton-operator")
    assert kube.list("deployments", "argocd") and not [d for d in kube.list("deployments", "argocd")
                                                        if d["metadata"]["name"].startswith("tekton-operator")]
    assert kube.get("deployments", "tekton-operator", "tekton-operator") is not None
