"""Per-app retention of build runs: keep each app's newest N PipelineRuns.

The Tekton operator's pruner counts runs per Pipeline, and every app builds with the one
``build-and-push`` Pipeline, so it cannot keep N runs per app (a busy app would push a quiet app's
only runs out). The platform therefore keeps ``platform.pipeline_runs_to_keep`` (N) runs per app
itself: :func:`prune_runs` deletes an app's finished PipelineRuns beyond its newest N (their
TaskRuns and Pods go with them by owner references). ``kubectl gitops build`` calls it after each
run; the operator's pruner stays as a backstop with N times the number of apps
(``core.values.chart_values``), which never removes a run the per-app rule keeps. Runs are an app's
by the label ``app.kubernetes.io/name`` that both ``build`` and the push Triggers set. A run that
has not finished is never deleted (nor counted against N).
"""

from __future__ import annotations

from typing import Any

CI_NAMESPACE = "ci"
PIPELINE_RUN = ("tekton.dev/v1", "PipelineRun")
APP_LABEL = "app.kubernetes.io/name"


def _finished(run: dict[str, Any]) -> bool:
    status = run.get("status") or {}
    if status.get("completionTime"):
        return True
    succeeded = next((c for c in status.get("conditions") or [] if c.get("type") == "Succeeded"), None)
    return succeeded is not None and succeeded.get("status") in ("True", "False")


def _started(run: dict[str, Any]) -> str:
    meta = run.get("metadata") or {}
    return ((run.get("status") or {}).get("startTime") or meta.get("creationTimestamp") or "") + meta.get("name", "")


def prune_runs(conn: Any, app: str, keep: int, *, namespace: str = CI_NAMESPACE) -> list[str]:
    """Delete ``app``'s finished PipelineRuns beyond its ``keep`` newest; returns the names deleted, oldest first.

    Args:
        conn: a ``kube.Kube`` on the management cluster.
        app: the application (label ``app.kubernetes.io/name``).
        keep: runs to keep (at least 1).
    """
    if keep < 1:
        raise ValueError("keep must be at least 1")
    runs = [r for r in conn.list(*PIPELINE_RUN, namespace, label_selector=f"{APP_LABEL}={app}") if _finished(r)]
    runs.sort(key=_started, reverse=True)  # newest first
    deleted = []
    for run in reversed(runs[keep:]):
        name = run["metadata"]["name"]
        if conn.delete(*PIPELINE_RUN, name, namespace):
            deleted.append(name)
    return deleted
