"""Cluster access: the only module that imports the ``kubernetes`` client.

:func:`connect` reads the kubeconfig and returns a :class:`Kube` bound to one context. Every
request goes through the ``kubernetes`` client's transport (``kubernetes.client.Configuration``
and ``kubernetes.client.rest.RESTClientObject``: urllib3 with the context's TLS settings,
proxy and credentials) and works on plain dicts, as the API server sends them.

Start-up cost matters (``kubectl gitops status`` must stay close to ``kubectl get``):

- ``import kubernetes`` runs the package's ``__init__``, which imports every part of the client
  (kubeconfig loaders with OAuth and Google auth, the dynamic client, watch, stream, informers):
  about 200 ms. :func:`_client_parts` registers the package without running that ``__init__``
  and imports only the transport modules; the package completes itself (runs its real
  ``__init__``) the first time anything else is asked of it, so later ``import kubernetes``
  users get the whole package. The client's code is used as is.
- The kubeconfig is read here for static credentials (token, token file, client certificate,
  basic auth): the same fields, file merging (``KUBECONFIG`` list, first file wins) and relative
  paths as kubectl. Contexts whose user runs an ``exec`` plugin or an ``auth-provider`` are
  loaded by the client's own ``kubernetes.config.kube_config`` loader (imported only then),
  which runs the plugin and refreshes its token.

Errors are translated once, here: a missing kubeconfig or context (:class:`KubeconfigError`, the
message lists the contexts), an API server that does not answer (:class:`KubeUnreachable`, within
the request timeout, no retries), 401/403 (:class:`KubeForbidden`, naming the verb and resource),
other error statuses (:class:`KubeApiError`). Messages never contain credentials or Secret data.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from .. import __version__
from ..core import inputs
from ..core.errors import (
    KubeApiError,
    KubeconfigError,
    KubeError,
    KubeForbidden,
    KubeUnreachable,
    WaitFailed,
    WaitTimeout,
)
from ..core.progress import Reporter
from ..core.readiness import ObjectRef, Readiness, State, evaluate

DEFAULT_KUBECONFIG = Path("~/.kube/config")
SA_TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
_WEBHOOK_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
_DYNAMIC_USER_KEYS = ("exec", "auth-provider")
_POLL_FIRST, _POLL_MAX, _REPORT_EVERY = 0.1, 2.0, 15.0

# (apiVersion, kind) -> (plural, namespaced) for the kinds this tool touches; others come from discovery.
_KINDS: dict[tuple[str, str], tuple[str, bool]] = {
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "ConfigMap"): ("configmaps", True),
    ("v1", "Secret"): ("secrets", True),
    ("v1", "Service"): ("services", True),
    ("v1", "ServiceAccount"): ("serviceaccounts", True),
    ("v1", "Pod"): ("pods", True),
    ("v1", "Endpoints"): ("endpoints", True),
    ("v1", "PersistentVolumeClaim"): ("persistentvolumeclaims", True),
    ("v1", "Node"): ("nodes", False),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("apps/v1", "StatefulSet"): ("statefulsets", True),
    ("apps/v1", "DaemonSet"): ("daemonsets", True),
    ("apps/v1", "ReplicaSet"): ("replicasets", True),
    ("batch/v1", "Job"): ("jobs", True),
    ("batch/v1", "CronJob"): ("cronjobs", True),
    ("rbac.authorization.k8s.io/v1", "Role"): ("roles", True),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ("rolebindings", True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): ("clusterroles", False),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ("clusterrolebindings", False),
    ("networking.k8s.io/v1", "Ingress"): ("ingresses", True),
    ("networking.k8s.io/v1", "IngressClass"): ("ingressclasses", False),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): ("customresourcedefinitions", False),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"): ("validatingwebhookconfigurations", False),
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"): ("mutatingwebhookconfigurations", False),
    ("discovery.k8s.io/v1", "EndpointSlice"): ("endpointslices", True),
    ("argoproj.io/v1alpha1", "Application"): ("applications", True),
    ("argoproj.io/v1alpha1", "AppProject"): ("appprojects", True),
    ("operator.tekton.dev/v1alpha1", "TektonConfig"): ("tektonconfigs", False),
}


# ---------------------------------------------------------------- importing the client's transport only
_package_lock = threading.Lock()


def _client_parts() -> tuple[Any, Any, Any]:
    """``(Configuration, RESTClientObject, urllib3)`` without running ``kubernetes/__init__`` (see module doc)."""
    with _package_lock:
        if "kubernetes" not in sys.modules:
            spec = importlib.util.find_spec("kubernetes")
            if spec is None or spec.loader is None:
                raise KubeError("the kubernetes Python package is missing: reinstall kubectl-gitops")
            package = importlib.util.module_from_spec(spec)
            completed = threading.Lock()

            def complete(name: str) -> Any:
                """Run the package's own __init__ once, the first time something outside the transport is used."""
                with completed:
                    if package.__dict__.get("__getattr__") is complete:
                        del package.__dict__["__getattr__"]
                        spec.loader.exec_module(package)
                return object.__getattribute__(package, name)

            package.__getattr__ = complete  # type: ignore[attr-defined]
            sys.modules["kubernetes"] = package
    import urllib3
    from kubernetes.client.configuration import Configuration
    from kubernetes.client.rest import RESTClientObject

    return Configuration, RESTClientObject, urllib3


# ---------------------------------------------------------------- public data types
@dataclass(frozen=True)
class AccessCheck:
    """One permission to check with a SelfSubjectAccessReview, e.g. ``AccessCheck("create", "deployments", "apps")``."""

    verb: str
    resource: str
    group: str = ""
    namespace: str | None = None

    def __str__(self) -> str:
        resource = f"{self.resource}.{self.group}" if self.group else self.resource
        where = f" in namespace {self.namespace}" if self.namespace else " (cluster-wide)"
        return f"{self.verb} {resource}{where}"


@dataclass(frozen=True)
class ServiceAccountToken:
    """A long-lived ServiceAccount token from a ``kubernetes.io/service-account-token`` Secret.

    ``token`` is the bearer token (decoded); ``ca_data`` the cluster CA as the Secret holds it
    (base64 of the PEM, as Argo CD's ``tlsClientConfig.caData`` wants it). Neither appears in repr.
    """

    namespace: str
    service_account: str
    secret: str
    token: str = field(repr=False)
    ca_data: str | None = field(default=None, repr=False)


# ---------------------------------------------------------------- kubeconfig
@dataclass
class _Kubeconfig:
    files: list[Path]
    current_context: str | None
    contexts: dict[str, dict]
    clusters: dict[str, tuple[dict, Path]]
    users: dict[str, tuple[dict, Path]]

    def describe(self) -> str:
        return ", ".join(str(f) for f in self.files)

    def available(self) -> str:
        return ", ".join(sorted(self.contexts)) or "none"


def _kubeconfig_files(explicit: str | None) -> tuple[list[Path], str | None]:
    """The kubeconfig files to merge, and the ``--kubeconfig`` path when one was given."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise KubeconfigError(f"kubeconfig {explicit} not found", hint="check the --kubeconfig path")
        return [path], str(path)
    env = os.environ.get("KUBECONFIG")
    if env:
        listed = [Path(p).expanduser() for p in env.split(os.pathsep) if p]
        files = [p for p in listed if p.is_file()]
        if not files:
            raise KubeconfigError(
                f"no kubeconfig: none of the files in KUBECONFIG exist ({', '.join(map(str, listed))})",
                hint="fix KUBECONFIG or pass --kubeconfig",
            )
        return files, None
    default = DEFAULT_KUBECONFIG.expanduser()
    if not default.is_file():
        raise KubeconfigError(
            f"no kubeconfig at {default}",
            hint="pass --kubeconfig, set KUBECONFIG, or let your cluster tool write one (kind, k3d, doctl)",
        )
    return [default], None


def _load_yaml(path: Path) -> Any:
    import yaml

    text = inputs.read_text(path, what="kubeconfig", error=KubeconfigError)
    try:
        return inputs.load_yaml(text, source=f"kubeconfig {path}", error=KubeconfigError)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise KubeconfigError(f"kubeconfig {path}{where} is not valid YAML") from None


def _read_kubeconfig(files: list[Path]) -> _Kubeconfig:
    merged = _Kubeconfig(files=files, current_context=None, contexts={}, clusters={}, users={})
    for path in files:
        data = _load_yaml(path) or {}
        if not isinstance(data, dict):
            raise KubeconfigError(f"kubeconfig {path} is not a kubeconfig (expected a mapping)")
        base = path.resolve().parent
        if merged.current_context is None and data.get("current-context"):
            merged.current_context = str(data["current-context"])
        for key, target in (("contexts", merged.contexts), ("clusters", merged.clusters), ("users", merged.users)):
            for entry in data.get(key) or []:
                if not isinstance(entry, dict) or not entry.get("name"):
                    continue
                inner = entry.get(key[:-1]) or {}
                if entry["name"] not in target:  # the first file that names it wins, as in kubectl
                    target[entry["name"]] = inner if key == "contexts" else (inner, base)
    return merged


class _TempFiles:
    """Private files for client certificates given inline (urllib3 loads them from files)."""

    def __init__(self) -> None:
        self._dir: str | None = None

    def write(self, data: bytes) -> str:
        import atexit
        import tempfile

        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="kubectl-gitops-")
            atexit.register(self.remove)
        fd, path = tempfile.mkstemp(dir=self._dir)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return path

    def remove(self) -> None:
        if self._dir is not None:
            import shutil

            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _decode(value: str, what: str, context: str) -> bytes:
    try:
        return base64.b64decode(value, validate=False)
    except (ValueError, TypeError):
        raise KubeconfigError(f"context {context}: {what} is not valid base64") from None


# ---------------------------------------------------------------- connect
def connect(*, kubeconfig: str | None = None, context: str | None = None, request_timeout: float = 10.0) -> Kube:
    """A :class:`Kube` for ``context`` (default: the kubeconfig's current context).

    Nothing is sent to the cluster yet; the first request says whether it is reachable.

    Args:
        kubeconfig: path of the kubeconfig (default: ``KUBECONFIG``, else ``~/.kube/config``).
        context: context name (default: ``current-context``).
        request_timeout: seconds each request may take (connecting included); no retries.

    Raises:
        KubeconfigError: no kubeconfig, no such context, or an incomplete context.
    """
    files, explicit = _kubeconfig_files(kubeconfig)
    config = _read_kubeconfig(files)
    name = context or config.current_context
    if not name:
        raise KubeconfigError(
            f"no current context in {config.describe()}; pass --context (available: {config.available()})"
        )
    if name not in config.contexts:
        raise KubeconfigError(f"context {name} not found in {config.describe()} (available: {config.available()})")
    ctx = config.contexts[name]
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if cluster_name not in config.clusters:
        raise KubeconfigError(f"context {name} refers to cluster {cluster_name}, which is not in {config.describe()}")
    cluster, cluster_base = config.clusters[cluster_name]
    server = str(cluster.get("server") or "").rstrip("/")
    if not server:
        raise KubeconfigError(f"cluster {cluster_name} of context {name} has no server address")
    user, user_base = config.users.get(user_name or "", ({}, cluster_base))
    Configuration, RESTClientObject, urllib3 = _client_parts()
    configuration = Configuration(host=server)
    configuration.retries = False  # fail fast: no urllib3 retries on connection errors
    temp = _TempFiles()
    ca_data = cluster.get("certificate-authority-data")
    if ca_data:
        configuration.ca_cert_data = _decode(ca_data, "certificate-authority-data", name).decode("utf-8", "replace")
    elif cluster.get("certificate-authority"):
        ca_path = cluster_base / os.path.expanduser(cluster["certificate-authority"])
        configuration.ssl_ca_cert = str(ca_path)
        ca_data = base64.b64encode(ca_path.read_bytes()).decode() if ca_path.is_file() else None
    if cluster.get("insecure-skip-tls-verify"):
        configuration.verify_ssl = False
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    if cluster.get("tls-server-name"):
        configuration.tls_server_name = cluster["tls-server-name"]
    if cluster.get("proxy-url"):
        configuration.proxy = cluster["proxy-url"]
    if any(key in user for key in _DYNAMIC_USER_KEYS):
        _load_with_client(configuration, files, name)
    else:
        _static_credentials(configuration, user, user_base, name, temp)
    return Kube(
        context=name,
        server=server,
        kubeconfig=explicit,
        namespace=ctx.get("namespace") or "default",
        configuration=configuration,
        rest=RESTClientObject(configuration),
        urllib3=urllib3,
        request_timeout=request_timeout,
        ca=ca_data,
        temp=temp,
    )


def _static_credentials(configuration: Any, user: dict, base: Path, context: str, temp: _TempFiles) -> None:
    token = user.get("token")
    if not token and user.get("tokenFile"):
        try:
            token = (base / os.path.expanduser(user["tokenFile"])).read_text().strip()
        except OSError as exc:
            raise KubeconfigError(f"context {context}: cannot read tokenFile: {exc.strerror}") from None
    if token:
        configuration.api_key["BearerToken"] = f"Bearer {token}"
    elif user.get("username") is not None or user.get("password") is not None:
        configuration.username = user.get("username") or ""
        configuration.password = user.get("password") or ""
        configuration.api_key["BearerToken"] = configuration.get_basic_auth_token()
    for kind, attribute in (("certificate", "cert_file"), ("key", "key_file")):
        data_key, file_key = f"client-{kind}-data", f"client-{kind}"
        if user.get(data_key):
            setattr(configuration, attribute, temp.write(_decode(user[data_key], data_key, context)))
        elif user.get(file_key):
            setattr(configuration, attribute, str(base / os.path.expanduser(user[file_key])))


def _load_with_client(configuration: Any, files: list[Path], context: str) -> None:
    """Credentials from an exec plugin or auth provider, through the client's own kubeconfig loader."""
    import logging

    from kubernetes.config import ConfigException
    from kubernetes.config.kube_config import load_kube_config

    class Collect(logging.Handler):  # the loader logs plugin failures instead of raising them
        def __init__(self) -> None:
            super().__init__(logging.WARNING)
            self.messages: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.messages.append(record.getMessage())

    collect = Collect()
    root = logging.getLogger()
    root.addHandler(collect)
    try:
        load_kube_config(config_file=os.pathsep.join(map(str, files)), context=context,
                         client_configuration=configuration, persist_config=False)
    except (ConfigException, OSError, ValueError) as exc:
        raise KubeconfigError(f"cannot get credentials for context {context}: {_first_line(exc) or exc}") from exc
    finally:
        root.removeHandler(collect)
    has_token = bool(configuration.api_key.get("BearerToken"))
    if not has_token and not configuration.cert_file:
        reason = _first_line(collect.messages[-1]) if collect.messages else "the credential plugin gave none"
        raise KubeconfigError(f"cannot get credentials for context {context}: {reason}")


# ---------------------------------------------------------------- comparing desired and live objects
def _fold_secret(obj: dict) -> dict:
    """A Secret with ``stringData`` folded into ``data`` (what the API server stores)."""
    if obj.get("kind") != "Secret" or obj.get("apiVersion") != "v1" or not obj.get("stringData"):
        return obj
    out = dict(obj)
    data = dict(out.get("data") or {})
    for key, value in out.pop("stringData").items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    out["data"] = data
    return out


_OWNED_META = ("labels", "annotations", "finalizers", "ownerReferences")


def _desired_fields(obj: dict) -> dict:
    """The part of an apply configuration whose fields the applier owns."""
    out = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status") and v is not None}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k in _OWNED_META and v is not None}
    if meta:
        out["metadata"] = meta
    return out


def _subset(desired: Any, live: Any) -> bool:
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(
            v is None or (k in live and _subset(v, live[k])) for k, v in desired.items()
        )
    if isinstance(desired, list):
        return isinstance(live, list) and len(desired) == len(live) and all(map(_subset, desired, live))
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live
    return desired == live


def _paths(value: Any, prefix: tuple = ()) -> set[tuple]:
    """Every field path of ``value`` (maps descended, lists and scalars are leaves), prefixes included."""
    out = {prefix} if prefix else set()
    if isinstance(value, dict):
        for key, item in value.items():
            if item is not None:
                out |= _paths(item, (*prefix, key))
    return out


def _owned_paths(fields_v1: Mapping[str, Any], prefix: tuple = ()) -> set[tuple]:
    """Field paths in a managedFields ``fieldsV1`` tree, cut at list items (``k:``/``v:``/``i:``)."""
    out = {prefix} if prefix else set()
    for key, sub in fields_v1.items():
        if key.startswith("f:"):
            out |= _owned_paths(sub or {}, (*prefix, key[2:]))
    return out


def _leaves(paths: set[tuple]) -> set[tuple]:
    return paths - {p[:-1] for p in paths}


def _unchanged(desired: dict, live: dict, manager: str) -> bool:
    """True when applying ``desired`` as ``manager`` would change nothing in ``live``.

    The values must already be there, and ``manager`` must own these fields through an earlier
    apply: nothing it owns may be missing from ``desired`` (the apply would remove it), and every
    desired field must be owned, itself or through an owned atomic field above it (a struct such as
    a Deployment's ``spec.selector`` is owned as one field). Otherwise the apply changes ownership
    or removes fields, both real changes.
    """
    fields = _desired_fields(desired)
    if not _subset(fields, live):
        return False
    entries = [
        e for e in (live.get("metadata") or {}).get("managedFields") or []
        if e.get("manager") == manager and e.get("operation") == "Apply" and not e.get("subresource")
    ]
    if len(entries) != 1:
        return False
    owned = _owned_paths(entries[0].get("fieldsV1") or {})
    wanted = _paths(fields)
    if not owned <= wanted:
        return False
    atomic = _leaves(owned)
    return all(leaf in owned or any(leaf[:len(a)] == a for a in atomic) for leaf in _leaves(wanted))


# ---------------------------------------------------------------- the client
class Kube:
    """One context of one cluster. Thread-safe; use :func:`connect` to make one."""

    def __init__(self, *, context: str, server: str, kubeconfig: str | None, namespace: str, configuration: Any,
                 rest: Any, urllib3: Any, request_timeout: float, ca: str | None, temp: _TempFiles) -> None:
        self.context = context
        self.server = server
        self.kubeconfig = kubeconfig  # the --kubeconfig path given, None for KUBECONFIG / ~/.kube/config
        self.namespace = namespace  # the context's default namespace
        self.request_timeout = request_timeout
        self._configuration = configuration
        self._rest = rest
        self._urllib3 = urllib3
        self._ca = ca
        self._temp = temp
        self._discovery: dict[str, dict[str, tuple[str, bool]]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Kube(context={self.context!r}, server={self.server!r})"

    def __enter__(self) -> Kube:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._rest.close()
        self._temp.remove()

    # ------------------------------------------------------------ transport
    def _headers(self, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": f"kubectl-gitops/{__version__}"}
        if content_type:
            headers["Content-Type"] = content_type
        auth = self._configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
        if auth:
            headers["Authorization"] = auth
        return headers

    def _unreachable(self, reason: str, *, tls: bool = False) -> KubeUnreachable:
        hint = (f"check the certificate authority of context {self.context}'s cluster in the kubeconfig" if tls
                else f"check that the cluster is running and that context {self.context} points at it")
        return KubeUnreachable(
            f"cannot reach the Kubernetes API server {self.server} (context {self.context}): {reason}", hint=hint)

    def _request(self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: Any = None,
                 content_type: str | None = None, action: str = "", missing_ok: bool = False) -> tuple[int, Any]:
        """Send one request; return (status, decoded JSON body) for 2xx (and 404 when ``missing_ok``), else raise."""
        url = self.server + path + (f"?{urlencode(query)}" if query else "")
        exceptions = self._urllib3.exceptions
        try:
            response = self._rest.request(
                method, url, headers=self._headers(content_type or ("application/json" if body is not None else None)),
                body=body, _request_timeout=(self.request_timeout, self.request_timeout),
            )
            payload = response.read()
        except exceptions.NameResolutionError:
            raise self._unreachable("its host name does not resolve") from None
        except exceptions.NewConnectionError as exc:
            reason = "connection refused" if "refused" in str(exc).lower() else "cannot connect"
            raise self._unreachable(reason) from None
        except exceptions.ConnectTimeoutError:
            raise self._unreachable(f"no connection within {_seconds(self.request_timeout)}") from None
        except exceptions.ReadTimeoutError:
            raise self._unreachable(f"no answer within {_seconds(self.request_timeout)}") from None
        except exceptions.SSLError as exc:
            raise self._unreachable(f"TLS failure ({_last_line(exc)})", tls=True) from None
        except (exceptions.ProtocolError, exceptions.HTTPError, OSError) as exc:
            raise self._unreachable(f"connection failed ({_first_line(exc)})") from None
        except Exception as exc:  # kubernetes' ApiException(status=0) for TLS errors
            if getattr(exc, "status", None) == 0:
                raise self._unreachable(f"TLS failure ({_last_line(exc.reason)})", tls=True) from None
            raise
        status = response.status
        data = _json(payload)
        if 200 <= status < 300 or (status == 404 and missing_ok):
            return status, data
        raise self._error(status, data, method, action or f"{method} {path}")

    def _stream(self, path: str, *, query: Mapping[str, Any], action: str, read_timeout: float | None) -> Any:
        """A streaming GET (watch, follow): the urllib3 response, read as it arrives; errors as :meth:`_request`.

        The client's transport asks urllib3 not to preload the body, so its response streams."""
        url = self.server + path + f"?{urlencode(query)}"
        exceptions = self._urllib3.exceptions
        try:
            response = self._rest.request("GET", url, headers=self._headers(None),
                                          _request_timeout=(self.request_timeout, read_timeout)).response
        except exceptions.NewConnectionError as exc:
            reason = "connection refused" if "refused" in str(exc).lower() else "cannot connect"
            raise self._unreachable(reason) from None
        except (exceptions.ProtocolError, exceptions.HTTPError, OSError) as exc:
            raise self._unreachable(f"connection failed ({_first_line(exc)})") from None
        if not 200 <= response.status < 300:
            payload = response.read()
            response.release_conn()
            raise self._error(response.status, _json(payload) or {"message": payload.decode(errors="replace").strip()},
                              "GET", action)
        return response

    @staticmethod
    def _lines(response: Any) -> Iterator[bytes]:
        buffer = b""
        try:
            for chunk in response.stream(65536, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    yield line
            if buffer:
                yield buffer
        finally:
            response.release_conn()

    def _error(self, status: int, data: Any, method: str, action: str) -> KubeError:
        message = data.get("message") if isinstance(data, dict) else None
        reason = data.get("reason", "") if isinstance(data, dict) else ""
        if status == 401:
            return KubeForbidden(
                f"the API server {self.server} rejected the credentials of context {self.context} (401 Unauthorized) "
                f"while trying to {action}",
                hint="log in to the cluster again or refresh the kubeconfig",
            )
        if status == 403:
            return KubeForbidden(
                f"forbidden: context {self.context} may not {action}",
                hint="ask a cluster admin for this permission, or use a context that has it",
            )
        text = _first_line(message) if message else f"HTTP {status}"
        return KubeApiError(f"cannot {action}: {text}", status=status, reason=reason)

    # ------------------------------------------------------------ resources
    def _resource(self, api_version: str, kind: str) -> tuple[str, bool] | None:
        """(plural, namespaced) of a kind, from the table or the API server's discovery; None when not served."""
        known = _KINDS.get((api_version, kind))
        if known:
            return known
        with self._lock:
            cached = (self._discovery.get(api_version) or {}).get(kind)
        if cached:
            return cached
        # not known yet: ask (again: a CRD installed since the last answer adds its kind)
        path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        status, data = self._request("GET", path, action=f"discover the resources of {api_version}",
                                     missing_ok=True)
        if status != 200 or not isinstance(data, dict):
            return None
        found = {r["kind"]: (r["name"], bool(r.get("namespaced")))
                 for r in data.get("resources") or [] if "/" not in r.get("name", "")}
        with self._lock:
            self._discovery[api_version] = found
        return found.get(kind)

    def _require(self, api_version: str, kind: str) -> tuple[str, bool]:
        resource = self._resource(api_version, kind)
        if resource is None:
            raise KubeError(
                f"the cluster of context {self.context} has no kind {kind} in {api_version}",
                hint="is its CustomResourceDefinition installed?",
            )
        return resource

    @staticmethod
    def _path(api_version: str, plural: str, namespace: str | None, name: str | None = None,
              subresource: str | None = None) -> str:
        path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        if namespace:
            path += f"/namespaces/{quote(namespace, safe='')}"
        path += f"/{plural}"
        if name:
            path += f"/{quote(name, safe='')}"
        if subresource:
            path += f"/{subresource}"
        return path

    def _where(self, plural: str, api_version: str, name: str | None, namespace: str | None) -> str:
        group = api_version.rpartition("/")[0]
        resource = f"{plural}.{group}" if group else plural
        subject = f"{resource} {name}" if name else resource
        return f"{subject} in namespace {namespace}" if namespace else subject

    # ------------------------------------------------------------ public API
    def server_version(self) -> tuple[int, int, str]:
        """``(major, minor, gitVersion)`` of the API server, e.g. ``(1, 35, "v1.35.0")``."""
        _, data = self._request("GET", "/version", action="read the server version")
        data = data if isinstance(data, dict) else {}
        git_version = str(data.get("gitVersion") or "")

        def number(text: Any) -> int:
            digits = "".join(ch for ch in str(text or "") if ch.isdigit())
            return int(digits) if digits else 0

        major, minor = number(data.get("major")), number(data.get("minor"))
        if not major and git_version.startswith("v"):
            parts = git_version[1:].split(".")
            major, minor = number(parts[0]), number(parts[1] if len(parts) > 1 else 0)
        return major, minor, git_version

    def denied(self, checks: Iterable[AccessCheck]) -> list[AccessCheck]:
        """The checks this context may not do (SelfSubjectAccessReview each), in the order given."""
        checks = list(checks)

        def review(check: AccessCheck) -> bool:
            attributes = {"verb": check.verb, "resource": check.resource, "group": check.group}
            if check.namespace:
                attributes["namespace"] = check.namespace
            body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                    "spec": {"resourceAttributes": attributes}}
            _, data = self._request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=body,
                                    action="create selfsubjectaccessreviews.authorization.k8s.io")
            return bool(((data or {}).get("status") or {}).get("allowed"))

        if not checks:
            return []
        with ThreadPoolExecutor(max_workers=min(8, len(checks))) as pool:
            allowed = list(pool.map(review, checks))
        return [c for c, ok in zip(checks, allowed, strict=True) if not ok]

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        """The object, or None when it (or its kind) does not exist.

        ``namespace`` None on a namespaced kind means the context's namespace.
        """
        resource = self._resource(api_version, kind)
        if resource is None:
            return None
        plural, namespaced = resource
        ns = (namespace or self.namespace) if namespaced else None
        status, data = self._request("GET", self._path(api_version, plural, ns, name), missing_ok=True,
                                     action=f"get {self._where(plural, api_version, name, ns)}")
        return _typed(data, api_version, kind) if status == 200 else None

    def list(self, api_version: str, kind: str, namespace: str | None = None, *,
             label_selector: str | None = None) -> list[dict]:
        """Objects of a kind in ``namespace`` (None: every namespace), optionally by label selector.

        An unknown kind (CRD not installed) lists as empty.
        """
        resource = self._resource(api_version, kind)
        if resource is None:
            return []
        plural, namespaced = resource
        ns = namespace if namespaced else None
        query = {"labelSelector": label_selector} if label_selector else None
        status, data = self._request("GET", self._path(api_version, plural, ns), query=query, missing_ok=True,
                                     action=f"list {self._where(plural, api_version, None, ns)}")
        if status != 200 or not isinstance(data, dict):
            return []
        return [_typed(item, api_version, kind) for item in data.get("items") or []]

    def create(self, obj: dict) -> dict:
        """Create ``obj`` (``metadata.generateName`` allowed); returns the object the server stored."""
        api_version, kind = obj["apiVersion"], obj["kind"]
        plural, namespaced = self._require(api_version, kind)
        meta = obj.get("metadata") or {}
        ns = (meta.get("namespace") or self.namespace) if namespaced else None
        what = meta.get("name") or f"{meta.get('generateName', '')}*"
        _, data = self._request("POST", self._path(api_version, plural, ns), body=obj,
                                action=f"create {self._where(plural, api_version, what, ns)}")
        return _typed(data, api_version, kind)

    def watch(self, api_version: str, kind: str, namespace: str | None = None, *, label_selector: str | None = None,
              field_selector: str | None = None, resource_version: str | None = None,
              timeout: float = 60.0) -> Iterator[tuple[str, dict]]:
        """Watch a kind: yields ``(type, object)`` (ADDED, MODIFIED, DELETED) as the API server sends them, from
        ``resource_version`` (None: the current state first, as ADDED events), until ``timeout`` seconds pass.

        Raises:
            KubeError: the watch was refused (``410 Gone`` when ``resource_version`` is too old).
        """
        plural, namespaced = self._require(api_version, kind)
        ns = namespace if namespaced else None
        query: dict[str, Any] = {"watch": "true", "timeoutSeconds": max(1, int(timeout)),
                                 "allowWatchBookmarks": "true"}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        if resource_version:
            query["resourceVersion"] = resource_version
        response = self._stream(self._path(api_version, plural, ns), query=query, read_timeout=timeout + 30,
                                action=f"watch {self._where(plural, api_version, None, ns)}")
        for line in self._lines(response):
            event = _json(line)
            if not isinstance(event, dict):
                continue
            kind_of = event.get("type")
            obj = event.get("object") or {}
            if kind_of == "ERROR":
                raise self._error(int(obj.get("code") or 500), obj, "GET", f"watch {plural}")
            if kind_of == "BOOKMARK":
                continue
            yield kind_of, _typed(obj, api_version, kind)

    def logs(self, namespace: str, pod: str, container: str, *, follow: bool = False,
             tail_lines: int | None = None, timeout: float = 3600.0) -> Iterator[str]:
        """The log lines of one container (``follow``: as they are written, until the container ends)."""
        query: dict[str, Any] = {"container": container}
        if follow:
            query["follow"] = "true"
        if tail_lines is not None:
            query["tailLines"] = tail_lines
        response = self._stream(self._path("v1", "pods", namespace, pod, "log"), query=query,
                                read_timeout=timeout if follow else self.request_timeout,
                                action=f"read the log of container {container} of pod {pod} in namespace {namespace}")
        for line in self._lines(response):
            yield line.decode("utf-8", errors="replace").rstrip("\r")

    def apply(self, obj: dict, *, field_manager: str = "kubectl-gitops", force: bool = True) -> str:
        """Server-side apply ``obj``; returns ``"created"``, ``"updated"`` or ``"unchanged"``.

        The live object is read first: when it already holds every desired value and
        ``field_manager`` owns exactly the applied fields, nothing is sent ("unchanged"). A
        Secret's ``stringData`` is sent as ``data``. ``force`` takes over fields other managers own.
        """
        obj = _fold_secret(obj)
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        meta = obj.get("metadata") or {}
        name = meta.get("name")
        if not api_version or not kind or not name:
            raise KubeError("cannot apply an object without apiVersion, kind and metadata.name")
        plural, namespaced = self._require(api_version, kind)
        namespace = (meta.get("namespace") or self.namespace) if namespaced else None
        where = self._where(plural, api_version, name, namespace)
        status, live = self._request("GET", self._path(api_version, plural, namespace, name), action=f"get {where}",
                                     missing_ok=True)
        live = live if status == 200 else None
        if live is not None and _unchanged(obj, live, field_manager):
            return "unchanged"
        body = dict(obj)
        body["metadata"] = {k: v for k, v in meta.items()
                            if k not in ("resourceVersion", "uid", "managedFields", "creationTimestamp", "generation")}
        if namespace:
            body["metadata"]["namespace"] = namespace
        body.pop("status", None)
        query = {"fieldManager": field_manager, **({"force": "true"} if force else {})}
        _, result = self._request("PATCH", self._path(api_version, plural, namespace, name), query=query, body=body,
                                  content_type="application/apply-patch+yaml", action=f"apply {where}")
        if live is None:
            return "created"
        before = (live.get("metadata") or {}).get("resourceVersion")
        after = ((result or {}).get("metadata") or {}).get("resourceVersion")
        return "unchanged" if before and before == after else "updated"

    def patch(self, api_version: str, kind: str, name: str, namespace: str | None = None, *,
              patch: dict) -> dict:
        """JSON-merge-patch an existing object; returns it.

        Raises:
            KubeApiError: the object does not exist (status 404) or the server refused the patch.
        """
        plural, namespaced = self._require(api_version, kind)
        ns = (namespace or self.namespace) if namespaced else None
        where = self._where(plural, api_version, name, ns)
        _, data = self._request("PATCH", self._path(api_version, plural, ns, name), body=patch,
                                content_type="application/merge-patch+json", action=f"patch {where}")
        return _typed(data, api_version, kind)

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete an object; False when it was not there."""
        resource = self._resource(api_version, kind)
        if resource is None:
            return False
        plural, namespaced = resource
        ns = (namespace or self.namespace) if namespaced else None
        status, _ = self._request("DELETE", self._path(api_version, plural, ns, name), missing_ok=True,
                                  body={"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"},
                                  action=f"delete {self._where(plural, api_version, name, ns)}")
        return status != 404

    def ensure_secret(self, namespace: str, name: str, *, string_data: Mapping[str, str], type: str = "Opaque",
                      labels: Mapping[str, str] | None = None, annotations: Mapping[str, str] | None = None,
                      field_manager: str = "kubectl-gitops") -> str:
        """Create or update a Secret holding ``string_data``; ``"created"``/``"updated"``/``"unchanged"``.

        Keys this field manager set before and no longer gives are removed (server-side apply).

        Raises:
            KubeError: a Secret of that name exists with another ``type`` (the type cannot change).
        """
        live = self.get("v1", "Secret", name, namespace)
        if live is not None and live.get("type", "Opaque") != type:
            raise KubeError(
                f"Secret {namespace}/{name} exists with type {live.get('type')}, not {type}",
                hint="delete it, or choose another name",
            )
        meta: dict[str, Any] = {"name": name, "namespace": namespace}
        if labels:
            meta["labels"] = dict(labels)
        if annotations:
            meta["annotations"] = dict(annotations)
        return self.apply({"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": type,
                           "stringData": dict(string_data)}, field_manager=field_manager)

    def service_account_token(self, namespace: str, service_account: str, *, timeout: float,
                              secret_name: str | None = None) -> ServiceAccountToken:
        """A long-lived token of a ServiceAccount, from a ``kubernetes.io/service-account-token`` Secret.

        The Secret (default name ``<service_account>-token``) is created when missing; the token
        controller fills it. Polls until it is filled or ``timeout`` seconds passed.

        Raises:
            KubeError: the ServiceAccount does not exist, or a Secret of that name is something else.
            WaitTimeout: the token controller did not fill the Secret in time.
        """
        name = secret_name or f"{service_account}-token"
        if self.get("v1", "ServiceAccount", service_account, namespace) is None:
            raise KubeError(f"ServiceAccount {namespace}/{service_account} not found", hint="create it first")
        live = self.get("v1", "Secret", name, namespace)
        if live is not None and (live.get("type") != SA_TOKEN_TYPE or _annotation(live, SA_NAME_ANNOTATION)
                                 != service_account):
            raise KubeError(f"Secret {namespace}/{name} exists but is not a token of ServiceAccount {service_account}",
                            hint="delete it, or choose another name")
        if live is None:
            self.apply({"apiVersion": "v1", "kind": "Secret", "type": SA_TOKEN_TYPE,
                        "metadata": {"name": name, "namespace": namespace,
                                     "annotations": {SA_NAME_ANNOTATION: service_account}}})
        deadline = time.monotonic() + timeout
        delay = _POLL_FIRST
        while True:
            secret = self.get("v1", "Secret", name, namespace) or {}
            data = secret.get("data") or {}
            if data.get("token"):
                return ServiceAccountToken(namespace=namespace, service_account=service_account, secret=name,
                                           token=base64.b64decode(data["token"]).decode(),
                                           ca_data=data.get("ca.crt"))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                state = "gone (deleted by the token controller?)" if not secret else "still has no token"
                raise WaitTimeout(f"timed out after {_seconds(timeout)} waiting for the token of ServiceAccount "
                                  f"{namespace}/{service_account}", details=[f"Secret {namespace}/{name}: {state}"])
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, _POLL_MAX)

    def ca_data(self) -> str | None:
        """The base64 CA of this context's cluster from the kubeconfig (None when it has none)."""
        return self._ca

    # ------------------------------------------------------------ readiness
    def readiness(self, ref: ObjectRef) -> Readiness:
        """The readiness of one object now (see :mod:`kubectl_gitops.core.readiness`)."""
        return self._evaluate([ref])[ref]

    def _evaluate(self, refs: Sequence[ObjectRef]) -> dict[ObjectRef, Readiness]:
        groups: dict[tuple[str, str, str | None], list[ObjectRef]] = {}
        for ref in refs:
            groups.setdefault((ref.api_version, ref.kind, ref.namespace), []).append(ref)
        objects: dict[ObjectRef, dict | None] = {}
        for (api_version, kind, namespace), members in groups.items():
            resource = self._resource(api_version, kind)
            if resource is None or len(members) == 1:
                for ref in members:
                    objects[ref] = self.get(api_version, kind, ref.name, namespace) if resource else None
                continue
            namespace = (namespace or self.namespace) if resource[1] else None
            by_name = {o["metadata"]["name"]: o for o in self.list(api_version, kind, namespace)}
            for ref in members:
                objects[ref] = by_name.get(ref.name)
        related = self._endpoint_slices(o for r, o in objects.items() if r.kind in _WEBHOOK_KINDS and o)
        return {ref: evaluate(ref, objects[ref], related=related) for ref in refs}

    def _endpoint_slices(self, webhook_configurations: Iterable[dict]) -> dict[str, Any]:
        services: dict[str, set[str]] = {}
        for configuration in webhook_configurations:
            for hook in configuration.get("webhooks") or []:
                svc = (hook.get("clientConfig") or {}).get("service")
                if svc and svc.get("namespace") and svc.get("name"):
                    services.setdefault(svc["namespace"], set()).add(svc["name"])
        found: dict[str, list[dict]] = {}
        for namespace, names in sorted(services.items()):
            selector = f"kubernetes.io/service-name in ({','.join(sorted(names))})"
            for item in self.list("discovery.k8s.io/v1", "EndpointSlice", namespace, label_selector=selector):
                service = ((item.get("metadata") or {}).get("labels") or {}).get("kubernetes.io/service-name")
                found.setdefault(f"{namespace}/{service}", []).append(item)
        return {"endpointslices": found}

    def wait(self, refs: Sequence[ObjectRef], *, timeout: float, reporter: Reporter, what: str) -> None:
        """Wait until every object is ready; fail fast when one failed.

        Polls (0.1 s, doubling up to 2 s, never past the deadline), says through ``reporter`` what
        it still waits for, and lists each object once it is ready (verbose). Connection failures
        and 429/5xx answers during the wait are retried until the deadline.

        Raises:
            WaitFailed: an object is FAILED; ``details`` lists every failed object, sorted.
            WaitTimeout: ``timeout`` passed; ``details`` lists every object not ready, sorted, with its
                last message.
            KubeForbidden: reading an object is not allowed.
        """
        ordered = sorted(set(refs), key=lambda r: r.sort_key)
        if not ordered:
            return
        total = len(ordered)
        start = time.monotonic()
        deadline = start + timeout
        reporter.waiting(f"waiting for {what} ({total} object{'s' if total != 1 else ''}, timeout {_seconds(timeout)})")
        last: dict[ObjectRef, Readiness] = {}
        seen_ready: set[ObjectRef] = set()
        last_error: KubeError | None = None
        last_report, last_pending = start, None
        delay = _POLL_FIRST
        while True:
            try:
                last = self._evaluate(ordered)
                last_error = None
            except KubeForbidden:
                raise
            except KubeUnreachable as exc:
                if not last:  # never reached it during this wait: say so now
                    raise
                last_error = exc
            except KubeApiError as exc:
                if not exc.transient:
                    raise
                last_error = exc
            failed = [last[r] for r in ordered if r in last and last[r].failed]
            if failed:
                raise WaitFailed(f"{what} failed: {len(failed)} of {total} object{'s' if total != 1 else ''} "
                                 f"will not become ready", details=[str(r) for r in failed])
            for ref in ordered:
                if ref in last and last[ref].ready and ref not in seen_ready:
                    seen_ready.add(ref)
                    reporter.detail(f"{last[ref]}")
            pending = [r for r in ordered if r not in last or not last[r].ready]
            now = time.monotonic()
            if not pending:
                reporter.success(f"{what} ready ({total} object{'s' if total != 1 else ''}, {now - start:.1f}s)")
                return
            if now >= deadline:
                details = [str(last[r]) if r in last else f"{r}: not checked" for r in pending]
                if last_error is not None:
                    details.append(f"last error: {last_error}")
                raise WaitTimeout(f"timed out after {_seconds(timeout)} waiting for {what}: {len(pending)} of {total} "
                                  f"not ready", details=details)
            if pending != last_pending or now - last_report >= _REPORT_EVERY:
                names = ", ".join(str(r) for r in pending[:3]) + (f" and {len(pending) - 3} more"
                                                                  if len(pending) > 3 else "")
                reporter.waiting(f"{what}: {total - len(pending)} of {total} ready; waiting for {names} "
                                 f"[{now - start:.0f}s]")
                last_report, last_pending = now, pending
            time.sleep(min(delay, max(deadline - now, 0.0)))
            delay = min(delay * 2, _POLL_MAX)


# ---------------------------------------------------------------- small helpers
def _first_line(value: Any) -> str:
    text = str(value or "").strip()
    return text.splitlines()[0] if text else ""


def _seconds(value: float) -> str:
    """``20s``, ``0.4s``, ``60s`` (for 59.6): durations as people write them."""
    if value >= 10:
        return f"{value:.0f}s"
    return f"{value:.2f}".rstrip("0").rstrip(".") + "s"


def _last_line(value: Any) -> str:
    lines = [line.strip() for line in str(value or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _json(payload: bytes) -> Any:
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return None


def _typed(obj: Any, api_version: str, kind: str) -> dict:
    """Objects with apiVersion and kind set (items of a list response come without them)."""
    if not isinstance(obj, dict):
        return {}
    obj.setdefault("apiVersion", api_version)
    obj.setdefault("kind", kind)
    return obj


def _annotation(obj: dict, key: str) -> str | None:
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(key)


__all__ = ["AccessCheck", "Kube", "ObjectRef", "Readiness", "ServiceAccountToken", "State", "connect"]
