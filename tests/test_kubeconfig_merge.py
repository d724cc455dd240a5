"""Merging cluster access into a user's kubeconfig: nothing else moves, names are readable, and the
file is written only when something changed (backup first, atomic, mode 0600). Real kubectl and the
kubernetes client read the result."""

from __future__ import annotations

import copy
import os
import stat
import subprocess

import pytest
import yaml

from kubectl_gitops.core import kubeconfig as kc
from kubectl_gitops.core.errors import UsageError
from kubectl_gitops.core.progress import Reporter
from kubectl_gitops.core.secrets import Secret
from kubectl_gitops.workflows.infra import BACKUP_SUFFIX, default_kubeconfig, write_kubeconfig

NOW = 1_800_000_000.0
EXISTING = {
    "apiVersion": "v1",
    "kind": "Config",
    "current-context": "work",
    "preferences": {"colors": True},
    "clusters": [{"name": "work-cluster", "cluster": {"server": "https://10.0.0.1:6443",
                                                      "insecure-skip-tls-verify": True}}],
    "users": [{"name": "work-user", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                                      "command": "doctl", "args": ["kubernetes"]}}}],
    "contexts": [{"name": "work", "context": {"cluster": "work-cluster", "user": "work-user", "namespace": "team"}}],
}


def creds(cluster: str = "dev", cluster_id: str = "id-dev", token: str = "tok-dev", expires: float = NOW + 7 * 86400):
    return kc.ClusterCredentials(
        context=f"do-fra1-shop-{cluster}", server=f"https://{cluster_id}.k8s.example",
        certificate_authority_data="Q0E=", token=Secret(token), expires_at=expires, platform="shop", cluster=cluster,
        cluster_id=cluster_id)


def test_merge_leaves_every_existing_entry_exactly_as_it_was():
    before = copy.deepcopy(EXISTING)
    merged = kc.merge(EXISTING, [creds("dev"), creds("prod", "id-prod", "tok-prod")], current="do-fra1-shop-dev")
    assert EXISTING == before  # the input is not touched
    for key in ("clusters", "users", "contexts"):
        assert merged[key][0] == EXISTING[key][0]  # first, unchanged, in place
    assert [c["name"] for c in merged["contexts"]] == ["work", "do-fra1-shop-dev", "do-fra1-shop-prod"]
    assert [u["name"] for u in merged["users"]] == ["work-user", "do-fra1-shop-dev-admin", "do-fra1-shop-prod-admin"]
    assert merged["current-context"] == "work" and merged["preferences"] == {"colors": True}
    dev = next(c for c in merged["contexts"] if c["name"] == "do-fra1-shop-dev")["context"]
    assert (dev["cluster"], dev["user"]) == ("do-fra1-shop-dev", "do-fra1-shop-dev-admin")
    user = next(u for u in merged["users"] if u["name"] == "do-fra1-shop-dev-admin")["user"]
    assert user["token"] == "tok-dev"


def test_empty_kubeconfig_gets_a_current_context():
    merged = kc.merge({}, [creds()], current="do-fra1-shop-dev")
    assert merged["current-context"] == "do-fra1-shop-dev"
    assert merged["apiVersion"] == "v1" and merged["kind"] == "Config"


def test_merge_replaces_only_its_own_entries():
    first = kc.merge(EXISTING, [creds(token="old")])
    second = kc.merge(first, [creds(token="new", cluster_id="id-dev-2")])
    assert len(second["contexts"]) == 2 and len(second["users"]) == 2
    assert second["users"][1]["user"]["token"] == "new"
    assert second["clusters"][1]["cluster"]["server"] == "https://id-dev-2.k8s.example"
    assert second["clusters"][0] == EXISTING["clusters"][0]


def test_an_entry_we_did_not_write_is_never_overwritten():
    foreign = copy.deepcopy(EXISTING)
    foreign["contexts"].append({"name": "do-fra1-shop-dev",
                                "context": {"cluster": "work-cluster", "user": "work-user"}})
    action, reason = kc.inspect(foreign, context="do-fra1-shop-dev", platform="shop", cluster_id="id-dev", now=NOW)
    assert action == "blocked" and "did not write" in reason and "kubectl config delete-context" in reason
    with pytest.raises(UsageError):
        kc.merge(foreign, [creds()])


@pytest.mark.parametrize(("cluster_id", "expires", "action"), [
    ("id-dev", NOW + 7 * 86400, "keep"),
    ("id-dev", NOW + 3600, "update"),  # less than a day left
    ("id-other", NOW + 7 * 86400, "update"),  # the cluster was recreated
    (None, NOW + 7 * 86400, "update"),  # the cluster is still to be created
])
def test_inspect(cluster_id, expires, action):
    doc = kc.merge(EXISTING, [creds(expires=expires)])
    assert kc.inspect(doc, context="do-fra1-shop-dev", platform="shop", cluster_id=cluster_id, now=NOW)[0] == action
    assert kc.inspect(doc, context="do-fra1-shop-prod", platform="shop", cluster_id="x", now=NOW)[0] == "create"


def test_incomplete_entries_are_rewritten():
    doc = kc.merge(EXISTING, [creds()])
    doc["users"] = [u for u in doc["users"] if u["name"] != "do-fra1-shop-dev-admin"]
    assert kc.inspect(doc, context="do-fra1-shop-dev", platform="shop", cluster_id="id-dev", now=NOW)[0] == "update"


def test_remove_takes_only_the_platform_s_entries():
    doc = kc.merge(EXISTING, [creds(), creds("prod", "id-prod")], current="do-fra1-shop-dev")
    other = kc.merge(doc, [kc.ClusterCredentials("do-fra1-blog-dev", "https://b", "", Secret("t"), NOW, "blog",
                                                 "dev", "id-blog")])
    other["current-context"] = "do-fra1-shop-prod"
    out, removed = kc.remove(other, "shop")
    assert sorted(removed) == ["cluster do-fra1-shop-dev", "cluster do-fra1-shop-prod", "context do-fra1-shop-dev",
                               "context do-fra1-shop-prod", "user do-fra1-shop-dev-admin",
                               "user do-fra1-shop-prod-admin"]
    assert [c["name"] for c in out["contexts"]] == ["work", "do-fra1-blog-dev"]
    assert out["current-context"] == ""  # it pointed at a removed context
    assert kc.owned_contexts(out, "blog") == ["do-fra1-blog-dev"] and kc.owned_contexts(out, "shop") == []


def test_invalid_kubeconfig_is_a_usage_error():
    with pytest.raises(UsageError, match="not a valid kubeconfig"):
        kc.loads("contexts: {a: 1}", source="kc")
    with pytest.raises(UsageError, match="YAML error"):
        kc.loads("a: [", source="kc")
    assert kc.loads("", source="kc") == {}


def test_default_path(tmp_path):
    assert default_kubeconfig("x/y") == default_kubeconfig("x/y", {})
    env = {"KUBECONFIG": f"{tmp_path}/a{os.pathsep}{tmp_path}/b", "HOME": "/nowhere"}
    assert default_kubeconfig(None, env) == tmp_path / "a"
    assert str(default_kubeconfig(None, {"HOME": str(tmp_path)})) == f"{tmp_path}/.kube/config"


def test_written_file_mode_backup_and_no_op(tmp_path):
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(EXISTING))
    path.chmod(0o644)
    original = path.read_text()
    reporter = Reporter()
    merged = kc.merge(kc.loads(original, source="kc"), [creds()])
    assert write_kubeconfig(path, merged, reporter) is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    backup = tmp_path / f"config{BACKUP_SUFFIX}"
    assert backup.read_text() == original and stat.S_IMODE(backup.stat().st_mode) == 0o600
    written, inode, mtime = path.read_text(), path.stat().st_ino, path.stat().st_mtime_ns
    backup.unlink()
    assert write_kubeconfig(path, merged, reporter) is False  # same content: not rewritten, no backup
    assert (path.read_text(), path.stat().st_ino, path.stat().st_mtime_ns) == (written, inode, mtime)
    assert not backup.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config"]  # no temporary file left behind


def test_new_file_has_no_backup(tmp_path):
    path = tmp_path / "dir" / "config"
    assert write_kubeconfig(path, kc.merge({}, [creds()]), Reporter()) is True
    assert sorted(p.name for p in path.parent.iterdir()) == ["config"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_symlinked_kubeconfig_is_written_through_the_link(tmp_path):
    real = tmp_path / "real-config"
    real.write_text(yaml.safe_dump(EXISTING))
    link = tmp_path / "config"
    link.symlink_to(real)
    write_kubeconfig(link, kc.merge(EXISTING, [creds()]), Reporter())
    assert link.is_symlink() and "do-fra1-shop-dev" in real.read_text()


def test_real_kubectl_and_client_read_the_merged_file(tmp_path, kubectl_bin):
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(EXISTING))
    write_kubeconfig(path, kc.merge(EXISTING, [creds(), creds("prod", "id-prod", "tok-prod")]), Reporter())
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KUBECONFIG": str(path)}
    out = subprocess.run([str(kubectl_bin), "config", "get-contexts", "-o", "name"], capture_output=True, text=True,
                         env=env, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["do-fra1-shop-dev", "do-fra1-shop-prod", "work"]
    # kubectl rewrites the file keeping our marks, so a later teardown still finds its entries
    out = subprocess.run([str(kubectl_bin), "config", "set-context", "do-fra1-shop-dev", "--namespace", "apps"],
                         capture_output=True, text=True, env=env, timeout=30)
    assert out.returncode == 0, out.stderr
    doc = kc.loads(path.read_text(), source="kc")
    assert sorted(kc.owned_contexts(doc, "shop")) == ["do-fra1-shop-dev", "do-fra1-shop-prod"]
    assert kc.inspect(doc, context="do-fra1-shop-dev", platform="shop", cluster_id="id-dev", now=NOW)[0] == "keep"
    from kubernetes import config

    client = config.new_client_from_config(config_file=str(path), context="do-fra1-shop-prod")
    try:
        assert client.configuration.host == "https://id-prod.k8s.example"
        assert "Bearer tok-prod" in client.configuration.api_key.values()
    finally:
        client.close()
