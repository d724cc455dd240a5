"""Offline validation of Kubernetes objects against JSON schemas, like kubeconform.

This is the only module family that imports ``jsonschema`` and ``referencing``.

Where schemas come from, lowest priority first (a later source wins for the same
apiVersion and kind):

1. the builtin Kubernetes schemas for the chosen version, shipped in the
   ``kubernetes-validate`` package;
2. the CRD schemas shipped with kubectl-gitops (``schemas/crds/``), unless
   ``include_builtin_crds`` is False;
3. each ``schema_locations`` entry, in the order given: a directory in kubeconform's CRD
   layout (``{group}/{kind}_{version}.json``), a path template using kubeconform's
   placeholders, or ``default`` for the builtin Kubernetes schemas again.

Each (apiVersion, kind) is resolved once and its validator cached. A validator first asks
a compiled predicate (see :mod:`.schema_compile`) whether the object is valid; only when
it is not does ``jsonschema`` compute the detailed errors.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from kubectl_gitops.adapters.schema_compile import DIALECT_2020_12, Check, Compiler, Unsupported
from kubectl_gitops.adapters.schema_messages import translate
from kubectl_gitops.core.errors import ConfigError, UsageError
from kubectl_gitops.core.manifests import Document
from kubectl_gitops.core.resources import schemas_dir

Status = Literal["valid", "invalid", "error", "skipped"]

_SCHEMA_DIR_NAME = re.compile(r"^v(\d+)\.(\d+)\.\d+-local(-strict)?$")
_PLACEHOLDER = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")
_PLACEHOLDERS = frozenset(
    {
        "Group",
        "ResourceKind",
        "ResourceAPIVersion",
        "NormalizedKubernetesVersion",
        "KindSuffix",
        "StrictSuffix",
    }
)
_CRD_LAYOUT = "{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an object.

    Attributes:
        path: Dotted field path, e.g. ``spec.template.spec.containers[0].image``; empty for
            the object as a whole.
        message: What is wrong, e.g. ``expected integer, got string "3"``.
    """

    path: str
    message: str


@dataclass(frozen=True)
class ObjectResult:
    """The verdict on one object (or on one document that could not be read).

    Attributes:
        source: The file it came from, or ``stdin``.
        line: The 1-based line its document starts at.
        api_version: Its ``apiVersion`` ("" when missing).
        kind: Its ``kind`` ("" when missing).
        name: ``metadata.name`` (or ``generateName``), "" when missing.
        namespace: ``metadata.namespace``, "" when not set.
        status: ``valid``, ``invalid`` (the schema rejects it), ``error`` (unreadable, no
            apiVersion/kind, or no schema) or ``skipped``.
        problems: What is wrong; empty when valid or skipped.
    """

    source: str
    line: int
    api_version: str
    kind: str
    name: str
    namespace: str
    status: Status
    problems: tuple[Problem, ...] = ()


@cache
def _kubernetes_schema_root() -> Path:
    return Path(str(resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")))


@cache
def supported_kubernetes_versions() -> tuple[str, ...]:
    """The Kubernetes versions with builtin schemas, as ``1.25``..``1.37``, oldest first."""
    found = set()
    for entry in _kubernetes_schema_root().iterdir():
        match = _SCHEMA_DIR_NAME.match(entry.name)
        if match and entry.is_dir():
            found.add((int(match.group(1)), int(match.group(2))))
    return tuple(f"{major}.{minor}" for major, minor in sorted(found))


def normalize_kubernetes_version(version: str) -> str:
    """Return ``1.30`` for ``1.30``, ``v1.30`` or ``1.30.2``.

    Raises:
        UsageError: The version is malformed or has no builtin schemas.
    """
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", version.strip())
    supported = supported_kubernetes_versions()
    normalized = f"{match.group(1)}.{match.group(2)}" if match else version
    if normalized not in supported:
        raise UsageError(f"Kubernetes version {version!r} is not supported; supported versions: {', '.join(supported)}")
    return normalized


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` -> (``apps``, ``v1``); ``v1`` -> ("", ``v1``)."""
    group, _, version = api_version.rpartition("/")
    return group, version


class KindValidator:
    """Validates objects of one apiVersion and kind against one schema.

    Attributes:
        compiled: Whether the fast path is a compiled predicate (else ``jsonschema``'s
            ``is_valid``, for schemas using keywords the compiler does not implement).
    """

    def __init__(self, *, schema: dict[str, Any], registry: Registry, fast: Check | None) -> None:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        self._validator = cls(schema, registry=registry)
        self._fast = fast if fast is not None else self._validator.is_valid
        self.compiled = fast is not None

    def is_valid(self, obj: Any) -> bool:
        """Whether the schema accepts ``obj`` (the fast path)."""
        return self._fast(obj)

    def reference_is_valid(self, obj: Any) -> bool:
        """``jsonschema``'s own verdict on ``obj`` (slow; for cross-checking the fast path)."""
        return self._validator.is_valid(obj)

    def problems(self, obj: Any, *, redact: bool = False) -> tuple[Problem, ...]:
        """Everything the schema rejects in ``obj``; empty when it is valid.

        Args:
            obj: The object.
            redact: Never quote values in messages (the object holds secrets).
        """
        if self._fast(obj):
            return ()
        found: dict[Problem, None] = {}
        wrong_type: set[str] = set()
        for error in self._validator.iter_errors(obj):
            path, message = translate(error, redact=redact)
            if error.validator == "type":
                wrong_type.add(path)
            found[Problem(path, message)] = None
        # A value of the wrong type also fails its enum, pattern...: say only what matters.
        problems = tuple(p for p in found if p.path not in wrong_type or p.message.startswith("expected "))
        return problems or (Problem("", "does not match its schema"),)


class _Source:
    """Where to look for a schema: the builtin Kubernetes schemas or a path template."""

    def __init__(self, *, builtin: bool, template: str = "", label: str = "") -> None:
        self.builtin = builtin
        self.template = template
        self.label = label


class SchemaRegistry:
    """Finds and caches the validator for each (apiVersion, kind).

    Args:
        kubernetes_version: Target Kubernetes version, ``1.25`` to ``1.37`` (``v1.30`` and
            ``1.30.2`` are accepted too).
        schema_locations: Extra schema sources, later ones winning: a directory in kubeconform's
            CRD layout, a path template with ``{{.Group}}``, ``{{.ResourceKind}}`` (lower-case
            kind), ``{{.ResourceAPIVersion}}``, ``{{.NormalizedKubernetesVersion}}``,
            ``{{.KindSuffix}}`` or ``{{.StrictSuffix}}``, or ``default`` (the builtin schemas).
        include_builtin_crds: Also use the CRD schemas shipped in ``schemas/crds/``.
        strict: Reject fields a schema does not declare. CRD schemas that list properties get
            ``additionalProperties: false`` unless they say
            ``x-kubernetes-preserve-unknown-fields``.

    Raises:
        UsageError: Unsupported Kubernetes version, a remote location, an unknown placeholder,
            or a location that is neither a directory nor a template.

    Example:
        >>> registry = SchemaRegistry(kubernetes_version="1.30")
        >>> registry.validator("apps/v1", "Deployment").is_valid(obj)
    """

    def __init__(
        self,
        *,
        kubernetes_version: str,
        schema_locations: Sequence[str] = (),
        include_builtin_crds: bool = True,
        strict: bool = True,
    ) -> None:
        self.kubernetes_version = normalize_kubernetes_version(kubernetes_version)
        self.strict = strict
        sources = [_Source(builtin=True, label="default")]
        if include_builtin_crds:
            crds = schemas_dir() / "crds"
            sources.append(_Source(builtin=False, template=str(crds / _CRD_LAYOUT), label=str(crds)))
        sources.extend(_parse_location(location) for location in schema_locations)
        self._sources = tuple(reversed(sources))  # highest priority first
        suffix = "-strict" if strict else ""
        self._builtin_dir = _kubernetes_schema_root() / f"v{self.kubernetes_version}.0-local{suffix}"
        self._builtin_registry: Registry | None = None
        self._builtin_compiler = Compiler(enter_schema=_enter_schema)
        self._validators: dict[tuple[str, str], KindValidator | None] = {}

    def validator(self, api_version: str, kind: str) -> KindValidator | None:
        """The validator for this apiVersion and kind, or None when no source has a schema.

        Raises:
            ConfigError: A schema file exists but is not valid JSON.
        """
        key = (api_version, kind)
        try:
            return self._validators[key]
        except KeyError:
            pass
        found = None
        for source in self._sources:
            found = self._builtin(api_version, kind) if source.builtin else self._from_template(source, key)
            if found is not None:
                break
        self._validators[key] = found
        return found

    def _builtin(self, api_version: str, kind: str) -> KindValidator | None:
        group, version = split_api_version(api_version)
        prefix = f"-{group.split('.')[0]}" if group else ""
        path = self._builtin_dir / f"{kind.lower()}{prefix}-{version}.json"
        if not path.is_file():
            return None
        schema = _read_json(path)
        gvks = schema.get("x-kubernetes-group-version-kind") or []
        if not any(g.get("group") == group and g.get("version") == version and g.get("kind") == kind for g in gvks):
            return None
        registry = self._kubernetes_registry()
        uri = schema.get("$id") or path.as_uri()
        registry = registry.with_resource(uri, Resource.from_contents(schema, default_specification=DRAFT202012))
        try:
            fast = self._builtin_compiler.compile(schema, registry.resolver(base_uri=uri))
        except Unsupported:
            fast = None
        return KindValidator(schema=schema, registry=registry, fast=fast)

    def _kubernetes_registry(self) -> Registry:
        if self._builtin_registry is None:
            definitions = _read_json(self._builtin_dir / "_definitions.json")
            resource = Resource.from_contents(definitions, default_specification=DRAFT202012)
            self._builtin_registry = Registry().with_resource(definitions["$id"], resource)
        return self._builtin_registry

    def _from_template(self, source: _Source, key: tuple[str, str]) -> KindValidator | None:
        api_version, kind = key
        path = Path(
            _fill(
                source.template,
                api_version=api_version,
                kind=kind,
                kubernetes_version=self.kubernetes_version,
                strict=self.strict,
            )
        )
        if not path.is_file():
            return None
        schema = prepare_crd_schema(_read_json(path), strict=self.strict)
        uri = schema.get("$id") if isinstance(schema.get("$id"), str) else path.resolve().as_uri()
        resource = Resource.from_contents(schema, default_specification=DRAFT202012)
        registry = Registry().with_resource(uri, resource)
        dialect = schema.get("$schema") if isinstance(schema.get("$schema"), str) else DIALECT_2020_12
        try:
            fast = Compiler(enter_schema=_enter_schema, dialect=dialect).compile(
                schema, registry.resolver(base_uri=uri)
            )
        except Unsupported:
            fast = None
        except Exception as e:  # an unresolvable $ref in the file
            raise ConfigError(f"{path}: invalid schema: {e}") from e
        return KindValidator(schema=schema, registry=registry, fast=fast)


def _enter_schema(resolver: Any, schema: dict[str, Any]) -> Any:
    return resolver.in_subresource(Resource.from_contents(schema, default_specification=DRAFT202012))


def _parse_location(location: str) -> _Source:
    if location == "default":
        return _Source(builtin=True, label="default")
    if re.match(r"^[a-z][a-z0-9+.-]*://", location):
        raise UsageError(f"schema location {location}: only local files are supported (validation is offline)")
    if "{{" in location:
        unknown = {name for name in _PLACEHOLDER.findall(location)} - _PLACEHOLDERS
        if unknown:
            raise UsageError(
                f"schema location {location}: unknown placeholder {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(_PLACEHOLDERS))}"
            )
        return _Source(builtin=False, template=location, label=location)
    if Path(location).is_file():  # one JSON Schema for every object (kubeconform reads such a path the same way)
        return _Source(builtin=False, template=location, label=location)
    if not Path(location).is_dir():
        raise UsageError(f"schema location {location} is neither a directory, a JSON Schema file nor a path template")
    return _Source(builtin=False, template=str(Path(location) / _CRD_LAYOUT), label=location)


def _fill(template: str, *, api_version: str, kind: str, kubernetes_version: str, strict: bool) -> str:
    group_part, _, version = api_version.rpartition("/")
    group = group_part or version
    suffix = f"-{group.split('.')[0].lower()}" + (f"-{version.lower()}" if group_part else "")
    values = {
        "Group": group,
        "ResourceKind": kind.lower(),
        "ResourceAPIVersion": version,
        "NormalizedKubernetesVersion": f"v{kubernetes_version}.0",
        "KindSuffix": suffix,
        "StrictSuffix": "-strict" if strict else "",
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: cannot read schema: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a schema must be a JSON object")
    return data


def prepare_crd_schema(schema: dict[str, Any], *, strict: bool) -> dict[str, Any]:
    """Return a copy of a CRD schema with Kubernetes' structural rules made explicit.

    ``x-kubernetes-int-or-string: true`` without a type becomes ``anyOf`` integer or
    string. In strict mode, every object schema listing ``properties`` without
    ``additionalProperties`` or ``x-kubernetes-preserve-unknown-fields`` gets
    ``additionalProperties: false``.
    """
    schema = copy.deepcopy(schema)
    _prepare(schema, strict=strict)
    return schema


def _prepare(node: Any, *, strict: bool) -> None:
    if isinstance(node, list):
        for item in node:
            _prepare(item, strict=strict)
        return
    if not isinstance(node, dict):
        return
    if node.get("x-kubernetes-int-or-string") is True and not {"type", "anyOf", "oneOf"} & node.keys():
        node["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if (
        strict
        and isinstance(node.get("properties"), dict)
        and "additionalProperties" not in node
        and "patternProperties" not in node
        and node.get("x-kubernetes-preserve-unknown-fields") is not True
    ):
        node["additionalProperties"] = False
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            for sub in value.values():
                _prepare(sub, strict=strict)
        elif key in ("enum", "const", "default", "examples") or key.startswith("x-"):
            continue
        else:
            _prepare(value, strict=strict)


def _matches_skip(api_version: str, kind: str, skip: frozenset[str]) -> bool:
    return kind in skip or f"{api_version}/{kind}" in skip


def validate(
    documents: Iterable[Document],
    *,
    registry: SchemaRegistry,
    ignore_missing_schemas: bool = False,
    skip_kinds: Iterable[str] = (),
    reject_kinds: Iterable[str] = (),
) -> list[ObjectResult]:
    """Validate every document and return one result per object, in input order.

    Args:
        documents: Documents from :func:`kubectl_gitops.core.manifests.load_documents`.
        registry: Where schemas come from.
        ignore_missing_schemas: Report objects without a schema as ``skipped`` instead of
            ``error``.
        skip_kinds: Kinds (``Secret``) or apiVersion/kind (``apps/v1/Deployment``) not to
            validate; they are reported as ``skipped``.
        reject_kinds: Kinds or apiVersion/kind that are not allowed at all; reported as ``error``
            (kubeconform's ``-reject``).

    Returns:
        The results; documents that could not be parsed are ``error`` results.

    Example:
        >>> results = validate(load_documents(["k8s/"]), registry=SchemaRegistry(kubernetes_version="1.30"))
        >>> [r for r in results if r.status != "valid"]
    """
    skip = frozenset(skip_kinds)
    reject = frozenset(reject_kinds)
    return [_validate_one(doc, registry, ignore_missing_schemas, skip, reject) for doc in documents]


def _validate_one(doc: Document, registry: SchemaRegistry, ignore_missing: bool, skip: frozenset[str],
                  reject: frozenset[str] = frozenset()) -> ObjectResult:
    if doc.obj is None:
        return ObjectResult(
            doc.source, doc.line, "", "", "", "", "error", (Problem("", doc.error or "unreadable document"),)
        )
    obj = doc.obj
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    metadata = obj.get("metadata")
    name = namespace = ""
    if isinstance(metadata, dict):
        raw_name = metadata.get("name") or metadata.get("generateName")
        name = raw_name if isinstance(raw_name, str) else ""
        raw_ns = metadata.get("namespace")
        namespace = raw_ns if isinstance(raw_ns, str) else ""
    missing = [
        field
        for field, value in (("apiVersion", api_version), ("kind", kind))
        if not isinstance(value, str) or not value
    ]
    if missing:
        api = api_version if isinstance(api_version, str) else ""
        knd = kind if isinstance(kind, str) else ""
        problems = tuple(Problem("", f"missing required field {json.dumps(m)}") for m in missing)
        return ObjectResult(doc.source, doc.line, api, knd, name, namespace, "error", problems)

    def result(status: Status, problems: tuple[Problem, ...] = ()) -> ObjectResult:
        return ObjectResult(doc.source, doc.line, api_version, kind, name, namespace, status, problems)

    if reject and _matches_skip(api_version, kind, reject):
        return result("error", (Problem("", f"kind {kind} is rejected (--reject)"),))
    if skip and _matches_skip(api_version, kind, skip):
        return result("skipped")
    validator = registry.validator(api_version, kind)
    if validator is None:
        if ignore_missing:
            return result("skipped")
        return result("error", (Problem("", f"no schema for {api_version} {kind}"),))
    problems = validator.problems(obj, redact=kind == "Secret")
    if registry.strict and doc.duplicate_keys:
        problems += tuple(Problem("", f"duplicate key {key} (line {line})") for key, line in doc.duplicate_keys)
    if not name and not (isinstance(metadata, dict) and metadata.get("generateName")):
        problems += (Problem("metadata", 'missing required field "name" (or "generateName")'),)
    return result("invalid" if problems else "valid", problems)
