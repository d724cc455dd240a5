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
    env = dict(os.environ, PATH=f"{path_dir}:{os.environ.get('PATH', '')}", KUBECONFIG=str(kubeconfig))
    context_args = ["--context", context] if context else []
    return {"env": env, "config": config, "context": context_args}


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
