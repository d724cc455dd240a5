"""Turning ``jsonschema`` errors into short messages a person can act on.

Messages name the field and what was expected; they quote a value only when it is a
short scalar, and never for a Secret (its ``data`` and ``stringData`` values are the
secret). ``jsonschema``'s own messages are not used: they embed the whole instance.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")
_MAX_VALUE_CHARS = 40
_MAX_ENUM_SHOWN = 8


def field_path(parts: Iterable[str | int]) -> str:
    """Format a path as ``spec.template.spec.containers[0].image``.

    Keys that are not plain identifiers are quoted: ``metadata.labels["app.kubernetes.io/name"]``.
    """
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


def json_type(value: Any) -> str:
    """The JSON type name of a parsed YAML/JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def describe(value: Any, *, redact: bool) -> str:
    """``string "3"``, ``integer 3``, ``object``: a value's type and, if short and allowed, the value."""
    kind = json_type(value)
    if redact or value is None or isinstance(value, (dict, list)):
        return kind
    if isinstance(value, bool):
        return f"{kind} {'true' if value else 'false'}"
    if isinstance(value, (int, float)):
        return f"{kind} {value}"
    if isinstance(value, str):
        shown = value if len(value) <= _MAX_VALUE_CHARS else value[: _MAX_VALUE_CHARS - 3] + "..."
        return f"{kind} {json.dumps(shown)}"
    return kind


def _types_of(schema: Any) -> list[str] | None:
    """The types a schema allows when it constrains nothing but the type, else None."""
    if not isinstance(schema, dict):
        return None
    asserting = [k for k in schema if k not in ("description", "format", "title") and not k.startswith("x-")]
    if asserting != ["type"]:
        return None
    types = schema["type"]
    return [types] if isinstance(types, str) else list(types)


def _expected(types: Sequence[str]) -> str:
    shown = [t for t in types if t != "null"] or list(types)
    unique = list(dict.fromkeys(shown))
    return " or ".join(unique)


def translate(error: Any, *, redact: bool) -> tuple[str, str]:
    """Return (field path, message) for one ``jsonschema`` error.

    Args:
        error: A ``jsonschema.ValidationError``, as yielded by ``iter_errors``.
        redact: Never include the offending value (the object is a Secret).
    """
    path = list(error.absolute_path)
    keyword = error.validator
    value = error.validator_value
    instance = error.instance
    if keyword == "required" and isinstance(instance, dict):
        missing = [name for name in value if name not in instance]
        return field_path(path), "missing required field " + ", ".join(json.dumps(m) for m in missing)
    if keyword == "additionalProperties" and isinstance(instance, dict):
        known = list(error.schema.get("properties", {})) if isinstance(error.schema, dict) else []
        unknown = [name for name in instance if name not in known]
        messages = []
        for name in unknown:
            close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            messages.append(f"unknown field {json.dumps(str(name))}{hint}")
        return field_path(path), "; ".join(messages) or "unknown field"
    if keyword == "type":
        types = [value] if isinstance(value, str) else list(value)
        return field_path(path), f"expected {_expected(types)}, got {describe(instance, redact=redact)}"
    if keyword == "enum":
        allowed = ", ".join(json.dumps(v) for v in value[:_MAX_ENUM_SHOWN])
        more = ", ..." if len(value) > _MAX_ENUM_SHOWN else ""
        return field_path(path), f"must be one of {allowed}{more}; got {describe(instance, redact=redact)}"
    if keyword == "const":
        return field_path(path), f"must be {json.dumps(value)}; got {describe(instance, redact=redact)}"
    if keyword in ("oneOf", "anyOf"):
        return _combinator(error, path, redact=redact)
    if keyword == "pattern":
        return field_path(path), f"{describe(instance, redact=redact)} does not match pattern {json.dumps(value)}"
    limits = {
        "minLength": "must be at least {} characters long",
        "maxLength": "must be at most {} characters long",
        "minItems": "must have at least {} items",
        "maxItems": "must have at most {} items",
        "minProperties": "must have at least {} fields",
        "maxProperties": "must have at most {} fields",
        "minimum": "must be at least {}",
        "maximum": "must be at most {}",
        "exclusiveMinimum": "must be greater than {}",
        "exclusiveMaximum": "must be less than {}",
        "multipleOf": "must be a multiple of {}",
    }
    if keyword in limits:
        return field_path(path), f"{limits[keyword].format(value)}; got {describe(instance, redact=redact)}"
    if keyword is None or error.schema is False:
        return field_path(path), "field not allowed"
    if keyword == "uniqueItems":
        return field_path(path), "items must be unique"
    return field_path(path), f"does not satisfy {keyword}"


def _most_specific(errors: Sequence[Any]) -> Any:
    """The error that got furthest into the object (deepest path; the earliest on a tie)."""
    best = errors[0]
    for error in errors[1:]:
        if len(error.absolute_path) > len(best.absolute_path):
            best = error
    return best


def _combinator(error: Any, path: list[str | int], *, redact: bool) -> tuple[str, str]:
    branches = error.validator_value if isinstance(error.validator_value, list) else []
    branch_types = [_types_of(b) for b in branches]
    if branch_types and all(t is not None for t in branch_types):
        types = [t for group in branch_types for t in group]  # type: ignore[union-attr]
        return field_path(path), f"expected {_expected(types)}, got {describe(error.instance, redact=redact)}"
    if error.context:
        return translate(_most_specific(error.context), redact=redact)
    if error.validator == "oneOf":
        return field_path(path), "matches more than one of the allowed forms"
    return field_path(path), "matches none of the allowed forms"
