"""Writes into a GitOps repository, with real git, the layout bootstrap is to write there, for tests whose
Argo CD stand-in (:mod:`fakeargocd`) must find the user's repository as the product will leave it.

Under ``<path>`` of the branch (``gitops.path``, default ``platform``):

- ``README.md``;
- ``platform/chart/``: the umbrella chart (Chart.yaml with its pinned upstream dependencies,
  templates/, values.yaml, values.schema.json) and ``platform/values/{platform,tekton,gitops}.yaml``;
- ``apps/<app>/base/{kustomization,deployment,service}.yaml`` and ``apps/<app>/<env>/kustomization.yaml``,
  an overlay that renders nothing until a build writes an image digest (``resources: []``).

:func:`chart_source` is the gitops.yaml ``platform.chart_source`` that points the self-management
Applications at that chart, until bootstrap points them there itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parent.parent / "charts" / "gitops-platform"
PHASES = ("platform", "tekton", "gitops")
_IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com", "GIT_COMMITTER_NAME": "Test",
             "GIT_COMMITTER_EMAIL": "test@example.com"}


def git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, **_IDENTITY, "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env=env,
                          timeout=120).stdout.strip()


def chart_source(url: str, *, path: str = "platform", branch: str = "main") -> dict:
    return {"repo": url, "path": f"{path}/platform/chart", "revision": branch}


def configured(data: dict, url: str, *, manage_platform: bool = True) -> dict:
    """gitops.yaml data pointing at the GitOps repository ``url`` (and, with ``manage_platform``, the
    self-management Applications at the chart written there)."""
    data = dict(data)
    gitops = {**data["gitops"], "repo": url}
    data["gitops"] = gitops
    if manage_platform:
        data["platform"] = {**(data.get("platform") or {}), "chart_source": chart_source(
            url, path=gitops.get("path", "platform"), branch=gitops.get("branch", "main"))}
    return data


def write_layout(work: Path, *, path: str = "platform", apps: Iterable[str] = (),
                 environments: Iterable[str] = ("dev",), registry: str = "registry.example.com/team") -> None:
    base = work / path
    base.mkdir(parents=True, exist_ok=True)
    (base / "README.md").write_text("# GitOps repository\n\nWritten by kubectl gitops bootstrap.\n")
    chart = base / "platform" / "chart"
    shutil.rmtree(chart, ignore_errors=True)
    chart.mkdir(parents=True)
    for name in ("Chart.yaml", "values.yaml", "values.schema.json"):
        shutil.copy(CHART / name, chart / name)
    shutil.copytree(CHART / "templates", chart / "templates")
    values = base / "platform" / "values"
    values.mkdir(parents=True, exist_ok=True)
    for phase in PHASES:
        (values / f"{phase}.yaml").write_text(yaml.safe_dump({"phase": phase}))
    for app in apps:
        app_dir = base / "apps" / app
        (app_dir / "base").mkdir(parents=True, exist_ok=True)
        labels = {"app.kubernetes.io/name": app}
        (app_dir / "base" / "kustomization.yaml").write_text(yaml.safe_dump(
            {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
             "resources": ["deployment.yaml", "service.yaml"]}))
        (app_dir / "base" / "deployment.yaml").write_text(yaml.safe_dump({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": app, "image": f"{registry}/{app}",
                                                           "ports": [{"name": "http", "containerPort": 8080}]}]}}}}))
        (app_dir / "base" / "service.yaml").write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": app, "labels": labels},
            "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}))
        for env in environments:
            (app_dir / env).mkdir(exist_ok=True)
            (app_dir / env / "kustomization.yaml").write_text(yaml.safe_dump(
                {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": []}))


def seed(url: str, *, path: str = "platform", branch: str = "main", apps: Iterable[str] = (),
         environments: Iterable[str] = ("dev",)) -> str:
    """Clone ``url`` (push access needed), write the layout, commit and push to ``branch``; returns the commit."""
    with tempfile.TemporaryDirectory(prefix="gitops-seed-") as tmp:
        work = Path(tmp) / "work"
        git("clone", "-q", url, str(work))
        git("checkout", "-q", "-B", branch, cwd=work)
        write_layout(work, path=path, apps=apps, environments=environments)
        git("add", "-A", cwd=work)
        git("commit", "-q", "-m", "Platform and applications", cwd=work)
        git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=work)
        return git("rev-parse", "HEAD", cwd=work)
