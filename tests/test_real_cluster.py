"""The end-to-end scenarios against a real cluster (kind, k3d, DOKS), opt-in:

    pytest tests/test_real_cluster.py --real-kubeconfig ~/.kube/config [--real-context kind-kind]

Skipped unless a kubeconfig and a GitOps repository the cluster's Argo CD can reach are given
(``--real-gitops-repo URL`` or ``GITOPS_REAL_REPO``; a throw-away repository: bootstrap commits to
its ``main``; for https, ``GITOPS_GIT_TOKEN`` holds a token that may push). Uses the packaged
chart with the real upstream charts (the machine must reach their repositories) and real
controllers, so the waits are real too. The platform stays installed afterwards: use a throw-away
cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import platforms

pytestmark = pytest.mark.real_cluster

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def real(real_kubeconfig, tmp_path_factory, kubectl_bin, helm_bin, request):
    kubeconfig, context = real_kubeconfig
    repo = request.config.getoption("--real-gitops-repo")
    if not repo:
        pytest.skip("no GitOps repository for the real cluster: pass --real-gitops-repo URL (or GITOPS_REAL_REPO)")
    tmp = tmp_path_factory.mktemp("real")
    path_dir = tmp / "path"
    path_dir.mkdir()
    for name in ("kubectl-gitops",):
        (path_dir / name).symlink_to(BIN / name)
    (path_dir / "kubectl").symlink_to(kubectl_bin)
    (path_dir / "helm").symlink_to(helm_bin)
    config = platforms.write_existing(tmp / "gitops.yaml", repo=repo)
    image = request.config.getoption("--real-image")
    if image:  # an app made of an image the cluster can pull, in dev and (promoted only) prod
        name, _, digest = image.partition("@")
        registry, _, app = name.rpartition("/")
        server, _, registry_name = registry.partition("/")
        data = yaml.safe_load(config.read_text())
        data["registry"] = {"name": registry_name, "server": server}
        data["environments"]["prod"] = {"cluster": next(iter(data["clusters"])), "sync": "manual"}
        data["applications"] = {app: {"git": "https://example.com/unused.git", "port": 80}}
        config.write_text(yaml.safe_dump(data, sort_keys=False))
    env = dict(os.environ, PATH=f"{path_dir}:{os.environ.get('PATH', '')}", KUBECONFIG=str(kubeconfig))
    context_args = ["--context", context] if context else []
    return {"env": env, "config": config, "context": context_args, "image": image, "tmp": tmp}


def gitops(real, *args, timeout=1800):
    return subprocess.run(["kubectl", "gitops", *args, "--config", str(real["config"]), *real["context"]],
                          capture_output=True, text=True, env=real["env"], timeout=timeout)


def test_bootstrap_status_and_noop_rerun(real):
    out = gitops(real, "bootstrap", "--timeout", "25m")
    assert out.returncode == 0, out.stderr
    status = gitops(real, "status", "-o", "json", timeout=120)
    assert status.returncode == 0, status.stdout + status.stderr
    again = gitops(real, "bootstrap", "-o", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["upToDate"] is True


def test_password_is_one_line(real):
    out = gitops(real, "password", timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.endswith("\n") and out.stdout.count("\n") == 1


def test_promote_rollback_and_history(real):
    """The promote flow of tests/test_promote.py on a real cluster with a real Argo CD: a build's write-back
    (the digest into dev's release file, one commit), dev deploys it, promote takes it to prod."""
    if not real["image"]:
        pytest.skip("no image to deploy: pass --real-image IMAGE@DIGEST (or GITOPS_REAL_IMAGE)")
    import time

    from kubectl_gitops.adapters import config_file
    from kubectl_gitops.core import gitrepo, promotion
    from kubectl_gitops.workflows import repository

    assert gitops(real, "bootstrap", "--timeout", "25m").returncode == 0
    config = config_file.load(str(real["config"]))
    app = config.applications[0]
    image, _, digest = real["image"].partition("@")
    remote = repository.remote(config, repository.resolve_token(None, os.environ), os.environ)
    rel = gitrepo.paths(config).release(app.name, "dev")

    def write(work):
        target = work / rel
        target.write_text(gitrepo.release_file(image, digest, app=app.name, replicas=1))
        return [rel]

    from kubectl_gitops.adapters import git

    message = promotion.message("build", app.name, "dev", digest, subject=f"build {app.name} {digest}")
    built = git.commit_change(remote, config.gitops.branch, write, message)
    kubectl = ["kubectl", *(["--context", real["context"][1]] if real["context"] else [])]
    subprocess.run([*kubectl, "-n", "argocd", "annotate", "--overwrite", "application", f"{app.name}-dev",
                    "argocd.argoproj.io/refresh=normal"], env=real["env"], check=True, capture_output=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        out = gitops(real, "promote", app.name, "--dry-run", "-o", "json", timeout=120)
        if out.returncode == 0:
            break
        time.sleep(10)
    assert out.returncode == 0, out.stderr
    promoted = gitops(real, "promote", app.name, "--yes", "-o", "json", timeout=900)
    assert promoted.returncode == 0, promoted.stderr
    result = json.loads(promoted.stdout)
    assert (result["digest"], result["synced"]) == (digest, True) and result["commit"] != built.sha
    history = gitops(real, "history", app.name, "--env", "prod", "-o", "json", timeout=120)
    assert [r["action"] for r in json.loads(history.stdout)][:1] == ["promote"]
