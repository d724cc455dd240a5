"""`kubectl gitops init`: write a commented gitops.yaml from answers.

The text is checked with the same loader every other command uses before it is
written, so init never leaves an invalid file behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..adapters import config_file
from ..core.config import API_VERSION, DEFAULT_KUBERNETES_MINOR, KIND, Config
from ..core.errors import ConfigError, HelmError, ToolError
from ..core.files import write_atomic
from ..core.progress import Reporter
from . import validate


@dataclass(frozen=True)
class InitOptions:
    """Answers for a new gitops.yaml."""

    path: Path
    name: str
    provider: str
    domain: str
    gitops_repo: str
    region: str | None = None
    registry: str | None = None
    registry_tier: str = "basic"
    registry_server: str | None = None
    environments: tuple[str, ...] = ("dev",)
    shared_cluster: bool = True
    context: str | None = None
    gitops_branch: str = "main"
    gitops_path: str = "platform"
    kubernetes_version: str = DEFAULT_KUBERNETES_MINOR
    applications: tuple[tuple[str, str], ...] = ()
    force: bool = False
    helm: str | None = None


@dataclass(frozen=True)
class InitResult:
    path: Path
    overwritten: bool
    applications: int
    environments: tuple[str, ...]


def _q(value: str) -> str:
    """A YAML scalar for ``value`` (JSON strings are valid YAML)."""
    return json.dumps(value)


def render(opts: InitOptions) -> str:
    """The commented gitops.yaml text for these answers."""
    do = opts.provider == "digitalocean"
    lines = [
        "# Platform config for kubectl-gitops. Check it with `kubectl gitops validate`;",
        "# every key is described in the schema (schemas/gitops.schema.json).",
        f"apiVersion: {API_VERSION}",
        f"kind: {KIND}",
        "# Prefixes cluster names and tags every cloud resource, so teardown finds exactly these.",
        f"name: {_q(opts.name)}",
        "# digitalocean: bootstrap creates clusters, load balancer, registry and DNS records.",
        "# existing: bootstrap installs onto clusters you already have (kube contexts).",
        f"provider: {opts.provider}",
    ]
    if opts.region:
        lines += ["# DigitalOcean region of the clusters and load balancers.", f"region: {_q(opts.region)}"]
    shared = opts.shared_cluster or not do  # existing clusters: one context here, more by editing the file
    lines += [
        "# Argo CD is served at argo.<domain>; applications at the hosts they declare.",
        f"domain: {_q(opts.domain)}",
        "# Envoy Gateway (Gateway API, maintained): ingress-nginx is retired upstream since March 2026.",
        "edge: gateway",
        "kubernetes:",
        "  # Minor version; new clusters get its newest patch.",
        f"  version: {_q(opts.kubernetes_version)}",
    ]
    if opts.registry:
        lines += [
            "# Container registry for the images Tekton builds (one per DigitalOcean account).",
            "registry:",
            f"  name: {_q(opts.registry)}",
            "  # starter: 1 repository, basic: 5, professional: unlimited (one repository per application).",
            f"  tier: {opts.registry_tier}",
        ]
        if opts.registry_server:
            lines += ["  # Registry host (a registry other than DigitalOcean's; push credentials: "
                      "bootstrap --registry-auth).", f"  server: {_q(opts.registry_server)}"]
    lines += ["# Clusters by name; environments point at them (a shared cluster separates them by namespace).",
              "clusters:"]
    for cname in ["main"] if shared else list(opts.environments):
        if do:
            lines += [f"  {cname}:", "    node_pool:", "      size: s-2vcpu-4gb", "      count: 2"]
        elif opts.context:
            lines += [f"  {cname}:", f"    context: {_q(opts.context)}"]
        else:
            lines.append(f"  {cname}: {{}}  # the current kube context")
    lines += [
        "# dev deploys every build automatically; other environments change only on `kubectl gitops promote`.",
        "environments:",
    ]
    for env in opts.environments:
        cname = "main" if shared else env
        sync = "automated" if env == "dev" else "manual"
        namespace = _q(f"{opts.name}-{env}")
        lines += [f"  {env}:", f"    cluster: {cname}", f"    namespace: {namespace}", f"    sync: {sync}"]
    lines += [
        "# The Git repository Argo CD syncs from.",
        "gitops:",
        f"  repo: {_q(opts.gitops_repo)}",
        f"  branch: {_q(opts.gitops_branch)}",
        f"  path: {_q(opts.gitops_path)}",
    ]
    if opts.applications:
        lines += ["# Applications Tekton builds and Argo CD deploys.", "applications:"]
        for app, git in opts.applications:
            lines += [
                f"  {app}:",
                f"    git: {_q(git)}",
                "    revision: main",
                "    context: .",
                "    dockerfile: Dockerfile",
                "    port: 8080",
                "    hosts:",
            ]
            for env in opts.environments:
                public = env == "prod" or len(opts.environments) == 1
                host = f"{app}.{opts.domain}" if public else f"{app}.{env}.{opts.domain}"
                lines.append(f"      {env}: {_q(host)}")
            lines.append("    # depends_on: [other-app]   # deployed only after these are healthy")
    else:
        lines += ["# Applications Tekton builds and Argo CD deploys, for example:", "# applications:",
                  "#   web:", "#     git: https://github.com/you/web", "#     port: 8080",
                  "#     hosts: {dev: web.dev.example.com}"]
    return "\n".join(lines) + "\n"


def run(opts: InitOptions, *, reporter: Reporter | None = None) -> InitResult:
    """Write gitops.yaml; refuse to replace an existing file unless ``force``.

    Raises:
        ConfigError: the answers do not make a valid config (every problem listed).
        UsageError: the file exists and ``force`` is false.
    """
    reporter = reporter or Reporter()
    text = render(opts)
    try:
        config = config_file.load_text(text, source=str(opts.path))
    except ConfigError as exc:
        raise ConfigError("the answers do not make a valid config", problems=exc.problems) from None
    _check_platform(config, opts, reporter)
    existed = opts.path.exists()
    write_atomic(opts.path, text, overwrite=opts.force)
    reporter.success(f"wrote {opts.path}")
    return InitResult(path=opts.path, overwritten=existed, applications=len(opts.applications),
                      environments=opts.environments)


def _check_platform(config: Config, opts: InitOptions, reporter: Reporter) -> None:
    """What ``kubectl gitops validate`` checks next: every phase of the chart rendered with these answers and
    every object validated. Without helm that part is left to validate, and init says so."""
    try:
        report = validate.validate_platform(config, validate.ValidateOptions(helm=opts.helm), Reporter())
    except ToolError as exc:
        if isinstance(exc, HelmError):
            raise ConfigError("the answers do not make a platform the chart accepts",
                              problems=[str(exc)]) from None
        reporter.warning(f"the chart was not rendered ({exc}); run `kubectl gitops validate` once helm is installed")
        return
    if not report.ok:
        problems = [f"{r.source}: {r.kind} {r.name}: "
                    + ("; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in r.problems) or r.status)
                    for r in report.results if r.status not in ("valid", "skipped")]
        raise ConfigError("the answers make a platform with invalid objects", problems=problems)
