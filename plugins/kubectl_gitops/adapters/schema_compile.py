"""Compiling JSON schemas into plain Python predicates that answer "is this valid?" fast.

Kubernetes schemas use a small subset of JSON Schema: ``type`` (often a list with
``null``), ``properties``, ``additionalProperties``, ``required``, ``items``, ``enum``,
``$ref``, ``oneOf`` and friends, plus annotations (``description``, ``format``, ``x-*``).
:func:`compile_schema` turns such a schema into nested closures that give exactly the
verdict ``jsonschema`` gives (same type rules, ``format`` not asserted, ``enum`` equality
that tells booleans from numbers), several times faster than ``jsonschema``'s
``is_valid``. Detailed errors are not produced here: on a failure the caller asks
``jsonschema`` for them.

A schema using a keyword this compiler does not implement raises :class:`Unsupported`;
the caller then uses ``jsonschema`` for that schema. References are followed through a
resolver the caller passes in (``referencing``'s fits), so this module imports no
JSON Schema library itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol


class Resolved(Protocol):
    """What resolving a ``$ref`` gives: the target schema and a resolver relative to it."""

    contents: Any
    resolver: Resolver


class Resolver(Protocol):
    """Resolves ``$ref``s relative to a base URI (``referencing.Resolver`` fits)."""

    def lookup(self, ref: str) -> Resolved: ...


# Given a resolver and a schema carrying ``$id``, the resolver relative to that schema.
EnterSchema = Callable[[Resolver, dict[str, Any]], Resolver]

Check = Callable[[Any], bool]

# Keywords the compiler implements; any other keyword the validator class asserts raises
# Unsupported, and everything else (annotations, x-kubernetes-*, unknown words) is ignored.
_IMPLEMENTED = frozenset(
    {
        "type",
        "properties",
        "additionalProperties",
        "required",
        "items",
        "enum",
        "const",
        "$ref",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "pattern",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "minProperties",
        "maxProperties",
        "format",
    }
)
_OLD_DRAFTS_REF_OVERRIDES = frozenset(
    {
        "http://json-schema.org/draft-03/schema#",
        "http://json-schema.org/draft-04/schema#",
        "http://json-schema.org/draft-06/schema#",
        "http://json-schema.org/draft-07/schema#",
    }
)


DIALECT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


class Unsupported(Exception):
    """The schema uses a keyword the compiler does not implement."""


def _is_integer(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    return isinstance(x, int) or (isinstance(x, float) and x.is_integer())


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


_TYPE_CHECKS: dict[str, Check] = {
    "string": lambda x: isinstance(x, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda x: isinstance(x, bool),
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "null": lambda x: x is None,
}
_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def _type_check(types: Any) -> Check:
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or any(t not in _TYPE_CHECKS for t in types):
        raise Unsupported("type")
    allows_null = "null" in types
    rest = [t for t in types if t != "null"]
    if all(t in _PY_TYPES for t in rest):
        classes = tuple(c for t in rest for c in _PY_TYPES[t])
        if allows_null:
            return lambda x: x is None or isinstance(x, classes)
        return lambda x: isinstance(x, classes)
    checks = [_TYPE_CHECKS[t] for t in types]
    if len(checks) == 1:
        return checks[0]
    return lambda x: any(c(x) for c in checks)


def json_equal(one: Any, two: Any) -> bool:
    """JSON equality as ``jsonschema`` defines it: booleans never equal numbers."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(json_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(json_equal(one[k], two[k]) for k in one)
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    return one == two


def _enum_check(values: Any) -> Check:
    if not isinstance(values, list):
        raise Unsupported("enum")
    if values and all(isinstance(v, str) for v in values):
        allowed = frozenset(values)
        return lambda x: isinstance(x, str) and x in allowed
    return lambda x: any(json_equal(x, v) for v in values)


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda x: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda x: a(x) and b(x)
    return lambda x: all(c(x) for c in checks)


class Compiler:
    """Compiles schemas reachable through one ``referencing`` registry, sharing results.

    Args:
        enter_schema: Returns the resolver to use inside a schema that has an ``$id``.
        dialect: The ``$schema`` of the schemas (draft 2020-12 unless they name another).
    """

    def __init__(self, *, enter_schema: EnterSchema, dialect: str = DIALECT_2020_12) -> None:
        self._enter_schema = enter_schema
        self._done: dict[int, Check] = {}
        self._cells: dict[int, list[Check | None]] = {}
        self._keep: list[Any] = []
        self._dialect = dialect

    def compile(self, schema: Any, resolver: Resolver) -> Check:
        """Return a predicate giving ``jsonschema``'s verdict for ``schema``.

        Args:
            schema: The schema (a dict or a boolean).
            resolver: Resolves the ``$ref``s found in it, relative to its base URI.

        Raises:
            Unsupported: The schema asserts a keyword the compiler does not implement.
        """
        if schema is True:
            return lambda x: True
        if schema is False:
            return lambda x: False
        if not isinstance(schema, dict):
            raise Unsupported("schema is not an object")
        key = id(schema)
        done = self._done.get(key)
        if done is not None:
            return done
        cell = self._cells.get(key)
        if cell is not None:  # recursion: refer to the result once it exists
            return lambda x: cell[0](x)  # type: ignore[misc]
        cell = [None]
        self._cells[key] = cell
        self._keep.append(schema)
        try:
            check = self._compile(schema, resolver)
        finally:
            del self._cells[key]
        cell[0] = check
        self._done[key] = check
        return check

    def _compile(self, schema: dict[str, Any], resolver: Resolver) -> Check:
        if "$id" in schema and isinstance(schema["$id"], str):
            resolver = self._enter_schema(resolver, schema)
        if "$ref" in schema and self._dialect in _OLD_DRAFTS_REF_OVERRIDES:
            schema = {"$ref": schema["$ref"]}
        for keyword in schema:
            if keyword not in _IMPLEMENTED and keyword in _ASSERTING:
                raise Unsupported(keyword)

        checks: list[Check] = []
        if "$ref" in schema:
            ref = schema["$ref"]
            if not isinstance(ref, str):
                raise Unsupported("$ref")
            resolved = resolver.lookup(ref)
            checks.append(self.compile(resolved.contents, resolved.resolver))
        if "type" in schema:
            checks.append(_type_check(schema["type"]))
        if "enum" in schema:
            checks.append(_enum_check(schema["enum"]))
        if "const" in schema:
            const = schema["const"]
            checks.append(lambda x: json_equal(x, const))
        object_check = self._object_check(schema, resolver)
        if object_check is not None:
            checks.append(object_check)
        if "items" in schema:
            items = schema["items"]
            if not isinstance(items, (dict, bool)):
                raise Unsupported("items")
            item = self.compile(items, resolver)
            checks.append(lambda x: not isinstance(x, list) or all(item(v) for v in x))
        checks.extend(self._combinators(schema, resolver))
        checks.extend(_scalar_limits(schema))
        return _all(checks)

    def _object_check(self, schema: dict[str, Any], resolver: Resolver) -> Check | None:
        props_schema = schema.get("properties", {})
        required = schema.get("required", [])
        extra = schema.get("additionalProperties", True)
        min_props = schema.get("minProperties")
        max_props = schema.get("maxProperties")
        if not isinstance(props_schema, dict) or not isinstance(required, list):
            raise Unsupported("properties")
        if not props_schema and not required and extra is True and min_props is None and max_props is None:
            return None
        props = {name: self.compile(sub, resolver) for name, sub in props_schema.items()}
        extra_check = None if extra is True else (False if extra is False else self.compile(extra, resolver))
        required_t = tuple(required)
        lo = min_props if isinstance(min_props, int) else None
        hi = max_props if isinstance(max_props, int) else None

        def check(x: Any) -> bool:
            if not isinstance(x, dict):
                return True
            for name, value in x.items():
                sub = props.get(name)
                if sub is not None:
                    if not sub(value):
                        return False
                elif extra_check is False:
                    return False
                elif extra_check is not None and not extra_check(value):
                    return False
            for name in required_t:
                if name not in x:
                    return False
            if lo is not None and len(x) < lo:
                return False
            return not (hi is not None and len(x) > hi)

        return check

    def _combinators(self, schema: dict[str, Any], resolver: Resolver) -> list[Check]:
        checks: list[Check] = []
        for keyword in ("allOf", "anyOf", "oneOf"):
            if keyword not in schema:
                continue
            branches = schema[keyword]
            if not isinstance(branches, list) or not branches:
                raise Unsupported(keyword)
            subs = [self.compile(b, resolver) for b in branches]
            if keyword == "allOf":
                checks.append(_all(subs))
            elif keyword == "anyOf":
                checks.append(lambda x, subs=subs: any(s(x) for s in subs))
            else:
                checks.append(lambda x, subs=subs: sum(1 for s in subs if s(x)) == 1)
        if "not" in schema:
            negated = self.compile(schema["not"], resolver)
            checks.append(lambda x: not negated(x))
        return checks


def _scalar_limits(schema: dict[str, Any]) -> list[Check]:
    checks: list[Check] = []
    if "pattern" in schema:
        try:
            regex = re.compile(schema["pattern"])
        except (re.error, TypeError) as e:
            raise Unsupported("pattern") from e
        checks.append(lambda x: not isinstance(x, str) or regex.search(x) is not None)
    limits = (
        ("minLength", str, lambda x, n: len(x) >= n),
        ("maxLength", str, lambda x, n: len(x) <= n),
        ("minItems", list, lambda x, n: len(x) >= n),
        ("maxItems", list, lambda x, n: len(x) <= n),
    )
    for keyword, cls, ok in limits:
        if keyword in schema:
            n = schema[keyword]
            if not _is_number(n):
                raise Unsupported(keyword)
            checks.append(lambda x, n=n, cls=cls, ok=ok: not isinstance(x, cls) or ok(x, n))
    if "minimum" in schema:
        lo = schema["minimum"]
        if not _is_number(lo):
            raise Unsupported("minimum")
        checks.append(lambda x: not _is_number(x) or x >= lo)
    if "maximum" in schema:
        hi = schema["maximum"]
        if not _is_number(hi):
            raise Unsupported("maximum")
        checks.append(lambda x: not _is_number(x) or x <= hi)
    return checks


_ASSERTING = frozenset(
    {
        "$dynamicRef",
        "$recursiveRef",
        "additionalItems",
        "additionalProperties",
        "allOf",
        "anyOf",
        "const",
        "contains",
        "dependencies",
        "dependentRequired",
        "dependentSchemas",
        "disallow",
        "divisibleBy",
        "enum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "extends",
        "if",
        "items",
        "maxContains",
        "maxItems",
        "maxLength",
        "maxProperties",
        "maximum",
        "minContains",
        "minItems",
        "minLength",
        "minProperties",
        "minimum",
        "multipleOf",
        "not",
        "oneOf",
        "pattern",
        "patternProperties",
        "prefixItems",
        "properties",
        "propertyNames",
        "required",
        "type",
        "unevaluatedItems",
        "unevaluatedProperties",
        "uniqueItems",
        "$ref",
    }
)
