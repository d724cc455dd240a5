"""The controllers of the platform, played on the Kubernetes API stand-in (:class:`fakekube.FakeKube`).

A real cluster runs controllers that turn the platform's helm releases into running software;
bootstrap waits on what they report. :class:`FakePlatform` plays them as one reactor
(``FakeKube.add_reactor``) that writes only through the stand-in's own API, as a controller would:

- workload controller: Deployments and StatefulSets roll out (status with observedGeneration,
  updated/ready/available replicas and conditions);
- Job controller: Jobs complete, with the side effects of the helm hook Jobs of the pinned
  charts: ``*-redis-secret-init`` (argo-cd) creates Secret ``argocd-redis``,
  ``*-admission-create`` (ingress-nginx) creates the webhook's certificate Secret.
  ``*-admission-patch`` completes without writing the CA into the ValidatingWebhookConfiguration:
  the stand-in's server-side apply treats the ``webhooks`` list as atomic, so a ``caBundle``
  written by another manager would make every later Helm 4 apply of that configuration
  conflict, which a real API server (``webhooks`` keyed by ``name``) does not;
- EndpointSlice controller: each Service with a selector gets the endpoints of the workloads it
  selects (ready when the workload's replicas are ready), with named target ports resolved,
  unless the stand-in plays that controller itself (``FakeKube(auto_endpoints=True)``);
- cloud controller: LoadBalancer Services get an ingress IP (``load_balancer_ip``); given the DigitalOcean
  stand-in (``digitalocean``, and ``cluster``: the account's cluster this stand-in serves), DigitalOcean's
  cloud controller manager instead (:class:`fakeccm.FakeCloudControllerManager`, ``ccm``): Services adopt,
  rename, create and delete the account's load balancers (``do-loadbalancer-disown`` honoured) and get
  their load balancer's IP;
- argocd-server: once rolled out, when ``argocd-secret`` holds no admin password yet, picks one,
  stores its bcrypt hash in ``argocd-secret`` (``admin.password``, ``admin.passwordMtime``) and the
  password itself in ``argocd-initial-admin-secret`` (key ``password``), as Argo CD does;
- Tekton operator (the Deployment running container ``tekton-operator-lifecycle``, once rolled
  out): creates the TektonConfig ``config`` itself when its ``AUTOINSTALL_COMPONENTS`` is true;
  reconciles a TektonConfig by making it the controlling owner of its target namespace (creating
  the namespace, or taking over an existing one nobody owns yet, as upstream; the stand-in API
  server has no garbage collector, so deleting the TektonConfig leaves the namespace here while a
  real cluster deletes it), creating the Tekton Pipelines and Triggers
  CRDs of the reference data, their Deployments and webhook Services, the core
  ClusterInterceptors and the EventListener ClusterRoles, and the Deployments of the optional
  components its spec leaves on with upstream's defaults (Tekton Chains, Pipelines-as-Code; see
  :meth:`FakePlatform.optional_components`; without their intermediate TektonChain /
  OpenShiftPipelinesAsCode objects and CRDs), then marks it Ready once the core Deployments have
  rolled out;
- Argo CD repo-server and application controller (once the StatefulSet ``*-application-controller``
  has rolled out): :class:`fakeargocd.FakeArgoCD` (``argocd``) resolves every Application's sources
  in real git repositories and syncs them as Argo CD does (see its docstring; ``helm_charts``,
  ``kubectl`` and ``remote_kubes`` are passed to it); a deleted Application with the resources
  finalizer has its objects deleted and the finalizer released, as has a deleted AppProject;
- cert-manager (once the Deployment ``cert-manager``, component ``controller``, has rolled out):
  :class:`fakecertmanager.FakeCertManager` (``certmanager``) registers ACME issuers, turns annotated
  Ingresses into Certificates and issues them into ``kubernetes.io/tls`` Secrets (see its docstring);
- Envoy Gateway (once the Deployment ``envoy-gateway`` has rolled out; v1.9, internal/provider and
  infrastructure/kubernetes/proxy): a GatewayClass whose ``controllerName`` is
  ``gateway.envoyproxy.io/gatewayclass-controller`` becomes Accepted; each Gateway of such a class gets, in
  the controller's namespace, the Envoy Deployment and LoadBalancer Service ``envoy-<namespace>-<name>-<hash>``
  (labels ``gateway.envoyproxy.io/owning-gateway-name``/``-namespace``, the Gateway's
  ``spec.infrastructure.annotations`` and ``labels`` copied on; later changes server-side applied as field
  manager ``envoy-gateway``, as upstream's ``InfraClient.CreateOrUpdate`` does, so annotations that others
  set stay), then Accepted and Programmed with the
  Service's address once the cloud controller gave it one. Routes get no status and no traffic is served. A
  SecurityPolicy with ``basicAuth`` (internal/gatewayapi/securitypolicy.go ``buildBasicAuth``,
  ``validateHtpasswdFormat``) gets, per Gateway its target route attaches to, an ancestor status ``Accepted``
  True, or False with reason ``Invalid`` and upstream's message when the users Secret (in the policy's namespace)
  is missing, has no ``.htpasswd`` key or holds anything but unsalted ``{SHA}`` entries; it is re-evaluated when
  a Secret of its namespace changes. A GatewayClass of Envoy Gateway carries the finalizer
  ``gateway-exists-finalizer.gateway.networking.k8s.io`` while Gateways of it exist and loses it when none is
  left (internal/provider/kubernetes/controller.go ``addFinalizer``/``removeFinalizer``), only while Envoy
  Gateway runs: once its Deployment is deleted, a GatewayClass being deleted keeps the finalizer;
- Tekton Pipelines' controller and webhook (once the ``tekton-pipelines-controller`` Deployment has
  rolled out; its admission checks of Tekton objects from the start): :class:`faketekton.FakeTekton`
  (``tekton``) turns PipelineRuns into TaskRuns and Pods with scripted step logs (see its docstring).

Switches (sets and dicts, read at each event, so a test may change them before the events it
means to affect): ``never_ready`` and ``failed_rollouts`` hold ``(kind, namespace, name)`` of
workloads that stay unavailable (Progressing) or fail (ProgressDeadlineExceeded);
``held_jobs`` (Job names) stay running, ``failing_jobs`` fail with BackoffLimitExceeded;
``failing_applications`` maps Application names to the message of their failed sync.

The small controllers run synchronously inside the reactor (under the stand-in's store lock), so
when a request that created an object returns, they have already acted on it. The Tekton operator's
reconcile creates many large objects, and Argo CD runs git and kubectl: each runs in a thread of its
own, as the real ones do, so that no request holds the stand-in's lock for that long: call
:meth:`FakePlatform.settle` before looking at what they create (bootstrap waits for them like for
the real ones). Handler errors are
collected in ``errors`` (tests assert it stays empty), never raised into the stand-in's request
handling. Install it on a stand-in before the objects it plays controllers for are created, and
:meth:`FakePlatform.close` it at the end. Not played: pods other than Tekton's, scheduling.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import secrets
import threading
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from fakeargocd import FakeArgoCD
from fakeccm import FakeCloudControllerManager
from fakecertmanager import FakeCertManager
from faketekton import FakeTekton

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

TEKTON_CRD_DIRS = ("tekton-pipeline-v1.15.0", "tekton-triggers-v0.37.0")
# what the operator installs into the TektonConfig's targetNamespace (profile all), and their ports
TEKTON_DEPLOYMENTS = {
    "tekton-pipelines-controller": {"http-metrics": 9090},
    "tekton-pipelines-webhook": {"https-webhook": 8443},
    "tekton-pipelines-remote-resolvers": {"metrics": 9090},
    "tekton-events-controller": {"http-metrics": 9090},
    "tekton-triggers-controller": {"http-metrics": 9000},
    "tekton-triggers-webhook": {"https-webhook": 8443},
    "tekton-triggers-core-interceptors": {"https": 8443},
    "tekton-dashboard": {"http": 9097},
}
TEKTON_SERVICES = {  # service -> (port, target port name)
    "tekton-pipelines-webhook": (443, "https-webhook"),
    "tekton-triggers-webhook": (443, "https-webhook"),
    "tekton-triggers-core-interceptors": (8443, "https"),
    "tekton-dashboard": (9097, "http"),
}
# optional components the operator installs into the targetNamespace, by the TektonConfig switch that
# controls them (see FakePlatform.optional_components)
GATEWAY_CLASS_FINALIZER = "gateway-exists-finalizer.gateway.networking.k8s.io"
CHAINS_DEPLOYMENTS = ("tekton-chains-controller",)
RESULTS_DEPLOYMENTS = ("tekton-results-api", "tekton-results-watcher")  # (and StatefulSet tekton-results-postgres)
PIPELINES_AS_CODE_DEPLOYMENTS = ("pipelines-as-code-controller", "pipelines-as-code-watcher",
                                 "pipelines-as-code-webhook")
CLUSTER_INTERCEPTORS = ("cel", "github", "gitlab", "bitbucket", "slack")
ARGOCD_FINALIZER = "resources-finalizer.argocd.argoproj.io"
_WORKLOADS = ("Deployment", "StatefulSet")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _labels(obj: dict) -> dict:
    return _meta(obj).get("labels") or {}


def _pod_labels(workload: dict) -> dict:
    return (((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}


def _containers(workload: dict) -> list[dict]:
    return ((((workload.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")) or []


def _env(workload: dict, container: str) -> dict[str, str]:
    for c in _containers(workload):
        if c.get("name") == container:
            return {e["name"]: str(e.get("value", "")) for e in c.get("env") or [] if "value" in e}
    return {}


def _condition(obj: dict, type_: str) -> dict:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == type_), {})


def _rolled_out(workload: dict | None) -> bool:
    if not workload:
        return False
    status = workload.get("status") or {}
    replicas = (workload.get("spec") or {}).get("replicas", 1)
    return (status.get("observedGeneration") == _meta(workload).get("generation")
            and status.get("updatedReplicas", 0) >= replicas and status.get("availableReplicas", 0) >= replicas)


def _fake_pem(what: str) -> str:
    body = base64.b64encode(hashlib.sha256(what.encode()).digest() * 3).decode()
    return f"-----BEGIN {what}-----\n{body}\n-----END {what}-----\n"


def _listeners_without_times(listeners: list[dict] | None) -> list:
    return [dict(lst, conditions=[dict(c, lastTransitionTime=None) for c in lst.get("conditions") or []])
            for lst in listeners or []]


def _htpasswd_error(text: str) -> str | None:
    """Envoy Gateway v1.9's check of a basic-auth users file: unsalted ``{SHA}`` entries only."""
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        if ":" not in line:
            return "invalid htpasswd format: each line must be in the format 'username:password'"
        password = line.split(":", 1)[1]
        if not password.startswith("{SHA}"):
            return "unsupported htpasswd format: please use {SHA}"
        try:
            digest = base64.b64decode(password[len("{SHA}"):], validate=True)
        except ValueError:
            return "invalid htpasswd format: {SHA} must be base64-encoded SHA1"
        if len(digest) != 20:
            return "invalid htpasswd format: {SHA} must be SHA1 (20 bytes)"
    return None


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class FakePlatform:
    """The platform's controllers for one :class:`fakekube.FakeKube`; see the module docstring."""

    def __init__(self, kube, reference: Path, *, load_balancer_ip: str | None = "203.0.113.10",
                 helm_charts: Iterable[tuple[str, str, str]] | None = None, kubectl: str | Path | None = None,
                 remote_kubes: dict | None = None, digitalocean=None, cluster: str | None = None) -> None:
        self.kube = kube
        self.reference = Path(reference)
        self.load_balancer_ip = None if digitalocean is not None else load_balancer_ip
        self.never_ready: set[tuple[str, str, str]] = set()
        self.failed_rollouts: set[tuple[str, str, str]] = set()
        self.held_jobs: set[str] = set()
        self.failing_jobs: set[str] = set()
        self.failing_applications: dict[str, str] = {}
        self.errors: list[str] = []
        self._queue: collections.deque = collections.deque()
        self._busy = False
        self._crds: list[dict] | None = None
        self._operator_work: collections.deque = collections.deque()
        self._operator_busy = False
        self._operator_cond = threading.Condition()
        self._closed = False
        self._operator_thread = threading.Thread(target=self._operator_loop, name="fake-tekton-operator",
                                                 daemon=True)
        self._argocd_was_running = False
        self.argocd = FakeArgoCD(kube, helm_charts=helm_charts, kubectl=kubectl, remote_kubes=remote_kubes,
                                 failing_applications=self.failing_applications, running=self._argocd_running)
        self.argocd.errors = self.errors
        self.certmanager = FakeCertManager(kube)
        self._envoy_gateway: str | None = None  # Envoy Gateway's namespace, once it runs
        self._tekton_was_running = False
        self.tekton = FakeTekton(kube, self.reference, running=lambda: self._tekton_was_running)
        self.tekton.errors = self.errors
        self.ccm: FakeCloudControllerManager | None = None
        if digitalocean is not None:
            self.ccm = FakeCloudControllerManager(kube, digitalocean, cluster=cluster)
            self.ccm.errors = self.errors

    def install(self) -> FakePlatform:
        self.kube.add_reactor(self._react)
        if self.ccm is not None:
            self.ccm.install()
        self._operator_thread.start()
        self.argocd.start()
        self.tekton.install(crds=False)
        return self

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until the Tekton operator and Argo CD have nothing left to reconcile."""
        for _ in range(5):  # one's writes may give the other work
            with self._operator_cond:
                if not self._operator_cond.wait_for(lambda: not self._operator_work and not self._operator_busy,
                                                    timeout=timeout):
                    raise TimeoutError(f"the Tekton operator stand-in is still busy after {timeout} s")
            self.argocd.settle(timeout)
            self.tekton.settle(timeout)
            with self._operator_cond:
                if not self._operator_work and not self._operator_busy:
                    return

    def close(self) -> None:
        with self._operator_cond:
            self._closed = True
            self._operator_cond.notify_all()
        self._operator_thread.join(timeout=30)
        self.argocd.close()
        self.tekton.close()

    def _operator_loop(self) -> None:
        while True:
            with self._operator_cond:
                self._operator_cond.wait_for(lambda: self._operator_work or self._closed)
                if self._closed:
                    return
                name = self._operator_work.popleft()
                self._operator_busy = True
            try:
                self._reconcile_tekton_config(name)
            except Exception:  # noqa: BLE001 - reported through `errors`
                self.errors.append(f"TektonConfig {name}: {traceback.format_exc()}")
            finally:
                with self._operator_cond:
                    self._operator_busy = False
                    self._operator_cond.notify_all()

    # ------------------------------------------------------------ dispatch
    def _react(self, event: str, obj: dict) -> None:
        self._queue.append((event, obj.get("apiVersion", ""), obj.get("kind", ""),
                            _meta(obj).get("namespace") or None, _meta(obj).get("name", "")))
        if self._busy:
            return  # a write of ours: handled once the current event is done
        self._busy = True
        try:
            while self._queue:
                item = self._queue.popleft()
                try:
                    self._handle(*item)
                except Exception:  # noqa: BLE001 - reported through `errors`, never into the stand-in
                    self.errors.append(f"{item}: {traceback.format_exc()}")
        finally:
            self._busy = False

    def _handle(self, event: str, api_version: str, kind: str, namespace: str | None, name: str) -> None:
        if kind == "Application" and api_version.startswith("argoproj.io/"):
            if event == "DELETED":
                self.argocd.application_deleted(namespace or "", name, cascade=False)
            else:
                self._application(namespace, name)
            return
        self.argocd.resource_event(api_version, kind, namespace, name)
        self.certmanager.handle(event, api_version, kind, namespace, name)
        if event == "DELETED":
            if kind == "Deployment" and name == "envoy-gateway" and namespace == self._envoy_gateway:
                self._envoy_gateway = None  # Envoy Gateway stopped: nothing removes its finalizers any more
            if kind in _WORKLOADS and namespace:
                self._sync_endpoints(namespace)
            elif kind == "Service" and api_version == "v1" and not getattr(self.kube, "auto_endpoints", False):
                self._delete_endpoints(namespace, name)
            elif kind == "Gateway" and api_version.startswith("gateway.networking.k8s.io/"):
                self._gateway_class_finalizers()
            elif kind in ("Secret", "ReferenceGrant") and namespace:  # a certificate a listener read may be gone
                for gateway in self._gateways_reading(namespace, name if kind == "Secret" else None):
                    self._gateway(*gateway)
            return
        if kind in _WORKLOADS and api_version == "apps/v1":
            self._workload(kind, namespace, name)
        elif kind == "Service" and api_version == "v1":
            self._service(namespace, name)
        elif kind == "Job" and api_version == "batch/v1":
            self._job(namespace, name)
        elif kind == "TektonConfig":
            self._tekton_config(name)
        elif kind in ("Gateway", "GatewayClass") and api_version.startswith("gateway.networking.k8s.io/"):
            gateways = self.kube.find_all("gateways.gateway.networking.k8s.io") if kind == "GatewayClass" else []
            for gateway in [(namespace, name)] if kind == "Gateway" else [
                    (_meta(g)["namespace"], _meta(g)["name"]) for g in gateways]:
                self._gateway(*gateway)
            self._gateway_class_finalizers()
        elif kind == "AppProject" and api_version.startswith("argoproj.io/"):
            self._release_finalizer("appprojects.argoproj.io", namespace, name)
        elif kind == "SecurityPolicy" and api_version.startswith("gateway.envoyproxy.io/"):
            self._security_policy(namespace, name)
        elif kind == "Secret" and api_version == "v1" and namespace:
            for policy in self.kube.find_all("securitypolicies.gateway.envoyproxy.io", namespace):
                self._security_policy(namespace, _meta(policy)["name"])
            for gateway in self._gateways_reading(namespace, name):
                self._gateway(*gateway)
        elif kind == "ReferenceGrant" and api_version.startswith("gateway.networking.k8s.io/") and namespace:
            for gateway in self._gateways_reading(namespace, None):
                self._gateway(*gateway)

    # ------------------------------------------------------------ workloads
    def _workload(self, kind: str, namespace: str, name: str) -> None:
        resource = "deployments" if kind == "Deployment" else "statefulsets"
        obj = self.kube.find(resource, name, namespace)
        if obj is None:
            return
        key = (kind, namespace, name)
        if key in self.never_ready or key in self.failed_rollouts:
            self._stall(resource, obj, failed=key in self.failed_rollouts)
        elif not _rolled_out(obj):
            self.kube.mark_available(resource, name, namespace)
            obj = self.kube.find(resource, name, namespace)
        if not _rolled_out(obj):
            self._sync_endpoints(namespace)
            return
        self._sync_endpoints(namespace)
        component = _labels(obj).get("app.kubernetes.io/component")
        if _labels(obj).get("app.kubernetes.io/part-of") == "argocd":
            if kind == "Deployment" and component == "server":
                self._initial_admin_secret(namespace)
            if kind == "StatefulSet" and component == "application-controller" and not self._argocd_was_running:
                self._argocd_was_running = True
                self.argocd.controller_started()
                for app in self.kube.find_all("applications.argoproj.io"):
                    if _meta(app).get("deletionTimestamp"):
                        self._application(_meta(app).get("namespace"), _meta(app)["name"])
        if kind == "Deployment" and name == "envoy-gateway" and not self._envoy_gateway:
            self._envoy_gateway = namespace
            for gateway in self.kube.find_all("gateways.gateway.networking.k8s.io"):
                self._gateway(_meta(gateway)["namespace"], _meta(gateway)["name"])
            self._gateway_class_finalizers()
        if kind == "Deployment" and component == "controller" and _labels(obj).get("app.kubernetes.io/name") == \
                "cert-manager":
            self.certmanager.started(namespace)
        if kind == "Deployment" and any(c.get("name") == "tekton-operator-lifecycle" for c in _containers(obj)):
            self._operator_started(obj)
        if kind == "Deployment" and name == "tekton-pipelines-controller" and not self._tekton_was_running:
            self._tekton_was_running = True
            self.tekton.started()
        if kind == "Deployment" and name in TEKTON_DEPLOYMENTS:
            for config in self.kube.find_all("tektonconfigs.operator.tekton.dev"):
                self._tekton_config(_meta(config)["name"])

    def _stall(self, resource: str, obj: dict, *, failed: bool) -> None:
        meta, spec = _meta(obj), obj.get("spec") or {}
        replicas = spec.get("replicas", 1)
        status = obj.get("status") or {}
        reason = "ProgressDeadlineExceeded" if failed else "ReplicaSetUpdated"
        if status.get("observedGeneration") == meta.get("generation") and (
                _condition(obj, "Progressing").get("reason") == reason or resource == "statefulsets"):
            return
        now = _now()
        new = {"observedGeneration": meta.get("generation", 1), "replicas": replicas, "updatedReplicas": replicas,
               "readyReplicas": 0, "availableReplicas": 0}
        if resource == "deployments":
            new["unavailableReplicas"] = replicas
            progressing = ({"status": "False", "reason": reason,
                            "message": f'ReplicaSet "{meta["name"]}-5d8f7c9b4" has timed out progressing.'}
                           if failed else
                           {"status": "True", "reason": reason,
                            "message": f'ReplicaSet "{meta["name"]}-5d8f7c9b4" is progressing.'})
            new["conditions"] = [
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                 "message": "Deployment does not have minimum availability.", "lastUpdateTime": now,
                 "lastTransitionTime": now},
                {"type": "Progressing", **progressing, "lastUpdateTime": now, "lastTransitionTime": now},
            ]
        else:
            revision = f"{meta['name']}-{meta.get('generation', 1)}"
            new.update(currentReplicas=replicas, currentRevision=revision, updateRevision=revision)
        self.kube.put_status(resource, meta["name"], new, meta.get("namespace"))

    # ------------------------------------------------------------ services and endpoints
    # ------------------------------------------------------------ Envoy Gateway
    def _gateway(self, namespace: str, name: str) -> None:
        gateway = self.kube.find("gateways.gateway.networking.k8s.io", name, namespace)
        if gateway is None or self._envoy_gateway is None:
            return
        class_name = (gateway.get("spec") or {}).get("gatewayClassName", "")
        gateway_class = self.kube.find("gatewayclasses.gateway.networking.k8s.io", class_name)
        if ((gateway_class or {}).get("spec") or {}).get("controllerName") != \
                "gateway.envoyproxy.io/gatewayclass-controller":
            return
        now = _now()
        if _condition(gateway_class, "Accepted").get("status") != "True":
            self.kube.put_status("gatewayclasses.gateway.networking.k8s.io", class_name, {"conditions": [
                {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "Valid GatewayClass",
                 "lastTransitionTime": now, "observedGeneration": _meta(gateway_class).get("generation", 1)}]})
        suffix = hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:8]
        proxy = f"envoy-{namespace}-{name}-{suffix}"[:63].rstrip("-")
        infrastructure = (gateway.get("spec") or {}).get("infrastructure") or {}
        labels = {**(infrastructure.get("labels") or {}), "app.kubernetes.io/name": "envoy",
                  "app.kubernetes.io/component": "proxy", "app.kubernetes.io/managed-by": "envoy-gateway",
                  "gateway.envoyproxy.io/owning-gateway-name": name,
                  "gateway.envoyproxy.io/owning-gateway-namespace": namespace}
        annotations = infrastructure.get("annotations") or {}
        ns = self._envoy_gateway
        if self.kube.find("deployments", proxy, ns) is None:
            self.kube.create({"apiVersion": "apps/v1", "kind": "Deployment",
                              "metadata": {"name": proxy, "namespace": ns, "labels": labels,
                                           "annotations": annotations},
                              "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                                       "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                                           {"name": "envoy", "image": "docker.io/envoyproxy/envoy:distroless-v1.39.0",
                                            "ports": [{"name": "http", "containerPort": 10080},
                                                      {"name": "https", "containerPort": 10443}]}]}}}})
        service = self.kube.find("services", proxy, ns)
        if service is None:
            self.kube.create({"apiVersion": "v1", "kind": "Service",
                              "metadata": {"name": proxy, "namespace": ns, "labels": labels,
                                           "annotations": annotations},
                              "spec": {"type": "LoadBalancer", "selector": labels, "ports": [
                                  {"name": "http-80", "port": 80, "targetPort": 10080},
                                  {"name": "https-443", "port": 443, "targetPort": 10443}]}})
            service = self.kube.find("services", proxy, ns)
        elif any((_meta(service).get("annotations") or {}).get(k) != v for k, v in annotations.items()):
            self.kube.apply({"apiVersion": "v1", "kind": "Service",
                             "metadata": {"name": proxy, "namespace": ns, "labels": labels,
                                          "annotations": annotations}}, manager="envoy-gateway")
            service = self.kube.find("services", proxy, ns)
        points = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        addresses = [{"type": "IPAddress", "value": p["ip"]} if p.get("ip") else
                     {"type": "Hostname", "value": p["hostname"]} for p in points]
        generation = _meta(gateway).get("generation", 1)
        programmed = bool(addresses)
        status = {"addresses": addresses, "listeners": self._listener_statuses(gateway, programmed), "conditions": [
            {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "The Gateway has been scheduled "
             "by Envoy Gateway", "lastTransitionTime": now, "observedGeneration": generation},
            {"type": "Programmed", "status": "True" if programmed else "False",
             "reason": "Programmed" if programmed else "AddressNotAssigned",
             "message": "Sending translated listeners and routes to the data plane" if programmed else
             "No addresses have been assigned to the Gateway", "lastTransitionTime": now,
             "observedGeneration": generation}]}
        old = gateway.get("status") or {}
        if [dict(c, lastTransitionTime=None) for c in old.get("conditions") or []] != [
                dict(c, lastTransitionTime=None) for c in status["conditions"]] or old.get("addresses") != addresses \
                or _listeners_without_times(old.get("listeners")) != _listeners_without_times(status["listeners"]):
            self.kube.put_status("gateways.gateway.networking.k8s.io", name, status, namespace)

    def _gateway_class_finalizers(self) -> None:
        """Envoy Gateway's finalizer on each of its GatewayClasses: on while Gateways of it exist, off otherwise."""
        if self._envoy_gateway is None:
            return
        used = {(g.get("spec") or {}).get("gatewayClassName")
                for g in self.kube.find_all("gateways.gateway.networking.k8s.io")}
        for gateway_class in self.kube.find_all("gatewayclasses.gateway.networking.k8s.io"):
            if (gateway_class.get("spec") or {}).get("controllerName") != \
                    "gateway.envoyproxy.io/gatewayclass-controller":
                continue
            name = _meta(gateway_class)["name"]
            finalizers = list(_meta(gateway_class).get("finalizers") or [])
            wanted = name in used
            if wanted == (GATEWAY_CLASS_FINALIZER in finalizers):
                continue

            def mutate(obj: dict, wanted: bool = wanted) -> None:
                kept = [f for f in obj["metadata"].get("finalizers") or [] if f != GATEWAY_CLASS_FINALIZER]
                obj["metadata"]["finalizers"] = [*kept, GATEWAY_CLASS_FINALIZER] if wanted else kept
            self.kube.update("gatewayclasses.gateway.networking.k8s.io", name, mutate)

    def _listener_statuses(self, gateway: dict, programmed: bool) -> list[dict]:
        """Each listener's status as Envoy Gateway v1.9 reports it (internal/gatewayapi/validate.go,
        ``validateTerminateModeAndGetTLSSecrets``): an HTTPS listener resolves its certificate Secrets, across
        namespaces only where a ReferenceGrant (v1beta1) there permits Gateways of the listener's namespace, and
        each must exist, be ``kubernetes.io/tls`` and hold ``tls.crt`` and ``tls.key``; with none valid,
        ResolvedRefs is False (RefNotPermitted when every error is one, else InvalidCertificateRef) and the listener is
        not programmed. ``attachedRoutes`` is not counted here (0)."""
        namespace = _meta(gateway)["namespace"]
        now, generation = _now(), _meta(gateway).get("generation", 1)
        statuses = []
        for listener in (gateway.get("spec") or {}).get("listeners") or []:
            errors: list[tuple[str, str]] = []
            valid = 0
            for index, ref in enumerate((listener.get("tls") or {}).get("certificateRefs") or []):
                secret_ns = ref.get("namespace") or namespace
                if secret_ns != namespace and not self._reference_granted(namespace, secret_ns, ref["name"]):
                    errors.append(("RefNotPermitted", f"certificate refs {index}: Certificate ref to secret "
                                   f"{secret_ns}/{ref['name']} not permitted by any ReferenceGrant."))
                    continue
                secret = self.kube.find("secrets", ref["name"], secret_ns)
                where = f"certificate refs {index}: Secret {secret_ns}/{ref['name']}"
                if secret is None:
                    errors.append(("InvalidCertificateRef", f"{where} does not exist."))
                elif secret.get("type") != "kubernetes.io/tls":
                    errors.append(("InvalidCertificateRef", f"{where} must be of type kubernetes.io/tls."))
                elif not all((secret.get("data") or {}).get(k) for k in ("tls.crt", "tls.key")):
                    errors.append(("InvalidCertificateRef", f"{where} must contain tls.crt and tls.key."))
                else:
                    valid += 1
            resolved = {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs",
                        "message": "Listener references have been resolved"}
            if listener.get("tls") and not valid:
                reason = ("RefNotPermitted" if errors and all(r == "RefNotPermitted" for r, _ in errors)
                          else "InvalidCertificateRef")
                resolved = {"type": "ResolvedRefs", "status": "False", "reason": reason,
                            "message": "No valid secrets exist: " + "\n".join(m for _, m in errors)}
            ok = resolved["status"] == "True" and programmed
            conditions = [
                {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "Listener has been "
                 "successfully translated"},
                resolved,
                {"type": "Programmed", "status": "True" if ok else "False", "reason": "Programmed" if ok else
                 "Invalid", "message": "Sending translated listener configuration to the data plane" if ok else
                 "Listener is invalid, see other Conditions for details."}]
            statuses.append({"name": listener["name"], "attachedRoutes": 0, "supportedKinds": [
                {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"},
                {"group": "gateway.networking.k8s.io", "kind": "GRPCRoute"}],
                "conditions": [dict(c, lastTransitionTime=now, observedGeneration=generation) for c in conditions]})
        return statuses

    def _reference_granted(self, from_namespace: str, namespace: str, secret: str) -> bool:
        for grant in self.kube.find_all("referencegrants.gateway.networking.k8s.io", namespace):
            spec = grant.get("spec") or {}
            if any(f.get("group") == "gateway.networking.k8s.io" and f.get("kind") == "Gateway"
                   and f.get("namespace") == from_namespace for f in spec.get("from") or []) and any(
                    (t.get("group") or "") == "" and t.get("kind") == "Secret" and t.get("name", secret) == secret
                    for t in spec.get("to") or []):
                return True
        return False

    def _gateways_reading(self, namespace: str, secret: str | None) -> list[tuple[str, str]]:
        """The Gateways with a listener whose certificate is ``namespace``/``secret`` (any Secret there: None)."""
        found = []
        for gateway in self.kube.find_all("gateways.gateway.networking.k8s.io"):
            own = _meta(gateway)["namespace"]
            refs = [r for listener in (gateway.get("spec") or {}).get("listeners") or []
                    for r in (listener.get("tls") or {}).get("certificateRefs") or []]
            if any((r.get("namespace") or own) == namespace and secret in (None, r.get("name")) for r in refs):
                found.append((own, _meta(gateway)["name"]))
        return found

    def _security_policy(self, namespace: str, name: str) -> None:
        policy = self.kube.find("securitypolicies.gateway.envoyproxy.io", name, namespace)
        if policy is None or self._envoy_gateway is None:
            return
        spec = policy.get("spec") or {}
        users = (spec.get("basicAuth") or {}).get("users")
        if users is None:
            return
        error = None
        secret_ns = users.get("namespace") or namespace
        secret = self.kube.find("secrets", users.get("name", ""), secret_ns)
        if secret is None:
            error = f"secret {secret_ns}/{users.get('name')} does not exist"
        else:
            data = base64.b64decode((secret.get("data") or {}).get(".htpasswd", "") or "")
            if not data:
                error = f'secret {secret_ns}/{users.get("name")} must contain a non-empty ".htpasswd" key'
            else:
                error = _htpasswd_error(data.replace(b"\r\n", b"\n").decode("utf-8", "replace"))
        ancestors = []
        for target in spec.get("targetRefs") or []:
            if target.get("kind") != "HTTPRoute":
                continue
            route = self.kube.find("httproutes.gateway.networking.k8s.io", target.get("name", ""), namespace)
            for parent in ((route or {}).get("spec") or {}).get("parentRefs") or []:
                ref = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": parent["name"],
                       "namespace": parent.get("namespace") or namespace}
                condition = {"type": "Accepted", "status": "False" if error else "True",
                             "reason": "Invalid" if error else "Accepted",
                             "message": f"BasicAuth: {error}." if error else "Policy has been accepted.",
                             "lastTransitionTime": _now(), "observedGeneration": _meta(policy).get("generation", 1)}
                ancestors.append({"ancestorRef": ref, "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                                  "conditions": [condition]})
        old = (policy.get("status") or {}).get("ancestors") or []
        strip = [[dict(c, lastTransitionTime=None) for c in a["conditions"]] for a in ancestors]
        if strip != [[dict(c, lastTransitionTime=None) for c in a.get("conditions") or []] for a in old]:
            self.kube.put_status("securitypolicies.gateway.envoyproxy.io", name, {"ancestors": ancestors}, namespace)

    def _service(self, namespace: str, name: str) -> None:
        service = self.kube.find("services", name, namespace)
        if service is None:
            return
        spec = service.get("spec") or {}
        ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress")
        if spec.get("type") == "LoadBalancer" and self.load_balancer_ip and not ingress:
            self.kube.set_load_balancer_ip(name, namespace, ip=self.load_balancer_ip)
        self._sync_endpoints(namespace, only=name)
        owner = _labels(service)
        if owner.get("gateway.envoyproxy.io/owning-gateway-name"):  # the Gateway's address
            self._gateway(owner.get("gateway.envoyproxy.io/owning-gateway-namespace", ""),
                          owner["gateway.envoyproxy.io/owning-gateway-name"])

    def _sync_endpoints(self, namespace: str, only: str | None = None) -> None:
        if getattr(self.kube, "auto_endpoints", False):
            return  # the stand-in plays the EndpointSlice controller itself
        workloads = [w for r in ("deployments", "statefulsets") for w in self.kube.find_all(r, namespace)]
        for service in self.kube.find_all("services", namespace):
            selector = (service.get("spec") or {}).get("selector")
            if not selector or (only and _meta(service)["name"] != only):
                continue
            selected = [w for w in workloads if all(_pod_labels(w).get(k) == v for k, v in selector.items())]
            self._put_endpoints(service, selected)

    @staticmethod
    def _slice_name(namespace: str, service: str) -> str:
        return f"{service}-{hashlib.sha256(f'{namespace}/{service}'.encode()).hexdigest()[:5]}"

    def _delete_endpoints(self, namespace: str, service: str) -> None:
        """What garbage collection does for the Service's endpoints (owned by it)."""
        for resource, name in (("endpointslices.discovery.k8s.io", self._slice_name(namespace, service)),
                               ("endpoints", service)):
            if self.kube.find(resource, name, namespace) is not None:
                self.kube.delete(resource, name, namespace)

    def _put_endpoints(self, service: dict, workloads: list[dict]) -> None:
        namespace, name = _meta(service)["namespace"], _meta(service)["name"]
        ns = self.kube.find("namespaces", namespace)
        if ns is None or _meta(ns).get("deletionTimestamp"):
            return  # nothing new is created in a namespace being deleted
        container_ports = {p["name"]: p["containerPort"] for w in workloads for c in _containers(w)
                           for p in c.get("ports") or [] if p.get("name")}
        ports = []
        for port in (service.get("spec") or {}).get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            number = target if isinstance(target, int) else container_ports.get(target)
            if number is None:
                continue  # a named port no selected pod declares gets no endpoint port
            entry = {"port": number, "protocol": port.get("protocol", "TCP")}
            if port.get("name"):
                entry["name"] = port["name"]
            ports.append(entry)
        endpoints = []
        for workload in workloads:
            replicas = (workload.get("spec") or {}).get("replicas", 1)
            ready = (workload.get("status") or {}).get("readyReplicas", 0)
            for i in range(replicas):
                digest = hashlib.sha256(f"{namespace}/{_meta(workload)['name']}/{i}".encode()).digest()
                endpoints.append({
                    "addresses": [f"10.244.{digest[0]}.{digest[1] % 250 + 2}"],
                    "conditions": {"ready": i < ready, "serving": i < ready, "terminating": False},
                    "targetRef": {"kind": "Pod", "namespace": namespace,
                                  "name": f"{_meta(workload)['name']}-{digest.hex()[:10]}-{digest.hex()[10:15]}"},
                })
        try:
            self.kube.resolve("endpointslices.discovery.k8s.io")
        except KeyError:
            self._put_legacy_endpoints(namespace, name, ports, endpoints)
            return
        slice_name = self._slice_name(namespace, name)
        current = self.kube.find("endpointslices.discovery.k8s.io", slice_name, namespace)
        if current is None:
            self.kube.create({
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": slice_name, "namespace": namespace,
                             "labels": {"kubernetes.io/service-name": name,
                                        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
                "addressType": "IPv4", "endpoints": endpoints, "ports": ports,
            }, manager="endpointslice-controller")
        elif current.get("endpoints") != endpoints or current.get("ports") != ports:
            self.kube.update("endpointslices.discovery.k8s.io", slice_name,
                             lambda o: o.update(endpoints=endpoints, ports=ports), namespace)

    def _put_legacy_endpoints(self, namespace: str, name: str, ports: list, endpoints: list) -> None:
        ready = [{"ip": e["addresses"][0], "targetRef": e["targetRef"]} for e in endpoints if e["conditions"]["ready"]]
        not_ready = [{"ip": e["addresses"][0], "targetRef": e["targetRef"]} for e in endpoints
                     if not e["conditions"]["ready"]]
        subset: dict[str, Any] = {"ports": ports}
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        subsets = [subset] if endpoints else []
        current = self.kube.find("endpoints", name, namespace)
        if current is None:
            self.kube.create({"apiVersion": "v1", "kind": "Endpoints",
                              "metadata": {"name": name, "namespace": namespace}, "subsets": subsets},
                             manager="endpoint-controller")
        elif current.get("subsets") != subsets:
            self.kube.update("endpoints", name, lambda o: o.update(subsets=subsets), namespace)

    # ------------------------------------------------------------ jobs (helm hooks)
    def _job(self, namespace: str, name: str) -> None:
        job = self.kube.find("jobs", name, namespace)
        if job is None or name in self.held_jobs:
            return
        status = job.get("status") or {}
        if any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in status.get("conditions") or []):
            return
        now = _now()
        if name in self.failing_jobs:
            limit = (job.get("spec") or {}).get("backoffLimit", 6)
            message = "Job has reached the specified backoff limit"
            self.kube.put_status("jobs", name, {
                "startTime": now, "failed": limit + 1, "conditions": [
                    {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": message,
                     "lastProbeTime": now, "lastTransitionTime": now},
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": message,
                     "lastProbeTime": now, "lastTransitionTime": now}]}, namespace)
            return
        self._job_effects(namespace, name)
        self.kube.put_status("jobs", name, {
            "startTime": now, "completionTime": now, "succeeded": 1, "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods", "lastProbeTime": now,
                 "lastTransitionTime": now},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods", "lastProbeTime": now,
                 "lastTransitionTime": now}]}, namespace)

    def _job_effects(self, namespace: str, name: str) -> None:
        if name.endswith("-redis-secret-init") and self.kube.find("secrets", "argocd-redis", namespace) is None:
            self.kube.create({"apiVersion": "v1", "kind": "Secret",
                              "metadata": {"name": "argocd-redis", "namespace": namespace},
                              "type": "Opaque", "data": {"auth": _b64(secrets.token_urlsafe(12))}},
                             manager="argocd")
        elif name.endswith("-admission-create"):
            secret = name.removesuffix("-create")
            if self.kube.find("secrets", secret, namespace) is None:
                self.kube.create({"apiVersion": "v1", "kind": "Secret",
                                  "metadata": {"name": secret, "namespace": namespace},
                                  "data": {"ca": _b64(_fake_pem("CERTIFICATE")), "cert": _b64(_fake_pem("CERTIFICATE")),
                                           "key": _b64(_fake_pem("EC PRIVATE KEY"))}},
                                 manager="kube-webhook-certgen")

    # ------------------------------------------------------------ argo cd
    def _initial_admin_secret(self, namespace: str) -> None:
        existing = self.kube.find("secrets", "argocd-secret", namespace)
        if existing is None or (existing.get("data") or {}).get("admin.password"):
            return
        password = secrets.token_urlsafe(12)
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4, prefix=b"2a")).decode()
        admin = {"admin.password": _b64(hashed), "admin.passwordMtime": _b64(_now())}
        self.kube.update("secrets", "argocd-secret", lambda o: o.update(data={**(o.get("data") or {}), **admin}),
                         namespace)
        if self.kube.find("secrets", "argocd-initial-admin-secret", namespace) is None:
            self.kube.create({"apiVersion": "v1", "kind": "Secret",
                              "metadata": {"name": "argocd-initial-admin-secret", "namespace": namespace},
                              "type": "Opaque", "data": {"password": _b64(password)}},
                             manager="argocd-server")

    def _argocd_running(self) -> bool:
        return any(_labels(s).get("app.kubernetes.io/part-of") == "argocd"
                   and _labels(s).get("app.kubernetes.io/component") == "application-controller" and _rolled_out(s)
                   for s in self.kube.find_all("statefulsets"))

    def _release_finalizer(self, resource: str, namespace: str | None, name: str) -> bool:
        obj = self.kube.find(resource, name, namespace)
        if obj is None or not _meta(obj).get("deletionTimestamp") or not self._argocd_running():
            return False
        if ARGOCD_FINALIZER in (_meta(obj).get("finalizers") or []):
            self.kube.update(resource, name, lambda o: o["metadata"].update(
                finalizers=[f for f in o["metadata"]["finalizers"] if f != ARGOCD_FINALIZER]), namespace)
        return True

    def _application(self, namespace: str | None, name: str) -> None:
        if not self._argocd_running():
            return
        app = self.kube.find("applications.argoproj.io", name, namespace)
        if app is None:
            return
        if _meta(app).get("deletionTimestamp"):
            cascade = ARGOCD_FINALIZER in (_meta(app).get("finalizers") or [])
            self.argocd.application_deleted(namespace or "", name, cascade=cascade)
            self._release_finalizer("applications.argoproj.io", namespace, name)
            return
        self.argocd.application_event(app)

    # ------------------------------------------------------------ tekton operator
    def _operator(self) -> dict | None:
        for deployment in self.kube.find_all("deployments"):
            if any(c.get("name") == "tekton-operator-lifecycle" for c in _containers(deployment)):
                return deployment
        return None

    def _operator_started(self, operator: dict) -> None:
        env = _env(operator, "tekton-operator-lifecycle")
        if env.get("AUTOINSTALL_COMPONENTS", "true").lower() == "true" and self.kube.find(
                "tektonconfigs.operator.tekton.dev", "config") is None:
            self.kube.create({"apiVersion": "operator.tekton.dev/v1alpha1", "kind": "TektonConfig",
                              "metadata": {"name": "config"},
                              "spec": {"profile": "all",
                                       "targetNamespace": env.get("DEFAULT_TARGET_NAMESPACE", "tekton-pipelines")}},
                             manager="tekton-operator")
        for config in self.kube.find_all("tektonconfigs.operator.tekton.dev"):
            self._tekton_config(_meta(config)["name"])

    def _tekton_crds(self) -> list[dict]:
        if self._crds is None:
            self._crds = []
            for directory in TEKTON_CRD_DIRS:
                for path in sorted((self.reference / "crds" / directory).glob("*.yaml")):
                    self._crds += [d for d in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_Loader)
                                   if d and d.get("kind") == "CustomResourceDefinition"]
        return self._crds

    def _tekton_config(self, name: str) -> None:
        """Hand a TektonConfig to the operator's thread (once, however often it is asked)."""
        with self._operator_cond:
            if name not in self._operator_work:
                self._operator_work.append(name)
                self._operator_cond.notify_all()

    def _reconcile_tekton_config(self, name: str) -> None:
        operator = self._operator()
        config = self.kube.find("tektonconfigs.operator.tekton.dev", name)
        if config is None or not _rolled_out(operator):
            return
        target = (config.get("spec") or {}).get("targetNamespace") or _env(
            operator, "tekton-operator-lifecycle").get("DEFAULT_TARGET_NAMESPACE", "tekton-pipelines")
        self._target_namespace(config, target)
        self._install_tekton(target)
        self._install_optional(target, config.get("spec") or {})
        deployments = {n: self.kube.find("deployments", n, target) for n in TEKTON_DEPLOYMENTS}
        waiting = sorted(n for n, d in deployments.items() if not _rolled_out(d))
        generation = _meta(config).get("generation", 1)
        if waiting:
            ready = {"type": "Ready", "status": "Unknown", "reason": "Error",
                     "message": f"Components not in ready state: {', '.join(waiting)} not ready"}
        else:
            ready = {"type": "Ready", "status": "True", "reason": "", "message": ""}
        components = {**ready, "type": "ComponentsReady"}
        status = config.get("status") or {}
        have = [{k: c.get(k) for k in ("type", "status", "reason", "message")} for c in status.get("conditions") or []]
        if have == [components, ready] and status.get("observedGeneration") == generation:
            return
        now = _now()
        self.kube.put_status("tektonconfigs.operator.tekton.dev", name, {
            "observedGeneration": generation,
            "version": str(operator["spec"]["template"]["spec"]["containers"][0]["image"]).rpartition(":")[2],
            "conditions": [{**components, "lastTransitionTime": now}, {**ready, "lastTransitionTime": now}],
        })

    def _target_namespace(self, config: dict, target: str) -> None:
        """As the operator's ``ReconcileTargetNamespace``: the TektonConfig becomes the controlling owner
        of its target namespace, created or already there (unless something else owns it already), which
        carries the label ``operator.tekton.dev/targetNamespace: "true"``; other namespaces with that label
        owned by a TektonConfig of the same name are deleted."""
        label = "operator.tekton.dev/targetNamespace"
        owner = {"apiVersion": config["apiVersion"], "kind": "TektonConfig", "name": _meta(config)["name"],
                 "uid": _meta(config)["uid"], "controller": True, "blockOwnerDeletion": True}
        for namespace in self.kube.find_all("namespaces"):
            meta = _meta(namespace)
            owners = meta.get("ownerReferences") or []
            if (meta["name"] != target and (meta.get("labels") or {}).get(label) == "true" and owners
                    and owners[0].get("name") == owner["name"] and not meta.get("deletionTimestamp")):
                self.kube.delete("namespaces", meta["name"])
        existing = self.kube.find("namespaces", target)
        if existing is None:
            self.kube.create({"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": target, "labels": {label: "true"}, "ownerReferences": [owner]}},
                             manager="tekton-operator")
            return
        meta = _meta(existing)
        if not meta.get("ownerReferences") or (meta.get("labels") or {}).get(label) != "true":
            def mutate(obj: dict) -> None:
                obj["metadata"].setdefault("labels", {})[label] = "true"
                if not obj["metadata"].get("ownerReferences"):
                    obj["metadata"]["ownerReferences"] = [owner]
            self.kube.update("namespaces", target, mutate)

    @staticmethod
    def optional_components(spec: dict) -> dict[str, bool]:
        """Which optional components operator v0.81 installs for a TektonConfig ``spec`` on Kubernetes.

        Upstream's defaulting webhook sets ``platforms.kubernetes.pipelinesAsCode.enable: true`` when the
        TektonConfig has no ``pipelinesAsCode`` (``addon.enablePipelinesAsCode: false`` turns it off), and
        the reconciler installs it under profile ``all`` only; Chains and Results come with profiles ``all``
        and ``basic`` unless ``chain.disabled`` / ``result.disabled`` (pkg/reconciler/shared/tektonconfig).
        The stand-in applies those defaults when it reconciles (it
        plays no admission webhook, so the stored object keeps what was sent).
        """
        profile = spec.get("profile") or "basic"
        pac = ((spec.get("platforms") or {}).get("kubernetes") or {}).get("pipelinesAsCode")
        if pac is None:
            pac_enabled = (spec.get("addon") or {}).get("enablePipelinesAsCode") is not False
        else:
            pac_enabled = pac.get("enable") is not False
        return {"chains": profile in ("all", "basic") and not (spec.get("chain") or {}).get("disabled", False),
                "results": profile in ("all", "basic") and not (spec.get("result") or {}).get("disabled", False),
                "pipelines-as-code": profile == "all" and pac_enabled}

    def _install_optional(self, target: str, spec: dict) -> None:
        wanted = self.optional_components(spec)
        for component, names in (("chains", CHAINS_DEPLOYMENTS), ("results", RESULTS_DEPLOYMENTS),
                                 ("pipelines-as-code", PIPELINES_AS_CODE_DEPLOYMENTS)):
            for name in names:
                present = self.kube.find("deployments", name, target) is not None
                if wanted[component] and not present:
                    labels = {"app": name, "app.kubernetes.io/part-of": f"tekton-{component}"}
                    self.kube.create({
                        "apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": name, "namespace": target, "labels": labels},
                        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                                     {"name": name, "image": f"ghcr.io/tektoncd/{component}/{name}:stand-in"}]}}},
                    }, manager="tekton-operator")
                elif not wanted[component] and present:
                    self.kube.delete("deployments", name, target)

    def _install_tekton(self, target: str) -> None:
        for crd in self._tekton_crds():
            if self.kube.find("customresourcedefinitions", crd["metadata"]["name"]) is None:
                self.kube.create(crd, manager="tekton-operator")
        for name in ("tekton-triggers-eventlistener-roles", "tekton-triggers-eventlistener-clusterroles"):
            if self.kube.find("clusterroles", name) is None:
                labels = {"app.kubernetes.io/part-of": "tekton-triggers"}
                self.kube.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                  "metadata": {"name": name, "labels": labels},
                                  "rules": [{"apiGroups": ["triggers.tekton.dev"], "verbs": ["get", "list", "watch"],
                                             "resources": ["eventlisteners", "triggerbindings", "triggertemplates",
                                                           "triggers", "interceptors", "clusterinterceptors"]}]},
                                 manager="tekton-operator")
        for name, service in TEKTON_SERVICES.items():
            if self.kube.find("services", name, target) is None:
                port, target_port = service
                self.kube.create({"apiVersion": "v1", "kind": "Service",
                                  "metadata": {"name": name, "namespace": target, "labels": {"app": name}},
                                  "spec": {"selector": {"app": name},
                                           "ports": [{"name": target_port, "port": port, "targetPort": target_port}]}},
                                 manager="tekton-operator")
        for name, ports in TEKTON_DEPLOYMENTS.items():
            if self.kube.find("deployments", name, target) is None:
                part_of = "tekton-dashboard" if "dashboard" in name else (
                    "tekton-triggers" if "triggers" in name else "tekton-pipelines")
                labels = {"app": name, "app.kubernetes.io/name": name.removeprefix("tekton-"),
                          "app.kubernetes.io/part-of": part_of}
                self.kube.create({
                    "apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": name, "namespace": target, "labels": labels},
                    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                             "template": {"metadata": {"labels": labels},
                                          "spec": {"containers": [{
                                              "name": name.removeprefix("tekton-"),
                                              "image": f"ghcr.io/tektoncd/{part_of}/{name}:stand-in",
                                              "ports": [{"name": n, "containerPort": p} for n, p in ports.items()]}]}}},
                }, manager="tekton-operator")
        for name in CLUSTER_INTERCEPTORS:
            if self.kube.find("clusterinterceptors.triggers.tekton.dev", name) is None:
                self.kube.create({"apiVersion": "triggers.tekton.dev/v1alpha1", "kind": "ClusterInterceptor",
                                  "metadata": {"name": name},
                                  "spec": {"clientConfig": {"service": {
                                      "name": "tekton-triggers-core-interceptors", "namespace": target,
                                      "path": name, "port": 8443}}}},
                                 manager="tekton-operator")
