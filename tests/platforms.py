"""gitops.yaml variants of the examples for tests and benchmarks that bootstrap an existing cluster."""

from __future__ import annotations

from pathlib import Path

import yaml

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def existing(example: str = "proof-of-concept", gitops_repo: str | None = None) -> dict:
    """``examples/<example>/gitops.yaml`` as provider ``existing``: no region, node pools or tags, and a
    registry outside DigitalOcean (push credentials come from ``--registry-auth``); with ``gitops_repo``,
    the GitOps repository (and the chart the platform's Applications render) at that URL."""
    data = yaml.safe_load((EXAMPLES / example / "gitops.yaml").read_text())
    data["provider"] = "existing"
    data.pop("region", None)
    for cluster in data["clusters"].values():
        cluster.pop("node_pool", None)
        cluster.pop("tags", None)
    data["registry"] = {"name": "team", "server": "registry.example.com"}
    if gitops_repo is not None:  # a GitOps repository the tests' Argo CD can reach, and its chart
        import gitopsrepo

        data = gitopsrepo.configured(data, gitops_repo)
    return data


def write_existing(path: Path, example: str = "proof-of-concept", gitops_repo: str | None = None) -> Path:
    path.write_text(yaml.safe_dump(existing(example, gitops_repo), sort_keys=False))
    return path


def in_process_env(monkeypatch, kubeconfig: Path, home: Path, helm: Path) -> None:
    """For a CLI run in this process: HOME, caches and helm's directories under ``home``, ``KUBECONFIG``,
    and the helm binary (``GITOPS_HELM``), the way a subprocess would get them from ``make_kube_env``."""
    from fakekube.fixtures import make_kube_env

    for key, value in make_kube_env(kubeconfig, home).items():
        if key.startswith(("HOME", "XDG_", "HELM_", "KUBECONFIG")):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("GITOPS_HELM", str(helm))
