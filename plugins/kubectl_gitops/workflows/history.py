"""`kubectl gitops history`: what ran where, from the GitOps repository's history of an app's overlays.

Every build, promotion and rollback is one commit to an overlay carrying the tool's ``Gitops-*``
trailers (:mod:`core.promotion`); this lists them, newest first: action, digest, commit, who, when.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..adapters import config_file, git
from ..core import gitrepo, promotion
from ..core.errors import GitopsError, UsageError
from . import repository
from .promote import history_records


@dataclass(frozen=True)
class HistoryOptions:
    app: str
    config: str = "gitops.yaml"
    environment: str | None = None  # default: every environment
    git_token_file: str | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


def run(opts: HistoryOptions) -> list[promotion.Record]:
    """The records of ``opts.app`` (in ``opts.environment``, or in every environment), newest first.

    Raises:
        UsageError: unknown app or environment. GitopsError: the repository cannot be read.
    """
    config = config_file.load(opts.config)
    names = [a.name for a in config.applications]
    if opts.app not in names:
        raise UsageError(f"no application {opts.app!r} in {config.source} (applications: {', '.join(names) or 'none'})")
    envs = [e.name for e in config.environments]
    if opts.environment and opts.environment not in envs:
        raise UsageError(f"no environment {opts.environment!r} in {config.source} (environments: {', '.join(envs)})")
    wanted = [opts.environment] if opts.environment else envs
    paths = gitrepo.paths(config)
    files = [paths.release(opts.app, env) for env in wanted]
    remote = repository.remote(config, repository.resolve_token(opts.git_token_file, opts.environ), opts.environ)
    head, entries, _ = git.history(remote, config.gitops.branch, files)
    if head is None:
        raise GitopsError(f"branch {config.gitops.branch} of {remote.shown} does not exist",
                          hint="run `kubectl gitops bootstrap` first")
    records = [r for env in wanted for r in history_records(entries, opts.app, env)]
    order = {e.commit: i for i, e in enumerate(entries)}
    return sorted(records, key=lambda r: order.get(r.commit, 0))
