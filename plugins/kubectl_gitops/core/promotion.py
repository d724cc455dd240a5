"""What promote, rollback and history agree on; no I/O.

Every commit the tool makes to an app's overlay carries trailers that say what it did, so the
overlay's git history is the record of what ran where (``kubectl gitops history``) and what to go
back to (``kubectl gitops rollback``)::

    promote web sha256:1f2e... from dev

    Gitops-App: web
    Gitops-Environment: prod
    Gitops-Action: promote
    Gitops-Digest: sha256:1f2e...
    Gitops-From: dev

Actions: ``build`` (a build wrote dev), ``promote``, ``rollback``. Builds also name the app's
source commit (``Gitops-Source-Commit``), which is how promote lists the source commits a
promotion brings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from .config import Config, Environment
from .errors import UsageError

TRAILER_PREFIX = "Gitops-"
_TRAILER = re.compile(r"^(Gitops-[A-Za-z-]+):\s*(.+?)\s*$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def format_duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s" if seconds % 60 else f"{seconds // 60}m"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if rest >= 60 else f"{hours}h"


def environments(config: Config, *, source: str | None, target: str | None) -> tuple[Environment, Environment]:
    """The (source, target) of a promotion: by default dev and the environment after it, in gitops.yaml's order.

    Raises:
        UsageError: an unknown environment, or a target that does not come after the source.
    """
    order = [e.name for e in config.environments]
    for name in (source, target):
        if name is not None and name not in order:
            raise UsageError(f"no environment {name!r} in {config.source} (environments: {', '.join(order)})")
    if source is None and target is not None:
        index = order.index(target)
        if index == 0:
            raise UsageError(f"{target} is the first environment: nothing comes before it to promote from")
        source = order[index - 1]
    source = source or "dev"
    index = order.index(source)
    if target is None:
        if index + 1 >= len(order):
            raise UsageError(f"{source} is the last environment: pass --to")
        target = order[index + 1]
    if order.index(target) <= index:
        raise UsageError(f"--to {target} does not come after {source} in {config.source} ({' -> '.join(order)})")
    return config.environment(source), config.environment(target)


def trailers(message: str) -> dict[str, str]:
    """The ``Gitops-*`` trailers of a commit message."""
    out = {}
    for line in message.splitlines():
        match = _TRAILER.match(line.strip())
        if match:
            out[match.group(1)] = match.group(2)
    return out


def message(action: str, app: str, env: str, digest: str, *, subject: str,
            extra: Mapping[str, str] | None = None) -> str:
    lines = [subject, "", f"Gitops-App: {app}", f"Gitops-Environment: {env}", f"Gitops-Action: {action}",
             f"Gitops-Digest: {digest}"]
    lines += [f"Gitops-{key}: {value}" for key, value in (extra or {}).items()]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Record:
    """One commit of an overlay's history that the tool made (newest first in lists)."""

    action: str  # build | promote | rollback
    app: str
    environment: str
    digest: str
    commit: str
    author: str
    date: datetime
    subject: str
    source: str = ""  # the environment promoted from
    source_commit: str = ""  # the app's commit a build was made from

    def as_dict(self) -> dict[str, str]:
        data = {"action": self.action, "app": self.app, "environment": self.environment, "digest": self.digest,
                "commit": self.commit, "author": self.author, "date": self.date.isoformat(),
                "subject": self.subject}
        if self.source:
            data["from"] = self.source
        if self.source_commit:
            data["sourceCommit"] = self.source_commit
        return data


def record(commit: str, author: str, date: datetime, body: str) -> Record | None:
    """The :class:`Record` of a commit, or None when the tool's trailers are not in its message."""
    found = trailers(body)
    needed = ("Gitops-App", "Gitops-Environment", "Gitops-Action", "Gitops-Digest")
    if not all(k in found for k in needed) or not DIGEST.match(found["Gitops-Digest"]):
        return None
    return Record(action=found["Gitops-Action"], app=found["Gitops-App"], environment=found["Gitops-Environment"],
                  digest=found["Gitops-Digest"], commit=commit, author=author, date=date,
                  subject=body.splitlines()[0] if body else "", source=found.get("Gitops-From", ""),
                  source_commit=found.get("Gitops-Source-Commit", ""))


def previous_digest(history: list[Record], current: str | None) -> Record | None:
    """The newest record before the current digest that ran another digest (what rollback goes back to)."""
    seen_current = current is None
    for entry in history:  # newest first
        if not seen_current:
            if entry.digest == current:
                seen_current = True
            continue
        if entry.digest != current:
            return entry
    return None


def between(history: list[Record], old: str | None, new: str) -> list[Record]:
    """The source environment's records from ``new`` back to (not including) ``old``: what a promotion brings."""
    out: list[Record] = []
    started = False
    for entry in history:  # newest first
        if not started:
            if entry.digest == new:
                started = True
            else:
                continue
        if old is not None and entry.digest == old:
            break
        out.append(entry)
    return out
