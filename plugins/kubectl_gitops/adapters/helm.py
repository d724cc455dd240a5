"""The only module that runs the helm binary.

Every call is an argument list with a timeout, never a shell string. Failures become
:class:`HelmError` carrying helm's own message and the tail of what it printed. Values reach
helm through a private (0600) temporary file that is removed afterwards; values never hold
credentials (the CLI creates Secrets through the API), and :func:`upgrade_install` refuses
values that look like they do.

Offline rendering: ``helm template`` and ``helm lint`` refuse a chart whose Chart.yaml
dependencies are missing from ``charts/``. :func:`render` and :func:`lint` then work on a
temporary copy of the chart without the dependencies whose archives are absent and report
their names in ``omitted_dependencies`` (the caller tells the user). After
``helm dependency build`` the chart renders as is, with every dependency.

Installing: :func:`prepare_chart` makes a ready-to-install copy (dependency versions overridden,
dependency archives present), cached by content; :func:`upgrade_install` installs or upgrades a
release, does nothing when the deployed release already has the same chart and values, and
recovers a release left pending by an interrupted helm (see its docstring);
:func:`get_release` and :func:`uninstall` complete the set.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubectl_gitops.core.errors import GitopsError, HelmError, ToolError

MIN_VERSION = (3, 19, 0)
DEFAULT_TIMEOUT = 120.0
_TAIL_LINES = 15
_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
_PROBLEM_PREFIXES = ("Error:", "[ERROR]", "error:")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: CRDs make large manifests
# lines that end an error's continuation: other report lines, structured or klog-style logs
_NOT_CONTINUATION = re.compile(r"^(Error:|\[ERROR\]|error:|\[WARNING\]|\[INFO\]|level=|[EIWF]\d{4} )")


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
        return [doc for doc in yaml.load_all(self.manifest_text, Loader=_YAML_LOADER) if doc]


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
        message = "; ".join(_problems(output)[:5]) or _tail(output, 1) or f"exit status {proc.returncode}"
        raise HelmError(f"helm {what} failed: {message}", stderr_tail=_tail(output))
    return proc


def _problems(output: str) -> list[str]:
    """helm's error lines, each on one line with its continuation (helm prints causes on the lines
    after ``Error:``, e.g. ``* job x failed: BackoffLimitExceeded``)."""
    lines = [ln.strip() for ln in output.splitlines()]
    problems = []
    for i, line in enumerate(lines):
        if not line.startswith(_PROBLEM_PREFIXES):
            continue
        parts = [line]
        for following in lines[i + 1:i + 5]:
            if not following or _NOT_CONTINUATION.match(following):
                break
            parts.append(following.lstrip("*- \t"))
        problems.append(" ".join(parts))
    return problems


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


# ---------------------------------------------------------------- releases: inspect, install, uninstall

PENDING_STATUSES = ("pending-install", "pending-upgrade", "pending-rollback")
_NOT_FOUND = "release: not found"
_IN_PROGRESS = "another operation (install/upgrade/rollback) is in progress"
# credentials have no business in chart values: keys and value shapes that give them away
_SECRET_KEYS = (".dockerconfigjson", "password", "token", "secretkey", "privatekey")
_DO_TOKEN_RE = re.compile(r"\bdo[opr]_v1_[0-9a-f]{64}\b")


@dataclass(frozen=True)
class ReleaseInfo:
    """The latest revision of a release, as helm recorded it.

    ``values`` are the user-supplied values of that revision (``helm get values``), not the
    chart's defaults.
    """

    name: str
    namespace: str
    revision: int
    status: str
    chart: str
    chart_version: str
    values: dict[str, Any]


@dataclass(frozen=True)
class ReleaseResult:
    """What :func:`upgrade_install` did.

    Attributes:
        action: ``installed``, ``upgraded`` or ``unchanged`` (nothing run, no new revision).
        revision: the release's revision afterwards.
        recovered: the pending status the release was left in by an interrupted helm, when
            it had to be recovered first (``pending-install``, ...); None otherwise.
    """

    action: str
    revision: int
    recovered: str | None = None


def _kube_args(kube_context: str | None, kubeconfig: str | os.PathLike[str] | None) -> list[str]:
    args = []
    if kube_context:
        args += ["--kube-context", kube_context]
    if kubeconfig:
        args += ["--kubeconfig", str(kubeconfig)]
    return args


def _seconds(value: float) -> str:
    return f"{max(1, int(value))}s"


class _Deadline:
    """One time budget shared by the helm calls of an operation."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._end = time.monotonic() + timeout

    def left(self) -> float:
        return max(1.0, self._end - time.monotonic())

    def for_helm(self) -> str:
        """helm's own ``--timeout``: most of what is left, so helm reports its own error first."""
        left = self.left()
        return _seconds(left - min(30.0, left * 0.1))


def get_release(release: str, namespace: str, *, kube_context: str | None = None,
                kubeconfig: str | os.PathLike[str] | None = None,
                helm: Helm | str | os.PathLike[str] | None = None,
                timeout: float = DEFAULT_TIMEOUT) -> ReleaseInfo | None:
    """The latest revision of ``release`` in ``namespace`` (any status), or None when there is none.

    Raises:
        HelmError: helm failed (cluster unreachable, forbidden, ...).
        ToolError: helm is missing or too old.
    """
    binary = _resolve(helm)
    deadline = _Deadline(timeout)
    scope = ["--namespace", namespace, *_kube_args(kube_context, kubeconfig)]
    meta = _metadata(binary, release, scope, deadline)
    if meta is None:
        return None
    given = _run(binary, ["get", "values", release, "-o", "json", *scope], what="get values",
                 timeout=deadline.left())
    return ReleaseInfo(
        name=meta.get("name", release),
        namespace=meta.get("namespace", namespace),
        revision=int(meta["revision"]),
        status=str(meta.get("status", "")),
        chart=str(meta.get("chart", "")),
        chart_version=str(meta.get("version", "")),
        values=json.loads(given.stdout or "null") or {},
    )


def _metadata(binary: Helm, release: str, scope: list[str], deadline: _Deadline) -> dict[str, Any] | None:
    """``helm get metadata`` of the latest revision (name, chart, version, revision, status), or None."""
    try:
        proc = _run(binary, ["get", "metadata", release, "-o", "json", *scope], what="get metadata",
                    timeout=deadline.left())
    except HelmError as exc:
        if _NOT_FOUND in exc.stderr_tail:
            return None
        raise
    return json.loads(proc.stdout)


def _chart_meta(chart: Path) -> dict[str, Any]:
    try:
        meta = yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise GitopsError(f"{chart} is not a readable chart: {exc}") from exc
    if not meta.get("name") or not meta.get("version"):
        raise GitopsError(f"{chart / 'Chart.yaml'} has no name or version")
    return meta


def _normalized(data: Any) -> Any:
    """Values as helm gives them back: JSON types, whole floats as ints."""
    if isinstance(data, dict):
        return {str(k): _normalized(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_normalized(v) for v in data]
    if isinstance(data, float) and data.is_integer():
        return int(data)
    return data


def _refuse_credentials(values: Any, path: str = "") -> None:
    """Values go to a file on disk and into the release record: fail on anything like a credential."""
    if isinstance(values, dict):
        for key, value in values.items():
            where = f"{path}.{key}" if path else str(key)
            lowered = str(key).lower()
            if isinstance(value, str) and value and lowered.endswith(_SECRET_KEYS):
                raise GitopsError(f"refusing to pass a credential to helm in values ({where})",
                                  hint="create it as a Secret through the Kubernetes API instead")
            _refuse_credentials(value, where)
    elif isinstance(values, list):
        for i, value in enumerate(values):
            _refuse_credentials(value, f"{path}[{i}]")
    elif isinstance(values, str) and (_DO_TOKEN_RE.search(values) or '"auths"' in values):
        raise GitopsError(f"refusing to pass a credential to helm in values ({path})",
                          hint="create it as a Secret through the Kubernetes API instead")


def upgrade_install(chart: str | os.PathLike[str], *, release: str, namespace: str, values: dict[str, Any],
                    kube_context: str | None = None, kubeconfig: str | os.PathLike[str] | None = None,
                    create_namespace: bool = False, timeout: float = 600.0,
                    helm: Helm | str | os.PathLike[str] | None = None) -> ReleaseResult:
    """Install or upgrade ``release`` from ``chart`` (a directory, e.g. from :func:`prepare_chart`).

    Nothing is run and ``action`` is ``unchanged`` when the latest revision is ``deployed`` from a
    chart of the same name and version with the same user-supplied values: no new revision, no
    hooks, no object touched.

    A helm that was killed or interrupted mid-install/upgrade leaves the release ``pending-*``,
    and helm refuses any further install, upgrade or uninstall of it ("another operation
    (install/upgrade/rollback) is in progress"). Such a release is recovered without deleting
    anything: ``helm rollback <release> <pending revision>`` (helm allows a rollback while
    pending) re-applies what the interrupted operation was applying and records a deployed
    revision; the upgrade then runs as usual, hooks included, and applies ``values``. This
    assumes no other helm is working on the release at the same time.

    Args:
        chart: chart directory with its dependency archives in ``charts/``.
        release: release name.
        namespace: release namespace.
        values: the release's values; never credentials (refused).
        kube_context: ``--kube-context``; default: the kubeconfig's current context.
        kubeconfig: ``--kubeconfig``; default: helm's (``$KUBECONFIG`` or ~/.kube/config).
        create_namespace: create the release namespace if missing.
        timeout: seconds for the whole operation; helm's own ``--timeout`` (hooks) is a bit less,
            so helm reports its own error first.
        helm: a :class:`Helm` or a path; default: :func:`find_helm`.

    Raises:
        HelmError: helm failed: its own message, and the tail of its output in ``stderr_tail``.
        GitopsError: ``values`` hold something that looks like a credential, or ``chart`` has no
            Chart.yaml.
        ToolError: helm is missing or too old.
    """
    binary = _resolve(helm)
    deadline = _Deadline(timeout)
    chart_path = Path(chart)
    meta = _chart_meta(chart_path)
    _refuse_credentials(values)
    kube = _kube_args(kube_context, kubeconfig)
    current = get_release(release, namespace, kube_context=kube_context, kubeconfig=kubeconfig, helm=binary,
                          timeout=deadline.left())
    recovered = None
    if current is not None and current.status in PENDING_STATUSES:
        recovered = current.status
        _run(binary, ["rollback", release, str(current.revision), "--namespace", namespace,
                      "--timeout", deadline.for_helm(), *kube],
             what=f"rollback (recovering the {current.status} release {release})", timeout=deadline.left())
    elif (current is not None and current.status == "deployed" and current.chart == meta["name"]
          and current.chart_version == str(meta["version"]) and current.values == _normalized(values)):
        return ReleaseResult(action="unchanged", revision=current.revision)
    with _values_file(values) as values_path:
        args = ["upgrade", "--install", release, str(chart_path), "--namespace", namespace,
                "--values", str(values_path), "--timeout", deadline.for_helm(), *kube]
        if create_namespace:
            args.append("--create-namespace")
        try:
            _run(binary, args, what="upgrade --install", timeout=deadline.left())
        except HelmError as exc:
            if _IN_PROGRESS in str(exc):
                exc.hint = ("another helm is working on this release; wait for it to finish, then run again")
            elif "did not finish within" in str(exc):
                exc.hint = "the release may be left pending; running again recovers it"
            raise
    # the release record, not helm's report, says what was installed
    scope = ["--namespace", namespace, *kube]
    after = _metadata(binary, release, scope, deadline)
    if after is None:
        raise HelmError(f"helm upgrade --install of {release} succeeded but left no release record",
                        hint="run again")
    if after.get("status") in PENDING_STATUSES:
        # helm applied everything but could not write the final release record (it says so only in
        # its log and exits 0): record it now, the way a re-run would
        recovered = recovered or after["status"]
        try:
            _run(binary, ["rollback", release, str(after["revision"]), "--namespace", namespace,
                          "--timeout", deadline.for_helm(), *kube],
                 what=f"rollback (recording the {after['status']} release {release})", timeout=deadline.left())
        except HelmError as exc:
            exc.hint = (f"helm applied the release but could not record it in namespace {namespace}; "
                        "running again records it")
            raise
        after = _metadata(binary, release, scope, deadline) or after
    first = current is None or current.status in ("pending-install", "uninstalled") or (
        current.status == "failed" and current.revision == 1)
    return ReleaseResult(action="installed" if first else "upgraded", revision=int(after["revision"]),
                         recovered=recovered)


def uninstall(release: str, namespace: str, *, kube_context: str | None = None,
              kubeconfig: str | os.PathLike[str] | None = None,
              helm: Helm | str | os.PathLike[str] | None = None, timeout: float = 300.0) -> bool:
    """Uninstall ``release``; False when there was no such release.

    Raises:
        HelmError: helm failed.
        ToolError: helm is missing or too old.
    """
    binary = _resolve(helm)
    deadline = _Deadline(timeout)
    if get_release(release, namespace, kube_context=kube_context, kubeconfig=kubeconfig, helm=binary,
                   timeout=deadline.left()) is None:
        return False
    try:
        _run(binary, ["uninstall", release, "--namespace", namespace, "--timeout", deadline.for_helm(),
                      *_kube_args(kube_context, kubeconfig)], what="uninstall", timeout=deadline.left())
    except HelmError as exc:
        if _NOT_FOUND in exc.stderr_tail:
            return False
        raise
    return True


# ---------------------------------------------------------------- ready-to-install chart

def _content_key(chart: Path, version_overrides: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in chart.rglob("*") if p.is_file() and ".git" not in p.relative_to(chart).parts):
        digest.update(str(path.relative_to(chart)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(json.dumps(sorted(version_overrides.items())).encode())
    return digest.hexdigest()


def _dependency_present(chart: Path, name: str, version: str) -> bool:
    charts = chart / "charts"
    if (charts / f"{name}-{version}.tgz").is_file():
        return True
    unpacked = charts / name / "Chart.yaml"
    if unpacked.is_file():
        meta = yaml.safe_load(unpacked.read_text(encoding="utf-8")) or {}
        return str(meta.get("version")) == version
    return False


def _apply_overrides(chart: Path, version_overrides: dict[str, str], source: Path) -> dict[str, Any]:
    """Rewrite the copy's Chart.yaml with the overridden dependency versions, and relative
    ``file://`` repositories made absolute (they are relative to ``source``); return its metadata."""
    meta = _chart_meta(chart)
    dependencies = meta.get("dependencies") or []
    relocated = False
    for dep in dependencies:
        repository = str(dep.get("repository") or "")
        if repository.startswith("file://") and not Path(repository.removeprefix("file://")).is_absolute():
            dep["repository"] = "file://" + str((source / repository.removeprefix("file://")).resolve())
            relocated = True
    known = {d["name"] for d in dependencies} | {d["alias"] for d in dependencies if d.get("alias")}
    unknown = sorted(set(version_overrides) - known)
    if unknown:
        raise GitopsError(f"version override for {', '.join(unknown)}, which is not a dependency of chart "
                          f"{meta['name']} (dependencies: {', '.join(sorted(known)) or 'none'})")
    changed = {}
    for dep in dependencies:
        wanted = version_overrides.get(dep.get("alias") or dep["name"], version_overrides.get(dep["name"]))
        if wanted is not None and str(wanted) != str(dep["version"]):
            dep["version"] = str(wanted)
            changed[dep.get("alias") or dep["name"]] = str(wanted)
    if changed:
        # another set of dependencies is another chart: the version says so (semver build metadata),
        # so upgrade_install does not take it for the deployed one
        tag = hashlib.sha256(json.dumps(sorted(changed.items())).encode()).hexdigest()[:8]
        version = str(meta["version"])
        meta["version"] = f"{version}{'.' if '+' in version else '+'}deps.{tag}"
    if changed or relocated:
        (chart / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False), encoding="utf-8")
        (chart / "Chart.lock").unlink(missing_ok=True)  # its digest is of the dependencies as they were
    return meta


def prepare_chart(chart_dir: str | os.PathLike[str], *, version_overrides: dict[str, str] | None = None,
                  work_dir: str | os.PathLike[str], helm: Helm | str | os.PathLike[str] | None = None,
                  timeout: float = 300.0) -> Path:
    """A ready-to-install copy of ``chart_dir`` under ``work_dir``.

    The copy has the dependency versions of ``version_overrides`` (dependency name or alias ->
    version) in its Chart.yaml (and, when they differ from the pins, the chart version gets the
    build metadata ``+deps.<hash>``) and every dependency archive in ``charts/``: ``helm
    dependency build`` runs only when an archive of the pinned version is missing. The copy is
    keyed by the content of ``chart_dir`` and the overrides, so preparing the same chart again
    returns the existing copy and runs nothing.

    Raises:
        GitopsError: ``chart_dir`` is not a chart, or an override names no dependency.
        HelmError: ``helm dependency build`` failed (it downloads from the dependency repositories).
        ToolError: helm is needed and is missing or too old.
    """
    source = Path(chart_dir)
    overrides = {str(k): str(v) for k, v in (version_overrides or {}).items()}
    name = str(_chart_meta(source)["name"])
    work = Path(work_dir)
    home = work / f"{name}-{_content_key(source, overrides)[:20]}"
    prepared, marker = home / name, home / "prepared.json"
    if marker.is_file() and prepared.is_dir():
        return prepared
    work.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=work))
    try:
        copy = staging / name
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns(".git"))
        meta = _apply_overrides(copy, overrides, source)
        dependencies = meta.get("dependencies") or []
        missing = [d for d in dependencies if not _dependency_present(copy, d["name"], str(d["version"]))]
        if missing:
            for dep in dependencies:
                for stale in (copy / "charts").glob(f"{dep['name']}-*.tgz"):
                    if stale.name != f"{dep['name']}-{dep['version']}.tgz":
                        stale.unlink()
            names = ", ".join(f"{d['name']} {d['version']}" for d in missing)
            try:
                _run(_resolve(helm), ["dependency", "build", str(copy)], what="dependency build", timeout=timeout)
            except HelmError as exc:
                exc.hint = (f"helm downloads {names} from the chart repositories; with no network, put the "
                            f"archives into {source / 'charts'}")
                raise
        (staging / "prepared.json").write_text(json.dumps({"chart": name, "version": str(meta["version"]),
                                                           "overrides": overrides}), encoding="utf-8")
        try:
            staging.rename(home)
        except OSError:
            if not (marker.is_file() and prepared.is_dir()):  # not a concurrent preparation of the same chart
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return prepared
