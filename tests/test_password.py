"""`kubectl gitops password` against the Kubernetes API stand-in: in-process and through kubectl plugin dispatch."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import bcrypt
import pytest

from fakekube.platform import INITIAL_PASSWORD, install_platform
from kubectl_gitops.cli.main import _run, cli

BIN = Path(sys.executable).parent


def password(fake_kube, *args, capsys):
    code = _run(cli, ["--kubeconfig", str(fake_kube.kubeconfig), "password", *args], "kubectl gitops")
    out = capsys.readouterr()
    return code, out.out, out.err


def secret_data(fake_kube, name, namespace="argocd") -> dict[str, str]:
    obj = fake_kube.get("secrets", name, namespace)
    return {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}


def test_prints_the_initial_password_and_a_newline_only(fake_kube, capsys):
    install_platform(fake_kube)
    assert password(fake_kube, capsys=capsys) == (0, f"{INITIAL_PASSWORD}\n", "")
    code, out, err = password(fake_kube, "-o", "json", capsys=capsys)
    assert code == 0 and json.loads(out) == {"username": "admin", "password": INITIAL_PASSWORD} and err == ""


def test_argo_cd_not_installed(fake_kube, capsys):
    code, out, err = password(fake_kube, capsys=capsys)
    assert (code, out) == (1, "")
    assert err == ("error: Argo CD is not installed on context fake: no Secret argocd/argocd-secret (run `kubectl "
                   "gitops bootstrap`, or pass --context or -n for the cluster and namespace of Argo CD)\n")
    assert password(fake_kube, "--rotate", capsys=capsys)[:2] == (1, "")


def test_initial_secret_already_deleted_says_how_to_rotate(fake_kube, capsys):
    install_platform(fake_kube, initial_password=None)
    code, out, err = password(fake_kube, capsys=capsys)
    assert (code, out) == (1, "")
    assert err == ("error: the initial admin password is gone: Secret argocd/argocd-initial-admin-secret was deleted "
                   "(Argo CD advises that once the password is changed) (set a new one with `kubectl gitops password "
                   "--rotate`)\n")


def test_rotate_sets_an_argo_cd_hash_and_deletes_the_initial_secret(fake_kube, capsys):
    install_platform(fake_kube)
    before = time.time()
    code, out, err = password(fake_kube, "--rotate", capsys=capsys)
    assert code == 0 and out.endswith("\n") and out.count("\n") == 1
    new = out[:-1]
    assert len(new) == 24 and new.isalnum() and new != INITIAL_PASSWORD
    data = secret_data(fake_kube, "argocd-secret")
    assert data["admin.password"].startswith("$2a$10$")
    assert bcrypt.checkpw(new.encode(), data["admin.password"].encode())
    mtime = datetime.strptime(data["admin.passwordMtime"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
    assert before - 1 <= mtime <= time.time() + 1
    assert data["server.secretkey"] == "server-secret-key"  # the rest of argocd-secret is untouched
    assert fake_kube.get("secrets", "argocd-initial-admin-secret", "argocd") is None
    assert err == ("✔ set a new Argo CD admin password in Secret argocd/argocd-secret (context fake)\n"
                   "✔ deleted Secret argocd/argocd-initial-admin-secret\n")
    assert new not in err
    again = password(fake_kube, "--rotate", capsys=capsys)
    assert again[0] == 0 and again[1][:-1] != new and again[2].count("\n") == 1  # nothing left to delete
    assert "gone" in password(fake_kube, capsys=capsys)[2]


def test_a_stale_initial_password_is_not_printed(fake_kube, capsys):
    install_platform(fake_kube)
    changed = base64.b64encode(bcrypt.hashpw(b"changed-in-the-ui", bcrypt.gensalt(rounds=4))).decode()
    fake_kube.update("secrets", "argocd-secret", lambda s: s["data"].update({"admin.password": changed}), "argocd")
    code, out, err = password(fake_kube, capsys=capsys)
    assert (code, out) == (1, "")
    assert err == ("error: the password in Secret argocd/argocd-initial-admin-secret no longer works: the admin "
                   "password was changed since (use the new one, or set another with `kubectl gitops password "
                   "--rotate`)\n")
    assert INITIAL_PASSWORD not in err


def test_namespace_flag(fake_kube, capsys):
    install_platform(fake_kube)
    assert password(fake_kube, "-n", "elsewhere", capsys=capsys)[2].startswith(
        "error: Argo CD is not installed on context fake: no Secret elsewhere/argocd-secret")


def test_forbidden_is_one_line(fake_kube, capsys):
    install_platform(fake_kube)
    fake_kube.deny("get", "secrets", "", "argocd")
    code, out, err = password(fake_kube, capsys=capsys)
    assert (code, out) == (1, "")
    assert err == ("error: forbidden: context fake may not get secrets argocd-initial-admin-secret in namespace "
                   "argocd (ask a cluster admin for this permission, or use a context that has it)\n")


@pytest.fixture
def plugin_env(fake_kube, kube_env, kubectl_bin, tmp_path):
    path_dir = tmp_path / "path"
    path_dir.mkdir()
    for name in ("kubectl-gitops",):
        (path_dir / name).symlink_to(BIN / name)
    (path_dir / "kubectl").symlink_to(kubectl_bin)
    return {**kube_env, "PATH": f"{path_dir}:/usr/bin:/bin"}


def kubectl(env, *args):
    return subprocess.run(["kubectl", *args], capture_output=True, text=True, env=env, timeout=60)


def test_through_kubectl_plugin_dispatch(plugin_env, fake_kube):
    install_platform(fake_kube)
    out = kubectl(plugin_env, "gitops", "password")
    assert (out.returncode, out.stdout, out.stderr) == (0, f"{INITIAL_PASSWORD}\n", "")
    out = kubectl(plugin_env, "gitops", "--context", "fake", "password", "--rotate")
    assert out.returncode == 0 and out.stdout.count("\n") == 1 and out.stdout[:-1] not in out.stderr
    assert bcrypt.checkpw(out.stdout[:-1].encode(), secret_data(fake_kube, "argocd-secret")["admin.password"].encode())
    out = kubectl(plugin_env, "gitops", "password")
    assert out.returncode == 1 and out.stdout == "" and out.stderr.count("\n") == 1
