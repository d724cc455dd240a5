"""Resource table (builtin kinds and CRD-defined kinds) and label/field selectors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    status: bool = False
    scale: bool = False
    crd: str | None = None  # name of the defining CustomResourceDefinition
    verbs: list[str] | None = None  # None: every verb in VERBS

    def __post_init__(self):
        if not self.singular:
            self.singular = self.kind.lower()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """``plural.group`` as used in error messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)


def _r(gv, plural, kind, namespaced=True, short=(), cats=(), status=False, scale=False, verbs=None):
    group, _, version = gv.rpartition("/")
    return Resource(
        group,
        version,
        plural,
        kind,
        namespaced,
        short_names=list(short),
        categories=list(cats),
        status=status,
        scale=scale,
        verbs=verbs,
    )


ALL = ("all",)
BUILTIN = [
    _r("v1", "namespaces", "Namespace", False, ("ns",), status=True),
    _r("v1", "configmaps", "ConfigMap", short=("cm",)),
    _r("v1", "secrets", "Secret"),
    _r("v1", "services", "Service", short=("svc",), cats=ALL, status=True),
    _r("v1", "serviceaccounts", "ServiceAccount", short=("sa",)),
    _r("v1", "pods", "Pod", short=("po",), cats=ALL, status=True),
    _r("v1", "events", "Event", short=("ev",)),
    _r("v1", "endpoints", "Endpoints", short=("ep",)),
    _r("v1", "persistentvolumeclaims", "PersistentVolumeClaim", short=("pvc",), status=True),
    _r("v1", "nodes", "Node", False, ("no",), status=True),
    _r("apps/v1", "deployments", "Deployment", short=("deploy",), cats=ALL, status=True, scale=True),
    _r("apps/v1", "statefulsets", "StatefulSet", short=("sts",), cats=ALL, status=True, scale=True),
    _r("apps/v1", "daemonsets", "DaemonSet", short=("ds",), cats=ALL, status=True),
    _r("apps/v1", "replicasets", "ReplicaSet", short=("rs",), cats=ALL, status=True, scale=True),
    _r("apps/v1", "controllerrevisions", "ControllerRevision"),
    _r("batch/v1", "jobs", "Job", cats=ALL, status=True),
    _r("batch/v1", "cronjobs", "CronJob", short=("cj",), cats=ALL, status=True),
    _r("rbac.authorization.k8s.io/v1", "roles", "Role"),
    _r("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding"),
    _r("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False),
    _r("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _r("networking.k8s.io/v1", "ingresses", "Ingress", short=("ing",), status=True),
    _r("networking.k8s.io/v1", "ingressclasses", "IngressClass", False),
    _r("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", short=("netpol",)),
    _r(
        "apiextensions.k8s.io/v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        ("crd", "crds"),
        status=True,
    ),
    _r(
        "admissionregistration.k8s.io/v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        False,
    ),
    _r(
        "admissionregistration.k8s.io/v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        False,
    ),
    _r("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", short=("pdb",), status=True),
    _r(
        "autoscaling/v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        short=("hpa",),
        cats=ALL,
        status=True,
    ),
    _r(
        "autoscaling/v1",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        short=("hpa",),
        cats=ALL,
        status=True,
    ),
    _r("coordination.k8s.io/v1", "leases", "Lease"),
    _r("apiregistration.k8s.io/v1", "apiservices", "APIService", False, status=True),
    _r("storage.k8s.io/v1", "storageclasses", "StorageClass", False, ("sc",)),
    _r("discovery.k8s.io/v1", "endpointslices", "EndpointSlice"),
    # answered, never stored: see FakeKube.deny and the package docstring
    _r("authorization.k8s.io/v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False, verbs=["create"]),
]


def version_priority(version: str) -> tuple:
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first (sort ascending)."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0, version)
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor, version)


# ---------------------------------------------------------------- selectors
class SelectorError(ValueError):
    pass


_SET_RE = re.compile(r"^\s*([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_terms(text: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def parse_label_selector(text: str):
    """A predicate on a labels dict for ``=``, ``==``, ``!=``, ``in``, ``notin``, ``key``, ``!key``."""
    checks = []
    for term in _split_terms(text or ""):
        m = _SET_RE.match(term)
        if m:
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
            if op == "in":
                checks.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                checks.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        elif "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            checks.append(lambda labels, k=key, v=value: labels.get(k) != v)
        elif "=" in term:
            key, value = (s.strip() for s in term.replace("==", "=").split("=", 1))
            checks.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif term.startswith("!"):
            key = term[1:].strip()
            checks.append(lambda labels, k=key: k not in labels)
        elif re.fullmatch(r"[A-Za-z0-9._/-]+", term):
            checks.append(lambda labels, k=term: k in labels)
        else:
            raise SelectorError(f"unable to parse requirement: {term!r}")
    return lambda labels: all(c(labels or {}) for c in checks)


def _field_value(obj: dict, path: str):
    node = obj
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return ""
        node = node[part]
    if isinstance(node, bool):
        return "true" if node else "false"
    return "" if node is None else str(node)


def parse_field_selector(text: str):
    """A predicate on an object for ``path=value``, ``path==value``, ``path!=value``."""
    checks = []
    for term in _split_terms(text or ""):
        if "!=" in term:
            path, value = (s.strip() for s in term.split("!=", 1))
            checks.append(lambda o, p=path, v=value: _field_value(o, p) != v)
        elif "=" in term:
            path, value = (s.strip() for s in term.replace("==", "=").split("=", 1))
            checks.append(lambda o, p=path, v=value: _field_value(o, p) == v)
        else:
            raise SelectorError(f"invalid field selector: {term!r}")
    return lambda obj: all(c(obj) for c in checks)
