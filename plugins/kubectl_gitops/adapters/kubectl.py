"""The one module that runs the ``kubectl`` binary: ``kubectl kustomize`` renders the apps' overlays.

Cluster access goes through :mod:`adapters.kube`; kubectl is only used for what it alone does the
way Argo CD does it: kustomize builds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from ..core.errors import GitopsError, ToolError

KUBECTL_ENV = "GITOPS_KUBECTL"


def find_kubectl(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The kubectl binary: ``explicit``, ``$GITOPS_KUBECTL``, or kubectl on PATH.

    Raises:
        ToolError: not found.
    """
    env = environ if environ is not None else os.environ
    wanted = explicit or env.get(KUBECTL_ENV) or "kubectl"
    path = shutil.which(wanted, path=env.get("PATH"))
    if not path:
        raise ToolError(f"kubectl not found ({wanted})", hint=f"install kubectl or set {KUBECTL_ENV}")
    return path


def kustomize(directory: str | os.PathLike[str], *, kubectl: str, timeout: float = 60.0) -> str:
    """``kubectl kustomize DIR``: the rendered YAML.

    Raises:
        GitopsError: kustomize failed; its own message, with the directory.
    """
    try:
        out = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True,
                             timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise GitopsError(f"kubectl kustomize {Path(directory).name} took longer than {timeout:g} s") from None
    if out.returncode != 0:
        line = next((ln for ln in reversed(out.stderr.strip().splitlines()) if ln.strip()), "no message")
        raise GitopsError(f"kubectl kustomize {directory} failed: {line.removeprefix('error: ')}")
    return out.stdout
