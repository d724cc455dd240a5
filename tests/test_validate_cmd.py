"""`kubectl gitops validate` end to end: the real executable, real helm, the shipped chart and examples."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def validate(*args, helm=None, input=None, cwd=None, env=None):
    cmd = [BIN / "kubectl-gitops", "validate", *map(str, args)]
    if helm:
        cmd += ["--helm", str(helm)]
    return subprocess.run(cmd, capture_output=True, text=True, input=input, cwd=cwd, env=env, timeout=120)


@pytest.mark.parametrize("example", ["proof-of-concept", "dev-prod-go"])
def test_examples_validate_with_each_helm(example, any_helm):
    out = validate("--config", EXAMPLES / example / "gitops.yaml", helm=any_helm)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"✔ {EXAMPLES / example / 'gitops.yaml'} is valid" in out.stderr
    summary = out.stdout.strip().splitlines()[-1]
    assert summary.startswith("Summary: ") and " 0 invalid, 0 errors, 0 skipped" in summary
    phases = [line.split(":")[0] for line in out.stdout.splitlines() if line.startswith("Phase ")]
    prod = ["Phase ingress", "Phase edge"] if example == "dev-prod-go" else []  # prod's own edge
    assert phases == ["Phase platform", "Phase operator", "Phase tekton", "Phase gitops", *prod]


def test_plan_lists_what_would_be_installed(helm_bin):
    out = validate("--config", EXAMPLES / "dev-prod-go/gitops.yaml", "-o", "json", helm=helm_bin)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [(r["phase"], r["release"], r["cluster"]) for r in data["releases"]] == [
        ("platform", "shop-platform", None), ("operator", "shop-operator", None), ("tekton", "shop-tekton", None),
        ("gitops", "shop-gitops", None), ("ingress", "shop-ingress", "prod"), ("edge", "shop-edge", "prod")]
    kinds = {(r["kind"], r["name"]) for r in data["resources"]}
    assert {("Application", "catalog-dev"), ("Application", "storefront-prod"), ("Pipeline", "build-and-push"),
            ("Namespace", "shop-dev"), ("Ingress", "argocd-server"), ("TektonConfig", "config"),
            ("Application", "shop-platform"), ("Application", "shop-tekton"), ("Application", "shop-gitops")} <= kinds
    assert all(r["status"] == "statusValid" for r in data["resources"])
    shown = {r["release"] + (f" ({r['cluster']})" if r["cluster"] else ""): r for r in data["releases"]}
    by_release = {name: r["objects"] for name, r in shown.items()}
    per_release = {name: [r for r in data["resources"] if r["filename"].startswith(f"{name}:")] for name in by_release}
    assert {(r["kind"], r["name"]) for r in per_release["shop-edge (prod)"]} == {
        ("ClusterIssuer", "letsencrypt-production"), ("ClusterIssuer", "letsencrypt-staging")}
    assert {name: len(objs) for name, objs in per_release.items()} == by_release
    assert not [r for r in per_release["shop-platform"] if r["kind"] in {"Application", "Pipeline", "TektonConfig"}]
    assert [(r["kind"], r["name"]) for r in per_release["shop-tekton"]] == [
        ("ClusterIssuer", "letsencrypt-production"), ("ClusterIssuer", "letsencrypt-staging"),
        ("TektonConfig", "config")]
    assert "TektonConfig" not in {r["kind"] for r in per_release["shop-gitops"]}


def test_invalid_config_exit_2_with_every_problem(tmp_path, helm_bin):
    bad = tmp_path / "gitops.yaml"
    bad.write_text((EXAMPLES / "proof-of-concept/gitops.yaml").read_text()
                   .replace("region: ams3", "regoin: ams3").replace("tier: starter", "tier: huge"))
    out = validate(helm=helm_bin, cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert lines[0] == "error: gitops.yaml has 2 problems"
    assert any('regoin: unknown key "regoin" (did you mean "region"?)' in line for line in lines)
    assert any('registry.tier: must be one of "starter", "basic", "professional"; got string "huge"' in line
               for line in lines)
    assert "Traceback" not in out.stderr


def test_missing_helm_is_one_line(tmp_path):
    out = validate("--config", EXAMPLES / "proof-of-concept/gitops.yaml", helm=tmp_path / "no-helm")
    assert out.returncode == 1
    assert len(out.stderr.strip().splitlines()) == 2  # the ✔ for the config, then the error
    assert out.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "helm" in out.stderr and "Traceback" not in out.stderr


MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: registry.example.com/web@sha256:0123
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 80, targetPort: 8080}]
  selectr: {app: web}
"""


def test_plain_manifests_text_and_exit_1(tmp_path):
    path = tmp_path / "app.yaml"
    path.write_text(MANIFESTS)
    out = validate(path)
    assert out.returncode == 1
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith(f"{path}:14 Service/web: ")
    assert 'unknown field "selectr"' in lines[0] and 'did you mean "selector"' in lines[0]
    assert lines[-1] == "Summary: 2 objects, 1 valid, 1 invalid, 0 errors, 0 skipped"
    relaxed = validate(path, "--no-strict")
    assert relaxed.returncode == 0, relaxed.stdout


def test_stdin_and_junit(tmp_path):
    out = validate("-", "-o", "junit", input=MANIFESTS)
    assert out.returncode == 1
    root = ET.fromstring(out.stdout)
    cases = root.findall(".//testcase")
    assert len(cases) == 2
    failures = [c for c in cases if c.find("failure") is not None]
    assert len(failures) == 1 and "selectr" in failures[0].find("failure").get("message", "") + \
        (failures[0].find("failure").text or "")


def test_missing_schema_and_ignore(tmp_path):
    path = tmp_path / "cr.yaml"
    path.write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {}\n")
    out = validate(path)
    assert out.returncode == 1 and "no schema for example.com/v1 Widget" in out.stdout
    skipped = validate(path, "--ignore-missing-schemas")
    assert skipped.returncode == 0 and "1 skipped" in skipped.stdout
    schemas = tmp_path / "schemas" / "example.com"
    schemas.mkdir(parents=True)
    (schemas / "widget_v1.json").write_text(json.dumps({
        "type": "object", "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                         "metadata": {"type": "object"},
                                         "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}))
    found = validate(path, "--schema-location", tmp_path / "schemas")
    assert found.returncode == 0, found.stdout


def test_bad_kubernetes_version_is_usage_error(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(MANIFESTS)
    out = validate(path, "--kubernetes-version", "1.99")
    assert out.returncode == 2 and "1.99" in out.stderr and "Traceback" not in out.stderr


def test_missing_path_is_config_error(tmp_path):
    out = validate(tmp_path / "nope.yaml")
    assert out.returncode == 2 and "nope.yaml" in out.stderr
