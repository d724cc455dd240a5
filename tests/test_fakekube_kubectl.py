"""Real kubectl against the Kubernetes API stand-in."""

from __future__ import annotations

import json
import threading
import time

import yaml

from fakekube.fixtures import *  # noqa: F403

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web", "tier": "front"}},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1", "ports": [{"containerPort": 80}]}]},
        },
    },
}

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            },
            {
                "name": "v1beta1",
                "served": True,
                "storage": False,
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            },
        ],
    },
}


def _apply(run_tool, kubectl_bin, obj, *args, check=True):
    return run_tool(kubectl_bin, "apply", "-f", "-", *args, input=yaml.safe_dump(obj), check=check)


def _get_json(run_tool, kubectl_bin, *args):
    return json.loads(run_tool(kubectl_bin, "get", *args, "-o", "json").stdout)


def test_create_namespace_secret_configmap_use_protobuf(fake_kube, run_tool, kubectl_bin):
    run_tool(kubectl_bin, "create", "ns", "team-a")
    run_tool(
        kubectl_bin,
        "create",
        "secret",
        "generic",
        "creds",
        "-n",
        "team-a",
        "--from-literal=user=admin",
        "--from-literal=pass=s3cr3t",
    )
    run_tool(kubectl_bin, "create", "cm", "settings", "-n", "team-a", "--from-literal=mode=fast")
    run_tool(kubectl_bin, "label", "cm", "settings", "-n", "team-a", "role=cfg")
    posts = [r for r in fake_kube.requests if r.verb == "create"]
    assert [r.code for r in posts] == [201, 201, 201]
    ns = fake_kube.get("namespaces", "team-a")
    assert ns["status"]["phase"] == "Active"
    assert ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == "team-a"
    secret = _get_json(run_tool, kubectl_bin, "secret", "creds", "-n", "team-a")
    assert secret["data"] == {"user": "YWRtaW4=", "pass": "czNjcjN0"}
    assert secret["type"] == "Opaque"
    cm = fake_kube.get("configmaps", "settings", "team-a")
    assert cm["data"] == {"mode": "fast"}
    assert cm["metadata"]["labels"] == {"role": "cfg"}
    assert int(cm["metadata"]["resourceVersion"]) > int(secret["metadata"]["resourceVersion"])
    again = run_tool(kubectl_bin, "create", "ns", "team-a", check=False)
    assert again.returncode == 1
    assert 'namespaces "team-a" already exists' in again.stderr


def test_apply_get_label_selector_and_delete(fake_kube, run_tool, kubectl_bin):
    out = _apply(run_tool, kubectl_bin, DEPLOYMENT)
    assert "deployment.apps/web created" in out.stdout
    other = json.loads(json.dumps(DEPLOYMENT))
    other["metadata"].update(name="api", labels={"app": "api", "tier": "back"})
    _apply(run_tool, kubectl_bin, other)
    dep = _get_json(run_tool, kubectl_bin, "deployment", "web")
    assert dep["metadata"]["generation"] == 1
    assert dep["metadata"]["uid"]
    changed = json.loads(json.dumps(DEPLOYMENT))
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    assert "configured" in _apply(run_tool, kubectl_bin, changed).stdout
    dep2 = _get_json(run_tool, kubectl_bin, "deployment", "web")
    assert dep2["metadata"]["generation"] == 2
    assert dep2["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    assert dep2["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80}]
    assert "unchanged" in _apply(run_tool, kubectl_bin, changed).stdout

    def names(*sel):
        return [i["metadata"]["name"] for i in _get_json(run_tool, kubectl_bin, "deploy", *sel)["items"]]

    assert names("-l", "tier=front") == ["web"]
    assert names("-l", "tier in (front,back)") == ["api", "web"]
    assert names("-l", "tier notin (front)") == ["api"]
    assert names("-l", "app!=web") == ["api"]
    assert names("-l", "tier") == ["api", "web"]
    assert names("--field-selector", "metadata.name=api") == ["api"]
    table = run_tool(kubectl_bin, "get", "deploy").stdout
    assert table.splitlines()[0].split() == ["NAME", "AGE"] and "web" in table
    out = run_tool(kubectl_bin, "delete", "deployment", "web", "--timeout=10s")
    assert 'deployment.apps "web" deleted' in out.stdout
    assert fake_kube.get("deployments", "web", "default") is None
    missing = run_tool(kubectl_bin, "get", "deployment", "web", check=False)
    assert missing.returncode == 1 and 'deployments.apps "web" not found' in missing.stderr


def test_server_side_apply_conflict_and_force(fake_kube, run_tool, kubectl_bin):
    _apply(run_tool, kubectl_bin, DEPLOYMENT, "--server-side", "--field-manager=team-a")
    dep = fake_kube.get("deployments", "web", "default")
    managers = {(m["manager"], m["operation"]) for m in dep["metadata"]["managedFields"]}
    assert managers == {("team-a", "Apply")}
    assert dep["spec"]["replicas"] == 2
    other = json.loads(json.dumps(DEPLOYMENT))
    other["spec"]["replicas"] = 5
    conflict = _apply(run_tool, kubectl_bin, other, "--server-side", "--field-manager=team-b", check=False)
    assert conflict.returncode == 1
    assert 'conflict with "team-a"' in conflict.stderr and ".spec.replicas" in conflict.stderr
    assert fake_kube.get("deployments", "web", "default")["spec"]["replicas"] == 2
    _apply(run_tool, kubectl_bin, other, "--server-side", "--field-manager=team-b", "--force-conflicts")
    dep = fake_kube.get("deployments", "web", "default")
    assert dep["spec"]["replicas"] == 5
    owners = {m["manager"]: m["fieldsV1"] for m in dep["metadata"]["managedFields"]}
    assert "f:replicas" in owners["team-b"]["f:spec"]
    assert "f:replicas" not in owners["team-a"]["f:spec"]
    # team-a stops applying the tier label: the field is removed (team-b still owns it, so it stays)
    fewer = json.loads(json.dumps(DEPLOYMENT))
    fewer["metadata"]["labels"] = {"app": "web"}
    fewer["spec"]["replicas"] = 5  # same value as team-b: shared ownership, no conflict
    fewer["metadata"]["annotations"] = {"owner": "a"}
    _apply(run_tool, kubectl_bin, fewer, "--server-side", "--field-manager=team-a")
    assert fake_kube.get("deployments", "web", "default")["metadata"]["annotations"] == {"owner": "a"}
    fewer["metadata"].pop("annotations")
    _apply(run_tool, kubectl_bin, fewer, "--server-side", "--field-manager=team-a")
    dep = fake_kube.get("deployments", "web", "default")
    assert "annotations" not in dep["metadata"] or "owner" not in dep["metadata"]["annotations"]
    assert dep["metadata"]["labels"]["tier"] == "front"


def test_patch_types(fake_kube, run_tool, kubectl_bin):
    _apply(run_tool, kubectl_bin, DEPLOYMENT)
    run_tool(kubectl_bin, "patch", "deployment", "web", "--type", "merge", "-p", '{"spec":{"replicas":4}}')
    assert fake_kube.get("deployments", "web")["spec"]["replicas"] == 4
    run_tool(
        kubectl_bin,
        "patch",
        "deployment",
        "web",
        "--type",
        "json",
        "-p",
        '[{"op":"add","path":"/metadata/labels/extra","value":"yes"}]',
    )
    assert fake_kube.get("deployments", "web")["metadata"]["labels"]["extra"] == "yes"
    run_tool(
        kubectl_bin,
        "patch",
        "deployment",
        "web",
        "--type",
        "strategic",
        "-p",
        json.dumps(
            {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {"name": "sidecar", "image": "busybox"},
                                {"name": "c", "image": "nginx:3"},
                            ]
                        }
                    }
                }
            }
        ),
    )
    containers = fake_kube.get("deployments", "web")["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("c", "nginx:3"), ("sidecar", "busybox")]
    assert containers[0]["ports"] == [{"containerPort": 80}]
    run_tool(
        kubectl_bin,
        "patch",
        "deployment",
        "web",
        "--type",
        "strategic",
        "-p",
        json.dumps(
            {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}
        ),
    )
    containers = fake_kube.get("deployments", "web")["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["c"]
    bad = run_tool(
        kubectl_bin,
        "patch",
        "deployment",
        "web",
        "--type",
        "json",
        "-p",
        '[{"op":"remove","path":"/spec/nope"}]',
        check=False,
    )
    assert bad.returncode == 1 and "does not exist" in bad.stderr
    run_tool(kubectl_bin, "scale", "deployment", "web", "--replicas=7")
    assert fake_kube.get("deployments", "web")["spec"]["replicas"] == 7


def _fire_later(action, delay=0.5):
    thread = threading.Thread(target=lambda: (time.sleep(delay), action()), daemon=True)
    thread.start()
    return thread


def test_wait_available_and_rollout_status_with_hooks(fake_kube, run_tool, kubectl_bin):
    _apply(run_tool, kubectl_bin, DEPLOYMENT)
    thread = _fire_later(lambda: fake_kube.mark_deployment_available("web"))
    started = time.monotonic()
    out = run_tool(
        kubectl_bin, "wait", "--for=condition=Available", "deployment/web", "--timeout=20s", timeout=30
    )
    assert "deployment.apps/web condition met" in out.stdout
    assert time.monotonic() - started < 15
    thread.join()
    changed = json.loads(json.dumps(DEPLOYMENT))
    changed["spec"]["replicas"] = 3
    _apply(run_tool, kubectl_bin, changed)
    thread = _fire_later(lambda: fake_kube.mark_deployment_available("web"))
    out = run_tool(kubectl_bin, "rollout", "status", "deployment/web", "--timeout=20s", timeout=30)
    assert 'deployment "web" successfully rolled out' in out.stdout
    thread.join()
    status = fake_kube.get("deployments", "web")["status"]
    assert status["observedGeneration"] == 2 and status["availableReplicas"] == 3


def test_statefulset_rollout_status(fake_kube, run_tool, kubectl_bin):
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "replicas": 2,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "db", "image": "postgres"}]},
            },
        },
    }
    _apply(run_tool, kubectl_bin, sts)
    thread = _fire_later(lambda: fake_kube.mark_statefulset_ready("db"))
    out = run_tool(kubectl_bin, "rollout", "status", "statefulset/db", "--timeout=20s", timeout=30)
    assert "roll out complete" in out.stdout or "rolling update complete" in out.stdout
    thread.join()


def test_crd_discovery_custom_objects_and_wait_established(fake_kube, run_tool, kubectl_bin):
    fake_kube.auto_establish_crds = False
    _apply(run_tool, kubectl_bin, CRD)
    thread = _fire_later(lambda: fake_kube.mark_crd_established("widgets.example.com"))
    out = run_tool(
        kubectl_bin,
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
        "--timeout=20s",
        timeout=30,
    )
    assert "condition met" in out.stdout
    thread.join()
    resources = run_tool(kubectl_bin, "api-resources", "--api-group=example.com", "-o", "name").stdout.split()
    assert resources == ["widgets.example.com"]
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w1"},
        "spec": {"size": 3},
        "status": {"ignored": True},
    }
    assert "widget.example.com/w1 created" in _apply(run_tool, kubectl_bin, widget).stdout
    stored = fake_kube.get("widgets.example.com", "w1", "default")
    assert stored["spec"] == {"size": 3} and "status" not in stored
    widget["spec"]["size"] = 4
    assert "configured" in _apply(run_tool, kubectl_bin, widget).stdout
    got = _get_json(run_tool, kubectl_bin, "wd", "w1")
    assert got["spec"]["size"] == 4 and got["metadata"]["generation"] == 2
    beta = _get_json(run_tool, kubectl_bin, "widgets.v1beta1.example.com", "w1")
    assert beta["apiVersion"] == "example.com/v1beta1"
    fake_kube.put_status("widgets.example.com", "w1", {"phase": "Ready"}, "default")
    got = _get_json(run_tool, kubectl_bin, "widget", "w1")
    assert got["status"] == {"phase": "Ready"} and got["metadata"]["generation"] == 2
    run_tool(kubectl_bin, "delete", "crd", "widgets.example.com")
    assert fake_kube.list("customresourcedefinitions") == []
    gone = run_tool(kubectl_bin, "get", "widgets.example.com", check=False)
    assert gone.returncode == 1 and "the server doesn't have a resource type" in gone.stderr


def test_namespace_deletion_cascades(fake_kube, run_tool, kubectl_bin):
    run_tool(kubectl_bin, "create", "ns", "doomed")
    run_tool(kubectl_bin, "create", "cm", "a", "-n", "doomed", "--from-literal=k=v")
    run_tool(kubectl_bin, "create", "secret", "generic", "b", "-n", "doomed", "--from-literal=k=v")
    run_tool(kubectl_bin, "delete", "ns", "doomed", "--timeout=10s")
    assert fake_kube.get("namespaces", "doomed") is None
    assert fake_kube.list("configmaps", "doomed") == [] and fake_kube.list("secrets", "doomed") == []
    missing = run_tool(kubectl_bin, "create", "cm", "c", "-n", "doomed", check=False)
    assert missing.returncode == 1 and 'namespaces "doomed" not found' in missing.stderr


def test_invalid_name_is_422_and_dry_run_stores_nothing(fake_kube, run_tool, kubectl_bin):
    bad = run_tool(kubectl_bin, "create", "cm", "Bad_Name", check=False)
    assert bad.returncode == 1 and "is invalid" in bad.stderr
    assert any(r.code == 422 for r in fake_kube.requests)
    writes = fake_kube.writes
    out = run_tool(kubectl_bin, "create", "cm", "dry", "--from-literal=a=b", "--dry-run=server", "-o", "json")
    assert json.loads(out.stdout)["data"] == {"a": "b"}
    assert fake_kube.get("configmaps", "dry") is None and fake_kube.writes == writes
