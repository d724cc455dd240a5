"""A re-run right after an interruption: the ingress controller's admission webhook is registered but not
served yet (the Kubernetes API stand-in refuses Ingress writes then, as a real API server does). bootstrap
waits for it within its deadline before helm rolls back or upgrades the release, and says in one line what it
waited for when the deadline runs out."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

from test_bootstrap_e2e import platform, stand_in_chart  # noqa: F401 - fixtures

CONTROLLER = ("Deployment", "ingress-nginx", "ingress-nginx-controller")
HOOK = "ingress-nginx-admission-patch"  # post-install hook: helm waits for it with every object written
LATE = 12  # seconds until the webhook is served: later than the re-run reaches helm


def _interrupted_run(platform) -> None:  # noqa: F811
    """Start bootstrap, kill it (and its helm) with SIGKILL once helm has written the platform release's objects
    and waits for its post-install hook: the release stays pending-install, the webhook registered, unserved."""
    platform.controllers.never_ready.add(CONTROLLER)
    platform.controllers.held_jobs.add(HOOK)
    proc = subprocess.Popen(["kubectl", "gitops", "bootstrap", "--config", str(platform.config), "--chart",
                             str(platform.chart), "--registry-auth", str(platform.auth)],
                            env=platform.env, cwd=platform.tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        platform.kube.wait_for("jobs.batch", HOOK, "ingress-nginx", timeout=120)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    platform.controllers.held_jobs.clear()
    assert platform.kube.list("validatingwebhookconfigurations.admissionregistration.k8s.io")


def test_the_stand_in_refuses_ingress_writes_while_the_webhook_is_not_served(platform):  # noqa: F811
    _interrupted_run(platform)
    out = platform.kubectl("-n", "argocd", "annotate", "ingress", "--all", "touched=yes")
    assert out.returncode != 0
    assert 'failed calling webhook "validate.nginx.ingress.kubernetes.io"' in out.stderr
    assert 'no endpoints available for service "ingress-nginx-controller-admission"' in out.stderr


def test_rerun_waits_for_a_webhook_that_comes_up_late(platform):  # noqa: F811
    _interrupted_run(platform)

    def comes_up_late():
        time.sleep(LATE)
        platform.controllers.never_ready.discard(CONTROLLER)
        platform.kube.mark_deployment_available(CONTROLLER[2], CONTROLLER[1])

    late = threading.Thread(target=comes_up_late)
    late.start()
    try:
        started = time.monotonic()
        again = platform.bootstrap()
        elapsed = time.monotonic() - started
    finally:
        late.join()
    assert again.returncode == 0, again.stderr
    assert "the platform's admission webhooks to be served" in again.stderr
    assert "failed calling webhook" not in again.stderr
    assert elapsed >= LATE


def test_rerun_says_what_it_waited_for_when_the_deadline_runs_out(platform):  # noqa: F811
    _interrupted_run(platform)
    out = platform.bootstrap("--timeout", "5s")
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, out.stderr
    assert "admission webhooks the platform registered were not served" in errors[0]
    assert "ingress-nginx" in errors[0] and "Traceback" not in out.stderr
    assert "failed calling webhook" not in out.stderr


def test_rerun_with_a_changed_config_waits_instead_of_failing_inside_helm(platform):  # noqa: F811
    """The first run stopped while the ingress controller was still rolling out (helm done, webhook registered);
    the user edits gitops.yaml and re-runs at once: helm must update the Argo CD Ingress, which the API server
    refuses until the webhook is served. bootstrap waits for it first."""
    import yaml

    platform.controllers.never_ready.add(CONTROLLER)
    first = platform.bootstrap("--timeout", "20s")
    assert first.returncode == 1 and "ingress-nginx-controller" in first.stderr
    data = yaml.safe_load(platform.config.read_text())
    data["domain"] = "changed.example.com"
    platform.config.write_text(yaml.safe_dump(data))

    def comes_up_late():
        time.sleep(LATE)
        platform.controllers.never_ready.discard(CONTROLLER)
        platform.kube.mark_deployment_available(CONTROLLER[2], CONTROLLER[1])

    late = threading.Thread(target=comes_up_late)
    late.start()
    try:
        again = platform.bootstrap()
    finally:
        late.join()
    assert again.returncode == 0, again.stderr
    assert "failed calling webhook" not in again.stderr
    ingress = platform.kube.get("ingresses.networking.k8s.io", "argocd-server", "argocd")
    assert ingress is None or "changed.example.com" in str(ingress["spec"])
    hosts = [rule.get("host") for obj in platform.kube.list("ingresses.networking.k8s.io", "argocd")
             for rule in (obj.get("spec") or {}).get("rules") or []]
    assert "argo.changed.example.com" in hosts
