"""The build's write-back task (charts/gitops-platform/files/write-back.sh), run for real with ``sh``
against real git repositories: the same release file bytes as ``core.gitrepo.release_file``, the
same trailers as ``core.promotion.message``, concurrent writers that all land, a person's overlay
untouched, credentials from the git-credentials Secret's keys and never printed. The Task the chart
renders runs exactly this file, with the same environment variables."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from gitopsrepo import git, seed
from kubectl_gitops.adapters import config_file
from kubectl_gitops.adapters import git as git_adapter
from kubectl_gitops.adapters import helm as helm_adapter
from kubectl_gitops.core import gitrepo, promotion
from kubectl_gitops.workflows import repository

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "gitops-platform"
SCRIPT = CHART / "files" / "write-back.sh"
EXAMPLE = ROOT / "examples" / "proof-of-concept" / "gitops.yaml"
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
SOURCE = "0123456789abcdef0123456789abcdef01234567"
RELEASE = "platform/apps/fakeservice/dev/release/kustomization.yaml"
OVERLAY = "platform/apps/fakeservice/dev/kustomization.yaml"


def _data(url: str) -> dict:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["gitops"] = {**data["gitops"], "repo": url, "branch": "main", "path": "platform"}
    return data


@pytest.fixture
def gitops(tmp_path) -> tuple[str, object]:
    """A bare GitOps repository seeded as bootstrap leaves it; (its file:// URL, the config)."""
    bare = tmp_path / "gitops.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(bare)], check=True)
    url = bare.as_uri()
    data = _data(url)
    seed(data)
    return url, config_file.load_text(yaml.safe_dump(data), source="gitops.yaml")


def _env(url: str, digest: str, result: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "APP": "fakeservice", "IMAGE": "registry.digitalocean.com/bl-k8s/fakeservice",
            "DIGEST": digest, "SOURCE_COMMIT": SOURCE, "GITOPS_URL": url, "GITOPS_BRANCH": "main",
            "GITOPS_PATH": "platform", "ENVIRONMENT": "dev", "REPLICAS": "1", "RESULT_FILE": str(result),
            "CREDENTIALS_DIR": "", **extra}


def write_back(url: str, digest: str, tmp_path: Path, **extra: str) -> tuple[subprocess.CompletedProcess, str]:
    result = tmp_path / f"result-{time.monotonic_ns()}"
    proc = subprocess.run(["sh", str(SCRIPT)], env=_env(url, digest, result, **extra), capture_output=True, text=True,
                          timeout=120)
    return proc, result.read_text() if result.exists() else ""


def show(url: str, rev: str, path: str, tmp_path: Path) -> str:
    clone = tmp_path / f"show-{time.monotonic_ns()}"
    git("clone", "--quiet", url, str(clone))
    return git("show", f"{rev}:{path}", cwd=clone) + "\n"


def log(url: str, tmp_path: Path, path: str = RELEASE) -> list[tuple[str, str]]:
    """(sha, full message) of the commits touching ``path``, newest first."""
    clone = tmp_path / f"log-{time.monotonic_ns()}"
    git("clone", "--quiet", url, str(clone))
    out = git("log", "--format=%H%x00%B%x01", "--", path, cwd=clone)
    return [tuple(e.strip("\n").split("\x00", 1)) for e in out.split("\x01") if e.strip()]


def test_the_task_the_chart_renders_runs_this_script_with_these_variables(helm_bin):
    values = yaml.safe_load((CHART / "ci" / "gitops-poc-values.yaml").read_text(encoding="utf-8"))
    objs = helm_adapter.render(CHART, release="t", namespace="argocd", values=values, helm=str(helm_bin)).objects()
    task = next(o for o in objs if o["kind"] == "Task" and o["metadata"]["name"] == "write-back")
    (step,) = task["spec"]["steps"]
    assert step["script"] == SCRIPT.read_text(encoding="utf-8")
    assert step["image"] == yaml.safe_load((CHART / "values.yaml").read_text())["versions"]["gitImage"]
    names = {e["name"] for e in step["env"]}
    assert set(_env("u", DIGEST_A, Path("r"))) - {"PATH"} <= names
    assert all("$(" not in line for line in step["script"].splitlines() if "params." in line)


def test_writes_release_file_bytes_and_trailers_as_the_tool_does(gitops, tmp_path):
    url, config = gitops
    proc, commit = write_back(url, DIGEST_A, tmp_path)
    assert proc.returncode == 0, proc.stderr
    app = config.application("fakeservice")
    expected = gitrepo.release_file(gitrepo.image_name(config, app), DIGEST_A, app="fakeservice",
                                    replicas=app.replicas_in("dev"))
    assert show(url, commit, RELEASE, tmp_path) == expected
    (sha, body), *_ = log(url, tmp_path)
    assert sha == commit
    request = promotion.trailers(body)["Gitops-Request"]
    assert len(request) == 12 and int(request, 16) >= 0
    assert body + "\n" == promotion.message("build", "fakeservice", "dev", DIGEST_A,
                                            subject=f"build fakeservice {DIGEST_A}",
                                            extra={"Source-Commit": SOURCE, "Request": request})
    record = promotion.record(sha, "a", datetime.now(UTC), body)
    assert (record.action, record.environment, record.digest, record.source_commit) == (
        "build", "dev", DIGEST_A, SOURCE)
    # the tool reads it back as the digest dev runs
    assert gitrepo.release_digest(expected, gitrepo.image_name(config, app)) == DIGEST_A


def test_same_digest_again_makes_no_commit_and_reports_the_head(gitops, tmp_path):
    url, _ = gitops
    first, commit = write_back(url, DIGEST_A, tmp_path)
    again, head = write_back(url, DIGEST_A, tmp_path)
    assert again.returncode == 0 and head == commit
    assert "nothing to commit" in again.stdout
    assert len(log(url, tmp_path)) == 2  # bootstrap's empty release file, and the one build


def test_a_persons_overlay_edit_is_kept(gitops, tmp_path):
    url, _ = gitops
    clone = tmp_path / "person"
    git("clone", "--quiet", url, str(clone))
    overlay = clone / OVERLAY
    edited = overlay.read_text() + "# tuned by a person\ncommonLabels:\n  team: games\n"
    overlay.write_text(edited)
    git("commit", "--quiet", "-am", "person: label", cwd=clone)
    git("push", "--quiet", "origin", "main", cwd=clone)
    proc, commit = write_back(url, DIGEST_A, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert show(url, commit, OVERLAY, tmp_path) == edited


def test_concurrent_write_backs_all_land(gitops, tmp_path):
    url, _ = gitops
    digests = [f"sha256:{c * 64}" for c in "1234"]
    results: dict[str, tuple[int, str]] = {}

    def run(digest: str) -> None:
        proc, commit = write_back(url, digest, tmp_path, ATTEMPTS="8")
        results[digest] = (proc.returncode, commit + proc.stderr)

    threads = [threading.Thread(target=run, args=(d,)) for d in digests]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {code for code, _ in results.values()} == {0}, results
    landed = [promotion.trailers(body)["Gitops-Digest"] for _, body in log(url, tmp_path)[:-1]]
    assert sorted(landed) == sorted(digests), "every build's commit is in the history, none lost or forced over"


def test_a_build_racing_a_promote_is_written_again_on_the_new_head(gitops, tmp_path):
    """The push is held until a promotion (the product's own git path) has moved the branch: the write-back's
    push is rejected, it fetches, writes dev again on the promoted head and pushes; both commits land."""
    url, config = gitops
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    entered, go = tmp_path / "entered", tmp_path / "go"
    (hooks / "pre-push").write_text(f"#!/bin/sh\n[ -f '{entered}' ] && exit 0\ntouch '{entered}'\n"
                                    f"while [ ! -f '{go}' ]; do sleep 0.05; done\n")
    (hooks / "pre-push").chmod(0o755)
    result = tmp_path / "result"
    proc = subprocess.Popen(["sh", str(SCRIPT)], env=_env(url, DIGEST_B, result, GIT_CONFIG_COUNT="1",
                                                           GIT_CONFIG_KEY_0="core.hooksPath",
                                                           GIT_CONFIG_VALUE_0=str(hooks)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not entered.exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    app = config.application("fakeservice")
    prod_release = "platform/apps/fakeservice/prod/release/kustomization.yaml"

    def promote_edit(work: Path) -> list[str]:
        path = work / RELEASE.replace("/dev/", "/prod/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(gitrepo.release_file(gitrepo.image_name(config, app), DIGEST_A, app="fakeservice"))
        return [prod_release]

    remote = repository.remote(config, None, {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@e"})
    promoted = git_adapter.commit_change(remote, "main", promote_edit, promotion.message(
        "promote", "fakeservice", "prod", DIGEST_A, subject="promote", extra={"From": "dev"}))
    go.touch()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "moved" in out
    commit = result.read_text()
    clone = tmp_path / "check"
    git("clone", "--quiet", url, str(clone))
    assert git("rev-parse", f"{commit}^", cwd=clone) == promoted.sha, "written again on top of the promotion"
    assert show(url, commit, prod_release, tmp_path).count(DIGEST_A) == 1
    assert DIGEST_B in show(url, commit, RELEASE, tmp_path)


def test_credentials_come_from_the_secret_keys_and_are_never_printed(tmp_path, git_host):
    """The CI namespace's git-credentials Secret, as bootstrap writes it, mounted as the workspace."""
    sentinel = "tok-SENTINEL-7f3e9a"
    git_host.token = sentinel
    url = git_host.create_repo("gitops")
    data = _data(url)
    seed(data, token=sentinel)
    creds = tmp_path / "secret"
    creds.mkdir()
    host = url.split("/gitops")[0]
    (creds / ".git-credentials").write_text(f"http://x-access-token:{sentinel}@{host.split('://')[1]}\n")
    (creds / ".gitconfig").write_text(f'[credential "{host}"]\n\thelper = store\n')
    proc, commit = write_back(url, DIGEST_A, tmp_path, CREDENTIALS_DIR=str(creds))
    assert proc.returncode == 0, proc.stderr
    assert commit and sentinel not in proc.stdout + proc.stderr
    # without them the push is refused, with one line naming the step and nothing secret
    git_host.auth = "push"
    denied, _ = write_back(url, DIGEST_B, tmp_path)
    assert denied.returncode == 1
    assert "write-back: " in denied.stderr and sentinel not in denied.stdout + denied.stderr


@pytest.mark.parametrize(("change", "message"), [
    ({"DIGEST": "sha256:xyz"}, "DIGEST must be sha256"),
    ({"APP": "Bad\nGitops-Action: promote"}, "APP must be a DNS label"),
    ({"REPLICAS": "two"}, "REPLICAS must be a number"),
    ({"SOURCE_COMMIT": "abc; rm -rf /"}, "SOURCE_COMMIT must be a commit id"),
    ({"APP": "nosuchapp"}, "platform/apps/nosuchapp/dev is not in branch main"),
])
def test_bad_input_is_one_line_and_writes_nothing(gitops, tmp_path, change, message):
    url, _ = gitops
    before = log(url, tmp_path, ".")
    proc = subprocess.run(["sh", str(SCRIPT)], env={**_env(url, DIGEST_A, tmp_path / "r"), **change},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(f"write-back: {message}")
    assert log(url, tmp_path, ".") == before


def test_script_is_posix_sh(tmp_path):
    shell = shutil.which("dash") or shutil.which("sh")
    assert subprocess.run([shell, "-n", str(SCRIPT)], capture_output=True).returncode == 0
