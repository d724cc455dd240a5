"""`kubectl gitops status`: is the platform healthy, at which versions, and what runs where.

Reads gitops.yaml and the cluster of the current (or ``--context``) context, which runs the
platform, and answers three questions:

- platform components: Argo CD (namespace ``argocd``), the Tekton operator (``argocd``), the
  ingress-nginx controller (``ingress-nginx``), Tekton Pipelines, Triggers and Dashboard
  (``tekton-pipelines``): each is ready when every one of its Deployments and StatefulSets is
  rolled out (:mod:`kubectl_gitops.core.readiness`); its version is its image tag, else its
  ``app.kubernetes.io/version`` label. Components are found by the labels their charts and
  releases set, not by release-dependent names.
- the edge (:func:`edge_status`): the ingress controller or Envoy Gateway, its load balancer's address, every
  host with its certificate and whether DNS points at the load balancer.
- clusters: the platform's cluster, and every other cluster of gitops.yaml through its context
  (``clusters.<name>.context``, or ``do-<region>-<platform>-<cluster>`` for provider digitalocean):
  reachable or not, Kubernetes version, and for a cluster that runs only apps its own edge (controller
  rolled out, load balancer, every app host of its environments with its certificate).
- applications: the Argo CD Application ``<app>-<env>`` of each app and environment: sync,
  health, synced revision and the images it runs (``status.summary.images``, with their digests);
  and the Applications through which Argo CD manages the platform itself (label
  ``gitops.kubectl.dev/release-phase``, and the app-of-apps ``<platform>-root``) when they exist.

Healthy means: every component ready, every cluster reachable (a cluster that runs applications only
also with its edge controller rolled out and its hosts' certificates Ready), every Application Synced and
Healthy at its current source (the apps' at ``gitops.branch``). An app's Application that is Synced
with nothing to run is reported as "not built yet" (an environment that syncs automatically) or "not
promoted yet" (one that changes only through promote): its overlay in the GitOps repository names no
image digest yet, which is not a failure.

The GitOps repository's branch head is read with ``git ls-remote`` beside the cluster requests (the
user's git credentials, or ``GITOPS_GIT_TOKEN``), so the platform Applications' synced revision can
be shown against it; a repository that cannot be read is reported, not counted as unhealthy.

Only what the answer needs is fetched, in parallel: the server version, the Deployments of three
namespaces, the StatefulSets of ``argocd``, the Applications of ``argocd`` (six requests), and one
version request per other cluster. gitops.yaml is read without its JSON Schema check when it parses
into a config (status only needs names; the schema check costs more than the whole cluster round
trip); a file that does not is reported with every problem, as everywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

from ..adapters import config_file, kube
from ..core import config as model
from ..core import inputs
from ..core.config import Config
from ..core.errors import ConfigError, GitopsError, KubeError, KubeForbidden
from ..core.progress import Reporter
from ..core.readiness import ObjectRef, State, evaluate

# The result types are NamedTuples: immutable like frozen dataclasses, and much cheaper to define at import.
ARGOCD_NAMESPACE = "argocd"
APPLICATION = ("argoproj.io/v1alpha1", "Application")
_VERSION = re.compile(r"^v?\d+\.\d+")


class StatusOptions(NamedTuple):
    """What to look at.

    Attributes:
        config: path of gitops.yaml.
        kubeconfig: kubeconfig path (default: ``KUBECONFIG`` or ``~/.kube/config``).
        context: context of the platform's cluster (default: the current context).
        request_timeout: seconds each request to a cluster may take.
        resolve: looks a host name up in DNS (addresses, or an empty tuple when it does not resolve), to say
            whether each host points at the load balancer; None skips the lookup (``--no-dns``).
    """

    config: str = "gitops.yaml"
    kubeconfig: str | None = None
    context: str | None = None
    request_timeout: float = 10.0
    resolve: Callable[[str], tuple[str, ...]] | None = None


class ComponentStatus(NamedTuple):
    name: str
    namespace: str
    installed: bool
    ready: bool
    version: str | None
    message: str
    workloads: int = 0


class HostStatus(NamedTuple):
    """One host the platform's edge serves: its Ingress, its certificate, where DNS sends it."""

    host: str
    ingress: str  # <namespace>/<name>
    url: str
    certificate: str  # Ready | not ready | not found | brought (a Secret given, not cert-manager's) | none (HTTP)
    expires: str | None  # cert-manager's status.notAfter
    dns: str | None  # "ok" | "points at <addresses>" | "does not resolve" | None (not looked up)
    ready: bool
    message: str = ""


class EdgeStatus(NamedTuple):
    """The platform's edge: its controller, the load balancer in front of it, every host."""

    controller: str
    address: str | None
    hosts: tuple[HostStatus, ...] = ()

    @property
    def ready(self) -> bool:
        return all(h.ready for h in self.hosts)


class ClusterStatus(NamedTuple):
    name: str
    context: str | None
    management: bool
    reachable: bool
    version: str | None
    message: str = ""
    ingress_ready: bool | None = None  # a cluster running applications only: its edge controller rolled out
    edge: EdgeStatus | None = None  # a cluster running applications only: its own edge

    @property
    def ready(self) -> bool:
        return self.reachable and self.ingress_ready is not False and (self.edge is None or self.edge.ready)


class AppStatus(NamedTuple):
    app: str
    environment: str
    application: str
    sync: str
    health: str
    revision: str | None
    images: tuple[str, ...]
    ready: bool
    message: str

    @property
    def digest(self) -> str | None:
        """The digest of the first image the Application runs (``sha256:...``), if it names one."""
        return next((image.split("@", 1)[1] for image in self.images if "@" in image), None)


class StatusReport(NamedTuple):
    platform: str
    context: str
    server: str
    components: tuple[ComponentStatus, ...]
    clusters: tuple[ClusterStatus, ...]
    applications: tuple[AppStatus, ...] = ()
    platform_applications: tuple[AppStatus, ...] = ()
    repository: str = ""
    repository_head: str | None = None
    repository_message: str = ""
    edge: EdgeStatus | None = None

    @property
    def healthy(self) -> bool:
        return (all(c.ready for c in self.components) and all(c.ready for c in self.clusters)
                and all(a.ready for a in (*self.applications, *self.platform_applications))
                and (self.edge is None or self.edge.ready))

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (``-o json|yaml``)."""
        return {
            "platform": self.platform,
            "healthy": self.healthy,
            "context": self.context,
            "server": self.server,
            "components": [c._asdict() for c in self.components],
            "clusters": [{**c._asdict(), "ready": c.ready, "edge": _edge_dict(c.edge)} for c in self.clusters],
            "applications": [_app_dict(a) for a in self.applications],
            "platformApplications": [_app_dict(a) for a in self.platform_applications],
            "repository": {"url": self.repository, "branchHead": self.repository_head,
                           "message": self.repository_message},
            "edge": _edge_dict(self.edge),
        }


def _edge_dict(edge: EdgeStatus | None) -> dict[str, Any] | None:
    return None if edge is None else {"controller": edge.controller, "address": edge.address, "ready": edge.ready,
                                      "hosts": [h._asdict() for h in edge.hosts]}


def _app_dict(app: AppStatus) -> dict[str, Any]:
    return {**app._asdict(), "images": list(app.images), "digest": app.digest}


class _Component(NamedTuple):
    name: str
    namespace: str
    matches: Callable[[Mapping[str, str]], bool]
    main: str  # the workload whose image tells the version (the first one when absent)
    version_labels: tuple[str, ...] = ("app.kubernetes.io/version",)


def _label(key: str, value: str) -> Callable[[Mapping[str, str]], bool]:
    return lambda labels: labels.get(key) == value


COMPONENTS = (
    _Component("argo-cd", ARGOCD_NAMESPACE, _label("app.kubernetes.io/part-of", "argocd"), "argocd-server"),
    _Component("tekton-operator", "tekton-operator", _label("app.kubernetes.io/name", "tekton-operator"),
               "tekton-operator"),
    _Component("ingress-nginx", "ingress-nginx",
               lambda labels: labels.get("app.kubernetes.io/name") == "ingress-nginx"
               and labels.get("app.kubernetes.io/component") == "controller", "controller"),
    _Component("tekton-pipelines", "tekton-pipelines", _label("app.kubernetes.io/part-of", "tekton-pipelines"),
               "tekton-pipelines-controller", ("pipeline.tekton.dev/release", "app.kubernetes.io/version")),
    _Component("tekton-triggers", "tekton-pipelines", _label("app.kubernetes.io/part-of", "tekton-triggers"),
               "tekton-triggers-controller", ("triggers.tekton.dev/release", "app.kubernetes.io/version")),
    _Component("tekton-dashboard", "tekton-pipelines", _label("app.kubernetes.io/part-of", "tekton-dashboard"),
               "tekton-dashboard", ("dashboard.tekton.dev/release", "app.kubernetes.io/version")),
)
# (apiVersion, kind, namespace) of every list the components need
# edge gateway: Envoy Gateway's control plane in place of ingress-nginx
ENVOY_GATEWAY = _Component("envoy-gateway", "envoy-gateway-system", _label("control-plane", "envoy-gateway"),
                           "envoy-gateway")


def _components(config: Config) -> tuple[_Component, ...]:
    if config.edge != "gateway":
        return COMPONENTS
    return tuple(ENVOY_GATEWAY if c.name == "ingress-nginx" else c for c in COMPONENTS)


def _lists(components: tuple[_Component, ...]) -> list[tuple[str, str, str]]:
    """(apiVersion, kind, namespace) of every list the components need."""
    return sorted({("apps/v1", kind, c.namespace) for c in components for kind in ("Deployment", "StatefulSet")
                   if kind == "Deployment" or c.namespace == ARGOCD_NAMESPACE})


_LISTS = _lists(COMPONENTS)


def read_config(path: str) -> Config:
    """gitops.yaml as status needs it: parsed (libyaml when present) and built; the full check when that fails."""

    file = Path(path)
    if not file.is_file():
        return config_file.load(file)  # raises its ConfigError (missing, a directory)
    text = inputs.read_text(file, source=path, what="config file", error=ConfigError)
    try:
        data = inputs.load_yaml(text, source=path, error=ConfigError)
        config = model.build(data, source=path)
        config.management_cluster  # noqa: B018 - environments must name declared clusters
        return config
    except ConfigError:
        raise
    except Exception:  # not a valid config: let the full check say everything that is wrong, with lines
        return config_file.load_text(text, source=path)


def application_name(app: str, environment: str) -> str:
    """The Argo CD Application of an app in an environment (as the chart names it)."""
    return f"{app}-{environment}"[:63].rstrip("-")


def _image_version(workload: dict) -> str | None:
    containers = ((((workload.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")) or []
    for container in containers:
        image = str(container.get("image") or "").split("@", 1)[0]
        name, _, tag = image.rpartition(":")
        if name and "/" not in tag and _VERSION.match(tag):
            return tag if tag.startswith("v") else f"v{tag}"
    return None


def _component(spec: _Component, workloads: list[dict], error: str | None) -> ComponentStatus:
    if error:
        return ComponentStatus(spec.name, spec.namespace, installed=False, ready=False, version=None, message=error)
    mine = sorted((w for w in workloads if spec.matches((w.get("metadata") or {}).get("labels") or {})),
                  key=lambda w: (w["kind"], w["metadata"]["name"]))
    if not mine:
        return ComponentStatus(spec.name, spec.namespace, installed=False, ready=False, version=None,
                               message=f"not installed (nothing in namespace {spec.namespace})")
    main = next((w for w in mine if w["metadata"]["name"].endswith(spec.main)), mine[0])
    labels = main["metadata"].get("labels") or {}
    version = _image_version(main) or next((labels[k] for k in spec.version_labels if labels.get(k)), None)
    results = [evaluate(ObjectRef(w["apiVersion"], w["kind"], w["metadata"]["name"], spec.namespace), w)
               for w in mine]
    unready = [r for r in results if r.state is not State.READY]
    message = "; ".join(f"{r.ref.kind} {r.ref.name}: {r.message}" for r in unready) or \
        f"{len(mine)} workload{'s' if len(mine) != 1 else ''} ready"
    return ComponentStatus(spec.name, spec.namespace, installed=True, ready=not unready, version=version,
                           message=message, workloads=len(mine))


def _application(name: str, app: str, environment: str, found: dict[str, dict], revision: str | None,
                 *, empty: str = "") -> AppStatus:
    obj = found.get(name)
    ref = ObjectRef(*APPLICATION, name, ARGOCD_NAMESPACE, expected_revision=revision)
    verdict = evaluate(ref, obj)
    status = (obj or {}).get("status") or {}
    sync = status.get("sync") or {}
    message = verdict.message if obj is not None else f"Application {ARGOCD_NAMESPACE}/{name} not found"
    if empty and verdict.ready and not status.get("resources") and not (status.get("summary") or {}).get("images"):
        message = empty  # Synced with nothing to run: the overlay names no image yet
    return AppStatus(
        app=app, environment=environment, application=name,
        sync=sync.get("status") or ("Unknown" if obj is not None else "-"),
        health=(status.get("health") or {}).get("status") or ("Unknown" if obj is not None else "Missing"),
        revision=sync.get("revision") or None,
        images=tuple(str(i) for i in (status.get("summary") or {}).get("images") or ()),
        ready=verdict.ready, message=message,
    )


def _push_secret(conn: Any) -> dict | None:
    """The registry push Secret (for its expiry annotation); None when it cannot be read."""
    try:
        return conn.get("v1", "Secret", "registry-push", "ci")
    except KubeError:
        return None


def cluster_context(config: Config, name: str) -> str | None:
    if config.provider == "digitalocean":
        from ..core import infra  # its import costs more than this one name needs, so only for this provider

        return infra.context_name(config, name)
    return config.cluster(name).context


# the edge's controller bootstrap installs on a cluster that runs applications but not the platform (release
# <name>-ingress): ingress-nginx's controller, or Envoy Gateway's control plane
_INGRESS_NAMESPACE = "ingress-nginx"
_INGRESS_SELECTOR = "app.kubernetes.io/name=ingress-nginx,app.kubernetes.io/component=controller"
_GATEWAY_NAMESPACE = "envoy-gateway-system"  # core.values.GATEWAY_NAMESPACE
_TEKTON_NAMESPACE = "tekton-pipelines"  # core.values.TEKTON_NAMESPACE
_GATEWAY_SELECTOR = "control-plane=envoy-gateway"


def _probe(config: Config, name: str, opts: StatusOptions) -> ClusterStatus:
    context = cluster_context(config, name)
    if not context:
        return ClusterStatus(name, None, management=False, reachable=False, version=None,
                             message=f"no context: set clusters.{name}.context in {config.source}")
    namespace, selector, what = ((_GATEWAY_NAMESPACE, _GATEWAY_SELECTOR, "Envoy Gateway")
                                 if config.edge == "gateway" else
                                 (_INGRESS_NAMESPACE, _INGRESS_SELECTOR, "ingress controller"))
    try:
        with kube.connect(kubeconfig=opts.kubeconfig, context=context, request_timeout=opts.request_timeout) as conn, \
                ThreadPoolExecutor(max_workers=3) as pool:  # the three answers do not depend on each other
            version_future = pool.submit(conn.server_version)
            controllers_future = pool.submit(conn.list, "apps/v1", "Deployment", namespace, label_selector=selector)
            edge_future = pool.submit(edge_status, config, conn, opts.resolve)
            version, controllers = version_future.result()[2], controllers_future.result()
            edge = edge_future.result() if controllers else None
    except KubeError as exc:
        return ClusterStatus(name, context, management=False, reachable=False, version=None, message=str(exc))
    if not controllers:
        return ClusterStatus(name, context, management=False, reachable=True, version=version,
                             message=f"no {what}: run `kubectl gitops bootstrap`", ingress_ready=False)
    verdicts = [evaluate(ObjectRef("apps/v1", "Deployment", d["metadata"]["name"], namespace), d)
                for d in controllers]
    waiting = [v.message for v in verdicts if not v.ready]
    message = f"{what}: {waiting[0]}" if waiting else f"{what} ready"
    unready = [h.host for h in (edge.hosts if edge else ()) if not h.ready]
    if not waiting and unready:
        message = f"certificate not ready: {', '.join(unready)}"
    return ClusterStatus(name, context, management=False, reachable=True, version=version, message=message,
                         ingress_ready=not waiting, edge=edge)


def run(opts: StatusOptions, *, reporter: Reporter | None = None) -> StatusReport:
    """Look at the platform of ``opts.config`` on its cluster.

    Raises:
        ConfigError: gitops.yaml is missing or invalid.
        KubeError: the platform's cluster cannot be used (kubeconfig, unreachable, credentials).
        GitopsError: nothing of the platform is installed on that cluster.
    """
    reporter = reporter or Reporter()
    config = read_config(opts.config)
    management = config.management_cluster
    with kube.connect(kubeconfig=opts.kubeconfig, context=opts.context, request_timeout=opts.request_timeout) as conn:
        named = cluster_context(config, management.name)
        if named and named != conn.context:
            reporter.warning(f"{config.source} names context {named} for cluster {management.name}; "
                             f"looking at context {conn.context} (pass --context {named} for that one)")
        used = {e.cluster for e in config.environments}
        others = [c.name for c in config.clusters if c.name != management.name and c.name in used]
        specs = _components(config)
        wanted = _lists(specs)
        with ThreadPoolExecutor(max_workers=len(wanted) + 4 + len(others)) as pool:
            version = pool.submit(conn.server_version)
            lists: dict[tuple[str, str, str], Future] = {
                key: pool.submit(conn.list, key[0], key[1], key[2]) for key in wanted
            }
            applications = pool.submit(conn.list, *APPLICATION, ARGOCD_NAMESPACE)
            probes = [pool.submit(_probe, config, name, opts) for name in others]
            head_future = pool.submit(_repository_head, config)
            push_secret = pool.submit(_push_secret, conn)
            edge = pool.submit(edge_status, config, conn, opts.resolve)
            git_version = version.result()[2]
            workloads: dict[str, list[dict]] = {}
            errors: dict[str, str] = {}
            for (_, _, namespace), future in lists.items():
                try:
                    workloads.setdefault(namespace, []).extend(future.result())
                except KubeForbidden as exc:
                    errors[namespace] = str(exc)
            found = {a["metadata"]["name"]: a for a in applications.result()}
            clusters = [ClusterStatus(management.name, conn.context, management=True, reachable=True,
                                      version=git_version), *(p.result() for p in probes)]
        from .registry_secret import expiry_warning

        if warning := expiry_warning(push_secret.result()):
            reporter.warning(warning)
        components = tuple(_component(c, workloads.get(c.namespace, []), errors.get(c.namespace))
                           for c in specs)
        if not any(c.installed for c in components) and not errors and not found:
            raise GitopsError(
                f"the platform is not installed on context {conn.context} ({conn.server}): no Argo CD, "
                "ingress-nginx or Tekton found",
                hint="run `kubectl gitops bootstrap`, or pass --context for the platform's cluster",
            )
        apps = _behind(config, tuple(
            _application(application_name(a.name, e.name), a.name, e.name, found, config.gitops.branch,
                         empty="not built yet" if e.automated else "not promoted yet")
            for a in config.applications for e in config.environments))
        head, head_message = head_future.result()
        platform_apps = tuple(
            _platform_application(_application(name, config.name, phase, found, None), head)
            for name, phase in sorted(_platform_applications(config, found).items())
        )
        return StatusReport(platform=config.name, context=conn.context, server=conn.server, components=components,
                            clusters=tuple(clusters), applications=apps, platform_applications=platform_apps,
                            repository=config.gitops.repo, repository_head=head, repository_message=head_message,
                            edge=edge.result())


def edge_status(config: Config, conn: Any, resolve: Callable[[str], tuple[str, ...]] | None) -> EdgeStatus:
    """The edge of the platform's cluster: its controller, its load balancer's address, and every host it serves
    with the state and expiry of its certificate (cert-manager's Certificate named after the TLS Secret, and the
    pending CertificateRequest's message when it is not Ready) and, when ``resolve`` is given, whether DNS points
    the host at the load balancer.

    ``edge: ingress-nginx``: the hosts of the platform's Ingresses (label ``app.kubernetes.io/part-of:
    <platform>``) and the controller's LoadBalancer Service; ``edge: gateway``: the HTTPS listeners of the
    Gateway and the Envoy Service Envoy Gateway made for it, and with the dashboard exposed the SecurityPolicy in
    front of it (a policy Envoy Gateway did not accept, e.g. its htpasswd Secret missing, makes the dashboard
    answer 500: the host is not ready, with Envoy Gateway's message). Three lists, fetched in parallel (a fourth,
    the CertificateRequests, only when a certificate is not Ready); a host whose certificate is not Ready makes the
    platform not healthy, a DNS record that points elsewhere is reported only (it may still be propagating).
    """
    gateway = config.edge == "gateway"
    gateway_namespace, gateway_name = _GATEWAY_NAMESPACE, "platform"  # core.values.GATEWAY_NAME
    dashboard_host = f"tekton.{config.domain}" if gateway and config.dashboard_expose else None
    with ThreadPoolExecutor(max_workers=4) as pool:
        policies = (pool.submit(conn.list, "gateway.envoyproxy.io/v1alpha1", "SecurityPolicy", _TEKTON_NAMESPACE)
                    if dashboard_host else None)
        if gateway:
            fronts_future = pool.submit(conn.list, "gateway.networking.k8s.io/v1", "Gateway", gateway_namespace)
            services = pool.submit(conn.list, "v1", "Service", gateway_namespace,
                                   label_selector=f"gateway.envoyproxy.io/owning-gateway-name={gateway_name}")
        else:
            fronts_future = pool.submit(conn.list, "networking.k8s.io/v1", "Ingress", None,
                                        label_selector=f"app.kubernetes.io/part-of={config.name}")
            services = pool.submit(conn.list, "v1", "Service", _INGRESS_NAMESPACE, label_selector=_INGRESS_SELECTOR)
        certificates = pool.submit(conn.list, "cert-manager.io/v1", "Certificate")
        found_fronts, found_services = fronts_future.result(), services.result()
        try:
            certs = {(c["metadata"].get("namespace"), c["metadata"]["name"]): c for c in certificates.result()}
        except KubeForbidden:
            certs = {}
        try:
            refused = _policy_refusal(policies.result() if policies else [], "tekton-dashboard")
        except KubeError:  # Envoy Gateway's CRDs not there (yet): nothing to say about the policy
            refused = None
    pending: dict[tuple[Any, Any], dict] = {}
    if any(next((c.get("status") for c in (cert.get("status") or {}).get("conditions") or []
                 if c.get("type") == "Ready"), None) != "True" for cert in certs.values()):
        try:  # why a certificate is not issued: its pending CertificateRequest says
            pending = {(r["metadata"].get("namespace"),
                        (r["metadata"].get("annotations") or {}).get("cert-manager.io/certificate-name")): r
                       for r in conn.list("cert-manager.io/v1", "CertificateRequest")}
        except KubeForbidden:
            pending = {}
    address = None
    for service in found_services:
        for point in ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
            address = address or point.get("ip") or point.get("hostname")
    # (namespace, kind/name, cert-manager issues?, host -> TLS Secret or None)
    fronts: list[tuple[str, str, bool, dict[str, str | None]]] = []
    unresolved: dict[str, str] = {}  # the gateway edge: listener name and host -> why its certificate is not used
    for obj in sorted(found_fronts, key=lambda i: (i["metadata"].get("namespace", ""), i["metadata"]["name"])):
        meta, spec = obj["metadata"], obj.get("spec") or {}
        by_cert_manager = any(k.startswith("cert-manager.io/") for k in meta.get("annotations") or {})
        if gateway:
            if meta["name"] != gateway_name:
                continue
            hosts: dict[str, str | None] = {}
            for listener_status in (obj.get("status") or {}).get("listeners") or []:
                resolved = next((c for c in listener_status.get("conditions") or []
                                 if c.get("type") == "ResolvedRefs"), {})
                if resolved.get("status") == "False":
                    unresolved[listener_status.get("name")] = resolved.get("message") or resolved.get("reason", "")
            for listener in spec.get("listeners") or []:
                if listener.get("name") in unresolved and listener.get("hostname"):
                    unresolved[listener["hostname"]] = unresolved[listener["name"]]
                if listener.get("hostname"):
                    refs = (listener.get("tls") or {}).get("certificateRefs") or [{}]
                    hosts[listener["hostname"]] = refs[0].get("name") if listener.get("protocol") == "HTTPS" else \
                        hosts.get(listener["hostname"])
        else:
            secrets = {h: tls.get("secretName") for tls in spec.get("tls") or [] for h in tls.get("hosts") or []}
            hosts = {r["host"]: secrets.get(r["host"]) for r in spec.get("rules") or [] if r.get("host")}
        fronts.append((meta.get("namespace", ""), meta["name"], by_cert_manager, hosts))
    result = []
    for namespace, name, by_cert_manager, hosts in fronts:
        for host in sorted(hosts):
            secret = hosts[host]
            expires, message = None, ""
            if not secret:
                state, ready = "none", True
            elif not by_cert_manager:
                state, ready = "brought", True
            elif (cert := certs.get((namespace, secret))) is None:
                state, ready, message = "not found", False, f"no Certificate {namespace}/{secret} yet"
            else:
                condition = next((c for c in (cert.get("status") or {}).get("conditions") or []
                                  if c.get("type") == "Ready"), {})
                ready = condition.get("status") == "True"
                state, expires = ("Ready" if ready else "not ready"), (cert.get("status") or {}).get("notAfter")
                request = pending.get((namespace, secret))
                why = next((c.get("message") for c in ((request or {}).get("status") or {}).get("conditions") or []
                            if c.get("type") == "Ready" and c.get("status") != "True"), None)
                message = "" if ready else (why or condition.get("message") or "not issued yet")
            dns = None
            if resolve is not None:
                addresses = resolve(host)
                dns = ("does not resolve" if not addresses else "ok" if address in addresses
                       else f"points at {', '.join(addresses)}")
            if ready and secret and host in unresolved:  # Envoy Gateway does not use the certificate
                ready, message = False, unresolved[host].replace("\n", "; ")
            if host == dashboard_host and refused and ready:
                ready, message = False, f"basic authentication refused by Envoy Gateway: {refused}"
            result.append(HostStatus(host=host, ingress=f"{namespace}/{name}",
                                     url=f"{'https' if secret else 'http'}://{host}", certificate=state,
                                     expires=expires, dns=dns, ready=ready, message=message))
    where = gateway_namespace if gateway else _INGRESS_NAMESPACE
    controller = (f"{'envoy-gateway' if gateway else 'ingress-nginx'} "
                  f"({where if found_services else 'not found'})")
    return EdgeStatus(controller=controller, address=address, hosts=tuple(result))


def _policy_refusal(policies: list[dict], name: str) -> str | None:
    """Envoy Gateway's message when it did not accept the SecurityPolicy ``name`` (None when accepted or not
    looked at yet)."""
    for policy in policies:
        if policy["metadata"]["name"] != name:
            continue
        for ancestor in (policy.get("status") or {}).get("ancestors") or []:
            for condition in ancestor.get("conditions") or []:
                if condition.get("type") == "Accepted" and condition.get("status") == "False":
                    return condition.get("message") or condition.get("reason") or "not accepted"
    return None


def resolve_host(host: str) -> tuple[str, ...]:
    """The addresses DNS gives ``host`` (empty when it does not resolve)."""
    import socket

    try:
        return tuple(sorted({info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}))
    except (OSError, UnicodeError):
        return ()


def _behind(config: Config, apps: tuple[AppStatus, ...]) -> tuple[AppStatus, ...]:
    """An environment that changes only through promote says when it runs another digest than the one before it."""
    by_key = {(a.app, a.environment): a for a in apps}
    order = [e.name for e in config.environments]
    out = []
    for status in apps:
        index = order.index(status.environment)
        previous = by_key.get((status.app, order[index - 1])) if index else None
        env = config.environment(status.environment)
        if (not env.automated and previous is not None and previous.digest and status.ready
                and status.digest != previous.digest):
            runs = status.digest[:19] if status.digest else "nothing"
            status = status._replace(message=f"behind {previous.environment}: runs {runs}, {previous.environment} "
                                             f"runs {previous.digest[:19]} (kubectl gitops promote {status.app})")
        out.append(status)
    return tuple(out)


def _platform_application(status: AppStatus, head: str | None) -> AppStatus:
    """The platform Application's message says where its synced revision stands against the branch head."""
    if not head or not status.revision or not status.ready:
        return status
    if head.startswith(status.revision) or status.revision.startswith(head):
        return status._replace(message=f"at the repository's head {head[:12]}")
    return status._replace(message=f"synced at {status.revision[:12]}, repository head {head[:12]} "
                                   "(Argo CD has not caught up yet)")


def _repository_head(config: Config) -> tuple[str | None, str]:
    """The head of the GitOps branch, or None and why not (never an error: status reports it)."""
    import os

    from ..adapters import git
    from ..core.secrets import Secret

    token = (os.environ.get("GITOPS_GIT_TOKEN") or "").strip()
    base = Path(config.source).resolve().parent if config.source else Path.cwd()
    remote = git.Remote(url=git.normalize_url(config.gitops.repo, base=base), token=Secret(token) if token else None,
                        environ=dict(os.environ))
    try:
        state = git.ls_remote(remote, timeout=10.0)
    except GitopsError as exc:
        return None, str(exc)
    head = state.heads.get(config.gitops.branch)
    return head, "" if head else f"branch {config.gitops.branch} does not exist yet"


def _platform_applications(config: Config, found: dict[str, dict]) -> dict[str, str]:
    """Name -> phase of the Applications that manage the platform itself (``root`` for the app-of-apps)."""
    out = {}
    for name, obj in found.items():
        phase = ((obj.get("metadata") or {}).get("labels") or {}).get("gitops.kubectl.dev/release-phase")
        if phase:
            out[name] = phase
        elif name == f"{config.name}-root":
            out[name] = "root"
    return out
