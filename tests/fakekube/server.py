"""The HTTP server and object store of the Kubernetes API stand-in (see the package docstring)."""

from __future__ import annotations

import base64
import bisect
import copy
import json
import random
import socket
import string
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

from . import logs, patching, protobuf
from .resources import (
    BUILTIN,
    VERBS,
    Resource,
    SelectorError,
    parse_field_selector,
    parse_label_selector,
    version_priority,
)

K8S_VERSION = {
    "major": "1",
    "minor": "35",
    "gitVersion": "v1.35.0",
    "gitCommit": "fakekube",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.24",
    "compiler": "gc",
    "platform": "linux/amd64",
}
SA_TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
SA_UID_ANNOTATION = "kubernetes.io/service-account.uid"
# Over plain HTTP there is no CA: this is what the token controller puts in ``ca.crt`` then (not a usable CA).
FAKE_CA_PEM = "-----BEGIN CERTIFICATE-----\nZmFrZWt1YmUgc3RhbmQtaW4gQ0E=\n-----END CERTIFICATE-----\n"
NAME_RE = __import__("re").compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
WATCH_DEFAULT_TIMEOUT = 1800


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def _annotation(obj: dict, key: str) -> str | None:
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(key)


def _fake_jwt(namespace: str, account: str, secret: str) -> str:
    """A token shaped like a service-account JWT (unsigned: the stand-in checks tokens by value)."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {
        "iss": "kubernetes/serviceaccount",
        "kubernetes.io/serviceaccount/namespace": namespace,
        "kubernetes.io/serviceaccount/secret.name": secret,
        "kubernetes.io/serviceaccount/service-account.name": account,
        "sub": f"system:serviceaccount:{namespace}:{account}",
        "jti": uuid.uuid4().hex,
    }
    return f"{part({'alg': 'RS256', 'kid': 'fakekube'})}.{part(claims)}.{uuid.uuid4().hex}"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _not_found(res: Resource, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{res.qualified} "{name}" not found',
        {"name": name, "group": res.group, "kind": res.plural},
    )


def _invalid(res: Resource, name: str, message: str, field_path: str = "") -> ApiError:
    qualified_kind = f"{res.kind}.{res.group}" if res.group else res.kind
    return ApiError(
        422,
        "Invalid",
        f'{qualified_kind} "{name}" is invalid: {message}',
        {
            "name": name,
            "group": res.group,
            "kind": res.kind,
            "causes": [{"reason": "FieldValueInvalid", "message": message, "field": field_path}],
        },
    )


@dataclass
class RequestRecord:
    method: str
    path: str
    verb: str
    query: dict = field(default_factory=dict)
    code: int = 0
    user: str = ""  # the authenticated user (see FakeKube.tokens)


@dataclass
class _Event:
    rv: int
    key: tuple
    namespace: str
    type: str
    obj: dict
    old: dict | None


class FakeKube:
    """An in-memory Kubernetes API server for tests; see the package docstring for the differences."""

    def __init__(
        self,
        *,
        auto_establish_crds: bool = True,
        auto_available: bool = False,
        auto_endpoints: bool = False,
        token_controller: bool = True,
        tls: bool = False,
        namespaces=("default", "kube-system", "kube-public", "kube-node-lease"),
        version: str = K8S_VERSION["gitVersion"],
    ):
        major, minor = version.removeprefix("v").split(".")[:2]
        self.version = {**K8S_VERSION, "major": major, "minor": minor, "gitVersion": version}
        self.auto_establish_crds = auto_establish_crds
        self.auto_available = auto_available
        self.auto_endpoints = auto_endpoints
        self.token_controller = token_controller
        self.tls = tls
        self.certificates = None  # fakekube.tls.ServerCertificates when serving HTTPS
        self.tokens: dict[str, str] | None = None  # bearer token -> user; None accepts any request
        self.default_user = "kubernetes-admin"
        self._denied: list[tuple[str, str, str, str | None]] = []
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._rv = 0
        self._store: dict[tuple, dict[tuple, dict]] = {}
        self._groups: dict[str, dict[str, dict[str, Resource]]] = {}
        self._events: list[_Event] = []
        self._logs: dict[tuple, list[tuple[float, str]]] = {}  # (namespace, pod, uid, container) -> lines
        self._event_rvs: list[int] = []
        self._discovery_generation = 0
        self._stopping = threading.Event()
        self._reactors = []
        self._admission = []  # callbacks(operation, res, obj, old, strict) -> obj; see add_admission
        self._local = threading.local()  # the query of the request being served on this thread
        self.requests: list[RequestRecord] = []
        self.writes = 0
        self._httpd = None
        self._thread = None
        self._connections: set = set()
        self._connections_lock = threading.Lock()  # not the store lock: accepting must never wait on a request
        self.kubeconfig: Path | None = None
        self.context = "fake"
        for res in BUILTIN:
            self._register(copy.copy(res))
        self._reactors.append(self._controllers)
        for ns in namespaces:
            self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        self.reset_counters()

    # ------------------------------------------------------------ lifecycle
    def start(self) -> FakeKube:
        kube = self
        context = None
        if self.tls:
            import ssl

            from .tls import ServerCertificates

            self.certificates = ServerCertificates()
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.certificates.cert_file, self.certificates.key_file)
            context.load_verify_locations(cadata=self.certificates.ca.pem.decode())
            context.verify_mode = ssl.CERT_OPTIONAL  # client certificates authenticate when given

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128  # helm and kubectl open many connections at once; a full backlog resets them

            def get_request(self):
                sock, addr = super().get_request()
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if context is not None:  # the handshake happens on the handler's thread, at its first read
                    sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                with kube._connections_lock:
                    kube._connections.add(sock)
                return sock, addr

            def handle_error(self, request, client_address):
                if not isinstance(sys.exc_info()[1], OSError):  # TLS handshake failures and resets are the client's
                    super().handle_error(request, client_address)

            def shutdown_request(self, request):
                with kube._connections_lock:
                    kube._connections.discard(request)
                super().shutdown_request(request)

        self._httpd = Server(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fakekube", daemon=True
        )
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        self._httpd.shutdown()
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()
        self._thread.join(5)
        self._httpd = None
        if self.certificates is not None:
            self.certificates.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def write_kubeconfig(self, path, context: str = "fake", namespace: str = "default",
                         client_certificate: str | None = None) -> Path:
        """A kubeconfig for this server: bearer token ``fake-token``, or with ``client_certificate`` a client
        certificate for that user name (HTTPS only); with HTTPS, the CA as ``certificate-authority-data``."""
        path = Path(path)
        self.context = context
        cluster = {"server": self.url}
        user = {"token": "fake-token"}
        if self.certificates is not None:
            cluster["certificate-authority-data"] = base64.b64encode(self.certificates.ca.pem).decode()
            if client_certificate:
                cert, key = self.certificates.ca.issue(client_certificate)
                user = {"client-certificate-data": base64.b64encode(cert).decode(),
                        "client-key-data": base64.b64encode(key).decode()}
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": context,
            "preferences": {},
            "clusters": [{"name": context, "cluster": cluster}],
            "users": [{"name": context, "user": user}],
            "contexts": [
                {"name": context, "context": {"cluster": context, "user": context, "namespace": namespace}}
            ],
        }
        path.write_text(yaml.safe_dump(config))
        self.kubeconfig = path
        return path

    # ------------------------------------------------------------ resource table
    def _register(self, res: Resource) -> None:
        self._groups.setdefault(res.group, {}).setdefault(res.version, {})[res.plural] = res
        self._store.setdefault(res.key, {})
        self._discovery_generation += 1

    def _unregister_crd(self, crd_name: str) -> None:
        for group in list(self._groups):
            for version in list(self._groups[group]):
                plurals = self._groups[group][version]
                for plural in [p for p, r in plurals.items() if r.crd == crd_name]:
                    del plurals[plural]
                if not plurals:
                    del self._groups[group][version]
            if not self._groups[group]:
                del self._groups[group]
        self._discovery_generation += 1

    def _resource(self, group: str, version: str, plural: str) -> Resource | None:
        return self._groups.get(group, {}).get(version, {}).get(plural)

    def _any_version(self, group: str, plural: str) -> Resource | None:
        versions = self._groups.get(group, {})
        for version in sorted(versions, key=version_priority):
            if plural in versions[version]:
                return versions[version][plural]
        return None

    def resolve(self, name: str) -> Resource:
        """Find a resource by plural, ``plural.group``, kind or short name (case-insensitive)."""
        lowered = name.lower()
        with self._lock:
            candidates = [
                res
                for versions in self._groups.values()
                for version in sorted(versions, key=version_priority)
                for res in versions[version].values()
            ]
            for res in candidates:
                names = {res.plural, res.kind.lower(), res.singular, *res.short_names}
                if res.group and lowered in {f"{n}.{res.group}" for n in names}:
                    return res
            for builtin_first in (True, False):
                for res in candidates:
                    if (res.crd is None) == builtin_first and lowered in {
                        res.plural,
                        res.kind.lower(),
                        res.singular,
                        *res.short_names,
                    }:
                        return res
        raise KeyError(f"unknown resource {name!r}")

    # ------------------------------------------------------------ store helpers (hold the lock)
    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _emit(self, res: Resource, type_: str, obj: dict, old: dict | None = None) -> None:
        ns = obj.get("metadata", {}).get("namespace", "")
        event = _Event(self._rv, res.key, ns, type_, copy.deepcopy(obj), old)
        self._events.append(event)
        self._event_rvs.append(self._rv)
        self.writes += 1
        self._cond.notify_all()
        for reactor in list(self._reactors):
            reactor(type_, copy.deepcopy(obj))

    def add_admission(self, callback) -> None:
        """Play an admission plugin or webhook: ``callback(operation, res, obj, old, strict) -> obj`` is called
        (under the store lock) before an object is created (``CREATE``, ``old`` None) or its main resource
        replaced (``UPDATE``); it returns the object to store (possibly changed) or raises :class:`ApiError`
        to refuse the write. ``strict`` is true when the request asked for ``fieldValidation=Strict``
        (kubectl does by default). Writes made through the Python API pass through it too."""
        self._admission.append(callback)

    def _admitted(self, operation: str, res: Resource, obj: dict, old: dict | None) -> dict:
        query = getattr(self._local, "query", None) or {}
        strict = query.get("fieldValidation") == "Strict"
        for callback in list(self._admission):
            obj = callback(operation, res, obj, old, strict)
        return obj

    def add_reactor(self, callback) -> None:
        """``callback(event_type, obj)`` is called (under the store lock) after every change."""
        self._reactors.append(callback)

    # ------------------------------------------------------------ controllers (run as reactors, under the lock)
    def _controllers(self, type_: str, obj: dict) -> None:
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if self.token_controller and type_ != "DELETED":
            if kind == "Secret" and obj.get("type") == SA_TOKEN_TYPE:
                self._fill_token(obj)
            elif kind == "ServiceAccount" and api_version == "v1":
                namespace = obj["metadata"].get("namespace", "")
                for secret in list(self._store[("", "secrets")].values()):
                    if (secret["metadata"].get("namespace") == namespace and secret.get("type") == SA_TOKEN_TYPE
                            and _annotation(secret, SA_NAME_ANNOTATION) == obj["metadata"]["name"]):
                        self._fill_token(secret)
        if self.auto_endpoints and api_version in ("v1", "apps/v1") and kind in (
            "Service", "Deployment", "StatefulSet", "DaemonSet"
        ):
            self._sync_endpoints(obj["metadata"].get("namespace", ""))

    def _fill_token(self, secret: dict) -> None:
        """The token controller: fill a service-account-token Secret, or delete it when its account is missing."""
        meta = secret["metadata"]
        namespace, name = meta.get("namespace", ""), meta["name"]
        current = self._store[("", "secrets")].get((namespace, name))
        if current is None or (current.get("data") or {}).get("token"):
            return
        account_name = _annotation(current, SA_NAME_ANNOTATION)
        account = self._store[("", "serviceaccounts")].get((namespace, account_name or ""))
        secrets = self._resource("", "v1", "secrets")
        if account is None:
            self._delete(secrets, namespace, name)
            return
        token = _fake_jwt(namespace, account_name, name)
        if self.tokens is not None:
            self.tokens[token] = f"system:serviceaccount:{namespace}:{account_name}"
        new = copy.deepcopy(current)
        new.setdefault("metadata", {}).setdefault("annotations", {})[SA_UID_ANNOTATION] = account["metadata"]["uid"]
        data = new.setdefault("data", {}) or {}
        new["data"] = data
        ca = self.certificates.ca.pem.decode() if self.certificates is not None else FAKE_CA_PEM
        for key, value in (("token", token), ("ca.crt", ca), ("namespace", namespace)):
            data[key] = base64.b64encode(value.encode()).decode()
        new["metadata"].pop("resourceVersion", None)
        self._write(secrets, current, new, manager="kube-controller-manager")

    def _sync_endpoints(self, namespace: str) -> None:
        """The EndpointSlice controller (``auto_endpoints``): one slice per Service with a selector."""
        ready_by_labels = []
        for plural in ("deployments", "statefulsets", "daemonsets"):
            for (ns, _), workload in self._store[("apps", plural)].items():
                if ns != namespace:
                    continue
                labels = ((workload.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
                status = workload.get("status") or {}
                ready = status.get("numberReady") if plural == "daemonsets" else status.get("readyReplicas")
                ready_by_labels.append((labels, int(ready or 0)))
        for (ns, name), service in list(self._store[("", "services")].items()):
            selector = (service.get("spec") or {}).get("selector")
            if ns != namespace or not selector:
                continue
            ready = sum(n for labels, n in ready_by_labels if all(labels.get(k) == v for k, v in selector.items()))
            self._put_endpoints(namespace, name, ready=ready, not_ready=0)

    def _put_endpoints(self, namespace: str, service: str, *, ready: int, not_ready: int) -> dict:
        svc = self._store[("", "services")].get((namespace, service))
        ports = []
        for port in ((svc or {}).get("spec") or {}).get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            entry = {"port": target if isinstance(target, int) else port.get("port"),
                     "protocol": port.get("protocol", "TCP")}
            if port.get("name"):
                entry["name"] = port["name"]
            ports.append(entry)
        endpoints = [
            {
                "addresses": [f"10.244.{i // 250}.{i % 250 + 2}"],
                "conditions": {"ready": i < ready, "serving": i < ready, "terminating": False},
            }
            for i in range(ready + not_ready)
        ]
        suffix = uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/{service}").hex[:5]
        desired = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": f"{service}-{suffix}",
                "namespace": namespace,
                "labels": {
                    "kubernetes.io/service-name": service,
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                },
            },
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": ports,
        }
        res = self._resource("discovery.k8s.io", "v1", "endpointslices")
        current = self._store[res.key].get((namespace, desired["metadata"]["name"]))
        if current is None:
            return self._create(res, namespace, desired, manager="endpointslice-controller")
        new = copy.deepcopy(current)
        new["endpoints"], new["ports"] = endpoints, ports
        new["metadata"].pop("resourceVersion", None)
        return self._write(res, current, new, manager="endpointslice-controller")

    # ------------------------------------------------------------ authentication and authorization
    def deny(self, verb: str = "*", resource: str = "*", group: str = "", namespace: str | None = None) -> None:
        """Refuse ``verb`` on ``resource`` (plural, or ``plural/subresource``) of API ``group``.

        ``"*"`` matches anything; ``namespace`` None means every namespace and the cluster scope.
        Matching requests get 403 with the API server's wording, and SelfSubjectAccessReviews for them
        answer ``allowed: false``.
        """
        with self._lock:
            self._denied.append((verb, resource, group, namespace))

    def allow_all(self) -> None:
        with self._lock:
            self._denied.clear()

    def allowed(self, verb: str, resource: str, group: str = "", namespace: str | None = None) -> bool:
        with self._lock:
            for d_verb, d_resource, d_group, d_namespace in self._denied:
                if (d_verb in ("*", verb) and d_resource in ("*", resource) and d_group in ("*", group)
                        and (d_namespace is None or d_namespace == namespace)):
                    return False
            return True

    def _authenticate(self, handler) -> str | None:
        peer = handler.connection.getpeercert() if self.tls else None
        if peer:  # verified against the CA by the TLS handshake
            return next(value for rdn in peer["subject"] for key, value in rdn if key == "commonName")
        if self.tokens is None:
            return self.default_user
        header = handler.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        return self.tokens.get(token) if scheme.lower() == "bearer" else None

    def _authorize(self, user: str, verb: str, res: Resource, namespace: str, name: str, sub: str) -> None:
        resource = f"{res.plural}/{sub}" if sub else res.plural
        if self.allowed(verb, resource, res.group, namespace or None):
            return
        subject = f'{res.qualified} "{name}"' if name else res.qualified
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        raise ApiError(
            403,
            "Forbidden",
            f'{subject} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API group '
            f'"{res.group}" {scope}',
            {"name": name, "group": res.group, "kind": res.plural},
        )

    def _access_review(self, body: dict) -> dict:
        spec = (body or {}).get("spec") or {}
        attrs = spec.get("resourceAttributes")
        allowed = True
        if attrs:
            resource = attrs.get("resource", "")
            if attrs.get("subresource"):
                resource = f"{resource}/{attrs['subresource']}"
            allowed = self.allowed(attrs.get("verb", ""), resource, attrs.get("group", ""),
                                   attrs.get("namespace") or None)
        return {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": {"allowed": allowed, **({} if allowed else {"reason": ""})},
        }

    def _served(self, obj: dict, res: Resource) -> dict:
        out = copy.deepcopy(obj)
        out["apiVersion"] = res.group_version
        out["kind"] = res.kind
        return out

    # ------------------------------------------------------------ write operations (used by HTTP and hooks)
    def _create(self, res: Resource, namespace: str, obj: dict, *, manager: str, dry_run=False) -> dict:
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the body of the request was not a JSON object")
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {}) or {}
        obj["metadata"] = meta
        if res.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise ApiError(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            namespace = namespace or body_ns or "default"
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
            namespace = ""
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + "".join(
                    random.choices(string.ascii_lowercase + string.digits, k=5)
                )
            else:
                raise _invalid(
                    res,
                    "",
                    "metadata.name: Required value: name or generateName is required",
                    "metadata.name",
                )
        name = meta["name"]
        if not NAME_RE.match(name) or len(name) > 253:
            raise _invalid(
                res,
                name,
                f'metadata.name: Invalid value: "{name}": a lowercase RFC 1123 subdomain '
                "must consist of lower case alphanumeric characters, '-' or '.'",
                "metadata.name",
            )
        if res.kind == "CustomResourceDefinition":
            self._validate_crd(res, obj)
        if self._admission:
            obj = copy.deepcopy(self._admitted("CREATE", res, obj, None))
            meta = obj["metadata"]
        store = self._store[res.key]
        if res.namespaced:
            ns_obj = self._store[("", "namespaces")].get(("", namespace))
            if ns_obj is None:
                raise ApiError(
                    404,
                    "NotFound",
                    f'namespaces "{namespace}" not found',
                    {"name": namespace, "kind": "namespaces"},
                )
            if ns_obj["metadata"].get("deletionTimestamp"):
                raise ApiError(
                    403,
                    "Forbidden",
                    f'{res.qualified} "{name}" is forbidden: unable to create new '
                    f"content in namespace {namespace} because it is being terminated",
                )
        if (namespace, name) in store:
            raise ApiError(
                409,
                "AlreadyExists",
                f'{res.qualified} "{name}" already exists',
                {"name": name, "group": res.group, "kind": res.plural},
            )
        obj["apiVersion"], obj["kind"] = res.group_version, res.kind
        for key in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp", "selfLink"):
            meta.pop(key, None)
        if res.status and res.kind != "Namespace" and res.crd is None and res.kind != "Service":
            obj.pop("status", None)
        elif res.crd is not None and res.status:
            obj.pop("status", None)
        self._defaults(res, obj)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = _now()
        meta["generation"] = 1
        if not meta.get("managedFields"):
            meta.pop("managedFields", None)
            fields = patching.track_update(
                None, obj, manager=manager, api_version=res.group_version, now=_now()
            )
            if fields:
                meta["managedFields"] = fields
        if dry_run:
            meta["resourceVersion"] = str(self._rv)
            return obj
        meta["resourceVersion"] = self._next_rv()
        store[(namespace, name)] = obj
        self._emit(res, "ADDED", obj)
        if res.kind == "CustomResourceDefinition":
            self._register_crd(obj)
        if self.auto_available and res.kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
            obj = self._mark_available(res, obj)
        return obj

    def _defaults(self, res: Resource, obj: dict) -> None:
        kind = res.kind if res.crd is None else ""
        meta = obj["metadata"]
        if kind == "Namespace":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj["status"] = {"phase": "Active"}
        elif kind == "Secret":
            string_data = obj.pop("stringData", None) or {}
            data = obj.setdefault("data", {}) if (string_data or "data" in obj) else None
            for key, value in string_data.items():
                data[key] = base64.b64encode(value.encode()).decode()
            if not obj.get("type"):
                obj["type"] = "Opaque"
        elif kind == "Service":
            spec = obj.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
                spec["clusterIP"] = f"10.96.{random.randint(0, 255)}.{random.randint(1, 254)}"
            if spec.get("clusterIP") and spec["clusterIP"] != "None":
                spec.setdefault("clusterIPs", [spec["clusterIP"]])
            spec.setdefault("sessionAffinity", "None")
            for port in spec.get("ports") or []:
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
            obj.setdefault("status", {"loadBalancer": {}})
        elif kind in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet"):
            spec = obj.setdefault("spec", {})
            if kind != "DaemonSet":
                spec.setdefault("replicas", 1)
            if kind == "Deployment":
                spec.setdefault(
                    "strategy",
                    {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                )
            elif kind == "StatefulSet":
                spec.setdefault(
                    "updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
                )
                spec.setdefault("podManagementPolicy", "OrderedReady")
            elif kind == "DaemonSet":
                spec.setdefault(
                    "updateStrategy",
                    {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                )
        elif kind == "CustomResourceDefinition":
            obj["status"] = {
                "conditions": [],
                "acceptedNames": {"plural": "", "kind": ""},
                "storedVersions": [],
            }

    def _validate_crd(self, res: Resource, obj: dict) -> None:
        spec = obj.get("spec") or {}
        names = spec.get("names") or {}
        name = obj["metadata"]["name"]
        if not spec.get("group") or not names.get("plural") or not names.get("kind"):
            raise _invalid(
                res, name, "spec: Required value: group, names.plural and names.kind are required", "spec"
            )
        if name != f"{names['plural']}.{spec['group']}":
            raise _invalid(
                res,
                name,
                f'metadata.name: Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
                "metadata.name",
            )
        if not spec.get("versions"):
            raise _invalid(
                res,
                name,
                "spec.versions: Invalid value: must have exactly one version marked as storage version",
                "spec.versions",
            )

    def _register_crd(self, crd: dict) -> None:
        spec = crd["spec"]
        names = spec["names"]
        for version in spec.get("versions", []):
            if not version.get("served", True):
                continue
            sub = version.get("subresources") or spec.get("subresources") or {}
            self._register(
                Resource(
                    spec["group"],
                    version["name"],
                    names["plural"],
                    names["kind"],
                    spec.get("scope") == "Namespaced",
                    singular=names.get("singular") or names["kind"].lower(),
                    short_names=list(names.get("shortNames") or []),
                    categories=list(names.get("categories") or []),
                    status="status" in sub,
                    scale="scale" in sub,
                    crd=crd["metadata"]["name"],
                )
            )
        if self.auto_establish_crds:
            self._establish(crd["metadata"]["name"])

    def _establish(self, crd_name: str) -> dict:
        res = self._resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        crd = self._store[res.key].get(("", crd_name))
        if crd is None:
            raise _not_found(res, crd_name)
        old = copy.deepcopy(crd)
        now = _now()
        crd["status"] = {
            "acceptedNames": copy.deepcopy(crd["spec"]["names"]),
            "storedVersions": [v["name"] for v in crd["spec"].get("versions", []) if v.get("storage")],
            "conditions": [
                {
                    "type": "NamesAccepted",
                    "status": "True",
                    "reason": "NoConflicts",
                    "message": "no conflicts found",
                    "lastTransitionTime": now,
                },
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                    "lastTransitionTime": now,
                },
            ],
        }
        crd["metadata"]["resourceVersion"] = self._next_rv()
        self._emit(res, "MODIFIED", crd, old)
        return crd

    def _write(
        self,
        res: Resource,
        old: dict,
        new: dict,
        *,
        manager: str | None,
        section: str = "main",
        dry_run=False,
        managed_fields: list | None = None,
    ) -> dict:
        """Store ``new`` as the next state of ``old`` (PUT semantics for the given section)."""
        if not isinstance(new, dict):
            raise ApiError(400, "BadRequest", "the body of the request was not a JSON object")
        meta_old = old["metadata"]
        name = meta_old["name"]
        new = copy.deepcopy(new)
        new_meta = new.get("metadata") or {}
        if new_meta.get("name") not in (None, name):
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        rv = new_meta.get("resourceVersion")
        if rv and rv != meta_old.get("resourceVersion"):
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {res.qualified} "{name}": the object has '
                "been modified; please apply your changes to the latest version and try again",
                {"name": name, "group": res.group, "kind": res.plural},
            )
        if section == "main" and self._admission and not (new_meta.get("deletionTimestamp") and
                                                          old["metadata"].get("deletionTimestamp")):
            new = copy.deepcopy(self._admitted("UPDATE", res, new, old))
            new_meta = new.get("metadata") or {}
        if section == "status":
            result = copy.deepcopy(old)
            if "status" in new:
                result["status"] = new["status"]
            else:
                result.pop("status", None)
        else:
            result = new
            meta = copy.deepcopy(new_meta)
            for key in (
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "namespace",
                "generation",
                "name",
            ):
                if key in meta_old:
                    meta[key] = meta_old[key]
                else:
                    meta.pop(key, None)
            if res.kind == "Namespace":
                meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
            result["metadata"] = meta
            if res.status or "status" not in result:
                if "status" in old:
                    result["status"] = copy.deepcopy(old["status"])
                else:
                    result.pop("status", None)
            if res.kind == "Secret" and res.crd is None:
                self._defaults(res, result)
            if res.kind == "Service" and res.crd is None:
                spec = result.setdefault("spec", {})
                for key in ("clusterIP", "clusterIPs"):
                    if key not in spec and key in (old.get("spec") or {}):
                        spec[key] = old["spec"][key]
        result["apiVersion"], result["kind"] = res.group_version, res.kind
        meta = result["metadata"]
        if managed_fields is not None:
            meta["managedFields"] = managed_fields
        elif new_meta.get("managedFields") not in (None, meta_old.get("managedFields")) and section == "main":
            meta["managedFields"] = new_meta["managedFields"]
        elif manager:
            meta["managedFields"] = patching.track_update(
                old, result, manager=manager, api_version=res.group_version, now=_now(), section=section
            )
            if section == "main" and not meta["managedFields"]:
                meta.pop("managedFields")
        else:
            meta["managedFields"] = meta_old.get("managedFields")
        if not meta.get("managedFields"):
            meta.pop("managedFields", None)

        def body(o):
            return {k: v for k, v in o.items() if k not in ("metadata", "status", "apiVersion", "kind")}

        if body(result) != body(old):
            meta["generation"] = int(meta_old.get("generation", 1)) + 1
        meta["resourceVersion"] = meta_old["resourceVersion"]
        if _strip_times(result) == _strip_times(old):
            return copy.deepcopy(old)  # no-op writes do not bump the resourceVersion
        if dry_run:
            return result
        meta["resourceVersion"] = self._next_rv()
        ns = meta.get("namespace", "")
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            del self._store[res.key][(ns, name)]
            self._emit(res, "DELETED", result, old)
            self._after_delete(res, result)
            return result
        self._store[res.key][(ns, name)] = result
        self._emit(res, "MODIFIED", result, old)
        return result

    def _delete(self, res: Resource, namespace: str, name: str, *, dry_run=False, preconditions=None) -> dict:
        store = self._store[res.key]
        obj = store.get((namespace, name))
        if obj is None:
            raise _not_found(res, name)
        preconditions = preconditions or {}
        for key in ("uid", "resourceVersion"):
            if preconditions.get(key) and preconditions[key] != obj["metadata"].get(key):
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {res.qualified} "{name}": Precondition failed: {key}',
                )
        if dry_run:
            return copy.deepcopy(obj)
        old = copy.deepcopy(obj)
        meta = obj["metadata"]
        if res.kind == "Namespace" and res.crd is None:
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = _now()
                meta["deletionGracePeriodSeconds"] = 0
                obj["status"] = {"phase": "Terminating"}
                meta["resourceVersion"] = self._next_rv()
                self._emit(res, "MODIFIED", obj, old)
                for other_key, objects in self._store.items():
                    other = self._any_resource(other_key)
                    if other is None or not other.namespaced:
                        continue
                    for ns, other_name in [k for k in objects if k[0] == name]:
                        if not objects[(ns, other_name)]["metadata"].get("deletionTimestamp"):
                            self._delete(other, ns, other_name)
            result = copy.deepcopy(obj)
            self._finalize_namespaces()
            return result
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = _now()
                meta["deletionGracePeriodSeconds"] = 0
                meta["resourceVersion"] = self._next_rv()
                self._emit(res, "MODIFIED", obj, old)
            return copy.deepcopy(obj)
        del store[(namespace, name)]
        meta["resourceVersion"] = self._next_rv()
        self._emit(res, "DELETED", obj, old)
        self._after_delete(res, obj)
        return copy.deepcopy(obj)

    def _any_resource(self, key: tuple) -> Resource | None:
        return self._any_version(*key)

    def _after_delete(self, res: Resource, obj: dict) -> None:
        if res.kind == "CustomResourceDefinition" and res.crd is None:
            crd_name = obj["metadata"]["name"]
            for versions in self._groups.values():
                for plurals in versions.values():
                    for custom in plurals.values():
                        if custom.crd == crd_name:
                            for (ns, name), item in list(self._store.get(custom.key, {}).items()):
                                del self._store[custom.key][(ns, name)]
                                item["metadata"]["resourceVersion"] = self._next_rv()
                                self._emit(custom, "DELETED", item)
            spec = obj.get("spec", {})
            self._store.pop((spec.get("group", ""), spec.get("names", {}).get("plural", "")), None)
            self._unregister_crd(crd_name)
        self._finalize_namespaces()

    def _finalize_namespaces(self) -> None:
        ns_res = self._resource("", "v1", "namespaces")
        for (_, name), ns_obj in list(self._store[ns_res.key].items()):
            if not ns_obj["metadata"].get("deletionTimestamp"):
                continue
            remaining = any(
                k[0] == name for key, objs in self._store.items() if key != ns_res.key for k in objs
            )
            if not remaining:
                del self._store[ns_res.key][("", name)]
                ns_obj["metadata"]["resourceVersion"] = self._next_rv()
                self._emit(ns_res, "DELETED", ns_obj)

    # ------------------------------------------------------------ public Python API (thread-safe)
    def create(self, obj: dict, manager: str = "fakekube") -> dict:
        """Create an object as if POSTed (the resource is found from apiVersion/kind)."""
        with self._lock:
            res = self._by_kind(obj["apiVersion"], obj["kind"])
            return copy.deepcopy(
                self._create(res, obj.get("metadata", {}).get("namespace", ""), obj, manager=manager)
            )

    def _by_kind(self, api_version: str, kind: str) -> Resource:
        group, _, version = api_version.rpartition("/")
        for res in self._groups.get(group, {}).get(version, {}).values():
            if res.kind == kind:
                return res
        raise KeyError(f"no resource for {api_version} {kind}")

    def _admit(self, res, namespace: str, operation: str) -> None:
        """Play the API server's call of admission webhooks: a write that a registered webhook (failurePolicy
        Fail, the default) must review fails with the API server's 500 when the webhook's Service has no
        ready endpoint. A webhook with a ready endpoint admits everything (the stand-in does not call it)."""
        if res.group == "admissionregistration.k8s.io":
            return  # webhook configurations are never sent to webhooks
        for kind in ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"):
            for config in self.list(f"{kind}.admissionregistration.k8s.io"):
                for hook in config.get("webhooks") or []:
                    service = (hook.get("clientConfig") or {}).get("service")
                    if not service or hook.get("failurePolicy", "Fail") == "Ignore":
                        continue
                    if not any(_rule_matches(rule, res, operation) for rule in hook.get("rules") or []):
                        continue
                    ns, svc = service.get("namespace", ""), service.get("name", "")
                    url = (f'Post "https://{svc}.{ns}.svc:{service.get("port", 443)}{service.get("path", "")}'
                           f'?timeout={hook.get("timeoutSeconds", 10)}s"')
                    if self.get("services", svc, ns) is None:
                        why = f'service "{svc}" not found'
                    elif not self._ready_endpoints(ns, svc):
                        why = f'no endpoints available for service "{svc}"'
                    else:
                        continue
                    raise ApiError(500, "InternalError", f'Internal error occurred: failed calling webhook '
                                   f'"{hook.get("name")}": failed to call webhook: {url}: {why}')

    def _ready_endpoints(self, namespace: str, service: str) -> int:
        count = 0
        for slice_ in self.list("endpointslices.discovery.k8s.io", namespace):
            if ((slice_.get("metadata") or {}).get("labels") or {}).get("kubernetes.io/service-name") != service:
                continue
            for endpoint in slice_.get("endpoints") or []:
                if endpoint.get("addresses") and (endpoint.get("conditions") or {}).get("ready") is not False:
                    count += 1
        return count

    def get(self, resource: str, name: str, namespace: str | None = None) -> dict | None:
        """A copy of the object, or None. ``resource``: plural, ``plural.group``, kind or short name."""
        with self._lock:
            res = self.resolve(resource)
            obj = self._store[res.key].get((namespace or "" if res.namespaced else "", name))
            if obj is None and res.namespaced and namespace is None:
                obj = self._store[res.key].get(("default", name))
            return copy.deepcopy(obj)

    def list(self, resource: str, namespace: str | None = None) -> list[dict]:
        with self._lock:
            res = self.resolve(resource)
            return [
                copy.deepcopy(o)
                for (ns, _), o in sorted(self._store[res.key].items())
                if namespace is None or ns == namespace
            ]

    def find(self, resource: str, name: str, namespace: str | None = None) -> dict | None:
        """:meth:`get` for controllers, which watch kinds that may not be served yet: None for those too."""
        try:
            return self.get(resource, name, namespace)
        except KeyError:  # the kind is not served (yet)
            return None

    def find_all(self, resource: str, namespace: str | None = None) -> list[dict]:
        """:meth:`list` for controllers: empty for a kind that is not served (yet)."""
        try:
            return self.list(resource, namespace)
        except KeyError:
            return []

    def _require(self, resource: str, name: str, namespace: str | None) -> tuple[Resource, dict]:
        res = self.resolve(resource)
        ns = (namespace or "default") if res.namespaced else ""
        obj = self._store[res.key].get((ns, name))
        if obj is None:
            raise _not_found(res, name)
        return res, obj

    def put_status(self, resource: str, name: str, status: dict, namespace: str | None = None) -> dict:
        """Replace ``status`` (bumps resourceVersion, notifies watches)."""
        with self._lock:
            res, obj = self._require(resource, name, namespace)
            new = copy.deepcopy(obj)
            new["status"] = copy.deepcopy(status)
            return copy.deepcopy(self._write(res, obj, new, manager=None, section="status"))

    def patch_status(self, resource: str, name: str, patch: dict, namespace: str | None = None) -> dict:
        """JSON-merge-patch ``status``."""
        with self._lock:
            res, obj = self._require(resource, name, namespace)
            status = patching.merge_patch(obj.get("status") or {}, patch)
            return self.put_status(resource, name, status, namespace)

    def update(self, resource: str, name: str, mutate, namespace: str | None = None) -> dict:
        """Apply ``mutate(obj) -> None`` to a copy of the object and store it (main resource)."""
        with self._lock:
            res, obj = self._require(resource, name, namespace)
            new = copy.deepcopy(obj)
            mutate(new)
            new["metadata"].pop("resourceVersion", None)
            return copy.deepcopy(self._write(res, obj, new, manager="fakekube"))

    def apply(self, obj: dict, manager: str, *, force: bool = True) -> dict:
        """Server-side apply ``obj`` as ``manager`` (the resource is found from apiVersion/kind; a namespaced
        object without a namespace goes to ``default``). Raises KeyError for a kind that is not served and
        :class:`ApiError` as the API would answer (404 for a missing namespace, 409 for conflicts)."""
        with self._lock:
            res = self._by_kind(obj["apiVersion"], obj["kind"])
            meta = obj.get("metadata") or {}
            name = meta["name"]
            namespace = (meta.get("namespace") or "default") if res.namespaced else ""
            current = self._store[res.key].get((namespace, name))
            now = _now()
            if current is None:
                seed = {"apiVersion": res.group_version, "kind": res.kind,
                        "metadata": {"name": name, **({"namespace": namespace} if res.namespaced else {})}}
                applied = patching.server_side_apply(seed, obj, manager=manager, force=True,
                                                     api_version=res.group_version, now=now)
                return copy.deepcopy(self._create(res, namespace, applied, manager=manager))
            try:
                applied = patching.server_side_apply(current, obj, manager=manager, force=force,
                                                     api_version=res.group_version, now=now)
            except patching.ApplyConflict as exc:
                raise ApiError(409, "Conflict", f"Apply failed with {len(exc.conflicts)} conflict(s)") from None
            applied["metadata"].pop("resourceVersion", None)
            return copy.deepcopy(self._write(res, current, applied, manager=None,
                                             managed_fields=applied["metadata"].get("managedFields") or []))

    def kind_resource(self, api_version: str, kind: str) -> Resource:
        """The served resource of ``apiVersion``/``kind`` (KeyError when not served)."""
        with self._lock:
            return self._by_kind(api_version, kind)

    def delete(self, resource: str, name: str, namespace: str | None = None) -> None:
        with self._lock:
            res, obj = self._require(resource, name, namespace)
            self._delete(res, obj["metadata"].get("namespace", ""), name)

    def _mark_available(self, res: Resource, obj: dict, replicas: int | None = None) -> dict:
        spec = obj.get("spec") or {}
        n = spec.get("replicas", 1) if replicas is None else replicas
        now = _now()
        status = {"observedGeneration": obj["metadata"].get("generation", 1), "replicas": n}
        if res.kind == "DaemonSet":
            status.update(
                currentNumberScheduled=n,
                desiredNumberScheduled=n,
                numberAvailable=n,
                numberReady=n,
                updatedNumberScheduled=n,
                numberMisscheduled=0,
            )
        else:
            status.update(readyReplicas=n, availableReplicas=n, updatedReplicas=n)
        if res.kind == "Deployment":
            status["conditions"] = [
                {
                    "type": "Available",
                    "status": "True",
                    "reason": "MinimumReplicasAvailable",
                    "message": "Deployment has minimum availability.",
                    "lastUpdateTime": now,
                    "lastTransitionTime": now,
                },
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "NewReplicaSetAvailable",
                    "message": f'ReplicaSet "{obj["metadata"]["name"]}" has successfully progressed.',
                    "lastUpdateTime": now,
                    "lastTransitionTime": now,
                },
            ]
        if res.kind == "StatefulSet":
            revision = f"{obj['metadata']['name']}-{obj['metadata'].get('generation', 1)}"
            status.update(currentReplicas=n, currentRevision=revision, updateRevision=revision)
        new = copy.deepcopy(obj)
        new["status"] = status
        return self._write(res, obj, new, manager=None, section="status")

    def mark_available(
        self, kind: str, name: str, namespace: str = "default", replicas: int | None = None
    ) -> dict:
        """Play the workload controller: Deployment/StatefulSet/DaemonSet/ReplicaSet fully rolled out."""
        with self._lock:
            res, obj = self._require(kind, name, namespace)
            return copy.deepcopy(self._mark_available(res, obj, replicas))

    def mark_deployment_available(
        self, name: str, namespace: str = "default", replicas: int | None = None
    ) -> dict:
        return self.mark_available("deployments", name, namespace, replicas)

    def mark_statefulset_ready(
        self, name: str, namespace: str = "default", replicas: int | None = None
    ) -> dict:
        return self.mark_available("statefulsets", name, namespace, replicas)

    def mark_crd_established(self, name: str) -> dict:
        with self._lock:
            return copy.deepcopy(self._establish(name))

    def set_run_status(
        self,
        name: str,
        namespace: str = "default",
        status: str = "Unknown",
        reason: str = "Running",
        message: str = "",
        results: dict | None = None,
        kind: str = "pipelineruns.tekton.dev",
    ) -> dict:
        """Tekton PipelineRun/TaskRun condition ``Succeeded``: Unknown/True/False, reason, results."""
        with self._lock:
            res, obj = self._require(kind, name, namespace)
            now = _now()
            current = copy.deepcopy(obj.get("status") or {})
            current.setdefault("startTime", now)
            current["conditions"] = [
                {
                    "type": "Succeeded",
                    "status": status,
                    "reason": reason,
                    "message": message,
                    "lastTransitionTime": now,
                }
            ]
            if status in ("True", "False"):
                current["completionTime"] = now
            if results is not None:
                current["results"] = [{"name": k, "value": v} for k, v in results.items()]
            return self.put_status(kind, name, current, namespace)

    def set_pipelinerun_status(
        self,
        name: str,
        namespace: str = "default",
        status: str = "Unknown",
        reason: str = "Running",
        message: str = "",
        results: dict | None = None,
    ) -> dict:
        return self.set_run_status(
            name, namespace, status, reason, message, results, "pipelineruns.tekton.dev"
        )

    def set_taskrun_status(
        self,
        name: str,
        namespace: str = "default",
        status: str = "Unknown",
        reason: str = "Running",
        message: str = "",
        results: dict | None = None,
    ) -> dict:
        return self.set_run_status(name, namespace, status, reason, message, results, "taskruns.tekton.dev")

    # ------------------------------------------------------------ container logs and states (see fakekube.logs)
    def append_log(self, pod: str, container: str, *lines: str, namespace: str = "default") -> None:
        """Write lines to a container's log as it prints them (a newline is added where missing); clients
        following the log get them at once."""
        with self._lock:
            res, obj = self._require("pods", pod, namespace)
            spec = obj.get("spec") or {}
            if not any(c.get("name") == container for c in (spec.get("containers") or [])
                       + (spec.get("initContainers") or [])):
                raise KeyError(f"pod {namespace}/{pod} has no container {container!r}")
            key = (obj["metadata"]["namespace"], pod, obj["metadata"]["uid"], container)
            now = time.time()
            store = self._logs.setdefault(key, [])
            for text in lines:
                for line in str(text).splitlines() or [""]:
                    store.append((now, line + "\n"))
            self._cond.notify_all()

    def container_log(self, pod: str, container: str, namespace: str = "default") -> str:
        """Everything a container of the current Pod of that name has written."""
        with self._lock:
            obj = self._require("pods", pod, namespace)[1]
            key = (obj["metadata"]["namespace"], pod, obj["metadata"]["uid"], container)
            return "".join(line for _, line in self._logs.get(key, []))

    def set_container_state(self, pod: str, container: str, state: str, namespace: str = "default", *,
                            reason: str | None = None, message: str | None = None, exit_code: int = 0,
                            image_id: str | None = None) -> dict:
        """Play the kubelet for one container: ``waiting`` (``reason``, default ContainerCreating), ``running``
        or ``terminated`` (``exit_code``; ``reason`` defaults to Completed/Error as containerd reports it).
        Updates ``status.containerStatuses`` (and the Pod's phase: Pending while a container waits, Running,
        then Succeeded/Failed once all have terminated); a terminated container ends the log streams that
        follow it."""
        now = _now()
        with self._lock:
            res, obj = self._require("pods", pod, namespace)
            status = copy.deepcopy(obj.get("status") or {})
            spec_containers = (obj.get("spec") or {}).get("containers") or []
            init_containers = (obj.get("spec") or {}).get("initContainers") or []
            init = any(c.get("name") == container for c in init_containers)
            if not init and not any(c.get("name") == container for c in spec_containers):
                raise KeyError(f"pod {namespace}/{pod} has no container {container!r}")
            key = "initContainerStatuses" if init else "containerStatuses"
            listed = init_containers if init else spec_containers
            statuses = {s["name"]: s for s in status.get(key) or []}
            entry = statuses.get(container) or {
                "name": container, "ready": False, "restartCount": 0, "started": False,
                "image": next(c.get("image", "") for c in listed if c.get("name") == container),
                "imageID": "", "state": {}}
            if image_id is not None:
                entry["imageID"] = image_id
            previous = (entry.get("state") or {}).get("running") or {}
            if state == "waiting":
                entry["state"] = {"waiting": {"reason": reason or "ContainerCreating",
                                              **({"message": message} if message else {})}}
                entry.update(ready=False, started=False)
            elif state == "running":
                entry["state"] = {"running": {"startedAt": now}}
                entry.update(ready=True, started=True)
                entry.setdefault("containerID", f"containerd://{uuid.uuid4().hex}{uuid.uuid4().hex}")
            elif state == "terminated":
                terminated = {"exitCode": exit_code, "reason": reason or ("Completed" if exit_code == 0 else "Error"),
                              "startedAt": previous.get("startedAt", now), "finishedAt": now}
                if message:
                    terminated["message"] = message
                entry.setdefault("containerID", f"containerd://{uuid.uuid4().hex}{uuid.uuid4().hex}")
                terminated["containerID"] = entry["containerID"]
                entry["state"] = {"terminated": terminated}
                entry.update(ready=False, started=False)
            else:
                raise ValueError(f"unknown container state {state!r}")
            statuses[container] = entry
            status[key] = [statuses[c["name"]] for c in listed if c["name"] in statuses]
            states = [next(iter(s["state"])) for s in status.get("containerStatuses") or []]
            if len(states) == len(spec_containers) and all(s == "terminated" for s in states):
                failed = any(s["state"]["terminated"]["exitCode"] != 0 for s in status["containerStatuses"])
                status["phase"] = "Failed" if failed else "Succeeded"
            elif "waiting" in states or len(states) < len(spec_containers):
                status["phase"] = "Pending"
            else:
                status["phase"] = "Running"
            status.setdefault("startTime", now)
            return self.put_status("pods", pod, status, namespace)

    def set_application_status(
        self,
        name: str,
        namespace: str = "argocd",
        sync: str = "Synced",
        health: str = "Healthy",
        revision: str = "HEAD",
        phase: str = "Succeeded",
        message: str = "successfully synced",
    ) -> dict:
        """Argo CD Application: status.sync/health/operationState at ``revision``."""
        with self._lock:
            res, obj = self._require("applications.argoproj.io", name, namespace)
            now = _now()
            status = copy.deepcopy(obj.get("status") or {})
            source = (obj.get("spec") or {}).get("source") or {}
            status["sync"] = {
                "status": sync,
                "revision": revision,
                "comparedTo": {
                    "source": source,
                    "destination": (obj.get("spec") or {}).get("destination") or {},
                },
            }
            status["health"] = {"status": health}
            status["reconciledAt"] = now
            status["operationState"] = {
                "phase": phase,
                "message": message,
                "startedAt": now,
                "finishedAt": now,
                "operation": {"sync": {"revision": revision}},
                "syncResult": {"revision": revision, "source": source, "resources": []},
            }
            return self.put_status("applications.argoproj.io", name, status, namespace)

    def set_load_balancer_ip(
        self,
        name: str,
        namespace: str = "default",
        ip: str | None = "203.0.113.10",
        hostname: str | None = None,
    ) -> dict:
        ingress = {}
        if ip:
            ingress["ip"] = ip
        if hostname:
            ingress["hostname"] = hostname
        return self.patch_status("services", name, {"loadBalancer": {"ingress": [ingress]}}, namespace)

    def set_service_endpoints(self, service: str, namespace: str = "default", ready: int = 1,
                              not_ready: int = 0) -> dict:
        """Play the EndpointSlice controller for one Service: ``ready`` ready and ``not_ready`` unready endpoints."""
        with self._lock:
            return copy.deepcopy(self._put_endpoints(namespace, service, ready=ready, not_ready=not_ready))

    def wait_for(
        self, resource: str, name: str, namespace: str | None = None, predicate=None, timeout: float = 10.0
    ) -> dict:
        """Block until the object exists (and ``predicate(obj)`` holds); returns it or raises TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                obj = self.get(resource, name, namespace)
                if obj is not None and (predicate is None or predicate(obj)):
                    return obj
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{resource} {name} did not appear/match within {timeout}s")
                self._cond.wait(min(remaining, 0.5))

    @property
    def resource_version(self) -> int:
        return self._rv

    def reset_counters(self) -> None:
        with self._lock:
            self.requests = []
            self.writes = 0

    def count(self, verb: str | None = None, method: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (verb is None or r.verb == verb) and (method is None or r.method == method)
            )

    # ------------------------------------------------------------ discovery / openapi documents
    def _api_resource_list(self, group: str, version: str) -> dict:
        resources = []
        for res in sorted(self._groups[group][version].values(), key=lambda r: r.plural):
            entry = {
                "name": res.plural,
                "singularName": res.singular,
                "namespaced": res.namespaced,
                "kind": res.kind,
                "verbs": res.verbs or VERBS,
            }
            if res.short_names:
                entry["shortNames"] = res.short_names
            if res.categories:
                entry["categories"] = res.categories
            resources.append(entry)
            if res.status:
                resources.append(
                    {
                        "name": f"{res.plural}/status",
                        "singularName": "",
                        "namespaced": res.namespaced,
                        "kind": res.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
            if res.scale:
                resources.append(
                    {
                        "name": f"{res.plural}/scale",
                        "singularName": "",
                        "namespaced": res.namespaced,
                        "group": "autoscaling",
                        "version": "v1",
                        "kind": "Scale",
                        "verbs": ["get", "patch", "update"],
                    }
                )
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    def _api_group(self, group: str) -> dict:
        versions = sorted(self._groups[group], key=version_priority)
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": group,
            "versions": entries,
            "preferredVersion": entries[0],
        }

    def _openapi_v3_root(self) -> dict:
        paths = {}
        for group, versions in self._groups.items():
            for version in versions:
                key = f"apis/{group}/{version}" if group else f"api/{version}"
                paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash=G{self._discovery_generation}"}
        return {"paths": paths}

    def _openapi_v3_gv(self, group: str, version: str) -> dict:
        paths = {}
        params = [
            {"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
            for n in ("dryRun", "fieldManager", "fieldValidation", "force")
        ]
        for res in self._groups[group][version].values():
            prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
            ns = "/namespaces/{namespace}" if res.namespaced else ""
            gvk = {"group": group, "version": version, "kind": res.kind}
            op = {
                "operationId": f"patch{res.kind}",
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
                "parameters": params,
                "responses": {"200": {"description": "OK"}},
            }
            paths[f"{prefix}{ns}/{res.plural}/{{name}}"] = {"patch": op}
        return {
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": K8S_VERSION["gitVersion"]},
            "paths": paths,
            "components": {"schemas": {}},
        }


def _strip_times(obj: dict) -> dict:
    out = copy.deepcopy(obj)
    meta = out.get("metadata", {})
    meta.pop("resourceVersion", None)
    for entry in meta.get("managedFields") or []:
        entry.pop("time", None)
    return out


# ---------------------------------------------------------------- HTTP
def _make_handler(kube: FakeKube):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fakekube"

        def log_message(self, *args):
            pass

        def do_GET(self):
            _dispatch(kube, self, "GET")

        def do_POST(self):
            _dispatch(kube, self, "POST")

        def do_PUT(self):
            _dispatch(kube, self, "PUT")

        def do_PATCH(self):
            _dispatch(kube, self, "PATCH")

        def do_DELETE(self):
            _dispatch(kube, self, "DELETE")

    return Handler


def _send(handler, code: int, body, content_type="application/json") -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("Cache-Control", "no-cache, private")
    handler.end_headers()
    handler.wfile.write(data)


def _rule_matches(rule: dict, res, operation: str) -> bool:
    def has(values, value):
        return "*" in (values or []) or value in (values or [])

    return (has(rule.get("apiGroups"), res.group) and has(rule.get("apiVersions"), res.version)
            and has(rule.get("operations"), operation)
            and ("*/*" in (rule.get("resources") or []) or has(rule.get("resources"), res.plural)))


def _dispatch(kube: FakeKube, handler, method: str) -> None:
    parts = urlsplit(handler.path)
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    record = RequestRecord(method, parts.path, "", query)
    kube._local.query = query
    with kube._lock:
        kube.requests.append(record)
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    try:
        user = kube._authenticate(handler)
        if user is None and parts.path not in ("/healthz", "/livez", "/readyz"):
            raise ApiError(401, "Unauthorized", "Unauthorized")
        record.user = user or ""
        code = _route(kube, handler, method, parts.path, query, body, record)
    except ApiError as err:
        code = record.code = err.code  # recorded before the client can see the answer
        _send(handler, err.code, err.status())
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True
        return
    record.code = code


def _decode_body(handler, body: bytes):
    ctype = (handler.headers.get("Content-Type") or "application/json").split(";")[0].strip()
    try:
        if ctype == "application/vnd.kubernetes.protobuf":
            try:
                return protobuf.decode(body)
            except protobuf.UnsupportedKind as exc:
                raise ApiError(415, "UnsupportedMediaType", str(exc)) from None
        if ctype in ("application/yaml", "application/apply-patch+yaml"):
            return yaml.safe_load(body.decode() or "null")
        if ctype.endswith("json") or ctype == "":
            return json.loads(body.decode() or "null")
    except (ValueError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ApiError(400, "BadRequest", f"the body of the request could not be decoded: {exc}") from None
    raise ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media "
        f"types include: application/json, application/yaml, application/vnd.kubernetes.protobuf "
        f'(got "{ctype}")',
    )


def _manager(handler, query) -> str:
    if query.get("fieldManager"):
        return query["fieldManager"]
    agent = handler.headers.get("User-Agent") or "unknown"
    return agent.split("/", 1)[0][:128]


def _route(kube: FakeKube, handler, method, path, query, body, record) -> int:
    segments = [s for s in path.split("/") if s]
    if path in ("/version", "/version/"):
        record.verb = "discovery"
        _send(handler, 200, kube.version)
        return 200
    if path in ("/healthz", "/livez", "/readyz"):
        _send(handler, 200, b"ok", "text/plain")
        return 200
    if segments and segments[0] == "openapi":
        record.verb = "openapi"
        return _openapi(kube, handler, segments, query)
    with kube._lock:
        if segments == ["api"]:
            record.verb = "discovery"
            _send(
                handler,
                200,
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{kube.port}"}
                    ],
                },
            )
            return 200
        if segments == ["apis"]:
            record.verb = "discovery"
            groups = [kube._api_group(g) for g in sorted(kube._groups) if g]
            _send(handler, 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
            return 200
        if len(segments) == 2 and segments[0] == "apis" and segments[1] in kube._groups:
            record.verb = "discovery"
            _send(handler, 200, kube._api_group(segments[1]))
            return 200
        if segments[:1] == ["api"] and len(segments) >= 2:
            group, version, rest = "", segments[1], segments[2:]
        elif segments[:1] == ["apis"] and len(segments) >= 3:
            group, version, rest = segments[1], segments[2], segments[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if version not in kube._groups.get(group, {}):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            record.verb = "discovery"
            _send(handler, 200, kube._api_resource_list(group, version))
            return 200
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            candidate = kube._resource(group, version, rest[2])
            if candidate is not None and candidate.namespaced:
                namespace, rest = rest[1], rest[2:]
        res = kube._resource(group, version, rest[0])
        if res is None or len(rest) > 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        if (
            sub not in ("", "status", "scale", "log")
            or (sub == "status" and not res.status)
            or (sub == "scale" and not res.scale)
            or (sub == "log" and res.key != ("", "pods"))
        ):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if sub == "log" and method != "GET":
            raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on {path}")
        if res.namespaced and name and not namespace:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        dry_run = query.get("dryRun") == "All"
        if res.key == ("authorization.k8s.io", "selfsubjectaccessreviews"):
            if method != "POST" or name:
                raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on {path}")
            record.verb = "create"
            _send(handler, 201, kube._access_review(_decode_body(handler, body)))
            return 201
        kube._authorize(record.user, _verb(method, name, query), res, namespace, name, sub)
        if sub == "log":
            record.verb = "get"
            pod = copy.deepcopy(_get(kube, res, namespace, name))
            container = logs.check_request(res, pod, query, ApiError)
        elif method == "GET" and not name:
            if query.get("watch") in ("true", "1"):
                record.verb = "watch"
            else:
                record.verb = "list"
                return _list(kube, handler, res, namespace, query)
        elif method == "GET":
            record.verb = "get"
            obj = _get(kube, res, namespace, name)
            out = _scale(res, obj) if sub == "scale" else kube._served(obj, res)
            if "as=Table" in (handler.headers.get("Accept") or ""):
                out = _table(kube, res, [obj])
            _send(handler, 200, out)
            return 200
        elif method == "POST" and not name:
            record.verb = "create"
            obj = _decode_body(handler, body)
            kube._admit(res, namespace, "CREATE")
            result = kube._create(res, namespace, obj, manager=_manager(handler, query), dry_run=dry_run)
            _send(handler, 201, kube._served(result, res))
            return 201
        elif method == "PUT" and name:
            record.verb = "update"
            obj = _decode_body(handler, body)
            old = _get(kube, res, namespace, name)
            if sub == "scale":
                new = copy.deepcopy(old)
                new.setdefault("spec", {})["replicas"] = ((obj or {}).get("spec") or {}).get("replicas", 0)
                result = kube._write(res, old, new, manager=_manager(handler, query), dry_run=dry_run)
                _send(handler, 200, _scale(res, result))
                return 200
            if not sub:
                kube._admit(res, namespace, "UPDATE")
            result = kube._write(
                res, old, obj, manager=_manager(handler, query), section=sub or "main", dry_run=dry_run
            )
            _send(handler, 200, kube._served(result, res))
            return 200
        elif method == "PATCH" and name:
            record.verb = "patch"
            if not sub:
                kube._admit(res, namespace, "UPDATE" if kube.get(f"{res.plural}.{res.group}" if res.group
                                                               else res.plural, name, namespace) else "CREATE")
            result = _patch(kube, handler, res, namespace, name, sub, query, body, dry_run)
            _send(handler, 200, _scale(res, result) if sub == "scale" else kube._served(result, res))
            return 200
        elif method == "DELETE" and name:
            record.verb = "delete"
            options = _decode_body(handler, body) if body else {}
            if (options or {}).get("dryRun") == ["All"]:
                dry_run = True
            result = kube._delete(
                res, namespace, name, dry_run=dry_run, preconditions=(options or {}).get("preconditions")
            )
            _send(handler, 200, kube._served(result, res))
            return 200
        elif method == "DELETE":
            record.verb = "deletecollection"
            matches = _matching(kube, res, namespace, query)
            for obj in matches:
                kube._delete(
                    res, obj["metadata"].get("namespace", ""), obj["metadata"]["name"], dry_run=dry_run
                )
            _send(handler, 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
            return 200
        else:
            raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on {path}")
    if sub == "log":
        return logs.stream(kube, handler, namespace, pod, container, query)
    return _watch(kube, handler, res, namespace, query)


def _verb(method: str, name: str, query: dict) -> str:
    if method == "GET":
        if name:
            return "get"
        return "watch" if query.get("watch") in ("true", "1") else "list"
    if method == "DELETE":
        return "delete" if name else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


def _get(kube, res, namespace, name) -> dict:
    obj = kube._store[res.key].get((namespace, name))
    if obj is None:
        raise _not_found(res, name)
    return obj


def _scale(res: Resource, obj: dict) -> dict:
    spec = obj.get("spec") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: obj["metadata"][k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in obj["metadata"]
        },
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in selector.items()),
        },
    }


def _matching(kube, res, namespace, query) -> list[dict]:
    try:
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields_ = parse_field_selector(query.get("fieldSelector", ""))
    except SelectorError as exc:
        raise ApiError(400, "BadRequest", str(exc)) from None
    out = []
    for (ns, _), obj in sorted(kube._store[res.key].items()):
        if namespace and ns != namespace:
            continue
        if labels(obj["metadata"].get("labels")) and fields_(obj):
            out.append(obj)
    return out


def _list(kube, handler, res, namespace, query) -> int:
    items = _matching(kube, res, namespace, query)
    if "as=Table" in (handler.headers.get("Accept") or ""):
        _send(handler, 200, _table(kube, res, items))
        return 200
    _send(
        handler,
        200,
        {
            "kind": f"{res.kind}List",
            "apiVersion": res.group_version,
            "metadata": {"resourceVersion": str(kube._rv)},
            "items": [kube._served(o, res) for o in items],
        },
    )
    return 200


def _age(timestamp: str) -> str:
    try:
        seconds = int(
            time.time() - time.mktime(time.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ")) + time.timezone
        )
    except (TypeError, ValueError):
        return "<unknown>"
    seconds = max(seconds, 0)
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m"


def _table(kube, res, items) -> dict:
    rows = []
    for obj in items:
        meta = obj["metadata"]
        rows.append(
            {
                "cells": [meta["name"], _age(meta.get("creationTimestamp"))],
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": copy.deepcopy(meta),
                },
            }
        )
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": str(kube._rv)},
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0},
            {"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0},
        ],
        "rows": rows,
    }


def _patch(kube, handler, res, namespace, name, sub, query, body, dry_run) -> dict:
    ctype = (handler.headers.get("Content-Type") or "").split(";")[0].strip()
    manager = query.get("fieldManager") or ""
    store = kube._store[res.key]
    current = store.get((namespace, name))
    if ctype == "application/apply-patch+yaml":
        if not manager:
            raise ApiError(422, "Invalid", "PATCH, application/apply-patch+yaml requires fieldManager")
        config = _decode_body(handler, body)
        if not isinstance(config, dict):
            raise ApiError(400, "BadRequest", "apply configuration must be an object")
        meta = config.get("metadata") or {}
        if meta.get("name") not in (None, name):
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        if (config.get("apiVersion"), config.get("kind")) != (res.group_version, res.kind) and sub == "":
            raise ApiError(
                400,
                "BadRequest",
                f"apply configuration kind/apiVersion must be {res.group_version} {res.kind}",
            )
        force = query.get("force") in ("true", "1")
        if current is None:
            if sub:
                raise _not_found(res, name)
            seed = {
                "apiVersion": res.group_version,
                "kind": res.kind,
                "metadata": {"name": name, **({"namespace": namespace} if res.namespaced else {})},
            }
            applied = patching.server_side_apply(
                seed, config, manager=manager, force=True, api_version=res.group_version, now=_now()
            )
            managed = applied["metadata"].pop("managedFields")
            applied["metadata"]["managedFields"] = managed
            return kube._create(res, namespace, applied, manager=manager, dry_run=dry_run)
        try:
            applied = patching.server_side_apply(
                current,
                config,
                manager=manager,
                force=force,
                api_version=res.group_version,
                now=_now(),
                section="status" if sub == "status" else "main",
            )
        except patching.ApplyConflict as exc:
            causes = [
                {
                    "type": "FieldManagerConflict",
                    "message": f'conflict with "{m}" using {res.group_version}',
                    "field": patching.describe_path(p),
                }
                for m, p in exc.conflicts
            ]
            lines = "\n".join(
                f'- conflict with "{m}" using {res.group_version}: {patching.describe_path(p)}'
                for m, p in exc.conflicts
            )
            message = (
                f"Apply failed with {len(exc.conflicts)} conflict{'s' if len(exc.conflicts) > 1 else ''}: "
            )
            message += lines[2:] if len(exc.conflicts) == 1 else "\n" + lines
            raise ApiError(
                409,
                "Conflict",
                message,
                {"name": name, "group": res.group, "kind": res.plural, "causes": causes},
            ) from None
        applied["metadata"].pop("resourceVersion", None)
        return kube._write(
            res,
            current,
            applied,
            manager=None,
            section="status" if sub == "status" else "main",
            dry_run=dry_run,
            managed_fields=applied["metadata"].get("managedFields") or [],
        )
    if current is None:
        raise _not_found(res, name)
    patch = _decode_body(handler, body)
    base = _scale(res, current) if sub == "scale" else kube._served(current, res)
    try:
        if ctype == "application/merge-patch+json":
            new = patching.merge_patch(base, patch)
        elif ctype == "application/json-patch+json":
            new = patching.json_patch(base, patch)
        elif ctype == "application/strategic-merge-patch+json":
            if res.crd is not None:
                raise ApiError(
                    415, "UnsupportedMediaType", "strategic merge patch is not supported for custom resources"
                )
            new = patching.strategic_merge(base, patch)
        else:
            raise ApiError(415, "UnsupportedMediaType", f"the patch content type {ctype!r} is not supported")
    except patching.PatchError as exc:
        raise ApiError(422, "Invalid", str(exc)) from None
    if not isinstance(new, dict):
        raise ApiError(422, "Invalid", "the patch did not produce an object")
    if sub == "scale":
        target = copy.deepcopy(current)
        target.setdefault("spec", {})["replicas"] = (new.get("spec") or {}).get("replicas", 0)
        target["metadata"].pop("resourceVersion", None)
        return kube._write(res, current, target, manager=manager or _manager(handler, query), dry_run=dry_run)
    if (patch or {}) and isinstance(patch, dict) and not (patch.get("metadata") or {}).get("resourceVersion"):
        new.setdefault("metadata", {}).pop("resourceVersion", None)
    elif isinstance(patch, list):
        if new.get("metadata", {}).get("resourceVersion") == current["metadata"].get("resourceVersion"):
            new["metadata"].pop("resourceVersion", None)
    return kube._write(
        res,
        current,
        new,
        manager=manager or _manager(handler, query),
        section="status" if sub == "status" else "main",
        dry_run=dry_run,
    )


def _watch(kube: FakeKube, handler, res: Resource, namespace: str, query: dict) -> int:
    try:
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields_ = parse_field_selector(query.get("fieldSelector", ""))
    except SelectorError as exc:
        raise ApiError(400, "BadRequest", str(exc)) from None
    timeout = float(query.get("timeoutSeconds") or WATCH_DEFAULT_TIMEOUT)
    deadline = time.monotonic() + timeout
    send_initial = query.get("sendInitialEvents") == "true"
    bookmarks = query.get("allowWatchBookmarks") == "true"
    rv_param = query.get("resourceVersion", "")

    def matches(obj):
        if namespace and obj["metadata"].get("namespace") != namespace:
            return False
        return labels(obj["metadata"].get("labels")) and fields_(obj)

    with kube._lock:
        start_rv = kube._rv
        position = len(kube._events)
        initial = []
        if send_initial or rv_param in ("", "0"):
            initial = [("ADDED", kube._served(o, res)) for o in _matching(kube, res, namespace, query)]
        else:
            try:
                since = int(rv_param)
            except ValueError:
                raise ApiError(400, "BadRequest", f"invalid resourceVersion {rv_param!r}") from None
            position = bisect.bisect_right(kube._event_rvs, since)

    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.send_header("Cache-Control", "no-cache, private")
    handler.end_headers()

    def write(type_, obj):
        data = json.dumps({"type": type_, "object": obj}).encode() + b"\n"
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        handler.wfile.flush()

    try:
        for type_, obj in initial:
            write(type_, obj)
        if send_initial and bookmarks:
            write(
                "BOOKMARK",
                {
                    "kind": res.kind,
                    "apiVersion": res.group_version,
                    "metadata": {
                        "resourceVersion": str(start_rv),
                        "annotations": {"k8s.io/initial-events-end": "true"},
                    },
                },
            )
        while not kube._stopping.is_set():
            with kube._cond:
                pending = kube._events[position:]
                if not pending:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    kube._cond.wait(min(remaining, 0.25))
                    continue
                position += len(pending)
            for event in pending:
                if event.key != res.key:
                    continue
                obj = kube._served(event.obj, res)
                if matches(event.obj):
                    write(event.type, obj)
                elif event.old is not None and event.type == "MODIFIED" and matches(event.old):
                    write("DELETED", obj)
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()
    except (BrokenPipeError, ConnectionResetError, OSError):
        handler.close_connection = True
    return 200


def _openapi(kube: FakeKube, handler, segments, query) -> int:
    accept = handler.headers.get("Accept") or ""
    with kube._lock:
        if segments == ["openapi", "v2"]:
            if "protobuf" in accept:
                # An empty protobuf message decodes to an empty openapi_v2.Document.
                _send(handler, 200, b"", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
            else:
                _send(
                    handler,
                    200,
                    {
                        "swagger": "2.0",
                        "info": {"title": "Kubernetes", "version": K8S_VERSION["gitVersion"]},
                        "paths": {},
                        "definitions": {},
                    },
                )
            return 200
        if segments == ["openapi", "v3"]:
            _send(handler, 200, kube._openapi_v3_root())
            return 200
        if len(segments) == 4 and segments[2] == "api" and segments[3] in kube._groups.get("", {}):
            _send(handler, 200, kube._openapi_v3_gv("", segments[3]))
            return 200
        if len(segments) == 5 and segments[2] == "apis" and segments[4] in kube._groups.get(segments[3], {}):
            _send(handler, 200, kube._openapi_v3_gv(segments[3], segments[4]))
            return 200
    raise ApiError(404, "NotFound", "the server could not find the requested resource")
