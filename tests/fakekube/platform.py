"""What a running gitops-platform leaves in a cluster, for the Kubernetes API stand-in.

The stand-in runs no controllers and the test machines have no chart dependencies (argo-cd,
ingress-nginx, tekton-operator), so :func:`install_platform` creates directly what those charts
and their operators would have created and started: the objects ``kubectl gitops status`` and
``password`` look at, with the names, labels and images the upstream charts and Tekton releases
use. Versions come from the chart's ``versions`` block (the one place they are pinned).

- :func:`install_crds`: small CustomResourceDefinitions for Argo CD ``Application``/``AppProject``
  and the Tekton operator's ``TektonConfig`` (names, scope and subresources as upstream; no schemas:
  the stand-in does not validate). Argo CD's Application CRD has no status subresource.
- :func:`install_platform`: namespaces, the Argo CD Deployments and StatefulSet, its Secrets
  (``argocd-secret``, ``argocd-initial-admin-secret``), the Tekton operator, the ingress-nginx
  controller (with its LoadBalancer Service and admission webhook), Tekton Pipelines/Triggers/
  Dashboard, the TektonConfig, and one Application per app and environment, all ready unless told.
- :func:`app_image`: the image reference (with digest) an app's Application reports as running.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import bcrypt
import yaml

from .server import FakeKube

VALUES = Path(__file__).resolve().parents[2] / "charts" / "gitops-platform" / "values.yaml"
INITIAL_PASSWORD = "initial-Adm1n-pass"


def versions() -> dict[str, str]:
    return yaml.safe_load(VALUES.read_text())["versions"]


def _crd(group: str, plural: str, kind: str, version: str, *, namespaced: bool, short=(), status: bool) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced" if namespaced else "Cluster",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "shortNames": list(short)},
            "versions": [{
                "name": version, "served": True, "storage": True,
                "subresources": {"status": {}} if status else {},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }],
        },
    }


CRDS = [
    _crd("argoproj.io", "applications", "Application", "v1alpha1", namespaced=True, short=("app", "apps"),
         status=False),
    _crd("argoproj.io", "appprojects", "AppProject", "v1alpha1", namespaced=True, short=("appproj",), status=False),
    _crd("operator.tekton.dev", "tektonconfigs", "TektonConfig", "v1alpha1", namespaced=False, status=True),
]


def install_crds(kube: FakeKube) -> None:
    for crd in CRDS:
        if kube.get("customresourcedefinitions", crd["metadata"]["name"]) is None:
            kube.create(crd)


def _namespace(kube: FakeKube, name: str) -> None:
    if kube.get("namespaces", name) is None:
        kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def _workload(kube: FakeKube, kind: str, name: str, namespace: str, labels: dict, image: str, *,
              ready: bool, replicas: int = 1) -> None:
    selector = {k: v for k, v in labels.items() if k in ("app.kubernetes.io/name", "app.kubernetes.io/instance",
                                                         "app.kubernetes.io/component")}
    kube.create({
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": selector},
                "spec": {"containers": [{"name": name.rsplit("-", 1)[-1], "image": image}]},
            },
        },
    })
    if ready:
        kube.mark_available(f"{kind.lower()}s", name, namespace)


def app_image(app: str, registry: str = "registry.example.com/demo") -> str:
    digest = hashlib.sha256(app.encode()).hexdigest()
    return f"{registry}/{app}@sha256:{digest}"


def install_platform(
    kube: FakeKube,
    *,
    platform: str = "demo",
    apps: tuple[tuple[str, str], ...] = (),
    self_managed: bool = True,
    ready: bool = True,
    unready: tuple[str, ...] = (),
    gitops_repo: str = "https://github.com/example/gitops",
    gitops_path: str = "platform",
    revision: str = "3f2a9c1d4b5e6f708192a3b4c5d6e7f8091a2b3c",
    registry: str = "registry.example.com/demo",
    initial_password: str | None = INITIAL_PASSWORD,
) -> None:
    """Create the running platform; ``unready`` names workloads (e.g. ``tekton-dashboard``) or Applications
    left unready.

    Args:
        platform: the platform's name (its first release is ``<platform>-platform``).
        self_managed: also the Applications through which Argo CD manages the platform
            (``<platform>-platform|tekton|gitops``, labelled with their phase) and ``<platform>-root``.
        apps: (app, environment) pairs: one Application ``<app>-<env>`` each, Synced and Healthy at
            ``revision`` and running :func:`app_image` (when ``ready``).
        ready: mark every workload available and the TektonConfig and Applications ready.
        initial_password: the ``argocd-initial-admin-secret`` password (None: Argo CD deleted it).
    """
    v = versions()
    release = f"{platform}-platform"
    install_crds(kube)
    for ns in ("argocd", "tekton-operator", "ingress-nginx", "tekton-pipelines"):
        _namespace(kube, ns)

    def workload(kind, name, namespace, labels, image, replicas=1):
        _workload(kube, kind, name, namespace, labels, image, ready=ready and name not in unready, replicas=replicas)

    argocd = {"app.kubernetes.io/part-of": "argocd", "app.kubernetes.io/instance": release,
              "app.kubernetes.io/version": v["argocd"]}
    image = f"quay.io/argoproj/argocd:{v['argocd']}"
    for component in ("server", "repo-server", "applicationset-controller", "notifications-controller", "dex-server"):
        labels = {**argocd, "app.kubernetes.io/name": f"argocd-{component}", "app.kubernetes.io/component": component}
        workload("Deployment", f"argocd-{component}", "argocd", labels, image)
    workload("Deployment", "argocd-redis", "argocd",
             {**argocd, "app.kubernetes.io/name": "argocd-redis", "app.kubernetes.io/component": "redis"},
             "public.ecr.aws/docker/library/redis:7.2.8-alpine")
    workload("StatefulSet", "argocd-application-controller", "argocd",
             {**argocd, "app.kubernetes.io/name": "argocd-application-controller",
              "app.kubernetes.io/component": "application-controller"}, image)
    secret_data = {"server.secretkey": base64.b64encode(b"server-secret-key").decode()}
    if initial_password is not None:  # argocd-server stores the hash of the password it generated
        hashed = bcrypt.hashpw(initial_password.encode(), bcrypt.gensalt(rounds=4, prefix=b"2a"))
        secret_data["admin.password"] = base64.b64encode(hashed).decode()
    kube.create({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                 "metadata": {"name": "argocd-secret", "namespace": "argocd",
                              "labels": {**argocd, "app.kubernetes.io/name": "argocd-secret"}},
                 "data": secret_data})
    if initial_password is not None:
        kube.create({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                     "metadata": {"name": "argocd-initial-admin-secret", "namespace": "argocd"},
                     "data": {"password": base64.b64encode(initial_password.encode()).decode()}})

    operator = {"app.kubernetes.io/name": "tekton-operator", "app.kubernetes.io/instance": release,
                "app.kubernetes.io/version": v["tektonOperator"]}
    registry_tekton = "ghcr.io/tekton-releases/github.com/tektoncd/operator/cmd/kubernetes"
    workload("Deployment", f"{release}-tekton-operator", "tekton-operator",
             {**operator, "app.kubernetes.io/component": "operator"},
             f"{registry_tekton}/operator:{v['tektonOperator']}")
    workload("Deployment", f"{release}-tekton-operator-webhook", "tekton-operator",
             {**operator, "app.kubernetes.io/component": "webhook"}, f"{registry_tekton}/webhook:{v['tektonOperator']}")

    nginx = {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": release,
             "app.kubernetes.io/part-of": "ingress-nginx", "app.kubernetes.io/version": v["ingressNginx"].lstrip("v"),
             "app.kubernetes.io/component": "controller"}
    controller = f"{release}-ingress-nginx-controller"
    digest = hashlib.sha256(b"ingress-nginx").hexdigest()
    workload("Deployment", controller, "ingress-nginx", nginx,
             f"registry.k8s.io/ingress-nginx/controller:{v['ingressNginx']}@sha256:{digest}")
    kube.create({"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": controller, "namespace": "ingress-nginx", "labels": nginx},
                 "spec": {"type": "LoadBalancer", "selector": {k: nginx[k] for k in (
                     "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component")},
                          "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]}})
    admission = f"{release}-ingress-nginx-controller-admission"
    kube.create({"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": admission, "namespace": "ingress-nginx", "labels": nginx},
                 "spec": {"selector": {"app.kubernetes.io/name": "ingress-nginx"},
                          "ports": [{"name": "https-webhook", "port": 443, "targetPort": 8443}]}})
    kube.create({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                 "metadata": {"name": f"{release}-ingress-nginx-admission", "labels": nginx},
                 "webhooks": [{"name": "validate.nginx.ingress.kubernetes.io", "admissionReviewVersions": ["v1"],
                               "sideEffects": "None",
                               "clientConfig": {"service": {"namespace": "ingress-nginx", "name": admission,
                                                            "path": "/networking/v1/ingresses"}}}]})
    if ready and controller not in unready:
        kube.set_load_balancer_ip(controller, "ingress-nginx")
        kube.set_service_endpoints(admission, "ingress-nginx")

    for part, component_version, names in (
        ("tekton-pipelines", v["tektonPipelines"], ("tekton-pipelines-controller", "tekton-pipelines-webhook",
                                                    "tekton-pipelines-remote-resolvers")),
        ("tekton-triggers", v["tektonTriggers"], ("tekton-triggers-controller", "tekton-triggers-webhook",
                                                  "tekton-triggers-core-interceptors")),
        ("tekton-dashboard", v["tektonDashboard"], ("tekton-dashboard",)),
    ):
        release_label = {"tekton-pipelines": "pipeline.tekton.dev/release", "tekton-triggers":
                         "triggers.tekton.dev/release", "tekton-dashboard": "dashboard.tekton.dev/release"}[part]
        for name in names:
            component = name.removeprefix(f"{part}-") if name != part else "dashboard"
            labels = {"app.kubernetes.io/part-of": part, "app.kubernetes.io/name": component,
                      "app.kubernetes.io/component": component, "app.kubernetes.io/instance": "default",
                      "app.kubernetes.io/version": component_version, release_label: component_version}
            repo = part.removeprefix("tekton-").rstrip("s")
            workload("Deployment", name, "tekton-pipelines", labels,
                     f"ghcr.io/tektoncd/{repo}/{component}:{component_version}@sha256:"
                     + hashlib.sha256(name.encode()).hexdigest())

    kube.create({"apiVersion": "operator.tekton.dev/v1alpha1", "kind": "TektonConfig",
                 "metadata": {"name": "config"},
                 "spec": {"profile": "all", "targetNamespace": "tekton-pipelines"}})
    if ready:
        kube.put_status("tektonconfigs.operator.tekton.dev", "config", {
            "observedGeneration": 1, "version": v["tektonOperator"],
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
        })

    applications = [(f"{app}-{env}"[:63].rstrip("-"), {"app.kubernetes.io/name": app,
                                                         "gitops.kubectl.dev/environment": env},
                     {"repoURL": gitops_repo, "targetRevision": "main", "path": f"{gitops_path}/apps/{app}/{env}"},
                     [app_image(app, registry)]) for app, env in apps]
    if self_managed:
        chart = {"repoURL": "https://github.com/example/kubectl-gitops", "targetRevision": "v0.1.0",
                 "path": "charts/gitops-platform"}
        applications += [(f"{platform}-{phase}", {"gitops.kubectl.dev/release-phase": phase}, chart, None)
                         for phase in ("platform", "tekton", "gitops")]
        applications.append((f"{platform}-root", {}, {"repoURL": gitops_repo, "targetRevision": "main",
                                                      "path": gitops_path}, None))
    for name, labels, source, images in applications:
        kube.create({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd", "labels": labels},
            "spec": {"project": "default", "source": source,
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"}},
        })
        if ready and name not in unready:
            set_application(kube, name, revision=revision, images=images)


def set_application(kube: FakeKube, name: str, *, sync: str = "Synced", health: str = "Healthy",
                    revision: str = "3f2a9c1d4b5e6f708192a3b4c5d6e7f8091a2b3c", phase: str = "Succeeded",
                    message: str = "successfully synced", images: list[str] | None = None) -> dict:
    """Argo CD's status of an Application, plus ``status.summary.images`` (the images it runs)."""
    obj = kube.set_application_status(name, "argocd", sync=sync, health=health, revision=revision, phase=phase,
                                      message=message)
    if images is not None:
        obj = kube.patch_status("applications.argoproj.io", name, {"summary": {"images": images}}, "argocd")
    return obj
