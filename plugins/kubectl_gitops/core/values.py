"""gitops.yaml to chart values, and what to wait for after each install phase; no I/O.

The umbrella chart installs as four releases of the same chart, in this order (see the chart
README, "Phases and CRD ordering"):

1. ``platform`` (namespace argocd) brings Argo CD, the edge (ingress-nginx, or Envoy Gateway with
   the Gateway API CRDs) and cert-manager with their CRDs, and our plain Kubernetes objects;
2. ``operator`` (namespace tekton-operator) brings the Tekton operator alone, with its CRDs: its
   chart puts everything in the release namespace, so it needs a release of its own to keep it
   out of Argo CD's namespace;
3. ``tekton`` holds the TektonConfig, whose CRD the operator chart brought, and the Let's Encrypt
   ClusterIssuers, whose CRD cert-manager brought; the operator
   reconciles it into Tekton Pipelines, Triggers and the Dashboard and their CRDs;
4. ``gitops`` holds the objects of those CRDs (Tasks, Pipeline, Triggers) and the Argo CD
   project and Applications, including the ones through which Argo CD manages all four releases.

A cluster that runs applications but not the platform (e.g. prod) gets two releases of its own, both in
namespace ingress-nginx whatever the edge (so that switching the edge is an upgrade of the same releases):
``ingress`` (the edge's controller, and cert-manager, with their CRDs) then ``edge`` (the ClusterIssuers and,
with ``edge: gateway``, the cluster's Gateway with a listener per app host of its environments).

The dependency ``enabled`` flags are the Chart.yaml conditions, so each phase sets them.
:func:`readiness_after` lists what must be ready before the next phase may start, with the
names the pinned upstream charts give their objects under this chart's values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import Config

PHASES = ("platform", "operator", "tekton", "gitops")
DEPENDENCIES = ("argo-cd", "ingress-nginx", "cert-manager", "gateway-crds-helm", "gateway-helm", "tekton-operator")
IN_CLUSTER = "https://kubernetes.default.svc"
# namespaces: the chart's defaults (values.yaml `namespaces`), which the mapping does not change
ARGOCD_NAMESPACE = "argocd"
INGRESS_NAMESPACE = "ingress-nginx"
TEKTON_NAMESPACE = "tekton-pipelines"
OPERATOR_NAMESPACE = "tekton-operator"
CERT_MANAGER_NAMESPACE = "cert-manager"
GATEWAY_NAMESPACE = "envoy-gateway-system"
GATEWAY_NAME = "platform"
# the Secret of the DNS-01 solver's DigitalOcean token (values.yaml `issuers.digitalocean`)
DNS_TOKEN_SECRET = "digitalocean-dns"
DNS_TOKEN_KEY = "access-token"
# gitops.yaml `versions` keys that are chart values (the chart versions are Chart.yaml's)
_IMAGE_OVERRIDES = {"kaniko_image": "kanikoImage", "golang_image": "golangImage"}
CHART_VERSION_OVERRIDES = {
    "argo_cd_chart": "argo-cd",
    "ingress_nginx_chart": "ingress-nginx",
    "tekton_operator_chart": "tekton-operator",
    "cert_manager_chart": "cert-manager",
}
# the top-level values each phase's templates read (the rest keep the chart's defaults), so that a
# change that concerns one release (an app, the pruner) does not upgrade the others
_PHASE_VALUES = {
    "platform": ("phase", "edge", "platform", "environments", "registry", "ingress", "versions", *DEPENDENCIES),
    "operator": ("phase", "platform", *DEPENDENCIES),
    "tekton": ("phase", "edge", "platform", "tekton", "issuers", *DEPENDENCIES),
    "gitops": ("phase", "edge", "platform", "environments", "registry", "ingress", "gateway", "gitops", "apps",
               "versions", *DEPENDENCIES, "selfManagement"),
    "ingress": ("phase", "edge", "platform", *DEPENDENCIES),
    "edge": ("phase", "edge", "platform", "environments", "ingress", "issuers", "gateway", "apps", *DEPENDENCIES),
}
INGRESS_PHASE = "ingress"
EDGE_PHASE = "edge"
WORKLOAD_PHASES = (INGRESS_PHASE, EDGE_PHASE)


@dataclass(frozen=True)
class Release:
    """One helm release of the umbrella chart."""

    phase: str
    name: str
    namespace: str


def releases(config: Config) -> tuple[Release, ...]:
    """The releases bootstrap installs, in order: ``<name>-platform``, ``<name>-tekton``, ``<name>-gitops``."""
    return tuple(Release(phase=p, name=f"{config.name}-{p}",
                         namespace=OPERATOR_NAMESPACE if p == "operator" else ARGOCD_NAMESPACE) for p in PHASES)


def ingress_release(config: Config) -> Release:
    """The release that gives a cluster running applications but not the platform its edge controller and
    cert-manager."""
    return Release(phase=INGRESS_PHASE, name=f"{config.name}-ingress", namespace=INGRESS_NAMESPACE)


def workload_releases(config: Config) -> tuple[Release, ...]:
    """The releases of a cluster running applications but not the platform, in order: its edge controller and
    cert-manager (``<name>-ingress``), then their configuration (``<name>-edge``: ClusterIssuers, Gateway; empty
    with ingress-nginx and no cert-manager, and installed all the same, so that a switch away from what it held
    removes it)."""
    return (ingress_release(config), Release(phase=EDGE_PHASE, name=f"{config.name}-edge", namespace=INGRESS_NAMESPACE))


def workload_clusters(config: Config) -> tuple[str, ...]:
    """Clusters with environments that are not the management cluster, in gitops.yaml order."""
    management = config.management_cluster.name
    used = {e.cluster for e in config.environments}
    return tuple(c.name for c in config.clusters if c.name in used and c.name != management)


def load_balancer_name(config: Config, cluster: str) -> str:
    """Name of the DigitalOcean load balancer of ``cluster``'s ingress controller."""
    return f"{config.name}-{cluster}-ingress"


def argocd_cluster_name(config: Config, cluster: str) -> str:
    """Name under which a cluster other than the management cluster is registered in Argo CD."""
    return f"{config.name}-{cluster}"


def argocd_host(config: Config) -> str:
    """Host of the Argo CD server's Ingress."""
    return f"argo.{config.domain}"


def argocd_url(config: Config) -> str:
    """External URL of Argo CD (argocd-cm ``url``, notification links, SSO redirects).

    ``https://`` with TLS at the ingress (the default; argocd-server itself serves plain HTTP behind it,
    ``server.insecure``), ``http://`` when gitops.yaml says ``tls: false``.
    """
    return f"{config.scheme}://{argocd_host(config)}"


def tls_secret_name(config: Config, ingress: str) -> str:
    """The Secret holding the certificate of the Ingress ``ingress``: the one brought, or ``<ingress>-tls``
    (cert-manager's, one per host)."""
    return config.tls.secret_name or f"{ingress}-tls"


def chart_values(
    config: Config,
    *,
    phase: str,
    load_balancer_id: str | None = None,
    cluster: str | None = None,
    repo_url: str | None = None,
) -> dict[str, Any]:
    """Chart values for ``phase`` of ``config``.

    Args:
        config: the loaded gitops.yaml.
        phase: ``platform``, ``operator``, ``tekton`` or ``gitops``; or ``ingress`` and ``edge`` for a
            workload cluster.
        load_balancer_id: DigitalOcean load balancer the ingress controller adopts.
        cluster: the cluster the release goes to (phases ingress and edge; default: the management cluster).
            In phase edge that cluster's environments are the in-cluster ones.
        repo_url: the GitOps repository as Argo CD reaches it (default: gitops.yaml's ``gitops.repo``;
            bootstrap passes it with a local path made an absolute ``file://`` URL).

    Returns:
        The values of the keys that phase's templates read (other keys keep the chart's defaults,
        so a change that concerns one release does not upgrade the others); for phase ``gitops``
        ``selfManagement`` points the Applications through which Argo CD manages the three releases
        at the chart and values bootstrap commits to the GitOps repository (:mod:`core.gitrepo`).
    """
    if phase not in (*PHASES, *WORKLOAD_PHASES):
        raise ValueError(f"unknown phase {phase!r}")
    management = config.management_cluster.name
    local = cluster if phase in WORKLOAD_PHASES and cluster else management
    repo = repo_url or config.gitops.repo
    root = config.gitops.path.strip("/")
    environments = []
    for env in config.environments:
        destination = (
            {"server": IN_CLUSTER} if env.cluster == local else {"name": argocd_cluster_name(config, env.cluster)}
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
            "replicasByEnvironment": {env.name: app.replicas_in(env.name) for env in config.environments},
            "hosts": dict(app.hosts),
            "dependsOn": list(app.depends_on),
            "syncWave": waves[app.name],
            "buildOn": {"branch": app.build_branch, **({"tags": app.build_tags} if app.build_tags else {})},
        }
        apps.append(entry)
    annotations: dict[str, str] = {}
    if load_balancer_id:
        annotations["kubernetes.digitalocean.com/load-balancer-id"] = str(load_balancer_id)
        # the cloud controller names an adopted load balancer after the Service unless told its name
        annotations["service.beta.kubernetes.io/do-loadbalancer-name"] = load_balancer_name(
            config, cluster or management)
    enabled = phase == "platform"
    edge_controller = enabled or phase == INGRESS_PHASE  # the release that brings the edge and cert-manager
    tls = config.tls
    gateway = config.edge == "gateway"
    values: dict[str, Any] = {
        "phase": phase,
        "edge": config.edge,
        "platform": {"name": config.name, "domain": config.domain},
        "environments": environments,
        "registry": {"server": config.registry.url if config.registry else "",
                     "layerCache": config.registry.layer_cache if config.registry else True},
        "ingress": {
            "argocd": {"enabled": True, "host": argocd_host(config)},
            "tektonDashboard": {
                "enabled": config.dashboard_expose,
                "host": f"tekton.{config.domain}",
                "auth": {"secretName": config.dashboard_auth_secret or ""},
            },
            "tls": {"enabled": tls.enabled, "secretName": tls.secret_name or "", "clusterIssuer": tls.issuer,
                    **({"secretNamespace": tls.secret_namespace} if tls.secret_namespace else {})},
        },
        "issuers": {"enabled": tls.cert_manager, "email": tls.email or "",
                    "solver": "dns01-digitalocean" if tls.challenge == "dns01" else "http01"},
        "gitops": {
            "repoURL": repo,
            "targetRevision": config.gitops.branch,
            "path": config.gitops.path,
        },
        "apps": apps,
        # per-app retention is kubectl gitops build's (workflows.prune); the operator's pruner counts runs per
        # Pipeline, and all apps share one, so it keeps enough never to take a run the per-app rule keeps
        "tekton": {"pruner": {"keep": config.pipeline_runs_to_keep * max(1, len(config.applications))},
                   "chains": {"enabled": config.tekton_chains},
                   "pipelinesAsCode": {"enabled": config.pipelines_as_code},
                   "results": {"enabled": config.tekton_results}},
        "argo-cd": ({"enabled": True, "global": {"domain": argocd_host(config)},
                     "configs": {"cm": {"url": argocd_url(config)}},
                     "notifications": {"argocdUrl": argocd_url(config)}}
                    if enabled else {"enabled": False}),
        "ingress-nginx": ({"enabled": True, "controller": {"service": {"annotations": annotations}}}
                          if edge_controller and not gateway else {"enabled": False}),
        "cert-manager": ({"enabled": True, **({"config": {"enableGatewayAPI": True}} if gateway else {})}
                         if edge_controller and tls.cert_manager else {"enabled": False}),
        "gateway-crds-helm": {"enabled": edge_controller and gateway},
        "gateway-helm": {"enabled": edge_controller and gateway},
        # the Gateway's load balancer Service: Envoy Gateway copies these from the Gateway's infrastructure
        "gateway": {"annotations": annotations if gateway else {}},
        "tekton-operator": {"enabled": phase == "operator"},
    }
    images = {_IMAGE_OVERRIDES[k]: v for k, v in config.versions if k in _IMAGE_OVERRIDES}
    if images:
        values["versions"] = images
    if phase == "gitops":
        values["selfManagement"] = {
            "enabled": True,
            "chart": {"repoURL": repo, "path": f"{root}/platform/chart", "targetRevision": config.gitops.branch},
            "valueFiles": {p: f"../values/{p}.yaml" for p in PHASES},
        }
    return {key: value for key, value in values.items() if key in _PHASE_VALUES[phase]}


def chart_version_overrides(config: Config) -> dict[str, str]:
    """Dependency chart versions gitops.yaml overrides, by dependency name."""
    return {CHART_VERSION_OVERRIDES[k]: v for k, v in config.versions if k in CHART_VERSION_OVERRIDES}


def prerequisites(config: Config, phase: str) -> list[dict[str, Any]]:
    """Objects that must exist before ``phase`` is installed (create them when missing).

    The ingress-nginx chart runs its admission webhook's certificate Job as a pre-install hook
    in its own namespace, before helm creates any object of the release, the chart's Namespace
    objects included. So that namespace is created first, carrying the platform release's
    ownership marks: helm then adopts it as part of the release instead of refusing it, and
    Argo CD keeps managing it after handover.

    Nothing is created for the Tekton target namespace: the Tekton operator creates it (and
    becomes its controlling owner) while reconciling the TektonConfig, and the only object of ours
    in it, the dashboard Ingress, comes with the gitops release after ``readiness_after("tekton")``.
    """
    if phase not in (*PHASES, *WORKLOAD_PHASES):
        raise ValueError(f"unknown phase {phase!r}")
    if phase == INGRESS_PHASE and config.edge == "gateway":
        release = ingress_release(config)  # the ingress-nginx namespace is its own: helm creates it
    elif phase == "platform":
        release = releases(config)[0]
    else:
        return []
    # Envoy Gateway's certificate Job is a pre-install hook too, in its own namespace
    namespace = GATEWAY_NAMESPACE if config.edge == "gateway" else INGRESS_NAMESPACE
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": namespace,
                "labels": {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/part-of": config.name},
                "annotations": {"meta.helm.sh/release-name": release.name,
                                "meta.helm.sh/release-namespace": release.namespace},
            },
        }
    ]


def _ref(api_version: str, kind: str, name: str, namespace: str | None = None, **extra: str) -> dict[str, Any]:
    return {"api_version": api_version, "kind": kind, "name": name, "namespace": namespace, **extra}


def _crd(name: str) -> dict[str, Any]:
    return _ref("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)


def _deployment(name: str, namespace: str) -> dict[str, Any]:
    return _ref("apps/v1", "Deployment", name, namespace)


def _webhook(service: str, namespace: str) -> dict[str, Any]:
    return _ref("v1", "Service", service, namespace)


# Argo CD (argo-cd chart with fullnameOverride=argocd): the application controller is a StatefulSet
_ARGOCD_DEPLOYMENTS = ("argocd-server", "argocd-repo-server", "argocd-applicationset-controller",
                       "argocd-notifications-controller", "argocd-dex-server", "argocd-redis")
# what the Tekton operator installs into the TektonConfig's targetNamespace (profile all)
_TEKTON_DEPLOYMENTS = ("tekton-pipelines-controller", "tekton-pipelines-webhook", "tekton-pipelines-remote-resolvers",
                       "tekton-events-controller", "tekton-triggers-controller", "tekton-triggers-webhook",
                       "tekton-triggers-core-interceptors", "tekton-dashboard")
_CERT_MANAGER_CRDS = ("certificates.cert-manager.io", "certificaterequests.cert-manager.io",
                      "issuers.cert-manager.io", "clusterissuers.cert-manager.io", "orders.acme.cert-manager.io",
                      "challenges.acme.cert-manager.io")
_GATEWAY_CRDS = ("gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants")
_CERT_MANAGER_DEPLOYMENTS = ("cert-manager", "cert-manager-cainjector", "cert-manager-webhook")
_TEKTON_CRDS = ("tasks.tekton.dev", "pipelines.tekton.dev", "pipelineruns.tekton.dev", "taskruns.tekton.dev",
                "resolutionrequests.resolution.tekton.dev", "eventlisteners.triggers.tekton.dev",
                "triggerbindings.triggers.tekton.dev", "triggertemplates.triggers.tekton.dev",
                "clusterinterceptors.triggers.tekton.dev")


def readiness_after(config: Config, phase: str) -> list[dict[str, Any]]:
    """What must be ready after installing ``phase`` before the next phase starts.

    Each entry names one object: ``api_version``, ``kind``, ``name``, ``namespace`` (None when
    cluster-scoped) and, for Argo CD Applications, ``expected_revision`` (the targetRevision the
    sync must be at; status from before the sync does not count). What ready means follows from
    the kind: a CustomResourceDefinition is Established, a Deployment or StatefulSet rolled out
    (observedGeneration current, every replica updated and available), a Service has ready
    endpoints (the webhook behind it answers), a TektonConfig has condition Ready, an
    Application is Synced and Healthy.

    - after ``platform``: the Argo CD CRDs Established; Argo CD and the edge rolled out (the
      ingress-nginx controller and its admission webhook answering, or Envoy Gateway with the Gateway
      API CRDs); with cert-manager issuing the certificates, its CRDs Established, its three
      Deployments rolled out and its webhook answering, since phase tekton creates ClusterIssuers;
    - after ``operator``: the TektonConfig CRD Established; the Tekton operator rolled out and its
      webhook answering;
    - after ``tekton``: TektonConfig ``config`` Ready; its target namespace, which the operator
      creates and owns (no release may hold it), Active, so the gitops release can put the dashboard
      Ingress there; the Tekton Pipelines and Triggers CRDs the gitops release and the builds use
      Established; their controllers rolled out and their webhooks answering; the chosen ClusterIssuer
      Ready (its ACME account registered);
    - after ``gitops``: the root Application Synced and Healthy at the GitOps branch;
    - after ``ingress`` (a workload cluster): its edge controller rolled out (as after ``platform``) and
      cert-manager ready;
    - after ``edge`` (a workload cluster): the chosen ClusterIssuer Ready.
    """
    if phase not in (*PHASES, *WORKLOAD_PHASES):
        raise ValueError(f"unknown phase {phase!r}")
    cert_manager = [
        *(_crd(name) for name in _CERT_MANAGER_CRDS),
        *(_deployment(name, CERT_MANAGER_NAMESPACE) for name in _CERT_MANAGER_DEPLOYMENTS),
        _webhook("cert-manager-webhook", CERT_MANAGER_NAMESPACE),
    ] if config.tls.cert_manager else []
    edge = ([*(_crd(f"{plural}.gateway.networking.k8s.io") for plural in _GATEWAY_CRDS),
             _deployment("envoy-gateway", GATEWAY_NAMESPACE)] if config.edge == "gateway" else
            [_deployment("ingress-nginx-controller", INGRESS_NAMESPACE),
             _webhook("ingress-nginx-controller-admission", INGRESS_NAMESPACE)])
    issuer = [_ref("cert-manager.io/v1", "ClusterIssuer", config.tls.issuer)] if config.tls.cert_manager else []
    if phase == INGRESS_PHASE:
        return [*edge, *cert_manager]
    if phase == EDGE_PHASE:
        return issuer
    if phase == "platform":
        return [
            *(_crd(f"{plural}.argoproj.io") for plural in ("applications", "applicationsets", "appprojects")),
            _ref("apps/v1", "StatefulSet", "argocd-application-controller", ARGOCD_NAMESPACE),
            *(_deployment(name, ARGOCD_NAMESPACE) for name in _ARGOCD_DEPLOYMENTS),
            *edge,
            *cert_manager,
        ]
    if phase == "operator":
        return [
            _crd("tektonconfigs.operator.tekton.dev"),
            _deployment("tekton-operator", OPERATOR_NAMESPACE),
            _deployment("tekton-operator-webhook", OPERATOR_NAMESPACE),
            _webhook("tekton-operator-webhook", OPERATOR_NAMESPACE),
        ]
    if phase == "tekton":
        return [
            _ref("operator.tekton.dev/v1alpha1", "TektonConfig", "config"),
            _ref("v1", "Namespace", TEKTON_NAMESPACE),
            *(_crd(name) for name in _TEKTON_CRDS),
            *(_deployment(name, TEKTON_NAMESPACE) for name in _TEKTON_DEPLOYMENTS),
            _webhook("tekton-pipelines-webhook", TEKTON_NAMESPACE),
            _webhook("tekton-triggers-webhook", TEKTON_NAMESPACE),
            *issuer,
        ]
    return [_ref("argoproj.io/v1alpha1", "Application", f"{config.name}-root", ARGOCD_NAMESPACE,
                 expected_revision=config.gitops.branch)]
