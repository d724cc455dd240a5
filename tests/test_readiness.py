"""core.readiness: the tri-state rules, one table row per situation."""

from __future__ import annotations

import pytest

from kubectl_gitops.core.readiness import ObjectRef, Readiness, State, evaluate

R, P, F = State.READY, State.PENDING, State.FAILED
SOURCE = {"repoURL": "https://github.com/example/gitops", "path": "platform/apps/web/dev", "targetRevision": "main"}
COMMIT = "3f2a9c1d4b5e6f708192a3b4c5d6e7f8091a2b3c"


def cond(type_, status, reason="", message=""):
    return {"type": type_, "status": status, "reason": reason, "message": message}


def deploy(generation=2, observed=2, replicas=3, updated=3, total=3, available=3, conditions=(), **spec):
    return {"metadata": {"generation": generation},
            "spec": {"replicas": replicas, **spec},
            "status": {"observedGeneration": observed, "updatedReplicas": updated, "replicas": total,
                       "availableReplicas": available, "conditions": list(conditions)}}


def sts(generation=1, observed=1, replicas=2, ready=2, current="r1", update="r1", updated=2, partition=None,
        strategy="RollingUpdate"):
    update_strategy = {"type": strategy}
    if partition is not None:
        update_strategy["rollingUpdate"] = {"partition": partition}
    return {"metadata": {"generation": generation},
            "spec": {"replicas": replicas, "updateStrategy": update_strategy},
            "status": {"observedGeneration": observed, "readyReplicas": ready, "currentRevision": current,
                       "updateRevision": update, "updatedReplicas": updated}}


def app(sync="Synced", health="Healthy", revision=COMMIT, compared=SOURCE, source=SOURCE, phase="Succeeded",
        message="", result_source=SOURCE, health_message=None):
    status = {"sync": {"status": sync, "revision": revision, "comparedTo": {"source": compared}},
              "health": {"status": health, **({"message": health_message} if health_message else {})},
              "operationState": {"phase": phase, "message": message,
                                 **({"syncResult": {"source": result_source}} if result_source else {})}}
    return {"metadata": {"generation": 1}, "spec": {"source": source}, "status": status}


CRD = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")
DEPLOYMENT = ("apps/v1", "Deployment")
STS = ("apps/v1", "StatefulSet")
DS = ("apps/v1", "DaemonSet")
JOB = ("batch/v1", "Job")
SVC = ("v1", "Service")
VWC = ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration")
MWC = ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration")
APP = ("argoproj.io/v1alpha1", "Application")
TEKTON = ("operator.tekton.dev/v1alpha1", "TektonConfig")
HOOKS = {"webhooks": [{"name": "a", "clientConfig": {"service": {"namespace": "ns", "name": "svc"}}},
                      {"name": "b", "clientConfig": {"url": "https://example.com/hook"}}]}


def slice_(*ready):
    return {"endpoints": [{"addresses": ["10.0.0.1"], "conditions": {} if r is None else {"ready": r}}
                          for r in ready]}


CASES = [
    # kind, object, related, expected state, expected message
    (DEPLOYMENT, None, None, P, "not found"),
    (DEPLOYMENT, {"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}}, None, P, "being deleted"),
    (CRD, {"status": {"conditions": [cond("NamesAccepted", "True"), cond("Established", "True")]}}, None, R,
     "established"),
    (CRD, {"status": {"conditions": [cond("NamesAccepted", "True"), cond("Established", "False", "Installing",
                                                                         "the initial names have been accepted")]}},
     None, P, "Established=False Installing: the initial names have been accepted"),
    (CRD, {"status": {"conditions": [cond("NamesAccepted", "False", "MultipleConflicts", "plural is in use")]}},
     None, F, "NamesAccepted=False MultipleConflicts: plural is in use"),
    (CRD, {"status": {}}, None, P, "not established yet"),
    (DEPLOYMENT, deploy(), None, R, "3 of 3 replicas available"),
    (DEPLOYMENT, deploy(generation=3, observed=2), None, P,
     "waiting for the controller to observe generation 3 (observed: 2)"),
    (DEPLOYMENT, {"metadata": {"generation": 1}, "spec": {}, "status": {}}, None, P,
     "waiting for the controller to observe generation 1 (observed: none)"),
    (DEPLOYMENT, deploy(updated=1, conditions=[cond("Progressing", "True", "ReplicaSetUpdated")]), None, P,
     "1 of 3 replicas updated"),
    (DEPLOYMENT, deploy(total=4), None, P, "1 old replicas pending termination"),
    (DEPLOYMENT, deploy(available=2), None, P, "2 of 3 updated replicas available"),
    (DEPLOYMENT, deploy(available=0, conditions=[cond("Progressing", "False", "ProgressDeadlineExceeded",
                                                      'ReplicaSet "web-1" has timed out progressing.')]), None, F,
     'Progressing=False ProgressDeadlineExceeded: ReplicaSet "web-1" has timed out progressing.'),
    (DEPLOYMENT, deploy(generation=3, observed=2, conditions=[cond("Progressing", "False",
                                                                   "ProgressDeadlineExceeded")]), None, P,
     "waiting for the controller to observe generation 3 (observed: 2)"),  # stale status says nothing yet
    (DEPLOYMENT, deploy(paused=True), None, P, "rollout paused (spec.paused)"),
    (DEPLOYMENT, deploy(replicas=0, updated=0, total=0, available=0), None, R, "0 of 0 replicas available"),
    (STS, sts(), None, R, "2 of 2 replicas ready"),
    (STS, sts(observed=0), None, P, "waiting for the controller to observe generation 1 (observed: 0)"),
    (STS, sts(ready=1), None, P, "1 of 2 replicas ready"),
    (STS, sts(update="r2", updated=1), None, P, "1 of 2 replicas at revision r2"),
    (STS, sts(update="r2", partition=1, updated=0), None, P, "0 of 1 replicas above partition 1 updated"),
    (STS, sts(update="r2", partition=1, updated=1), None, R, "2 of 2 replicas ready (partition 1)"),
    (STS, sts(update="r2", strategy="OnDelete"), None, R, "2 of 2 replicas ready"),
    (DS, {"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "desiredNumberScheduled": 3,
                                                    "updatedNumberScheduled": 3, "numberAvailable": 3}}, None, R,
     "3 of 3 pods available"),
    (DS, {"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "desiredNumberScheduled": 3,
                                                    "updatedNumberScheduled": 2, "numberAvailable": 3}}, None, P,
     "2 of 3 pods updated"),
    (DS, {"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "desiredNumberScheduled": 3,
                                                    "updatedNumberScheduled": 3, "numberAvailable": 1}}, None, P,
     "1 of 3 updated pods available"),
    (JOB, {"status": {"conditions": [cond("Complete", "True")]}}, None, R, "complete"),
    (JOB, {"status": {"conditions": [cond("SuccessCriteriaMet", "True")]}}, None, R, "complete"),
    (JOB, {"status": {"conditions": [cond("Failed", "True", "BackoffLimitExceeded", "Job has reached the "
                                                                                     "specified backoff limit")]}},
     None, F, "Failed=True BackoffLimitExceeded: Job has reached the specified backoff limit"),
    (JOB, {"spec": {"completions": 2}, "status": {"succeeded": 1}}, None, P, "1 of 2 completions"),
    (SVC, {"spec": {"type": "ClusterIP"}}, None, R, "exists"),
    (SVC, {"spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {}}}, None, P,
     "waiting for the load balancer's address"),
    (SVC, {"spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}},
     None, R, "load balancer at 203.0.113.7"),
    (SVC, {"spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example"}]}}},
     None, R, "load balancer at lb.example"),
    (VWC, HOOKS, {"endpointslices": {"ns/svc": [slice_(True)]}}, R, "answering (ns/svc)"),
    (MWC, HOOKS, {"endpointslices": {"ns/svc": [slice_(None)]}}, R, "answering (ns/svc)"),  # nil means ready
    (VWC, HOOKS, {"endpointslices": {"ns/svc": [slice_(False, False)]}}, P, "no ready endpoint for service ns/svc"),
    (VWC, HOOKS, {"endpointslices": {}}, P, "no ready endpoint for service ns/svc"),
    (VWC, HOOKS, None, P, "endpoints of ns/svc not checked"),
    (VWC, {"webhooks": [{"name": "b", "clientConfig": {"url": "https://example.com"}}]}, None, R,
     "1 webhooks, none calls a service"),
    (APP, app(), None, R, f"Synced and Healthy at {COMMIT[:12]}"),
    (APP, {"spec": {"source": SOURCE}}, None, P, "not reconciled by Argo CD yet"),
    (APP, app(compared={**SOURCE, "path": "old"}), None, P,
     "status is from before the last change of the source (waiting for a refresh)"),
    (APP, app(compared={**SOURCE, "path": "old"}, health="Degraded", phase="Failed"), None, P,
     "status is from before the last change of the source (waiting for a refresh)"),
    (APP, app(sync="OutOfSync", health="Missing"), None, P, "sync OutOfSync, health Missing"),
    (APP, app(health="Progressing", health_message="Waiting for rollout"), None, P,
     "health Progressing: Waiting for rollout"),
    (APP, app(health="Degraded"), None, P, "health Degraded"),  # Degraded alone: a rollout may recover
    (APP, app(health="Degraded", phase="Failed", message="one or more objects failed to apply"), None, F,
     "sync Failed (health Degraded): one or more objects failed to apply"),
    (APP, app(sync="OutOfSync", phase="Error", message="ComparisonError: repository not found", result_source=None),
     None, F, "sync Error: ComparisonError: repository not found"),
    (APP, app(sync="OutOfSync", phase="Failed", result_source={**SOURCE, "path": "old"}), None, P,
     "sync OutOfSync, health Healthy"),  # a failure of an earlier source is not this one's
    (APP, app(sync="OutOfSync", phase="Running", message="waiting for healthy state"), None, P,
     "sync running: waiting for healthy state"),
    (TEKTON, {"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "version": "v0.81.1",
                                                        "conditions": [cond("Ready", "True")]}}, None, R,
     "Ready (version v0.81.1)"),
    (TEKTON, {"metadata": {"generation": 2}, "status": {"observedGeneration": 1, "conditions": [cond("Ready",
                                                                                                    "True")]}},
     None, P, "waiting for the controller to observe generation 2 (observed: 1)"),
    (TEKTON, {"status": {"conditions": [cond("Ready", "False", "Error", "Components not in ready state: "
                                                                         "TektonPipeline: reconcile again")]}},
     None, P, "Ready=False Error: Components not in ready state: TektonPipeline: reconcile again"),
    (TEKTON, {"status": {}}, None, P, "no Ready condition yet"),
    (("v1", "Namespace"), {"status": {"phase": "Active"}}, None, R, "Active"),
    (("v1", "Namespace"), {"status": {"phase": "Terminating"}}, None, P, "Terminating"),
    (("v1", "PersistentVolumeClaim"), {"status": {"phase": "Pending"}}, None, P, "Pending"),
    (("v1", "PersistentVolumeClaim"), {"status": {"phase": "Bound"}}, None, R, "Bound"),
    (("example.com/v1", "Widget"), {"status": {"conditions": [cond("Ready", "False", "Waiting")]}}, None, P,
     "Ready=False Waiting"),
    (("example.com/v1", "Widget"), {"status": {"conditions": [cond("Ready", "True")]}}, None, R, "Ready"),
    (("v1", "ConfigMap"), {"data": {}}, None, R, "exists"),
]


@pytest.mark.parametrize(("kind", "obj", "related", "state", "message"), CASES,
                         ids=[f"{c[0][1]}-{i}" for i, c in enumerate(CASES)])
def test_rules(kind, obj, related, state, message):
    ref = ObjectRef(kind[0], kind[1], "x", "ns")
    result = evaluate(ref, obj, related=related)
    assert (result.state, result.message) == (state, message)
    assert result.ref is ref


@pytest.mark.parametrize(("expected", "obj", "state", "message"), [
    ("main", app(), R, f"Synced and Healthy at {COMMIT[:12]}"),
    ("release-2", app(), P, "spec.source.targetRevision is main, expected release-2"),
    (COMMIT[:8], app(), R, f"Synced and Healthy at {COMMIT[:12]}"),
    ("0123abcd", app(), P, f"synced at {COMMIT[:12]}, waiting for 0123abcd"),
])
def test_application_expected_revision(expected, obj, state, message):
    result = evaluate(ObjectRef(*APP, "web-dev", "argocd", expected_revision=expected), obj)
    assert (result.state, result.message) == (state, message)


def test_kind_rules_are_per_api_group():
    """An Application of another API group is not judged by Argo CD's rule."""
    other = evaluate(ObjectRef("app.k8s.io/v1beta1", "Application", "x", "ns"), {"spec": {}})
    assert (other.state, other.message) == (R, "exists")


def test_refs_and_results_print_and_sort():
    cluster_scoped = ObjectRef(*CRD, "applications.argoproj.io")
    namespaced = ObjectRef(*DEPLOYMENT, "argocd-server", "argocd")
    assert str(cluster_scoped) == "CustomResourceDefinition applications.argoproj.io"
    assert str(namespaced) == "Deployment argocd/argocd-server"
    assert sorted([namespaced, cluster_scoped], key=lambda r: r.sort_key) == [cluster_scoped, namespaced]
    result = Readiness(namespaced, State.FAILED, "boom")
    assert str(result) == "Deployment argocd/argocd-server: boom" and result.failed and not result.ready
