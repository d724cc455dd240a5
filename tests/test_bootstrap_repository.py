"""`kubectl gitops bootstrap` hands the platform to the user's GitOps repository, end to end: real
kubectl plugin dispatch, real helm and git, the git host stand-in (:mod:`fakegit`, smart HTTP with a
token) and the stand-in Argo CD (:mod:`fakeargocd`) reading that repository."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

import fakecharts
import platforms
from fakeplatform import FakePlatform

EXECUTABLES = ["kubectl-gitops"]
PUSH_AUTH = {"auths": {"registry.example.com": {"auth": "cHVzaGVyOnB1c2g="}}}
TOKEN = "sentinel-git-token-5f1d2c"
ARGO = "argoproj.io/v1alpha1"


@pytest.fixture(scope="module")
def stand_in_chart(tmp_path_factory, shared_reference) -> Path:
    return fakecharts.chart_with_dependencies(tmp_path_factory.mktemp("chart"), shared_reference)


class Setup:
    def __init__(self, kube, controllers, host, env, tmp, chart):
        self.kube, self.controllers, self.host, self.env, self.tmp, self.chart = (
            kube, controllers, host, env, tmp, chart)
        self.url = host.create_repo("gitops")
        self.config = platforms.write_existing(tmp / "gitops.yaml", repo=self.url)
        self.auth = tmp / "push.json"
        self.auth.write_text(json.dumps(PUSH_AUTH))
        self.token_file = tmp / "git-token"
        self.token_file.write_text(TOKEN + "\n")

    def run(self, *args, env=None, timeout=240):
        return subprocess.run(["kubectl", "gitops", *map(str, args)], capture_output=True, text=True, cwd=self.tmp,
                              env=env or self.env, timeout=timeout)

    def bootstrap(self, *args, env=None):
        return self.run("bootstrap", "--config", self.config, "--chart", self.chart, "--registry-auth", self.auth,
                        "--git-token-file", self.token_file, "--timeout", "90s", *args, env=env)

    def git(self, *args) -> str:
        out = subprocess.run(["git", "--git-dir", str(self.host.path("gitops")), *args], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def commits(self) -> list[str]:
        try:
            return self.git("rev-list", "main").splitlines()
        except AssertionError:
            return []


@pytest.fixture
def setup(tmp_path, shared_reference, kubectl_bin, helm_bin, stand_in_chart, fake_kube):
    from fakegit import FakeGitHost

    host = FakeGitHost(tmp_path / "git-host", token=TOKEN).start()
    controllers = FakePlatform(fake_kube, shared_reference, kubectl=kubectl_bin).install()
    env = platforms.plugin_env(tmp_path, fake_kube.kubeconfig, kubectl_bin, helm_bin)
    yield Setup(fake_kube, controllers, host, env, tmp_path, stand_in_chart)
    controllers.close()
    host.stop()
    assert controllers.errors == []


def _sources(app: dict) -> list[dict]:
    spec = app.get("spec") or {}
    return [spec["source"]] if spec.get("source") else list(spec.get("sources") or [])


def test_from_an_empty_repository_to_a_platform_argo_cd_syncs_from_it(setup):
    out = setup.bootstrap()
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    (commit,) = setup.commits()  # the layout, in one commit
    files = setup.git("ls-tree", "-r", "--name-only", "main").splitlines()
    assert "platform/platform/chart/Chart.yaml" in files and "platform/apps/fakeservice/dev/kustomization.yaml" in files
    # every platform Application is Synced at that commit and Healthy; the root too
    apps = {a["metadata"]["name"]: a for a in setup.kube.list("applications.argoproj.io", "argocd")}
    for name in ("bl-k8s-root", "bl-k8s-platform", "bl-k8s-tekton", "bl-k8s-gitops"):
        status = apps[name]["status"]
        assert (status["sync"]["status"], status["health"]["status"]) == ("Synced", "Healthy"), (name, status)
        assert status["sync"]["revision"] == commit, name
    # no source outside the user's repository: the upstream charts are dependencies of the committed chart
    assert {s["repoURL"] for a in apps.values() for s in _sources(a)} == {setup.url}
    for project in setup.kube.list("appprojects.argoproj.io", "argocd"):
        assert project["spec"]["sourceRepos"] == [setup.url]
    # the app has not been built: nothing runs in dev, and status says so rather than unhealthy
    status = setup.run("status", "--config", setup.config, "-o", "json", env={**setup.env, "GITOPS_GIT_TOKEN": TOKEN})
    assert status.returncode == 0, status.stdout + status.stderr
    report = json.loads(status.stdout)
    assert [a["message"] for a in report["applications"]] == ["not built yet"]
    assert report["repository"]["branchHead"] == commit
    assert all(a["revision"] == commit for a in report["platformApplications"])

    # a re-run: no commit, no cluster write, no helm revision moved
    setup.kube.reset_counters()
    pushes = sum(r.service == "git-receive-pack" for r in setup.host.requests)
    again = setup.bootstrap("-o", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["upToDate"] is True
    assert setup.commits() == [commit]
    assert setup.kube.writes == 0, [r for r in setup.kube.requests if r.method != "GET"]
    assert sum(r.service == "git-receive-pack" for r in setup.host.requests) == pushes


def test_git_token_appears_only_in_its_secrets(setup):
    out = setup.bootstrap("-v")
    assert out.returncode == 0, out.stderr
    assert TOKEN not in out.stdout + out.stderr
    holders = []
    for secret in setup.kube.list("secrets"):
        import base64

        data = {k: base64.b64decode(v).decode(errors="replace") for k, v in (secret.get("data") or {}).items()}
        if any(TOKEN in v for v in data.values()):
            holders.append((secret["metadata"]["namespace"], secret["metadata"]["name"]))
    assert sorted(holders) == [("argocd", "repo-gitops"), ("ci", "git-credentials")]
    repo_secret = setup.kube.get("secrets", "repo-gitops", "argocd")
    assert repo_secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "repository"
    for release in ("bl-k8s-platform", "bl-k8s-tekton", "bl-k8s-gitops"):
        values = subprocess.run(["helm", "get", "values", release, "-n", "argocd", "-o", "json"],
                                capture_output=True, text=True, env=setup.env, timeout=60, check=True).stdout
        assert TOKEN not in values
        if release.endswith("-gitops"):  # the builds' clones use the Secret, by name
            assert json.loads(values)["tekton"]["pipeline"]["gitCredentialsSecretName"] == "git-credentials"
    for path in setup.tmp.rglob("*"):
        if path.is_file() and "git-host" not in path.parts and path.name != "git-token":
            assert TOKEN.encode() not in path.read_bytes(), path
    # nor in what was committed
    assert TOKEN not in setup.git("log", "-p", "main")


@pytest.mark.parametrize("case", ["unreachable", "wrong token", "missing branch", "missing repository"])
def test_repository_problems_stop_preflight_with_one_line_and_nothing_written(setup, case):
    env = dict(setup.env)
    if case == "unreachable":
        setup.host.go_away()
    elif case == "wrong token":
        setup.token_file.write_text("not-the-token\n")
    elif case == "missing branch":
        data = yaml.safe_load(setup.config.read_text())
        data["gitops"]["branch"] = "release"
        setup.config.write_text(yaml.safe_dump(data))
        seed = setup.tmp / "seed"
        subprocess.run(["git", "init", "-q", "-b", "main", str(seed)], check=True)
        (seed / "README.md").write_text("x\n")
        subprocess.run(["git", "-C", str(seed), "add", "."], check=True)
        subprocess.run(["git", "-C", str(seed), "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "x"],
                       check=True)
        subprocess.run(["git", "-C", str(seed), "push", "-q", str(setup.host.path("gitops")), "main"], check=True)
    else:
        data = yaml.safe_load(setup.config.read_text())
        data["gitops"]["repo"] = setup.url.replace("gitops.git", "nothing-here.git")
        setup.config.write_text(yaml.safe_dump(data))
    before = setup.commits()
    setup.kube.reset_counters()
    out = setup.bootstrap(env=env)
    if case == "unreachable":
        setup.host.come_back()
    assert out.returncode == 1, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, out.stderr
    assert "Traceback" not in out.stderr and "preflight failed: nothing was changed" in out.stderr
    assert TOKEN not in out.stderr and "not-the-token" not in out.stderr
    expected = {"unreachable": "cannot reach", "wrong token": "refused the credentials",
                "missing branch": "branch release does not exist", "missing repository": "does not exist"}[case]
    assert expected in errors[0], errors[0]
    assert setup.kube.writes == 0
    assert setup.commits() == before


def test_a_person_edit_to_an_overlay_survives_a_rerun(setup):
    assert setup.bootstrap().returncode == 0
    work = setup.tmp / "person"
    subprocess.run(["git", "clone", "-q", setup.host.authenticated_url("gitops"), str(work)], check=True,
                   capture_output=True)
    overlay = work / "platform/apps/fakeservice/dev/kustomization.yaml"
    text = overlay.read_text() + "commonAnnotations:\n  owner: games-team\n"
    overlay.write_text(text)
    subprocess.run(["git", "-C", str(work), "-c", "user.name=P", "-c", "user.email=p@x", "commit", "-qam", "owner"],
                   check=True)
    subprocess.run(["git", "-C", str(work), "push", "-q", "origin", "main"], check=True, capture_output=True)
    data = yaml.safe_load(setup.config.read_text())
    data["applications"]["fakeservice"]["port"] = 8081
    setup.config.write_text(yaml.safe_dump(data))
    out = setup.bootstrap()
    assert out.returncode == 0, out.stderr
    head = setup.commits()[0]
    assert len(setup.commits()) == 3
    assert setup.git("show", "main:platform/apps/fakeservice/dev/kustomization.yaml") == text.strip()
    assert "containerPort: 8081" in setup.git("show", "main:platform/apps/fakeservice/base/deployment.yaml")
    # Argo CD was told to look at the new commit at once
    platform_app = setup.kube.get("applications.argoproj.io", "bl-k8s-platform", "argocd")
    assert platform_app["status"]["sync"]["revision"] == head
