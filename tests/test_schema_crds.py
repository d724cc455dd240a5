"""CRD schemas: kubeconform directory layout, path templates, source order, strictness."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubectl_gitops.adapters import schema as schema_module
from kubectl_gitops.adapters.schema import Problem, SchemaRegistry, prepare_crd_schema, validate
from kubectl_gitops.core.errors import ConfigError, UsageError
from test_schema_corpus import documents

WIDGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["spec"],
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "string", "enum": ["small", "large"]},
                "port": {"x-kubernetes-int-or-string": True},
                "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 10},
                "replicas": {"type": "integer", "minimum": 1, "format": "int32"},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "parts": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
    },
}


def _widget(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "ns"},
        "spec": {"size": "small", **spec},
    }


def _write_schema(path: Path, schema: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema))


@pytest.fixture()
def crd_dir(tmp_path: Path) -> Path:
    root = tmp_path / "crds"
    _write_schema(root / "example.com" / "widget_v1.json", WIDGET_SCHEMA)
    return root


def _run(registry: SchemaRegistry, *objects: dict[str, Any]) -> list[tuple[str, tuple[Problem, ...]]]:
    return [(r.status, r.problems) for r in validate(documents(*objects), registry=registry)]


def _registry(*locations: str, strict: bool = True) -> SchemaRegistry:
    return SchemaRegistry(
        kubernetes_version="1.33", schema_locations=locations, include_builtin_crds=False, strict=strict
    )


def test_crd_schema_from_a_directory_location(crd_dir: Path) -> None:
    registry = _registry(str(crd_dir))
    assert registry.validator("example.com/v1", "Widget").compiled
    good = _widget(port=8080, name="abc", replicas=2, extra={"anything": [1, {"x": None}]}, parts=[{"id": "a"}])
    assert _run(registry, good, _widget(port="http")) == [("valid", ()), ("valid", ())]


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"size": "medium"}, Problem("spec.size", 'must be one of "small", "large"; got string "medium"')),
        ({"port": True}, Problem("spec.port", "expected integer or string, got boolean true")),
        ({"name": "ABC"}, Problem("spec.name", 'string "ABC" does not match pattern "^[a-z]+$"')),
        (
            {"name": "abcdefghijkl"},
            Problem("spec.name", 'must be at most 10 characters long; got string "abcdefghijkl"'),
        ),
        ({"replicas": 0}, Problem("spec.replicas", "must be at least 1; got integer 0")),
        ({"parts": [{"id": "a"}, {}]}, Problem("spec.parts[1]", 'missing required field "id"')),
        ({"labels": {"a": 1}}, Problem("spec.labels.a", "expected string, got integer 1")),
        ({"sise": "small"}, Problem("spec", 'unknown field "sise" (did you mean "size"?)')),
    ],
)
def test_each_kind_of_crd_problem(crd_dir: Path, spec: dict[str, Any], problem: Problem) -> None:
    assert _run(_registry(str(crd_dir)), _widget(**spec)) == [("invalid", (problem,))]


def test_strictness_applies_to_crd_schemas(crd_dir: Path) -> None:
    obj = _widget(unknown=1)
    obj["spec"]["parts"] = [{"id": "a", "other": 2}]
    obj["top"] = 1
    ((status, problems),) = _run(_registry(str(crd_dir)), obj)
    assert status == "invalid"
    assert {p.path for p in problems} == {"", "spec", "spec.parts[0]"}
    assert _run(_registry(str(crd_dir), strict=False), obj) == [("valid", ())]


def test_prepare_crd_schema_respects_preserve_unknown_fields() -> None:
    prepared = prepare_crd_schema(WIDGET_SCHEMA, strict=True)
    spec = prepared["properties"]["spec"]
    assert prepared["additionalProperties"] is False and spec["additionalProperties"] is False
    assert "additionalProperties" not in spec["properties"]["extra"]
    assert spec["properties"]["labels"]["additionalProperties"] == {"type": "string"}
    assert spec["properties"]["port"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert "additionalProperties" not in WIDGET_SCHEMA  # the input is not modified
    assert "additionalProperties" not in prepare_crd_schema(WIDGET_SCHEMA, strict=False)


def test_crd_schema_from_a_path_template(tmp_path: Path) -> None:
    _write_schema(tmp_path / "v1.33.0" / "widget-example-v1.json", WIDGET_SCHEMA)
    _write_schema(tmp_path / "by-group" / "example.com" / "v1" / "widget.json", WIDGET_SCHEMA)
    for template in (
        str(tmp_path / "{{.NormalizedKubernetesVersion}}" / "{{.ResourceKind}}{{.KindSuffix}}.json"),
        str(tmp_path / "by-group" / "{{ .Group }}" / "{{ .ResourceAPIVersion }}" / "{{ .ResourceKind }}.json"),
    ):
        registry = _registry(template)
        assert _run(registry, _widget(), _widget(size=1)) == [
            ("valid", ()),
            ("invalid", (Problem("spec.size", "expected string, got integer 1"),)),
        ]


def test_later_locations_win_and_default_means_builtin(tmp_path: Path, crd_dir: Path) -> None:
    strict_widget = dict(WIDGET_SCHEMA, required=["spec", "status"])
    _write_schema(tmp_path / "second" / "example.com" / "widget_v1.json", strict_widget)
    # kubeconform's layout names the core group after its version: v1/configmap_v1.json
    _write_schema(tmp_path / "second" / "v1" / "configmap_v1.json", {"type": "object", "required": ["special"]})
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    missing_status = ("invalid", (Problem("", 'missing required field "status"'),))
    assert _run(_registry(str(crd_dir), str(tmp_path / "second")), _widget(), configmap) == [
        missing_status,
        ("invalid", (Problem("", 'missing required field "special"'),)),
    ]
    assert _run(_registry(str(tmp_path / "second"), str(crd_dir), "default"), _widget(), configmap) == [
        ("valid", ()),
        ("valid", ()),
    ]


def test_shipped_crd_schemas_are_used_unless_disabled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _write_schema(tmp_path / "schemas" / "crds" / "example.com" / "widget_v1.json", WIDGET_SCHEMA)
    monkeypatch.setattr(schema_module, "schemas_dir", lambda: tmp_path / "schemas")
    shipped = SchemaRegistry(kubernetes_version="1.33")
    assert _run(shipped, _widget()) == [("valid", ())]
    without = SchemaRegistry(kubernetes_version="1.33", include_builtin_crds=False)
    assert _run(without, _widget()) == [("error", (Problem("", "no schema for example.com/v1 Widget"),))]


@pytest.mark.parametrize(
    ("location", "match"),
    [
        ("https://example.com/{{.Group}}.json", "only local files"),
        ("/tmp/{{.Nope}}/x.json", "unknown placeholder Nope"),
        ("/nonexistent/schemas", "neither a directory, a JSON Schema file nor a path template"),
    ],
)
def test_bad_schema_locations_are_rejected(location: str, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        _registry(location)


def test_unreadable_schema_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "example.com").mkdir()
    (tmp_path / "example.com" / "widget_v1.json").write_text("{not json")
    with pytest.raises(ConfigError, match="widget_v1.json"):
        _registry(str(tmp_path)).validator("example.com/v1", "Widget")


def write_kubeconform_layout(crd_files: list[Path], root: Path) -> None:
    """Write each CRD version's openAPIV3Schema as {group}/{kind}_{version}.json."""
    for file in crd_files:
        for crd in yaml.load_all(file.read_text(), Loader=yaml.CSafeLoader):
            if not crd:
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"].lower()
            for version in crd["spec"]["versions"]:
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if schema:
                    _write_schema(root / group / f"{kind}_{version['name']}.json", schema)


ARGO_APP = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Application",
    "metadata": {"name": "guestbook", "namespace": "argocd"},
    "spec": {
        "project": "default",
        "source": {
            "repoURL": "https://github.com/argoproj/argocd-example-apps",
            "path": "guestbook",
            "targetRevision": "HEAD",
            "helm": {"valuesObject": {"replicas": 2, "x": {"y": [1]}}},
        },
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "guestbook"},
        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "syncOptions": ["CreateNamespace=true"]},
    },
}


def test_upstream_argo_cd_and_tekton_crds(shared_reference: Path, tmp_path: Path) -> None:
    crds = shared_reference / "crds"
    write_kubeconform_layout(sorted(crds.glob("*/*.yaml")), tmp_path / "layout")
    registry = _registry(str(tmp_path / "layout"))
    typo = json.loads(json.dumps(ARGO_APP))
    typo["spec"]["source"]["repoUrl"] = typo["spec"]["source"].pop("repoURL")
    typo["spec"]["syncPolicy"]["automated"]["prune"] = "yes"
    pipeline = {
        "apiVersion": "tekton.dev/v1",
        "kind": "Pipeline",
        "metadata": {"name": "build"},
        "spec": {"tasks": [{"name": "build", "taskRef": {"name": "kaniko"}, "params": [{"name": "a", "value": "b"}]}]},
    }
    results = _run(registry, ARGO_APP, typo, pipeline)
    assert registry.validator("argoproj.io/v1alpha1", "Application").compiled
    assert registry.validator("tekton.dev/v1", "Pipeline").compiled
    assert results[0] == ("valid", ()) and results[2] == ("valid", ())
    assert results[1][0] == "invalid" and set(results[1][1]) == {
        Problem("spec.source", 'unknown field "repoUrl" (did you mean "repoURL"?)'),
        Problem("spec.source", 'missing required field "repoURL"'),
        Problem("spec.syncPolicy.automated.prune", 'expected boolean, got string "yes"'),
    }
