"""A GitOps repository holding what bootstrap writes there, for tests that install the platform's
releases without bootstrap (helm directly) but whose Argo CD stand-in (:mod:`fakeargocd`) must find
the user's repository as bootstrap leaves it. The layout is written by the product's own repository
phase (:mod:`kubectl_gitops.workflows.repository`), with real git."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from kubectl_gitops.adapters import config_file
from kubectl_gitops.core import values
from kubectl_gitops.core.progress import Reporter
from kubectl_gitops.core.resources import chart_dir
from kubectl_gitops.workflows import repository

_IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com", "GIT_COMMITTER_NAME": "Test",
             "GIT_COMMITTER_EMAIL": "test@example.com"}


def git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, **_IDENTITY, "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env=env,
                          timeout=120).stdout.strip()


def configured(data: dict, url: str) -> dict:
    """gitops.yaml data whose GitOps repository is ``url``."""
    return {**data, "gitops": {**data["gitops"], "repo": url}}


def seed(data: dict, *, token: str | None = None) -> str:
    """Write what bootstrap writes for the platform of gitops.yaml ``data`` into its repository (the
    releases' values as :func:`values.chart_values` gives them); returns the branch head."""
    config = config_file.load_text(yaml.safe_dump(data), source="gitops.yaml")
    by_phase = {r.phase: values.chart_values(config, phase=r.phase, repo_url=repository.argocd_url(config))
                for r in values.releases(config)}
    plan = repository.layout(config, chart_dir(), by_phase, values.chart_version_overrides(config))
    environ = {**os.environ, **_IDENTITY}
    from kubectl_gitops.core.secrets import Secret

    remote = repository.remote(config, Secret(token) if token else None, environ)
    access = repository.check(config, remote, Reporter())
    return repository.write(config, access, plan, Reporter()).sha
