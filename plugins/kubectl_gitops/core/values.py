"""gitops.yaml to chart values: one function per install phase, no I/O.

The umbrella chart installs in two releases from the same chart (see the chart
README, "Phases and CRD ordering"): ``platform`` brings the dependency charts and
their CRDs, ``gitops`` the objects that need those CRDs. The dependency
``enabled`` flags are the Chart.yaml conditions, so each phase sets them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import Config

PHASES = ("platform", "gitops")
DEPENDENCIES = ("argo-cd", "ingress-nginx", "tekton-operator")
IN_CLUSTER = "https://kubernetes.default.svc"
# gitops.yaml `versions` keys that are chart values (the chart versions are Chart.yaml's)
_IMAGE_OVERRIDES = {"kaniko_image": "kanikoImage", "golang_image": "golangImage"}
CHART_VERSION_OVERRIDES = {
    "argo_cd_chart": "argo-cd",
    "ingress_nginx_chart": "ingress-nginx",
    "tekton_operator_chart": "tekton-operator",
}


@dataclass(frozen=True)
class Release:
    """One helm release of the umbrella chart."""

    phase: str
    name: str
    namespace: str


def releases(config: Config) -> tuple[Release, ...]:
    """The releases bootstrap installs, in order."""
    return tuple(Release(phase=p, name=f"{config.name}-{p}", namespace="argocd") for p in PHASES)


def argocd_cluster_name(config: Config, cluster: str) -> str:
    """Name under which a cluster other than the management cluster is registered in Argo CD."""
    return f"{config.name}-{cluster}"


def chart_values(
    config: Config,
    *,
    phase: str,
    load_balancer_id: str | None = None,
) -> dict[str, Any]:
    """Chart values for ``phase`` of ``config``.

    Args:
        config: the loaded gitops.yaml.
        phase: ``platform`` or ``gitops``.
        load_balancer_id: DigitalOcean load balancer the ingress controller adopts.
    """
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}")
    management = config.management_cluster.name
    environments = []
    for env in config.environments:
        destination = (
            {"server": IN_CLUSTER} if env.cluster == management else {"name": argocd_cluster_name(config, env.cluster)}
        )
        environments.append(
            {
                "name": env.name,
                "namespace": env.namespace,
                "destination": destination,
                "syncPolicy": {"automated": env.automated, "prune": env.automated, "selfHeal": env.automated},
            }
        )
    waves = config.sync_waves()
    apps = []
    for app in config.applications:
        entry: dict[str, Any] = {
            "name": app.name,
            "repoURL": app.git,
            "targetRevision": app.revision,
            "context": app.context,
            "dockerfile": app.dockerfile,
            "goBuild": {"enabled": app.go_package is not None, "package": app.go_package or "./..."},
            "port": app.port,
            "replicas": app.default_replicas,
            "hosts": dict(app.hosts),
            "dependsOn": list(app.depends_on),
            "syncWave": waves[app.name],
        }
        apps.append(entry)
    annotations: dict[str, str] = {}
    if load_balancer_id:
        annotations["kubernetes.digitalocean.com/load-balancer-id"] = str(load_balancer_id)
    enabled = phase == "platform"
    values: dict[str, Any] = {
        "phase": phase,
        "platform": {"name": config.name, "domain": config.domain},
        "environments": environments,
        "registry": {"server": config.registry.url if config.registry else ""},
        "ingress": {
            "argocd": {"enabled": True, "host": f"argo.{config.domain}"},
            "tektonDashboard": {
                "enabled": config.dashboard_expose,
                "host": f"tekton.{config.domain}",
                "auth": {"secretName": config.dashboard_auth_secret or ""},
            },
        },
        "gitops": {
            "repoURL": config.gitops.repo,
            "targetRevision": config.gitops.branch,
            "path": config.gitops.path,
        },
        "apps": apps,
        "tekton": {"pruner": {"keep": config.pipeline_runs_to_keep}},
        "argo-cd": {"enabled": enabled},
        "ingress-nginx": {"enabled": enabled, "controller": {"service": {"annotations": annotations}}},
        "tekton-operator": {"enabled": enabled},
    }
    images = {_IMAGE_OVERRIDES[k]: v for k, v in config.versions if k in _IMAGE_OVERRIDES}
    if images:
        values["versions"] = images
    return values


def chart_version_overrides(config: Config) -> dict[str, str]:
    """Dependency chart versions gitops.yaml overrides, by dependency name."""
    return {CHART_VERSION_OVERRIDES[k]: v for k, v in config.versions if k in CHART_VERSION_OVERRIDES}
