"""Checks requests and responses against DigitalOcean's public OpenAPI spec.

The spec is parsed once per process (it is 3.6 MB) and shared by every fake account.
openapi-core does not reject query parameters an operation does not declare, so that check is
done here as well. The Authorization header never reaches openapi-core or an error message: the
adapter passes a redacted placeholder when a bearer token is present.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from openapi_core import OpenAPI
from openapi_core.configurations import Config
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.security.exceptions import SecurityNotFound
from openapi_core.validation.request.exceptions import SecurityValidationError
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_FILE_NAME = "digitalocean-openapi.json"
_REDACTED = "Bearer [redacted]"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


class SpecViolation(AssertionError):
    """A request (or a response of the fake) that DigitalOcean's OpenAPI spec does not allow."""


@dataclass(frozen=True)
class Operation:
    """One operation of the spec: its path template and the query parameters it declares."""

    method: str
    template: str
    operation_id: str
    query_params: frozenset[str]
    regex: re.Pattern[str]
    literal_segments: int


class RequestAdapter:
    """What openapi-core needs to know of a request, built from a ``requests.PreparedRequest``."""

    def __init__(self, method: str, url: str, headers: dict[str, str], body: bytes | None):
        parts = urlsplit(url)
        self.host_url = f"{parts.scheme}://{parts.netloc}"
        # A server sees path parameters decoded (pydo sends "kubectl-gitops%3Ashop" for a tag
        # "kubectl-gitops:shop"); an encoded slash stays encoded so segments do not move.
        self.path = "%2F".join(unquote(piece) for piece in re.split("%2[fF]", parts.path))
        self.method = method.lower()
        self.body = body
        safe = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        if auth is not None and auth.lower().startswith("bearer ") and auth[7:].strip():
            safe["Authorization"] = _REDACTED
        self.content_type = safe.get("Content-Type") or safe.get("content-type") or "application/json"
        self.query_pairs = parse_qsl(parts.query, keep_blank_values=True)
        query: dict[str, list[str]] = {}
        for key, value in self.query_pairs:
            query.setdefault(key, []).append(value)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query),
            header=Headers(safe),
            cookie=ImmutableMultiDict(),
        )


class ResponseAdapter:
    """What openapi-core needs to know of a response the fake is about to return."""

    def __init__(self, status_code: int, headers: dict[str, str], data: bytes | None):
        self.status_code = status_code
        self.headers = Headers(headers)
        self.data = data or b""
        self.content_type = headers.get("Content-Type", "application/json")


def _template_regex(template: str) -> re.Pattern[str]:
    out = []
    for piece in re.split(r"(\{[^}]+\})", template):
        out.append("[^/]+" if piece.startswith("{") else re.escape(piece))
    return re.compile("".join(out))


class SpecChecker:
    """The parsed spec plus the checks the fake applies to each request and response."""

    def __init__(self, spec_path: Path):
        self.path = Path(spec_path)
        with self.path.open(encoding="utf-8") as fh:
            self.document: dict[str, Any] = json.load(fh)
        self.openapi = OpenAPI.from_dict(self.document, config=Config(spec_validator_cls=None))
        self.operations: list[Operation] = []
        for template, item in self.document["paths"].items():
            shared = item.get("parameters", [])
            for method, op in item.items():
                if method not in _METHODS:
                    continue
                names = set()
                for param in [*shared, *op.get("parameters", [])]:
                    param = self._resolve(param)
                    if param.get("in") == "query":
                        names.add(param["name"])
                literal = sum(1 for seg in template.split("/") if seg and not seg.startswith("{"))
                self.operations.append(
                    Operation(
                        method=method.upper(),
                        template=template,
                        operation_id=op.get("operationId", ""),
                        query_params=frozenset(names),
                        regex=_template_regex(template),
                        literal_segments=literal,
                    )
                )
        self.operations.sort(key=lambda o: -o.literal_segments)
        self._lock = threading.Lock()

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def find(self, method: str, path: str) -> Operation | None:
        """The operation serving ``method path`` (literal path segments win over parameters)."""
        for op in self.operations:
            if op.method == method.upper() and op.regex.fullmatch(path):
                return op
        return None

    def path_known(self, path: str) -> bool:
        return any(op.regex.fullmatch(path) for op in self.operations)

    def check_request(self, request: RequestAdapter, label: str) -> tuple[Operation | None, bool]:
        """Validate a request; returns its operation and whether a bearer token was presented.

        Raises:
            SpecViolation: naming the request and the spec's complaint.
        """
        op = self.find(request.method, request.path)
        if op is None:
            if self.path_known(request.path):
                raise SpecViolation(f"{label}: the spec has no {request.method.upper()} operation on this path")
            raise SpecViolation(f"{label}: path not found in the DigitalOcean OpenAPI spec")
        unknown = sorted({k for k, _ in request.query_pairs} - op.query_params)
        if unknown:
            allowed = ", ".join(sorted(op.query_params)) or "none"
            raise SpecViolation(
                f"{label} ({op.operation_id}): unknown query parameter(s) {unknown}; the spec allows: {allowed}"
            )
        try:
            with self._lock:
                self.openapi.validate_request(request)
        except SecurityValidationError as exc:
            if isinstance(exc.__cause__, SecurityNotFound) or "Security not found" in str(exc):
                return op, False
            raise SpecViolation(f"{label} ({op.operation_id}): {_describe(exc)}") from None
        except Exception as exc:  # openapi-core raises a family of validation errors
            raise SpecViolation(f"{label} ({op.operation_id}): {_describe(exc)}") from None
        return op, True

    def check_response(self, request: RequestAdapter, response: ResponseAdapter, label: str) -> None:
        """Validate a response the fake built against the operation's documented responses."""
        try:
            with self._lock:
                self.openapi.validate_response(request, response)
        except Exception as exc:
            raise SpecViolation(
                f"fake response {response.status_code} to {label} does not match the spec: {_describe(exc)}"
            ) from None


def _describe(exc: BaseException) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    seen = {id(exc)}
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        errors = getattr(cause, "schema_errors", None)
        if errors:
            parts.append("; ".join(_schema_error_text(e) for e in errors))
        else:
            parts.append(f"{type(cause).__name__}: {cause}")
        cause = cause.__cause__ or cause.__context__
    return " <- ".join(parts)


def _schema_error_text(err: Any) -> str:
    where = "/".join(str(p) for p in getattr(err, "absolute_path", []) or [])
    message = getattr(err, "message", str(err))
    return f"{where}: {message}" if where else message


_CACHE: dict[Path, SpecChecker] = {}
_CACHE_LOCK = threading.Lock()


def load_spec(spec_path: Path) -> SpecChecker:
    """The process-wide checker for ``spec_path`` (parsed on first use)."""
    key = Path(spec_path).resolve()
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = SpecChecker(key)
        return _CACHE[key]
