"""Every custom object the chart renders (and the runs the CLI creates) validates against the
upstream CRD schema of the pinned versions and against our own schemas in schemas/crds/; our
schemas declare nothing upstream does not have."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from kubectl_gitops.adapters import helm as helm_adapter

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "gitops-platform"
OURS = ROOT / "schemas" / "crds"
SCENARIOS = sorted(p.name for p in (CHART / "ci").glob("*-values.yaml"))
CUSTOM_GROUPS = ("argoproj.io", "tekton.dev", "operator.tekton.dev", "triggers.tekton.dev", "cert-manager.io",
                 "gateway.networking.k8s.io")
Key = tuple[str, str, str]  # group, kind, version


def strict(node: Any) -> Any:
    """A CRD openAPIV3Schema as JSON Schema where unknown fields are errors, except where the
    CRD preserves them; int-or-string and nullable spelled out."""
    if not isinstance(node, dict):
        return node
    out = {k: v for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    out.pop("nullable", None)
    if "properties" in node:
        out["properties"] = {k: strict(v) for k, v in node["properties"].items()}
        if not node.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in node:
            out["additionalProperties"] = False
    for key in ("items", "additionalProperties", "not"):
        if isinstance(node.get(key), dict):
            out[key] = strict(node[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in node:
            out[key] = [strict(s) for s in node[key]]
    return out


def _crd_schemas():
    """release/crd_schemas.py, which reads upstream CRDs for the generated schemas (a script, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("crd_schemas", ROOT / "release" / "crd_schemas.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def _upstream(reference: str) -> dict[Key, dict[str, Any]]:
    """Every served version's openAPIV3Schema of every CRD in the reference data (one folder per release)."""
    read = _crd_schemas()._crds
    return {key: schema for folder in sorted(Path(reference, "crds").iterdir()) if folder.is_dir()
            for key, schema in read(folder).items()}


@pytest.fixture(scope="module")
def upstream(shared_reference) -> dict[Key, dict[str, Any]]:
    return _upstream(str(shared_reference))


def ours() -> dict[Key, dict[str, Any]]:
    found = {}
    for path in sorted(OURS.glob("*/*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        kind = schema["properties"]["kind"]["enum"][0]
        group, version = schema["properties"]["apiVersion"]["enum"][0].rsplit("/", 1)
        assert path == OURS / group / f"{kind.lower()}_{version}.json", "kubeconform layout"
        found[(group, kind, version)] = schema
    return found


def key_of(obj: dict[str, Any]) -> Key:
    group, _, version = obj["apiVersion"].rpartition("/")
    return group, obj["kind"], version


@cache
def rendered_custom_objects(helm_path: str) -> tuple[tuple[str, dict[str, Any]], ...]:
    found = []
    for scenario in SCENARIOS:
        values = yaml.safe_load((CHART / "ci" / scenario).read_text(encoding="utf-8")) or {}
        result = helm_adapter.render(CHART, release="r", namespace="argocd", values=values, helm=helm_path)
        found += [(scenario, o) for o in result.objects() if key_of(o)[0] in CUSTOM_GROUPS]
    return tuple(found)


def cli_runs() -> list[dict[str, Any]]:
    """A PipelineRun and a TaskRun shaped as the chart README tells the CLI to create them."""
    claim = {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    push = {"secretName": "registry-push", "items": [{"key": ".dockerconfigjson", "path": "config.json"}]}
    binding = [{"name": "source", "volumeClaimTemplate": claim}, {"name": "dockerconfig", "secret": push}]
    pod = {"securityContext": {"fsGroup": 65532}}
    return [
        {"apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
         "metadata": {"generateName": "web-", "namespace": "ci", "labels": {"app.kubernetes.io/name": "web"}},
         "spec": {"pipelineRef": {"name": "build-and-push"},
                  "params": [{"name": "app-name", "value": "web"}, {"name": "git-url", "value": "https://x/y.git"}],
                  "workspaces": [*binding, {"name": "basic-auth", "secret": {"secretName": "git-credentials"}}],
                  "timeouts": {"pipeline": "1h0m0s"},
                  "taskRunTemplate": {"serviceAccountName": "pipeline-builder", "podTemplate": pod}}},
        {"apiVersion": "tekton.dev/v1", "kind": "TaskRun",
         "metadata": {"generateName": "go-", "namespace": "ci"},
         "spec": {"taskRef": {"name": "go-test-build"}, "params": [{"name": "package", "value": "./..."}],
                  "workspaces": binding[:1], "serviceAccountName": "pipeline-builder", "podTemplate": pod}},
    ]


def _errors(schema: dict[str, Any], obj: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]


def test_rendered_custom_objects_validate_against_upstream_crds_and_ours(helm_bin, upstream):
    objs = rendered_custom_objects(str(helm_bin))
    kinds = {key_of(o) for _, o in objs}
    assert kinds >= {("argoproj.io", "Application", "v1alpha1"), ("argoproj.io", "AppProject", "v1alpha1"),
                     ("tekton.dev", "Pipeline", "v1"), ("tekton.dev", "Task", "v1"),
                     ("operator.tekton.dev", "TektonConfig", "v1alpha1"), ("cert-manager.io", "ClusterIssuer", "v1"),
            ("gateway.networking.k8s.io", "Gateway", "v1"), ("gateway.networking.k8s.io", "GatewayClass", "v1"),
            ("gateway.networking.k8s.io", "HTTPRoute", "v1"), ("gateway.networking.k8s.io", "GRPCRoute", "v1")}
    schemas = ours()
    checked_upstream = 0
    for scenario, obj in objs:
        key = key_of(obj)
        assert key in schemas, f"{scenario}: no schema in schemas/crds for {key}"
        assert _errors(schemas[key], obj) == [], f"{scenario} {key} {obj['metadata']['name']} (ours)"
        if key in upstream:
            assert _errors(strict(upstream[key]), obj) == [], f"{scenario} {key} {obj['metadata']['name']}"
            checked_upstream += 1
    assert checked_upstream >= len(objs) - 2  # TektonConfig has no upstream CRD in the reference data


def test_trigger_template_creates_a_valid_pipeline_run_of_the_pipeline(helm_bin, upstream):
    objs = [o for s, o in rendered_custom_objects(str(helm_bin)) if s == "gitops-dev-prod-values.yaml"]
    (template,) = [o for o in objs if o["kind"] == "TriggerTemplate"]
    (pipeline,) = [o for o in objs if o["kind"] == "Pipeline"]
    (run,) = template["spec"]["resourcetemplates"]
    key = key_of(run)
    assert _errors(strict(upstream[key]), run) == []
    assert _errors(ours()[key], run) == []
    assert run["spec"]["pipelineRef"]["name"] == pipeline["metadata"]["name"]
    declared = {p["name"] for p in pipeline["spec"]["params"]}
    required = {p["name"] for p in pipeline["spec"]["params"] if "default" not in p}
    given = {p["name"] for p in run["spec"]["params"]}
    assert required <= given <= declared
    assert run["spec"]["taskRunTemplate"]["podTemplate"]["securityContext"]["fsGroup"] == 65532
    tt_params = {p["name"] for p in template["spec"]["params"]}
    for param in run["spec"]["params"]:
        assert param["value"].removeprefix("$(tt.params.").rstrip(")") in tt_params


def test_runs_the_cli_creates_validate_against_both(upstream):
    schemas = ours()
    for run in cli_runs():
        key = key_of(run)
        assert _errors(strict(upstream[key]), run) == []
        assert _errors(schemas[key], run) == []


def test_unknown_fields_are_errors_in_both():
    run = cli_runs()[0]
    run["spec"]["serviceAccount"] = "pipeline-builder"  # a v1beta1 field, gone in v1
    assert any("serviceAccount" in e for e in _errors(ours()[key_of(run)], run))


def test_unknown_fields_are_errors_upstream_too(upstream):
    run = cli_runs()[0]
    run["spec"]["serviceAccount"] = "pipeline-builder"
    assert any("serviceAccount" in e for e in _errors(strict(upstream[key_of(run)]), run))
    app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "a"},
           "spec": {"project": "p", "destination": {"namespace": "n", "serverr": "x"}}}
    assert any("serverr" in e for e in _errors(strict(upstream[key_of(app)]), app))
    assert any("serverr" in e for e in _errors(ours()[key_of(app)], app))


def _type_set(node: dict[str, Any]) -> set[str] | None:
    if "type" not in node:
        return None
    return set(node["type"] if isinstance(node["type"], list) else [node["type"]])


def disagreements(mine: dict[str, Any], theirs: dict[str, Any], path: str = "") -> list[str]:
    """Properties we declare that upstream lacks, or declares with another type."""
    if theirs.get("x-kubernetes-preserve-unknown-fields") and "properties" not in theirs:
        return []  # upstream accepts anything here
    problems = []
    ours_types, their_types = _type_set(mine), _type_set(theirs)
    if ours_types and their_types and not theirs.get("x-kubernetes-int-or-string"):
        if not ours_types <= their_types | {"null"}:
            problems.append(f"{path or '/'}: type {sorted(ours_types)} upstream {sorted(their_types)}")
    their_props = theirs.get("properties")
    for name, sub in (mine.get("properties") or {}).items():
        if their_props is None:
            if theirs.get("type") == "object" and "additionalProperties" not in theirs:
                continue  # free-form upstream object
            problems.append(f"{path}/{name}: upstream declares no properties here")
        elif name not in their_props:
            if not theirs.get("x-kubernetes-preserve-unknown-fields"):
                problems.append(f"{path}/{name}: not in the upstream CRD")
        else:
            problems += disagreements(sub, their_props[name], f"{path}/{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(mine.get(key), dict) and isinstance(theirs.get(key), dict):
            problems += disagreements(mine[key], theirs[key], f"{path}[{key}]")
    return problems


def test_our_schemas_agree_with_the_upstream_crds(upstream):
    compared = 0
    for key, schema in ours().items():
        if key == ("gateway.envoyproxy.io", "SecurityPolicy", "v1alpha1"):  # generated from the pinned release
            assert "generated by release/crd_schemas.py" in schema["description"]
            continue
        if key not in upstream:
            assert key == ("operator.tekton.dev", "TektonConfig", "v1alpha1"), f"no upstream CRD for {key}"
            assert "Go types" in schema["description"]
            continue
        assert disagreements(schema, upstream[key]) == [], key
        compared += 1
    assert compared == 17
    for kind in ("EventListener", "TriggerBinding", "TriggerTemplate"):
        assert "Go types" in ours()[("triggers.tekton.dev", kind, "v1beta1")]["description"]


def test_generated_schemas_are_those_of_the_pinned_upstream_crds(shared_reference):
    """release/crd_schemas.py regenerates the cert-manager schemas from the reference CRDs byte for byte."""
    module = _crd_schemas()
    skipped: list[str] = []
    generated = module.generate(Path(shared_reference) / "crds", skipped)
    assert {p.relative_to(OURS).as_posix() for p in generated} == {
        "cert-manager.io/clusterissuer_v1.json", "cert-manager.io/issuer_v1.json",
        "cert-manager.io/certificate_v1.json", "gateway.networking.k8s.io/gatewayclass_v1.json",
        "gateway.networking.k8s.io/gateway_v1.json", "gateway.networking.k8s.io/httproute_v1.json",
        "gateway.networking.k8s.io/grpcroute_v1.json", "gateway.networking.k8s.io/referencegrant_v1beta1.json"}
    for path, text in generated.items():
        assert path.read_text(encoding="utf-8") == text, f"{path}: run release/crd_schemas.py"
    # Envoy Gateway's CRDs are not in the reference data: its schema is the one generated at the pinned release
    assert skipped == ["envoy-gateway-v1.9.0"]
    policy = ours()[("gateway.envoyproxy.io", "SecurityPolicy", "v1alpha1")]
    assert "envoy-gateway-v1.9.0" in policy["description"]


def test_security_policy_schema_rejects_what_envoy_gateway_would():
    schema = ours()[("gateway.envoyproxy.io", "SecurityPolicy", "v1alpha1")]
    policy = {"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "SecurityPolicy",
              "metadata": {"name": "tekton-dashboard", "namespace": "tekton-pipelines"},
              "spec": {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                                       "name": "tekton-dashboard"}],
                       "basicAuth": {"users": {"name": "dashboard-auth"}}}}
    assert _errors(schema, policy) == []
    policy["spec"]["basicAuth"] = {"user": {"name": "dashboard-auth"}}
    assert any("user" in e for e in _errors(schema, policy))


def test_cluster_issuer_schema_rejects_a_misspelt_solver():
    schema = ours()[("cert-manager.io", "ClusterIssuer", "v1")]
    solver = {"dns01": {"digitalocean": {"tokenSecretRef": {"name": "t", "key": "k"}}}}
    issuer = {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "le"},
              "spec": {"acme": {"server": "https://acme-v02.api.letsencrypt.org/directory",
                                "privateKeySecretRef": {"name": "le"}, "solvers": [solver]}}}
    assert _errors(schema, issuer) == []
    issuer["spec"]["acme"]["solvers"][0]["dns01"]["digitalOcean"] = {}
    assert any("digitalOcean" in e for e in _errors(schema, issuer))


def test_disagreement_check_catches_a_made_up_field(upstream):
    schema = json.loads(json.dumps(ours()[("argoproj.io", "Application", "v1alpha1")]))
    schema["properties"]["spec"]["properties"]["destination"]["properties"]["cluster"] = {"type": "string"}
    schema["properties"]["spec"]["properties"]["project"]["type"] = "integer"
    problems = disagreements(schema, upstream[("argoproj.io", "Application", "v1alpha1")])
    assert any("/spec/destination/cluster" in p for p in problems)
    assert any("/spec/project: type" in p for p in problems)


def _walk(node: Any, path: str = "$"):
    if isinstance(node, dict):
        yield path, node
        for key in ("properties", "definitions"):
            for name, sub in (node.get(key) or {}).items():
                yield from _walk(sub, f"{path}.{name}")
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                yield from _walk(node[key], f"{path}[{key}]")


def test_our_schemas_are_strict_and_described():
    for key, schema in ours().items():
        jsonschema.Draft7Validator.check_schema(schema)
        assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
        assert schema["additionalProperties"] is False, key
        assert schema["properties"]["spec"].get("additionalProperties") is False, key
        for path, node in _walk(schema):
            for name, sub in (node.get("properties") or {}).items():
                assert sub.get("description"), f"{key} {path}.{name} has no description"
