"""The compiled fast path gives exactly jsonschema's verdict.

Checked on small schemas exercising each keyword, and on a few hundred deterministic
mutations of real objects against the builtin Kubernetes schemas (strict and not).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from kubectl_gitops.adapters.schema import SchemaRegistry
from kubectl_gitops.adapters.schema_compile import Compiler, Unsupported
from test_schema_corpus import VALID_OBJECTS
from test_schema_crds import ARGO_APP, write_kubeconform_layout

INSTANCES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    3,
    3.0,
    3.5,
    -1,
    "",
    "3",
    "abc",
    "ABC",
    [],
    [1],
    ["a", "b"],
    ["a", "a"],
    {},
    {"a": 1},
    {"a": "x"},
    {"a": "x", "b": 2},
    {"b": None},
    {"a": {"a": {"a": "x"}}},
    {"a": [1, "x"]},
]

SCHEMAS: list[Any] = [
    True,
    False,
    {"type": "integer"},
    {"type": "number"},
    {"type": ["string", "null"]},
    {"type": ["object", "array"]},
    {"type": "boolean"},
    {"enum": [1, True, None, "a", [1]]},
    {"enum": ["abc", "3"]},
    {"enum": []},
    {"const": 1},
    {"const": {"a": 1}},
    {"not": {"type": "string"}},
    {"oneOf": [{"type": ["string", "null"]}, {"type": ["integer", "null"]}]},
    {"anyOf": [{"type": "string"}, {"type": "number"}]},
    {"allOf": [{"type": "object"}, {"required": ["a"]}]},
    {"properties": {"a": {"type": "string"}}, "additionalProperties": False},
    {"properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "integer"}, "required": ["a"]},
    {"type": "object", "minProperties": 1, "maxProperties": 1},
    {"items": {"type": "string"}, "minItems": 1, "maxItems": 1},
    {"items": False},
    {"type": "string", "pattern": "^[a-z]+$", "minLength": 1, "maxLength": 3},
    {"minimum": 1, "maximum": 3},
    {"format": "int32", "description": "annotations only", "x-kubernetes-int-or-string": True},
    {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"a": {"$ref": "#/$defs/node"}},
                "additionalProperties": {"type": "string"},
            }
        },
        "$ref": "#/$defs/node",
    },
    {"$ref": "#/$defs/s", "type": "string", "$defs": {"s": {"minLength": 2}}},
    {
        "$defs": {"inner": {"$id": "urn:inner", "$ref": "#/$defs/x", "$defs": {"x": {"type": "integer"}}}},
        "properties": {"a": {"$ref": "#/$defs/inner"}},
    },
]


def _compile(schema: Any) -> Any:
    resource = Resource.from_contents(schema if isinstance(schema, dict) else {}, default_specification=DRAFT202012)
    uri = "urn:test"
    registry = Registry().with_resource(uri, resource) if isinstance(schema, dict) else Registry()
    compiler = Compiler(
        enter_schema=lambda resolver, sub: resolver.in_subresource(
            Resource.from_contents(sub, default_specification=DRAFT202012)
        )
    )
    return compiler.compile(schema, registry.resolver(base_uri=uri))


@pytest.mark.parametrize("schema", SCHEMAS, ids=[str(i) for i in range(len(SCHEMAS))])
def test_compiled_keywords_match_jsonschema(schema: Any) -> None:
    check = _compile(schema)
    reference = jsonschema.Draft202012Validator(schema)
    for instance in INSTANCES:
        assert check(instance) == reference.is_valid(instance), instance


def test_unimplemented_keywords_are_reported() -> None:
    for schema in ({"patternProperties": {"^a": {}}}, {"uniqueItems": True}, {"properties": {"a": {"if": {}}}}):
        with pytest.raises(Unsupported):
            _compile(schema)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _paths(sub, (*path, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _paths(sub, (*path, index))


REPLACEMENTS: list[Any] = ["3", 3, 3.0, 2.5, True, None, [], {}, ["x"], {"a": 1}, "Always", -1]


def _mutate(obj: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    mutated = copy.deepcopy(obj)
    path = rng.choice([p for p in _paths(mutated) if len(p) >= 1])
    parent = mutated
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    action = rng.choice(["replace", "replace", "delete", "add", "rename"])
    if action == "replace" or isinstance(parent, list):
        parent[last] = copy.deepcopy(rng.choice(REPLACEMENTS))
    elif action == "delete":
        del parent[last]
    elif action == "add":
        target = parent[last] if isinstance(parent[last], dict) else parent
        target["unexpectedField"] = rng.choice(REPLACEMENTS)
    else:
        parent[str(last)[:-1] or "x"] = parent.pop(last)
    return mutated


def _corpus(count_per_object: int) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(original, mutated) pairs; the original is included as its own mutation."""
    rng = random.Random(20240601)
    for obj in VALID_OBJECTS:
        yield obj, obj
        for _ in range(count_per_object):
            yield obj, _mutate(obj, rng)


@pytest.mark.parametrize("strict", [True, False])
def test_fast_path_verdicts_equal_jsonschema_on_mutated_objects(strict: bool) -> None:
    registry = SchemaRegistry(kubernetes_version="1.33", include_builtin_crds=False, strict=strict)
    verdicts = []
    for original, obj in _corpus(20):
        validator = registry.validator(original["apiVersion"], original["kind"])
        assert validator is not None and validator.compiled
        fast, reference = validator.is_valid(obj), validator.reference_is_valid(obj)
        assert fast == reference, obj
        if not fast:
            problems = validator.problems(obj)
            assert problems and problems[0].message != "does not match its schema"
        verdicts.append(fast)
    assert len(verdicts) >= 380
    assert 0.15 < verdicts.count(False) / len(verdicts) < 0.95  # the corpus exercises both outcomes


def test_fast_path_verdicts_equal_jsonschema_on_upstream_crds(shared_reference: Path, tmp_path: Path) -> None:
    write_kubeconform_layout(sorted((shared_reference / "crds").glob("argo-cd-*/*.yaml")), tmp_path)
    registry = SchemaRegistry(kubernetes_version="1.33", schema_locations=[str(tmp_path)], include_builtin_crds=False)
    validator = registry.validator(ARGO_APP["apiVersion"], ARGO_APP["kind"])
    assert validator is not None and validator.compiled
    rng = random.Random(7)
    verdicts = [validator.is_valid(ARGO_APP)]
    for _ in range(150):
        obj = _mutate(ARGO_APP, rng)
        assert validator.is_valid(obj) == validator.reference_is_valid(obj), obj
        verdicts.append(validator.is_valid(obj))
    assert verdicts[0] and not all(verdicts)
