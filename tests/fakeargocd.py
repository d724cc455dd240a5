"""A stand-in for Argo CD's repo-server and application controller, over real git repositories.

:class:`FakeArgoCD` reconciles the ``argoproj.io`` Applications of a :class:`fakekube.FakeKube` the
way Argo CD does, with real tools: the real ``git`` resolves each source's ``targetRevision``
(branch, tag, ``HEAD``, full or short commit) to a commit of the repository (``file://`` URLs,
absolute paths, or ``http(s)://`` URLs such as :mod:`fakegit`'s host, with the credentials of Argo
CD repository Secrets), and the real ``kubectl kustomize`` renders kustomizations.
:class:`fakeplatform.FakePlatform` creates one and hands it the Application events once the
Argo CD application controller StatefulSet has rolled out.

Per source (``spec.source`` or each of ``spec.sources``):

- credentials: Secrets in the ``argocd`` namespace labelled ``argocd.argoproj.io/secret-type:
  repository`` (keys ``url``, ``username``, ``password``) for the exact URL, else ``repo-creds``
  (the longest ``url`` prefix), handed to git through ``GIT_ASKPASS`` (never in a URL or argument);
- a repository that cannot be listed, a revision that resolves to no commit, a missing path, a
  Helm chart that cannot be fetched, a missing value file, a kustomize error: sync status
  ``Unknown``, no revision, a ``ComparisonError`` condition worded as Argo CD words it
  (``Failed to load target state: failed to generate manifest for source 1 of 1: rpc error: code =
  Unknown desc = ...`` with ``failed to list refs: authentication required``, ``... repository not
  found``, ``unable to resolve 'x' to a commit SHA``, ``<path>: app path does not exist``, ...), and
  the health of what the Application deployed before (Healthy with nothing);
- ``kustomization.yaml`` (``.yml``, ``Kustomization``): rendered with ``kubectl kustomize``;
  ``Chart.yaml``: a Helm chart in git, whose dependencies (repository, name, version) must all be
  in ``helm_charts`` (the charts the stand-in "can fetch") or be vendored under ``charts/``, and
  whose ``helm.valueFiles`` must exist (relative to the chart; ``$ref/...`` from a ``ref`` source);
  anything else: a directory of ``.yaml``/``.yml``/``.json`` manifests (``directory.recurse``,
  ``include``/``exclude`` globs). ``chart:`` sources (Helm repositories) must be in ``helm_charts``.
  Synced Applications carry the commit in ``status.sync.revision`` (``revisions`` for ``sources``).

Sync:

- automated (``spec.syncPolicy.automated``): when something is out of sync or the revision moved,
  the desired objects of kustomize and directory sources are server-side applied to the destination
  (field manager ``argocd-controller``, force, into ``destination.namespace`` when they have none, the
  ``argocd.argoproj.io/tracking-id`` annotation added); with ``prune``, objects applied before and no
  longer desired are deleted. Destinations: in-cluster (``https://kubernetes.default.svc`` or name
  ``in-cluster``), or a cluster Secret (label ``argocd.argoproj.io/secret-type: cluster``, keys
  ``name``/``server``) whose server is a key of ``remote_kubes``.
- manual: nothing is applied; Synced only when every desired object exists live with the same
  container images, else OutOfSync; desired objects that are absent make the health ``Missing``.
- ``operation.sync`` (optional ``revision``/``revisions``, ``prune``): a sync at that revision even for
  manual Applications; recorded in ``status.operationState`` (phase, message, ``operation`` with
  ``initiatedBy``, ``syncResult.revision``, startedAt/finishedAt) and ``operation`` removed.
  ``failing_applications`` (name -> message) makes every sync of that Application fail with that
  message (sync status OutOfSync even when it has nothing to apply).
- health: Healthy when every applied Deployment/StatefulSet is rolled out (observedGeneration caught
  up, updated and available replicas), Progressing before, Degraded on ProgressDeadlineExceeded,
  Missing for absent objects, Healthy with no resources; ``status.health.lastTransitionTime`` is when
  the health status last changed, as Argo CD v3 stamps it. ``status.summary.images`` lists the images
  of the live workloads the Application manages; ``status.resources`` one entry per object.

When it reconciles: on every change of an Application's spec or ``operation`` (its generation), when
the ``argocd.argoproj.io/refresh`` annotation is set (removed afterwards, as Argo CD does), on
:meth:`FakeArgoCD.refresh`, and (status only, no git) when an object it tracks changes. A git push
does not reach it: real Argo CD polls every 3 minutes (``timeout.reconciliation``) or hears a webhook,
so tests call :meth:`FakeArgoCD.refresh` (or set the annotation) after pushing.

Where it differs from Argo CD (keep this honest):
- Helm charts are resolved and checked (dependencies, value files) but not rendered: a Helm source
  contributes no objects, is never applied and counts as Synced and Healthy once resolved. The
  platform's own releases are Helm charts that helm already installed, with the same objects.
- the comparison of live and desired objects is existence plus container images (Argo CD diffs
  every field after normalisation); no hooks, sync waves, sync windows, retries, projects'
  source/destination restrictions, ignoreDifferences or health of kinds other than workloads;
- images come from the workloads' pod templates (Argo CD reads them from live Pods, which the
  Kubernetes stand-in does not run);
- only git hosts on the loopback address are contacted: any other ``http(s)`` host fails as on a
  cluster without network (``dial tcp: lookup <host>: no such host``); no ssh URLs;
- everything runs in one worker thread (never under the Kubernetes stand-in's store lock); call
  :meth:`settle` before looking at the result. Errors of the stand-in itself go to ``errors``.
"""

from __future__ import annotations

import base64
import collections
import copy
import fnmatch
import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

from fakekube import ApiError

APPLICATIONS = "applications.argoproj.io"
ARGOCD_NAMESPACE = "argocd"
REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id"
SECRET_TYPE = "argocd.argoproj.io/secret-type"
IN_CLUSTER = "https://kubernetes.default.svc"
MANAGER = "argocd-controller"
PLATFORM_CHART = Path(__file__).resolve().parent.parent / "charts" / "gitops-platform" / "Chart.yaml"
_WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
_HEALTH_ORDER = ["Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"]
_SHA = re.compile(r"^[0-9a-f]{40}$")
_SHORT_SHA = re.compile(r"^[0-9a-f]{7,39}$")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def pinned_charts() -> list[tuple[str, str, str]]:
    """(repository, name, version) of the dependencies pinned in charts/gitops-platform/Chart.yaml."""
    chart = yaml.safe_load(PLATFORM_CHART.read_text(encoding="utf-8"))
    return [(d["repository"], d["name"], str(d["version"])) for d in chart.get("dependencies") or []]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _helm_repo(url: str) -> str:
    """Helm repository URLs compared the way they are written in Chart.yaml and in Applications."""
    return url.removeprefix("oci://").rstrip("/")


def _pod_spec(obj: dict) -> dict:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Pod":
        return spec
    if obj.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def images(obj: dict) -> list[str]:
    if obj.get("kind") not in _WORKLOADS:
        return []
    pod = _pod_spec(obj)
    return [c["image"] for key in ("initContainers", "containers") for c in pod.get(key) or [] if c.get("image")]


def _rolled_out(obj: dict) -> str:
    """Argo CD's health of a workload: Healthy, Progressing or Degraded."""
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            return "Degraded"
    if obj.get("kind") not in ("Deployment", "StatefulSet"):
        return "Healthy"
    replicas = spec.get("replicas", 1)
    if (status.get("observedGeneration") == _meta(obj).get("generation")
            and status.get("updatedReplicas", 0) >= replicas and status.get("availableReplicas", 0) >= replicas):
        return "Healthy"
    return "Progressing"


def _worst(states: Iterable[str]) -> str:
    return max(states, key=_HEALTH_ORDER.index, default="Healthy")


class SourceError(Exception):
    """A source Argo CD's repo-server cannot turn into manifests; ``str`` is the repo-server's message."""


@dataclass
class Generated:
    """The result of generating one Application's manifests at some revisions."""

    revisions: list[str] = field(default_factory=list)
    objects: list[dict] = field(default_factory=list)
    source_types: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class _Destination:
    kube: object | None
    namespace: str
    error: tuple[str, str] | None = None  # (condition type, message)


@dataclass
class _Tracked:
    """What the stand-in remembers of one Application between reconciliations."""

    desired: list[dict] = field(default_factory=list)
    applied: dict[tuple, dict] = field(default_factory=dict)  # key -> (apiVersion, kind, namespace, name)
    server: str = IN_CLUSTER
    synced: list[str] | None = None  # revisions of the last sync
    generated: Generated | None = None  # the manifests at the target revisions, from the last full reconcile


def _key(obj: dict) -> tuple[str, str, str, str]:
    group = obj.get("apiVersion", "").rpartition("/")[0]
    return (group, obj.get("kind", ""), _meta(obj).get("namespace") or "", _meta(obj).get("name", ""))


class FakeArgoCD:
    """Argo CD's repo-server and application controller for one Kubernetes stand-in; see the module docstring."""

    def __init__(
        self,
        kube,
        *,
        helm_charts: Iterable[tuple[str, str, str]] | None = None,
        kubectl: str | Path | None = None,
        remote_kubes: dict | None = None,
        failing_applications: dict[str, str] | None = None,
        namespace: str = ARGOCD_NAMESPACE,
        running: Callable[[], bool] | None = None,
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.helm_charts = {(_helm_repo(r), n, str(v)) for r, n, v in (
            pinned_charts() if helm_charts is None else helm_charts)}
        self.kubectl = str(kubectl or _pinned_kubectl() or shutil.which("kubectl") or "kubectl")
        self.remote_kubes = dict(remote_kubes or {})
        self.failing_applications = failing_applications if failing_applications is not None else {}
        self.running = running or (lambda: True)
        self.errors: list[str] = []
        self.git_commands = 0
        self._dir = Path(tempfile.mkdtemp(prefix="fakeargocd-"))
        self._askpass = self._dir / "askpass.sh"
        self._askpass.write_text('#!/bin/sh\ncase "$1" in\n  Username*) printf "%s" "$FAKEARGOCD_GIT_USERNAME" ;;\n'
                                 '  *) printf "%s" "$FAKEARGOCD_GIT_PASSWORD" ;;\nesac\n')
        self._askpass.chmod(0o700)
        self._tracked: dict[tuple[str, str], _Tracked] = {}
        self._seen: dict[tuple[str, str], tuple] = {}
        self._work: collections.OrderedDict = collections.OrderedDict()
        self._busy = False
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="fake-argocd", daemon=True)
        self._started = False

    # ------------------------------------------------------------ lifecycle
    def start(self) -> FakeArgoCD:
        if not self._started:
            self._started = True
            for url, remote in self.remote_kubes.items():
                remote.add_reactor(self._remote_reactor(url.rstrip("/")))
            self._thread.start()
        return self

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._started:
            self._thread.join(timeout=60)
        shutil.rmtree(self._dir, ignore_errors=True)

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until every queued reconciliation is done."""
        with self._cond:
            if not self._cond.wait_for(lambda: not self._work and not self._busy, timeout=timeout):
                raise TimeoutError(f"the Argo CD stand-in is still busy after {timeout} s")

    def refresh(self, name: str | None = None, namespace: str | None = None) -> None:
        """Re-resolve one Application (or all): what Argo CD does on its poll after a git push."""
        namespace = namespace or self.namespace
        names = [name] if name else [_meta(a)["name"] for a in self.kube.find_all(APPLICATIONS, namespace)]
        for app in names:
            self._enqueue((namespace, app), "full")

    # ------------------------------------------------------------ events (called under the store lock)
    def application_event(self, obj: dict) -> None:
        """An Application was created or changed (called by FakePlatform's reactor)."""
        if threading.current_thread() is self._thread:
            return  # our own status write
        meta = _meta(obj)
        key = (meta.get("namespace") or self.namespace, meta.get("name", ""))
        if self._fingerprint(obj) == self._seen.get(key):
            return
        self._enqueue(key, "full")

    def application_deleted(self, namespace: str, name: str, *, cascade: bool) -> None:
        """An Application is going away; with the resources finalizer its objects are deleted (cascade)."""
        key = (namespace, name)
        self._seen.pop(key, None)
        self._enqueue(key, "cascade" if cascade else "forget")

    def resource_event(self, api_version: str, kind: str, namespace: str | None, name: str,
                       server: str = IN_CLUSTER) -> None:
        """A live object changed: recompute the status of the Applications tracking it (no git)."""
        key = (api_version.rpartition("/")[0], kind, namespace or "", name)
        for app, tracked in list(self._tracked.items()):
            if tracked.server == server and (key in tracked.applied or any(
                    _key(d) == key or _key(d)[:2] + _key(d)[3:] == key[:2] + key[3:] for d in tracked.desired)):
                self._enqueue(app, "status")

    def _remote_reactor(self, server: str):
        def react(_event: str, obj: dict) -> None:
            self.resource_event(obj.get("apiVersion", ""), obj.get("kind", ""), _meta(obj).get("namespace"),
                                _meta(obj).get("name", ""), server)

        return react

    def controller_started(self) -> None:
        for app in self.kube.find_all(APPLICATIONS):
            self._enqueue((_meta(app).get("namespace") or self.namespace, _meta(app)["name"]), "full")

    def _enqueue(self, key: tuple[str, str], kind: str) -> None:
        rank = {"status": 0, "full": 1, "forget": 2, "cascade": 3}
        with self._cond:
            current = self._work.get(key)
            if current is None or rank[kind] > rank[current]:
                self._work[key] = kind
            self._cond.notify_all()

    @staticmethod
    def _fingerprint(app: dict) -> tuple:
        meta = _meta(app)
        return (meta.get("uid"), meta.get("generation"), (meta.get("annotations") or {}).get(REFRESH_ANNOTATION),
                bool(app.get("operation")), bool(meta.get("deletionTimestamp")))

    # ------------------------------------------------------------ the worker
    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._work or self._closed)
                if self._closed:
                    return
                key, kind = self._work.popitem(last=False)
                self._busy = True
            try:
                if kind in ("forget", "cascade"):
                    self._forget(key, cascade=kind == "cascade")
                elif self.running():
                    self._reconcile(key, full=kind == "full")
            except Exception:  # noqa: BLE001 - reported through `errors`
                self.errors.append(f"Application {key}: {traceback.format_exc()}")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _forget(self, key: tuple[str, str], *, cascade: bool) -> None:
        tracked = self._tracked.pop(key, None)
        if not cascade or tracked is None:
            return
        dest = self._destination_kube(tracked.server)
        for _, (api_version, kind, namespace, name) in tracked.applied.items():
            self._delete_live(dest, api_version, kind, namespace, name)

    def _destination_kube(self, server: str):
        return self.kube if server == IN_CLUSTER else self.remote_kubes.get(server)

    @staticmethod
    def _delete_live(kube, api_version: str, kind: str, namespace: str, name: str) -> bool:
        if kube is None:
            return False
        try:
            res = kube.kind_resource(api_version, kind)
            kube.delete(f"{res.plural}.{res.group}" if res.group else res.plural, name, namespace or None)
            return True
        except (KeyError, ApiError):
            return False

    # ------------------------------------------------------------ reconciliation
    def _reconcile(self, key: tuple[str, str], *, full: bool) -> None:
        namespace, name = key
        app = self.kube.find(APPLICATIONS, name, namespace)
        if app is None or _meta(app).get("deletionTimestamp"):
            return
        tracked = self._tracked.get(key)
        if not full and tracked is None:
            return
        spec = app.get("spec") or {}
        multi = bool(spec.get("sources"))
        sources = spec.get("sources") if multi else [spec.get("source") or {}]
        operation = copy.deepcopy(app.get("operation") or {})
        refresh = (_meta(app).get("annotations") or {}).get(REFRESH_ANNOTATION)
        dest = self._destination(spec.get("destination") or {})
        status = copy.deepcopy(app.get("status") or {})
        conditions = []
        if tracked is None:
            tracked = self._tracked.setdefault(key, _Tracked())
        server = self._server(spec.get("destination") or {})
        tracked.server = server or IN_CLUSTER

        if full or tracked.generated is None:
            tracked.generated = self._generate(app, sources, [s.get("targetRevision") or "HEAD" for s in sources],
                                               dest.namespace)
        generated = tracked.generated
        if dest.error:
            conditions.append({"type": dest.error[0], "message": dest.error[1]})
        if generated.error:
            conditions.append({"type": "ComparisonError", "message": generated.error})
        ok = not conditions
        if ok:
            tracked.desired = generated.objects

        operation_state = status.get("operationState")
        automated = (spec.get("syncPolicy") or {}).get("automated") is not None
        prune = bool(((spec.get("syncPolicy") or {}).get("automated") or {}).get("prune"))
        self_heal = bool(((spec.get("syncPolicy") or {}).get("automated") or {}).get("selfHeal"))
        failing = self.failing_applications.get(name)
        started = _now()
        if operation.get("sync") is not None:
            operation_state = self._operation(app, operation, sources, multi, dest, tracked, generated, conditions,
                                              failing, started)
        elif automated and ok and dest.kube is not None:
            out_of_sync = self._compare(dest, tracked.desired, tracked)[0] != "Synced"
            moved = tracked.synced != generated.revisions
            if (full and (out_of_sync or moved)) or (not full and self_heal and out_of_sync):
                if failing:
                    operation_state = self._operation_state(
                        {"sync": {"revision" if not multi else "revisions":
                                  generated.revisions[0] if not multi else generated.revisions},
                         "initiatedBy": {"automated": True}, "retry": {"limit": 5}},
                        "Failed", failing, started, sources, multi, generated.revisions, [])
                    if (status.get("operationState") or {}).get("message") == failing and (
                            status.get("operationState") or {}).get("phase") == "Failed":
                        operation_state = status["operationState"]
                else:
                    results, changed = self._sync(dest, tracked, generated.objects, name, prune)
                    tracked.synced = list(generated.revisions)
                    if changed:
                        operation_state = self._operation_state(
                            {"sync": {"revision" if not multi else "revisions":
                                      generated.revisions[0] if not multi else generated.revisions,
                                      **({"prune": True} if prune else {})},
                             "initiatedBy": {"automated": True}, "retry": {"limit": 5}},
                            "Succeeded", "successfully synced (all tasks run)", started, sources, multi,
                            generated.revisions, results)

        if ok and dest.kube is not None:
            sync_status, health, resources = self._compare(dest, tracked.desired, tracked)
            if failing and (operation_state or {}).get("phase") == "Failed":
                sync_status = "OutOfSync"
        else:
            sync_status = "Unknown"
            health, resources = self._live_health(dest, tracked)
        new = {k: v for k, v in status.items() if k not in (
            "sync", "health", "conditions", "summary", "resources", "operationState", "reconciledAt", "sourceType",
            "sourceTypes")}
        comparison = {"destination": spec.get("destination") or {}}
        comparison["sources" if multi else "source"] = copy.deepcopy(sources if multi else spec.get("source") or {})
        new["sync"] = {"status": sync_status, "comparedTo": comparison}
        if ok:
            if multi:
                new["sync"]["revisions"] = list(generated.revisions)
            elif generated.revisions:
                new["sync"]["revision"] = generated.revisions[0]
            if multi:
                new["sourceTypes"] = list(generated.source_types)
            elif generated.source_types:
                new["sourceType"] = generated.source_types[0]
        before = status.get("health") or {}
        # Argo CD (v3) stamps the health with the time it last changed; promote's soak check reads it
        changed_at = before.get("lastTransitionTime") if before.get("status") == health else None
        new["health"] = {"status": health, "lastTransitionTime": changed_at or _now()}
        if conditions:
            previous = {c.get("message"): c.get("lastTransitionTime") for c in status.get("conditions") or []}
            new["conditions"] = [{**c, "lastTransitionTime": previous.get(c["message"]) or started}
                                 for c in conditions]
        live_images = sorted({i for r in resources for i in r.pop("_images", [])})
        if live_images:
            new["summary"] = {"images": live_images}
        new["resources"] = resources
        if operation_state:
            new["operationState"] = operation_state
        new["reconciledAt"] = status.get("reconciledAt") or started

        def strip(s: dict) -> dict:
            return {k: v for k, v in s.items() if k != "reconciledAt"}

        if strip(new) == strip(status) and not operation and not refresh:
            self._seen[key] = self._fingerprint(app)
            return
        new["reconciledAt"] = started

        def write(obj: dict) -> None:
            obj["status"] = new
            if operation:
                obj.pop("operation", None)
            annotations = obj["metadata"].get("annotations") or {}
            if REFRESH_ANNOTATION in annotations:
                annotations.pop(REFRESH_ANNOTATION)
                if not annotations:
                    obj["metadata"].pop("annotations", None)

        try:
            written = self.kube.update(APPLICATIONS, name, write, namespace)
        except ApiError as exc:  # deleted meanwhile
            if exc.code != 404:
                raise
            return
        self._seen[key] = self._fingerprint(written)

    # ------------------------------------------------------------ operations
    def _operation(self, app, operation, sources, multi, dest, tracked, generated, conditions, failing, started):
        sync = operation.get("sync") or {}
        wanted = sync.get("revisions") if multi else [sync.get("revision")] if sync.get("revision") else None
        if wanted and [w or s.get("targetRevision") or "HEAD" for w, s in zip(wanted, sources, strict=False)] != [
                r for r in generated.revisions]:
            revisions = [w or s.get("targetRevision") or "HEAD" for w, s in zip(wanted, sources, strict=False)]
            at = self._generate(app, sources, revisions, dest.namespace)
        else:
            at = generated
        errors = [c for c in conditions if c["type"] != "ComparisonError"]
        if at.error:
            errors.append({"type": "ComparisonError", "message": at.error})
        if errors:
            return self._operation_state(operation, "Error", f"{errors[0]['type']}: {errors[0]['message']}", started,
                                         sources, multi, [], [])
        if dest.kube is None:
            return self._operation_state(operation, "Error", "the destination cluster is not reachable", started,
                                         sources, multi, at.revisions, [])
        if failing:
            return self._operation_state(operation, "Failed", failing, started, sources, multi, at.revisions, [])
        prune = bool(sync.get("prune")) or bool(((app["spec"].get("syncPolicy") or {}).get("automated") or {})
                                                 .get("prune"))
        results, _ = self._sync(dest, tracked, at.objects, _meta(app)["name"], prune)
        failed = [r for r in results if r["status"] == "SyncFailed"]
        tracked.synced = list(at.revisions)
        if failed:
            return self._operation_state(operation, "Failed", "one or more objects failed to apply, reason: "
                                         + failed[0]["message"], started, sources, multi, at.revisions, results)
        return self._operation_state(operation, "Succeeded", "successfully synced (all tasks run)", started, sources,
                                     multi, at.revisions, results)

    @staticmethod
    def _operation_state(operation, phase, message, started, sources, multi, revisions, results) -> dict:
        result: dict = {"resources": results}
        if multi:
            result.update(revisions=list(revisions), sources=copy.deepcopy(sources))
        else:
            result.update(revision=revisions[0] if revisions else "", source=copy.deepcopy(sources[0]))
        operation = copy.deepcopy(operation)
        operation.setdefault("initiatedBy", {"automated": True})
        return {"operation": operation, "phase": phase, "message": message, "startedAt": started,
                "finishedAt": _now(), "syncResult": result}

    def _sync(self, dest: _Destination, tracked: _Tracked, objects: list[dict], app: str,
              prune: bool) -> tuple[list[dict], bool]:
        """Server-side apply ``objects`` (and prune); returns (resource results, whether anything changed)."""
        results, changed, applied = [], False, {}
        for obj in objects:
            obj = self._placed(dest, obj)
            group, kind, namespace, name = _key(obj)
            obj.setdefault("metadata", {}).setdefault("annotations", {})[TRACKING_ANNOTATION] = (
                f"{app}:{group}/{kind}:{namespace}/{name}")
            entry = {"group": group, "version": obj["apiVersion"].rpartition("/")[2], "kind": kind,
                     "namespace": namespace, "name": name, "hookPhase": "Running", "syncPhase": "Sync"}
            before = self._live(dest.kube, obj)
            try:
                after = dest.kube.apply(obj, MANAGER, force=True)
            except KeyError:
                results.append({**entry, "status": "SyncFailed", "message": (
                    f'The Kubernetes API could not find {group}/{kind} for requested resource {namespace}/{name}. '
                    f'Make sure the "{kind}" CRD is installed on the destination cluster.')})
                continue
            except ApiError as exc:
                results.append({**entry, "status": "SyncFailed", "message": exc.message})
                continue
            applied[_key(obj)] = (obj["apiVersion"], kind, namespace, name)
            if before is None or _meta(before).get("resourceVersion") != _meta(after).get("resourceVersion"):
                changed = True
                results.append({**entry, "status": "Synced", "message": f"{kind.lower()}/{name} serverside-applied"})
            else:
                results.append({**entry, "status": "Synced", "message": f"{kind.lower()}/{name} unchanged"})
        for key, ref in tracked.applied.items():
            if key in applied:
                continue
            if prune:
                if self._delete_live(dest.kube, *ref):
                    changed = True
                    results.append({"group": key[0], "version": ref[0].rpartition("/")[2], "kind": ref[1],
                                    "namespace": ref[2], "name": ref[3], "status": "Pruned", "message": "pruned",
                                    "hookPhase": "Running", "syncPhase": "Sync"})
            else:
                applied[key] = ref  # still live, still ours: OutOfSync until pruned
        tracked.applied = applied
        return results, changed

    def _placed(self, dest: _Destination, obj: dict) -> dict:
        obj = copy.deepcopy(obj)
        try:
            namespaced = dest.kube.kind_resource(obj["apiVersion"], obj["kind"]).namespaced
        except KeyError:
            namespaced = True
        meta = obj.setdefault("metadata", {})
        if namespaced and not meta.get("namespace"):
            meta["namespace"] = dest.namespace or "default"
        if not namespaced:
            meta.pop("namespace", None)
        return obj

    def _live(self, kube, obj: dict) -> dict | None:
        try:
            res = kube.kind_resource(obj["apiVersion"], obj["kind"])
        except KeyError:
            return None
        name = f"{res.plural}.{res.group}" if res.group else res.plural
        return kube.get(name, _meta(obj).get("name", ""), (_meta(obj).get("namespace") or None) if res.namespaced
                        else None)

    # ------------------------------------------------------------ comparison and health
    def _compare(self, dest: _Destination, desired: list[dict], tracked: _Tracked) -> tuple[str, str, list[dict]]:
        sync, healths, resources, seen = "Synced", [], [], set()
        for obj in desired:
            obj = self._placed(dest, obj)
            seen.add(_key(obj))
            live = self._live(dest.kube, obj)
            in_sync = live is not None and images(live) == images(obj)
            health = "Missing" if live is None else _rolled_out(live)
            if not in_sync:
                sync = "OutOfSync"
            healths.append(health)
            resources.append(self._resource(obj, "Synced" if in_sync else "OutOfSync", health, live))
        for key, (api_version, kind, namespace, name) in tracked.applied.items():
            if key in seen:
                continue
            live = self._live(dest.kube, {"apiVersion": api_version, "kind": kind,
                                          "metadata": {"name": name, "namespace": namespace}})
            if live is not None:
                sync = "OutOfSync"
                resources.append({**self._resource(live, "OutOfSync", _rolled_out(live), live),
                                  "requiresPruning": True})
        return sync, _worst(healths), resources

    def _live_health(self, dest: _Destination, tracked: _Tracked) -> tuple[str, list[dict]]:
        if dest.kube is None:
            return "Unknown" if tracked.applied else "Healthy", []
        healths, resources = [], []
        for api_version, kind, namespace, name in tracked.applied.values():
            live = self._live(dest.kube, {"apiVersion": api_version, "kind": kind,
                                          "metadata": {"name": name, "namespace": namespace}})
            if live is not None:
                healths.append(_rolled_out(live))
                resources.append(self._resource(live, "Unknown", healths[-1], live))
        return _worst(healths), resources

    @staticmethod
    def _resource(obj: dict, sync: str, health: str, live: dict | None) -> dict:
        group, kind, namespace, name = _key(obj)
        entry = {"group": group, "version": obj.get("apiVersion", "").rpartition("/")[2], "kind": kind,
                 "name": name, "status": sync}
        if namespace:
            entry["namespace"] = namespace
        if kind in _WORKLOADS or health != "Healthy":
            entry["health"] = {"status": health}
        if live is not None:
            entry["_images"] = images(live)
        return entry

    # ------------------------------------------------------------ destinations
    def _cluster_secrets(self) -> list[dict[str, str]]:
        clusters = []
        for secret in self.kube.find_all("secrets", self.namespace):
            if (_meta(secret).get("labels") or {}).get(SECRET_TYPE) == "cluster":
                clusters.append({k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()})
        return clusters

    def _server(self, destination: dict) -> str | None:
        server, name = destination.get("server"), destination.get("name")
        if server == IN_CLUSTER or (not server and name == "in-cluster"):
            return IN_CLUSTER
        for cluster in self._cluster_secrets():
            if (server and cluster.get("server", "").rstrip("/") == server.rstrip("/")) or (
                    not server and name and cluster.get("name") == name):
                return cluster.get("server", "").rstrip("/")
        return None

    def _destination(self, destination: dict) -> _Destination:
        namespace = destination.get("namespace") or ""
        server, name = destination.get("server"), destination.get("name")
        if server and name:
            return _Destination(None, namespace, ("InvalidSpecError",
                                                  "application destination can't have both name and server defined: "
                                                  f"{name} {server}"))
        resolved = self._server(destination)
        if resolved is None:
            message = (f"there are no clusters with this name: {name}" if name and not server
                       else f"cluster '{server}' has not been configured")
            return _Destination(None, namespace, ("InvalidSpecError", f"Application destination spec for "
                                                  f"{destination} is invalid: {message}"))
        if resolved == IN_CLUSTER:
            return _Destination(self.kube, namespace)
        remote = next((k for url, k in self.remote_kubes.items() if url.rstrip("/") == resolved), None)
        if remote is None:
            return _Destination(None, namespace, ("ComparisonError", f'Failed to load live state: Get '
                                                  f'"{resolved}/version": dial tcp: connect: connection refused'))
        return _Destination(remote, namespace)

    # ------------------------------------------------------------ the repo-server
    def _generate(self, app: dict, sources: list[dict], revisions: list[str], namespace: str) -> Generated:
        out = Generated()
        roots: dict[str, Path] = {}
        total = len(sources)
        resolved: list[tuple[dict, str, Path | None]] = []
        try:
            for i, (source, revision) in enumerate(zip(sources, revisions, strict=False), start=1):
                try:
                    if source.get("chart"):
                        out.revisions.append(self._helm_repository(source, revision))
                        resolved.append((source, out.revisions[-1], None))
                        continue
                    sha, root = self._checkout(source.get("repoURL") or "", revision)
                    out.revisions.append(sha)
                    resolved.append((source, sha, root))
                    if source.get("ref"):
                        roots[source["ref"]] = root
                except SourceError as exc:
                    raise SourceError(f"failed to generate manifest for source {i} of {total}: rpc error: "
                                      f"code = Unknown desc = {exc}") from None
            for i, (source, _, root) in enumerate(resolved, start=1):
                try:
                    if root is None:
                        out.source_types.append("Helm")
                        continue
                    if source.get("ref") and not source.get("path"):
                        out.source_types.append("Directory")
                        continue
                    kind, objects = self._render(app, source, root, roots)
                    out.source_types.append(kind)
                    out.objects += objects
                except SourceError as exc:
                    raise SourceError(f"failed to generate manifest for source {i} of {total}: rpc error: "
                                      f"code = Unknown desc = {exc}") from None
        except SourceError as exc:
            return Generated(error=f"Failed to load target state: {exc}")
        return out

    def _helm_repository(self, source: dict, revision: str) -> str:
        repo, chart = source.get("repoURL") or "", source["chart"]
        if (_helm_repo(repo), chart, revision) not in self.helm_charts:
            raise SourceError(f"failed to fetch chart: failed to get command args to log: `helm pull --destination "
                              f"/tmp/helm --version {revision} --repo {repo} {chart}` failed exit status 1: Error: "
                              f'chart "{chart}" version "{revision}" not found in {repo} repository')
        return revision

    def _credentials(self, url: str) -> dict[str, str]:
        exact, prefix = None, None
        for secret in self.kube.find_all("secrets", self.namespace):
            kind = (_meta(secret).get("labels") or {}).get(SECRET_TYPE)
            if kind not in ("repository", "repo-creds"):
                continue
            data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
            target = data.get("url", "")
            if kind == "repository" and _same_url(target, url):
                exact = data
            elif kind == "repo-creds" and target and url.startswith(target) and (
                    prefix is None or len(target) > len(prefix.get("url", ""))):
                prefix = data
        found = exact if exact and (exact.get("username") or exact.get("password")) else prefix or exact or {}
        return {k: found[k] for k in ("username", "password") if found.get(k)}

    def _run_git(self, args: list[str], url: str | None = None, **kwargs) -> subprocess.CompletedProcess:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self._dir), "LC_ALL": "C",
               "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_ASKPASS": str(self._askpass)}
        if url is not None:
            creds = self._credentials(url)
            env["FAKEARGOCD_GIT_USERNAME"] = creds.get("username") or ("x-access-token" if creds else "")
            env["FAKEARGOCD_GIT_PASSWORD"] = creds.get("password", "")
            if not creds:
                env.pop("GIT_ASKPASS")
        self.git_commands += 1
        return subprocess.run(["git", "-c", "credential.helper=", *args], capture_output=True, text=True, env=env,
                              timeout=120, **kwargs)

    def _checkout(self, url: str, revision: str) -> tuple[str, Path]:
        """Resolve ``revision`` of ``url`` to a commit as Argo CD's LsRemote does, fetch it, and return
        (commit, a directory holding that commit's tree)."""
        remote = url
        host = re.match(r"^https?://(?:[^@/]*@)?(\[[^]]*\]|[^:/]*)", url)
        if host and host.group(1) not in ("127.0.0.1", "localhost", "[::1]"):
            # the tests' machines reach no git host but their own: answer as a cluster without network would
            raise SourceError(f"failed to list refs: Get \"{url.rstrip('/')}/info/refs?service=git-upload-pack\": "
                              f"dial tcp: lookup {host.group(1)}: no such host")
        if not url.startswith("/") and not re.match(r"^(file|https?)://", url):
            raise SourceError(f"repository {url!r} cannot be initialized: repo URL is invalid")
        refs = self._ls_remote(remote)
        sha = _resolve(revision, refs)
        cache = self._dir / "repos" / hashlib.sha256(url.encode()).hexdigest()[:16]
        if not cache.exists():
            subprocess.run(["git", "init", "--bare", "-q", str(cache)], check=True, capture_output=True, timeout=60)
        if sha is None or not self._has_commit(cache, sha):
            fetched = self._run_git(["--git-dir", str(cache), "fetch", "--force", "--prune", "--tags", remote,
                                     "+refs/heads/*:refs/heads/*"], url=url)
            if fetched.returncode != 0:
                raise SourceError(_git_error(fetched.stderr))
        if sha is None:
            if not _SHORT_SHA.match(revision):
                raise SourceError(f"unable to resolve '{revision}' to a commit SHA")
            parsed = subprocess.run(["git", "--git-dir", str(cache), "rev-parse", "--verify", "-q",
                                     f"{revision}^{{commit}}"], capture_output=True, text=True, timeout=60)
            if parsed.returncode != 0:
                raise SourceError(f"failed to checkout {revision}: error: pathspec '{revision}' did not match any "
                                  "file(s) known to git")
            sha = parsed.stdout.strip()
        elif not self._has_commit(cache, sha):
            raise SourceError(f"failed to checkout {sha}: fatal: reference is not a tree: {sha}")
        root = self._dir / "trees" / sha
        if not root.exists():
            archive = subprocess.run(["git", "--git-dir", str(cache), "archive", "--format=tar", sha],
                                     capture_output=True, timeout=120, check=True).stdout
            partial = root.with_name(sha + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(partial, filter="data")
            partial.rename(root)
        return sha, root

    @staticmethod
    def _has_commit(cache: Path, sha: str) -> bool:
        out = subprocess.run(["git", "--git-dir", str(cache), "cat-file", "-t", sha], capture_output=True, text=True,
                             timeout=60)
        return out.returncode == 0 and out.stdout.strip() == "commit"

    def _ls_remote(self, url: str) -> dict[str, str]:
        """ref -> commit, with ``HEAD`` resolved through its symbolic ref, like go-git's remote.List."""
        out = self._run_git(["ls-remote", "--symref", url], url=url)
        if out.returncode != 0:
            raise SourceError(f"failed to list refs: {_git_error(out.stderr)}")
        refs, symbolic = {}, {}
        for line in out.stdout.splitlines():
            value, _, ref = line.partition("\t")
            if value.startswith("ref: "):
                symbolic[ref] = value[5:]
            elif ref.endswith("^{}"):
                refs[ref[:-3]] = value  # annotated tags: the commit they point at
            else:
                refs.setdefault(ref, value)
        for ref, target in symbolic.items():
            if target in refs:
                refs[ref] = refs[target]
        return refs

    # ------------------------------------------------------------ rendering
    def _render(self, app: dict, source: dict, root: Path, roots: dict[str, Path]) -> tuple[str, list[dict]]:
        path = (source.get("path") or ".").strip("/") or "."
        directory = (root / path).resolve()
        if not directory.is_dir() or not directory.is_relative_to(root.resolve()):
            raise SourceError(f"{path}: app path does not exist")
        if any((directory / n).is_file() for n in ("kustomization.yaml", "kustomization.yml", "Kustomization")):
            return "Kustomize", self._kustomize(directory, path)
        if (directory / "Chart.yaml").is_file():
            self._helm_chart(app, source, directory, path, root, roots)
            return "Helm", []
        return "Directory", self._directory(directory, source.get("directory") or {})

    def _kustomize(self, directory: Path, path: str) -> list[dict]:
        out = subprocess.run([self.kubectl, "kustomize", str(directory)], capture_output=True, text=True,
                             timeout=120)
        if out.returncode != 0:
            message = out.stderr.strip().replace(str(directory), path)
            raise SourceError(f"`kustomize build {path}` failed exit status {out.returncode}: {message}")
        return [d for d in yaml.load_all(out.stdout, Loader=_Loader) if d]

    def _helm_chart(self, app: dict, source: dict, directory: Path, path: str, root: Path,
                    roots: dict[str, Path]) -> None:
        chart = yaml.safe_load((directory / "Chart.yaml").read_text(encoding="utf-8")) or {}
        vendored = {p.name for p in (directory / "charts").glob("*")} if (directory / "charts").is_dir() else set()
        for dep in chart.get("dependencies") or []:
            name, version, repo = dep.get("name", ""), str(dep.get("version", "")), dep.get("repository", "")
            if repo.startswith("file://") or f"{name}-{version}.tgz" in vendored or name in vendored:
                continue
            if (_helm_repo(repo), name, version) not in self.helm_charts:
                raise SourceError(f"error building helm chart dependencies: `helm dependency build` failed exit "
                                  f"status 1: Error: can't get a valid version for repositories {name}. Try "
                                  "changing the version constraint in Chart.yaml")
        helm = source.get("helm") or {}
        release = helm.get("releaseName") or _meta(app).get("name", "")
        for value_file in helm.get("valueFiles") or []:
            if re.match(r"^https?://", value_file):
                continue
            if value_file.startswith("$"):
                ref, _, rest = value_file[1:].partition("/")
                if ref not in roots:
                    raise SourceError(f"source referenced {value_file.split('/')[0]!r} not found")
                base, target = roots[ref], (roots[ref] / rest).resolve()
            else:
                base, target = root, (directory / value_file).resolve()
            if not target.is_relative_to(base.resolve()):
                raise SourceError(f"value file {value_file!r} resolved to outside repository root")
            if not target.is_file() and not helm.get("ignoreMissingValueFiles"):
                raise SourceError(f"`helm template . --name-template {release} --values {value_file}` failed exit "
                                  f"status 1: Error: open {value_file}: no such file or directory")

    def _directory(self, directory: Path, options: dict) -> list[dict]:
        pattern = "**/*" if options.get("recurse") else "*"
        include, exclude = options.get("include") or "", options.get("exclude") or ""
        objects = []
        for file in sorted(directory.glob(pattern)):
            rel = file.relative_to(directory).as_posix()
            if not file.is_file() or file.suffix not in (".yaml", ".yml", ".json"):
                continue
            if include and not _glob(rel, include):
                continue
            if exclude and _glob(rel, exclude):
                continue
            try:
                docs = [d for d in yaml.load_all(file.read_text(encoding="utf-8"), Loader=_Loader) if d is not None]
            except yaml.YAMLError as exc:
                raise SourceError(f"failed to unmarshal {rel}: {exc}") from None
            for doc in docs:
                if isinstance(doc, dict) and doc.get("kind") == "List":
                    docs += doc.get("items") or []
                    continue
                if not isinstance(doc, dict) or not doc.get("kind"):
                    raise SourceError(f"failed to unmarshal {rel}: Object 'Kind' is missing in '{_short(doc)}'")
                if not doc.get("apiVersion"):
                    raise SourceError(f"failed to unmarshal {rel}: Object 'apiVersion' is missing in "
                                      f"'{_short(doc)}'")
                objects.append(doc)
        return objects


def _pinned_kubectl() -> Path | None:
    import tools  # tests/tools.py: the pinned binaries

    return tools.binary("kubectl")


def _short(doc) -> str:
    return str(doc)[:80]


def _glob(rel: str, patterns: str) -> bool:
    items = patterns.strip("{}").split(",") if patterns.startswith("{") else [patterns]
    return any(fnmatch.fnmatch(rel, p.strip()) for p in items)


def _same_url(a: str, b: str) -> bool:
    def norm(u: str) -> str:
        return u.rstrip("/").removesuffix(".git").lower()

    return norm(a) == norm(b)


def _resolve(revision: str, refs: dict[str, str]) -> str | None:
    """Argo CD's LsRemote: a full SHA as is; HEAD, branch or tag names (short or full ref names) to their
    commit; None for anything else (a short SHA is checked against the fetched commits later)."""
    if _SHA.match(revision):
        return revision
    revision = revision or "HEAD"
    for ref, sha in refs.items():
        if ref == revision or ref in (f"refs/heads/{revision}", f"refs/tags/{revision}"):
            return sha
    return None


def _git_error(stderr: str) -> str:
    """go-git's wording for what the git CLI reports."""
    text = stderr.strip()
    lower = text.lower()
    if ("authentication failed" in lower or "could not read username" in lower or "could not read password" in lower
            or "returned error: 401" in lower):
        return "authentication required"
    if "returned error: 403" in lower:
        return "authorization failed"
    if ("not found" in lower or "does not appear to be a git repository" in lower or "returned error: 404" in lower
            or "no such file or directory" in lower):
        return "repository not found"
    lines = [line.removeprefix("fatal: ") for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "git failed"
