"""Pod logs of the Kubernetes API stand-in through the real clients: the ``kubernetes`` Python client and
``kubectl logs`` (``-f`` included), with the API server's errors; watches on Pods from a resourceVersion."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest
from kubernetes import client, watch

POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "build-pod", "namespace": "default"},
    "spec": {"initContainers": [{"name": "prepare", "image": "busybox"}],
             "containers": [{"name": "step-clone", "image": "alpine"}, {"name": "step-build", "image": "kaniko"}]},
}


@pytest.fixture
def core(kube_client):
    return client.CoreV1Api(kube_client)


@pytest.fixture
def pod(fake_kube):
    fake_kube.create(POD)
    return "build-pod"


def _error(call) -> tuple[int, str]:
    with pytest.raises(client.ApiException) as caught:
        call()
    import json

    return caught.value.status, json.loads(caught.value.body)["message"]


def test_errors_are_the_api_servers(fake_kube, core, pod):
    assert _error(lambda: core.read_namespaced_pod_log(pod, "default")) == (
        400, "a container name must be specified for pod build-pod, choose one of: [step-clone step-build] "
             "or one of the init containers: [prepare]")
    assert _error(lambda: core.read_namespaced_pod_log(pod, "default", container="nope")) == (
        400, "container nope is not valid for pod build-pod")
    assert _error(lambda: core.read_namespaced_pod_log("missing", "default", container="x")) == (
        404, 'pods "missing" not found')
    assert _error(lambda: core.read_namespaced_pod_log(pod, "default", container="step-clone")) == (
        400, 'container "step-clone" in pod "build-pod" is waiting to start: ContainerCreating')
    fake_kube.set_container_state(pod, "step-clone", "waiting", reason="PodInitializing")
    assert _error(lambda: core.read_namespaced_pod_log(pod, "default", container="step-clone")) == (
        400, 'container "step-clone" in pod "build-pod" is waiting to start: PodInitializing')


def test_read_with_options(fake_kube, core, pod):
    fake_kube.set_container_state(pod, "step-clone", "running")
    fake_kube.append_log(pod, "step-clone", "one", "two\nthree", namespace="default")
    assert core.read_namespaced_pod_log(pod, "default", container="step-clone") == "one\ntwo\nthree\n"
    assert core.read_namespaced_pod_log(pod, "default", container="step-clone", tail_lines=1) == "three\n"
    assert core.read_namespaced_pod_log(pod, "default", container="step-clone", limit_bytes=6) == "one\ntw"
    stamped = core.read_namespaced_pod_log(pod, "default", container="step-clone", timestamps=True)
    first = stamped.splitlines()[0]
    stamp, _, text = first.partition(" ")
    assert text == "one" and stamp.endswith("Z") and len(stamp.split(".")[1]) == 10  # nanoseconds + Z
    time.sleep(0.05)
    fake_kube.append_log(pod, "step-clone", "four")
    assert core.read_namespaced_pod_log(pod, "default", container="step-clone", since_seconds=1) == \
        "one\ntwo\nthree\nfour\n"


def test_follow_streams_lines_as_written_and_ends_with_the_container(fake_kube, core, pod):
    fake_kube.set_container_state(pod, "step-build", "running")
    fake_kube.append_log(pod, "step-build", "before")
    arrivals: list[tuple[float, str]] = []
    resp = core.read_namespaced_pod_log(pod, "default", container="step-build", follow=True,
                                        _preload_content=False)

    def read():
        for line in resp.stream(amt=None, decode_content=False):
            for text in line.decode().splitlines():
                arrivals.append((time.monotonic(), text))

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.3)
    written = time.monotonic()
    fake_kube.append_log(pod, "step-build", "live line")
    while len(arrivals) < 2 and time.monotonic() - written < 5:
        time.sleep(0.005)
    assert [t for _, t in arrivals] == ["before", "live line"]
    assert arrivals[1][0] - written < 0.2, "a written line reaches the follower at once"
    assert reader.is_alive(), "the stream stays open while the container runs"
    fake_kube.set_container_state(pod, "step-build", "terminated", exit_code=1)
    reader.join(5)
    assert not reader.is_alive(), "the stream ends when the container terminates"
    pod_obj = core.read_namespaced_pod(pod, "default")
    state = next(s for s in pod_obj.status.container_statuses if s.name == "step-build").state.terminated
    assert (state.exit_code, state.reason) == (1, "Error")


def test_watch_log_lines_with_the_client_watch_helper(fake_kube, core, pod):
    fake_kube.set_container_state(pod, "step-clone", "running")

    def later():
        time.sleep(0.2)
        fake_kube.append_log(pod, "step-clone", "a", "b")
        time.sleep(0.1)
        fake_kube.set_container_state(pod, "step-clone", "terminated")

    threading.Thread(target=later).start()
    lines = list(watch.Watch().stream(core.read_namespaced_pod_log, pod, "default", container="step-clone",
                                      follow=True))
    assert lines == ["a", "b"]


def test_kubectl_logs_follow(fake_kube, kubectl_bin, kube_env, pod):
    fake_kube.set_container_state(pod, "step-clone", "running")
    fake_kube.append_log(pod, "step-clone", "cloning")
    with subprocess.Popen([str(kubectl_bin), "logs", "-f", pod, "-c", "step-clone"], env=kube_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout.readline() == "cloning\n"
            written = time.monotonic()
            fake_kube.append_log(pod, "step-clone", "checked out 3f2a9c1")
            assert proc.stdout.readline() == "checked out 3f2a9c1\n"
            assert time.monotonic() - written < 0.5
            assert proc.poll() is None
            fake_kube.set_container_state(pod, "step-clone", "terminated")
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    refused = subprocess.run([str(kubectl_bin), "logs", pod, "-c", "step-build"], env=kube_env,
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode == 1
    assert 'container "step-build" in pod "build-pod" is waiting to start: ContainerCreating' in refused.stderr
    tail = subprocess.run([str(kubectl_bin), "logs", pod, "-c", "step-clone", "--tail=1"], env=kube_env,
                          capture_output=True, text=True, timeout=30)
    assert tail.stdout == "checked out 3f2a9c1\n"
    time.sleep(1.05)  # sinceTime has a resolution of seconds
    fake_kube.append_log(pod, "step-clone", "a later line")
    stamped = subprocess.run([str(kubectl_bin), "logs", pod, "-c", "step-clone", "--timestamps"], env=kube_env,
                             capture_output=True, text=True, timeout=30).stdout.splitlines()
    since = stamped[-1].split(" ")[0].split(".")[0] + "Z"
    since_time = subprocess.run([str(kubectl_bin), "logs", pod, "-c", "step-clone", f"--since-time={since}"],
                                env=kube_env, capture_output=True, text=True, timeout=30)
    assert since_time.stdout == "a later line\n", since_time.stderr


def test_pod_watch_from_a_resource_version(fake_kube, core, pod):
    listed = core.list_namespaced_pod("default")
    fake_kube.set_container_state(pod, "step-clone", "running")
    events = []
    for event in watch.Watch().stream(core.list_namespaced_pod, "default",
                                      resource_version=listed.metadata.resource_version, timeout_seconds=1):
        events.append((event["type"], event["object"].status.phase))
    assert events == [("MODIFIED", "Pending")], "only what changed after the listed version"
