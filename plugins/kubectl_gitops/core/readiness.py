"""Readiness of Kubernetes objects: pure, tri-state rules (ready, not yet, failed).

:func:`evaluate` looks at one object as the API server returned it (a dict) and says whether
it is :attr:`State.READY`, :attr:`State.PENDING` (not yet: keep waiting) or :attr:`State.FAILED`
(it will not get ready by itself: stop waiting). Nothing here talks to a cluster; the kube
adapter fetches the objects (and, for admission webhooks, the EndpointSlices of their
services) and calls these rules.

Rules per kind:

- every kind: missing -> not yet ("not found"); ``deletionTimestamp`` set -> not yet.
- CustomResourceDefinition: ``Established`` and ``NamesAccepted`` True. ``NamesAccepted``
  False (a name conflict with another CRD) -> failed.
- Deployment (as ``kubectl rollout status``): ``status.observedGeneration`` >= ``metadata.generation``
  first (status from before the last change says nothing); then updated == ``spec.replicas``,
  no old replicas left, available == updated. ``Progressing`` False with reason
  ``ProgressDeadlineExceeded`` -> failed.
- StatefulSet: observed generation, ``readyReplicas`` == replicas, and (rolling update without a
  partition) ``currentRevision`` == ``updateRevision``; with a partition, the updated replicas above it.
- DaemonSet: observed generation, every desired pod updated and available.
- Job: ``Complete`` (or ``SuccessCriteriaMet``) True -> ready; ``Failed`` True -> failed.
- Service: of type LoadBalancer, ready once ``status.loadBalancer.ingress`` has an IP or hostname;
  other types are ready when they exist.
- ValidatingWebhookConfiguration / MutatingWebhookConfiguration: "answering" = every webhook that
  calls a Service has at least one ready endpoint in an EndpointSlice of that Service
  (``related["endpointslices"]["<namespace>/<service>"]``). Webhooks that call a URL are not checked.
- Argo CD Application: not stale first (``status.sync.comparedTo.source(s)`` equals ``spec.source(s)``:
  health from before the last spec change says nothing), then Synced and Healthy, at
  ``ObjectRef.expected_revision`` when given (compared with ``spec.source.targetRevision``, and with
  ``status.sync.revision`` when it looks like a commit). The last sync operation ``Failed``/``Error``
  for the current source -> failed (Argo CD has given up retrying by then). Health ``Degraded``
  without a failed operation is not yet (a rollout may still recover).
- TektonConfig: condition ``Ready`` True (after ``status.observedGeneration`` caught up).
  ``Ready`` False is not yet, whatever its reason: the operator keeps reconciling every failure
  (installer sets, version checks, webhooks not up yet) and nothing in its status marks an error as
  final, so a stuck install surfaces as a wait timeout that shows the operator's last message.
- other kinds: a ``Ready`` condition when the object has one (True ready, otherwise not yet),
  Namespace ``Active``, PersistentVolumeClaim ``Bound``; anything else is ready when it exists.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ObjectRef:
    """One object to check or wait for.

    Attributes:
        api_version: e.g. ``apps/v1``.
        kind: e.g. ``Deployment``.
        name: the object's name.
        namespace: its namespace (None for cluster-scoped kinds).
        expected_revision: Argo CD Applications only: the ``targetRevision`` the sync must be at
            (a branch, tag or commit; a commit is also compared with the synced revision).
    """

    api_version: str
    kind: str
    name: str
    namespace: str | None = None
    expected_revision: str | None = None

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    @property
    def sort_key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace or "", self.name)


class State(enum.Enum):
    READY = "ready"
    PENDING = "pending"
    FAILED = "failed"


@dataclass(frozen=True)
class Readiness:
    """The verdict on one object, with the condition or message that explains it."""

    ref: ObjectRef
    state: State
    message: str

    @property
    def ready(self) -> bool:
        return self.state is State.READY

    @property
    def failed(self) -> bool:
        return self.state is State.FAILED

    def __str__(self) -> str:
        return f"{self.ref}: {self.message}" if self.message else str(self.ref)


_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")


def evaluate(ref: ObjectRef, obj: dict | None, *, related: Mapping[str, Any] | None = None) -> Readiness:
    """Say whether ``obj`` (the live object ``ref`` names, or None) is ready.

    Args:
        ref: what is checked (its kind picks the rule).
        obj: the object as the API server returned it, or None when it does not exist.
        related: extra objects a rule needs; webhook configurations read
            ``related["endpointslices"]``, a mapping ``"<namespace>/<service>"`` -> EndpointSlices.
    """
    if obj is None:
        return Readiness(ref, State.PENDING, "not found")
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return Readiness(ref, State.PENDING, "being deleted")
    group = ref.api_version.rpartition("/")[0]
    rule = _RULES.get((group, ref.kind), _generic)
    state, message = rule(ref, obj, related or {})
    return Readiness(ref, state, message)


# ---------------------------------------------------------------- helpers
def _conditions(obj: dict) -> dict[str, dict]:
    return {c.get("type"): c for c in ((obj.get("status") or {}).get("conditions") or []) if isinstance(c, dict)}


def _describe(condition: dict | None) -> str:
    if not condition:
        return ""
    parts = [f"{condition.get('type')}={condition.get('status')}"]
    if condition.get("reason"):
        parts.append(str(condition["reason"]))
    text = ": ".join([" ".join(parts), condition["message"]]) if condition.get("message") else " ".join(parts)
    return text


def _generation_pending(obj: dict) -> str | None:
    generation = (obj.get("metadata") or {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    if generation is None:
        return None
    if observed is None or int(observed) < int(generation):
        seen = "none" if observed is None else observed
        return f"waiting for the controller to observe generation {generation} (observed: {seen})"
    return None


# ---------------------------------------------------------------- rules
def _crd(ref: ObjectRef, obj: dict, related: Mapping[str, Any]) -> tuple[State, str]:
    conditions = _conditions(obj)
    names = conditions.get("NamesAccepted")
    if names and names.get("status") == "False":
        return State.FAILED, _describe(names)
    established = conditions.get("Established")
    if established and established.get("status") == "True" and names and names.get("status") == "True":
        return State.READY, "established"
    return State.PENDING, _describe(established) or _describe(names) or "not established yet"


def _deployment(ref: ObjectRef, obj: dict, related: Mapping[str, Any]) -> tuple[State, str]:
    waiting = _generation_pending(obj)
    if waiting:
        return State.PENDING, waiting
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    progressing = _conditions(obj).get("Progressing")
    if progressing and progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded":
        return State.FAILED, _describe(progressing)
    replicas = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if spec.get("paused"):
        return State.PENDING, "rollout paused (spec.paused)"
    if updated < replicas:
        return State.PENDING, f"{updated} of {replicas} replicas updated" + _suffix(progressing)
    if total > updated:
        return State.PENDING, f"{total - updated} old replicas pending termination"
    if available < updated:
        return State.PENDING, f"{available} of {updated} updated replicas available" + _suffix(progressing)
    return State.READY, f"{available} of {replicas} replicas available"


def _suffix(condition: dict | None) -> str:
    text = _describe(condition)
    return f" ({text})" if text and condition and condition.get("status") != "True" else ""


def _statefulset(ref: ObjectRef, obj: dict, related: Mapping[str, Any]) -> tuple[State, str]:
    waiting = _generation_pending(obj)
    if waiting:
        return State.PENDING, waiting
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    replicas = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas") or 0)
    if ready < replicas:
        return State.PENDING, f"{ready} of {replicas} replicas ready"
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return State.READY, f"{ready} of {replicas} replicas ready"
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
    if partition:
        updated = int(status.get("updatedReplicas") or 0)
        if updated < replicas - partition:
            return State.PENDING, f"{updated} of {replicas - partition} replicas above partition {partition} updated"
        return State.READY, f"{ready} of {replicas} replicas ready (partition {partition})"
    current, update = status.get("currentRevision"), status.get("updateRevision")
    if update and current != update:
        updated = int(status.get("updatedReplicas") or 0)
        return State.PENDING, f"{updated} of {replicas} replicas at revision {update}"
    return State.READY, f"{ready} of {replicas} replicas ready"


def _daemonset(ref: ObjectRef, obj: dict, related: Mapping[str, Any]) -> tuple[State, str]:
    waiting = _generation_pending(obj)
    if waiting:
        return State.PENDING, waiting
    status = obj.get("status") or {}
    desired = int(status.get("desiredNumberScheduled") or 0)
    updated = int(status.get("updatedNumberScheduled") or 0)
    available = int(status.get("numberAvailable") or 0)
    if updated < desired:
        return State.PENDING, f"{updated} of {desired} pods updated"
    if available < desired:
        return State.PENDING, f"{available} of {desired} updated pods available"
    return State.READY, f"{available} of {desired} pods available"


def _job(ref: ObjectRef, obj: dict, related: Mapping[str, Any]) -> tuple[State, str]:
    conditions = _conditions(obj)
    failed = conditions.get("Failed")
    if failed and failed.get("status") == "True":
        return State.FAILED, _describe(failed)
    for kind in ("Complete", "SuccessCriteriaMet"):
        done = conditions.get(kind)
        if done and done.get("status") == "True":
            return State.READY, "complete"
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    completions = spec.get("completions", 1)
    return State.PENDING, f"{int(status.get('succeeded') or 0)} of {completions} completions"


def _service(ref: ObjectRef, obj: dict, related: Mapping[str, Any]) -> tuple[State, str]:
    if (obj.get("spec") or {}).get("type") != "LoadBalancer":
        return State.READY, "exists"
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    addresses = [i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")]
    if addresses:
        return State.READY, f"load balancer at {', '.join(addresses)}"
    return State.PENDING, "waiting for the load balancer's address"


def _ready_endpoints(slices: Iterable[dict]) -> int:
    count = 0
    for endpoint_slice in slices:
        for endpoint in endpoint_slice.get("endpoints") or []:
            ready = (endpoint.get("conditions") or {}).get("ready")
            if endpoint.get("addresses") and ready is not False:  # nil means ready (EndpointConditions)
                count += 1
    return count


def _webhooks(ref: ObjectRef, obj: dict, related: Mapping[str, Any]) -> tuple[State, str]:
    slices_by_service = related.get("endpointslices")
    webhooks = obj.get("webhooks") or []
    services = sorted({
        f"{svc.get('namespace')}/{svc.get('name')}"
        for hook in webhooks
        if (svc := (hook.get("clientConfig") or {}).get("service"))
    })
    if not services:
        return State.READY, f"{len(webhooks)} webhooks, none calls a service"
    if slices_by_service is None:
        return State.PENDING, "endpoints of " + ", ".join(services) + " not checked"
    silent = [s for s in services if _ready_endpoints(slices_by_service.get(s) or []) == 0]
    if silent:
        return State.PENDING, "no ready endpoint for service " + ", ".join(silent)
    return State.READY, "answering (" + ", ".join(services) + ")"


def _sources(spec_or_compared: dict) -> Any:
    if spec_or_compared.get("sources"):
        return spec_or_compared["sources"]
    return spec_or_compared.get("source")


def _same_source(a: Any, b: Any) -> bool:
    """Sources compared as Argo CD stores them (empty values and absent keys are the same)."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v not in (None, "", [], {})}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return clean(a) == clean(b)


def _application(ref: ObjectRef, obj: dict, related: Mapping[str, Any]) -> tuple[State, str]:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    sync = status.get("sync") or {}
    health = (status.get("health") or {}).get("status")
    source = spec.get("source") or {}
    expected = ref.expected_revision
    commit = bool(expected and _COMMIT.match(expected))
    if expected and not commit and not spec.get("sources"):
        target = source.get("targetRevision") or "HEAD"
        if target != expected:
            return State.PENDING, f"spec.source.targetRevision is {target}, expected {expected}"
    if not sync:
        return State.PENDING, "not reconciled by Argo CD yet"
    compared = sync.get("comparedTo") or {}
    if not _same_source(_sources(compared), _sources(spec)):
        return State.PENDING, "status is from before the last change of the source (waiting for a refresh)"
    operation = status.get("operationState") or {}
    phase = operation.get("phase")
    result_source = _sources(operation.get("syncResult") or {})
    current_operation = result_source is None or _same_source(result_source, _sources(spec))
    if phase in ("Failed", "Error") and current_operation:
        detail = f": {operation['message']}" if operation.get("message") else ""
        degraded = f" (health {health})" if health == "Degraded" else ""
        return State.FAILED, f"sync {phase}{degraded}{detail}"
    revision = sync.get("revision") or next(iter(sync.get("revisions") or []), "")
    short = revision[:12]
    if phase in ("Running", "Terminating"):
        detail = f": {operation['message']}" if operation.get("message") else ""
        return State.PENDING, f"sync {phase.lower()}{detail}"
    if sync.get("status") != "Synced":
        return State.PENDING, f"sync {sync.get('status') or 'Unknown'}, health {health or 'Unknown'}"
    if health != "Healthy":
        message = (status.get("health") or {}).get("message")
        return State.PENDING, f"health {health or 'Unknown'}" + (f": {message}" if message else "")
    if expected and commit and not revision.startswith(expected):
        return State.PENDING, f"synced at {short or 'unknown revision'}, waiting for {expected[:12]}"
    return State.READY, f"Synced and Healthy at {short}" if short else "Synced and Healthy"


def _tektonconfig(ref: ObjectRef, obj: dict, related: Mapping[str, Any]) -> tuple[State, str]:
    status = obj.get("status") or {}
    if status.get("observedGeneration") is not None:
        waiting = _generation_pending(obj)
        if waiting:
            return State.PENDING, waiting
    ready = _conditions(obj).get("Ready")
    if ready and ready.get("status") == "True":
        return State.READY, "Ready" + (f" (version {status['version']})" if status.get("version") else "")
    return State.PENDING, _describe(ready) or "no Ready condition yet"


def _generic(ref: ObjectRef, obj: dict, related: Mapping[str, Any]) -> tuple[State, str]:
    status = obj.get("status") or {}
    if ref.kind == "Namespace":
        phase = status.get("phase", "Active")
        return (State.READY, "Active") if phase == "Active" else (State.PENDING, phase)
    if ref.kind == "PersistentVolumeClaim":
        phase = status.get("phase")
        return (State.READY, "Bound") if phase == "Bound" else (State.PENDING, phase or "not bound yet")
    ready = _conditions(obj).get("Ready")
    if ready is not None:
        if ready.get("status") == "True":
            return State.READY, "Ready"
        return State.PENDING, _describe(ready)
    return State.READY, "exists"


_RULES = {
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
    ("apps", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("batch", "Job"): _job,
    ("", "Service"): _service,
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): _webhooks,
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): _webhooks,
    ("argoproj.io", "Application"): _application,
    ("operator.tekton.dev", "TektonConfig"): _tektonconfig,
}
