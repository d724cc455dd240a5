"""The git host stand-in (:mod:`fakegit`) against the real git CLI: clone, push and ls-remote over smart
HTTP, basic authentication with a token, refused pushes, a host that went away, and no password in its
records."""

from __future__ import annotations

import os
import subprocess

import pytest

from fakegit import FakeGitHost

TOKEN = "sentinel-git-token-3f9a"


def git(*args, cwd=None, check=False):
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", "-c", "credential.helper=", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=60, check=check)


@pytest.fixture
def host(tmp_path):
    with FakeGitHost(tmp_path / "repos", token=TOKEN) as host:
        yield host


def commit_and_push(work, name="file.txt", text="x\n"):
    (work / name).write_text(text)
    git("add", "-A", cwd=work, check=True)
    git("commit", "-q", "-m", f"add {name}", cwd=work, check=True)
    return git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=work)


def test_clone_and_push_with_the_token(host, tmp_path):
    host.create_repo("shop", empty=False)
    work = tmp_path / "work"
    assert git("clone", "-q", host.authenticated_url("shop"), work).returncode == 0
    assert (work / "README.md").read_text() == "# shop\n"
    pushed = commit_and_push(work)
    assert pushed.returncode == 0, pushed.stderr
    local = git("rev-parse", "HEAD", cwd=work, check=True).stdout.strip()
    remote = git("ls-remote", host.authenticated_url("shop"), "refs/heads/main", check=True).stdout.split()[0]
    assert remote == local
    users = {(r.service, r.user) for r in host.requests if r.status == 200}
    assert users == {("git-upload-pack", "git"), ("git-receive-pack", "git")}


def test_an_empty_repository_takes_a_first_push(host, tmp_path):
    url = host.create_repo("empty")
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", work, check=True)
    git("remote", "add", "origin", host.authenticated_url("empty"), cwd=work, check=True)
    assert commit_and_push(work).returncode == 0
    assert git("ls-remote", host.authenticated_url("empty"), check=True).stdout.count("refs/heads/main") == 1
    assert url == f"http://127.0.0.1:{host.port}/empty.git"


def test_missing_or_wrong_credentials_get_401(host, tmp_path):
    url = host.create_repo("shop", empty=False)
    anonymous = git("ls-remote", url)
    assert anonymous.returncode != 0 and "terminal prompts disabled" in anonymous.stderr
    wrong = git("ls-remote", url.replace("http://", "http://git:wrong-token@"))
    assert wrong.returncode != 0 and "Authentication failed" in wrong.stderr
    assert host.requests and {r.status for r in host.requests} == {401}
    assert all(r.user is None for r in host.requests)


def test_the_token_only_for_pushes(host, tmp_path):
    host.auth = "push"
    url = host.create_repo("shop", empty=False)
    work = tmp_path / "work"
    assert git("clone", "-q", url, work).returncode == 0, "reads are anonymous"
    refused = commit_and_push(work)
    assert refused.returncode != 0 and "terminal prompts disabled" in refused.stderr
    git("remote", "set-url", "origin", host.authenticated_url("shop"), cwd=work, check=True)
    assert git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=work).returncode == 0


def test_refused_push_gets_403(host, tmp_path):
    host.create_repo("shop", empty=False)
    work = tmp_path / "work"
    git("clone", "-q", host.authenticated_url("shop"), work, check=True)
    host.refuse_push = True
    refused = commit_and_push(work)
    assert refused.returncode != 0 and "403" in refused.stderr
    assert host.requests[-1].status == 403 and host.requests[-1].service == "git-receive-pack"


def test_a_host_that_went_away_refuses_connections_and_comes_back(host):
    host.create_repo("shop", empty=False)
    host.go_away()
    gone = git("ls-remote", host.authenticated_url("shop"))
    assert gone.returncode != 0 and ("Couldn't connect" in gone.stderr or "Connection refused" in gone.stderr)
    host.come_back()
    assert git("ls-remote", host.authenticated_url("shop")).returncode == 0


def test_credentials_are_never_recorded(host, tmp_path):
    host.create_repo("shop", empty=False)
    git("clone", "-q", host.authenticated_url("shop"), tmp_path / "work", check=True)
    git("ls-remote", host.repo_url("shop").replace("http://", "http://git:not-the-token@"))
    assert host.requests
    assert TOKEN not in repr(host.requests) and "not-the-token" not in repr(host.requests)


def test_an_unknown_repository_is_not_found(git_host):
    missing = git("ls-remote", git_host.repo_url("nope"))
    assert missing.returncode != 0 and "not found" in missing.stderr
