"""`kubectl gitops build`, `builds` and `logs`: in-cluster image builds with Tekton.

``build`` creates a PipelineRun of the platform's build Pipeline for one app in the CI namespace,
with the parameters the chart renders for that app (ConfigMap ``ci/build-params``, the same the push
Triggers use), a per-run ``volumeClaimTemplate`` workspace, the registry push Secret, the git
credentials when bootstrap stored some, and the ServiceAccount and ``fsGroup`` the Pipeline's
annotations name. Then it follows the run with watches, never polling:

- one watch on the PipelineRun and one on its TaskRuns: each task is reported started, finished
  (with its duration) or failed;
- with ``follow``, for each TaskRun's Pod one watch until a step's container has started, then that
  step's log with ``follow=true``: every line goes to the ``on_log`` callback, prefixed with task and
  step, as it is written.

Succeeded: the Pipeline's results name the image digest and the GitOps commit its last task pushed
(the digest written into dev's release file); unless ``deploy`` is off, the build then waits until
dev's Application is Synced at that commit and Healthy, running that digest. Failed: the failed
task and step with Tekton's reason, and the last lines of that step's log. Out of time: the run is
cancelled (``spec.status: Cancelled``).
"""

from __future__ import annotations

import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..adapters import config_file, kube
from ..core.config import Config
from ..core.errors import GitopsError, KubeError, UsageError
from ..core.progress import Reporter
from ..core.readiness import ObjectRef

CI_NAMESPACE = "ci"
ARGOCD_NAMESPACE = "argocd"
PIPELINE = "build-and-push"
PARAMS_CONFIGMAP = "build-params"
PUSH_SECRET = "registry-push"
TEKTON = "tekton.dev/v1"
APP_LABEL = "app.kubernetes.io/name"  # the Triggers label their runs the same way
COMMIT_LABEL = "gitops.kubectl.dev/commit"
TRIGGER_LABEL = "gitops.kubectl.dev/trigger"
PART_OF = "app.kubernetes.io/part-of"
LOG_TAIL = 20
_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class BuildOptions:
    """What to build and how.

    Attributes:
        app: the application (gitops.yaml ``applications``).
        revision: branch, tag or commit to build (default: the app's ``revision``).
        follow: stream every step's log to ``on_log`` as it runs.
        wait: follow the run to its end (False: create it and return).
        deploy: after a successful build, wait until dev runs what was built.
        timeout: seconds the build (and the deploy wait) may take; then the run is cancelled.
        on_log: receives each log line, prefixed ``[task/step] `` (the CLI prints it on stdout).
        on_started: called with the run's name once it exists (the CLI uses it for Ctrl-C).
    """

    app: str
    config: str = "gitops.yaml"
    kubeconfig: str | None = None
    context: str | None = None
    revision: str | None = None
    follow: bool = False
    wait: bool = True
    deploy: bool = True
    timeout: float = 1800.0
    on_log: Callable[[str], None] | None = None
    on_started: Callable[[str], None] | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass(frozen=True)
class TaskReport:
    name: str
    status: str  # Succeeded | Failed | Cancelled | Running | Pending | Skipped
    started: str | None = None
    finished: str | None = None
    seconds: float | None = None
    reason: str = ""
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "started": self.started, "finished": self.finished,
                "seconds": self.seconds, "reason": self.reason or None, "message": self.message or None}


@dataclass(frozen=True)
class BuildResult:
    run: str
    app: str
    status: str
    image: str = ""
    digest: str = ""
    commit: str = ""  # the app's commit that was built
    gitops_commit: str = ""  # the GitOps repository's commit with the digest in dev's release file
    tasks: tuple[TaskReport, ...] = ()
    seconds: float | None = None
    deployed: bool = False

    @property
    def reference(self) -> str:
        return f"{self.image}@{self.digest}" if self.image and self.digest else ""

    def as_dict(self) -> dict[str, Any]:
        return {"run": self.run, "app": self.app, "status": self.status, "image": self.image or None,
                "digest": self.digest or None, "reference": self.reference or None, "commit": self.commit or None,
                "gitopsCommit": self.gitops_commit or None, "seconds": self.seconds, "deployed": self.deployed,
                "tasks": [t.as_dict() for t in self.tasks]}


class BuildFailed(GitopsError):
    """The run failed; ``log_tail`` holds the last lines of the failed step's log."""

    def __init__(self, message: str, *, log_tail: tuple[str, ...] = (), hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.log_tail = log_tail


# ---------------------------------------------------------------- small readers of Tekton status

def _condition(obj: Mapping[str, Any]) -> dict[str, Any]:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Succeeded":
            return c
    return {}


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None


def _seconds(start: str | None, end: str | None) -> float | None:
    a, b = _parse(start), _parse(end)
    return round((b - a).total_seconds(), 1) if a and b else None


def run_state(obj: Mapping[str, Any]) -> str:
    """Succeeded, Failed, Cancelled, TimedOut, Running or Pending, from a PipelineRun's or TaskRun's condition."""
    cond = _condition(obj)
    status, reason = cond.get("status"), cond.get("reason") or ""
    if status == "True":
        return "Succeeded"
    if status == "False":
        if "Cancel" in reason:
            return "Cancelled"
        if "Timeout" in reason or "TimedOut" in reason:
            return "TimedOut"
        return "Failed"
    if (obj.get("status") or {}).get("startTime"):
        return "Running"
    return "Pending"


def _results(obj: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for r in (obj.get("status") or {}).get("results") or []:
        value = r.get("value")
        out[r.get("name")] = value if isinstance(value, str) else str(value)
    return out


def _task_name(taskrun: Mapping[str, Any]) -> str:
    labels = (taskrun.get("metadata") or {}).get("labels") or {}
    return labels.get("tekton.dev/pipelineTask") or taskrun["metadata"]["name"]


def _report(taskrun: Mapping[str, Any]) -> TaskReport:
    status = taskrun.get("status") or {}
    cond = _condition(taskrun)
    return TaskReport(name=_task_name(taskrun), status=run_state(taskrun), started=status.get("startTime"),
                      finished=status.get("completionTime"),
                      seconds=_seconds(status.get("startTime"), status.get("completionTime")),
                      reason=cond.get("reason") or "", message=cond.get("message") or "")


def _steps(taskrun: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(step name, container name) in order: from the TaskRun's status.steps, else its resolved spec."""
    status = taskrun.get("status") or {}
    steps = status.get("steps") or []
    if steps:
        return [(s.get("name", ""), s.get("container") or f"step-{s.get('name', '')}") for s in steps]
    spec = status.get("taskSpec") or (taskrun.get("spec") or {}).get("taskSpec") or {}
    return [(s.get("name", ""), f"step-{s.get('name', '')}") for s in spec.get("steps") or []]


# ---------------------------------------------------------------- starting a run

def _load(opts: BuildOptions) -> tuple[Config, Any]:
    config = config_file.load(opts.config)
    names = [a.name for a in config.applications]
    if opts.app not in names:
        raise UsageError(f"no application {opts.app!r} in {config.source} (applications: {', '.join(names) or 'none'})")
    return config, config.application(opts.app)


def _params(conn: Any, app: str) -> dict[str, str]:
    import json

    configmap = conn.get("v1", "ConfigMap", PARAMS_CONFIGMAP, CI_NAMESPACE)
    if configmap is None:
        raise GitopsError(f"ConfigMap {CI_NAMESPACE}/{PARAMS_CONFIGMAP} not found: the build pipeline is not installed "
                          f"on context {conn.context}", hint="run `kubectl gitops bootstrap` first")
    raw = (configmap.get("data") or {}).get(f"{app}.json")
    if raw is None:
        raise GitopsError(f"the platform has no build parameters for {app}",
                          hint="re-run `kubectl gitops bootstrap` after adding the app to gitops.yaml")
    try:
        data = json.loads(raw)
    except ValueError:
        raise GitopsError(f"{CI_NAMESPACE}/{PARAMS_CONFIGMAP} holds no valid parameters for {app}",
                          hint="re-run `kubectl gitops bootstrap`") from None
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


def pipeline_run(config: Config, app: str, pipeline: Mapping[str, Any], params: Mapping[str, str], *,
                 revision: str | None = None, user: str = "") -> dict[str, Any]:
    """The PipelineRun of one build of ``app`` (pure: the Pipeline as the cluster has it, the app's params)."""
    meta = pipeline.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    spec = pipeline.get("spec") or {}
    values = dict(params)
    if revision:
        values["git-revision"] = revision
    declared = {p["name"] for p in spec.get("params") or []}
    run_params = [{"name": k, "value": v} for k, v in values.items() if k in declared]
    git_secret = annotations.get("gitops.kubectl.dev/git-credentials-secret")
    workspaces = []
    for ws in spec.get("workspaces") or []:
        name = ws["name"]
        if name == "source":
            workspaces.append({"name": name, "volumeClaimTemplate": {"spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}})
        elif name == "dockerconfig":
            workspaces.append({"name": name, "secret": {"secretName": PUSH_SECRET, "items": [
                {"key": ".dockerconfigjson", "path": "config.json"}]}})
        elif git_secret and ("auth" in name or "git" in name or "credentials" in name):
            workspaces.append({"name": name, "secret": {"secretName": git_secret}})
        elif not ws.get("optional"):
            raise GitopsError(f"Pipeline {meta.get('name')} needs workspace {name}, which kubectl gitops build does "
                              "not know how to bind", hint="re-run `kubectl gitops bootstrap` with this version")
    labels = {APP_LABEL: app, PART_OF: config.name, TRIGGER_LABEL: "cli"}  # push-triggered runs have no trigger label
    if revision and _SHA.match(revision):
        labels[COMMIT_LABEL] = revision
    template: dict[str, Any] = {}
    account = annotations.get("gitops.kubectl.dev/run-service-account")
    if account:
        template["serviceAccountName"] = account
    fs_group = annotations.get("gitops.kubectl.dev/run-fs-group")
    if fs_group:
        template["podTemplate"] = {"securityContext": {"fsGroup": int(fs_group)}}
    run: dict[str, Any] = {
        "apiVersion": TEKTON, "kind": "PipelineRun",
        "metadata": {"generateName": f"{app}-build-", "namespace": CI_NAMESPACE, "labels": labels,
                     "annotations": {"gitops.kubectl.dev/requested-by": user} if user else {}},
        "spec": {"pipelineRef": {"name": meta.get("name", PIPELINE)}, "params": run_params,
                 "workspaces": workspaces},
    }
    if template:
        run["spec"]["taskRunTemplate"] = template
    return run


def start(opts: BuildOptions, reporter: Reporter) -> tuple[Config, Any, dict[str, Any]]:
    """Create the PipelineRun; returns (config, connection, the run as created)."""
    config, app = _load(opts)
    conn = kube.connect(kubeconfig=opts.kubeconfig, context=opts.context)
    pipeline = conn.get(TEKTON, "Pipeline", PIPELINE, CI_NAMESPACE)
    if pipeline is None:
        raise GitopsError(f"Pipeline {CI_NAMESPACE}/{PIPELINE} not found on context {conn.context}",
                          hint="run `kubectl gitops bootstrap` first")
    from .registry_secret import check_push_credentials

    warning = check_push_credentials(conn, config)  # over its tier, missing or expired: one line, no run
    if warning:
        reporter.warning(warning)
    user = opts.environ.get("USER", "")
    run = conn.create(pipeline_run(config, app.name, pipeline, _params(conn, app.name), revision=opts.revision,
                                   user=user))
    name = run["metadata"]["name"]
    revision = opts.revision or app.revision
    reporter.created(f"PipelineRun {CI_NAMESPACE}/{name}: building {app.name} at {revision}")
    if opts.on_started:
        opts.on_started(name)
    return config, conn, run


def cancel(conn: Any, run: str) -> None:
    """Cancel a run (Tekton stops its running tasks)."""
    conn.patch(TEKTON, "PipelineRun", run, CI_NAMESPACE, patch={"spec": {"status": "Cancelled"}})


# ---------------------------------------------------------------- following a run

class _Follower:
    """Streams the step logs of one TaskRun's Pod, step after step, to ``emit``."""

    def __init__(self, conn: Any, task: str, pod: str, steps: list[tuple[str, str]], emit: Callable[[str], None],
                 deadline: float) -> None:
        self.conn, self.task, self.pod, self.steps, self.emit, self.deadline = conn, task, pod, steps, emit, deadline
        self.thread = threading.Thread(target=self._run, name=f"logs-{pod}", daemon=True)

    def _started(self, container: str) -> bool:
        """Wait (watching the Pod) until ``container`` has started or the Pod is gone; False when it never will."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            return False
        for kind, pod in self.conn.watch("v1", "Pod", CI_NAMESPACE, field_selector=f"metadata.name={self.pod}",
                                         timeout=min(left, 3600.0)):
            if kind == "DELETED":
                return False
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                if status.get("name") == container:
                    state = status.get("state") or {}
                    if "running" in state or "terminated" in state:
                        return True
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                return False
        return False

    def _run(self) -> None:
        for step, container in self.steps:
            try:
                if not self._started(container):
                    continue
                for line in self.conn.logs(CI_NAMESPACE, self.pod, container, follow=True,
                                           timeout=max(1.0, self.deadline - time.monotonic())):
                    self.emit(f"[{self.task}/{step}] {line}")
            except GitopsError:
                continue  # the pod went away (cancelled, pruned): nothing more to show

    def start(self) -> _Follower:
        self.thread.start()
        return self


def _events(conn: Any, run: str, deadline: float) -> Iterator[tuple[str, dict]]:
    """PipelineRun and TaskRun events of ``run``, from two watches, as one stream; ("tick", {}) every second."""
    events: queue.Queue = queue.Queue()
    stop = threading.Event()

    def pump(kind: str, **selectors: str) -> None:
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                left = max(1.0, deadline - time.monotonic())
                for _, obj in conn.watch(TEKTON, kind, CI_NAMESPACE, timeout=min(300.0, left), **selectors):
                    events.put((kind, obj))
                    if stop.is_set():
                        return
        except GitopsError as exc:
            events.put(("error", {"error": exc}))

    threads = [
        threading.Thread(target=pump, args=("PipelineRun",), kwargs={"field_selector": f"metadata.name={run}"},
                         daemon=True),
        threading.Thread(target=pump, args=("TaskRun",), kwargs={"label_selector": f"tekton.dev/pipelineRun={run}"},
                         daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        while True:
            try:
                yield events.get(timeout=1.0)
            except queue.Empty:
                yield "tick", {}
    finally:
        stop.set()


def follow(conn: Any, run: str, app: str, *, image: str, reporter: Reporter, deadline: float,
           on_log: Callable[[str], None] | None = None) -> BuildResult:
    """Follow ``run`` to its end (see the module docstring).

    Raises:
        BuildFailed: the run failed or was cancelled (failed task and step, Tekton's reason, log tail).
        GitopsError: out of time (the run is cancelled first).
    """
    lock = threading.Lock()
    emit = None
    if on_log is not None:
        def emit(line: str) -> None:
            with lock:
                on_log(line)
    seen: dict[str, str] = {}
    followers: dict[str, _Follower] = {}
    final = None
    for kind, obj in _events(conn, run, deadline):
        if kind == "error":
            raise obj["error"]
        if kind == "TaskRun":
            name = obj["metadata"]["name"]
            report = _report(obj)
            before = seen.get(name)
            if report.status != before:
                seen[name] = report.status
                if report.status == "Running" and before in (None, "Pending"):
                    reporter.action(f"task {report.name} started")
                elif report.status == "Succeeded":
                    reporter.success(f"task {report.name} finished in {report.seconds or 0:g}s")
                elif report.status in ("Failed", "Cancelled", "TimedOut"):
                    reporter.failure(f"task {report.name} {report.status.lower()}: {report.reason}"
                                     + (f": {report.message}" if report.message else ""))
            pod = (obj.get("status") or {}).get("podName")
            if emit is not None and pod and name not in followers:
                followers[name] = _Follower(conn, report.name, pod, _steps(obj), emit, deadline).start()
        elif kind == "PipelineRun":
            if run_state(obj) in ("Succeeded", "Failed", "Cancelled", "TimedOut"):
                final = obj
                break
        if time.monotonic() > deadline:
            cancel(conn, run)
            raise GitopsError(f"the build of {app} did not finish in time: run {run} cancelled",
                              hint="raise --timeout, or follow a long build with `kubectl gitops logs "
                                   f"{run} -f` after --no-wait")
    if final is None:  # pragma: no cover - the event stream only ends by a break
        raise GitopsError(f"lost track of run {run}")
    for follower in followers.values():  # the last lines of the last steps
        follower.thread.join(timeout=10)
    taskruns = sorted(conn.list(TEKTON, "TaskRun", CI_NAMESPACE, label_selector=f"tekton.dev/pipelineRun={run}"),
                      key=lambda t: (t.get("status") or {}).get("startTime") or "")
    tasks = tuple(_report(t) for t in taskruns)
    status = final.get("status") or {}
    seconds = _seconds(status.get("startTime"), status.get("completionTime"))
    state = run_state(final)
    if state != "Succeeded":
        raise _failure(conn, run, app, final, taskruns, reporter)
    results = _results(final)
    digest = results.get("IMAGE_DIGEST", "")
    return BuildResult(run=run, app=app, status=state, image=image, digest=digest, commit=results.get("COMMIT", ""),
                       gitops_commit=results.get("GITOPS_COMMIT", ""), tasks=tasks, seconds=seconds)


def _failure(conn: Any, run: str, app: str, final: dict, taskruns: list[dict], reporter: Reporter) -> BuildFailed:
    cond = _condition(final)
    state = run_state(final)
    failed = next((t for t in taskruns if run_state(t) in ("Failed", "TimedOut")), None)
    if failed is None:
        what = "was cancelled" if state == "Cancelled" else f"failed: {cond.get('reason')}: {cond.get('message')}"
        return BuildFailed(f"the build of {app} {what} (run {run})")
    task = _task_name(failed)
    step_name, container, step_reason = "", "", ""
    for step in (failed.get("status") or {}).get("steps") or []:
        terminated = step.get("terminated") or {}
        if terminated and terminated.get("exitCode", 0) != 0:
            step_name = step.get("name", "")
            container = step.get("container") or f"step-{step_name}"
            step_reason = f"{terminated.get('reason', 'Error')}, exit code {terminated.get('exitCode')}"
            break
    tf = _condition(failed)
    tail: tuple[str, ...] = ()
    pod = (failed.get("status") or {}).get("podName")
    if pod and container:
        try:
            tail = tuple(conn.logs(CI_NAMESPACE, pod, container, tail_lines=LOG_TAIL))
        except GitopsError:
            tail = ()
    if tail:
        reporter.failure(f"last lines of {task}/{step_name}:")
        for line in tail:
            reporter.failure(f"  {line}")
    where = f"task {task}" + (f", step {step_name}" if step_name else "")
    detail = f"{tf.get('reason') or 'Failed'}: {tf.get('message') or step_reason}"
    if step_reason and step_reason not in detail:
        detail += f" ({step_reason})"
    return BuildFailed(f"the build of {app} failed in {where}: {detail} (run {run})", log_tail=tail,
                       hint=f"full log: kubectl gitops logs {run}")


# ---------------------------------------------------------------- dev deploys it

def wait_deployed(conn: Any, app: str, result: BuildResult, *, deadline: float, reporter: Reporter) -> None:
    """Wait until dev's Application is Synced at the GitOps commit the build pushed, Healthy, running its digest."""
    name = f"{app}-dev"[:63].rstrip("-")
    if not result.gitops_commit:
        raise GitopsError(f"run {result.run} reported no GitOps commit: dev was not told about the build",
                          hint="re-run `kubectl gitops bootstrap` to update the build pipeline")
    if conn.get("argoproj.io/v1alpha1", "Application", name, ARGOCD_NAMESPACE) is None:
        raise GitopsError(f"Application {ARGOCD_NAMESPACE}/{name} not found", hint="run `kubectl gitops bootstrap`")
    # Argo CD polls every few minutes: have it look at the build's commit now
    conn.patch("argoproj.io/v1alpha1", "Application", name, ARGOCD_NAMESPACE,
               patch={"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}})
    ref = ObjectRef("argoproj.io/v1alpha1", "Application", name, ARGOCD_NAMESPACE,
                    expected_revision=result.gitops_commit)
    conn.wait([ref], timeout=max(1.0, deadline - time.monotonic()), reporter=reporter,
              what=f"dev deploying {result.digest[:19]}")
    app_obj = conn.get("argoproj.io/v1alpha1", "Application", name, ARGOCD_NAMESPACE) or {}
    images = ((app_obj.get("status") or {}).get("summary") or {}).get("images") or []
    if result.reference not in images:
        raise GitopsError(f"dev is Synced at {result.gitops_commit[:12]} but runs {', '.join(images) or 'nothing'}, "
                          f"not {result.reference}", hint="see `kubectl gitops status`")
    reporter.success(f"dev runs {result.reference} (Synced at {result.gitops_commit[:12]}, Healthy)")


def run(opts: BuildOptions, *, reporter: Reporter | None = None) -> BuildResult:
    """Build ``opts.app`` in the cluster; see the module docstring."""
    from dataclasses import replace

    from ..core import gitrepo

    reporter = reporter or Reporter()
    deadline = time.monotonic() + opts.timeout
    config, conn, created = start(opts, reporter)
    name = created["metadata"]["name"]
    image = gitrepo.image_name(config, config.application(opts.app))
    if not opts.wait:
        return BuildResult(run=name, app=opts.app, status="Pending", image=image)
    result = follow(conn, name, opts.app, image=image, reporter=reporter, deadline=deadline, on_log=opts.on_log)
    if result.commit and _SHA.match(result.commit):
        try:
            conn.patch(TEKTON, "PipelineRun", name, CI_NAMESPACE,
                       patch={"metadata": {"labels": {COMMIT_LABEL: result.commit}}})
        except KubeError:
            pass  # the label only helps `builds` list the commit
    reporter.success(f"built {result.reference} from {result.commit[:12] or '?'} in {result.seconds or 0:g}s")
    from .prune import prune_runs

    pruned = prune_runs(conn, opts.app, max(1, config.pipeline_runs_to_keep))
    if pruned:
        reporter.detail(f"pruned {len(pruned)} old run{'s' * (len(pruned) != 1)} of {opts.app}")
    if opts.deploy:
        wait_deployed(conn, opts.app, result, deadline=deadline, reporter=reporter)
        result = replace(result, deployed=True)
    return result


# ---------------------------------------------------------------- builds and logs

@dataclass(frozen=True)
class RunSummary:
    run: str
    app: str
    commit: str
    status: str
    started: str | None
    seconds: float | None
    digest: str
    trigger: str

    def as_dict(self) -> dict[str, Any]:
        return {"run": self.run, "app": self.app, "commit": self.commit or None, "status": self.status,
                "started": self.started, "seconds": self.seconds, "digest": self.digest or None,
                "trigger": self.trigger or None}


def list_runs(*, kubeconfig: str | None, context: str | None, app: str | None = None) -> list[RunSummary]:
    """Build runs in the CI namespace (of ``app``), newest first."""
    conn = kube.connect(kubeconfig=kubeconfig, context=context)
    selector = f"{APP_LABEL}={app}" if app else APP_LABEL
    runs = conn.list(TEKTON, "PipelineRun", CI_NAMESPACE, label_selector=selector)
    out = []
    for r in runs:
        labels = (r.get("metadata") or {}).get("labels") or {}
        status = r.get("status") or {}
        results = _results(r)
        end = status.get("completionTime") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(RunSummary(run=r["metadata"]["name"], app=labels.get(APP_LABEL, ""),
                              commit=results.get("COMMIT") or labels.get(COMMIT_LABEL, ""), status=run_state(r),
                              started=status.get("startTime") or r["metadata"].get("creationTimestamp"),
                              seconds=_seconds(status.get("startTime"), end) if status.get("startTime") else None,
                              digest=results.get("IMAGE_DIGEST", ""), trigger=labels.get(TRIGGER_LABEL, "")))
    return sorted(out, key=lambda s: s.started or "", reverse=True)


def logs(target: str, *, kubeconfig: str | None, context: str | None, follow_run: bool, emit: Callable[[str], None],
         reporter: Reporter | None = None, timeout: float = 3600.0) -> str:
    """Print (through ``emit``) the logs of run ``target``, or of the newest run of app ``target``; returns the run.

    Raises:
        GitopsError: no such run or app has no runs.
    """
    reporter = reporter or Reporter()
    conn = kube.connect(kubeconfig=kubeconfig, context=context)
    run_obj = conn.get(TEKTON, "PipelineRun", target, CI_NAMESPACE)
    if run_obj is None:
        runs = conn.list(TEKTON, "PipelineRun", CI_NAMESPACE, label_selector=f"{APP_LABEL}={target}")
        if not runs:
            raise GitopsError(f"no build run or app named {target} in namespace {CI_NAMESPACE}",
                              hint="list them with `kubectl gitops builds`")
        run_obj = max(runs, key=lambda r: r["metadata"].get("creationTimestamp") or "")
    name = run_obj["metadata"]["name"]
    deadline = time.monotonic() + timeout
    if follow_run and run_state(run_obj) in ("Pending", "Running"):
        app = ((run_obj.get("metadata") or {}).get("labels") or {}).get(APP_LABEL, "")
        try:
            follow(conn, name, app, image="", reporter=reporter, deadline=deadline, on_log=emit)
        except BuildFailed:
            pass  # the logs were shown; the run's state is for `builds`
        return name
    taskruns = sorted(conn.list(TEKTON, "TaskRun", CI_NAMESPACE, label_selector=f"tekton.dev/pipelineRun={name}"),
                      key=lambda t: (t.get("status") or {}).get("startTime") or "")
    for taskrun in taskruns:
        pod = (taskrun.get("status") or {}).get("podName")
        if not pod:
            continue
        for step, container in _steps(taskrun):
            try:
                for line in conn.logs(CI_NAMESPACE, pod, container):
                    emit(f"[{_task_name(taskrun)}/{step}] {line}")
            except GitopsError as exc:
                reporter.warning(f"{_task_name(taskrun)}/{step}: {exc.message}")
    return name
