"""`kubectl gitops promote` and `kubectl gitops rollback`: the next environment gets exactly the image
digest that is healthy in the one before it, only when asked; or an environment goes back to the digest
it ran before.

Promote reads the truth in two places and requires them to agree:

- the cluster: the source environment's Application (Synced, Healthy, for at least the environment's
  ``promotion.soak``; the digest in ``status.summary.images``) and the live Deployment in the source
  namespace (the digest its pod template runs);
- git: the digest the source overlay names in the GitOps repository.

Then it writes the target overlay through the same git layer as bootstrap (a structural edit, one
commit with the ``Gitops-*`` trailers of :mod:`core.promotion`, push, re-apply on a moved branch,
never a force push; a concurrent promotion of the same app to the same environment makes this one
fail instead of silently stacking), asks Argo CD to sync the target Application at exactly that
commit (an operation initiated by the user), and waits until it is Synced there and Healthy.

Rollback takes the digest the target ran before (the overlay's history) or ``--to DIGEST`` (one that
ran there before), and goes the same way. ``--dry-run`` reads and shows everything, writes nothing.
"""

from __future__ import annotations

import getpass
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..adapters import config_file, git, kube
from ..core import gitrepo, promotion
from ..core.config import Application, Config, Environment
from ..core.errors import GitopsError, UsageError
from ..core.progress import Reporter
from ..core.readiness import ObjectRef
from . import repository

ARGOCD_NAMESPACE = "argocd"
APPLICATION = ("argoproj.io/v1alpha1", "Application")


@dataclass(frozen=True)
class PromoteOptions:
    """What to promote (or roll back) and how.

    Attributes:
        app: the application (gitops.yaml ``applications``).
        source: environment to promote from (default: the one before ``target``, or dev).
        target: environment to promote to (default: the one after ``source``).
        rollback_to: rollback only: the digest to go back to (default: the one before the current).
        dry_run: read and show; write nothing.
        sync: ask Argo CD to sync the target after the push, and wait for it.
        timeout: seconds the sync wait may take.
        confirm: called with the plan before anything is written; False stops (None: no question).
        ask: whether to ask at all; with ``ask`` and no ``confirm`` (no terminal to ask on) nothing is
            written and the run stops with a usage error once the config has been read.
        user: who asks (the sync operation's ``initiatedBy``).
    """

    app: str
    config: str = "gitops.yaml"
    kubeconfig: str | None = None
    context: str | None = None
    source: str | None = None
    target: str | None = None
    rollback: bool = False
    rollback_to: str | None = None
    dry_run: bool = False
    sync: bool = True
    timeout: float = 600.0
    git_token_file: str | None = None
    confirm: Callable[[PromotionPlan], bool] | None = None
    ask: bool = False
    user: str | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass(frozen=True)
class PromotionPlan:
    """What a promotion (or rollback) would change."""

    action: str  # promote | rollback
    app: str
    source: str  # the environment promoted from ("" for a rollback)
    target: str
    image: str
    current: str | None  # digest the target runs now (git)
    digest: str  # digest it will run
    commits: tuple[promotion.Record, ...] = ()  # the source's builds between current and digest
    source_revision: str = ""  # the GitOps commit the source is synced at
    healthy_for: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "app": self.app, "from": self.source or None, "to": self.target,
                "image": self.image, "currentDigest": self.current, "digest": self.digest,
                "sourceCommits": [r.as_dict() for r in self.commits],
                "sourceRevision": self.source_revision or None}


@dataclass(frozen=True)
class PromotionResult:
    plan: PromotionPlan
    dry_run: bool
    commit: str = ""
    pushed: bool = False
    synced: bool = False
    attempts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {**self.plan.as_dict(), "dryRun": self.dry_run, "commit": self.commit or None, "pushed": self.pushed,
                "synced": self.synced}


def _now() -> datetime:
    return datetime.now(UTC)


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _digest_of(images: list[str] | tuple[str, ...], image: str) -> str | None:
    for ref in images:
        name, at, digest = str(ref).partition("@")
        if at and name == image and promotion.DIGEST.match(digest):
            return digest
    return None


def history_records(entries: list[git.LogEntry], app: str, env: str) -> list[promotion.Record]:
    out = []
    for entry in entries:
        rec = promotion.record(entry.commit, entry.author, _parse_time(entry.date) or _now(), entry.body)
        if rec and rec.app == app and rec.environment == env:
            out.append(rec)
    return out


def _overlay_digest(files: Mapping[str, str], path: str, image: str) -> str | None:
    return gitrepo.release_digest(files.get(path), image)


def _cluster_context(config: Config, name: str) -> str | None:
    from .status import cluster_context

    return cluster_context(config, name)


def _connect(config: Config, env: Environment, opts: PromoteOptions, management: Any) -> Any:
    if env.cluster == config.management_cluster.name:
        return management
    context = _cluster_context(config, env.cluster)
    if not context:
        raise UsageError(f"no context for cluster {env.cluster}: set clusters.{env.cluster}.context in {config.source}")
    return kube.connect(kubeconfig=opts.kubeconfig, context=context)


def _live_digest(conn: Any, env: Environment, app: Application, image: str) -> tuple[str | None, str]:
    """The digest the live Deployment's pod template runs, and whether it has rolled out."""
    from ..core.readiness import evaluate

    deployment = conn.get("apps/v1", "Deployment", app.name, env.namespace)
    if deployment is None:
        return None, f"no Deployment {env.namespace}/{app.name}"
    containers = (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    digest = _digest_of([c.get("image", "") for c in containers], image)
    verdict = evaluate(ObjectRef("apps/v1", "Deployment", app.name, env.namespace), deployment)
    return digest, "" if verdict.ready else verdict.message


def _application(conn: Any, app: str, env: str) -> dict[str, Any]:
    name = f"{app}-{env}"[:63].rstrip("-")
    obj = conn.get(*APPLICATION, name, ARGOCD_NAMESPACE)
    if obj is None:
        raise GitopsError(f"Application {ARGOCD_NAMESPACE}/{name} not found",
                          hint="run `kubectl gitops bootstrap` first")
    return obj


def _check_source(config: Config, opts: PromoteOptions, management: Any, source: Environment, app: Application,
                  image: str, git_digest: str | None, reporter: Reporter) -> tuple[str, str, float]:
    """The digest healthy in ``source``, the GitOps revision it is synced at and for how long it has been
    healthy; refuse (one line) when cluster and git disagree or it is not healthy long enough."""
    obj = _application(management, app.name, source.name)
    status = obj.get("status") or {}
    sync = (status.get("sync") or {}).get("status")
    health = status.get("health") or {}
    where = f"{app.name} in {source.name}"
    if sync != "Synced" or health.get("status") != "Healthy":
        message = health.get("message") or next(
            (c.get("message") for c in status.get("conditions") or [] if c.get("message")), "")
        raise GitopsError(f"{where} is not Synced and Healthy (sync {sync or 'Unknown'}, health "
                          f"{health.get('status') or 'Unknown'}){': ' + message if message else ''}",
                          hint=f"promote only what runs well in {source.name}; see `kubectl gitops status`")
    if git_digest is None:
        raise GitopsError(f"nothing to promote: the {source.name} overlay of {app.name} names no image yet",
                          hint=f"build it first: kubectl gitops build {app.name}")
    app_digest = _digest_of((status.get("summary") or {}).get("images") or [], image)
    conn = _connect(config, source, opts, management)
    live_digest, rollout = _live_digest(conn, source, app, image)
    if app_digest != git_digest or live_digest != git_digest:
        raise GitopsError(f"{where} does not run what git says: the overlay names {_short(git_digest)}, Argo CD "
                          f"reports {_short(app_digest)}, the Deployment runs {_short(live_digest)}",
                          hint=f"wait for {source.name} to sync, or find out who changed it by hand")
    if rollout:
        raise GitopsError(f"{where} has not finished rolling out {_short(git_digest)}: {rollout}",
                          hint="promote once the rollout is done")
    since = _parse_time(health.get("lastTransitionTime")) or _parse_time(
        (status.get("operationState") or {}).get("finishedAt"))
    healthy_for = (_now() - since).total_seconds() if since else None
    if source.soak_seconds:
        if healthy_for is None:
            soak = promotion.format_duration(source.soak_seconds)
            raise GitopsError(f"cannot tell how long {where} has been healthy (Argo CD reports no transition time)",
                              hint=f"the soak time of {source.name} is {soak}")
        if healthy_for < source.soak_seconds:
            left = source.soak_seconds - healthy_for
            raise GitopsError(f"{where} has been healthy for {promotion.format_duration(healthy_for)}, less than "
                              f"its soak time of {promotion.format_duration(source.soak_seconds)}",
                              hint=f"promote again in {promotion.format_duration(left)}")
    revision = (status.get("sync") or {}).get("revision") or ""
    return git_digest, revision, healthy_for if healthy_for is not None else -1.0


def _short(digest: str | None) -> str:
    return f"{digest[:19]}" if digest else "nothing"


def _load(opts: PromoteOptions) -> Config:
    """gitops.yaml, with the app, the environments and the flags checked (usage errors before any reading)."""
    config = config_file.load(opts.config)
    if opts.app not in {a.name for a in config.applications}:
        names = ", ".join(a.name for a in config.applications) or "none"
        raise UsageError(f"no application {opts.app!r} in {config.source} (applications: {names})")
    if opts.rollback:
        if opts.target is not None and opts.target not in {e.name for e in config.environments}:
            raise UsageError(f"no environment {opts.target!r} in {config.source} "
                             f"(environments: {', '.join(e.name for e in config.environments)})")
        if opts.rollback_to is not None and not promotion.DIGEST.match(opts.rollback_to):
            raise UsageError(f"--to {opts.rollback_to}: expected a digest sha256:<64 hex>")
    else:
        promotion.environments(config, source=opts.source, target=opts.target)
    if opts.ask and opts.confirm is None and not opts.dry_run:
        what = "rollback" if opts.rollback else "promote"
        raise UsageError(f"{what} changes the GitOps repository and there is no terminal to ask on",
                         hint="pass --yes to confirm, or --dry-run to only show the change")
    return config


def plan(opts: PromoteOptions, reporter: Reporter, config: Config | None = None,
         management: Any = None) -> tuple[Config, PromotionPlan, str | None, Any]:
    """Read everything and decide; returns (config, plan, the branch head read, connection)."""
    config = config or _load(opts)
    app = config.application(opts.app)
    image = gitrepo.image_name(config, app)
    paths = gitrepo.paths(config)
    if opts.rollback:
        target = config.environment(opts.target) if opts.target else None
        if target is None:
            manual = [e for e in config.environments if not e.automated]
            target = manual[-1] if manual else config.environments[-1]
        source = None
    else:
        source, target = promotion.environments(config, source=opts.source, target=opts.target)
    overlay = lambda env: paths.release(app.name, env)  # noqa: E731
    wanted = [overlay(target.name)] + ([overlay(source.name)] if source else [])
    token = repository.resolve_token(opts.git_token_file, opts.environ)
    remote = repository.remote(config, token, opts.environ)
    head, entries, files = git.history(remote, config.gitops.branch, wanted)
    if head is None:
        raise GitopsError(f"branch {config.gitops.branch} of {remote.shown} does not exist",
                          hint="run `kubectl gitops bootstrap` first")
    current = _overlay_digest(files, overlay(target.name), image)
    target_history = history_records(entries, app.name, target.name)
    if management is None:
        management = kube.connect(kubeconfig=opts.kubeconfig, context=opts.context)
    if opts.rollback:
        if opts.rollback_to:
            if not any(r.digest == opts.rollback_to for r in target_history):
                raise GitopsError(f"{opts.rollback_to[:19]} never ran in {target.name}",
                                  hint=f"see `kubectl gitops history {app.name} --env {target.name}`")
            digest = opts.rollback_to
        else:
            previous = promotion.previous_digest(target_history, current)
            if previous is None:
                raise GitopsError(f"nothing to roll back to: {target.name} has run no other digest of {app.name}",
                                  hint=f"see `kubectl gitops history {app.name} --env {target.name}`")
            digest = previous.digest
        if digest == current:
            raise GitopsError(f"{app.name} in {target.name} already runs {_short(digest)}")
        reporter.success(f"{app.name} in {target.name}: {_short(current)} now, back to {_short(digest)}")
        return config, PromotionPlan("rollback", app.name, "", target.name, image, current, digest), head, management
    source_digest = _overlay_digest(files, overlay(source.name), image)
    digest, revision, healthy_for = _check_source(config, opts, management, source, app, image, source_digest,
                                                  reporter)
    if digest == current:
        raise GitopsError(f"nothing to promote: {app.name} in {target.name} already runs {_short(digest)}, as "
                          f"{source.name} does")
    source_history = history_records(entries, app.name, source.name)
    brings = tuple(promotion.between(source_history, current, digest))
    healthy = f", healthy for {promotion.format_duration(healthy_for)}" if healthy_for >= 0 else ""
    reporter.success(f"{app.name} in {source.name}: {_short(digest)} Synced and Healthy{healthy}, the same in "
                     "Argo CD, the Deployment and git")
    return config, PromotionPlan("promote", app.name, source.name, target.name, image, current, digest, brings,
                                 revision, healthy_for if healthy_for >= 0 else None), head, management


def _edit(config: Config, pp: PromotionPlan) -> Callable[[Path], list[str]]:
    app = config.application(pp.app)
    rel = gitrepo.paths(config).release(app.name, pp.target)

    def edit(work: Path) -> list[str]:
        path = work / rel
        now = gitrepo.release_digest(path.read_text(encoding="utf-8") if path.is_file() else None, pp.image)
        if now == pp.digest:
            raise GitopsError(f"{pp.app} in {pp.target} was just changed to {_short(pp.digest)} by someone else",
                              hint=f"nothing left to do; see `kubectl gitops history {pp.app} --env {pp.target}`")
        if now != pp.current:
            raise GitopsError(f"{pp.app} in {pp.target} changed while this {pp.action} was prepared (now "
                              f"{_short(now)}, was {_short(pp.current)})",
                              hint=f"run `kubectl gitops {pp.action} {pp.app}` again to see the new state")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(gitrepo.release_file(pp.image, pp.digest, app=app.name, replicas=app.replicas_in(pp.target)),
                        encoding="utf-8")
        return [rel]

    return edit


def _message(pp: PromotionPlan, user: str) -> str:
    if pp.action == "promote":
        subject = f"promote {pp.app} {pp.digest} from {pp.source}"
        extra = {"From": pp.source}
    else:
        subject = f"rollback {pp.app} in {pp.target} to {pp.digest}"
        extra = {}
    if pp.source_revision:
        extra["Source-Revision"] = pp.source_revision
    extra["Requested-By"] = user
    # two identical requests in the same second would otherwise make the same commit, and both "win"
    extra["Request"] = secrets.token_hex(6)
    return promotion.message(pp.action, pp.app, pp.target, pp.digest, subject=subject, extra=extra)


def run(opts: PromoteOptions, *, reporter: Reporter | None = None) -> PromotionResult:
    """Promote (or roll back) ``opts.app``; see the module docstring.

    Raises:
        UsageError: unknown app or environment, bad flags.
        GitopsError: a refusal (not healthy, soak, disagreement, nothing to do), a refused push, a
            concurrent change of the same overlay, a failed sync (Argo CD's message), a timeout.
    """
    reporter = reporter or Reporter()
    deadline = time.monotonic() + opts.timeout
    config, pp, head, management = plan(opts, reporter, _load(opts))
    if opts.dry_run:
        return PromotionResult(pp, dry_run=True)
    if opts.confirm is not None and not opts.confirm(pp):
        raise GitopsError(f"{pp.action} of {pp.app} to {pp.target} cancelled: nothing was changed")
    user = opts.user or opts.environ.get("USER") or getpass.getuser()
    token = repository.resolve_token(opts.git_token_file, opts.environ)
    remote = repository.remote(config, token, opts.environ)
    result = git.commit_change(remote, config.gitops.branch, _edit(config, pp), _message(pp, user))
    reporter.created(f"GitOps repository: commit {result.sha[:12]} ({pp.action} {pp.app} {_short(pp.digest)} to "
                     f"{pp.target})" + (f" after {result.attempts} attempts" if result.attempts > 1 else ""))
    done = PromotionResult(pp, dry_run=False, commit=result.sha, pushed=True, attempts=result.attempts)
    if not opts.sync:
        return done
    _sync(config, management, pp, result.sha, user, deadline, reporter)
    return replace(done, synced=True)


def _sync(config: Config, conn: Any, pp: PromotionPlan, sha: str, user: str, deadline: float,
          reporter: Reporter) -> None:
    """Ask Argo CD to sync the target Application at ``sha`` and wait until it is Synced there and Healthy."""
    name = f"{pp.app}-{pp.target}"[:63].rstrip("-")
    conn.patch(*APPLICATION, name, ARGOCD_NAMESPACE, patch={
        "metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}},
        "operation": {"initiatedBy": {"username": user},
                      "info": [{"name": "Reason", "value": f"kubectl gitops {pp.action}"}],
                      "sync": {"revision": sha}}})
    reporter.action(f"Argo CD: syncing {name} at {sha[:12]}")
    delay = 0.1
    while True:
        obj = conn.get(*APPLICATION, name, ARGOCD_NAMESPACE) or {}
        state = (obj.get("status") or {}).get("operationState") or {}
        asked = (((state.get("operation") or {}).get("sync") or {}).get("revision")
                 or (state.get("syncResult") or {}).get("revision"))
        if asked == sha and not obj.get("operation") and state.get("phase") in ("Failed", "Error"):
            raise GitopsError(f"Argo CD could not sync {name} at {sha[:12]}: {state.get('message') or state['phase']}",
                              hint=f"the commit is pushed; fix the cause and run `kubectl gitops {pp.action} "
                                   f"{pp.app}` again, or sync {name} in Argo CD")
        if asked == sha and not obj.get("operation") and state.get("phase") == "Succeeded":
            break
        left = deadline - time.monotonic()
        if left <= 0:
            raise GitopsError(f"Argo CD did not finish syncing {name} at {sha[:12]} in time",
                              hint="the commit is pushed; see `kubectl gitops status`")
        time.sleep(min(delay, left))
        delay = min(delay * 2, 2.0)
    ref = ObjectRef(*APPLICATION, name, ARGOCD_NAMESPACE, expected_revision=sha)
    conn.wait([ref], timeout=max(1.0, deadline - time.monotonic()), reporter=reporter, what=f"{name} at {sha[:12]}")
    reporter.success(f"{pp.app} in {pp.target}: Synced at {sha[:12]} and Healthy, running {_short(pp.digest)}")
