"""The validator engine on builtin kinds: each kind of problem, with its path and message."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest

from kubectl_gitops.adapters.schema import (
    Problem,
    SchemaRegistry,
    normalize_kubernetes_version,
    supported_kubernetes_versions,
    validate,
)
from kubectl_gitops.cli.validate_report import format_json, format_junit, format_text
from kubectl_gitops.core.errors import UsageError
from kubectl_gitops.core.manifests import load_documents
from test_schema_corpus import VALID_OBJECTS, documents


def _obj(kind: str) -> dict[str, Any]:
    return copy.deepcopy(next(o for o in VALID_OBJECTS if o["kind"] == kind))


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry(kubernetes_version="1.33", include_builtin_crds=False)


def _problems(obj: dict[str, Any], registry: SchemaRegistry) -> tuple[str, tuple[Problem, ...]]:
    (result,) = validate(documents(obj), registry=registry)
    return result.status, result.problems


def test_wrong_type_is_reported_with_path_and_value(registry: SchemaRegistry) -> None:
    obj = _obj("Deployment")
    obj["spec"]["replicas"] = "3"
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = 42
    status, problems = _problems(obj, registry)
    assert status == "invalid"
    assert set(problems) == {
        Problem("spec.replicas", 'expected integer, got string "3"'),
        Problem("spec.template.spec.containers[0].image", "expected string, got integer 42"),
    }


def test_unknown_field_suggests_the_close_name(registry: SchemaRegistry) -> None:
    obj = _obj("Deployment")
    obj["spec"]["replica"] = 3
    assert _problems(obj, registry) == (
        "invalid",
        (Problem("spec", 'unknown field "replica" (did you mean "replicas"?)'),),
    )


def test_unknown_field_passes_when_not_strict() -> None:
    obj = _obj("Deployment")
    obj["spec"]["replica"] = 3
    obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    lenient = SchemaRegistry(kubernetes_version="1.33", include_builtin_crds=False, strict=False)
    assert _problems(obj, lenient) == ("valid", ())


def test_missing_required_field(registry: SchemaRegistry) -> None:
    obj = _obj("Deployment")
    del obj["spec"]["template"]["spec"]["containers"]
    del obj["spec"]["selector"]
    status, problems = _problems(obj, registry)
    assert status == "invalid"
    assert set(problems) == {
        Problem("spec.template.spec", 'missing required field "containers"'),
        Problem("spec", 'missing required field "selector"'),
    }


def test_int_or_string(registry: SchemaRegistry) -> None:
    obj = _obj("Service")
    obj["spec"]["ports"][0]["targetPort"] = 8080
    obj["spec"]["ports"][1]["targetPort"] = "https"
    assert _problems(obj, registry) == ("valid", ())
    obj["spec"]["ports"][0]["targetPort"] = True
    obj["spec"]["ports"][1]["targetPort"] = {"port": 1}
    status, problems = _problems(obj, registry)
    assert status == "invalid"
    assert set(problems) == {
        Problem("spec.ports[0].targetPort", "expected string or integer, got boolean true"),
        Problem("spec.ports[1].targetPort", "expected string or integer, got object"),
    }


def test_quantities_accept_numbers_and_strings(registry: SchemaRegistry) -> None:
    obj = _obj("Pod")
    obj["spec"]["containers"][0]["resources"] = {"limits": {"cpu": 0.5, "memory": "1Gi"}}
    assert _problems(obj, registry) == ("valid", ())
    obj["spec"]["containers"][0]["resources"]["limits"]["cpu"] = [1]
    assert _problems(obj, registry) == (
        "invalid",
        (Problem("spec.containers[0].resources.limits.cpu", "expected string or number, got array"),),
    )


def test_label_keys_with_dots_are_quoted_in_paths(registry: SchemaRegistry) -> None:
    obj = _obj("ConfigMap")
    obj["metadata"]["labels"]["app.kubernetes.io/part-of"] = 7
    assert _problems(obj, registry) == (
        "invalid",
        (Problem('metadata.labels["app.kubernetes.io/part-of"]', "expected string, got integer 7"),),
    )


def test_missing_name_and_generate_name(registry: SchemaRegistry) -> None:
    obj = _obj("ConfigMap")
    del obj["metadata"]["name"]
    assert _problems(obj, registry) == (
        "invalid",
        (Problem("metadata", 'missing required field "name" (or "generateName")'),),
    )
    obj["metadata"]["generateName"] = "cm-"
    assert _problems(obj, registry) == ("valid", ())


def test_missing_api_version_or_kind_is_an_error(registry: SchemaRegistry) -> None:
    results = validate(
        documents({"kind": "ConfigMap", "metadata": {"name": "x"}}, {"apiVersion": "v1"}), registry=registry
    )
    assert [(r.status, r.problems) for r in results] == [
        ("error", (Problem("", 'missing required field "apiVersion"'),)),
        ("error", (Problem("", 'missing required field "kind"'),)),
    ]


def test_missing_schema_is_an_error_unless_ignored(registry: SchemaRegistry) -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    lookalike = {"apiVersion": "apps.example.com/v1", "kind": "Deployment", "metadata": {"name": "d"}}
    results = validate(documents(widget, lookalike), registry=registry)
    assert [(r.status, r.problems) for r in results] == [
        ("error", (Problem("", "no schema for example.com/v1 Widget"),)),
        ("error", (Problem("", "no schema for apps.example.com/v1 Deployment"),)),
    ]
    ignored = validate(documents(widget), registry=registry, ignore_missing_schemas=True)
    assert [(r.status, r.problems) for r in ignored] == [("skipped", ())]


def test_skip_kinds_by_kind_or_api_version_and_kind(registry: SchemaRegistry) -> None:
    bad_cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": 1}}
    bad_deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}
    results = validate(documents(bad_cm, bad_deploy), registry=registry, skip_kinds=["ConfigMap", "apps/v1/Deployment"])
    assert [r.status for r in results] == ["skipped", "skipped"]


def test_result_carries_identity_of_the_object(registry: SchemaRegistry) -> None:
    (result,) = validate(documents(_obj("Deployment"), source="d.yaml"), registry=registry)
    assert (result.source, result.line, result.api_version, result.kind, result.name, result.namespace) == (
        "d.yaml",
        1,
        "apps/v1",
        "Deployment",
        "web",
        "prod",
    )


def test_versions_are_normalized_and_unsupported_ones_rejected() -> None:
    versions = supported_kubernetes_versions()
    assert versions[0] == "1.25" and versions[-1] == "1.37" and len(versions) == 13
    assert normalize_kubernetes_version("v1.30") == normalize_kubernetes_version("1.30.4") == "1.30"
    for bad in ("1.24", "1.38", "latest", "2"):
        with pytest.raises(UsageError, match="1.25, 1.26.*1.37"):
            SchemaRegistry(kubernetes_version=bad)


def test_validators_are_cached_per_kind(registry: SchemaRegistry) -> None:
    assert registry.validator("apps/v1", "Deployment") is registry.validator("apps/v1", "Deployment")
    assert registry.validator("example.com/v1", "Widget") is None


def test_end_to_end_syntax_error_and_other_documents(registry: SchemaRegistry) -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {x: [1]}\n"
    )
    results = validate(load_documents(["-"], stdin=io.StringIO(text)), registry=registry)
    assert [(r.line, r.status) for r in results] == [(1, "valid"), (7, "error"), (9, "invalid")]
    assert "line 7" in results[1].problems[0].message
    assert results[2].problems == (Problem("data.x", "expected string, got array"),)


SECRET_VALUES = ("s3cr3t-P4ssw0rd", "c3VwZXJzZWNyZXQ=", "987654321")


def test_secret_values_never_appear_in_any_output(registry: SchemaRegistry) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "type": 123,
        "data": {"password": 987654321, "token": ["c3VwZXJzZWNyZXQ="], "ok": "c3VwZXJzZWNyZXQ="},
        "stringData": {"plain": {"value": "s3cr3t-P4ssw0rd"}, "other": True},
        "extra": "s3cr3t-P4ssw0rd",
    }
    results = validate(documents(secret), registry=registry)
    assert results[0].status == "invalid" and len(results[0].problems) >= 4
    rendered = "\n".join([format_text(results), format_json(results), format_junit(results), repr(results)])
    for value in SECRET_VALUES:
        assert value not in rendered
    assert 'unknown field "extra"' in rendered and "data.password: expected string, got integer" in rendered


def test_problems_never_dump_whole_objects(registry: SchemaRegistry) -> None:
    obj = _obj("Deployment")
    obj["spec"]["template"]["spec"]["containers"] = {"name": "web", "image": "nginx", "marker": "x" * 200}
    _, problems = _problems(obj, registry)
    assert problems == (Problem("spec.template.spec.containers", "expected array, got object"),)
    long = _obj("ConfigMap")
    long["data"]["big"] = 1
    long["kind"] = "ConfigMap"
    long["metadata"]["annotations"] = {"a": ["y" * 300]}
    _, problems = _problems(long, registry)
    assert all(len(p.message) < 120 for p in problems)
    assert json.dumps(problems[0].message).count("y") < 5
