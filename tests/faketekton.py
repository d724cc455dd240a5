"""A stand-in for the Tekton Pipelines controller and webhook (v1.15), on the Kubernetes API stand-in.

:class:`FakeTekton` turns each ``tekton.dev/v1`` PipelineRun of a :class:`fakekube.FakeKube` into TaskRuns
and Pods the way Tekton's reconcilers do, writing only through the stand-in's API, and runs each step
from a script the test gives, so that clients see what they would see on a cluster: watches on
PipelineRuns, TaskRuns and Pods, and each step container's log (``follow`` included) through the pod log
API. :class:`fakeplatform.FakePlatform` starts one (``platform.tekton``) once the
``tekton-pipelines-controller`` Deployment has rolled out; a test may also start its own::

    tekton = FakeTekton(kube, reference).install()     # creates the Tekton CRDs when missing
    tekton.script("build", "compile", "compiling", (0.2, "linking"), results={"IMAGE_DIGEST": "sha256:..."})
    tekton.fail("test", "unit", exit_code=2)
    tekton.register_bundle("ghcr.io/tektoncd-catalog/git-clone/bundle:v1.7.0", git_clone_task)
    ... create a PipelineRun ...; run = tekton.wait("run-1", "ci"); tekton.close()

Scripts (per pipeline task and step name; ``task="*"`` or ``step="*"`` match any): :meth:`FakeTekton.script`
with lines (a string, or ``(delay_seconds, text)`` written after that delay), ``exit_code``, ``results``
(name -> string, list or dict; written to ``/tekton/results``), ``reason`` (the container's termination
reason, e.g. ``OOMKilled``), ``hold`` (a ``threading.Event`` the step waits for before it ends), or
``run``: a callable ``run(context) -> (lines, exit_code, results)`` that does real work on the test
machine; ``context`` (:class:`StepContext`) has the step's resolved ``params``, ``workspaces`` (name ->
a temporary directory: one per PipelineRun workspace shared by its tasks; Secret and ConfigMap workspaces
hold their keys as files), ``env`` (``valueFrom`` resolved), ``results_dir`` and ``log(line)`` to write a
line at once. Without a script a step prints ``<step>: ok`` and succeeds; the last step of a task then
writes every result of the Task it has not written (``IMAGE_DIGEST``-like names get a ``sha256:`` digest,
``commit`` a 40-hex SHA, others ``<task>-<result>``) so that result references resolve.

What it does, as Tekton v1.15 does (``pkg/reconciler/pipelinerun``, ``pkg/reconciler/taskrun``, ``pkg/pod``):

- admission (``validation.webhook.pipeline.tekton.dev`` and the API server's CRD schema): Pipelines,
  PipelineRuns, Tasks and TaskRuns are checked against the upstream CRD schemas of ``reference`` (422 with
  the API server's wording; unknown fields pruned, or refused under ``fieldValidation=Strict`` as kubectl
  asks), then as Tekton's webhook does for runs (400 ``admission webhook ... denied the request: validation
  failed: expected exactly one, got neither: spec.pipelineRef, spec.pipelineSpec``; ``spec.status`` values);
- the Pipeline (``pipelineRef`` by name in the run's namespace, or ``pipelineSpec``) must exist
  (``CouldntGetPipeline``); every task must resolve before anything runs (``CouldntGetTask``: a Task of the
  namespace, an inline ``taskSpec``, or a ``resolver: bundles`` reference registered with
  :meth:`FakeTekton.register_bundle`, which a real cluster pulls from the OCI bundle; an unregistered one
  fails with the bundle resolver's ``could not find object in image`` error); required params must be
  given (``ParameterMissing``) with the declared types (``ParameterTypeMismatch``), with Tekton's messages
  (``[User error] PipelineRun ns/x is missing some parameters required by Pipeline ns/p: ...``); params the
  Pipeline does not declare are accepted and ignored, as upstream (``ValidateRequiredParametersProvided``:
  "Extra Parameters are allowed");
- the run gets ``tekton.dev/pipeline``; one TaskRun per pipeline task in DAG order (``runAfter`` and
  ``$(tasks.X.results.Y)`` references), independent tasks in parallel, named ``<run>-<task>`` (knative's
  ``ChildName`` beyond 63 characters), labelled ``tekton.dev/pipelineRun``, ``pipelineRunUID``,
  ``pipelineTask``, ``memberOf`` (``tasks``/``finally``), ``pipeline``, ``task`` (for Task references)
  plus the run's labels, owned by the run and listed in ``status.childReferences``; ``when`` expressions
  (``in``/``notin``) skip a task alone (``When Expressions evaluated to false``), a task whose results are
  needed but missing skips its dependents (``Results were missing``), a failed task stops the DAG (the rest
  ``PipelineRun was stopping``); ``finally`` tasks run after the DAG whatever happened;
- each TaskRun gets a Pod ``<taskrun>-pod`` in the run's namespace with init containers ``prepare`` and
  ``place-scripts`` and one container ``step-<name>`` per step, the TaskRun's labels plus
  ``tekton.dev/taskRun``, ``tekton.dev/taskRunUID`` and ``app.kubernetes.io/managed-by: tekton-pipelines``,
  owned by the TaskRun. As with Tekton's entrypoint, every step container starts together and each step
  waits for the one before: its log stays empty until it runs; after a failed step the later ones print
  ``Skipping step because a previous step failed`` and exit 1 (``terminationReason: Skipped``);
- status as Tekton writes it: TaskRun ``Pending`` -> ``Running`` (``Not all Steps in the Task have finished
  executing``) -> ``Succeeded`` (``All Steps have completed executing``) or ``StepFailed`` /
  ``StepOOM`` (``"step-build" exited with code 1: Error``); ``status.steps[]`` with
  ``waiting``/``running``/``terminated`` (exitCode, reason, startedAt/finishedAt, the results as the
  termination message), ``status.results``, ``podName``, ``taskSpec``, start/completion times.
  PipelineRun ``Running`` (``Tasks Completed: 1 (Failed: 0, Cancelled 0), Incomplete: 2, Skipped: 0``) ->
  ``Succeeded``/``Completed`` (some skipped)/``Failed`` (``Tasks Completed: 3 (Failed: 1, Cancelled 0),
  Skipped: 0``), ``status.results`` resolved from task results, ``skippedTasks``, ``pipelineSpec``;
- cancellation: ``spec.status: Cancelled`` patches each running TaskRun to ``TaskRunCancelled`` (status
  message ``TaskRun cancelled as the PipelineRun it belongs to has been cancelled.``); the TaskRun fails
  with ``TaskRunCancelled`` (``TaskRun "x" was cancelled. ...``), its running and waiting steps terminated
  (exit 1, reason ``TaskRunCancelled``), its Pod deleted; the run fails ``Cancelled`` (``PipelineRun "x" was
  cancelled``). ``CancelledRunFinally`` does that to the DAG tasks and then runs ``finally``
  (``CancelledRunningFinally`` meanwhile); ``StoppedRunFinally`` lets running tasks finish, starts no new
  ones, runs ``finally`` (``StoppedRunningFinally``); both end ``Cancelled``. A TaskRun patched to
  ``TaskRunCancelled`` by anyone is cancelled alike.
- ``spec.timeouts.pipeline`` (default 1h): running TaskRuns are cancelled with ``TaskRun cancelled as the
  PipelineRun it belongs to has timed out.`` and the run fails ``PipelineRunTimeout`` (``PipelineRun "x"
  failed to finish within "2s"``);
- workspaces: ``volumeClaimTemplate`` -> a PersistentVolumeClaim ``<name or pvc>-<sha256(workspace+run
  uid)[:10]>`` owned by the PipelineRun (``coschedule: disabled`` naming); ``secret``/``configMap`` volumes
  whose object is missing leave the Pod waiting in ``ContainerCreating`` (the TaskRun ``Pending``, with a
  ``FailedMount`` Event ``MountVolume.SetUp failed for volume "ws-..." : secret "x" not found``) until it
  appears or the run times out, as the kubelet does; a missing Secret or key in a step's
  ``env[].valueFrom`` fails the TaskRun ``CreateContainerConfigError`` (``Failed to create pod due to config
  error``);
- ServiceAccount: ``taskRunTemplate.serviceAccountName`` (default ``default``) must exist in the namespace,
  else the Pod is refused by the API server's ServiceAccount admission and the TaskRun fails
  ``PodCreationFailed`` (``failed to create task run pod "x": pods "x-pod" is forbidden: error looking up
  service account ns/sa: serviceaccount "sa" not found. Maybe missing or invalid Task ns/name``).

Where it differs from Tekton (keep this honest):

- nothing runs in containers: images, commands and scripts of steps are not executed (scripts of the test
  stand in for them); sidecars, step templates' effects, StepActions, matrix, custom tasks, pipelines in
  pipelines, retries, ``onError``, per-task and finally timeouts (``timeouts.tasks``/``finally``), TaskRun
  timeouts, the affinity assistant, results larger than the limits, artifacts, provenance, Chains and the
  ``pending`` status are not played; ``$(...)`` substitution covers params (string and array),
  ``$(tasks.T.results.R)``, ``$(context.pipelineRun.name|namespace|uid)``, ``$(context.taskRun.name)`` and
  ``$(workspaces.W.path)``;
- the webhook's own validation of Pipeline and Task specs beyond the CRD schema is not played;
- the account ``default`` is taken to exist in every namespace (the ServiceAccount controller creates it);
- a reconcile happens at each step of a run, not after informer resyncs; status is replaced whole;
- everything happens in threads of this process (one per PipelineRun and per running TaskRun), never under
  the Kubernetes stand-in's store lock; errors of the stand-in itself go to ``errors``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import shutil
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from fakekube import ApiError

GROUP = "tekton.dev"
API_VERSION = "tekton.dev/v1"
CRD_DIR = "tekton-pipeline-v1.15.0"
CONTROLLER = "tekton-pipelines-controller"
WEBHOOK = "validation.webhook.pipeline.tekton.dev"
RELEASE = "v1.15.0"
DEFAULT_TIMEOUT = 3600.0
ENTRYPOINT_IMAGE = ("ghcr.io/tektoncd/pipeline/entrypoint-bff0a22da108bc2f16c818c97641a296@sha256:"
                    + hashlib.sha256(b"entrypoint").hexdigest())
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_REF = re.compile(r"\$\(([^()]*)\)")
_TASK_RESULT = re.compile(r"\$\(tasks\.([^.()]+)\.results\.([^.()\[\]]+)(?:\[[^\]]*\])?\)")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


# ---------------------------------------------------------------- Go durations
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """A Go duration (``1h0m0s``, ``90s``, ``500ms``) in seconds."""
    text = text.strip()
    if text in ("0", ""):
        return 0.0
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text):
        raise ValueError(f'time: invalid duration "{text}"')
    return total


def format_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()``: ``1h0m0s``, ``2s``, ``1.5s``, ``500ms``."""
    if seconds == 0:
        return "0s"
    if seconds < 1:
        ms = seconds * 1000
        return f"{ms:g}ms" if ms >= 1 else f"{seconds * 1e6:g}µs"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = f"{secs:.9f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{out}"
    if minutes:
        return f"{int(minutes)}m{out}"
    return out


def child_name(parent: str, suffix: str) -> str:
    """knative's ``kmeta.ChildName``: ``parent + suffix`` within 63 characters, with an md5 when too long."""
    longest, md5_len = 63, 32
    if len(parent) + len(suffix) <= longest:
        return parent + suffix
    head = longest - len(suffix)
    if head - md5_len <= 0:
        return hashlib.md5((parent + suffix).encode()).hexdigest()  # noqa: S324 - naming, as upstream
    digest = hashlib.md5(parent.encode()).hexdigest()  # noqa: S324
    return (parent[: head - md5_len] + digest + suffix)[:longest]


# ---------------------------------------------------------------- CRD schema admission
def _schema_node(node: Any) -> Any:
    """An OpenAPI v3 CRD schema node as JSON Schema (int-or-string and nullable spelled out)."""
    if not isinstance(node, dict):
        return node
    out = {k: v for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    out.pop("nullable", None)
    out.pop("format", None)
    if "properties" in node:
        out["properties"] = {k: _schema_node(v) for k, v in node["properties"].items()}
    for key in ("items", "additionalProperties", "not"):
        if isinstance(node.get(key), dict):
            out[key] = _schema_node(node[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in node:
            out[key] = [_schema_node(s) for s in node[key]]
    return out


def _prune(value: Any, schema: dict, path: str, unknown: list[str]) -> Any:
    """Drop the fields a structural schema does not declare (the API server's pruning); note their paths."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if props is not None and not schema.get("x-kubernetes-preserve-unknown-fields") and not extra:
            for key in [k for k in value if k not in props]:
                unknown.append(f"{path}.{key}" if path else key)
                del value[key]
        for key in list(value):
            sub = (props or {}).get(key) if props and key in props else (extra if isinstance(extra, dict) else None)
            if sub is not None:
                value[key] = _prune(value[key], sub, f"{path}.{key}" if path else key, unknown)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_prune(v, schema["items"], f"{path}[{i}]", unknown) for i, v in enumerate(value)]
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _error_path(error) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class CrdSchemas:
    """The upstream Tekton CRDs of the reference data: their objects and compiled validators per kind."""

    def __init__(self, reference: Path) -> None:
        self.crds: list[dict] = []
        for path in sorted((Path(reference) / "crds" / CRD_DIR).glob("*.yaml")):
            self.crds += [d for d in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_Loader)
                          if d and d.get("kind") == "CustomResourceDefinition"]
        self._raw = {}
        for crd in self.crds:
            for version in crd["spec"]["versions"]:
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if schema:
                    self._raw[(crd["spec"]["group"], crd["spec"]["names"]["kind"], version["name"])] = schema
        self._validators: dict = {}

    def admit(self, obj: dict, group: str, version: str, kind: str, *, strict: bool) -> dict:
        import jsonschema

        raw = self._raw.get((group, kind, version))
        if raw is None:
            return obj
        obj = copy.deepcopy(obj)
        name = _meta(obj).get("name") or _meta(obj).get("generateName") or ""
        unknown: list[str] = []
        for key in ("spec", "status"):
            if key in obj and key in (raw.get("properties") or {}):
                obj[key] = _prune(obj[key], raw["properties"][key], key, unknown)
        if unknown and strict:
            details = ", ".join(f'unknown field "{p}"' for p in unknown)
            raise ApiError(400, "BadRequest", f"strict decoding error: {details}")
        validator = self._validators.get((group, kind, version))
        if validator is None:
            schema = _schema_node(raw)
            schema.get("properties", {}).pop("metadata", None)
            validator = self._validators[(group, kind, version)] = jsonschema.Draft7Validator(schema)
        errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
        if errors:
            causes, parts = [], []
            for error in errors[:10]:
                path = _error_path(error)
                if error.validator == "type":
                    expected = error.validator_value if isinstance(error.validator_value, str) else " or ".join(
                        error.validator_value)
                    actual = _json_type(error.instance)
                    text = (f'{path}: Invalid value: "{actual}": {path} in body must be of type {expected}: '
                            f'"{actual}"')
                elif error.validator == "required":
                    missing = re.search(r"'([^']+)' is a required property", error.message)
                    field_path = f"{path}.{missing.group(1)}" if missing and path else (
                        missing.group(1) if missing else path)
                    path, text = field_path, f"{field_path}: Required value"
                elif error.validator == "enum":
                    allowed = ", ".join(json.dumps(v) for v in error.validator_value)
                    text = f"{path}: Unsupported value: {json.dumps(error.instance)}: supported values: {allowed}"
                else:
                    text = f"{path}: Invalid value: {json.dumps(error.instance)[:80]}: {error.message[:200]}"
                causes.append({"reason": "FieldValueInvalid", "message": text.split(": ", 1)[1], "field": path})
                parts.append(text)
            message = (f'{kind}.{group} "{name}" is invalid: '
                       + (parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"))
            raise ApiError(422, "Invalid", message, {"name": name, "group": group, "kind": kind, "causes": causes})
        return obj


def install_crds(kube, reference: Path) -> None:
    """Create Tekton Pipelines' CRDs (from the reference data) that the stand-in does not serve yet."""
    for crd in CrdSchemas(reference).crds:
        if kube.get("customresourcedefinitions", crd["metadata"]["name"]) is None:
            kube.create(crd, manager="tekton-operator")


# ---------------------------------------------------------------- scripts
@dataclass
class StepContext:
    """What a callable step script gets."""

    pipelinerun: str
    taskrun: str
    namespace: str
    task: str  # the pipeline task's name
    step: str
    params: dict[str, Any]
    workspaces: dict[str, Path]
    env: dict[str, str]
    results_dir: Path
    log: Callable[[str], None]


@dataclass
class StepScript:
    """What one step prints and how it ends (see :meth:`FakeTekton.script`)."""

    lines: list = field(default_factory=list)
    exit_code: int = 0
    results: dict[str, Any] | None = None
    reason: str | None = None
    hold: threading.Event | None = None
    run: Callable[[StepContext], tuple] | None = None


class _Cancelled(Exception):
    pass


class _Unresolvable(Exception):
    """A pipeline task whose result references cannot be resolved (results missing)."""


# ---------------------------------------------------------------- the controller
class FakeTekton:
    """Tekton Pipelines' controller and webhook for one Kubernetes stand-in; see the module docstring."""

    def __init__(self, kube, reference: Path, *, running: Callable[[], bool] | None = None,
                 line_delay: float = 0.0) -> None:
        self.kube = kube
        self.reference = Path(reference)
        self.schemas = CrdSchemas(self.reference)
        self.running = running or (lambda: True)
        self.line_delay = line_delay
        self.errors: list[str] = []
        self.bundles: dict[tuple[str, str, str], dict] = {}
        self._scripts: dict[tuple[str, str], StepScript] = {}
        self._fail_first: dict[str, StepScript] = {}
        self._runs: dict[tuple[str, str], _PipelineRun] = {}
        self._pending: list[tuple[str, str]] = []
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._closed = False
        self._installed = False
        self._dir = Path(tempfile.mkdtemp(prefix="faketekton-"))

    # ------------------------------------------------------------ test API
    def install(self, *, crds: bool = True) -> FakeTekton:
        """Register with the stand-in (admission and events); with ``crds``, create the Tekton CRDs first."""
        if crds:
            install_crds(self.kube, self.reference)
        if not self._installed:
            self._installed = True
            self.kube.add_admission(self._admit)
            self.kube.add_reactor(self._react)
            try:
                runs = self.kube.list("pipelineruns.tekton.dev")
            except KeyError:  # the CRDs come later (the operator installs them)
                runs = []
            for run in runs:
                self._react("ADDED", run)
        return self

    def script(self, task: str, step: str, *lines, exit_code: int = 0, results: dict | None = None,
               reason: str | None = None, hold: threading.Event | None = None,
               run: Callable[[StepContext], tuple] | None = None) -> None:
        """Script step ``step`` of pipeline task ``task`` (``"*"`` matches any): each line a string or
        ``(delay_seconds, text)``; ``exit_code`` and the container's ``reason`` (default Completed/Error);
        ``results`` it writes; ``hold``: an Event the step waits for before ending; ``run``: a callable
        ``run(context) -> (lines, exit_code, results)`` doing real work (its lines follow the scripted ones)."""
        with self._lock:
            self._scripts[(task, step)] = StepScript(list(lines), exit_code, results, reason, hold, run)

    def fail(self, task: str, step: str = "*", *, exit_code: int = 1, reason: str | None = None,
             lines: tuple = ()) -> None:
        """Make a step (by default the first of the task) fail with ``exit_code`` and container ``reason``
        (e.g. ``OOMKilled``: the TaskRun then fails ``StepOOM``)."""
        if step == "*":
            with self._lock:
                self._fail_first[task] = StepScript(list(lines) or [f"error: {task} failed"], exit_code, None,
                                                    reason)
            return
        self.script(task, step, *(lines or (f"error: step {step} failed",)), exit_code=exit_code, reason=reason)

    def register_bundle(self, bundle: str, task: dict | str, *, kind: str = "task") -> None:
        """Make ``resolver: bundles`` with this bundle reference resolve to ``task`` (a Task object or its
        YAML); the entry name is the Task's ``metadata.name``. A real cluster pulls it from the OCI image."""
        doc = yaml.safe_load(task) if isinstance(task, str) else copy.deepcopy(task)
        self.schemas.admit(doc, GROUP, "v1", "Task", strict=True)
        self.bundles[(bundle, kind, doc["metadata"]["name"])] = doc

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until every PipelineRun seen so far has finished."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while (self._pending and self.running()) or any(not r.done for r in self._runs.values()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    busy = sorted(f"{ns}/{n}" for (ns, n), r in self._runs.items() if not r.done)
                    raise TimeoutError(f"the Tekton stand-in is still running {', '.join(busy)} after {timeout} s")
                self._cond.wait(min(remaining, 0.2))

    def wait(self, name: str, namespace: str = "default", timeout: float = 60.0) -> dict:
        """Wait until the PipelineRun has finished; returns it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                run = self._runs.get((namespace, name))
                if run is not None and run.done:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"PipelineRun {namespace}/{name} has not finished after {timeout} s")
                self._cond.wait(min(remaining, 0.2))
        return self.kube.get("pipelineruns.tekton.dev", name, namespace)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            runs = list(self._runs.values())
            self._cond.notify_all()
        for run in runs:
            run.stop.set()
            with run.cond:
                run.cond.notify_all()
        for run in runs:
            if run.thread is not None:
                run.thread.join(timeout=10)
        shutil.rmtree(self._dir, ignore_errors=True)

    def started(self) -> None:
        """The controller came up (FakePlatform): start runs created before."""
        for key in list(self._pending):
            self._start(*key)

    # ------------------------------------------------------------ admission (under the store lock)
    def _admit(self, operation: str, res, obj: dict, old: dict | None, strict: bool) -> dict:
        if res.group != GROUP:
            return obj
        obj = self.schemas.admit(obj, res.group, res.version, res.kind, strict=strict)
        spec = obj.get("spec") or {}
        problem = None
        if res.kind == "PipelineRun":
            has_ref, has_spec = "pipelineRef" in spec, "pipelineSpec" in spec
            if has_ref == has_spec:
                problem = (f"expected exactly one, got {'both' if has_ref else 'neither'}: "
                           "spec.pipelineRef, spec.pipelineSpec")
            elif spec.get("status") not in (None, "", "Cancelled", "CancelledRunFinally", "StoppedRunFinally",
                                            "PipelineRunPending"):
                problem = (f"invalid value: {spec['status']} should be Cancelled, CancelledRunFinally, "
                           "StoppedRunFinally or PipelineRunPending: spec.status")
            elif old is not None and (old.get("spec") or {}).get("status") in ("Cancelled",) and \
                    spec.get("status") != "Cancelled":
                problem = None
        elif res.kind == "TaskRun":
            has_ref, has_spec = "taskRef" in spec, "taskSpec" in spec
            if has_ref == has_spec:
                problem = f"expected exactly one, got {'both' if has_ref else 'neither'}: spec.taskRef, spec.taskSpec"
            elif spec.get("status") not in (None, "", "TaskRunCancelled", "TaskRunPending"):
                problem = (f"invalid value: {spec['status']} should be TaskRunCancelled or TaskRunPending: "
                           "spec.status")
        if problem:
            raise ApiError(400, "BadRequest",
                           f'admission webhook "{WEBHOOK}" denied the request: validation failed: {problem}')
        return obj

    # ------------------------------------------------------------ events (under the store lock)
    def _react(self, event: str, obj: dict) -> None:
        if obj.get("apiVersion", "").split("/")[0] != GROUP:
            if obj.get("kind") in ("Secret", "ConfigMap") and obj.get("apiVersion") == "v1":
                for run in list(self._runs.values()):
                    with run.cond:
                        run.cond.notify_all()
            return
        key = (_meta(obj).get("namespace", ""), _meta(obj).get("name", ""))
        if obj.get("kind") == "PipelineRun":
            with self._cond:
                run = self._runs.get(key)
                if event == "ADDED" and (run is None or run.uid != _meta(obj).get("uid")):
                    if run is not None:
                        run.stop.set()
                    self._pending.append(key)
                    self._cond.notify_all()
                    threading.Thread(target=self._start, args=key, daemon=True).start()
                elif run is not None and event == "DELETED":
                    run.stop.set()
                    with run.cond:
                        run.cond.notify_all()
                elif run is not None:
                    run.spec_status = (obj.get("spec") or {}).get("status") or ""
                    with run.cond:
                        run.cond.notify_all()
        elif obj.get("kind") == "TaskRun" and event != "ADDED":
            pr = (_meta(obj).get("labels") or {}).get("tekton.dev/pipelineRun")
            run = self._runs.get((key[0], pr or ""))
            if run is not None:
                task = run.taskruns.get(key[1])
                if task is not None and (event == "DELETED" or (obj.get("spec") or {}).get("status") ==
                                         "TaskRunCancelled"):
                    task.cancel_message = (obj.get("spec") or {}).get("statusMessage", "")
                    task.cancelled.set()
                    with run.cond:
                        run.cond.notify_all()

    def _start(self, namespace: str, name: str) -> None:
        with self._cond:
            if (namespace, name) not in self._pending or self._closed:
                return
            if not self.running():
                return  # FakePlatform calls started() once the controller runs
            self._pending.remove((namespace, name))
            obj = self.kube.get("pipelineruns.tekton.dev", name, namespace)
            if obj is None:
                self._cond.notify_all()
                return
            run = _PipelineRun(self, obj)
            self._runs[(namespace, name)] = run
            run.thread = threading.Thread(target=run.main, name=f"faketekton-{name}", daemon=True)
            run.thread.start()

    def _finished(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def script_for(self, task: str, step: str, index: int) -> StepScript | None:
        with self._lock:
            for key in ((task, step), (task, "*"), ("*", step), ("*", "*")):
                if key in self._scripts:
                    return self._scripts[key]
            if index == 0 and task in self._fail_first:
                return self._fail_first[task]
        return None


# ---------------------------------------------------------------- substitution
def _substitute(value: Any, variables: dict[str, Any]) -> Any:
    """Replace ``$(name)`` references in strings (recursively in lists and dicts). A string that is exactly
    one array reference (``$(params.x[*])`` or ``$(params.x)`` of an array) in a list is spliced in."""
    if isinstance(value, dict):
        return {k: _substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, str):
                match = _REF.fullmatch(item.strip())
                if match:
                    ref = match.group(1).removesuffix("[*]")
                    if isinstance(variables.get(ref), list):
                        out.extend(variables[ref])
                        continue
            out.append(_substitute(item, variables))
        return out
    if not isinstance(value, str):
        return value
    match = _REF.fullmatch(value.strip())
    if match and not isinstance(variables.get(match.group(1).removesuffix("[*]"), ""), str):
        return copy.deepcopy(variables[match.group(1).removesuffix("[*]")])

    def one(m):
        ref = m.group(1)
        if ref in variables:
            v = variables[ref]
            return v if isinstance(v, str) else json.dumps(v)
        if ref.endswith("[*]") and ref[:-3] in variables:
            v = variables[ref[:-3]]
            return " ".join(v) if isinstance(v, list) else str(v)
        return m.group(0)

    return _REF.sub(one, value)


def _param_type(value: Any) -> str:
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else "string"


def _params(declared: list[dict], given: list[dict]) -> dict[str, Any]:
    out = {}
    for spec in declared or []:
        if "default" in spec:
            out[spec["name"]] = copy.deepcopy(spec["default"])
    for param in given or []:
        out[param["name"]] = copy.deepcopy(param.get("value"))
    return out


def _references(pt: dict) -> set[str]:
    text = json.dumps({k: pt.get(k) for k in ("params", "when", "matrix", "workspaces")})
    return {m.group(1) for m in _TASK_RESULT.finditer(text)}


def _fake_result(task: str, name: str, salt: str) -> str:
    digest = hashlib.sha256(f"{salt}/{task}/{name}".encode()).hexdigest()
    if "digest" in name.lower():
        return f"sha256:{digest}"
    if name.lower() in ("commit", "sha", "revision"):
        return digest[:40]
    return f"{task}-{name}"


# ---------------------------------------------------------------- one PipelineRun
@dataclass
class _Task:
    name: str  # pipeline task name
    pt: dict
    final: bool
    spec: dict | None = None  # resolved TaskSpec
    task_name: str | None = None  # the Task's name for the tekton.dev/task label
    deps: set[str] = field(default_factory=set)
    state: str = "pending"  # pending | running | succeeded | failed | cancelled | skipped
    skip_reason: str = ""
    taskrun: str = ""
    results: dict[str, Any] = field(default_factory=dict)
    when: list = field(default_factory=list)
    cancelled: threading.Event = field(default_factory=threading.Event)
    cancel_message: str = ""
    thread: threading.Thread | None = None


class _PipelineRun:
    def __init__(self, tekton: FakeTekton, obj: dict) -> None:
        self.tekton = tekton
        self.kube = tekton.kube
        self.obj = obj
        meta = _meta(obj)
        self.name, self.namespace, self.uid = meta["name"], meta["namespace"], meta["uid"]
        self.spec_status = (obj.get("spec") or {}).get("status") or ""
        self.stop = threading.Event()
        self.cond = threading.Condition()
        self.write_lock = threading.Lock()
        self.finished = False
        self.timeout = DEFAULT_TIMEOUT
        self.deadline: float | None = None
        self.bindings: dict[str, dict] = {}
        self.params: dict[str, Any] = {}
        self.done = False
        self.thread: threading.Thread | None = None
        self.tasks: dict[str, _Task] = {}
        self.taskruns: dict[str, _Task] = {}
        self.status: dict = {}
        self.pipeline_name = ""
        self.workspace_dirs: dict[str, Path] = {}
        self.start = time.monotonic()

    # ------------------------------------------------------------ status writes
    def _write_status(self, *, final: bool = False) -> None:
        with self.write_lock:
            if self.finished:
                return
            self.finished = final
            with self.cond:
                status = copy.deepcopy(self.status)
            try:
                self.kube.put_status("pipelineruns.tekton.dev", self.name, status, self.namespace)
            except ApiError as exc:
                if exc.code != 404:
                    raise

    def _condition(self, status: str, reason: str, message: str) -> None:
        current = next(iter(self.status.get("conditions") or []), {})
        cond = {"type": "Succeeded", "status": status, "reason": reason, "message": message,
                "lastTransitionTime": current.get("lastTransitionTime", _now())}
        if (current.get("status"), current.get("reason")) != (status, reason):
            cond["lastTransitionTime"] = _now()
        self.status["conditions"] = [cond]

    def _fail(self, reason: str, message: str) -> None:
        self._condition("False", reason, message)
        self.status.setdefault("startTime", _now())
        self.status["completionTime"] = _now()
        self._write_status(final=True)

    # ------------------------------------------------------------ main loop
    def main(self) -> None:
        try:
            self._main()
        except Exception:  # noqa: BLE001 - reported through `errors`
            self.tekton.errors.append(f"PipelineRun {self.namespace}/{self.name}: {traceback.format_exc()}")
        finally:
            self.done = True
            self.tekton._finished()

    def _main(self) -> None:
        spec = self.obj.get("spec") or {}
        self.status = {"startTime": _now()}
        self._condition("Unknown", "Started", "")
        if self.spec_status == "PipelineRunPending":
            self._condition("Unknown", "PipelineRunPending", f'PipelineRun "{self.name}" is pending')
            self._write_status()
            return  # not played: starting a pending run later
        pipeline_spec, pipeline_name = self._pipeline(spec)
        if pipeline_spec is None:
            return
        self.pipeline_name = pipeline_name
        self._label_pipeline(pipeline_name)
        self.status["pipelineSpec"] = pipeline_spec
        if not self._validate_params(spec, pipeline_spec, pipeline_name):
            return
        try:
            timeout = parse_duration(str((spec.get("timeouts") or {}).get("pipeline", "1h0m0s")))
        except ValueError:
            timeout = DEFAULT_TIMEOUT
        self.timeout = timeout
        self.deadline = self.start + timeout if timeout else None
        for pt in pipeline_spec.get("tasks") or []:
            self.tasks[pt["name"]] = _Task(pt["name"], pt, False)
        for pt in pipeline_spec.get("finally") or []:
            self.tasks[pt["name"]] = _Task(pt["name"], pt, True)
        for task in self.tasks.values():
            if not task.final:
                task.deps = (set(task.pt.get("runAfter") or []) | _references(task.pt)) & {
                    t.name for t in self.tasks.values() if not t.final}
        missing = self._resolve_tasks(pipeline_name)
        if missing:
            return
        self.params = _params(pipeline_spec.get("params") or [], spec.get("params") or [])
        self._create_claims(spec)
        self._update_running()
        self._loop(spec, pipeline_spec)

    def _pipeline(self, spec: dict) -> tuple[dict | None, str]:
        if "pipelineSpec" in spec:
            return copy.deepcopy(spec["pipelineSpec"]), self.name
        ref = spec.get("pipelineRef") or {}
        if ref.get("resolver"):
            self._fail("CouldntGetPipeline", f"Error retrieving pipeline for pipelinerun {self.namespace}/"
                       f"{self.name}: resolver {ref['resolver']!r} is not played by the stand-in")
            return None, ""
        pipeline = self.kube.get("pipelines.tekton.dev", ref.get("name", ""), self.namespace)
        if pipeline is None:
            self._fail("CouldntGetPipeline", f"Error retrieving pipeline for pipelinerun {self.namespace}/"
                       f"{self.name}: pipelines.tekton.dev \"{ref.get('name', '')}\" not found")
            return None, ""
        return copy.deepcopy(pipeline.get("spec") or {}), ref["name"]

    def _label_pipeline(self, pipeline_name: str) -> None:
        labels = _meta(self.obj).get("labels") or {}
        if "tekton.dev/pipeline" in labels:
            return

        def mutate(obj):
            obj["metadata"].setdefault("labels", {})["tekton.dev/pipeline"] = pipeline_name

        try:
            self.obj = self.kube.update("pipelineruns.tekton.dev", self.name, mutate, self.namespace)
        except ApiError as exc:
            if exc.code != 404:
                raise

    def _validate_params(self, spec: dict, pipeline_spec: dict, pipeline_name: str) -> bool:
        given = {p["name"]: p.get("value") for p in spec.get("params") or []}
        required = [p["name"] for p in pipeline_spec.get("params") or [] if "default" not in p]
        missing = [n for n in required if n not in given]
        prefix = f"[User error] PipelineRun {self.namespace}/{self.name}"
        if missing:
            self._fail("ParameterMissing", f"{prefix} is missing some parameters required by Pipeline "
                       f"{self.namespace}/{pipeline_name}: pipelineRun missing parameters: [{' '.join(missing)}]")
            return False
        types = {p["name"]: p.get("type", _param_type(p.get("default", ""))) for p in pipeline_spec.get("params")
                 or []}
        wrong = [n for n, v in given.items() if n in types and _param_type(v) != types[n]]
        if wrong:
            self._fail("ParameterTypeMismatch", f"{prefix} parameters have mismatching types with Pipeline "
                       f"{self.namespace}/{pipeline_name}'s parameters: parameters have inconsistent types : "
                       f"[{' '.join(wrong)}]")
            return False
        return True

    def _resolve_tasks(self, pipeline_name: str) -> bool:
        for task in self.tasks.values():
            pt = task.pt
            if "taskSpec" in pt:
                task.spec = copy.deepcopy(pt["taskSpec"])
                task.spec.pop("metadata", None)
                task.spec.pop("apiVersion", None)
                task.spec.pop("kind", None)
                continue
            ref = pt.get("taskRef") or {}
            if ref.get("resolver") == "bundles":
                params = {p["name"]: p.get("value") for p in ref.get("params") or []}
                bundle, entry, kind = params.get("bundle", ""), params.get("name", ""), params.get("kind", "task")
                found = self.tekton.bundles.get((bundle, kind, entry))
                if found is None:
                    self._fail("CouldntGetTask", f"Pipeline {self.namespace}/{pipeline_name} can't be Run; it "
                               f"contains Tasks that don't exist: Couldn't retrieve Task \"\": error requesting "
                               f"remote resource: error updating resource request \"{self.namespace}/bundles-"
                               f"{hashlib.md5(f'{bundle}{entry}'.encode()).hexdigest()}\" with data: "  # noqa: S324
                               f"resolution failed: could not find object in image with kind: {kind} and name: "
                               f"{entry}")
                    return True
                task.spec, task.task_name = copy.deepcopy(found.get("spec") or {}), _meta(found)["name"]
                continue
            if ref.get("resolver"):
                self._fail("CouldntGetTask", f"Pipeline {self.namespace}/{pipeline_name} can't be Run; it contains "
                           f"Tasks that don't exist: Couldn't retrieve Task \"\": resolver {ref['resolver']!r} "
                           "is not played by the stand-in")
                return True
            found = self.kube.get("tasks.tekton.dev", ref.get("name", ""), self.namespace)
            if found is None:
                self._fail("CouldntGetTask", f"Pipeline {self.namespace}/{pipeline_name} can't be Run; it contains "
                           f"Tasks that don't exist: Couldn't retrieve Task \"{ref.get('name', '')}\": "
                           f"tasks.tekton.dev \"{ref.get('name', '')}\" not found")
                return True
            task.spec, task.task_name = copy.deepcopy(found.get("spec") or {}), ref["name"]
        return False

    def _owner(self) -> dict:
        return {"apiVersion": API_VERSION, "kind": "PipelineRun", "name": self.name, "uid": self.uid,
                "controller": True, "blockOwnerDeletion": True}

    def _create_claims(self, spec: dict) -> None:
        for binding in spec.get("workspaces") or []:
            directory = self.tekton._dir / self.uid / binding["name"]
            directory.mkdir(parents=True, exist_ok=True)
            self.workspace_dirs[binding["name"]] = directory
            template = binding.get("volumeClaimTemplate")
            if not template:
                continue
            identity = hashlib.sha256((binding["name"] + self.uid).encode()).hexdigest()[:10]
            claim = f"{(_meta(template).get('name') or 'pvc')}-{identity}"
            if self.kube.get("persistentvolumeclaims", claim, self.namespace) is None:
                self.kube.create({
                    "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "metadata": {**{k: v for k, v in _meta(template).items() if k in ("labels", "annotations")},
                                 "name": claim, "namespace": self.namespace, "ownerReferences": [self._owner()]},
                    "spec": copy.deepcopy(template.get("spec") or {}),
                }, manager=CONTROLLER)
            binding["_claim"] = claim
        self.bindings = {b["name"]: b for b in spec.get("workspaces") or []}

    # ------------------------------------------------------------ the DAG
    def _counts(self) -> dict[str, int]:
        counts = {"succeeded": 0, "failed": 0, "cancelled": 0, "skipped": 0, "incomplete": 0}
        for task in self.tasks.values():
            state = task.state if task.state in counts else "incomplete"
            counts[state] += 1
        return counts

    def _running_message(self) -> str:
        c = self._counts()
        completed = c["succeeded"] + c["failed"] + c["cancelled"]
        return (f"Tasks Completed: {completed} (Failed: {c['failed']}, Cancelled {c['cancelled']}), "
                f"Incomplete: {c['incomplete']}, Skipped: {c['skipped']}")

    def _update_running(self, reason: str = "Running") -> None:
        with self.cond:
            self._condition("Unknown", reason, self._running_message())
            self._child_references()
        self._write_status()

    def _child_references(self) -> None:
        refs = []
        for task in self.tasks.values():
            if task.taskrun:
                ref = {"apiVersion": API_VERSION, "kind": "TaskRun", "name": task.taskrun,
                       "pipelineTaskName": task.name}
                if task.pt.get("when"):
                    ref["whenExpressions"] = copy.deepcopy(task.when or task.pt["when"])
                refs.append(ref)
        if refs:
            self.status["childReferences"] = refs
        skipped = [{"name": t.name, "reason": t.skip_reason,
                    **({"whenExpressions": t.when} if t.when and t.skip_reason.startswith("When") else {})}
                   for t in self.tasks.values() if t.state == "skipped"]
        if skipped:
            self.status["skippedTasks"] = skipped
        else:
            self.status.pop("skippedTasks", None)

    def _variables(self) -> dict[str, Any]:
        out = {f"params.{k}": v for k, v in self.params.items()}
        out.update({"context.pipelineRun.name": self.name, "context.pipelineRun.namespace": self.namespace,
                    "context.pipelineRun.uid": self.uid, "context.pipeline.name": self.pipeline_name})
        for task in self.tasks.values():
            for key, value in task.results.items():
                out[f"tasks.{task.name}.results.{key}"] = value
            out[f"tasks.{task.name}.status"] = {"succeeded": "Succeeded", "failed": "Failed"}.get(
                task.state, "None")
        return out

    def _resolved_pt(self, task: _Task) -> dict:
        pt = _substitute(copy.deepcopy(task.pt), self._variables())
        if _TASK_RESULT.search(json.dumps({k: pt.get(k) for k in ("params", "when")})):
            raise _Unresolvable(task.name)
        return pt

    @staticmethod
    def _when_true(when: list[dict]) -> bool:
        for expr in when or []:
            values = expr.get("values") or []
            inside = expr.get("input") in values
            if (expr.get("operator") == "in") != inside:
                return False
        return True

    def _can_start(self, task: _Task, stopping: bool) -> bool:
        if task.state != "pending":
            return False
        if task.final:
            return all(t.state not in ("pending", "running") for t in self.tasks.values() if not t.final)
        if stopping:
            return False
        return all(self.tasks[d].state in ("succeeded", "skipped") for d in task.deps)

    def _loop(self, spec: dict, pipeline_spec: dict) -> None:
        cancel_reason = ""
        timed_out = False
        while True:
            announce = False
            with self.cond:
                if self.stop.is_set() or self.tekton._closed:
                    return
                status = self.spec_status
                now = time.monotonic()
                if not timed_out and self.deadline is not None and now >= self.deadline:
                    timed_out = True
                    self._cancel_running(timed_out=True, final_too=True)
                if status == "Cancelled" and cancel_reason != "Cancelled":
                    cancel_reason = "Cancelled"
                    self._cancel_running(timed_out=False, final_too=True)
                elif status in ("CancelledRunFinally", "StoppedRunFinally") and not cancel_reason:
                    cancel_reason = status
                    if status == "CancelledRunFinally":
                        self._cancel_running(timed_out=False, final_too=False)
                    announce = True
                failed = any(t.state in ("failed", "cancelled") for t in self.tasks.values() if not t.final)
                stopping = failed or bool(cancel_reason) or timed_out
                for task in self.tasks.values():
                    if task.state == "pending" and not task.final and stopping:
                        if cancel_reason == "CancelledRunFinally":
                            task.state, task.skip_reason = "skipped", "PipelineRun was gracefully cancelled"
                        elif cancel_reason == "StoppedRunFinally":
                            task.state, task.skip_reason = "skipped", "PipelineRun was gracefully stopped"
                        elif timed_out:
                            task.state, task.skip_reason = "skipped", "PipelineRun timeout has been reached"
                        elif failed:
                            task.state, task.skip_reason = "skipped", "PipelineRun was stopping"
                if cancel_reason == "Cancelled" or timed_out:
                    for task in self.tasks.values():
                        if task.state == "pending" and task.final:
                            task.state = "skipped"
                            task.skip_reason = ("PipelineRun timeout has been reached" if timed_out
                                                else "PipelineRun was cancelled")
                to_start = []
                for task in self.tasks.values():
                    if not self._can_start(task, stopping):
                        continue
                    try:
                        pt = self._resolved_pt(task)
                    except _Unresolvable:
                        task.state, task.skip_reason = "skipped", "Results were missing"
                        continue
                    task.when = copy.deepcopy(pt.get("when") or [])
                    if not self._when_true(pt.get("when") or []):
                        task.state, task.skip_reason = "skipped", "When Expressions evaluated to false"
                        continue
                    task.state = "running"
                    to_start.append((task, pt))
                running = [t for t in self.tasks.values() if t.state == "running"]
            for task, pt in to_start:
                task.taskrun = child_name(self.name, f"-{task.name}")
                self.taskruns[task.taskrun] = task
                task.thread = threading.Thread(target=self._run_task, args=(task, pt, spec), daemon=True,
                                               name=f"faketekton-{task.taskrun}")
                task.thread.start()
            if not running and not to_start:
                break
            if to_start or (announce and running):
                reason = {"CancelledRunFinally": "CancelledRunningFinally", "StoppedRunFinally":
                          "StoppedRunningFinally"}.get(cancel_reason, "Running")
                self._update_running(reason)
            with self.cond:
                wait = 0.25 if self.deadline is None else max(0.0, min(0.25, self.deadline - time.monotonic()))
                self.cond.wait(wait if wait > 0 else 0.01)
        self._finish(pipeline_spec, cancel_reason, timed_out)

    def _cancel_running(self, *, timed_out: bool, final_too: bool) -> None:
        message = ("TaskRun cancelled as the PipelineRun it belongs to has timed out." if timed_out else
                   "TaskRun cancelled as the PipelineRun it belongs to has been cancelled.")
        for task in self.tasks.values():
            if task.state == "running" and (final_too or not task.final) and not task.cancelled.is_set():
                task.cancel_message = message
                threading.Thread(target=self._patch_cancel, args=(task, message), daemon=True).start()

    def _patch_cancel(self, task: _Task, message: str) -> None:
        for _ in range(100):  # the TaskRun may not be created yet
            try:
                self.kube.update("taskruns.tekton.dev", task.taskrun, lambda o: o["spec"].update(
                    status="TaskRunCancelled", statusMessage=message), self.namespace)
                break
            except ApiError:
                time.sleep(0.02)
        task.cancel_message = message
        task.cancelled.set()
        with self.cond:
            self.cond.notify_all()

    def _finish(self, pipeline_spec: dict, cancel_reason: str, timed_out: bool) -> None:
        c = self._counts()
        completed = c["succeeded"] + c["failed"] + c["cancelled"]
        message = (f"Tasks Completed: {completed} (Failed: {c['failed']}, Cancelled {c['cancelled']}), "
                   f"Skipped: {c['skipped']}")
        results = []
        if timed_out:
            status, reason = "False", "PipelineRunTimeout"
            message = f'PipelineRun "{self.name}" failed to finish within "{format_duration(self.timeout)}"'
        elif cancel_reason:
            status, reason = "False", "Cancelled"
            message = f'PipelineRun "{self.name}" was cancelled'
        elif c["failed"]:
            status, reason = "False", "Failed"
        elif c["cancelled"]:
            status, reason = "False", "Cancelled"
        else:
            status, reason = "True", "Completed" if c["skipped"] else "Succeeded"
        if not timed_out and not cancel_reason:
            variables = self._variables()
            for result in pipeline_spec.get("results") or []:
                value = _substitute(copy.deepcopy(result.get("value")), variables)
                if _TASK_RESULT.search(json.dumps(value)):
                    continue  # Tekton leaves out results whose task results are missing
                results.append({"name": result["name"], "value": value})
        with self.cond:
            self._child_references()
            if results:
                self.status["results"] = results
            if any(t.final for t in self.tasks.values()) and "finallyStartTime" not in self.status:
                self.status["finallyStartTime"] = _now()
            self._condition(status, reason, message)
            self.status["completionTime"] = _now()
        self._write_status(final=True)

    # ------------------------------------------------------------ one TaskRun
    def _run_task(self, task: _Task, pt: dict, spec: dict) -> None:
        try:
            _TaskRun(self, task, pt, spec).run()
        except Exception:  # noqa: BLE001 - reported through `errors`
            self.tekton.errors.append(f"TaskRun {self.namespace}/{task.taskrun}: {traceback.format_exc()}")
            task.state = "failed"
        finally:
            with self.cond:
                self.cond.notify_all()
            self._update_running_if_live()

    def _update_running_if_live(self) -> None:
        with self.cond:
            live = any(t.state in ("running", "pending") for t in self.tasks.values())
        if live and not self.stop.is_set():
            reason = {"CancelledRunFinally": "CancelledRunningFinally", "StoppedRunFinally":
                      "StoppedRunningFinally"}.get(self.spec_status, "Running")
            failed = any(t.state in ("failed", "cancelled") for t in self.tasks.values() if not t.final)
            if reason == "Running" and failed and not any(t.final for t in self.tasks.values()):
                reason = "PipelineRunStopping"
            self._update_running(reason)


class _TaskRun:
    """Plays the TaskRun reconciler, the kubelet and Tekton's entrypoint for one TaskRun."""

    def __init__(self, run: _PipelineRun, task: _Task, pt: dict, pr_spec: dict) -> None:
        self.run_, self.task, self.pt, self.pr_spec = run, task, pt, pr_spec
        self.kube = run.kube
        self.name = task.taskrun
        self.namespace = run.namespace
        self.pod = child_name(self.name, "-pod")
        self.spec = copy.deepcopy(task.spec or {})
        self.steps = self.spec.get("steps") or []
        self.status: dict = {}
        template = pr_spec.get("taskRunTemplate") or {}
        specs = {s.get("pipelineTaskName"): s for s in pr_spec.get("taskRunSpecs") or []}
        own = specs.get(task.name) or {}
        self.service_account = own.get("serviceAccountName") or template.get("serviceAccountName") or "default"
        self.pod_template = copy.deepcopy(own.get("podTemplate") or template.get("podTemplate") or {})

    # ------------------------------------------------------------ helpers
    def _write(self) -> None:
        try:
            self.kube.put_status("taskruns.tekton.dev", self.name, copy.deepcopy(self.status), self.namespace)
        except ApiError as exc:
            if exc.code != 404:
                raise

    def _condition(self, status: str, reason: str, message: str) -> None:
        self.status["conditions"] = [{"type": "Succeeded", "status": status, "reason": reason,
                                      "message": message, "lastTransitionTime": _now()}]

    def _params(self) -> dict[str, Any]:
        return _params(self.spec.get("params") or [], self.pt.get("params") or [])

    def _variables(self, params: dict) -> dict[str, Any]:
        out = {f"params.{k}": v for k, v in params.items()}
        for k, v in params.items():
            out[f"params['{k}']"] = out[f'params["{k}"]'] = v
        out.update({"context.taskRun.name": self.name, "context.taskRun.namespace": self.namespace,
                    "context.task.name": self.task.task_name or self.name,
                    "context.pipelineRun.name": self.run_.name, "context.pipelineRun.namespace": self.namespace,
                    "context.pipelineRun.uid": self.run_.uid})
        for ws in self.spec.get("workspaces") or []:
            out[f"workspaces.{ws['name']}.path"] = ws.get("mountPath") or f"/workspace/{ws['name']}"
            out[f"workspaces.{ws['name']}.bound"] = "true" if self._binding(ws["name"]) else "false"
        for result in self.spec.get("results") or []:
            out[f"results.{result['name']}.path"] = f"/tekton/results/{result['name']}"
        return out

    def _binding(self, task_ws: str) -> dict | None:
        for ws in self.pt.get("workspaces") or []:
            if ws.get("name") == task_ws:
                return self.run_.bindings.get(ws.get("workspace", ws.get("name")))
        return None

    def _labels(self) -> dict[str, str]:
        labels = dict(_meta(self.run_.obj).get("labels") or {})
        labels.update({"tekton.dev/pipelineRun": self.run_.name, "tekton.dev/pipelineRunUID": self.run_.uid,
                       "tekton.dev/pipelineTask": self.task.name,
                       "tekton.dev/memberOf": "finally" if self.task.final else "tasks",
                       "tekton.dev/pipeline": self.run_.pipeline_name})
        if self.task.task_name:
            labels["tekton.dev/task"] = self.task.task_name
        return labels

    # ------------------------------------------------------------ the reconcile
    def run(self) -> None:
        task, run = self.task, self.run_
        trspec: dict = {"serviceAccountName": self.service_account,
                        "timeout": format_duration(max(run.timeout, 0)) if run.timeout else "0s"}
        if task.pt.get("taskRef"):
            trspec["taskRef"] = copy.deepcopy(task.pt["taskRef"])
        else:
            trspec["taskSpec"] = copy.deepcopy(self.spec)
        if self.pt.get("params"):
            trspec["params"] = copy.deepcopy(self.pt["params"])
        workspaces = []
        for ws in self.pt.get("workspaces") or []:
            binding = run.bindings.get(ws.get("workspace", ws["name"]))
            if binding is None:
                continue
            entry = {k: copy.deepcopy(v) for k, v in binding.items() if k not in ("name", "_claim",
                                                                                  "volumeClaimTemplate")}
            if binding.get("_claim"):
                entry["persistentVolumeClaim"] = {"claimName": binding["_claim"]}
            workspaces.append({"name": ws["name"], **entry})
        if workspaces:
            trspec["workspaces"] = workspaces
        if self.pod_template:
            trspec["podTemplate"] = copy.deepcopy(self.pod_template)
        self.kube.create({
            "apiVersion": API_VERSION, "kind": "TaskRun",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": self._labels(),
                         "annotations": {k: v for k, v in (_meta(run.obj).get("annotations") or {}).items()
                                         if not k.startswith("kubectl.kubernetes.io/")},
                         "ownerReferences": [run._owner()]},
            "spec": trspec,
        }, manager=CONTROLLER)
        self.uid = _meta(self.kube.get("taskruns.tekton.dev", self.name, self.namespace))["uid"]
        run._update_running()
        self.status = {"startTime": _now(), "taskSpec": copy.deepcopy(self.spec), "podName": ""}
        self._condition("Unknown", "Pending", "Pending")
        params = self._params()
        variables = self._variables(params)
        problem = self._validate_params() or self._create_pod(variables)
        if problem is not None:
            reason, message = problem
            self._condition("False", reason, message)
            self.status["completionTime"] = _now()
            self._write()
            task.state = "failed"
            return
        self.status["podName"] = self.pod
        self.status["steps"] = [{"name": s.get("name") or f"unnamed-{i}", "container": self._container(s, i),
                                 "waiting": {"reason": "PodInitializing"}} for i, s in enumerate(self.steps)]
        self._condition("Unknown", "Pending", 'pod status "Initialized":"False"; message: "containers with '
                                             'incomplete status: [prepare place-scripts]"')
        self._write()
        if not self._mount_volumes():
            self._cancelled_or_timed_out()
            return
        for init in ("prepare", "place-scripts"):
            self.kube.set_container_state(self.pod, init, "running", self.namespace)
            self.kube.set_container_state(self.pod, init, "terminated", self.namespace, exit_code=0)
        env_problem = self._env_problem()
        if env_problem:
            for i, step in enumerate(self.steps):
                self.kube.set_container_state(self.pod, self._container(step, i), "waiting", self.namespace,
                                              reason="CreateContainerConfigError", message=env_problem)
            self._condition("False", "CreateContainerConfigError", "Failed to create pod due to config error")
            self.status["completionTime"] = _now()
            self._terminate_steps("CreateContainerConfigError")
            self._write()
            self._delete_pod()
            task.state = "failed"
            return
        for i, step in enumerate(self.steps):
            self.kube.set_container_state(self.pod, self._container(step, i), "running", self.namespace,
                                          image_id=self._image_id(step))
        for entry in self.status["steps"]:
            entry.pop("waiting", None)
            entry["running"] = {"startedAt": _now()}
        self._condition("Unknown", "Running", "Not all Steps in the Task have finished executing")
        self._write()
        self._run_steps(params, variables)

    def _validate_params(self) -> tuple[str, str] | None:
        """``ValidateResolvedTask``: the Task's params without default must be given, with their types."""
        given = {p["name"]: p.get("value") for p in self.pt.get("params") or []}
        declared = self.spec.get("params") or []
        missing = [p["name"] for p in declared if "default" not in p and p["name"] not in given]
        wrong = [p["name"] for p in declared if p["name"] in given
                 and _param_type(given[p["name"]]) != p.get("type", "string")]
        if not missing and not wrong:
            return None
        detail = (f"missing values for these params which have no default values: [{' '.join(missing)}]" if missing
                  else f"param types don't match the user-specified type: [{' '.join(wrong)}]")
        return ("TaskRunValidationFailed", f"[User error] invalid input params for task "
                f"{self.task.task_name or self.name}: {detail}")

    def _container(self, step: dict, i: int) -> str:
        return f"step-{step['name']}" if step.get("name") else f"step-unnamed-{i}"

    @staticmethod
    def _image_id(step: dict) -> str:
        image = str(step.get("image", ""))
        digest = image.split("@", 1)[1] if "@" in image else "sha256:" + hashlib.sha256(image.encode()).hexdigest()
        return f"{image.split('@')[0].rsplit(':', 1)[0]}@{digest}"

    def _create_pod(self, variables: dict) -> tuple[str, str] | None:
        account = self.service_account
        if account != "default" and self.kube.get("serviceaccounts", account, self.namespace) is None:
            ref = (self.pt.get("taskRef") or {}).get("name", "")
            maybe = (f"missing or invalid Task {self.namespace}/{ref}" if "taskRef" in self.pt else "invalid TaskSpec")
            return ("PodCreationFailed", f'failed to create task run pod "{self.name}": pods "{self.pod}" is '
                    f"forbidden: error looking up service account {self.namespace}/{account}: serviceaccount "
                    f'"{account}" not found. Maybe {maybe}')
        containers = []
        volumes = [{"name": "tekton-internal-workspace", "emptyDir": {}},
                   {"name": "tekton-internal-home", "emptyDir": {}},
                   {"name": "tekton-internal-results", "emptyDir": {}},
                   {"name": "tekton-internal-steps", "emptyDir": {}},
                   {"name": "tekton-internal-scripts", "emptyDir": {}},
                   {"name": "tekton-internal-bin", "emptyDir": {}}]
        mounts = []
        for ws in self.spec.get("workspaces") or []:
            binding = None
            for entry in self.pt.get("workspaces") or []:
                if entry.get("name") == ws["name"]:
                    binding = self.run_.bindings.get(entry.get("workspace", entry["name"]))
            if binding is None:
                continue
            volume = f"ws-{hashlib.sha256((self.name + ws['name']).encode()).hexdigest()[:5]}"
            if binding.get("_claim"):
                volumes.append({"name": volume, "persistentVolumeClaim": {"claimName": binding["_claim"]}})
            elif "secret" in binding:
                volumes.append({"name": volume, "secret": copy.deepcopy(binding["secret"])})
            elif "configMap" in binding:
                volumes.append({"name": volume, "configMap": copy.deepcopy(binding["configMap"])})
            elif "persistentVolumeClaim" in binding:
                volumes.append({"name": volume, "persistentVolumeClaim": copy.deepcopy(
                    binding["persistentVolumeClaim"])})
            else:
                volumes.append({"name": volume, "emptyDir": copy.deepcopy(binding.get("emptyDir") or {})})
            mounts.append({"name": volume, "mountPath": ws.get("mountPath") or f"/workspace/{ws['name']}"})
        for i, step in enumerate(_substitute(copy.deepcopy(self.steps), variables)):
            container = {"name": self._container(step, i), "image": step.get("image", ""),
                         "command": ["/tekton/bin/entrypoint"],
                         "args": ["-post_file", f"/tekton/run/{i}/out", "-termination_path",
                                  "/tekton/termination", "-step_metadata_dir", f"/tekton/run/{i}/status",
                                  "-entrypoint", (step.get("command") or ["/tekton/scripts/script-" + str(i)])[0],
                                  "--", *[str(a) for a in (step.get("command") or [])[1:] + (step.get("args") or [])]],
                         "terminationMessagePath": "/tekton/termination",
                         "terminationMessagePolicy": "File", "volumeMounts": list(mounts)}
            if i:
                container["args"][:0] = ["-wait_file", f"/tekton/run/{i - 1}/out"]
            for key in ("env", "workingDir", "securityContext", "computeResources", "envFrom"):
                if step.get(key):
                    container["resources" if key == "computeResources" else key] = step[key]
            containers.append(container)
        init = [{"name": "prepare", "image": ENTRYPOINT_IMAGE, "command": ["/ko-app/entrypoint", "init"]},
                {"name": "place-scripts", "image": ENTRYPOINT_IMAGE, "command": ["sh"]}]
        pod_spec = {"restartPolicy": "Never", "serviceAccountName": account, "initContainers": init,
                    "containers": containers, "volumes": volumes + copy.deepcopy(self.pod_template.get("volumes")
                                                                                 or []),
                    "enableServiceLinks": False}
        for key in ("securityContext", "nodeSelector", "tolerations", "affinity", "imagePullSecrets",
                    "priorityClassName", "hostNetwork", "runtimeClassName"):
            if key in self.pod_template:
                pod_spec[key] = copy.deepcopy(self.pod_template[key])
        labels = {**self._labels(), "tekton.dev/taskRun": self.name, "tekton.dev/taskRunUID": self.uid,
                  "app.kubernetes.io/managed-by": "tekton-pipelines"}
        self.kube.create({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": self.pod, "namespace": self.namespace, "labels": labels,
                         "annotations": {"pipeline.tekton.dev/release": RELEASE,
                                         "tekton.dev/ready": "READY"},
                         "ownerReferences": [{"apiVersion": API_VERSION, "kind": "TaskRun", "name": self.name,
                                              "uid": self.uid, "controller": True, "blockOwnerDeletion": True}]},
            "spec": pod_spec,
        }, manager=CONTROLLER)
        for c in init:
            self.kube.set_container_state(self.pod, c["name"], "waiting", self.namespace, reason="PodInitializing")
        for c in containers:
            self.kube.set_container_state(self.pod, c["name"], "waiting", self.namespace, reason="PodInitializing")
        return None

    def _missing_volume(self) -> str | None:
        pod = self.kube.get("pods", self.pod, self.namespace) or {}
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            for kind, resource, key in (("secret", "secrets", "secretName"), ("configMap", "configmaps", "name")):
                source = volume.get(kind)
                if source and not source.get("optional") and self.kube.get(resource, source.get(key, ""),
                                                                            self.namespace) is None:
                    what = "secret" if kind == "secret" else "configmap"
                    return (f'MountVolume.SetUp failed for volume "{volume["name"]}" : {what} '
                            f'"{source.get(key, "")}" not found')
        return None

    def _mount_volumes(self) -> bool:
        """The kubelet: wait while a Secret/ConfigMap volume's object is missing (one FailedMount Event)."""
        evented = False
        while True:
            problem = self._missing_volume()
            if problem is None:
                return True
            if not evented:
                evented = True
                self._event("FailedMount", problem)
            if self._stopped():
                return False
            with self.run_.cond:
                self.run_.cond.wait(0.1)

    def _event(self, reason: str, message: str) -> None:
        try:
            self.kube.create({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": f"{self.pod}.{hashlib.sha256(message.encode()).hexdigest()[:16]}",
                             "namespace": self.namespace},
                "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": self.pod, "namespace": self.namespace},
                "reason": reason, "message": message, "type": "Warning", "count": 1,
                "source": {"component": "kubelet"}, "firstTimestamp": _now(), "lastTimestamp": _now(),
            }, manager="kubelet")
        except ApiError:
            pass

    def _env_problem(self) -> str | None:
        for step in self.steps:
            for env in step.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    secret = self.kube.get("secrets", ref.get("name", ""), self.namespace)
                    if secret is None:
                        return f'secret "{ref.get("name", "")}" not found'
                    if ref.get("key") not in (secret.get("data") or {}):
                        return f"couldn't find key {ref.get('key')} in Secret {self.namespace}/{ref.get('name')}"
        return None

    def _env(self, step: dict) -> dict[str, str]:
        out = {}
        for env in step.get("env") or []:
            if "value" in env:
                out[env["name"]] = str(env["value"])
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                secret = self.kube.get("secrets", ref.get("name", ""), self.namespace) or {}
                data = (secret.get("data") or {}).get(ref.get("key"))
                if data is not None:
                    out[env["name"]] = base64.b64decode(data).decode(errors="replace")
        return out

    def _workspaces(self) -> dict[str, Path]:
        out = {}
        for ws in self.spec.get("workspaces") or []:
            binding = self._binding(ws["name"])
            if binding is None:
                continue
            directory = self.run_.workspace_dirs[binding["name"]]
            for kind, resource, key in (("secret", "secrets", "secretName"), ("configMap", "configmaps", "name")):
                source = binding.get(kind)
                if source:
                    obj = self.kube.get(resource, source.get(key, ""), self.namespace) or {}
                    items = {i["key"]: i["path"] for i in source.get("items") or []}
                    for name, value in (obj.get("data") or {}).items():
                        if items and name not in items:
                            continue
                        target = directory / items.get(name, name)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(base64.b64decode(value) if kind == "secret" else str(value).encode())
            out[ws["name"]] = directory
        return out

    def _stopped(self) -> bool:
        return self.task.cancelled.is_set() or self.run_.stop.is_set() or self.run_.tekton._closed

    def _sleep(self, seconds: float) -> None:
        if self.task.cancelled.wait(max(seconds, 0)):
            raise _Cancelled
        if self.run_.stop.is_set() or self.run_.tekton._closed:
            raise _Cancelled

    # ------------------------------------------------------------ steps
    def _run_steps(self, params: dict, variables: dict) -> None:
        task = self.task
        results: dict[str, Any] = {}
        declared = [r["name"] for r in self.spec.get("results") or []]
        failed_at = None
        results_dir = self.run_.tekton._dir / self.run_.uid / "results" / self.name
        results_dir.mkdir(parents=True, exist_ok=True)
        try:
            for i, step in enumerate(self.steps):
                container = self._container(step, i)
                step_name = step.get("name") or f"unnamed-{i}"
                if failed_at is not None:
                    self.kube.append_log(self.pod, container, f"{time.strftime('%Y/%m/%d %H:%M:%S')} Skipping step "
                                         "because a previous step failed", namespace=self.namespace)
                    self._end_step(i, container, 1, None, {}, skipped=True)
                    continue
                script = self.run_.tekton.script_for(task.name, step_name, i)
                exit_code, reason, written = self._play(script, i, step, container, params, variables, results_dir,
                                                        last=i == len(self.steps) - 1, declared=declared,
                                                        so_far=results)
                results.update(written)
                self._end_step(i, container, exit_code, reason, written)
                if exit_code != 0:
                    failed_at = i
        except _Cancelled:
            self._cancelled_or_timed_out()
            return
        if self._stopped():
            self._cancelled_or_timed_out()
            return
        self.status["completionTime"] = _now()
        if failed_at is not None:
            entry = self.status["steps"][failed_at]["terminated"]
            container = self._container(self.steps[failed_at], failed_at)
            oom = entry.get("reason") == "OOMKilled"
            self._condition("False", "StepOOM" if oom else "StepFailed",
                            f'"{container}" exited with code {entry["exitCode"]}'
                            + (f": {entry['reason']}" if entry.get("reason") else ""))
            task.state = "failed"
        else:
            self._condition("True", "Succeeded", "All Steps have completed executing")
            task.state = "succeeded"
        spec_results = {r["name"]: r for r in self.spec.get("results") or []}
        if failed_at is None:
            listed = [{"name": n, "type": spec_results.get(n, {}).get("type", _param_type(v)), "value": v}
                      for n, v in results.items() if n in spec_results]
            if listed:
                self.status["results"] = listed
            task.results = {r["name"]: r["value"] for r in listed}
        self._write()

    def _play(self, script: StepScript | None, i: int, step: dict, container: str, params: dict,
              variables: dict, results_dir: Path, *, last: bool, declared: list[str],
              so_far: dict) -> tuple[int, str | None, dict]:
        def log(line: str) -> None:
            self.kube.append_log(self.pod, container, line, namespace=self.namespace)

        delay = self.run_.tekton.line_delay
        if script is None:
            self._sleep(delay)
            log(f"{step.get('name') or container}: ok")
            written = {}
            if last:
                written = {n: _fake_result(self.task.name, n, self.run_.uid) for n in declared if n not in so_far}
            return 0, None, written
        for line in script.lines:
            wait, text = (line if isinstance(line, tuple) else (delay, line))
            self._sleep(wait)
            log(text)
        exit_code, written = script.exit_code, dict(script.results or {})
        if script.run is not None:
            context = StepContext(
                pipelinerun=self.run_.name, taskrun=self.name, namespace=self.namespace, task=self.task.name,
                step=step.get("name") or container, params=copy.deepcopy(params), workspaces=self._workspaces(),
                env=self._env(_substitute(copy.deepcopy(step), variables)), results_dir=results_dir, log=log)
            lines, code, produced = script.run(context)
            for line in lines or []:
                log(line)
            exit_code = code
            written.update(produced or {})
            for path in results_dir.iterdir():
                written.setdefault(path.name, path.read_text().rstrip("\n"))
        if script.hold is not None:
            while not script.hold.wait(0.05):
                self._sleep(0)
        self._sleep(0)
        return exit_code, script.reason, written

    def _end_step(self, i: int, container: str, exit_code: int, reason: str | None, results: dict,
                  skipped: bool = False) -> None:
        message = json.dumps([{"key": k, "value": v if isinstance(v, str) else json.dumps(v), "type": 1}
                              for k, v in results.items()]) if results else None
        pod = self.kube.set_container_state(self.pod, container, "terminated", self.namespace, exit_code=exit_code,
                                            reason=reason, message=message)
        state = next(s for s in pod["status"]["containerStatuses"] if s["name"] == container)["state"]
        entry = self.status["steps"][i]
        entry.pop("running", None)
        entry.pop("waiting", None)
        entry["terminated"] = {k: v for k, v in state["terminated"].items() if k != "message"}
        if message:
            entry["terminated"]["message"] = message
        entry["terminationReason"] = "Skipped" if skipped else state["terminated"]["reason"]
        entry["imageID"] = self._image_id(self.steps[i])
        if results:
            entry["results"] = [{"name": k, "type": _param_type(v), "value": v} for k, v in results.items()]
        self._write()

    def _terminate_steps(self, reason: str) -> None:
        for entry in self.status.get("steps") or []:
            if "terminated" in entry:
                continue
            started = (entry.get("running") or {}).get("startedAt") or self.status.get("startTime")
            entry.pop("running", None)
            entry.pop("waiting", None)
            entry["terminated"] = {"exitCode": 1, "reason": reason, "startedAt": started,
                                   "finishedAt": self.status["completionTime"],
                                   "message": f"Step {entry['name']} terminated as pod {self.pod} is terminated"}
            entry["terminationReason"] = reason

    def _delete_pod(self) -> None:
        try:
            self.kube.delete("pods", self.pod, self.namespace)
        except ApiError:
            pass

    def _cancelled_or_timed_out(self) -> None:
        if self.run_.stop.is_set() or self.run_.tekton._closed:
            return
        if not self.task.cancelled.is_set():
            self.task.cancelled.wait(5)
        message = f'TaskRun "{self.name}" was cancelled. {self.task.cancel_message}'
        self.status["completionTime"] = _now()
        self._condition("False", "TaskRunCancelled", message)
        self._terminate_steps("TaskRunCancelled")
        self._write()
        self._delete_pod()
        self.task.state = "cancelled"
