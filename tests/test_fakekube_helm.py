"""Real helm 4 and helm 3.19 against the Kubernetes API stand-in."""

from __future__ import annotations

import base64
import gzip
import json

import pytest
import yaml

from fakekube.fixtures import *  # noqa: F403

TEMPLATES = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cm
data:
  image: {{ .Values.image | quote }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
  labels: {app: web}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: c
          image: {{ .Values.image | quote }}
          ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-svc
spec:
  selector: {app: web}
  ports: [{port: 80}]
{{- if .Values.extra }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-extra
stringData:
  token: abc
{{- end }}
"""


@pytest.fixture
def chart(tmp_path):
    path = tmp_path / "demo"
    (path / "templates").mkdir(parents=True)
    (path / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\nappVersion: '1.0'\n")
    (path / "values.yaml").write_text("image: nginx:1\nreplicas: 1\nextra: true\n")
    (path / "templates" / "all.yaml").write_text(TEMPLATES)
    return path


def _release(fake_kube, name, revision, namespace="apps"):
    secret = fake_kube.get("secrets", f"sh.helm.release.v1.{name}.v{revision}", namespace)
    assert secret is not None, f"release secret v{revision} missing"
    payload = base64.b64decode(base64.b64decode(secret["data"]["release"]))
    return secret, json.loads(gzip.decompress(payload))


@pytest.mark.parametrize("which", ["helm", "helm3"])
def test_install_upgrade_list_status_uninstall(which, request, fake_kube, run_tool, chart):
    helm = request.getfixturevalue("helm_bin" if which == "helm" else "helm3_bin")
    out = run_tool(helm, "install", "demo", chart, "-n", "apps", "--create-namespace")
    assert "STATUS: deployed" in out.stdout
    dep = fake_kube.get("deployments", "demo-web", "apps")
    assert dep["spec"]["replicas"] == 1
    assert dep["metadata"]["labels"]["app"] == "web"
    assert fake_kube.get("secrets", "demo-extra", "apps")["data"] == {"token": "YWJj"}
    assert fake_kube.get("services", "demo-svc", "apps")["spec"]["clusterIP"].startswith("10.96.")
    managers = {m["manager"] for m in dep["metadata"]["managedFields"]}
    assert managers == {"helm"}
    operations = {m["operation"] for m in dep["metadata"]["managedFields"]}
    # helm 4 applies server-side; helm 3 creates and patches client-side
    assert operations == ({"Apply"} if which == "helm" else {"Update"})
    secret, release = _release(fake_kube, "demo", 1)
    assert secret["metadata"]["labels"]["owner"] == "helm"
    assert secret["type"] == "helm.sh/release.v1"
    assert release["info"]["status"] == "deployed"

    run_tool(helm, "upgrade", "demo", chart, "-n", "apps", "--set", "image=nginx:2,replicas=3,extra=false")
    dep = fake_kube.get("deployments", "demo-web", "apps")
    assert dep["spec"]["replicas"] == 3
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    assert dep["metadata"]["generation"] == 2
    assert fake_kube.get("configmaps", "demo-cm", "apps")["data"] == {"image": "nginx:2"}
    assert fake_kube.get("secrets", "demo-extra", "apps") is None
    assert _release(fake_kube, "demo", 1)[0]["metadata"]["labels"]["status"] == "superseded"
    assert _release(fake_kube, "demo", 2)[1]["info"]["status"] == "deployed"

    listed = json.loads(run_tool(helm, "list", "-n", "apps", "-o", "json").stdout)
    assert [(r["name"], r["revision"], r["status"]) for r in listed] == [("demo", "2", "deployed")]
    status = json.loads(run_tool(helm, "status", "demo", "-n", "apps", "-o", "json").stdout)
    assert status["version"] == 2 and status["info"]["status"] == "deployed"

    out = run_tool(helm, "uninstall", "demo", "-n", "apps")
    assert 'release "demo" uninstalled' in out.stdout
    assert fake_kube.list("deployments", "apps") == []
    assert fake_kube.list("configmaps", "apps") == []
    assert fake_kube.list("secrets", "apps") == []
    assert json.loads(run_tool(helm, "list", "-n", "apps", "-o", "json").stdout) == []


@pytest.mark.parametrize("which", ["helm", "helm3"])
def test_template_and_upgrade_install(which, request, fake_kube, run_tool, chart):
    helm = request.getfixturevalue("helm_bin" if which == "helm" else "helm3_bin")
    out = run_tool(helm, "template", "t1", chart, "--set", "replicas=2")
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert [d["kind"] for d in docs] == ["Secret", "ConfigMap", "Service", "Deployment"]
    assert next(d for d in docs if d["kind"] == "Deployment")["spec"]["replicas"] == 2
    run_tool(helm, "upgrade", "--install", "t1", chart, "-n", "default", "--set", "replicas=2")
    assert fake_kube.get("deployments", "t1-web", "default")["spec"]["replicas"] == 2
    # a manual change to a field the chart sets is reverted by the next upgrade
    fake_kube.update("deployments", "t1-web", lambda d: d["spec"].update(replicas=9), "default")
    if which == "helm":
        # helm 4 applies server-side: another manager's change is a conflict unless forced
        failed = run_tool(helm, "upgrade", "t1", chart, "-n", "default", "--set", "replicas=4", check=False)
        assert failed.returncode == 1
        assert 'conflict with "fakekube"' in failed.stderr and ".spec.replicas" in failed.stderr
        assert fake_kube.get("deployments", "t1-web", "default")["spec"]["replicas"] == 9
        run_tool(helm, "upgrade", "t1", chart, "-n", "default", "--set", "replicas=4", "--force-conflicts")
    else:
        run_tool(helm, "upgrade", "t1", chart, "-n", "default", "--set", "replicas=4")
    assert fake_kube.get("deployments", "t1-web", "default")["spec"]["replicas"] == 4
