"""The GitOps repository: bootstrap's repository phase, and the git access later commands share.

:func:`check` is the preflight (reachable, credentials accepted, branch present or the repository
empty); :func:`layout` computes every file bootstrap owns (see :mod:`core.gitrepo`); :func:`write`
applies it to the branch as one commit through :func:`adapters.git.commit_change`, keeping what a
person changed in the overlays; :func:`diff` shows offline what a first write would commit.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..adapters import git
from ..core import gitrepo
from ..core.config import Config
from ..core.errors import ConfigError, GitopsError, UsageError
from ..core.progress import Reporter
from ..core.secrets import Secret

TOKEN_ENV = "GITOPS_GIT_TOKEN"
USERNAME_ENV = "GITOPS_GIT_USERNAME"
# chart files that are not part of what runs: the docs template, CI scenarios, dependency archives
_CHART_SKIP_DIRS = ("charts", "ci")
_CHART_SKIP_FILES = ("README.md.gotmpl", "Chart.lock")


def resolve_token(token_file: str | None, environ: Mapping[str, str]) -> Secret | None:
    """The git token: ``--git-token-file``, else ``$GITOPS_GIT_TOKEN``; None when neither is set.

    Raises:
        UsageError: the file cannot be read or is empty.
    """
    if token_file:
        try:
            text = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"--git-token-file {token_file}: cannot read it ({exc.strerror or exc})") from None
        if not text:
            raise UsageError(f"--git-token-file {token_file} is empty")
        return Secret(text)
    value = (environ.get(TOKEN_ENV) or "").strip()
    return Secret(value) if value else None


def remote(config: Config, token: Secret | None, environ: Mapping[str, str]) -> git.Remote:
    """The repository of gitops.yaml as git reaches it (a local path made absolute, relative to gitops.yaml)."""
    base = Path(config.source).resolve().parent if config.source else Path.cwd()
    url = git.normalize_url(config.gitops.repo, base=base)
    username = (environ.get(USERNAME_ENV) or "").strip() or "x-access-token"
    return git.Remote(url=url, token=token, username=username, environ=dict(environ))


def argocd_url(config: Config) -> str:
    """The repository URL Argo CD is given (the Applications' ``repoURL``)."""
    base = Path(config.source).resolve().parent if config.source else Path.cwd()
    return git.normalize_url(config.gitops.repo, base=base)


@dataclass(frozen=True)
class Access:
    """What preflight learned: the branch head (None when the branch will be created)."""

    remote: git.Remote
    state: git.RemoteState
    head: str | None


def check(config: Config, repo: git.Remote, reporter: Reporter) -> Access:
    """Preflight: the repository answers, takes the credentials, and has the branch (or is empty).

    Raises:
        GitopsError: one line for each failure (unreachable, credentials refused, missing repository,
            missing branch in a repository that has others).
    """
    branch = config.gitops.branch
    state = git.ls_remote(repo)
    if branch in state.heads:
        reporter.success(f"GitOps repository {repo.shown}: branch {branch} at {state.heads[branch][:12]}")
        return Access(repo, state, state.heads[branch])
    if state.empty:
        reporter.success(f"GitOps repository {repo.shown}: empty, branch {branch} will be created")
        return Access(repo, state, None)
    others = ", ".join(sorted(state.heads)[:5])
    raise GitopsError(f"branch {branch} does not exist in the GitOps repository {repo.shown} (it has {others})",
                      hint="create the branch, or set gitops.branch in gitops.yaml to one of those")


def chart_files(chart: Path, version_overrides: Mapping[str, str]) -> dict[str, str]:
    """The platform chart as committed: its files by relative path, Chart.yaml with the version overrides."""
    files: dict[str, str] = {}
    for path in sorted(p for p in chart.rglob("*") if p.is_file()):
        rel = path.relative_to(chart)
        if rel.parts[0] in _CHART_SKIP_DIRS or rel.name in _CHART_SKIP_FILES or path.suffix == ".tgz":
            continue
        files[rel.as_posix()] = path.read_text(encoding="utf-8")
    meta = yaml.safe_load(files["Chart.yaml"]) or {}
    changed = False
    for dep in meta.get("dependencies") or []:
        wanted = version_overrides.get(dep.get("alias") or dep["name"], version_overrides.get(dep["name"]))
        if wanted is not None and str(wanted) != str(dep["version"]):
            dep["version"] = str(wanted)
            changed = True
    if changed:
        files["Chart.yaml"] = gitrepo.dump(meta)
    return files


@dataclass(frozen=True)
class Layout:
    """Every file bootstrap owns (path -> text), and the overlays it edits structurally."""

    owned: dict[str, str]
    owned_trees: tuple[str, ...]  # directories whose every file is owned (stale files are removed)
    overlays: tuple[tuple[str, str, str], ...]  # (path of the kustomization, app, env)


def layout(config: Config, chart: Path, values_by_phase: Mapping[str, Mapping[str, Any]],
           version_overrides: Mapping[str, str]) -> Layout:
    p = gitrepo.paths(config)
    owned: dict[str, str] = {p.readme: gitrepo.readme(config)}
    for rel, text in chart_files(chart, version_overrides).items():
        owned[f"{p.chart}/{rel}"] = text
    for phase, data in values_by_phase.items():
        owned[p.values(phase)] = (f"# Values of release {config.name}-{phase}, as kubectl gitops bootstrap installed "
                                  "it; rewritten on every run.\n" + gitrepo.dump(dict(data)))
    trees = [f"{p.root}/platform"]
    overlays = []
    for app in config.applications:
        for name, text in gitrepo.base_files(config, app).items():
            owned[f"{p.base(app.name)}/{name}"] = text
        trees.append(p.base(app.name))
        for env in config.environments:
            for name, text in gitrepo.ingress_files(config, app, env.name).items():
                owned[f"{p.ingress(app.name, env.name)}/{name}"] = text
            trees.append(p.ingress(app.name, env.name))
            overlays.append((f"{p.overlay(app.name, env.name)}/{gitrepo.OVERLAY_FILE}", app.name, env.name))
    return Layout(owned=owned, owned_trees=tuple(trees), overlays=tuple(overlays))


def _load_overlay(path: Path, rel: str) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{rel} in the GitOps repository is not valid YAML: {exc}".splitlines()[0],
                          hint="fix the file in the repository and re-run") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{rel} in the GitOps repository is not a kustomization (a mapping)",
                          hint="fix the file in the repository and re-run")
    return data


def apply(config: Config, plan: Layout, work: Path) -> list[str]:
    """Bring the work tree ``work`` to ``plan``; return the paths changed."""
    changed: list[str] = []
    for tree in plan.owned_trees:
        root = work / tree
        if root.is_dir():
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                rel = path.relative_to(work).as_posix()
                if rel not in plan.owned:
                    path.unlink()
                    changed.append(rel)
    for rel, text in plan.owned.items():
        target = work / rel
        if target.is_file() and target.read_text(encoding="utf-8", errors="replace") == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        changed.append(rel)
    p = gitrepo.paths(config)
    for rel, app_name, env in plan.overlays:
        release = work / p.release(app_name, env)
        if not release.is_file():  # nothing runs until a build or a promotion writes it
            release.parent.mkdir(parents=True, exist_ok=True)
            release.write_text(gitrepo.release_file(), encoding="utf-8")
            changed.append(p.release(app_name, env))
        target = work / rel
        existing = _load_overlay(target, rel)
        wanted = gitrepo.overlay(config, env, existing)
        if existing is not None and wanted == existing:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(gitrepo.dump(wanted), encoding="utf-8")
        changed.append(rel)
    return changed


@dataclass(frozen=True)
class WriteResult:
    sha: str
    committed: bool
    changed: tuple[str, ...]
    attempts: int


def commit_message(config: Config, changed: list[str] | tuple[str, ...]) -> str:
    return f"bootstrap {config.name}: platform and applications from gitops.yaml"


def write(config: Config, access: Access, plan: Layout, reporter: Reporter, *, timeout: float = 120.0) -> WriteResult:
    """Commit ``plan`` to the branch (one commit, none when nothing changed) and push it.

    Raises:
        GitopsError: git failed (one line), or an overlay in the repository is not valid YAML.
    """
    branch = config.gitops.branch
    result = git.commit_change(access.remote, branch, lambda work: apply(config, plan, work),
                               commit_message(config, ()), state=access.state, timeout=timeout)
    if result.committed:
        n = len(result.changed)
        reporter.created(f"GitOps repository: commit {result.sha[:12]} on {branch} ({n} file{'s' * (n != 1)})"
                         + (f" after {result.attempts} attempts" if result.attempts > 1 else ""))
    else:
        reporter.success(f"GitOps repository: up to date at {result.sha[:12]} on {branch}")
    return WriteResult(result.sha, result.committed, result.changed, result.attempts)


def diff(config: Config, plan: Layout, work: Path | None = None) -> tuple[list[str], str]:
    """Offline: the files a write would change in ``work`` (an empty repository when None), and the diff."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kubectl-gitops-plan-") as tmp:
        before = Path(tmp) / "before"
        after = Path(tmp) / "after"
        if work is not None:
            import shutil

            shutil.copytree(work, before, ignore=lambda *_: [".git"])
            shutil.copytree(work, after, ignore=lambda *_: [".git"])
        else:
            before.mkdir()
            after.mkdir()
        changed = sorted(set(apply(config, plan, after)))
        chunks = []
        for rel in changed:
            old, new = before / rel, after / rel
            a = old.read_text(encoding="utf-8").splitlines(keepends=True) if old.is_file() else []
            b = new.read_text(encoding="utf-8").splitlines(keepends=True) if new.is_file() else []
            chunks.append("".join(difflib.unified_diff(a, b, f"a/{rel}" if a else "/dev/null",
                                                       f"b/{rel}" if b else "/dev/null")))
        return changed, "".join(chunks)


def local_url_warning(config: Config) -> str | None:
    """A warning when Argo CD cannot reach the repository the way it is named."""
    kind = git.url_kind(config.gitops.repo)
    if kind == "local":
        return (f"gitops.repo {config.gitops.repo} is a local repository: a real Argo CD reads it only when it is "
                "mounted into argocd-repo-server at the same path")
    if kind == "http":
        return f"gitops.repo {config.gitops.repo} is plain http: credentials and content travel unencrypted"
    return None


EXAMPLE_DIGEST = "sha256:" + "0" * 64  # stands for the digest a build produces, when checking that overlays compose


@dataclass(frozen=True)
class RenderedApps:
    """What the apps' directories render to with ``kubectl kustomize``: (source, YAML text) per directory."""

    rendered: tuple[tuple[str, str], ...]


def render_apps(config: Config, plan: Layout, *, kubectl: str) -> RenderedApps:
    """Render every base and overlay of ``plan`` as Argo CD will: each overlay as committed (it runs
    nothing before a build) and as it runs once a digest is set in it.

    Raises:
        GitopsError: kustomize failed on a directory (its message).
    """
    import tempfile

    from ..adapters import kubectl as kubectl_adapter

    out: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="kubectl-gitops-apps-") as tmp:
        work = Path(tmp)
        apply(config, plan, work)
        p = gitrepo.paths(config)
        for app in config.applications:
            out.append((p.base(app.name), kubectl_adapter.kustomize(work / p.base(app.name), kubectl=kubectl)))
            for env in config.environments:
                directory = work / p.overlay(app.name, env.name)
                out.append((p.overlay(app.name, env.name), kubectl_adapter.kustomize(directory, kubectl=kubectl)))
                (work / p.release(app.name, env.name)).write_text(gitrepo.release_file(
                    gitrepo.image_name(config, app), EXAMPLE_DIGEST, app=app.name,
                    replicas=app.replicas_in(env.name)), encoding="utf-8")
                out.append((f"{p.overlay(app.name, env.name)} (with an image digest)",
                            kubectl_adapter.kustomize(directory, kubectl=kubectl)))
    return RenderedApps(tuple(out))


def snapshot(access_remote: git.Remote, branch: str, dest: Path) -> bool:
    """Clone ``branch`` into ``dest`` when the repository is local (offline); False otherwise or when absent."""
    if access_remote.kind != "local":
        return False
    try:
        state = git.ls_remote(access_remote)
    except GitopsError:
        return False
    if branch not in state.heads:
        return False
    git.clone(access_remote, branch, dest)
    return True
