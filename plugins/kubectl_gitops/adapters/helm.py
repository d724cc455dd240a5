"""The only module that runs the helm binary.

Every call is an argument list with a timeout, never a shell string. Failures become
:class:`HelmError` carrying helm's own message and the tail of what it printed.

Offline rendering: ``helm template`` and ``helm lint`` refuse a chart whose Chart.yaml
dependencies are missing from ``charts/``. :func:`render` and :func:`lint` then work on a
temporary copy of the chart without the dependencies whose archives are absent and report
their names in ``omitted_dependencies`` (the caller tells the user). After
``helm dependency build`` the chart renders as is, with every dependency.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubectl_gitops.core.errors import HelmError, ToolError

MIN_VERSION = (3, 19, 0)
DEFAULT_TIMEOUT = 120.0
_TAIL_LINES = 15
_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class Helm:
    """A helm binary that passed the version gate."""

    path: Path
    version: tuple[int, int, int]

    @property
    def version_text(self) -> str:
        return "v" + ".".join(map(str, self.version))


@dataclass(frozen=True)
class RenderResult:
    """Output of :func:`render`."""

    manifest_text: str
    omitted_dependencies: tuple[str, ...] = ()

    def objects(self) -> list[dict[str, Any]]:
        """The rendered objects (empty documents dropped)."""
        return [doc for doc in yaml.safe_load_all(self.manifest_text) if doc]


@dataclass(frozen=True)
class LintResult:
    """Output of :func:`lint` (helm's report, which may hold INFO and WARNING lines)."""

    output: str
    omitted_dependencies: tuple[str, ...] = ()


def parse_version(text: str) -> tuple[int, int, int]:
    """Parse ``helm version`` output such as ``v3.19.0+g3d8990f``.

    Raises:
        ToolError: no version number in ``text``.
    """
    match = _VERSION_RE.search(text)
    if not match:
        raise ToolError(f"could not read a version from helm's output: {text.strip()[:80]!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def find_helm(explicit: str | os.PathLike[str] | None = None, *, timeout: float = 30.0) -> Helm:
    """Locate helm: ``explicit``, else ``$GITOPS_HELM``, else ``helm`` on PATH; check its version.

    Raises:
        ToolError: helm is missing, does not run, or is older than 3.19.
    """
    candidate = explicit or os.environ.get("GITOPS_HELM") or shutil.which("helm")
    hint = "install Helm 4 (or Helm >= 3.19): https://helm.sh/docs/intro/install/"
    if not candidate:
        raise ToolError("helm was not found on PATH", hint=hint)
    path = Path(candidate)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise ToolError(f"helm at {path} does not exist or is not executable", hint=hint)
    try:
        proc = subprocess.run([str(path), "version", "--short"], capture_output=True, text=True,
                              timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolError(f"could not run {path} version: {exc}", hint=hint) from exc
    if proc.returncode != 0:
        raise ToolError(f"{path} version failed: {_tail(proc.stderr or proc.stdout, 3)}", hint=hint)
    version = parse_version(proc.stdout)
    helm = Helm(path=path, version=version)
    if version < MIN_VERSION:
        raise ToolError(f"helm at {path} is {helm.version_text}; kubectl-gitops needs Helm >= 3.19 "
                        "(values.schema.json with draft-07 and Helm 4 charts)", hint=hint)
    return helm


def missing_dependencies(chart: Path) -> tuple[str, ...]:
    """Names of the Chart.yaml dependencies that have no archive or directory in ``charts/``."""
    meta = yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8")) or {}
    present = [p.name for p in (chart / "charts").iterdir()] if (chart / "charts").is_dir() else []
    missing = []
    for dep in meta.get("dependencies") or []:
        name = dep["name"]
        pattern = re.compile(rf"^{re.escape(name)}(-v?\d.*\.tgz)?$")
        if not any(pattern.match(entry) for entry in present):
            missing.append(dep.get("alias") or name)
    return tuple(missing)


@contextmanager
def _offline_chart(chart: Path) -> Iterator[tuple[Path, tuple[str, ...]]]:
    """Yield a chart directory helm can render and the dependencies left out of it."""
    missing = missing_dependencies(chart)
    if not missing:
        yield chart, ()
        return
    with tempfile.TemporaryDirectory(prefix="gitops-chart-") as tmp:
        copy = Path(tmp) / chart.name
        shutil.copytree(chart, copy, ignore=shutil.ignore_patterns(".git"))
        meta = yaml.safe_load((copy / "Chart.yaml").read_text(encoding="utf-8"))
        meta["dependencies"] = [d for d in meta.get("dependencies") or []
                                if (d.get("alias") or d["name"]) not in missing]
        if not meta["dependencies"]:
            del meta["dependencies"]
        (copy / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False), encoding="utf-8")
        (copy / "Chart.lock").unlink(missing_ok=True)
        yield copy, missing


@contextmanager
def _values_file(values: dict[str, Any]) -> Iterator[Path]:
    """Write values to a private (0600) temporary file, removed afterwards."""
    fd, name = tempfile.mkstemp(prefix="gitops-values-", suffix=".yaml")
    path = Path(name)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.safe_dump(values, handle, sort_keys=False)
        yield path
    finally:
        path.unlink(missing_ok=True)


def _tail(text: str, lines: int = _TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _run(helm: Helm, args: list[str], *, what: str, timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run([str(helm.path), *args], capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr if isinstance(exc.stderr, str) else ""
        raise HelmError(f"helm {what} did not finish within {timeout:g} s",
                        stderr_tail=_tail(stderr)) from exc
    except OSError as exc:
        raise ToolError(f"could not run {helm.path}: {exc}") from exc
    if proc.returncode != 0:
        output = "\n".join(part for part in (proc.stdout, proc.stderr) if part.strip())
        problems = [ln.strip() for ln in output.splitlines()
                    if ln.lstrip().startswith(("Error:", "[ERROR]", "error:"))]
        message = "; ".join(problems[:5]) or _tail(output, 1) or f"exit status {proc.returncode}"
        raise HelmError(f"helm {what} failed: {message}", stderr_tail=_tail(output))
    return proc


def _resolve(helm: Helm | str | os.PathLike[str] | None) -> Helm:
    return helm if isinstance(helm, Helm) else find_helm(helm)


def render(chart: str | os.PathLike[str], *, release: str, namespace: str, values: dict[str, Any],
           kube_version: str | None = None, helm: Helm | str | os.PathLike[str] | None = None,
           timeout: float = DEFAULT_TIMEOUT) -> RenderResult:
    """Render ``chart`` with ``helm template``; dependencies missing from ``charts/`` are left out.

    Args:
        chart: chart directory.
        release: release name.
        namespace: release namespace.
        values: values, merged over the chart's values.yaml.
        kube_version: Kubernetes version to render for (``--kube-version``).
        helm: a :class:`Helm` from :func:`find_helm` or a path; default: :func:`find_helm`.
        timeout: seconds before helm is stopped.

    Returns:
        The manifest and the names of the omitted dependencies.

    Raises:
        HelmError: helm failed (schema violation, template ``fail``, bad chart).
        ToolError: helm is missing or too old.
    """
    binary = _resolve(helm)
    with _offline_chart(Path(chart)) as (path, omitted), _values_file(values) as values_path:
        args = ["template", release, str(path), "--namespace", namespace, "--values", str(values_path)]
        if kube_version:
            args += ["--kube-version", kube_version]
        proc = _run(binary, args, what="template", timeout=timeout)
    return RenderResult(manifest_text=proc.stdout, omitted_dependencies=omitted)


def lint(chart: str | os.PathLike[str], *, values: dict[str, Any], strict: bool = True,
         namespace: str | None = None, kube_version: str | None = None,
         helm: Helm | str | os.PathLike[str] | None = None, timeout: float = DEFAULT_TIMEOUT) -> LintResult:
    """Run ``helm lint`` (``--strict`` by default) with ``values``; same offline rule as :func:`render`.

    Raises:
        HelmError: the chart has lint errors (or warnings, with ``strict``).
        ToolError: helm is missing or too old.
    """
    binary = _resolve(helm)
    with _offline_chart(Path(chart)) as (path, omitted), _values_file(values) as values_path:
        args = ["lint", str(path), "--values", str(values_path)]
        if strict:
            args.append("--strict")
        if namespace:
            args += ["--namespace", namespace]
        if kube_version:
            args += ["--kube-version", kube_version]
        proc = _run(binary, args, what="lint", timeout=timeout)
    return LintResult(output=proc.stdout, omitted_dependencies=omitted)
