"""The official ``kubernetes`` Python client against the Kubernetes API stand-in, and unit checks."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes import client, dynamic, watch
from kubernetes.client.rest import ApiException

from fakekube import FakeKube, patching, protobuf
from fakekube.fixtures import *  # noqa: F403


def _cm(name, labels=None, data=None):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels or {}), data=data or {})


def test_crud_status_codes_and_metadata(kube_client, fake_kube):
    core = client.CoreV1Api(kube_client)
    created = core.create_namespaced_config_map("default", _cm("one", {"app": "a"}, {"k": "v"}))
    assert created.metadata.uid and created.metadata.creation_timestamp is not None
    assert created.metadata.generation == 1
    rv = int(created.metadata.resource_version)
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("default", _cm("one"))
    assert exc.value.status == 409 and '"reason":"AlreadyExists"' in exc.value.body.replace(" ", "")
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_config_map("nope", "default")
    assert exc.value.status == 404 and 'configmaps \\"nope\\" not found' in exc.value.body
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("default", _cm("UPPER"))
    assert exc.value.status == 422
    got = core.read_namespaced_config_map("one", "default")
    got.data["k"] = "w"
    replaced = core.replace_namespaced_config_map("one", "default", got)
    assert replaced.data == {"k": "w"} and int(replaced.metadata.resource_version) > rv
    got.data["k"] = "stale"
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_config_map("one", "default", got)  # stale resourceVersion
    assert exc.value.status == 409 and "the object has been modified" in exc.value.body
    generated = core.create_namespaced_config_map(
        "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(generate_name="gen-"))
    )
    assert generated.metadata.name.startswith("gen-") and len(generated.metadata.name) == 9
    core.delete_namespaced_config_map("one", "default")
    assert fake_kube.get("configmaps", "one") is None


def test_list_with_selectors(kube_client):
    core = client.CoreV1Api(kube_client)
    for name, labels in [("a", {"env": "prod", "team": "x"}), ("b", {"env": "dev"}), ("c", {"team": "y"})]:
        core.create_namespaced_config_map("default", _cm(name, labels))

    def names(**kw):
        return sorted(i.metadata.name for i in core.list_namespaced_config_map("default", **kw).items)

    assert names(label_selector="env=prod") == ["a"]
    assert names(label_selector="env!=prod") == ["b", "c"]
    assert names(label_selector="env in (prod,dev)") == ["a", "b"]
    assert names(label_selector="!env") == ["c"]
    assert names(label_selector="env,team") == ["a"]
    assert names(field_selector="metadata.name=b") == ["b"]
    assert names(field_selector="metadata.name!=b") == ["a", "c"]
    everywhere = core.list_config_map_for_all_namespaces(field_selector="metadata.namespace=default")
    assert sorted(i.metadata.name for i in everywhere.items) == ["a", "b", "c"]


def test_watch_receives_changes(kube_client, fake_kube):
    core = client.CoreV1Api(kube_client)
    start = core.list_namespaced_config_map("default").metadata.resource_version

    def writer():
        time.sleep(0.2)
        core.create_namespaced_config_map("default", _cm("w1", {"watch": "me"}))
        core.patch_namespaced_config_map("w1", "default", {"data": {"x": "1"}})
        core.create_namespaced_config_map("default", _cm("other"))
        core.delete_namespaced_config_map("w1", "default")

    thread = threading.Thread(target=writer)
    thread.start()
    seen = []
    w = watch.Watch()
    for event in w.stream(
        core.list_namespaced_config_map,
        "default",
        label_selector="watch=me",
        resource_version=start,
        timeout_seconds=5,
    ):
        seen.append((event["type"], event["object"].metadata.name, (event["object"].data or {}).get("x")))
        if event["type"] == "DELETED":
            w.stop()
    thread.join()
    assert seen == [("ADDED", "w1", None), ("MODIFIED", "w1", "1"), ("DELETED", "w1", "1")]


def test_patch_variants_and_server_side_apply(kube_client, fake_kube):
    apps = client.AppsV1Api(kube_client)
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "labels": {"a": "1"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"a": "1"}},
            "template": {
                "metadata": {"labels": {"a": "1"}},
                "spec": {"containers": [{"name": "c", "image": "i:1", "env": [{"name": "A", "value": "1"}]}]},
            },
        },
    }
    created = apps.patch_namespaced_deployment(
        "d", "default", body, field_manager="ctl", _content_type="application/apply-patch+yaml"
    )
    assert created.metadata.managed_fields[0].manager == "ctl"
    assert created.metadata.managed_fields[0].operation == "Apply"
    patched = apps.patch_namespaced_deployment(
        "d",
        "default",
        {
            "spec": {
                "template": {"spec": {"containers": [{"name": "c", "env": [{"name": "B", "value": "2"}]}]}}
            }
        },
    )  # the client sends a strategic merge patch for dicts
    env = patched.spec.template.spec.containers[0].env
    assert [(e.name, e.value) for e in env] == [("A", "1"), ("B", "2")]
    patched = apps.patch_namespaced_deployment(
        "d", "default", [{"op": "replace", "path": "/spec/replicas", "value": 3}]
    )
    assert patched.spec.replicas == 3 and patched.metadata.generation == 3
    with pytest.raises(ApiException) as exc:
        apps.patch_namespaced_deployment(
            "d", "default", body, field_manager="other", _content_type="application/apply-patch+yaml"
        )
    assert exc.value.status == 409 and "conflict" in exc.value.body
    scale = apps.read_namespaced_deployment_scale("d", "default")
    assert scale.spec.replicas == 3 and scale.status.selector == "a=1"
    apps.patch_namespaced_deployment_scale("d", "default", {"spec": {"replicas": 6}})
    assert fake_kube.get("deployments", "d")["spec"]["replicas"] == 6
    status = apps.patch_namespaced_deployment_status("d", "default", {"status": {"replicas": 6}})
    assert status.status.replicas == 6
    assert fake_kube.get("deployments", "d")["metadata"]["generation"] == 4


def test_dynamic_client_discovers_crd_and_applies(kube_client, fake_kube):
    dyn = dynamic.DynamicClient(kube_client)
    crds = dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    crds.create(
        body={
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "gadgets.example.org"},
            "spec": {
                "group": "example.org",
                "scope": "Cluster",
                "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                "versions": [
                    {
                        "name": "v1alpha1",
                        "served": True,
                        "storage": True,
                        "schema": {"openAPIV3Schema": {"type": "object"}},
                    }
                ],
            },
        }
    )
    crd = fake_kube.get("crd", "gadgets.example.org")
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]}["Established"] == "True"
    dyn = dynamic.DynamicClient(kube_client)  # fresh discovery
    gadgets = dyn.resources.get(api_version="example.org/v1alpha1", kind="Gadget")
    assert gadgets.namespaced is False
    applied = gadgets.server_side_apply(
        body={
            "apiVersion": "example.org/v1alpha1",
            "kind": "Gadget",
            "metadata": {"name": "g"},
            "spec": {"on": True},
        },
        field_manager="py",
    )
    assert applied.spec.on is True and applied.metadata.managedFields[0].manager == "py"
    assert [g.metadata.name for g in gadgets.get().items] == ["g"]


def test_hooks_tekton_argocd_load_balancer(fake_kube):
    for group, plural, kind in [
        ("tekton.dev", "pipelineruns", "PipelineRun"),
        ("argoproj.io", "applications", "Application"),
    ]:
        fake_kube.create(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": f"{plural}.{group}"},
                "spec": {
                    "group": group,
                    "scope": "Namespaced",
                    "names": {"plural": plural, "kind": kind},
                    "versions": [
                        {
                            "name": "v1" if group == "tekton.dev" else "v1alpha1",
                            "served": True,
                            "storage": True,
                            "subresources": {"status": {}},
                        }
                    ],
                },
            }
        )
    fake_kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}})
    fake_kube.create({"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "metadata": {"name": "run"}})
    fake_kube.set_pipelinerun_status("run", "default", "Unknown", "Running")
    run = fake_kube.set_pipelinerun_status(
        "run", "default", "True", "Succeeded", results={"digest": "sha256:1"}
    )
    assert run["status"]["conditions"][0]["status"] == "True"
    assert run["status"]["results"] == [{"name": "digest", "value": "sha256:1"}]
    assert "completionTime" in run["status"]
    fake_kube.create(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "app", "namespace": "argocd"},
            "spec": {"source": {"repoURL": "r"}},
        }
    )
    app = fake_kube.set_application_status("app", revision="abc123", sync="OutOfSync", health="Degraded")
    assert app["status"]["sync"] == {
        "status": "OutOfSync",
        "revision": "abc123",
        "comparedTo": {"source": {"repoURL": "r"}, "destination": {}},
    }
    assert app["status"]["health"]["status"] == "Degraded"
    assert app["status"]["operationState"]["syncResult"]["revision"] == "abc123"
    fake_kube.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "lb"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        }
    )
    svc = fake_kube.set_load_balancer_ip("lb", ip="198.51.100.7")
    assert svc["status"]["loadBalancer"]["ingress"] == [{"ip": "198.51.100.7"}]
    assert fake_kube.get("services", "lb")["metadata"]["generation"] == 1
    writes = fake_kube.writes
    fake_kube.put_status("services", "lb", svc["status"])  # unchanged: no write
    assert fake_kube.writes == writes


def test_auto_available_and_counters(tmp_path):
    with FakeKube(auto_available=True) as kube:
        kube.write_kubeconfig(tmp_path / "kc")
        kube.reset_counters()
        kube.create(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "x"},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"a": "b"}}, "template": {}},
            }
        )
        status = kube.get("deployments", "x")["status"]
        assert status["availableReplicas"] == 2 and status["observedGeneration"] == 1
        assert kube.writes == 2 and kube.requests == []


def test_protobuf_decoder_known_bytes():
    def field(number, payload: bytes):
        return bytes([number << 3 | 2, len(payload)]) + payload

    meta = field(1, b"s") + field(3, b"ns") + field(11, field(1, b"k") + field(2, b"v"))
    secret = field(1, meta) + field(2, field(1, b"key") + field(2, b"\x00\x01")) + field(3, b"Opaque")
    envelope = protobuf.MAGIC + field(1, field(1, b"v1") + field(2, b"Secret")) + field(2, secret)
    decoded = protobuf.decode(envelope)
    assert decoded == {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": "s", "namespace": "ns", "labels": {"k": "v"}},
        "data": {"key": "AAE="},
    }
    with pytest.raises(protobuf.ProtobufError):
        protobuf.decode(b"{}")


def test_strategic_merge_and_json_patch_units():
    live = {
        "spec": {
            "containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}],
            "ports": [{"port": 80, "name": "http"}],
            "finalizers": ["x"],
        }
    }
    patch = {
        "spec": {
            "containers": [{"name": "b", "image": "2"}, {"name": "a", "$patch": "delete"}],
            "ports": [{"port": 443}],
            "$deleteFromPrimitiveList/finalizers": ["x"],
            "$setElementOrder/containers": [{"name": "b"}],
        }
    }
    merged = patching.strategic_merge(live, patch)
    assert merged == {
        "spec": {
            "containers": [{"name": "b", "image": "2"}],
            "ports": [{"port": 80, "name": "http"}, {"port": 443}],
            "finalizers": [],
        }
    }
    assert patching.strategic_merge({"a": {"b": 1, "c": 2}}, {"a": {"$patch": "replace", "d": 3}}) == {
        "a": {"d": 3}
    }
    doc = patching.json_patch(
        {"a": [1, 2]},
        [
            {"op": "add", "path": "/a/-", "value": 3},
            {"op": "move", "from": "/a/0", "path": "/b"},
            {"op": "test", "path": "/b", "value": 1},
        ],
    )
    assert doc == {"a": [2, 3], "b": 1}
    with pytest.raises(patching.PatchError):
        patching.json_patch(doc, [{"op": "test", "path": "/b", "value": 2}])
