"""`kubectl gitops promote`, `rollback` and `history` end to end: real kubectl plugin dispatch, real git on
the git host stand-in, the stand-in Argo CD reading that repository and syncing into the Kubernetes API
stand-in, and a platform bootstrapped by the real `kubectl gitops bootstrap`.

A build is played by what the build's last task does: one commit writing the digest into the dev overlay
(with the tool's trailers), after which dev's automated sync deploys it."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

import fakecharts
import platforms
from fakeplatform import FakePlatform
from kubectl_gitops.core import gitrepo, promotion

TOKEN = "sentinel-promote-token-8c1e"
PUSH_AUTH = {"auths": {"registry.example.com": {"auth": "cHVzaGVyOnB1c2g="}}}
IMAGE = "registry.example.com/team/{app}"


def digest(n: int) -> str:
    return "sha256:" + f"{n:02x}" * 32


@pytest.fixture(scope="module")
def stand_in_chart(tmp_path_factory, shared_reference) -> Path:
    return fakecharts.chart_with_dependencies(tmp_path_factory.mktemp("chart"), shared_reference)


class World:
    def __init__(self, kube, controllers, host, env, tmp, chart):
        self.kube, self.controllers, self.host, self.env, self.tmp, self.chart = (
            kube, controllers, host, env, tmp, chart)
        self.url = host.create_repo("gitops")
        data = platforms.existing()
        data["gitops"]["repo"] = self.url
        data["environments"]["dev"]["namespace"] = "games-dev"
        data["environments"]["prod"] = {"cluster": "mgmt", "namespace": "games", "sync": "manual"}
        fake = data["applications"]["fakeservice"]
        fake["hosts"]["prod"] = "play.homecooked.nl"
        data["applications"]["scores"] = {"git": "https://git.example.com/team/scores", "port": 8080,
                                          "hosts": {"dev": "scores.dev.homecooked.nl"}}
        self.data = data
        self.config = tmp / "gitops.yaml"
        self.write_config()
        (tmp / "push.json").write_text(json.dumps(PUSH_AUTH))
        self.env["GITOPS_GIT_TOKEN"] = TOKEN

    def write_config(self) -> None:
        self.config.write_text(yaml.safe_dump(self.data, sort_keys=False))

    def run(self, *args, env=None, timeout=240, stdin=None):
        return subprocess.run(["kubectl", "gitops", *map(str, args)], capture_output=True, text=True, cwd=self.tmp,
                              env=env or self.env, timeout=timeout, stdin=stdin if stdin is not None
                              else subprocess.DEVNULL)

    def gitops(self, *args, **kw):
        return self.run(*args, "--config", self.config, **kw)

    def bootstrap(self):
        out = self.gitops("bootstrap", "--chart", self.chart, "--registry-auth", self.tmp / "push.json",
                          "--timeout", "120s")
        assert out.returncode == 0, out.stderr
        self.controllers.settle()

    def git(self, *args) -> str:
        out = subprocess.run(["git", "--git-dir", str(self.host.path("gitops")), *args], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def head(self) -> str:
        return self.git("rev-parse", "main")

    def release(self, app: str, env: str) -> str:
        return self.git("show", f"main:platform/apps/{app}/{env}/release/kustomization.yaml")

    def build(self, app: str, n: int, source_commit: str = "", *, wait: bool = True, refresh: bool = True) -> str:
        """What a build's last task does: the digest into dev's overlay, one commit, then dev syncs it."""
        work = self.tmp / f"build-{app}-{n}-{time.monotonic_ns()}"
        subprocess.run(["git", "clone", "-q", self.host.authenticated_url("gitops"), str(work)], check=True,
                       capture_output=True)
        path = work / f"platform/apps/{app}/dev/release/kustomization.yaml"
        path.write_text(gitrepo.release_file(IMAGE.format(app=app), digest(n), app=app, replicas=1))
        message = promotion.message("build", app, "dev", digest(n), subject=f"build {app} {digest(n)}",
                                    extra={"Source-Commit": source_commit or f"{n:040x}"})
        for args in (["add", "-A"], ["-c", "user.name=CI", "-c", "user.email=ci@x", "commit", "-qm", message],
                     ["push", "-q", "origin", "main"]):
            subprocess.run(["git", "-C", str(work), *args], check=True, capture_output=True)
        sha = subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True,
                             check=True).stdout.strip()
        if not refresh:  # Argo CD has not polled since
            return sha
        self.controllers.argocd.refresh()  # Argo CD's poll
        if wait:
            self.wait_app(f"{app}-dev", sha)
        else:
            self.controllers.settle()
        return sha

    def wait_app(self, name: str, sha: str, timeout: float = 60) -> dict:
        end = time.monotonic() + timeout
        while True:
            self.controllers.settle()
            app = self.kube.get("applications.argoproj.io", name, "argocd")
            status = app.get("status") or {}
            if ((status.get("sync") or {}).get("revision") == sha and (status.get("sync") or {}).get("status")
                    == "Synced" and (status.get("health") or {}).get("status") == "Healthy"):
                return app
            if time.monotonic() > end:
                raise AssertionError(f"{name} not Synced at {sha} and Healthy: {status}")
            time.sleep(0.2)

    def live_image(self, app: str, namespace: str) -> str | None:
        deployment = self.kube.get("deployments", app, namespace)
        if deployment is None:
            return None
        return deployment["spec"]["template"]["spec"]["containers"][0]["image"]


@pytest.fixture
def world(tmp_path, shared_reference, kubectl_bin, helm_bin, stand_in_chart, fake_kube):
    from fakegit import FakeGitHost

    host = FakeGitHost(tmp_path / "git-host", token=TOKEN).start()
    controllers = FakePlatform(fake_kube, shared_reference, kubectl=kubectl_bin).install()
    env = platforms.plugin_env(tmp_path, fake_kube.kubeconfig, kubectl_bin, helm_bin, USER="alice")
    w = World(fake_kube, controllers, host, env, tmp_path, stand_in_chart)
    w.bootstrap()
    yield w
    controllers.close()
    host.stop()
    assert controllers.errors == []


def test_build_promote_rollback_and_history(world):
    status = world.gitops("status", "-o", "json")
    assert status.returncode == 0, status.stdout + status.stderr
    assert {(a["app"], a["environment"], a["message"]) for a in json.loads(status.stdout)["applications"]} == {
        ("fakeservice", "dev", "not built yet"), ("fakeservice", "prod", "not promoted yet"),
        ("scores", "dev", "not built yet"), ("scores", "prod", "not promoted yet")}

    world.build("fakeservice", 1)
    before = world.head()
    out = world.gitops("promote", "fakeservice", "--yes", "-o", "json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert (result["from"], result["to"], result["digest"], result["synced"]) == ("dev", "prod", digest(1), True)
    commit = world.head()
    assert world.git("rev-list", f"{before}..{commit}").splitlines() == [commit]  # one commit
    assert world.git("log", "-1", "--format=%s", "main") == f"promote fakeservice {digest(1)} from dev"
    assert gitrepo.release_digest(world.release("fakeservice", "prod"), IMAGE.format(app="fakeservice")) == digest(1)
    app = world.wait_app("fakeservice-prod", commit)
    assert app["status"]["operationState"]["operation"]["initiatedBy"]["username"] == "alice"
    assert world.live_image("fakeservice", "games") == f"{IMAGE.format(app='fakeservice')}@{digest(1)}"

    world.build("fakeservice", 2)
    status = json.loads(world.gitops("status", "-o", "json").stdout)
    prod = next(a for a in status["applications"] if (a["app"], a["environment"]) == ("fakeservice", "prod"))
    assert prod["message"].startswith("behind dev")
    dry = world.gitops("promote", "fakeservice", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"from   {digest(1)}" in dry.stdout and f"to     {digest(2)}" in dry.stdout
    assert "brings 1 build of dev" in dry.stdout
    assert world.gitops("promote", "fakeservice", "--yes").returncode == 0
    assert world.live_image("fakeservice", "games").endswith(digest(2))

    rollback = world.gitops("rollback", "fakeservice", "--yes", "-o", "json")
    assert rollback.returncode == 0, rollback.stderr
    assert json.loads(rollback.stdout)["digest"] == digest(1)
    world.wait_app("fakeservice-prod", world.head())
    assert world.live_image("fakeservice", "games").endswith(digest(1))

    history = world.gitops("history", "fakeservice", "--env", "prod", "-o", "json")
    assert history.returncode == 0, history.stderr
    records = json.loads(history.stdout)
    assert [(r["action"], r["digest"]) for r in records] == [
        ("rollback", digest(1)), ("promote", digest(2)), ("promote", digest(1))]
    assert all(r["author"] for r in records)
    text = world.gitops("history", "fakeservice")
    assert text.returncode == 0 and "build" in text.stdout and "promote from dev" in text.stdout
    assert TOKEN not in out.stdout + out.stderr + history.stdout + rollback.stderr


@pytest.mark.parametrize("case", ["not healthy", "soak", "live differs", "nothing to promote", "never built"])
def test_promote_refuses_with_one_line_and_no_commit(world, case):
    app = "fakeservice"
    if case == "not healthy":
        world.controllers.never_ready.add(("Deployment", world.data["environments"]["dev"]["namespace"], app))
        world.build(app, 3, wait=False)
    elif case != "never built":
        world.build(app, 3)
    if case == "soak":
        world.data["environments"]["dev"]["promotion"] = {"soak": "1h"}
        world.write_config()
    elif case == "live differs":  # a newer build is in git, Argo CD has not deployed it yet
        world.build(app, 9, refresh=False)
    elif case == "nothing to promote":
        assert world.gitops("promote", app, "--yes").returncode == 0
    before = world.head()
    world.kube.reset_counters()
    out = world.gitops("promote", app, "--yes")
    assert out.returncode == 1, out.stdout + out.stderr
    assert len(platforms.errors_of(out)) == 1 and "Traceback" not in out.stderr
    expected = {"not healthy": "is not Synced and Healthy", "soak": "less than its soak time of 1h",
                "live differs": "does not run what git says", "nothing to promote": "nothing to promote",
                "never built": "names no image yet"}[case]
    assert expected in platforms.errors_of(out)[0], out.stderr
    assert world.head() == before
    assert world.kube.writes == 0


def test_no_terminal_without_yes_is_a_usage_error(world):
    world.build("fakeservice", 4)
    before = world.head()
    out = world.gitops("promote", "fakeservice")
    assert out.returncode == 2 and "--yes" in out.stderr
    assert world.head() == before


def test_dry_run_writes_nothing(world):
    world.build("fakeservice", 5)
    before = world.head()
    world.kube.reset_counters()
    out = world.gitops("promote", "fakeservice", "--dry-run", "-o", "json")
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)
    assert (plan["dryRun"], plan["digest"], plan["currentDigest"], plan["commit"]) == (True, digest(5), None, None)
    assert world.head() == before and world.kube.writes == 0


def test_concurrent_promotions(world):
    world.build("fakeservice", 6)
    world.build("scores", 7)
    results = {}

    def promote(key, app):
        results[key] = world.gitops("promote", app, "--yes")

    threads = [threading.Thread(target=promote, args=(k, a)) for k, a in (("a", "fakeservice"), ("b", "scores"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert [results[k].returncode for k in "ab"] == [0, 0], [results[k].stderr for k in "ab"]
    assert gitrepo.release_digest(world.release("fakeservice", "prod"), IMAGE.format(app="fakeservice")) == digest(6)
    assert gitrepo.release_digest(world.release("scores", "prod"), IMAGE.format(app="scores")) == digest(7)

    world.build("fakeservice", 8)
    before = world.head()
    threads = [threading.Thread(target=promote, args=(k, "fakeservice")) for k in ("c", "d")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    codes = sorted(results[k].returncode for k in "cd")
    assert codes == [0, 1], [results[k].stdout + results[k].stderr for k in "cd"]
    loser = next(results[k] for k in "cd" if results[k].returncode == 1)
    assert len(platforms.errors_of(loser)) == 1
    assert any(w in platforms.errors_of(loser)[0] for w in ("just changed", "changed while", "nothing to promote"))
    assert len(world.git("rev-list", f"{before}..main").splitlines()) == 1  # one promotion landed, nothing lost


def test_rejected_push_and_failed_sync_are_one_line(world):
    world.build("fakeservice", 10)
    world.host.refuse_push = True
    before = world.head()
    out = world.gitops("promote", "fakeservice", "--yes")
    world.host.refuse_push = False
    assert out.returncode == 1 and len(platforms.errors_of(out)) == 1, out.stderr
    assert "refused" in platforms.errors_of(out)[0] and TOKEN not in out.stderr
    assert world.head() == before
    world.controllers.failing_applications["fakeservice-prod"] = "one or more objects failed to apply"
    out = world.gitops("promote", "fakeservice", "--yes", "--timeout", "60s")
    assert out.returncode == 1 and len(platforms.errors_of(out)) == 1, out.stderr
    assert "one or more objects failed to apply" in platforms.errors_of(out)[0]
