"""Reading gitops.yaml: YAML with line numbers, the JSON Schema, and cross-field rules.

Every problem is collected before reporting, each as ``FILE:LINE path.to.field: message``,
so a user fixes the file in one pass. Raises :class:`ConfigError` (exit 2).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..core import config as model
from ..core import inputs
from ..core.defaults import MIN_KUBERNETES
from ..core.errors import ConfigError
from ..core.resources import schemas_dir
from . import schema_messages

Path_ = tuple[str | int, ...]


@cache
def config_schema() -> dict[str, Any]:
    """The JSON Schema of gitops.yaml (``schemas/gitops.schema.json``)."""
    return json.loads((schemas_dir() / "gitops.schema.json").read_text())


def _format_path(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


class _Positions:
    """Line numbers of every key and item in a composed YAML document."""

    def __init__(self) -> None:
        self.lines: dict[Path_, int] = {}
        self.duplicates: list[tuple[Path_, int]] = []

    def walk(self, node: yaml.Node, path: Path_ = ()) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                name = str(key.value)
                child = (*path, name)
                if name in seen:
                    self.duplicates.append((child, key.start_mark.line + 1))
                seen.add(name)
                self.lines[child] = key.start_mark.line + 1
                self.walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.walk(item, (*path, index))

    def line(self, path: Path_) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


def parse(text: str, *, source: str) -> tuple[Any, _Positions]:
    """Parse YAML text; syntax errors become a ConfigError naming the line."""
    try:
        node, loader = inputs.compose(text, loader=yaml.SafeLoader, source=source, error=ConfigError)
        data = inputs.construct(loader, node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        msg = f"{source}:{line} invalid YAML: {problem}"
        raise ConfigError(f"{source} is not valid YAML", problems=[msg]) from None
    positions = _Positions()
    if node is not None:
        positions.walk(node)
    return data, positions


def _schema_problems(data: Any, positions: _Positions, source: str) -> list[tuple[int, str]]:
    from jsonschema import Draft7Validator

    validator = Draft7Validator(config_schema())
    problems: list[tuple[int, str]] = []
    for error in validator.iter_errors(data):
        problems.extend(_describe(error, positions, source))
    return problems


def _describe(error: Any, positions: _Positions, source: str) -> list[tuple[int, str]]:
    path: Path_ = tuple(error.absolute_path)
    where = _format_path(path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted((error.schema.get("properties") or {}).keys())
        out = []
        for key in sorted(set(error.instance) - set(allowed)):
            hint = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            suggestion = f' (did you mean "{hint[0]}"?)' if hint else f" (allowed: {', '.join(allowed)})"
            key_path = (*path, key)
            out.append(
                (positions.line(key_path), f"{source}:{positions.line(key_path)} {_format_path(key_path)}: "
                 f'unknown key "{key}"{suggestion}')
            )
        return out
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [(positions.line(path), f"{source}:{positions.line(path)} {where}: missing required key "
                 f'"{missing}"')]
    if error.validator in {"oneOf", "anyOf"} and error.context:
        best = min(error.context, key=lambda e: len(list(e.absolute_path)) * -1)
        return _describe(best, positions, source)
    if error.validator == "propertyNames":
        return [(positions.line(path), f"{source}:{positions.line(path)} {where}: invalid name "
                 f"{error.instance!r}: {_short(error)}")]
    return [(positions.line(path), f"{source}:{positions.line(path)} {where}: {_short(error)}")]


def _short(error: Any) -> str:
    """The message for one schema error: the config's own wording for patterns, else the validator's."""
    if error.validator == "pattern":
        desc = error.schema.get("description") or f"must match {error.validator_value}"
        return f"{error.instance!r} is not valid: {desc[0].lower() + desc[1:]}"
    return schema_messages.translate(error, redact=False)[1]


def _cross_field_problems(data: dict[str, Any], positions: _Positions, source: str) -> list[tuple[int, str]]:
    """Rules that need more than one field: references, cycles, provider needs, tier size."""
    problems: list[tuple[int, str]] = []

    def add(path: Path_, message: str) -> None:
        line = positions.line(path)
        problems.append((line, f"{source}:{line} {_format_path(path)}: {message}"))

    clusters = data.get("clusters") or {}
    environments = data.get("environments") or {}
    apps = data.get("applications") or {}
    provider = data.get("provider")

    for ename, env in environments.items():
        if env.get("cluster") not in clusters:
            add(("environments", ename, "cluster"),
                f'unknown cluster "{env.get("cluster")}" (declared: {", ".join(sorted(clusters)) or "none"})')

    if provider == "digitalocean":
        if not data.get("region"):
            add(("provider",), 'provider digitalocean needs "region" (for example ams3)')
        if not data.get("registry"):
            add(("provider",), 'provider digitalocean needs "registry" (name and tier)')
        for cname, cluster in clusters.items():
            if "context" in cluster:
                add(("clusters", cname, "context"), "is set by bootstrap for provider digitalocean; remove it")
    elif provider == "existing":
        if len(clusters) > 1:
            for cname, cluster in clusters.items():
                if "context" not in cluster:
                    add(("clusters", cname), 'several existing clusters: each needs "context"')
        for cname, cluster in clusters.items():
            if "node_pool" in cluster:
                add(("clusters", cname, "node_pool"), "only applies to provider digitalocean")

    for cname, cluster in clusters.items():
        pool = cluster.get("node_pool") or {}
        auto = pool.get("autoscale")
        if auto and auto["min"] > auto["max"]:
            add(("clusters", cname, "node_pool", "autoscale"), f"min {auto['min']} is greater than max {auto['max']}")
        elif auto and "count" in pool and not auto["min"] <= pool["count"] <= auto["max"]:
            add(("clusters", cname, "node_pool", "count"),
                f"{pool['count']} is outside autoscale {auto['min']}..{auto['max']}")

    registry = data.get("registry") or {}
    if apps and not registry:
        add(("applications",), 'applications are built and pushed to a registry: add "registry" (name, and '
            "server for a registry other than DigitalOcean's)")
    capacity = model.REGISTRY_TIER_REPOSITORIES.get(registry.get("tier", "basic"))
    per_app = model.repositories_per_app(registry.get("layer_cache", True))
    if apps and capacity is not None and len(apps) * per_app > capacity:
        what = "an image and a layer cache" if per_app == 2 else "an image"
        add(("registry", "tier"),
            f'tier "{registry.get("tier", "basic")}" holds {capacity} repositor{"y" if capacity == 1 else "ies"} but '
            f"{len(apps)} application{'s' if len(apps) != 1 else ''} need {len(apps) * per_app} ({what} each): "
            "choose a larger tier" + (", or set registry.layer_cache to false" if per_app == 2 and len(apps) <= capacity
                                      else ""))

    version = str((data.get("kubernetes") or {}).get("version") or "")
    if version.count(".") == 1 and version.replace(".", "").isdigit() and \
            tuple(int(p) for p in version.split(".")) < MIN_KUBERNETES:
        add(("kubernetes", "version"), f"{version} is older than the platform supports: use "
            f"{MIN_KUBERNETES[0]}.{MIN_KUBERNETES[1]} or newer (Argo CD and the edge are tested from there)")
    tls = data.get("tls")
    if isinstance(tls, dict) and tls.get("challenge") == "dns01" and provider != "digitalocean":
        add(("tls", "challenge"), "dns01 solves through DigitalOcean DNS (provider digitalocean): use http01, "
            "or bring a certificate with tls.secret")
    if isinstance(tls, dict) and "/" in str(tls.get("secret", "")) and data.get("edge") != "gateway":
        add(("tls", "secret"), "an Ingress reads a certificate only from its own namespace: give the Secret's name "
            "(present in each Ingress's namespace), or use edge: gateway")
    if isinstance(tls, dict) and "secret" in tls and ("challenge" in tls or "issuer" in tls):
        add(("tls", "secret"), "a certificate you bring is used as is: remove issuer and challenge, or the secret")

    dashboard = (data.get("platform") or {}).get("tekton_dashboard") or {}
    if dashboard.get("expose") and not dashboard.get("auth_secret"):
        add(("platform", "tekton_dashboard", "expose"),
            'the dashboard has no login of its own: set "auth_secret" to an htpasswd Secret to expose it')

    for aname, app in apps.items():
        build_on = app.get("build_on") or {}
        if build_on.get("branch") and model.is_commit(app.get("revision", "main")):
            add(("applications", aname, "build_on", "branch"),
                "revision is a commit, which no push builds: set revision to a branch, or remove build_on.branch")
        for index, dep in enumerate(app.get("depends_on") or ()):
            if dep == aname:
                add(("applications", aname, "depends_on", index), "an application cannot depend on itself")
            elif dep not in apps:
                hint = difflib.get_close_matches(dep, list(apps), n=1)
                add(("applications", aname, "depends_on", index),
                    f'unknown application "{dep}"' + (f' (did you mean "{hint[0]}"?)' if hint else ""))
        for key in ("hosts", "replicas"):
            value = app.get(key)
            if isinstance(value, dict):
                for env in value:
                    if env not in environments:
                        add(("applications", aname, key, env),
                            f'unknown environment "{env}" (declared: {", ".join(sorted(environments))})')
    cycle = _find_cycle({a: [d for d in (v.get("depends_on") or ()) if d in apps and d != a] for a, v in apps.items()})
    if cycle:
        add(("applications", cycle[0], "depends_on"), "dependency cycle: " + " -> ".join(cycle))
    return problems


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def load_text(text: str, *, source: str) -> model.Config:
    """Parse and check gitops.yaml text; return the config or raise ConfigError with every problem."""
    data, positions = parse(text, source=source)
    problems: list[tuple[int, str]] = [
        (line, f"{source}:{line} {_format_path(path)}: duplicate key") for path, line in positions.duplicates
    ]
    if not isinstance(data, dict):
        problems.append((1, f"{source}:1 (top level): expected a mapping of settings, got "
                         f"{type(data).__name__ if data is not None else 'an empty file'}"))
    else:
        problems.extend(_schema_problems(data, positions, source))
        if not problems:
            problems.extend(_cross_field_problems(data, positions, source))
    if problems:
        ordered = [msg for _, msg in sorted(set(problems))]
        count = len(ordered)
        raise ConfigError(f"{source} has {count} problem{'s' if count != 1 else ''}", problems=ordered)
    return model.build(data, source=source)


def load(path: str | os.PathLike[str]) -> model.Config:
    """Load gitops.yaml from ``path``."""
    p = Path(path)
    if not p.exists() and not p.is_symlink():
        raise ConfigError(
            f"config file {p} not found",
            hint="run `kubectl gitops init` to write one, or pass --config / set GITOPS_CONFIG",
        )
    text = inputs.read_text(p, source=str(path), what="config file", error=ConfigError)
    return load_text(text, source=str(path))
