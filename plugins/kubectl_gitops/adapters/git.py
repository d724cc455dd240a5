"""The one module that runs the ``git`` binary: the user's GitOps repository.

Everything goes through the user's own git: their credential helper and SSH agent work as they
do on the command line. A token given to the tool (``--git-token-file`` or ``GITOPS_GIT_TOKEN``)
reaches git only as an HTTP ``Authorization`` header scoped to the repository's URL, through
``GIT_CONFIG_*`` environment variables: never on a command line, in a URL, a file or a message.
git never prompts (``GIT_TERMINAL_PROMPT=0``): a missing credential is an error, not a hang.

:func:`commit_change` is the write path: a shallow clone of the branch in a temporary directory,
the caller's structural edit, one commit, a push; when the push is rejected because the branch
moved, it fetches the new head, applies the edit again on top of it and retries. Never a force
push. An edit that changes nothing makes no commit.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..core.errors import GitopsError, ToolError
from ..core.secrets import Secret

DEFAULT_AUTHOR = ("kubectl-gitops", "kubectl-gitops@users.noreply.kubectl.dev")
_SCP = re.compile(r"^(?:[\w.-]+@)?[\w.-]+:(?!//)")
_SHA = re.compile(r"^[0-9a-f]{40}$")
PUSH_ATTEMPTS = 6


class GitError(GitopsError):
    """git failed; the message says what it was doing and git's own last line."""


class GitAuthError(GitError):
    """The repository refused the credentials (or there were none)."""


class PushRejected(GitError):
    """The push was refused for another reason than a moved branch (protected branch, hook, permission)."""


@dataclass(frozen=True)
class Remote:
    """A GitOps repository as the user named it, with the credential to use for it.

    ``url`` is an https/http/ssh/scp-style URL, a ``file://`` URL or a local path (made absolute).
    """

    url: str
    token: Secret | None = None
    username: str = "x-access-token"
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def kind(self) -> str:
        """``https``, ``http``, ``ssh`` or ``local``."""
        return url_kind(self.url)

    @property
    def shown(self) -> str:
        """The URL without any user information, for messages."""
        return redact_url(self.url)


def url_kind(url: str) -> str:
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("https", "http", "ssh"):
        return scheme
    if scheme == "file" or url.startswith(("/", "./", "../")) or not _SCP.match(url):
        return "local"
    return "ssh"


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


def normalize_url(url: str, *, base: Path | None = None) -> str:
    """A local path becomes an absolute ``file://`` URL (relative to ``base``); others are kept."""
    if url_kind(url) == "local" and not url.startswith("file://"):
        path = Path(url).expanduser()
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        return path.resolve().as_uri()
    return url


@dataclass(frozen=True)
class Git:
    path: str
    version: tuple[int, ...]


def find_git(environ: Mapping[str, str] | None = None) -> Git:
    """The git binary on PATH.

    Raises:
        ToolError: git is missing or older than 2.31 (``GIT_CONFIG_COUNT``).
    """
    env = dict(environ or os.environ)
    path = shutil.which("git", path=env.get("PATH"))
    if not path:
        raise ToolError("git is not on PATH", hint="install git 2.31 or newer")
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=False)
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out.stdout)
    version = tuple(int(g or 0) for g in match.groups()) if match else (0, 0, 0)
    if version < (2, 31):
        raise ToolError(f"git {out.stdout.strip() or '(unknown version)'} is too old", hint="install git 2.31 or newer")
    return Git(path=path, version=version)


def _env(remote: Remote) -> dict[str, str]:
    env = {k: v for k, v in remote.environ.items() if not k.startswith("GIT_CONFIG_")}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="", SSH_ASKPASS="", LC_ALL="C", GIT_ADVICE="0")
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    count = 0
    if remote.token and remote.kind in ("https", "http"):
        parts = urlsplit(remote.url)
        prefix = urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], "/", "", ""))
        basic = base64.b64encode(f"{remote.username}:{remote.token.reveal()}".encode()).decode()
        env[f"GIT_CONFIG_KEY_{count}"] = f"http.{prefix}.extraHeader"
        env[f"GIT_CONFIG_VALUE_{count}"] = f"Authorization: Basic {basic}"
        count += 1
        # the header is the credential: a credential helper must not be asked, nor store anything
        env[f"GIT_CONFIG_KEY_{count}"] = "credential.helper"
        env[f"GIT_CONFIG_VALUE_{count}"] = ""
        count += 1
    if count:
        env["GIT_CONFIG_COUNT"] = str(count)
    return env


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    for line in reversed(lines):
        if line.startswith(("fatal:", "error:", "remote:", "ERROR")):
            return line
    return lines[-1] if lines else ""


def _classify(remote: Remote, stderr: str, doing: str) -> GitError:
    text = stderr.lower()
    line = _last_line(stderr)
    if remote.token:
        line = remote.token.redact(line)
    where = remote.shown
    auth_words = ("authentication failed", "could not read username", "invalid username or password",
                  "terminal prompts disabled", "permission denied (publickey", "http basic: access denied",
                  "the requested url returned error: 401", "the requested url returned error: 403")
    if any(w in text for w in auth_words):
        how = ("the token (--git-token-file or GITOPS_GIT_TOKEN)" if remote.token
               else "your git credentials (credential helper or SSH agent), or pass --git-token-file")
        return GitAuthError(f"the GitOps repository {where} refused the credentials while {doing}",
                            hint=f"check {how}: it needs read and write access to the repository")
    unreachable = ("could not resolve host", "connection refused", "failed to connect", "connection timed out",
                   "could not connect", "network is unreachable", "operation timed out", "no route to host")
    if any(w in text for w in unreachable):
        return GitError(f"cannot reach the GitOps repository {where} while {doing}: {line}",
                        hint="check gitops.repo in gitops.yaml and your network")
    missing = ("does not appear to be a git repository", "repository not found", "not found",
               "no such file or directory")
    if any(w in text for w in missing):
        return GitError(f"the GitOps repository {where} does not exist (or is not visible with these credentials)",
                        hint="create it (an empty repository is fine) or fix gitops.repo in gitops.yaml")
    return GitError(f"git failed while {doing} ({where}): {line or 'no message'}")


class _Runner:
    def __init__(self, remote: Remote, git: Git | None = None, *, timeout: float = 120.0) -> None:
        self.remote = remote
        self.git = git or find_git(remote.environ)
        self.env = _env(remote)
        self.timeout = timeout

    def run(self, args: list[str], *, cwd: Path | None = None, doing: str, check: bool = True,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        try:
            out = subprocess.run([self.git.path, *args], cwd=cwd, env={**self.env, **(env or {})},
                                 capture_output=True, text=True, timeout=self.timeout, check=False,
                                 stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise GitError(f"git took longer than {self.timeout:g} s while {doing} ({self.remote.shown})",
                           hint="check the network and the repository's host") from None
        if check and out.returncode != 0:
            raise _classify(self.remote, out.stderr, doing)
        return out


@dataclass(frozen=True)
class RemoteState:
    """What ``git ls-remote`` saw: ``heads`` maps branch names to commit SHAs; empty means an empty repository."""

    heads: Mapping[str, str]

    @property
    def empty(self) -> bool:
        return not self.heads


def ls_remote(remote: Remote, *, git: Git | None = None, timeout: float = 60.0) -> RemoteState:
    """The branches of ``remote``: proves it is reachable and the credentials are accepted.

    Raises:
        GitAuthError: credentials missing or refused.
        GitError: unreachable, missing, or git failed otherwise (one line each).
    """
    runner = _Runner(remote, git, timeout=timeout)
    out = runner.run(["ls-remote", "--heads", remote.url], doing="reading its branches")
    heads = {}
    for line in out.stdout.splitlines():
        sha, _, ref = line.partition("\t")
        if ref.startswith("refs/heads/") and _SHA.match(sha.strip()):
            heads[ref.removeprefix("refs/heads/")] = sha.strip()
    return RemoteState(heads=heads)


@dataclass(frozen=True)
class CommitResult:
    """The outcome of :func:`commit_change`: ``sha`` is the branch head afterwards (ours when ``committed``)."""

    sha: str
    committed: bool
    changed: tuple[str, ...]
    attempts: int = 1


Edit = Callable[[Path], list[str]]  # edits the work tree in place, returns the paths it changed


def _identity(runner: _Runner, cwd: Path) -> dict[str, str]:
    """The user's own name and email when git knows them; the tool's otherwise."""
    env: dict[str, str] = {}
    name = runner.run(["config", "user.name"], cwd=cwd, doing="reading user.name", check=False).stdout.strip()
    email = runner.run(["config", "user.email"], cwd=cwd, doing="reading user.email", check=False).stdout.strip()
    if not name or not email:
        env.update(GIT_AUTHOR_NAME=name or DEFAULT_AUTHOR[0], GIT_AUTHOR_EMAIL=email or DEFAULT_AUTHOR[1],
                   GIT_COMMITTER_NAME=name or DEFAULT_AUTHOR[0], GIT_COMMITTER_EMAIL=email or DEFAULT_AUTHOR[1])
    return env


def _checkout(runner: _Runner, work: Path, branch: str, state: RemoteState) -> str | None:
    """Make ``work`` a shallow clone of ``branch`` (or a new repository when the branch is absent); its head."""
    url = runner.remote.url
    if branch in state.heads:
        runner.run(["clone", "--quiet", "--depth", "1", "--single-branch", "--branch", branch, "--no-tags",
                    url, str(work)], doing=f"cloning branch {branch}")
        return runner.run(["rev-parse", "HEAD"], cwd=work, doing="reading the head").stdout.strip()
    runner.run(["init", "--quiet", "--initial-branch", branch, str(work)], doing="creating a work tree")
    runner.run(["remote", "add", "origin", url], cwd=work, doing="adding the remote")
    return None


def _refetch(runner: _Runner, work: Path, branch: str) -> str:
    runner.run(["fetch", "--quiet", "--depth", "1", "origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}"],
               cwd=work, doing=f"fetching branch {branch}")
    runner.run(["reset", "--quiet", "--hard", f"origin/{branch}"], cwd=work, doing="moving onto the new head")
    runner.run(["clean", "-fdq"], cwd=work, doing="cleaning the work tree")
    return runner.run(["rev-parse", "HEAD"], cwd=work, doing="reading the head").stdout.strip()


def _moved(stderr: str) -> bool:
    text = stderr.lower()
    return any(w in text for w in ("non-fast-forward", "fetch first", "[rejected]", "stale info",
                                    "cannot lock ref", "failed to update ref", "incorrect old value"))


def commit_change(remote: Remote, branch: str, edit: Edit, message: str, *, git: Git | None = None,
                  state: RemoteState | None = None, timeout: float = 120.0, attempts: int = PUSH_ATTEMPTS,
                  work_dir: str | os.PathLike[str] | None = None) -> CommitResult:
    """Apply ``edit`` to ``branch`` of ``remote`` as one commit, and push it.

    The branch is created when it does not exist (an empty repository). When the push is
    rejected because the branch moved, the edit is applied again on the new head and pushed
    again, up to ``attempts`` times; nothing is ever force-pushed.

    Raises:
        GitAuthError, GitError: as :func:`ls_remote`; PushRejected: the host refused the push
        for another reason (a protected branch, a hook, no write access).
    """
    runner = _Runner(remote, git, timeout=timeout)
    state = state or ls_remote(remote, git=runner.git, timeout=timeout)
    with tempfile.TemporaryDirectory(prefix="kubectl-gitops-", dir=work_dir) as tmp:
        work = Path(tmp) / "repo"
        head = _checkout(runner, work, branch, state)
        identity = _identity(runner, work)
        for attempt in range(1, attempts + 1):
            changed = sorted(set(edit(work)))
            runner.run(["add", "--all", "."], cwd=work, doing="staging the change")
            status = runner.run(["status", "--porcelain"], cwd=work, doing="comparing").stdout
            if not status.strip():
                return CommitResult(sha=head or "", committed=False, changed=(), attempts=attempt)
            runner.run(["commit", "--quiet", "--no-verify", "-m", message], cwd=work, doing="committing",
                       env=identity)
            sha = runner.run(["rev-parse", "HEAD"], cwd=work, doing="reading the commit").stdout.strip()
            out = runner.run(["push", "--quiet", "--porcelain", "origin", f"HEAD:refs/heads/{branch}"], cwd=work,
                             doing=f"pushing to branch {branch}", check=False)
            if out.returncode == 0:
                return CommitResult(sha=sha, committed=True, changed=tuple(changed), attempts=attempt)
            combined = out.stderr + out.stdout
            if not _moved(combined):
                error = _classify(remote, out.stderr, f"pushing to branch {branch}")
                if type(error) is GitError and "failed while" in error.message:
                    raise PushRejected(f"the GitOps repository {remote.shown} refused the push to branch {branch}: "
                                       f"{_last_line(remote.token.redact(combined) if remote.token else combined)}",
                                       hint="check that the credentials may push to that branch "
                                            "(branch protection, read-only token)")
                raise error
            if attempt == attempts:
                break
            time.sleep(min(0.2 * attempt, 1.0))
            head = _refetch(runner, work, branch)
        raise GitError(f"branch {branch} of {remote.shown} kept moving: the change was re-applied {attempts} times "
                       "and every push was overtaken", hint="re-run when the other writers are done")


def clone(remote: Remote, branch: str, dest: str | os.PathLike[str], *, git: Git | None = None,
          timeout: float = 120.0) -> str:
    """A shallow clone of ``branch`` into ``dest``; its head commit."""
    runner = _Runner(remote, git, timeout=timeout)
    runner.run(["clone", "--quiet", "--depth", "1", "--single-branch", "--branch", branch, "--no-tags",
                remote.url, str(dest)], doing=f"cloning branch {branch}")
    return runner.run(["rev-parse", "HEAD"], cwd=Path(dest), doing="reading the head").stdout.strip()


@dataclass(frozen=True)
class LogEntry:
    commit: str
    author: str
    email: str
    date: str  # ISO 8601
    body: str


def history(remote: Remote, branch: str, paths: list[str], *, git: Git | None = None, timeout: float = 120.0,
            checkout: str | os.PathLike[str] | None = None) -> tuple[str | None, list[LogEntry], dict[str, str]]:
    """The branch head, the commits touching ``paths`` (newest first) and the content of each of ``paths``
    at the head (absent files left out). An absent branch gives ``(None, [], {})``.

    With ``checkout``, the clone is left there for the caller (a directory that does not exist yet).
    """
    runner = _Runner(remote, git, timeout=timeout)
    state = ls_remote(remote, git=runner.git, timeout=timeout)
    if branch not in state.heads:
        return None, [], {}
    with tempfile.TemporaryDirectory(prefix="kubectl-gitops-") as tmp:
        work = Path(checkout) if checkout else Path(tmp) / "repo"
        runner.run(["clone", "--quiet", "--single-branch", "--branch", branch, "--no-tags", remote.url, str(work)],
                   doing=f"cloning branch {branch}")
        head = runner.run(["rev-parse", "HEAD"], cwd=work, doing="reading the head").stdout.strip()
        out = runner.run(["log", "--format=%H%x1f%an%x1f%ae%x1f%aI%x1f%B%x1e", "HEAD", "--", *paths], cwd=work,
                         doing="reading the history").stdout
        entries = []
        for chunk in out.split("\x1e"):
            chunk = chunk.strip("\n")
            if not chunk:
                continue
            sha, author, email, date, body = (chunk.split("\x1f") + [""] * 5)[:5]
            entries.append(LogEntry(sha.strip(), author, email, date, body.strip()))
        files = {p: (work / p).read_text(encoding="utf-8") for p in paths if (work / p).is_file()}
        return head, entries, files
