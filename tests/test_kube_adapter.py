"""adapters.kube against the Kubernetes API stand-in: the real kubernetes client's transport over HTTP."""

from __future__ import annotations

import base64
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from fakekube import FakeKube
from fakekube.platform import install_crds
from kubectl_gitops.adapters import kube
from kubectl_gitops.adapters.kube import AccessCheck
from kubectl_gitops.core.errors import (
    KubeApiError,
    KubeconfigError,
    KubeError,
    KubeForbidden,
    KubeUnreachable,
    WaitFailed,
    WaitTimeout,
)
from kubectl_gitops.core.progress import Reporter
from kubectl_gitops.core.readiness import ObjectRef, State


def kubeconfig(path: Path, contexts: dict, *, current: str | None = None) -> Path:
    """contexts: name -> (cluster dict, user dict[, namespace])."""
    doc = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    if current:
        doc["current-context"] = current
    for name, (cluster, user, *rest) in contexts.items():
        doc["clusters"].append({"name": name, "cluster": cluster})
        doc["users"].append({"name": name, "user": user})
        doc["contexts"].append({"name": name, "context": {"cluster": name, "user": name,
                                                          **({"namespace": rest[0]} if rest else {})}})
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def k(fake_kube):
    with kube.connect(kubeconfig=str(fake_kube.kubeconfig)) as conn:
        yield conn


def capture():
    lines = []
    return lines, Reporter(emit=lambda symbol, message: lines.append((symbol, message)), verbose=True)


def deployment(name, namespace="default", replicas=1):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}


# ---------------------------------------------------------------- kubeconfig and connecting
def test_connect_reads_context_server_and_namespace(fake_kube, tmp_path):
    path = kubeconfig(tmp_path / "kc", {"one": ({"server": fake_kube.url + "/"}, {"token": "t"}, "apps"),
                                        "two": ({"server": "https://192.0.2.1:6443"}, {"token": "u"})},
                      current="one")
    conn = kube.connect(kubeconfig=str(path))
    assert (conn.context, conn.server, conn.namespace, conn.kubeconfig) == ("one", fake_kube.url, "apps", str(path))
    assert conn.server_version() == (1, 35, "v1.35.0")
    other = kube.connect(kubeconfig=str(path), context="two")
    assert (other.context, other.server, other.namespace) == ("two", "https://192.0.2.1:6443", "default")


def test_kubeconfig_errors_are_one_line_and_list_contexts(tmp_path, monkeypatch):
    with pytest.raises(KubeconfigError) as exc:
        kube.connect(kubeconfig=str(tmp_path / "missing"))
    assert str(exc.value) == f"kubeconfig {tmp_path / 'missing'} not found (check the --kubeconfig path)"
    path = kubeconfig(tmp_path / "kc", {"b": ({"server": "https://b"}, {}), "a": ({"server": "https://a"}, {})})
    with pytest.raises(KubeconfigError) as exc:
        kube.connect(kubeconfig=str(path), context="nope")
    assert str(exc.value) == f"context nope not found in {path} (available: a, b)"
    with pytest.raises(KubeconfigError) as exc:
        kube.connect(kubeconfig=str(path))
    assert str(exc.value) == f"no current context in {path}; pass --context (available: a, b)"
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(tmp_path / "x"), str(tmp_path / "y")]))
    with pytest.raises(KubeconfigError) as exc:
        kube.connect()
    assert "none of the files in KUBECONFIG exist" in str(exc.value) and "\n" not in str(exc.value)
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(KubeconfigError) as exc:
        kube.connect()
    assert str(exc.value).startswith(f"no kubeconfig at {tmp_path / 'home' / '.kube' / 'config'} (pass --kubeconfig")
    broken = tmp_path / "broken"
    broken.write_text(yaml.safe_dump({"current-context": "a", "contexts": [{"name": "a", "context": {
        "cluster": "gone", "user": "u"}}]}))
    with pytest.raises(KubeconfigError, match=f"context a refers to cluster gone, which is not in {broken}"):
        kube.connect(kubeconfig=str(broken))


def test_kubeconfig_list_first_file_wins_and_relative_paths(fake_kube, tmp_path, monkeypatch):
    fake_kube.tokens = {"from-file": "file-user"}
    first = tmp_path / "first"
    first.mkdir()
    (first / "token").write_text("from-file\n")
    kubeconfig(first / "config", {"shared": ({"server": fake_kube.url}, {"tokenFile": "token"})}, current="shared")
    second = kubeconfig(tmp_path / "second", {"shared": ({"server": "https://192.0.2.9"}, {"token": "other"}),
                                              "extra": ({"server": "https://192.0.2.10"}, {})}, current="extra")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(first / "config"), str(tmp_path / "absent"), str(second)]))
    conn = kube.connect()
    assert (conn.context, conn.server, conn.kubeconfig) == ("shared", fake_kube.url, None)
    conn.server_version()
    assert fake_kube.requests[-1].user == "file-user"
    assert kube.connect(context="extra").server == "https://192.0.2.10"


def test_ca_data_from_the_kubeconfig(tmp_path):
    pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    (tmp_path / "ca.crt").write_bytes(pem)
    encoded = base64.b64encode(pem).decode()
    path = kubeconfig(tmp_path / "kc", {
        "inline": ({"server": "https://a", "certificate-authority-data": encoded}, {}),
        "file": ({"server": "https://b", "certificate-authority": "ca.crt"}, {}),
        "none": ({"server": "https://c", "insecure-skip-tls-verify": True}, {}),
    })
    assert kube.connect(kubeconfig=str(path), context="inline").ca_data() == encoded
    assert kube.connect(kubeconfig=str(path), context="file").ca_data() == encoded
    assert kube.connect(kubeconfig=str(path), context="none").ca_data() is None


def test_inline_client_certificates_are_private_files_removed_on_close(tmp_path):
    path = kubeconfig(tmp_path / "kc", {"c": ({"server": "https://a"}, {
        "client-certificate-data": base64.b64encode(b"CERT").decode(),
        "client-key-data": base64.b64encode(b"KEY").decode()})}, current="c")
    conn = kube.connect(kubeconfig=str(path))
    files = [Path(conn._configuration.cert_file), Path(conn._configuration.key_file)]
    assert [f.read_bytes() for f in files] == [b"CERT", b"KEY"]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    conn.close()
    assert not any(f.exists() for f in files)


def test_exec_credential_plugin_through_the_clients_loader(fake_kube, tmp_path):
    fake_kube.tokens = {"exec-token": "exec-user"}
    plugin = tmp_path / "credential-plugin"
    plugin.write_text(f"#!{sys.executable}\nimport json\nprint(json.dumps({{'apiVersion': "
                      "'client.authentication.k8s.io/v1', 'kind': 'ExecCredential', "
                      "'status': {'token': 'exec-token'}}))\n")
    plugin.chmod(0o755)
    path = kubeconfig(tmp_path / "kc", {"x": ({"server": fake_kube.url}, {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin), "interactiveMode": "Never"}})},
        current="x")
    conn = kube.connect(kubeconfig=str(path))
    assert conn.server_version()[2] == "v1.35.0"
    assert fake_kube.requests[-1].user == "exec-user"
    failing = kubeconfig(tmp_path / "kc2", {"y": ({"server": fake_kube.url}, {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": str(tmp_path / "no-such-plugin")}})},
        current="y")
    with pytest.raises(KubeconfigError, match="^cannot get credentials for context y: "):
        kube.connect(kubeconfig=str(failing))


def test_only_the_transport_is_imported_and_the_package_completes_itself(fake_kube):
    code = (
        "import sys\n"
        "from kubectl_gitops.adapters import kube\n"
        f"kube.connect(kubeconfig={str(fake_kube.kubeconfig)!r}).server_version()\n"
        "print(sorted(m for m in ('kubernetes.config', 'kubernetes.dynamic', 'kubernetes.watch', "
        "'kubernetes.client.api_client', 'pydantic') if m in sys.modules))\n"
        "import kubernetes\n"
        "from kubernetes import watch, config\n"
        "print(kubernetes.__version__ == kubernetes.client.__version__, watch.Watch.__name__, "
        "callable(config.load_kube_config))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["[]", "True Watch True"]


# ---------------------------------------------------------------- failures: unreachable, 401, 403
def test_unreachable_server_fails_at_once_with_one_line(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: connections are refused
    path = kubeconfig(tmp_path / "kc", {"gone": ({"server": f"http://127.0.0.1:{port}"}, {"token": "t"})},
                      current="gone")
    conn = kube.connect(kubeconfig=str(path))
    with pytest.raises(KubeUnreachable) as exc:
        conn.server_version()
    assert str(exc.value) == (f"cannot reach the Kubernetes API server http://127.0.0.1:{port} (context gone): "
                              "connection refused (check that the cluster is running and that context gone points "
                              "at it)")


def test_silent_server_times_out_after_the_request_timeout(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)  # accepts connections, never answers
    try:
        path = kubeconfig(tmp_path / "kc", {"slow": ({"server": f"http://127.0.0.1:{server.getsockname()[1]}"}, {})},
                          current="slow")
        conn = kube.connect(kubeconfig=str(path), request_timeout=0.3)
        with pytest.raises(KubeUnreachable, match=r"\(context slow\): no answer within 0.3s"):
            conn.list("v1", "ConfigMap", "default")
    finally:
        server.close()


def test_forbidden_names_verb_and_resource(k, fake_kube):
    fake_kube.deny("list", "deployments", "apps", "argocd")
    assert k.list("apps/v1", "Deployment", "default") == []
    with pytest.raises(KubeForbidden) as exc:
        k.list("apps/v1", "Deployment", "argocd")
    assert str(exc.value) == ("forbidden: context fake may not list deployments.apps in namespace argocd (ask a "
                              "cluster admin for this permission, or use a context that has it)")
    fake_kube.deny("patch", "secrets")
    with pytest.raises(KubeForbidden, match="may not apply secrets cfg in namespace default"):
        k.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cfg"}, "stringData": {"a": "hidden"}})
    assert fake_kube.requests[-1].code == 403


def test_rejected_credentials(k, fake_kube):
    fake_kube.tokens = {"someone-else": "u"}
    with pytest.raises(KubeForbidden) as exc:
        k.get("v1", "ConfigMap", "x")
    assert str(exc.value).startswith(f"the API server {fake_kube.url} rejected the credentials of context fake "
                                     "(401 Unauthorized) while trying to get configmaps x in namespace default")


def test_denied_access_checks(k, fake_kube):
    checks = [AccessCheck("create", "namespaces"), AccessCheck("create", "deployments", "apps", "argocd"),
              AccessCheck("create", "deployments", "apps", "other"), AccessCheck("get", "secrets", "", "argocd")]
    assert k.denied(checks) == []
    fake_kube.deny("create", "deployments", "apps", "argocd")
    fake_kube.deny("create", "namespaces")
    assert k.denied(checks) == [checks[0], checks[1]]
    assert str(checks[0]) == "create namespaces (cluster-wide)"
    assert str(checks[1]) == "create deployments.apps in namespace argocd"
    assert fake_kube.count(verb="create") == 8  # one SelfSubjectAccessReview per check, nothing stored


# ---------------------------------------------------------------- reading
def test_get_and_list(k, fake_kube):
    for name, labels in (("a", {"tier": "web"}), ("b", {"tier": "db"})):
        fake_kube.create({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": name, "namespace": "default", "labels": labels}})
    got = k.get("v1", "ConfigMap", "a")
    assert (got["apiVersion"], got["kind"], got["metadata"]["labels"]) == ("v1", "ConfigMap", {"tier": "web"})
    assert k.get("v1", "ConfigMap", "zzz") is None
    items = k.list("v1", "ConfigMap", "default", label_selector="tier=db")
    assert [(i["kind"], i["metadata"]["name"]) for i in items] == [("ConfigMap", "b")]
    assert {i["metadata"]["name"] for i in k.list("v1", "ConfigMap")} >= {"a", "b"}
    assert k.get("argoproj.io/v1alpha1", "Application", "x", "argocd") is None  # kind not served yet
    assert k.list("example.com/v1", "Widget") == []


# ---------------------------------------------------------------- writing
def test_apply_reports_created_updated_unchanged_and_unchanged_sends_no_write(k, fake_kube):
    obj = deployment("web")
    assert k.apply(obj) == "created"
    fake_kube.reset_counters()
    assert k.apply(obj) == "unchanged"
    assert fake_kube.writes == 0
    assert [(r.method, r.verb) for r in fake_kube.requests] == [("GET", "get")]
    obj["spec"]["replicas"] = 3
    assert k.apply(obj) == "updated"
    assert fake_kube.get("deployments", "web")["spec"]["replicas"] == 3
    del obj["metadata"]["labels"]  # a field this manager applied before and no longer does: removed
    assert k.apply(obj) == "updated"
    assert "app" not in (fake_kube.get("deployments", "web")["metadata"].get("labels") or {})
    fake_kube.reset_counters()
    assert k.apply(obj) == "unchanged" and fake_kube.count(method="PATCH") == 0
    live = fake_kube.get("deployments", "web")
    manager = [m for m in live["metadata"]["managedFields"] if m["manager"] == "kubectl-gitops"]
    assert [m["operation"] for m in manager] == ["Apply"]


def test_apply_takes_ownership_once_of_objects_made_by_others(k, fake_kube):
    fake_kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "made", "namespace": "default"},
                      "data": {"k": "v"}}, manager="helm")
    desired = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "made"}, "data": {"k": "v"}}
    assert k.apply(desired) == "updated"  # same values, but this manager now owns them
    fake_kube.reset_counters()
    assert k.apply(desired) == "unchanged" and fake_kube.writes == 0


def test_apply_custom_kinds_through_discovery_once(k, fake_kube):
    install_crds(fake_kube)
    assert k.get("example.com/v1", "Widget", "w") is None  # not served yet: asked again once it is
    fake_kube.create({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                      "metadata": {"name": "widgets.example.com"},
                      "spec": {"group": "example.com", "scope": "Cluster",
                               "names": {"plural": "widgets", "kind": "Widget"},
                               "versions": [{"name": "v1", "served": True, "storage": True}]}})
    fake_kube.reset_counters()
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 2}}
    assert k.apply(widget) == "created"
    assert k.apply(widget) == "unchanged"
    assert fake_kube.count(verb="discovery") == 1
    assert fake_kube.get("widgets.example.com", "w")["spec"] == {"size": 2}
    with pytest.raises(KubeError, match="^the cluster of context fake has no kind Gadget in example.com/v1 "):
        k.apply({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}})


def test_apply_into_a_missing_namespace_fails_with_the_servers_message(k):
    with pytest.raises(KubeApiError) as exc:
        k.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "nowhere"}})
    assert exc.value.status == 404
    assert str(exc.value) == 'cannot apply configmaps c in namespace nowhere: namespaces "nowhere" not found'


def test_patch_and_delete(k, fake_kube):
    fake_kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p", "namespace": "default"},
                      "data": {"a": "1", "b": "2"}})
    patched = k.patch("v1", "ConfigMap", "p", patch={"data": {"b": None, "c": "3"}})
    assert patched["data"] == {"a": "1", "c": "3"}
    with pytest.raises(KubeApiError) as exc:
        k.patch("v1", "ConfigMap", "absent", patch={"data": {}})
    assert exc.value.status == 404
    assert k.delete("v1", "ConfigMap", "p") is True
    assert k.delete("v1", "ConfigMap", "p") is False
    assert fake_kube.get("configmaps", "p") is None


def test_ensure_secret(k, fake_kube):
    assert k.ensure_secret("default", "creds", string_data={"user": "u", "password": "s3cret"},
                           labels={"app": "x"}) == "created"
    stored = fake_kube.get("secrets", "creds")
    assert base64.b64decode(stored["data"]["password"]) == b"s3cret" and stored["type"] == "Opaque"
    fake_kube.reset_counters()
    assert k.ensure_secret("default", "creds", string_data={"user": "u", "password": "s3cret"},
                           labels={"app": "x"}) == "unchanged"
    assert fake_kube.writes == 0 and fake_kube.count(method="PATCH") == 0
    assert k.ensure_secret("default", "creds", string_data={"user": "u"}, labels={"app": "x"}) == "updated"
    assert set(fake_kube.get("secrets", "creds")["data"]) == {"user"}
    with pytest.raises(KubeError) as exc:
        k.ensure_secret("default", "creds", string_data={"user": "u"}, type="kubernetes.io/dockerconfigjson")
    assert str(exc.value) == ("Secret default/creds exists with type Opaque, not kubernetes.io/dockerconfigjson "
                              "(delete it, or choose another name)")


def test_service_account_token(k, fake_kube, tmp_path):
    fake_kube.tokens = {"fake-token": "admin"}
    with pytest.raises(KubeError, match="ServiceAccount default/manager not found"):
        k.service_account_token("default", "manager", timeout=1)
    fake_kube.create({"apiVersion": "v1", "kind": "ServiceAccount",
                      "metadata": {"name": "manager", "namespace": "default"}})
    token = k.service_account_token("default", "manager", timeout=5)
    assert token.secret == "manager-token" and token.token.count(".") == 2
    assert token.token not in repr(token) and base64.b64decode(token.ca_data).startswith(b"-----BEGIN CERTIFICATE")
    secret = fake_kube.get("secrets", "manager-token")
    assert secret["type"] == "kubernetes.io/service-account-token"
    fake_kube.reset_counters()
    assert k.service_account_token("default", "manager", timeout=5).token == token.token
    assert fake_kube.writes == 0
    path = kubeconfig(tmp_path / "sa", {"sa": ({"server": fake_kube.url}, {"token": token.token})}, current="sa")
    kube.connect(kubeconfig=str(path)).server_version()
    assert fake_kube.requests[-1].user == "system:serviceaccount:default:manager"


def test_service_account_token_times_out_without_the_controller(tmp_path):
    with FakeKube(token_controller=False) as cluster:
        cluster.write_kubeconfig(tmp_path / "kc")
        cluster.create({"apiVersion": "v1", "kind": "ServiceAccount",
                        "metadata": {"name": "sa", "namespace": "default"}})
        conn = kube.connect(kubeconfig=str(tmp_path / "kc"))
        with pytest.raises(WaitTimeout) as exc:
            conn.service_account_token("default", "sa", timeout=0.3)
        assert str(exc.value) == ("timed out after 0.3s waiting for the token of ServiceAccount default/sa\n"
                                  "  Secret default/sa-token: still has no token")


# ---------------------------------------------------------------- readiness and waiting
def test_readiness_of_webhooks_follows_endpoint_slices(k, fake_kube):
    fake_kube.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hook", "namespace": "default"},
                      "spec": {"selector": {"app": "hook"}, "ports": [{"port": 443, "targetPort": 8443}]}})
    fake_kube.create({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                      "metadata": {"name": "check"},
                      "webhooks": [{"name": "a.example.com", "clientConfig": {"service": {
                          "namespace": "default", "name": "hook"}}}]})
    ref = ObjectRef("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "check")
    assert k.readiness(ref).message == "no ready endpoint for service default/hook"
    fake_kube.set_service_endpoints("hook", "default", ready=0, not_ready=1)
    assert k.readiness(ref).state is State.PENDING
    fake_kube.set_service_endpoints("hook", "default", ready=1)
    assert (k.readiness(ref).state, k.readiness(ref).message) == (State.READY, "answering (default/hook)")


def test_auto_endpoints_follow_ready_workloads(tmp_path):
    with FakeKube(auto_endpoints=True) as cluster:
        cluster.write_kubeconfig(tmp_path / "kc")
        conn = kube.connect(kubeconfig=str(tmp_path / "kc"))
        conn.apply(deployment("hook"))
        conn.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hook"},
                    "spec": {"selector": {"app": "hook"}, "ports": [{"port": 443}]}})

        def ready_endpoints():
            slices = conn.list("discovery.k8s.io/v1", "EndpointSlice", "default",
                               label_selector="kubernetes.io/service-name=hook")
            return [e["conditions"]["ready"] for s in slices for e in s["endpoints"]]

        assert ready_endpoints() == []
        cluster.mark_deployment_available("hook")
        assert ready_endpoints() == [True]


def test_wait_reports_progress_and_returns_when_ready(k, fake_kube):
    for name in ("api", "web"):
        k.apply(deployment(name))
    refs = [ObjectRef("apps/v1", "Deployment", n, "default") for n in ("web", "api")]
    timer = threading.Timer(0.3, lambda: [fake_kube.mark_deployment_available(n) for n in ("api", "web")])
    timer.start()
    lines, reporter = capture()
    k.wait(refs, timeout=20, reporter=reporter, what="the test workloads")
    timer.join()
    assert lines[0] == ("◎", "waiting for the test workloads (2 objects, timeout 20s)")
    assert any(m.startswith("the test workloads: 0 of 2 ready; waiting for Deployment default/api, Deployment "
                            "default/web [") for _, m in lines)
    assert ("•", "Deployment default/api: 1 of 1 replicas available") in lines
    assert lines[-1][0] == "✔" and lines[-1][1].startswith("the test workloads ready (2 objects, ")
    assert fake_kube.count(verb="list") >= 1  # one list per kind and namespace, not one get per object


def test_wait_timeout_lists_every_unready_object_sorted(k, fake_kube):
    install_crds(fake_kube)
    for name in ("zeta", "alpha"):
        k.apply(deployment(name, replicas=2))
    fake_kube.mark_deployment_available("alpha", replicas=1)
    k.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lb"},
             "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}})
    refs = [ObjectRef("apps/v1", "Deployment", "zeta", "default"), ObjectRef("v1", "Service", "lb", "default"),
            ObjectRef("apps/v1", "Deployment", "alpha", "default"),
            ObjectRef("argoproj.io/v1alpha1", "Application", "root", "argocd"),
            ObjectRef("apiextensions.k8s.io/v1", "CustomResourceDefinition", "applications.argoproj.io")]
    with pytest.raises(WaitTimeout) as exc:
        k.wait(refs, timeout=0.4, reporter=Reporter(), what="the platform")
    assert exc.value.summary == "timed out after 0.4s waiting for the platform: 4 of 5 not ready"
    assert exc.value.details == [
        "Application argocd/root: not found",
        "Deployment default/alpha: 1 of 2 replicas updated",
        "Deployment default/zeta: waiting for the controller to observe generation 1 (observed: none)",
        "Service default/lb: waiting for the load balancer's address",
    ]
    assert str(exc.value) == "\n  ".join([exc.value.summary, *exc.value.details])


def test_wait_fails_fast_on_a_failed_deployment(k, fake_kube):
    for name in ("ok", "stuck", "slow"):
        k.apply(deployment(name))
    fake_kube.mark_deployment_available("ok")
    fake_kube.put_status("deployments", "stuck", {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                                                  "conditions": [{"type": "Progressing", "status": "False",
                                                                  "reason": "ProgressDeadlineExceeded",
                                                                  "message": 'ReplicaSet "stuck-1" has timed out '
                                                                             "progressing."}]})
    refs = [ObjectRef("apps/v1", "Deployment", n, "default") for n in ("ok", "stuck", "slow")]
    started = time.monotonic()
    with pytest.raises(WaitFailed) as exc:
        k.wait(refs, timeout=600, reporter=Reporter(), what="the rollout")
    assert time.monotonic() - started < 600
    assert str(exc.value) == ("the rollout failed: 1 of 3 objects will not become ready\n"
                              "  Deployment default/stuck: Progressing=False ProgressDeadlineExceeded: "
                              'ReplicaSet "stuck-1" has timed out progressing.')


def test_wait_on_an_unreachable_server_fails_at_once(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = kubeconfig(tmp_path / "kc", {"gone": ({"server": f"http://127.0.0.1:{port}"}, {})}, current="gone")
    with pytest.raises(KubeUnreachable):
        kube.connect(kubeconfig=str(path)).wait([ObjectRef("v1", "Namespace", "x")], timeout=600,
                                                reporter=Reporter(), what="x")


# ---------------------------------------------------------------- HTTPS
def test_https_with_the_kubeconfigs_ca_and_client_certificates(tmp_path, kubectl_bin):
    from fakekube.tls import CertificateAuthority

    with FakeKube(tls=True) as cluster:
        cluster.tokens = {"fake-token": "token-user"}
        path = cluster.write_kubeconfig(tmp_path / "kc", client_certificate="cert-user")
        conn = kube.connect(kubeconfig=str(path))
        assert conn.server.startswith("https://127.0.0.1:") and conn.server_version()[2] == "v1.35.0"
        assert cluster.requests[-1].user == "cert-user"
        assert base64.b64decode(conn.ca_data()) == cluster.certificates.ca.pem
        conn.close()
        with kube.connect(kubeconfig=str(cluster.write_kubeconfig(tmp_path / "token"))) as by_token:
            by_token.list("v1", "Namespace")
            assert cluster.requests[-1].user == "token-user"
        doc = yaml.safe_load(path.read_text())
        doc["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(
            CertificateAuthority("another-ca").pem).decode()
        (tmp_path / "wrong-ca").write_text(yaml.safe_dump(doc))
        with pytest.raises(KubeUnreachable, match=r"\(context fake\): TLS failure \(.*CERTIFICATE_VERIFY_FAILED"):
            kube.connect(kubeconfig=str(tmp_path / "wrong-ca")).server_version()
        del doc["clusters"][0]["cluster"]["certificate-authority-data"]
        doc["clusters"][0]["cluster"]["insecure-skip-tls-verify"] = True
        (tmp_path / "insecure").write_text(yaml.safe_dump(doc))
        assert kube.connect(kubeconfig=str(tmp_path / "insecure")).server_version()[0] == 1
        out = subprocess.run([str(kubectl_bin), "--kubeconfig", str(path), "get", "namespaces", "-o", "name"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "namespace/default" in out.stdout.split() and cluster.requests[-1].user == "cert-user"


def test_no_op_detection_follows_field_ownership():
    """What a real API server records: atomic structs (a Deployment's spec.selector) are one owned field."""
    from kubectl_gitops.adapters.kube import _unchanged

    desired = deployment("web")
    live = {**deployment("web"), "metadata": {**desired["metadata"], "managedFields": [{
        "manager": "kubectl-gitops", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:replicas": {}, "f:selector": {},
                       "f:template": {"f:metadata": {"f:labels": {"f:app": {}}},
                                      "f:spec": {"f:containers": {'k:{"name":"c"}': {
                                          ".": {}, "f:image": {}, "f:name": {}}}}}}}}]}}
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"  # server default
    assert _unchanged(desired, live, "kubectl-gitops") is True
    assert _unchanged(desired, live, "someone-else") is False
    more = {**desired, "metadata": {**desired["metadata"], "labels": {"app": "web", "tier": "front"}}}
    live["metadata"]["labels"] = more["metadata"]["labels"]  # the value is there, but another manager's
    assert _unchanged(more, live, "kubectl-gitops") is False
    fewer = {**desired, "spec": {k: v for k, v in desired["spec"].items() if k != "replicas"}}
    assert _unchanged(fewer, live, "kubectl-gitops") is False  # applying it would remove spec.replicas
