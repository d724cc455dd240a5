"""`kubectl gitops registry-secret` against the Kubernetes API stand-in and the DigitalOcean stand-in (in-process,
the same entry point kubectl runs), the credential checks `build` and `status` call, and per-app run pruning."""

from __future__ import annotations

import base64
import json
import time

import pytest

from kubectl_gitops.adapters import config_file, kube
from kubectl_gitops.cli.main import _run, cli
from kubectl_gitops.core.errors import GitopsError
from kubectl_gitops.workflows import prune, registry_secret

CONFIG = """\
apiVersion: gitops.kubectl.dev/v1alpha1
kind: Platform
name: shop
provider: existing
domain: shop.example.com
registry: {name: shop-images, tier: basic, credentials_expiry_seconds: 2592000}
clusters: {main: {context: fake}}
environments:
  dev: {cluster: main, namespace: shop-dev}
  prod: {cluster: main, namespace: shop}
gitops: {repo: https://github.com/example/shop-gitops}
applications:
  catalog: {git: https://github.com/example/catalog}
"""
SENTINEL = "SENTINEL-cred-5c1d"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def docker_config(host: str, secret: str = SENTINEL) -> str:
    return json.dumps({"auths": {host: {"auth": _b64(f"{secret}:{secret}")}}})


@pytest.fixture
def cluster(fake_kube, tmp_path, monkeypatch):
    for ns in ("ci", "shop-dev", "shop"):
        fake_kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        fake_kube.create({"apiVersion": "v1", "kind": "ServiceAccount",
                          "metadata": {"name": "default", "namespace": ns}})
    config = tmp_path / "gitops.yaml"
    config.write_text(CONFIG)
    monkeypatch.setenv("KUBECONFIG", str(fake_kube.kubeconfig))
    return fake_kube, config


def push_secret(fake_kube, *, expires_in: float | None):
    annotations = {registry_secret.EXPIRES_ANNOTATION: str(int(time.time() + expires_in))} if expires_in else {}
    fake_kube.create({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                      "metadata": {"name": "registry-push", "namespace": "ci", "annotations": annotations},
                      "data": {".dockerconfigjson": _b64(docker_config("registry.digitalocean.com"))}})


def gitops(config, capsys, *args):
    code = _run(cli, ["registry-secret", "--config", str(config), *args], "kubectl gitops")
    out, err = capsys.readouterr()
    return code, out, err


def test_shows_push_and_pull_credentials_with_access_and_expiry_and_no_secret(cluster, capsys):
    fake_kube, config = cluster
    push_secret(fake_kube, expires_in=3 * 86400)
    fake_kube.create({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                      "metadata": {"name": "registry-shop-images", "namespace": "shop-dev",
                                   "annotations": {"digitalocean.com/dosecret-identifier": "abc"}},
                      "data": {".dockerconfigjson": _b64(docker_config("registry.digitalocean.com"))}})
    code, out, err = gitops(config, capsys, "-o", "json")
    assert code == 0, err
    found = {(c["purpose"], c["namespace"]): c for c in json.loads(out)["credentials"]}
    push = found[("push", "ci")]
    assert (push["access"], push["registries"], push["secret"]) == ("read-write", ["registry.digitalocean.com"],
                                                                     "registry-push")
    assert push["expiresAt"]
    dev = found[("pull", "shop-dev")]
    assert (dev["source"], dev["access"], dev["environment"]) == ("DigitalOcean registry integration", "read-only",
                                                                   "dev")
    assert found[("pull", "shop")]["source"] == "missing"
    assert "expire in 3 days" in err and "kubectl gitops registry-secret --rotate" in err
    code, out, err = gitops(config, capsys)
    assert code == 0 and "read-write" in out and "registry-push" in out
    assert SENTINEL not in out + err and _b64(f"{SENTINEL}:{SENTINEL}") not in out + err


def test_rotate_makes_one_read_write_request_and_replaces_the_secret_in_place(cluster, capsys, fake_do, monkeypatch):
    fake_kube, config = cluster
    fake_do.seed_registry("shop-images", tier="basic", region="fra1")
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", fake_do.token)
    push_secret(fake_kube, expires_in=86400)
    before = fake_kube.get("secrets", "registry-push", "ci")
    code, out, err = gitops(config, capsys, "--rotate")
    assert code == 0, err
    issued = [r for r in fake_do.log if "docker-credentials" in r.path]
    assert len(issued) == 1 and issued[0].query.get("read_write") == ["true"]
    assert issued[0].query.get("expiry_seconds") == ["2592000"]
    after = fake_kube.get("secrets", "registry-push", "ci")
    assert after["metadata"]["uid"] == before["metadata"]["uid"], "updated in place, never deleted"
    token = fake_do.account.issued_registry_credentials[-1]["token"]
    auths = json.loads(base64.b64decode(after["data"][".dockerconfigjson"]))["auths"]
    assert base64.b64decode(auths["registry.digitalocean.com"]["auth"]).decode() == f"{token}:{token}"
    expiry = float(after["metadata"]["annotations"][registry_secret.EXPIRES_ANNOTATION])
    assert abs(expiry - (time.time() + 2592000)) < 60
    for sentinel in (token, SENTINEL, fake_do.token):
        assert sentinel not in out + err
    assert "expire" not in err, "fresh credentials: no warning"


def test_rotate_needs_a_digitalocean_registry_and_a_token(cluster, capsys, monkeypatch):
    _, config = cluster
    monkeypatch.delenv("DIGITALOCEAN_TOKEN", raising=False)
    monkeypatch.delenv("DIGITALOCEAN_ACCESS_TOKEN", raising=False)
    code, _, err = gitops(config, capsys, "--rotate")
    assert code == 2 and err.startswith("error: --rotate needs a DigitalOcean token")
    config.write_text(CONFIG.replace("tier: basic,", "tier: basic, server: ghcr.io,"))
    code, _, err = gitops(config, capsys, "--rotate")
    assert code == 2 and "names ghcr.io" in err and len(err.splitlines()) == 1


def test_namespace_with_registry_auth_writes_a_read_only_pull_secret(cluster, capsys, tmp_path):
    fake_kube, config = cluster
    auth = tmp_path / "pull.json"
    auth.write_text(docker_config("ghcr.io"))
    code, out, err = gitops(config, capsys, "-n", "shop", "--registry-auth", str(auth), "-o", "yaml")
    assert code == 0, err
    secret = fake_kube.get("secrets", "registry-pull", "shop")
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    assert secret["metadata"]["annotations"][registry_secret.ACCESS_ANNOTATION] == "read-only"
    assert fake_kube.get("serviceaccounts", "default", "shop")["imagePullSecrets"] == [{"name": "registry-pull"}]
    assert SENTINEL not in out + err
    assert gitops(config, capsys, "-n", "shop", "--registry-auth", str(auth))[0] == 0
    assert fake_kube.get("serviceaccounts", "default", "shop")["imagePullSecrets"] == [{"name": "registry-pull"}]
    for args, needle in ([["-n", "ci", "--registry-auth", str(auth)], "holds the push credentials"],
                         [["-n", "elsewhere", "--registry-auth", str(auth)], "not an environment namespace"],
                         [["--registry-auth", str(auth)], "needs --namespace"],
                         [["-n", "shop"], "goes with --registry-auth"],
                         [["--rotate", "-n", "shop", "--registry-auth", str(auth)], "one or the other"]):
        code, _, err = gitops(config, capsys, *args)
        assert code == 2 and needle in err and len(err.splitlines()) == 1, (args, err)


def test_check_push_credentials_before_a_build(cluster):
    fake_kube, config_path = cluster
    config = config_file.load(config_path)
    conn = kube.connect(kubeconfig=str(fake_kube.kubeconfig))
    with pytest.raises(GitopsError, match="Secret ci/registry-push is missing"):
        registry_secret.check_push_credentials(conn, config)
    push_secret(fake_kube, expires_in=-60)
    with pytest.raises(GitopsError, match="expired on") as err:
        registry_secret.check_push_credentials(conn, config)
    assert "registry-secret --rotate" in err.value.hint
    now = time.time()
    assert "expire in 2 days" in registry_secret.check_push_credentials(conn, config, now=now - 60 - 2 * 86400)
    assert registry_secret.check_push_credentials(conn, config, now=now - 30 * 86400) is None
    over = config_file.load_text(CONFIG.replace("tier: basic", "tier: professional"), source="gitops.yaml")
    from dataclasses import replace

    starter = replace(over, registry=replace(over.registry, tier="starter"))
    with pytest.raises(GitopsError, match="cannot hold the 2 repositories"):
        registry_secret.check_push_credentials(conn, starter)


def test_prune_keeps_each_apps_newest_finished_runs(fake_kube):
    """The operator's pruner counts per Pipeline; prune_runs keeps N per app and never touches a running run."""
    from fakekube.platform import _crd

    fake_kube.create(_crd("tekton.dev", "pipelineruns", "PipelineRun", "v1", namespaced=True, status=True))
    fake_kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ci"}})
    conn = kube.connect(kubeconfig=str(fake_kube.kubeconfig))
    names = []
    for i, app in enumerate(["web", "web", "api", "web", "web", "web"]):
        name = f"{app}-{i}"
        fake_kube.create({"apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
                          "metadata": {"name": name, "namespace": "ci", "labels": {"app.kubernetes.io/name": app}},
                          "spec": {"pipelineRef": {"name": "build-and-push"}}})
        if name != "web-5":  # web-5 still runs
            fake_kube.set_run_status(name, "ci", status="True" if i % 2 else "False", reason="Done")
        names.append(name)
        time.sleep(0.01)
    assert prune.prune_runs(conn, "web", 2) == ["web-0", "web-1"]
    left = sorted(r["metadata"]["name"] for r in conn.list("tekton.dev/v1", "PipelineRun", "ci"))
    assert left == ["api-2", "web-3", "web-4", "web-5"], "api's run is not web's to count"
    assert prune.prune_runs(conn, "web", 2) == []
    with pytest.raises(ValueError):
        prune.prune_runs(conn, "web", 0)
