"""Merging cluster access into a user's kubeconfig without disturbing anything else (pure).

Every entry this project writes (a context, its cluster and its user, named like doctl's
``do-<region>-<platform>-<cluster>`` and ``...-admin``) carries a named extension
``kubectl-gitops`` recording the platform, the cluster and when its token expires. That
mark is what makes the merge safe:

- entries without the mark are never changed, reordered or removed; an unmarked entry with
  a name we would write blocks the merge instead of being overwritten;
- teardown removes exactly the marked entries of its platform;
- a re-run keeps a marked entry whose token is still valid, so an unchanged kubeconfig is
  not rewritten.

Token expiry is recorded against the local clock (the time of the request plus the lifetime
asked for), so it needs no agreement between clocks.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml

from . import inputs
from .errors import UsageError
from .secrets import Secret

EXTENSION = "kubectl-gitops"
RENEW_BEFORE = 24 * 3600.0  # renew a token with less than a day left
KINDS = (("contexts", "context"), ("clusters", "cluster"), ("users", "user"))


@dataclass(frozen=True)
class ClusterCredentials:
    """Everything a kubeconfig needs to reach one cluster, and whose cluster it is."""

    context: str
    server: str
    certificate_authority_data: str
    token: Secret
    expires_at: float  # epoch seconds, local clock
    platform: str
    cluster: str  # gitops.yaml cluster name
    cluster_id: str

    @property
    def user(self) -> str:
        return f"{self.context}-admin"


def user_name(context: str) -> str:
    return f"{context}-admin"


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def loads(text: str, *, source: str) -> dict[str, Any]:
    """Parse kubeconfig text (empty text is an empty config).

    Raises:
        UsageError: the text is not a YAML mapping.
    """
    try:
        data = inputs.load_yaml(text, source=source, error=UsageError) if text.strip() else {}
    except yaml.YAMLError:
        raise UsageError(f"{source} is not a valid kubeconfig (YAML error)",
                         hint="fix it, or pass --kubeconfig with another file") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f"{source} is not a valid kubeconfig (not a mapping)",
                         hint="fix it, or pass --kubeconfig with another file")
    for key, _ in KINDS:
        if data.get(key) is not None and not isinstance(data[key], list):
            raise UsageError(f"{source} is not a valid kubeconfig ({key} is not a list)",
                             hint="fix it, or pass --kubeconfig with another file")
    return data


def dumps(doc: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(doc), sort_keys=False, default_flow_style=False)


def _entries(doc: Mapping[str, Any], key: str) -> list[Any]:
    return list(doc.get(key) or [])


def _find(doc: Mapping[str, Any], key: str, name: str) -> dict[str, Any] | None:
    for entry in _entries(doc, key):
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    return None


def _mark(entry: Mapping[str, Any] | None, inner: str) -> dict[str, Any] | None:
    """Our extension on an entry, or None."""
    if not isinstance(entry, dict) or not isinstance(entry.get(inner), dict):
        return None
    for ext in entry[inner].get("extensions") or []:
        if isinstance(ext, dict) and ext.get("name") == EXTENSION and isinstance(ext.get("extension"), dict):
            return ext["extension"]
    return None


def inspect(
    doc: Mapping[str, Any],
    *,
    context: str,
    platform: str,
    cluster_id: str | None,
    now: float | None = None,
) -> tuple[str, str]:
    """What merging credentials for ``context`` would do: (action, reason).

    ``action`` is ``create`` (no such entries), ``keep`` (ours, same cluster, token valid for
    more than a day), ``update`` (ours but for another cluster, incomplete or expiring) or
    ``blocked`` (an entry of that name that this project did not write). ``cluster_id`` None
    means the cluster does not exist yet.
    """
    now = time.time() if now is None else now
    names = {"contexts": context, "clusters": context, "users": user_name(context)}
    found = {key: _find(doc, key, names[key]) for key, _ in KINDS}
    if not any(found.values()):
        return "create", "context added to the kubeconfig"
    marks = {}
    for key, inner in KINDS:
        entry = found[key]
        if entry is None:
            continue
        mark = _mark(entry, inner)
        if mark is None or mark.get("platform") != platform:
            what = key[:-1]
            return "blocked", (f"the kubeconfig already has a {what} named {names[key]} that kubectl-gitops did not "
                               f"write: rename or delete it (kubectl config delete-{what} {names[key]}), or pass "
                               "--kubeconfig with another file")
        marks[key] = mark
    if len(marks) < len(KINDS):
        return "update", "context entries incomplete: rewritten"
    if cluster_id is None or any(m.get("cluster-id") != cluster_id for m in marks.values()):
        return "update", "context points at a cluster that no longer exists: rewritten"
    expires = _parse_time(marks["users"].get("expires-at"))
    if expires is None or expires - now < RENEW_BEFORE:
        return "update", "cluster token expires within a day: renewed"
    return "keep", f"token valid until {_rfc3339(expires)}"


def _extension(creds: ClusterCredentials, *, with_expiry: bool) -> list[dict[str, Any]]:
    ext: dict[str, Any] = {"platform": creds.platform, "cluster": creds.cluster, "cluster-id": creds.cluster_id}
    if with_expiry:
        ext["expires-at"] = _rfc3339(creds.expires_at)
    return [{"name": EXTENSION, "extension": ext}]


def entries_for(creds: ClusterCredentials) -> dict[str, dict[str, Any]]:
    """The context, cluster and user entries for ``creds`` (the token in clear: kubeconfig only)."""
    return {
        "clusters": {
            "name": creds.context,
            "cluster": {
                "server": creds.server,
                "certificate-authority-data": creds.certificate_authority_data,
                "extensions": _extension(creds, with_expiry=False),
            },
        },
        "users": {
            "name": creds.user,
            "user": {"token": creds.token.reveal(), "extensions": _extension(creds, with_expiry=True)},
        },
        "contexts": {
            "name": creds.context,
            "context": {
                "cluster": creds.context,
                "user": creds.user,
                "extensions": _extension(creds, with_expiry=False),
            },
        },
    }


def merge(doc: Mapping[str, Any], credentials: Iterable[ClusterCredentials], *,
          current: str | None = None) -> dict[str, Any]:
    """A new kubeconfig: ``doc`` with entries for ``credentials`` added or replaced.

    Only entries carrying this project's mark (or new names) are written; every other entry
    stays as it was, in place. ``current`` becomes the current context only when none is set.

    Raises:
        UsageError: an unmarked entry has a name to be written (check with :func:`inspect`).
    """
    out = copy.deepcopy(dict(doc))
    out.setdefault("apiVersion", "v1")
    out.setdefault("kind", "Config")
    for creds in credentials:
        for key, entry in entries_for(creds).items():
            inner = dict(KINDS)[key]
            items = list(out.get(key) or [])
            for index, existing in enumerate(items):
                if isinstance(existing, dict) and existing.get("name") == entry["name"]:
                    if _mark(existing, inner) is None:
                        raise UsageError(f"the kubeconfig already has a {key[:-1]} named {entry['name']} that "
                                         "kubectl-gitops did not write",
                                         hint="rename or delete it, or pass --kubeconfig with another file")
                    items[index] = entry
                    break
            else:
                items.append(entry)
            out[key] = items
    out.setdefault("preferences", {})
    if current and not out.get("current-context"):
        out["current-context"] = current
    return out


def owned_contexts(doc: Mapping[str, Any], platform: str) -> list[str]:
    """Names of the contexts this project wrote for ``platform``."""
    return [e["name"] for e in _entries(doc, "contexts")
            if isinstance(e, dict) and (_mark(e, "context") or {}).get("platform") == platform]


def remove(doc: Mapping[str, Any], platform: str) -> tuple[dict[str, Any], list[str]]:
    """``doc`` without the marked entries of ``platform``; returns it and the entry names removed."""
    out = copy.deepcopy(dict(doc))
    removed: list[str] = []
    for key, inner in KINDS:
        kept = []
        for entry in _entries(out, key):
            if (_mark(entry, inner) or {}).get("platform") == platform:
                removed.append(f"{key[:-1]} {entry.get('name')}")
            else:
                kept.append(entry)
        if key in out:
            out[key] = kept
    if removed and out.get("current-context") in {n.split(" ", 1)[1] for n in removed if n.startswith("context ")}:
        out["current-context"] = ""
    return out, removed
