"""The Tekton stand-in through the real clients: a three-task run from start to finish with results and live
logs, a failing step, cancellation mid-step, a timeout, a missing ServiceAccount or Secret, parameter errors,
bundles, admission against the upstream CRDs, and ``kubectl logs -f`` / ``kubectl get pipelineruns -w``."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest
import yaml
from kubernetes import client, watch

from faketekton import FakeTekton, format_duration, parse_duration

NS = "ci"
# A small example Pipeline (not the chart's): clone -> test and build (build needs clone's commit).
PIPELINE = yaml.safe_load("""
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: example, namespace: ci}
spec:
  params:
    - {name: git-url, type: string}
    - {name: flags, type: array, default: ["-v"]}
  workspaces: [{name: source}, {name: push-secret}]
  results:
    - {name: IMAGE_DIGEST, value: $(tasks.build.results.IMAGE_DIGEST)}
    - {name: COMMIT, value: $(tasks.clone.results.commit)}
  tasks:
    - name: clone
      taskRef: {name: clone}
      params: [{name: url, value: $(params.git-url)}]
      workspaces: [{name: output, workspace: source}]
    - name: test
      runAfter: [clone]
      params: [{name: flags, value: ["$(params.flags[*])"]}]
      taskSpec:
        params: [{name: flags, type: array}]
        steps: [{name: unit, image: golang, args: ["$(params.flags[*])"]}]
    - name: build
      params: [{name: revision, value: $(tasks.clone.results.commit)}]
      workspaces: [{name: source, workspace: source}, {name: dockerconfig, workspace: push-secret}]
      taskSpec:
        params: [{name: revision, type: string}]
        workspaces: [{name: source}, {name: dockerconfig}]
        results: [{name: IMAGE_DIGEST}]
        steps:
          - {name: build-and-push, image: kaniko}
          - {name: write-digest, image: busybox}
""")
CLONE_TASK = yaml.safe_load("""
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: clone, namespace: ci}
spec:
  params: [{name: url, type: string}]
  workspaces: [{name: output}]
  results: [{name: commit}]
  steps: [{name: clone, image: alpine/git, script: "git clone $(params.url)"}]
""")
SHA = "3f2a9c1d4b5e6f708192a3b4c5d6e7f8091a2b3c"
DIGEST = "sha256:" + "ab" * 32


def run_object(name: str = "run-1", **spec) -> dict:
    body = {
        "pipelineRef": {"name": "example"},
        "params": [{"name": "git-url", "value": "https://example.com/app.git"}],
        "taskRunTemplate": {"serviceAccountName": "builder"},
        "workspaces": [
            {"name": "source", "volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"],
                                                                "resources": {"requests": {"storage": "1Gi"}}}}},
            {"name": "push-secret", "secret": {"secretName": "push"}},
        ],
    }
    body.update(spec)
    return {"apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
            "metadata": {"name": name, "namespace": NS, "labels": {"app": "demo"}}, "spec": body}


@pytest.fixture
def tekton(fake_kube, shared_reference):
    fake_kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    stand_in = FakeTekton(fake_kube, shared_reference).install()
    fake_kube.create(PIPELINE)
    fake_kube.create(CLONE_TASK)
    fake_kube.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder", "namespace": NS}})
    fake_kube.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "push", "namespace": NS},
                      "stringData": {"config.json": "{}"}})
    yield stand_in
    stand_in.close()
    assert stand_in.errors == []


@pytest.fixture
def api(kube_client):
    return client.CustomObjectsApi(kube_client)


def create_run(api, obj: dict) -> dict:
    return api.create_namespaced_custom_object("tekton.dev", "v1", NS, "pipelineruns", obj)


def condition(obj: dict) -> tuple[str, str, str]:
    c = obj["status"]["conditions"][0]
    return c["status"], c["reason"], c["message"]


def taskrun(fake_kube, name: str) -> dict:
    return fake_kube.get("taskruns.tekton.dev", name, NS)


def test_three_tasks_run_to_success_with_results(fake_kube, tekton, api, kube_client):
    tekton.script("clone", "clone", "Cloning https://example.com/app.git", results={"commit": SHA})
    tekton.script("build", "build-and-push", "INFO building", (0.05, "INFO pushed"), results={"IMAGE_DIGEST": DIGEST})
    events = []
    created = create_run(api, run_object())
    stream = watch.Watch().stream(api.list_namespaced_custom_object, "tekton.dev", "v1", NS, "pipelineruns",
                                  resource_version=created["metadata"]["resourceVersion"], timeout_seconds=15)
    for event in stream:
        conds = (event["object"].get("status") or {}).get("conditions") or [{}]
        events.append((conds[0].get("status"), conds[0].get("reason")))
        if conds[0].get("status") in ("True", "False"):
            break
    assert events[-1] == ("True", "Succeeded")
    assert ("Unknown", "Running") in events
    run = tekton.wait("run-1", NS)
    assert condition(run) == ("True", "Succeeded", "Tasks Completed: 3 (Failed: 0, Cancelled 0), Skipped: 0")
    assert run["status"]["results"] == [{"name": "IMAGE_DIGEST", "value": DIGEST}, {"name": "COMMIT", "value": SHA}]
    assert run["metadata"]["labels"]["tekton.dev/pipeline"] == "example"
    assert run["status"]["startTime"] and run["status"]["completionTime"]
    refs = {r["pipelineTaskName"]: r for r in run["status"]["childReferences"]}
    assert {r["name"] for r in refs.values()} == {"run-1-clone", "run-1-test", "run-1-build"}
    assert all(r["kind"] == "TaskRun" and r["apiVersion"] == "tekton.dev/v1" for r in refs.values())

    build = taskrun(fake_kube, "run-1-build")
    assert condition(build) == ("True", "Succeeded", "All Steps have completed executing")
    assert build["status"]["results"] == [{"name": "IMAGE_DIGEST", "type": "string", "value": DIGEST}]
    assert build["spec"]["params"] == [{"name": "revision", "value": SHA}], "result reference resolved"
    assert [(s["name"], s["container"], s["terminated"]["exitCode"], s["terminated"]["reason"])
            for s in build["status"]["steps"]] == [("build-and-push", "step-build-and-push", 0, "Completed"),
                                                   ("write-digest", "step-write-digest", 0, "Completed")]
    labels = build["metadata"]["labels"]
    assert labels == {"app": "demo", "tekton.dev/pipeline": "example", "tekton.dev/pipelineRun": "run-1",
                      "tekton.dev/pipelineRunUID": run["metadata"]["uid"], "tekton.dev/pipelineTask": "build",
                      "tekton.dev/memberOf": "tasks"}
    assert taskrun(fake_kube, "run-1-clone")["metadata"]["labels"]["tekton.dev/task"] == "clone"
    assert build["metadata"]["ownerReferences"][0]["uid"] == run["metadata"]["uid"]

    core = client.CoreV1Api(kube_client)
    pod = core.read_namespaced_pod("run-1-build-pod", NS)
    assert [c.name for c in pod.spec.containers] == ["step-build-and-push", "step-write-digest"]
    assert [c.name for c in pod.spec.init_containers] == ["prepare", "place-scripts"]
    assert pod.spec.service_account_name == "builder"
    assert pod.metadata.labels["tekton.dev/taskRun"] == "run-1-build"
    assert pod.metadata.labels["app.kubernetes.io/managed-by"] == "tekton-pipelines"
    assert pod.status.phase == "Succeeded"
    assert core.read_namespaced_pod_log("run-1-build-pod", NS, container="step-build-and-push") == \
        "INFO building\nINFO pushed\n"
    assert core.read_namespaced_pod_log("run-1-test-pod", NS, container="step-unit") == "unit: ok\n"
    test_pod = core.read_namespaced_pod("run-1-test-pod", NS)
    assert test_pod.spec.containers[0].args[-1] == "-v", "array param spliced into the step's args"
    claims = core.list_namespaced_persistent_volume_claim(NS).items
    assert len(claims) == 1 and claims[0].metadata.name.startswith("pvc-") and len(claims[0].metadata.name) == 14
    assert claims[0].metadata.owner_references[0].kind == "PipelineRun"


def test_a_failing_step_fails_its_task_and_the_run(fake_kube, tekton, api, kube_client):
    tekton.fail("build", "build-and-push", exit_code=3, lines=("error: cannot push: unauthorized",))
    create_run(api, run_object())
    run = tekton.wait("run-1", NS)
    assert condition(run) == ("False", "Failed", "Tasks Completed: 3 (Failed: 1, Cancelled 0), Skipped: 0")
    build = taskrun(fake_kube, "run-1-build")
    assert condition(build) == ("False", "StepFailed", '"step-build-and-push" exited with code 3: Error')
    first, second = build["status"]["steps"]
    assert (first["terminated"]["exitCode"], first["terminationReason"]) == (3, "Error")
    assert (second["terminated"]["exitCode"], second["terminationReason"]) == (1, "Skipped")
    assert run["status"]["results"] == [{"name": "COMMIT", "value": run["status"]["results"][0]["value"]}], \
        "results whose task results are missing are left out"
    core = client.CoreV1Api(kube_client)
    assert core.read_namespaced_pod_log("run-1-build-pod", NS, container="step-build-and-push") == \
        "error: cannot push: unauthorized\n"
    assert core.read_namespaced_pod_log("run-1-build-pod", NS, container="step-write-digest").endswith(
        "Skipping step because a previous step failed\n")


def test_a_failed_task_stops_the_dag_and_oom_is_reported(fake_kube, tekton, api):
    tekton.fail("clone", "clone", exit_code=137, reason="OOMKilled")
    create_run(api, run_object())
    run = tekton.wait("run-1", NS)
    assert condition(run) == ("False", "Failed", "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 2")
    assert {t["name"]: t["reason"] for t in run["status"]["skippedTasks"]} == {
        "test": "PipelineRun was stopping", "build": "PipelineRun was stopping"}
    assert condition(taskrun(fake_kube, "run-1-clone")) == (
        "False", "StepOOM", '"step-clone" exited with code 137: OOMKilled')
    assert taskrun(fake_kube, "run-1-build") is None


def test_cancel_mid_step(fake_kube, tekton, api, kube_client):
    hold = threading.Event()
    tekton.script("build", "build-and-push", "INFO building", hold=hold)
    create_run(api, run_object())
    fake_kube.wait_for("pods", "run-1-build-pod", NS, lambda p: "INFO" in fake_kube.container_log(
        "run-1-build-pod", "step-build-and-push", NS) if p else False)
    api.patch_namespaced_custom_object("tekton.dev", "v1", NS, "pipelineruns", "run-1",
                                       {"spec": {"status": "Cancelled"}})
    run = tekton.wait("run-1", NS)
    hold.set()
    assert condition(run) == ("False", "Cancelled", 'PipelineRun "run-1" was cancelled')
    build = taskrun(fake_kube, "run-1-build")
    assert build["spec"]["status"] == "TaskRunCancelled"
    assert condition(build) == ("False", "TaskRunCancelled", 'TaskRun "run-1-build" was cancelled. TaskRun '
                                "cancelled as the PipelineRun it belongs to has been cancelled.")
    assert [(s["terminated"]["reason"], s["terminated"]["exitCode"]) for s in build["status"]["steps"]] == [
        ("TaskRunCancelled", 1), ("TaskRunCancelled", 1)]
    assert fake_kube.get("pods", "run-1-build-pod", NS) is None, "Tekton deletes the Pod of a cancelled TaskRun"
    assert condition(taskrun(fake_kube, "run-1-clone"))[1] == "Succeeded"


def test_timeout(fake_kube, tekton, api):
    tekton.script("clone", "clone", (5.0, "never printed"))
    create_run(api, run_object(timeouts={"pipeline": "1s"}))
    run = tekton.wait("run-1", NS, timeout=10)
    assert condition(run) == ("False", "PipelineRunTimeout", 'PipelineRun "run-1" failed to finish within "1s"')
    clone = taskrun(fake_kube, "run-1-clone")
    assert condition(clone) == ("False", "TaskRunCancelled", 'TaskRun "run-1-clone" was cancelled. TaskRun '
                                "cancelled as the PipelineRun it belongs to has timed out.")


def test_graceful_stop_lets_finally_run(fake_kube, tekton, api):
    pipeline = json.loads(json.dumps(PIPELINE))
    pipeline["metadata"]["name"] = "with-finally"
    pipeline["spec"]["finally"] = [{"name": "notify", "taskSpec": {"steps": [{"name": "send", "image": "curl"}]}}]
    fake_kube.create(pipeline)
    hold = threading.Event()
    tekton.script("clone", "clone", "cloning", results={"commit": SHA}, hold=hold)
    create_run(api, run_object(pipelineRef={"name": "with-finally"}))
    fake_kube.wait_for("taskruns.tekton.dev", "run-1-clone", NS)
    api.patch_namespaced_custom_object("tekton.dev", "v1", NS, "pipelineruns", "run-1",
                                       {"spec": {"status": "StoppedRunFinally"}})
    fake_kube.wait_for("pipelineruns.tekton.dev", "run-1", NS,
                       lambda o: condition(o)[:2] == ("Unknown", "StoppedRunningFinally"), timeout=5)
    hold.set()
    run = tekton.wait("run-1", NS)
    assert condition(run) == ("False", "Cancelled", 'PipelineRun "run-1" was cancelled')
    assert condition(taskrun(fake_kube, "run-1-clone"))[1] == "Succeeded", "running tasks finish"
    assert taskrun(fake_kube, "run-1-notify")["metadata"]["labels"]["tekton.dev/memberOf"] == "finally"
    assert {t["name"]: t["reason"] for t in run["status"]["skippedTasks"]} == {
        "test": "PipelineRun was gracefully stopped", "build": "PipelineRun was gracefully stopped"}


def test_missing_service_account(fake_kube, tekton, api):
    create_run(api, run_object(taskRunTemplate={"serviceAccountName": "nobody"}))
    run = tekton.wait("run-1", NS)
    assert condition(run)[:2] == ("False", "Failed")
    clone = taskrun(fake_kube, "run-1-clone")
    assert condition(clone) == ("False", "PodCreationFailed", (
        'failed to create task run pod "run-1-clone": pods "run-1-clone-pod" is forbidden: error looking up '
        'service account ci/nobody: serviceaccount "nobody" not found. Maybe missing or invalid Task ci/clone'))


def test_missing_secret_workspace_waits_like_the_kubelet(fake_kube, tekton, api):
    fake_kube.delete("secrets", "push", NS)
    create_run(api, run_object(timeouts={"pipeline": "2s"}))
    fake_kube.wait_for("taskruns.tekton.dev", "run-1-build", NS, lambda o: (o.get("status") or {}).get("podName"))
    time.sleep(0.3)
    build = taskrun(fake_kube, "run-1-build")
    assert condition(build)[:2] == ("Unknown", "Pending")
    events = [e for e in fake_kube.list("events", NS) if e["involvedObject"]["name"] == "run-1-build-pod"]
    assert [e["reason"] for e in events] == ["FailedMount"]
    assert 'secret "push" not found' in events[0]["message"]
    run = tekton.wait("run-1", NS, timeout=10)
    assert condition(run)[1] == "PipelineRunTimeout"


def test_missing_secret_in_env_is_a_config_error(fake_kube, tekton, api):
    fake_kube.create({"apiVersion": "tekton.dev/v1", "kind": "Pipeline", "metadata": {"name": "env", "namespace": NS},
                      "spec": {"tasks": [{"name": "only", "taskSpec": {"steps": [{
                          "name": "use", "image": "alpine",
                          "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "t"}}}],
                      }]}}]}})
    create_run(api, {"apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
                     "metadata": {"name": "env-1", "namespace": NS}, "spec": {"pipelineRef": {"name": "env"}}})
    tekton.wait("env-1", NS)
    assert condition(taskrun(fake_kube, "env-1-only")) == (
        "False", "CreateContainerConfigError", "Failed to create pod due to config error")


def test_parameter_errors(fake_kube, tekton, api):
    create_run(api, run_object("missing", params=[]))
    assert condition(tekton.wait("missing", NS)) == ("False", "ParameterMissing", (
        "[User error] PipelineRun ci/missing is missing some parameters required by Pipeline ci/example: "
        "pipelineRun missing parameters: [git-url]"))
    create_run(api, run_object("mismatch", params=[{"name": "git-url", "value": ["a", "b"]}]))
    assert condition(tekton.wait("mismatch", NS)) == ("False", "ParameterTypeMismatch", (
        "[User error] PipelineRun ci/mismatch parameters have mismatching types with Pipeline ci/example's "
        "parameters: parameters have inconsistent types : [git-url]"))
    create_run(api, run_object("extra", params=[{"name": "git-url", "value": "u"}, {"name": "undeclared",
                                                                                   "value": "x"}]))
    assert condition(tekton.wait("extra", NS))[1] == "Succeeded", "Tekton ignores params the Pipeline lacks"


def test_admission_follows_the_crd_schema_and_the_webhook(fake_kube, tekton, api, kubectl_bin, kube_env, tmp_path):
    bad = run_object("bad", params=[{"name": 7, "value": "x"}])
    with pytest.raises(client.ApiException) as caught:
        create_run(api, bad)
    assert caught.value.status == 422
    assert 'PipelineRun.tekton.dev "bad" is invalid: spec.params[0].name: Invalid value: "integer"' in \
        json.loads(caught.value.body)["message"]
    neither = run_object("neither")
    del neither["spec"]["pipelineRef"]
    with pytest.raises(client.ApiException) as caught:
        create_run(api, neither)
    assert (caught.value.status, json.loads(caught.value.body)["message"]) == (400, (
        'admission webhook "validation.webhook.pipeline.tekton.dev" denied the request: validation failed: '
        "expected exactly one, got neither: spec.pipelineRef, spec.pipelineSpec"))
    unknown = run_object("unknown", bogus=True)
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(unknown))
    refused = subprocess.run([str(kubectl_bin), "create", "-f", str(path)], env=kube_env, capture_output=True,
                             text=True, timeout=30)
    assert refused.returncode == 1 and 'unknown field "spec.bogus"' in refused.stderr
    created = create_run(api, unknown)
    assert "bogus" not in created["spec"], "without strict field validation the API server prunes"
    tekton.wait("unknown", NS)


def test_bundles_resolve_when_registered(fake_kube, tekton, api):
    pipeline = {"apiVersion": "tekton.dev/v1", "kind": "Pipeline", "metadata": {"name": "bundled", "namespace": NS},
                "spec": {"tasks": [{"name": "clone", "taskRef": {"resolver": "bundles", "params": [
                    {"name": "bundle", "value": "ghcr.io/tektoncd-catalog/git-clone/bundle:v1.7.0"},
                    {"name": "name", "value": "git-clone"}, {"name": "kind", "value": "task"}]}}]}}
    fake_kube.create(pipeline)
    create_run(api, {"apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
                     "metadata": {"name": "unknown-bundle", "namespace": NS},
                     "spec": {"pipelineRef": {"name": "bundled"}}})
    status, reason, message = condition(tekton.wait("unknown-bundle", NS))
    assert (status, reason) == ("False", "CouldntGetTask")
    assert message.startswith("Pipeline ci/bundled can't be Run; it contains Tasks that don't exist")
    assert "could not find object in image with kind: task and name: git-clone" in message
    tekton.register_bundle("ghcr.io/tektoncd-catalog/git-clone/bundle:v1.7.0", CLONE_TASK | {
        "metadata": {"name": "git-clone"}})
    create_run(api, {"apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
                     "metadata": {"name": "bundle-ok", "namespace": NS}, "spec": {"pipelineRef": {"name": "bundled"},
                                                                                  "params": []}})
    run = tekton.wait("bundle-ok", NS)
    assert condition(run)[:2] == ("False", "Failed"), "git-clone's required url param is missing"
    clone = taskrun(fake_kube, "bundle-ok-clone")
    assert clone["metadata"]["labels"]["tekton.dev/task"] == "git-clone"
    assert condition(clone) == ("False", "TaskRunValidationFailed", (
        "[User error] invalid input params for task git-clone: missing values for these params which have no "
        "default values: [url]"))


def test_callable_step_does_real_work(fake_kube, tekton, api, tmp_path):
    seen = {}

    def write_back(context):
        seen.update(params=context.params, env=context.env, secret=(context.workspaces["dockerconfig"]
                                                                    / "config.json").read_text())
        (context.workspaces["source"] / "digest.txt").write_text(context.params["revision"])
        (context.results_dir / "IMAGE_DIGEST").write_text(DIGEST + "\n")
        context.log("wrote digest")
        return ["done"], 0, {}

    tekton.script("clone", "clone", results={"commit": SHA})
    tekton.script("build", "write-digest", run=write_back)
    create_run(api, run_object())
    run = tekton.wait("run-1", NS)
    assert condition(run)[1] == "Succeeded"
    assert seen["params"] == {"revision": SHA} and seen["secret"] == "{}"
    assert run["status"]["results"][0] == {"name": "IMAGE_DIGEST", "value": DIGEST}
    assert fake_kube.container_log("run-1-build-pod", "step-write-digest", NS) == "wrote digest\ndone\n"


def test_live_log_latency_and_kubectl_follow(fake_kube, tekton, api, kubectl_bin, kube_env):
    hold = threading.Event()
    tekton.script("clone", "clone", "first", hold=hold, results={"commit": SHA})
    create_run(api, run_object())
    fake_kube.wait_for("pods", "run-1-clone-pod", NS, lambda p: fake_kube.container_log(
        "run-1-clone-pod", "step-clone", NS) == "first\n")
    with subprocess.Popen([str(kubectl_bin), "logs", "-f", "run-1-clone-pod", "-c", "step-clone", "-n", NS],
                          env=kube_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout.readline() == "first\n"
            delays = []
            for i in range(5):
                written = time.monotonic()
                fake_kube.append_log("run-1-clone-pod", "step-clone", f"line {i}", namespace=NS)
                assert proc.stdout.readline() == f"line {i}\n"
                delays.append(time.monotonic() - written)
            assert sorted(delays)[2] < 0.2, f"median delay {sorted(delays)[2]:.3f}s"
            assert proc.poll() is None, "still following while the step runs"
            hold.set()
            assert proc.wait(10) == 0, proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert condition(tekton.wait("run-1", NS))[1] == "Succeeded"


def test_kubectl_get_pipelineruns_watch(fake_kube, tekton, kubectl_bin, kube_env, api):
    with subprocess.Popen([str(kubectl_bin), "get", "pipelineruns", "-n", NS, "-w", "-o", "name"], env=kube_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            time.sleep(0.5)
            create_run(api, run_object())
            assert proc.stdout.readline() == "pipelinerun.tekton.dev/run-1\n"
            tekton.wait("run-1", NS)
        finally:
            proc.kill()


def test_go_durations():
    assert parse_duration("1h0m0s") == 3600 and parse_duration("90s") == 90 and parse_duration("500ms") == 0.5
    assert [format_duration(s) for s in (3600, 90, 2, 1.5, 0.5)] == ["1h0m0s", "1m30s", "2s", "1.5s", "500ms"]
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_platform_runs_tekton_once_its_controller_is_up(fake_kube, shared_reference):
    from fakeplatform import FakePlatform
    from faketekton import install_crds

    platform = FakePlatform(fake_kube, shared_reference).install()
    try:
        install_crds(fake_kube, shared_reference)
        for ns in (NS, "tekton-pipelines"):
            fake_kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        fake_kube.create(PIPELINE)
        fake_kube.create(CLONE_TASK)
        fake_kube.create({"apiVersion": "v1", "kind": "ServiceAccount",
                          "metadata": {"name": "builder", "namespace": NS}})
        fake_kube.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "push", "namespace": NS}})
        fake_kube.create(run_object())
        time.sleep(0.3)
        assert "status" not in fake_kube.get("pipelineruns.tekton.dev", "run-1", NS), "no controller yet"
        fake_kube.create({"apiVersion": "apps/v1", "kind": "Deployment",
                          "metadata": {"name": "tekton-pipelines-controller", "namespace": "tekton-pipelines"},
                          "spec": {"selector": {"matchLabels": {"app": "c"}}, "template": {
                              "metadata": {"labels": {"app": "c"}},
                              "spec": {"containers": [{"name": "c", "image": "controller"}]}}}})
        platform.settle(30)
        assert condition(fake_kube.get("pipelineruns.tekton.dev", "run-1", NS))[1] == "Succeeded"
        assert platform.errors == []
    finally:
        platform.close()
