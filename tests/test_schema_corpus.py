"""Valid objects of many builtin kinds (shared by the schema tests) and a check that they pass."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubectl_gitops.adapters.schema import SchemaRegistry, validate
from kubectl_gitops.core.manifests import Document

POD_SPEC: dict[str, Any] = {
    "serviceAccountName": "web",
    "securityContext": {"runAsNonRoot": True, "fsGroup": 2000},
    "containers": [
        {
            "name": "web",
            "image": "nginx:1.27",
            "args": ["--port", "8080"],
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
            "env": [
                {"name": "A", "value": "1"},
                {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            ],
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": 1}},
            "livenessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 10},
            "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": True}],
        }
    ],
    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
    "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
}
LABELS = {"app.kubernetes.io/name": "web"}
TEMPLATE = {"metadata": {"labels": LABELS}, "spec": POD_SPEC}


def _meta(name: str = "web", namespace: str | None = "prod") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(LABELS)}
    if namespace:
        meta["namespace"] = namespace
    return meta


VALID_OBJECTS: list[dict[str, Any]] = [
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": LABELS},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
            "template": TEMPLATE,
        },
    },
    {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(),
        "spec": {
            "serviceName": "web",
            "selector": {"matchLabels": LABELS},
            "template": TEMPLATE,
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                }
            ],
        },
    },
    {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": _meta(),
        "spec": {"selector": {"matchLabels": LABELS}, "template": TEMPLATE},
    },
    {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(),
        "spec": {"backoffLimit": 3, "template": {"spec": {**POD_SPEC, "restartPolicy": "Never"}}},
    },
    {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(),
        "spec": {
            "schedule": "*/5 * * * *",
            "jobTemplate": {"spec": {"template": {"spec": {**POD_SPEC, "restartPolicy": "OnFailure"}}}},
        },
    },
    {"apiVersion": "v1", "kind": "Pod", "metadata": _meta(), "spec": POD_SPEC},
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(),
        "spec": {
            "type": "LoadBalancer",
            "selector": LABELS,
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}, {"port": 443, "targetPort": 8443}],
        },
    },
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(), "data": {"a.conf": "x = 1\n"}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(), "type": "Opaque", "stringData": {"k": "v"}},
    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(), "automountServiceAccountToken": False},
    {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta("prod", None)},
    {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta("data"),
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}},
    },
    {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {**_meta(), "annotations": {"cert-manager.io/cluster-issuer": "le"}},
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["web.example.com"], "secretName": "web-tls"}],
            "rules": [
                {
                    "host": "web.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    },
    {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(),
        "spec": {
            "podSelector": {"matchLabels": LABELS},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {}}], "ports": [{"port": "http", "protocol": "TCP"}]}],
        },
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(),
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": _meta("web", None),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": "prod"}],
    },
    {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1,
            "maxReplicas": 5,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
                }
            ],
        },
    },
    {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(),
        "spec": {"minAvailable": "50%", "selector": {"matchLabels": LABELS}},
    },
    {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": _meta("widgets.example.com", None),
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                        }
                    },
                }
            ],
        },
    },
]


def documents(*objects: dict[str, Any], source: str = "test.yaml") -> list[Document]:
    """Wrap objects as documents on consecutive lines."""
    return [Document(source, 1 + 10 * i, i, copy.deepcopy(obj), None) for i, obj in enumerate(objects)]


@pytest.fixture(scope="module")
def strict_registry() -> SchemaRegistry:
    return SchemaRegistry(kubernetes_version="1.33", include_builtin_crds=False)


@pytest.mark.parametrize("version", ["1.25", "1.37"])
def test_valid_objects_of_many_kinds_pass(version: str) -> None:
    registry = SchemaRegistry(kubernetes_version=version, include_builtin_crds=False)
    objects = [o for o in VALID_OBJECTS if version != "1.25" or o["kind"] != "HorizontalPodAutoscaler"]
    results = validate(documents(*objects), registry=registry)
    assert [(r.kind, r.status, r.problems) for r in results] == [(o["kind"], "valid", ()) for o in objects]


def test_builtin_validators_use_the_compiled_fast_path(strict_registry: SchemaRegistry) -> None:
    for obj in VALID_OBJECTS:
        validator = strict_registry.validator(obj["apiVersion"], obj["kind"])
        assert validator is not None and validator.compiled, obj["kind"]
