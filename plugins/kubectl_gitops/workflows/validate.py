"""`kubectl gitops validate`: prove every object is valid before anything touches a cluster.

Two modes:
- no paths: load gitops.yaml, map it to chart values for each install phase, render
  the umbrella chart with the real helm binary, and validate every rendered object;
- paths (files, directories, ``-``): validate plain manifests, like kubeconform.
Works offline, with no cluster and no token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from ..adapters import config_file, helm, schema
from ..core import inputs, manifests, values
from ..core.config import API_VERSION, DEFAULT_KUBERNETES_MINOR, KIND, Config
from ..core.errors import GitopsError, InputRejected
from ..core.progress import Reporter
from ..core.resources import chart_dir

_SOURCE = re.compile(r"^# Source: (?P<path>\S+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class ValidateOptions:
    """What to validate and how strictly.

    Attributes:
        paths: manifest files or directories (``-`` is stdin); empty means the platform of ``config``.
        config: path of gitops.yaml (used when ``paths`` is empty).
        kubernetes_version: target Kubernetes minor, e.g. ``1.34``; default: gitops.yaml's, else 1.34.
        schema_locations: extra schema directories or templates, as kubeconform's ``-schema-location``.
        ignore_missing_schemas: skip objects whose kind has no schema instead of failing them.
        strict: unknown fields are errors.
        helm: helm binary to render with (default: ``GITOPS_HELM`` or ``helm`` on PATH).
        chart: chart directory to render (default: the packaged gitops-platform chart).
        skip_kinds: kinds or apiVersion/kind not to validate (reported as skipped).
        reject_kinds: kinds or apiVersion/kind that are errors wherever they appear.
    """

    paths: tuple[str, ...] = ()
    config: str = "gitops.yaml"
    kubernetes_version: str | None = None
    schema_locations: tuple[str, ...] = ()
    ignore_missing_schemas: bool = False
    strict: bool = True
    helm: str | None = None
    chart: str | None = None
    skip_kinds: tuple[str, ...] = ()
    reject_kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class RenderedRelease:
    """One phase of the umbrella chart as it would be installed."""

    phase: str
    release: str
    namespace: str
    objects: int
    omitted_dependencies: tuple[str, ...]
    cluster: str | None = None  # a cluster that runs only apps (its phases ingress and edge); None: the platform's


@dataclass(frozen=True)
class ValidateReport:
    results: list[schema.ObjectResult]
    config: Config | None = None
    releases: tuple[RenderedRelease, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(r.status in ("valid", "skipped") for r in self.results)


def _chunks(rendered: str, release: str) -> Iterator[tuple[str, str]]:
    """Split helm's output into (source, text) pieces by its ``# Source:`` comments."""
    matches = list(_SOURCE.finditer(rendered))
    if not matches:
        yield release, rendered
        return
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(rendered)
        yield f"{release}:{match.group('path')}", rendered[match.end():end]


def _platform_documents(
    config: Config, opts: ValidateOptions, reporter: Reporter
) -> tuple[list[manifests.Document], tuple[RenderedRelease, ...]]:
    binary = helm.find_helm(opts.helm)
    documents: list[manifests.Document] = []
    rendered_releases = []
    kube_version = opts.kubernetes_version or config.kubernetes_minor
    renders = [(release, None) for release in values.releases(config)]
    renders += [(release, cluster) for cluster in values.workload_clusters(config)
                for release in values.workload_releases(config)]
    for release, cluster in renders:
        shown = f"{release.name} ({cluster})" if cluster else release.name
        reporter.action(f"rendering phase {release.phase} (release {shown})")
        result = helm.render(
            Path(opts.chart) if opts.chart else chart_dir(),
            release=release.name,
            namespace=release.namespace,
            values=values.chart_values(config, phase=release.phase, cluster=cluster),
            kube_version=kube_version,
            helm=binary,
        )
        docs = [d for source, text in _chunks(result.manifest_text, shown)
                for d in manifests.parse_documents(text, source=source)]
        documents.extend(docs)
        rendered_releases.append(
            RenderedRelease(
                phase=release.phase,
                release=release.name,
                namespace=release.namespace,
                objects=len(docs),
                omitted_dependencies=tuple(result.omitted_dependencies),
                cluster=cluster,
            )
        )
    return documents, tuple(rendered_releases)


def platform_config_path(paths: Sequence[str]) -> str | None:
    """The path, when ``paths`` is one file holding a gitops.yaml (``kind: Platform``), else None."""
    if len(paths) != 1 or paths[0] == "-" or not paths[0].lower().endswith((".yaml", ".yml")):
        return None
    path = Path(paths[0])
    if not path.is_file():
        return None
    import yaml

    try:
        text = inputs.read_text(path, error=InputRejected)
        data = inputs.load_yaml(text, source=paths[0], error=InputRejected)
    except (GitopsError, yaml.YAMLError):
        return None  # the manifest reader says what is wrong with it
    if isinstance(data, dict) and data.get("kind") == KIND and data.get("apiVersion") == API_VERSION:
        return paths[0]
    return None


def validate_platform(config: Config, opts: ValidateOptions, reporter: Reporter) -> ValidateReport:
    """Render every install phase of the chart for ``config`` and validate each object (what validate checks)."""
    if not config.tls.enabled:
        reporter.warning(f"{config.source}: tls: false serves every host over plain HTTP, so Argo CD's password and "
                         "session tokens cross the network in clear text; remove it to get HTTPS")
    documents, releases = _platform_documents(config, opts, reporter)
    registry = schema.SchemaRegistry(
        kubernetes_version=opts.kubernetes_version or config.kubernetes_minor,
        schema_locations=opts.schema_locations,
        strict=opts.strict,
    )
    results = schema.validate(documents, registry=registry, ignore_missing_schemas=opts.ignore_missing_schemas,
                              skip_kinds=opts.skip_kinds, reject_kinds=opts.reject_kinds)
    return ValidateReport(results=results, config=config, releases=releases)


def run(opts: ValidateOptions, *, stdin: TextIO | None = None, reporter: Reporter | None = None) -> ValidateReport:
    """Validate the platform of gitops.yaml, or the manifests at ``opts.paths``.

    One path holding a gitops.yaml (``kind: Platform``) is validated as the platform config,
    the same as ``--config PATH``.

    Raises:
        ConfigError: gitops.yaml or an input path is missing or invalid (exit 2).
        InputRejected: a manifest input is not UTF-8 text, or over a limit (exit 1).
        ToolError: helm is missing or too old; HelmError when rendering fails.
    """
    reporter = reporter or Reporter()
    config_path = platform_config_path(opts.paths)
    if config_path is not None:
        opts = replace(opts, paths=(), config=config_path)
    if not opts.paths:
        config = config_file.load(opts.config)
        reporter.success(f"{opts.config} is valid")
        return validate_platform(config, opts, reporter)
    documents = manifests.load_documents(opts.paths, stdin=stdin)
    registry = schema.SchemaRegistry(
        kubernetes_version=opts.kubernetes_version or DEFAULT_KUBERNETES_MINOR,
        schema_locations=opts.schema_locations,
        strict=opts.strict,
    )
    results = schema.validate(documents, registry=registry, ignore_missing_schemas=opts.ignore_missing_schemas,
                              skip_kinds=opts.skip_kinds, reject_kinds=opts.reject_kinds)
    return ValidateReport(results=results)
