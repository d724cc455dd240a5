"""gitops.yaml variants of the examples for tests and benchmarks that bootstrap an existing cluster."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def existing(example: str = "proof-of-concept") -> dict:
    """``examples/<example>/gitops.yaml`` as provider ``existing``: no region, node pools or tags, and a
    registry outside DigitalOcean (push credentials come from ``--registry-auth``)."""
    data = yaml.safe_load((EXAMPLES / example / "gitops.yaml").read_text())
    data["provider"] = "existing"
    data.pop("region", None)
    several = len(data["clusters"]) > 1
    for name, cluster in data["clusters"].items():
        cluster.pop("node_pool", None)
        cluster.pop("tags", None)
        if several:  # each existing cluster is a kube context; tests name them after the clusters
            cluster["context"] = name
    data["registry"] = {"name": "team", "server": "registry.example.com"}
    return data


def bare_repo(path: Path, *, branch: str = "main") -> Path:
    """An empty bare git repository at ``path`` (the GitOps repository of a test)."""
    if not (path / "HEAD").is_file():
        subprocess.run(["git", "init", "--quiet", "--bare", f"--initial-branch={branch}", str(path)], check=True,
                       capture_output=True, timeout=60)
    return path


def write_existing(path: Path, example: str = "proof-of-concept", *, repo: Path | str | None = None) -> Path:
    """gitops.yaml as provider ``existing`` at ``path``, its GitOps repository a real bare repository
    (``repo``; default: an empty one made beside ``path``, ``gitops.git``) over ``file://``."""
    data = existing(example)
    if repo is None:
        repo = bare_repo(path.parent / "gitops.git")
    data["gitops"]["repo"] = repo.as_uri() if isinstance(repo, Path) else repo
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def in_process_env(monkeypatch, kubeconfig: Path, home: Path, helm: Path) -> None:
    """For a CLI run in this process: HOME, caches and helm's directories under ``home``, ``KUBECONFIG``,
    and the helm binary (``GITOPS_HELM``), the way a subprocess would get them from ``make_kube_env``."""
    from fakekube.fixtures import make_kube_env

    for key, value in make_kube_env(kubeconfig, home).items():
        if key.startswith(("HOME", "XDG_", "HELM_", "KUBECONFIG")):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("GITOPS_HELM", str(helm))


def plugin_env(tmp_path: Path, kubeconfig: Path, kubectl: Path, helm: Path, **extra: str) -> dict[str, str]:
    """The environment of a user running ``kubectl gitops`` through kubectl's plugin dispatch: a PATH with only
    the plugin, kubectl, helm and the system's git, HOME and caches in ``tmp_path``, ``KUBECONFIG``."""
    import sys

    from fakekube.fixtures import make_kube_env

    path_dir = tmp_path / "path"
    path_dir.mkdir(exist_ok=True)
    for name, target in (("kubectl-gitops", Path(sys.executable).parent / "kubectl-gitops"), ("kubectl", kubectl),
                         ("helm", helm)):
        if not (path_dir / name).exists():
            (path_dir / name).symlink_to(target)
    env = make_kube_env(kubeconfig, tmp_path / "home")
    env.update({"PATH": f"{path_dir}:/usr/bin:/bin", "LC_ALL": "C.UTF-8", "GITOPS_NO_DNS": "1", **extra})
    env.pop("GITOPS_HELM", None)
    return env


def errors_of(out) -> list[str]:
    """The ``error:`` lines a CLI run printed on stderr (progress lines left out)."""
    return [line for line in out.stderr.splitlines() if line.startswith("error:")]
