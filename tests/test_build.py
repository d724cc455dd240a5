"""`kubectl gitops build`, `builds` and `logs` end to end: real kubectl plugin dispatch against a platform
bootstrapped by the real `kubectl gitops bootstrap`, the Tekton stand-in (:mod:`faketekton`) running the
chart's Pipeline with its steps' logs served by the Kubernetes stand-in, the git host stand-in and the
stand-in Argo CD reading the GitOps repository."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

import fakecharts
import platforms
from fakeplatform import FakePlatform

TOKEN = "sentinel-build-token-2b7f"
PUSH_AUTH = {"auths": {"registry.example.com": {"auth": "cHVzaGVyOnB1c2g="}}}
CHART = Path(__file__).resolve().parent.parent / "charts" / "gitops-platform"

# The catalog tasks the Pipeline takes from OCI bundles, as tektoncd-catalog publishes them (their interface)
GIT_CLONE = {
    "apiVersion": "tekton.dev/v1", "kind": "Task", "metadata": {"name": "git-clone"},
    "spec": {
        "params": [{"name": n, "type": "string", "default": d} for n, d in (
            ("url", None), ("revision", ""), ("refspec", ""), ("submodules", "true"), ("depth", "1"),
            ("sslVerify", "true"), ("crtFileName", "ca-bundle.crt"), ("subdirectory", ""),
            ("sparseCheckoutDirectories", ""), ("deleteExisting", "true"), ("httpProxy", ""), ("httpsProxy", ""),
            ("noProxy", ""), ("verbose", "true"), ("userHome", "/home/git"))],
        "workspaces": [{"name": "output"}, {"name": "ssh-directory", "optional": True},
                       {"name": "basic-auth", "optional": True}, {"name": "ssl-ca-directory", "optional": True}],
        "results": [{"name": "commit"}, {"name": "url"}, {"name": "committer-date"}],
        "steps": [{"name": "clone", "image": "ghcr.io/tektoncd-catalog/git-init:v1.0.0", "script": "git clone"}],
    },
}
KANIKO = {
    "apiVersion": "tekton.dev/v1", "kind": "Task", "metadata": {"name": "kaniko"},
    "spec": {
        "params": [{"name": "IMAGE", "type": "string"},
                   {"name": "DOCKERFILE", "type": "string", "default": "./Dockerfile"},
                   {"name": "CONTEXT", "type": "string", "default": "./"},
                   {"name": "EXTRA_ARGS", "type": "array", "default": []},
                   {"name": "BUILDER_IMAGE", "type": "string", "default": "ghcr.io/osscontainertools/kaniko:v1.28.0"}],
        "workspaces": [{"name": "source"}, {"name": "dockerconfig", "optional": True}],
        "results": [{"name": "IMAGE_DIGEST"}, {"name": "IMAGE_URL"}],
        "steps": [{"name": "build-and-push", "image": "$(params.BUILDER_IMAGE)", "args": ["--dockerfile=x"]},
                  {"name": "write-url", "image": "docker.io/library/bash:5.2", "script": "echo"}],
    },
}


@pytest.fixture(scope="module")
def stand_in_chart(tmp_path_factory, shared_reference) -> Path:
    return fakecharts.chart_with_dependencies(tmp_path_factory.mktemp("chart"), shared_reference)


class World:
    def __init__(self, kube, controllers, host, env, tmp, chart):
        self.kube, self.controllers, self.host, self.env, self.tmp, self.chart = (
            kube, controllers, host, env, tmp, chart)
        self.url = host.create_repo("gitops")
        self.config = platforms.write_existing(tmp / "gitops.yaml", repo=self.url)
        (tmp / "push.json").write_text(json.dumps(PUSH_AUTH))
        self.env["GITOPS_GIT_TOKEN"] = TOKEN
        values = yaml.safe_load((CHART / "values.yaml").read_text())["versions"]
        self.tekton = controllers.tekton
        self.tekton.register_bundle(values["gitCloneBundle"], GIT_CLONE)
        self.tekton.register_bundle(values["kanikoBundle"], KANIKO)

    def gitops(self, *args, timeout=300, env=None):
        return subprocess.run(["kubectl", "gitops", *map(str, args), "--config", str(self.config)],
                              capture_output=True, text=True, cwd=self.tmp, env=env or self.env, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def bootstrap(self):
        out = self.gitops("bootstrap", "--chart", self.chart, "--registry-auth", self.tmp / "push.json",
                          "--timeout", "120s")
        assert out.returncode == 0, out.stderr
        self.controllers.settle()


@pytest.fixture
def world(tmp_path, shared_reference, kubectl_bin, helm_bin, stand_in_chart, fake_kube):
    from fakegit import FakeGitHost

    host = FakeGitHost(tmp_path / "git-host", token=TOKEN).start()
    controllers = FakePlatform(fake_kube, shared_reference, kubectl=kubectl_bin).install()
    env = platforms.plugin_env(tmp_path, fake_kube.kubeconfig, kubectl_bin, helm_bin, USER="bob")
    w = World(fake_kube, controllers, host, env, tmp_path, stand_in_chart)
    w.bootstrap()
    yield w
    controllers.close()
    host.stop()
    assert controllers.errors == []


def test_build_follows_tasks_and_logs_and_prints_the_digest(world):
    world.tekton.script("build-image", "build-and-push", "INFO Retrieving image manifest",
                        (0.05, "INFO Pushing image to registry.example.com/team/fakeservice:latest"),
                        (0.05, "INFO Pushed registry.example.com/team/fakeservice@sha256:" + "5e" * 32),
                        results={"IMAGE_DIGEST": "sha256:" + "5e" * 32,
                                 "IMAGE_URL": "registry.example.com/team/fakeservice:latest"})
    out = world.gitops("build", "fakeservice", "-f", "--no-deploy")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[-1] == "registry.example.com/team/fakeservice@sha256:" + "5e" * 32
    assert "[build-image/build-and-push] INFO Pushing image to registry.example.com/team/fakeservice:latest" in lines
    assert any(line.startswith("[clone/clone] ") for line in lines)
    for task in ("clone", "build-image"):
        assert f"► task {task} started" in out.stderr and f"✔ task {task} finished in" in out.stderr
    runs = world.kube.list("pipelineruns.tekton.dev", "ci")
    (run,) = runs
    labels = run["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "fakeservice"
    assert run["spec"]["taskRunTemplate"]["serviceAccountName"] == "pipeline-builder"
    assert run["spec"]["taskRunTemplate"]["podTemplate"]["securityContext"]["fsGroup"] == 65532
    workspaces = {w["name"]: w for w in run["spec"]["workspaces"]}
    assert "volumeClaimTemplate" in workspaces["source"]
    assert workspaces["dockerconfig"]["secret"]["secretName"] == "registry-push"

    builds = world.gitops("builds", "-o", "json")
    assert builds.returncode == 0, builds.stderr
    (summary,) = json.loads(builds.stdout)
    assert (summary["app"], summary["status"], summary["digest"]) == ("fakeservice", "Succeeded", "sha256:" + "5e" * 32)
    logs = world.gitops("logs", "fakeservice")
    assert logs.returncode == 0, logs.stderr
    assert "[build-image/build-and-push] INFO Pushed registry.example.com/team/fakeservice@sha256:" in logs.stdout
    assert TOKEN not in out.stdout + out.stderr + logs.stdout


def test_a_failing_step_names_task_step_reason_and_log_tail(world):
    world.tekton.script("build-image", "build-and-push", "INFO Retrieving image manifest",
                        "error building image: COPY failed: file not found: go.sum", exit_code=1)
    out = world.gitops("build", "fakeservice", "--no-deploy")
    assert out.returncode == 1, out.stdout + out.stderr
    (error,) = platforms.errors_of(out)
    assert "task build-image, step build-and-push" in error and "exited with code 1" in error
    assert "COPY failed: file not found: go.sum" in out.stderr  # the log tail
    assert "Traceback" not in out.stderr


def test_timeout_cancels_the_run(world):
    hold = threading.Event()
    world.tekton.script("build-image", "build-and-push", "INFO building", hold=hold)
    out = world.gitops("build", "fakeservice", "--no-deploy", "--timeout", "5s")
    hold.set()
    assert out.returncode == 1, out.stderr
    assert "cancelled" in platforms.errors_of(out)[0]
    (run,) = world.kube.list("pipelineruns.tekton.dev", "ci")
    assert run["spec"]["status"] == "Cancelled"


def test_logs_and_builds_of_a_running_run(world):
    hold = threading.Event()
    world.tekton.script("build-image", "build-and-push", "INFO building layer 1", hold=hold)
    started = world.gitops("build", "fakeservice", "--no-wait")
    assert started.returncode == 0, started.stderr
    run = started.stdout.strip()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = json.loads(world.gitops("builds", "fakeservice", "-o", "json").stdout)
        if runs and runs[0]["status"] == "Running":
            break
        time.sleep(0.2)
    follower = subprocess.Popen(["kubectl", "gitops", "logs", run, "-f", "--config", str(world.config)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=world.env,
                                cwd=world.tmp)
    time.sleep(2)
    hold.set()
    stdout, stderr = follower.communicate(timeout=120)
    assert follower.returncode == 0, stderr
    assert "[build-image/build-and-push] INFO building layer 1" in stdout


def test_ctrl_c_without_a_terminal_leaves_the_run_going(world):
    hold = threading.Event()
    world.tekton.script("build-image", "build-and-push", "INFO building", hold=hold)
    proc = subprocess.Popen(["kubectl", "gitops", "build", "fakeservice", "--config", str(world.config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=world.env, cwd=world.tmp,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not world.kube.list("pipelineruns.tekton.dev", "ci"):
        time.sleep(0.2)
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    hold.set()
    assert proc.returncode == 1, stderr
    assert "goes on" in stderr and "kubectl gitops logs" in stderr
    (run,) = world.kube.list("pipelineruns.tekton.dev", "ci")
    assert run["spec"].get("status") != "Cancelled"


WRITE_BACK = CHART / "files" / "write-back.sh"


def run_write_back(context):
    """The write-back step, for real: the chart's script with the step's environment, against the git host."""
    env = {k: v for k, v in context.env.items() if not k.startswith("$")}
    env.update(PATH="/usr/bin:/bin", HOME=str(context.results_dir.parent / "home"),
               RESULT_FILE=str(context.results_dir / "GITOPS_COMMIT"),
               CREDENTIALS_DIR=str(context.workspaces.get("basic-auth", "")))
    Path(env["HOME"]).mkdir(exist_ok=True)
    out = subprocess.run(["sh", str(WRITE_BACK)], env=env, capture_output=True, text=True, timeout=120)
    return (out.stdout + out.stderr).splitlines(), out.returncode, None


def test_dev_deploys_what_was_built(world):
    digest = "sha256:" + "7a" * 32
    world.tekton.script("build-image", "build-and-push", "INFO Pushed",
                        results={"IMAGE_DIGEST": digest, "IMAGE_URL": "registry.example.com/team/fakeservice:latest"})
    world.tekton.script("write-back", "write-back", run=run_write_back)
    before = subprocess.run(["git", "--git-dir", str(world.host.path("gitops")), "rev-list", "--count", "main"],
                            capture_output=True, text=True, check=True).stdout.strip()
    out = world.gitops("build", "fakeservice", "-f", "-o", "json", "--timeout", "120s")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert (result["digest"], result["deployed"]) == (digest, True)
    head = subprocess.run(["git", "--git-dir", str(world.host.path("gitops")), "rev-parse", "main"],
                          capture_output=True, text=True, check=True).stdout.strip()
    count = subprocess.run(["git", "--git-dir", str(world.host.path("gitops")), "rev-list", "--count", "main"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert result["gitopsCommit"] == head and int(count) == int(before) + 1  # one new commit
    release = subprocess.run(["git", "--git-dir", str(world.host.path("gitops")), "show",
                              "main:platform/apps/fakeservice/dev/release/kustomization.yaml"],
                             capture_output=True, text=True, check=True).stdout
    assert f"digest: {digest}" in release
    assert f"dev runs registry.example.com/team/fakeservice@{digest}" in out.stderr
    status = world.gitops("status", "-o", "json")
    assert status.returncode == 0, status.stdout + status.stderr
    dev = next(a for a in json.loads(status.stdout)["applications"] if a["environment"] == "dev")
    assert (dev["digest"], dev["revision"]) == (digest, head)
    history = world.gitops("history", "fakeservice", "-o", "json")
    assert [(r["action"], r["digest"]) for r in json.loads(history.stdout)] == [("build", digest)]
    assert TOKEN not in out.stdout + out.stderr
