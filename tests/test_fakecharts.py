"""The stand-ins for the upstream dependency charts (:mod:`fakecharts`) and for the controllers
(:mod:`fakeplatform`): pinned names and versions, the values keys the umbrella chart sets, the resource
names bootstrap waits for, and the controllers' switches."""

from __future__ import annotations

import base64
import io
import tarfile

import bcrypt
import pytest
import yaml

import fakecharts
import gitopsrepo
from fakekube import FakeKube
from fakeplatform import (
    CHAINS_DEPLOYMENTS,
    PIPELINES_AS_CODE_DEPLOYMENTS,
    RESULTS_DEPLOYMENTS,
    TEKTON_DEPLOYMENTS,
    FakePlatform,
)
from kubectl_gitops.adapters import config_file, schema
from kubectl_gitops.adapters import helm as helm_adapter
from kubectl_gitops.core import manifests, values

KINDS = {"CustomResourceDefinition", "Deployment", "StatefulSet", "Service"}


@pytest.fixture(scope="module")
def chart(tmp_path_factory, shared_reference):
    return fakecharts.chart_with_dependencies(tmp_path_factory.mktemp("chart"), shared_reference)


@pytest.fixture(scope="module")
def config(repo_root):
    return config_file.load(repo_root / "examples" / "proof-of-concept" / "gitops.yaml")


def render(chart, helm_bin, release, data, namespace="argocd"):
    return helm_adapter.render(chart, release=release, namespace=namespace, values=data, helm=str(helm_bin))


def release_namespace(phase):
    return values.OPERATOR_NAMESPACE if phase == "operator" else "argocd"


@pytest.fixture(scope="module")
def platform_release(chart, helm_bin, config):
    return render(chart, helm_bin, "bl-k8s-platform", values.chart_values(config, phase="platform",
                                                                          load_balancer_id="4de7ac8b"))


@pytest.fixture(scope="module")
def operator_release(chart, helm_bin, config):
    return render(chart, helm_bin, "bl-k8s-operator", values.chart_values(config, phase="operator"),
                  namespace=values.OPERATOR_NAMESPACE)


def by_key(objs):
    return {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objs}


def test_archives_are_named_and_versioned_as_pinned_and_reproducible(tmp_path, shared_reference, repo_root):
    meta = yaml.safe_load((repo_root / "charts/gitops-platform/Chart.yaml").read_text())
    pinned = {d["name"]: str(d["version"]) for d in meta["dependencies"]}
    first = fakecharts.dependency_archives(tmp_path / "a", shared_reference)
    second = fakecharts.dependency_archives(tmp_path / "b", shared_reference)
    assert {name: path.name for name, path in first.items()} == {n: f"{n}-{v}.tgz" for n, v in pinned.items()}
    for name, path in first.items():
        assert path.read_bytes() == second[name].read_bytes(), "byte-for-byte reproducible"
        with tarfile.open(fileobj=io.BytesIO(path.read_bytes())) as tar:
            chart_yaml = yaml.safe_load(tar.extractfile(f"{name}/Chart.yaml").read())
            names = tar.getnames()
        assert (chart_yaml["name"], chart_yaml["version"]) == (name, pinned[name])
        assert all(n.startswith(f"{name}/") for n in names)
    assert helm_adapter.missing_dependencies(fakecharts.chart_with_dependencies(tmp_path / "c", shared_reference)) == ()


@pytest.mark.parametrize("phase", ["platform", "operator"])
def test_the_release_renders_what_bootstrap_waits_for(phase, platform_release, operator_release, config):
    release = platform_release if phase == "platform" else operator_release
    assert release.omitted_dependencies == ()
    rendered = by_key(release.objects())
    for ref in values.readiness_after(config, phase):
        namespace = ref["namespace"]
        # the tekton-operator chart leaves its namespaced objects to the release namespace, like upstream
        keys = {(ref["kind"], namespace, ref["name"]), (ref["kind"], None, ref["name"])}
        assert keys & set(rendered), f"{ref} is not rendered"
        obj = rendered[next(iter(keys & set(rendered)))]
        assert obj["apiVersion"] == ref["api_version"]


def test_every_rendered_object_is_valid(platform_release):
    documents = list(manifests.parse_documents(platform_release.manifest_text, source="platform"))
    results = schema.validate(documents, registry=schema.SchemaRegistry(kubernetes_version="1.34"))
    assert [(r.kind, r.name, [p.message for p in r.problems]) for r in results if r.status != "valid"] == []


def test_the_umbrella_values_reach_the_dependencies(platform_release):
    objs = by_key(platform_release.objects())
    service = objs[("Service", "ingress-nginx", "ingress-nginx-controller")]
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["metadata"]["annotations"] == {"kubernetes.digitalocean.com/load-balancer-id": "4de7ac8b",
                                                  "service.beta.kubernetes.io/do-loadbalancer-name":
                                                      "bl-k8s-mgmt-ingress"}
    webhook = objs[("ValidatingWebhookConfiguration", None, "ingress-nginx-admission")]
    assert webhook["webhooks"][0]["clientConfig"]["service"] == {
        "name": "ingress-nginx-controller-admission", "namespace": "ingress-nginx", "port": 443,
        "path": "/networking/v1/ingresses"}
    ingress_class = objs[("IngressClass", None, "nginx")]
    assert ingress_class["metadata"]["annotations"] == {"ingressclass.kubernetes.io/is-default-class": "true"}
    for crd in ("applications.argoproj.io", "applicationsets.argoproj.io", "appprojects.argoproj.io"):
        crd_obj = objs[("CustomResourceDefinition", None, crd)]
        assert crd_obj["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
        assert crd_obj["spec"]["versions"][0]["schema"]["openAPIV3Schema"], "the upstream schema"
    assert objs[("ConfigMap", "argocd", "argocd-cmd-params-cm")]["data"] == {"server.insecure": "true"}
    assert "resource.customizations.health.argoproj.io_Application" in objs[("ConfigMap", "argocd", "argocd-cm")][
        "data"]
    assert not [k for k in objs if k[2].startswith("tekton-operator") or k[2].endswith("operator.tekton.dev")], \
        "the operator has a release of its own"
    assert ("Job", "argocd", "argocd-redis-secret-init") in objs
    server = objs[("Service", "argocd", "argocd-server")]
    assert [p["name"] for p in server["spec"]["ports"]] == ["http", "https"], "the Ingress backend port name"


def test_the_operator_release_holds_the_operator_alone(operator_release):
    objs = by_key(operator_release.objects())
    operator = objs[("Deployment", None, "tekton-operator")]
    env = {e["name"]: e.get("value") for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["AUTOINSTALL_COMPONENTS"] == "false" and env["KUBERNETES_MIN_VERSION"] == "v1.32.0"
    assert env["DEFAULT_TARGET_NAMESPACE"] == "tekton-pipelines"
    assert ("CustomResourceDefinition", None, "tektonconfigs.operator.tekton.dev") in objs
    assert not [k for k in objs if "argocd" in k[2] or "ingress" in k[2]]


def test_argo_cd_links_to_its_own_ingress_over_https(platform_release, config):
    objs = by_key(platform_release.objects())
    url = f"https://argo.{config.domain}"
    assert objs[("ConfigMap", "argocd", "argocd-cm")]["data"]["url"] == url
    context = yaml.safe_load(objs[("ConfigMap", "argocd", "argocd-notifications-cm")]["data"]["context"])
    assert context == {"argocdUrl": url}
    ingress = objs[("Ingress", "argocd", "argocd-server")]
    assert ingress["spec"]["rules"][0]["host"] == f"argo.{config.domain}"
    assert ingress["spec"]["tls"] == [{"hosts": [f"argo.{config.domain}"], "secretName": "argocd-server-tls"}]
    params = objs[("ConfigMap", "argocd", "argocd-cmd-params-cm")]["data"]
    assert params["server.insecure"] == "true", "TLS ends at the ingress controller"


def test_cert_manager_runs_under_upstream_names_in_its_namespace(platform_release):
    objs = by_key(platform_release.objects())
    for name in ("cert-manager", "cert-manager-cainjector", "cert-manager-webhook"):
        assert ("Deployment", "cert-manager", name) in objs
    assert ("Namespace", None, "cert-manager") in objs
    webhook = objs[("ValidatingWebhookConfiguration", None, "cert-manager-webhook")]["webhooks"][0]
    assert webhook["clientConfig"]["service"] == {"name": "cert-manager-webhook", "namespace": "cert-manager",
                                                  "path": "/validate"}
    crds = {k[2] for k in objs if k[0] == "CustomResourceDefinition" and "cert-manager" in k[2]}
    assert crds == {"certificates.cert-manager.io", "certificaterequests.cert-manager.io", "issuers.cert-manager.io",
                    "clusterissuers.cert-manager.io", "orders.acme.cert-manager.io",
                    "challenges.acme.cert-manager.io"}
    assert not [k for k, o in objs.items() if "helm.sh/hook" in (o["metadata"].get("annotations") or {})
                and "cert-manager" in k[2]], "no startupapicheck hook Job"


def test_argo_cd_manages_the_admission_webhook_and_runs_its_certificate_jobs_as_hooks(platform_release):
    """Argo CD maps Helm hooks to its own (pre-install/pre-upgrade: PreSync, post-*: PostSync) unless an
    `argocd.argoproj.io/hook` annotation says otherwise, and never applies or repairs an object whose
    hook annotation is Skip."""
    objs = by_key(platform_release.objects())
    hooks = {k: o["metadata"]["annotations"] for k, o in objs.items()
             if "helm.sh/hook" in (o["metadata"].get("annotations") or {})}
    for key, obj in objs.items():
        annotations = obj["metadata"].get("annotations") or {}
        assert not [a for a in annotations if a.startswith("argocd.argoproj.io/hook")], key
    webhook = ("ValidatingWebhookConfiguration", None, "ingress-nginx-admission")
    assert webhook in objs and webhook not in hooks, "an ordinary resource of the release"
    assert hooks[("Job", "ingress-nginx", "ingress-nginx-admission-create")]["helm.sh/hook"] == (
        "pre-install,pre-upgrade")
    assert hooks[("Job", "ingress-nginx", "ingress-nginx-admission-patch")]["helm.sh/hook"] == (
        "post-install,post-upgrade")


def test_upstream_defaults_apply_without_the_umbrella_overrides(chart, helm_bin):
    hook = {"example.com/owner": "platform-team"}
    data = {"argo-cd": {"fullnameOverride": "", "crds": {"install": False}, "global": {"domain": "cd.example.org"},
                        "configs": {"cm": {"url": None}}, "notifications": {"argocdUrl": None}},
            "ingress": {"argocd": {"enabled": False}},
            "ingress-nginx": {"fullnameOverride": "", "namespaceOverride": "",
                              "controller": {"admissionWebhooks": {"annotations": hook}}},
            "cert-manager": {"fullnameOverride": "", "namespace": "", "crds": {"enabled": False}},
            "namespaces": {"certManager": "argocd"}}
    objs = by_key(render(chart, helm_bin, "edge", data).objects())
    operator = {"phase": "operator", "argo-cd": {"enabled": False}, "ingress-nginx": {"enabled": False},
                "cert-manager": {"enabled": False},
                "tekton-operator": {"enabled": True, "fullnameOverride": "", "installCRDs": False,
                                    "operator": {"autoInstallComponents": True}}}
    objs.update(by_key(render(chart, helm_bin, "edge", operator, namespace="ops").objects()))
    names = {(k[0], k[2]) for k in objs}
    assert {("StatefulSet", "edge-argocd-application-controller"), ("Deployment", "edge-argocd-server"),
            ("Deployment", "edge-ingress-nginx-controller"), ("Service", "edge-ingress-nginx-controller-admission"),
            ("Deployment", "edge-tekton-operator"), ("Deployment", "edge-tekton-operator-webhook"),
            ("Deployment", "edge-cert-manager"), ("Deployment", "edge-cert-manager-webhook")} <= names
    assert ("Deployment", "argocd", "edge-cert-manager-cainjector") in objs, "release namespace without override"
    assert ("Deployment", "argocd", "edge-ingress-nginx-controller") in objs, "release namespace without override"
    assert not [k for k in objs if k[0] == "CustomResourceDefinition"]
    # as upstream, controller.admissionWebhooks.annotations reach the two Jobs and the webhook configuration
    annotated = sorted(k[0] + "/" + k[2] for k, o in objs.items()
                       if (o["metadata"].get("annotations") or {}).get("example.com/owner") == "platform-team")
    assert annotated == ["Job/edge-ingress-nginx-admission-create", "Job/edge-ingress-nginx-admission-patch",
                         "ValidatingWebhookConfiguration/edge-ingress-nginx-admission"]
    assert ("ClusterRole", None, "edge-ingress-nginx-admission") in objs
    # as upstream: without configs.cm.url and notifications.argocdUrl, both are https://<global.domain>
    assert objs[("ConfigMap", "argocd", "argocd-cm")]["data"]["url"] == "https://cd.example.org"
    notifications = objs[("ConfigMap", "argocd", "argocd-notifications-cm")]["data"]["context"]
    assert yaml.safe_load(notifications) == {"argocdUrl": "https://cd.example.org"}


# ---------------------------------------------------------------- the controllers

@pytest.fixture
def stand_in(shared_reference):
    kube = FakeKube()
    controllers = FakePlatform(kube, shared_reference).install()
    yield kube, controllers
    controllers.close()
    assert controllers.errors == []


def conditions(obj):
    return (obj.get("status") or {}).get("conditions") or []


def apply(kube, objs, namespace="argocd"):
    """Create rendered objects in helm's kind order (namespaces and CRDs first), hooks included."""
    order = ["Namespace", "CustomResourceDefinition", "ServiceAccount", "Secret", "ConfigMap"]
    for obj in sorted(objs, key=lambda o: order.index(o["kind"]) if o["kind"] in order else len(order)):
        meta = obj["metadata"]
        if meta.get("namespace") is None and kube.resolve(obj["kind"]).namespaced:
            meta["namespace"] = namespace
        if meta.get("namespace") and kube.get("namespaces", meta["namespace"]) is None:
            kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": meta["namespace"]}})
        kube.create(obj)


def test_controllers_bring_the_platform_up_and_honour_their_switches(stand_in, chart, helm_bin, git_host, repo_root):
    kube, controllers = stand_in
    url = git_host.create_repo("gitops")
    data = gitopsrepo.configured(
        yaml.safe_load((repo_root / "examples" / "proof-of-concept" / "gitops.yaml").read_text()), url)
    commit = gitopsrepo.seed(data)
    config = config_file.load_text(yaml.safe_dump(data), source="gitops.yaml")
    controllers.never_ready.add(("Deployment", "argocd", "argocd-dex-server"))
    controllers.failed_rollouts.add(("Deployment", "tekton-pipelines", "tekton-dashboard"))
    controllers.failing_applications["fakeservice-dev"] = "one or more objects failed to apply"
    for phase in values.PHASES:
        apply(kube, render(chart, helm_bin, f"bl-k8s-{phase}", values.chart_values(config, phase=phase),
                           namespace=release_namespace(phase)).objects(), release_namespace(phase))
        controllers.settle()

    dex = kube.get("deployments", "argocd-dex-server", "argocd")
    assert dex["status"]["availableReplicas"] == 0 and dex["status"]["observedGeneration"] == 1
    assert {c["type"]: c["status"] for c in dex["status"]["conditions"]} == {"Available": "False",
                                                                              "Progressing": "True"}
    dashboard = kube.get("deployments", "tekton-dashboard", "tekton-pipelines")
    assert [c["reason"] for c in dashboard["status"]["conditions"] if c["type"] == "Progressing"] == [
        "ProgressDeadlineExceeded"]
    server = kube.get("deployments", "argocd-server", "argocd")
    assert server["status"]["availableReplicas"] == 1 and server["status"]["observedGeneration"] == 1

    slices = {s["metadata"]["labels"]["kubernetes.io/service-name"]: s
              for s in kube.list("endpointslices.discovery.k8s.io")}
    assert [e["conditions"]["ready"] for e in slices["argocd-dex-server"]["endpoints"]] == [False]
    admission = slices["ingress-nginx-controller-admission"]
    assert [e["conditions"]["ready"] for e in admission["endpoints"]] == [True]
    assert admission["ports"] == [{"port": 8443, "protocol": "TCP", "name": "https-webhook"}], "named port resolved"

    assert kube.get("secrets", "ingress-nginx-admission", "ingress-nginx")["data"]["cert"]
    assert kube.get("secrets", "argocd-redis", "argocd")["data"]["auth"]
    password = base64.b64decode(kube.get("secrets", "argocd-initial-admin-secret", "argocd")["data"]["password"])
    hashed = base64.b64decode(kube.get("secrets", "argocd-secret", "argocd")["data"]["admin.password"])
    assert bcrypt.checkpw(password, hashed), "the initial password is the one Argo CD's hash is of"
    assert kube.get("services", "ingress-nginx-controller", "ingress-nginx")["status"]["loadBalancer"]["ingress"]

    config_ready = {c["type"]: c for c in conditions(kube.get("tektonconfigs.operator.tekton.dev", "config"))}
    assert config_ready["Ready"]["status"] == "Unknown"
    assert "tekton-dashboard" in config_ready["Ready"]["message"]
    for name in TEKTON_DEPLOYMENTS:
        assert kube.get("deployments", name, "tekton-pipelines") is not None, name
    assert kube.get("customresourcedefinitions", "tasks.tekton.dev")["status"]["conditions"]
    assert {c["metadata"]["name"] for c in kube.list("clusterinterceptors.triggers.tekton.dev")} >= {"cel", "github"}

    controllers.failed_rollouts.clear()
    kube.mark_deployment_available("tekton-dashboard", "tekton-pipelines")
    controllers.settle()
    config_ready = {c["type"]: c for c in conditions(kube.get("tektonconfigs.operator.tekton.dev", "config"))}
    assert config_ready["Ready"]["status"] == "True", "the operator saw the last component come up"

    root = kube.get("applications.argoproj.io", "bl-k8s-root", "argocd")["status"]
    assert (root["sync"]["status"], root["health"]["status"], root["sync"]["revision"]) == (
        "Synced", "Healthy", commit)
    failed = kube.get("applications.argoproj.io", "fakeservice-dev", "argocd")["status"]
    assert (failed["sync"]["status"], failed["operationState"]["phase"]) == ("OutOfSync", "Failed")
    assert failed["operationState"]["message"] == "one or more objects failed to apply"

    kube.update("applications.argoproj.io", "bl-k8s-root",
                lambda o: o["spec"]["source"].update(targetRevision="release-2"), "argocd")
    controllers.settle()
    root = kube.get("applications.argoproj.io", "bl-k8s-root", "argocd")["status"]
    assert (root["sync"]["status"], root["sync"]["comparedTo"]["source"]["targetRevision"]) == (
        "Unknown", "release-2"), "no such branch yet"
    assert "unable to resolve 'release-2' to a commit SHA" in root["conditions"][0]["message"]
    gitopsrepo.git("--git-dir", str(git_host.path("gitops")), "update-ref", "refs/heads/release-2", commit)
    controllers.argocd.refresh("bl-k8s-root")
    controllers.settle()
    root = kube.get("applications.argoproj.io", "bl-k8s-root", "argocd")["status"]
    assert (root["sync"]["status"], root["sync"]["revision"], root.get("conditions")) == ("Synced", commit, None)

    writes = kube.writes
    kube.update("applications.argoproj.io", "bl-k8s-root",
                lambda o: o["metadata"].setdefault("labels", {}).update(team="platform"), "argocd")
    controllers.settle()
    assert kube.writes == writes + 1, "nothing for the controllers to do: they write nothing"

    kube.delete("applications.argoproj.io", "fakeservice-dev", "argocd")
    assert kube.get("applications.argoproj.io", "fakeservice-dev", "argocd") is None, "finalizer released"


def test_the_operator_takes_its_target_namespace_even_an_existing_one(stand_in, chart, helm_bin, config):
    kube, controllers = stand_in
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tekton-pipelines",
                                                                        "labels": {"team": "ci"}}})
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "owned-elsewhere", "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "u-1"}]}})
    for phase in ("platform", "operator", "tekton"):
        apply(kube, render(chart, helm_bin, f"bl-k8s-{phase}", values.chart_values(config, phase=phase),
                           namespace=release_namespace(phase)).objects(), release_namespace(phase))
        controllers.settle()
    tekton_config = kube.get("tektonconfigs.operator.tekton.dev", "config")
    owner = {"apiVersion": "operator.tekton.dev/v1alpha1", "kind": "TektonConfig", "name": "config",
             "uid": tekton_config["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
    namespace = kube.get("namespaces", "tekton-pipelines")
    assert namespace["metadata"]["ownerReferences"] == [owner], "upstream adopts a namespace nobody owns"
    assert namespace["metadata"]["labels"]["operator.tekton.dev/targetNamespace"] == "true"
    assert namespace["metadata"]["labels"]["team"] == "ci"

    # a new target namespace: the old one, labelled and owned by the same TektonConfig, goes
    kube.update("tektonconfigs.operator.tekton.dev", "config", lambda o: o["spec"].update(targetNamespace="tekton"))
    controllers.settle()
    assert kube.get("namespaces", "tekton")["metadata"]["ownerReferences"] == [owner]
    old = kube.get("namespaces", "tekton-pipelines")
    assert old is None or old["metadata"].get("deletionTimestamp")
    assert kube.get("namespaces", "owned-elsewhere")["metadata"]["ownerReferences"][0]["kind"] == "ConfigMap"


def test_the_operator_installs_chains_and_pipelines_as_code_only_as_the_tekton_config_says(stand_in, chart, helm_bin,
                                                                                            config):
    kube, controllers = stand_in
    # upstream defaults: profile all brings both, basic brings Chains only, disabling switches
    assert FakePlatform.optional_components({"profile": "all"}) == {"chains": True, "results": True,
                                                                    "pipelines-as-code": True}
    assert FakePlatform.optional_components({}) == {"chains": True, "results": True, "pipelines-as-code": False}
    assert FakePlatform.optional_components({"profile": "all", "addon": {"enablePipelinesAsCode": False},
                                             "chain": {"disabled": True}, "result": {"disabled": True}}) == {
        "chains": False, "results": False, "pipelines-as-code": False}
    for phase in ("platform", "operator", "tekton"):
        apply(kube, render(chart, helm_bin, f"bl-k8s-{phase}", values.chart_values(config, phase=phase),
                           namespace=release_namespace(phase)).objects(), release_namespace(phase))
        controllers.settle()
    optional = (*CHAINS_DEPLOYMENTS, *RESULTS_DEPLOYMENTS, *PIPELINES_AS_CODE_DEPLOYMENTS)
    assert [n for n in optional if kube.get("deployments", n, "tekton-pipelines")] == []
    assert kube.get("deployments", "tekton-pipelines-controller", "tekton-pipelines") is not None
    kube.update("tektonconfigs.operator.tekton.dev", "config", lambda o: o["spec"].update(
        chain={"disabled": False}, result={"disabled": False},
        platforms={"kubernetes": {"pipelinesAsCode": {"enable": True}}}))
    controllers.settle()
    assert [n for n in optional if kube.get("deployments", n, "tekton-pipelines")] == list(optional)


def test_the_operator_installs_its_own_tekton_config_when_told_to(stand_in, chart, helm_bin):
    kube, controllers = stand_in
    data = {"phase": "operator", "tekton-operator": {"enabled": True, "operator": {
        "autoInstallComponents": True, "defaultTargetNamespace": "tekton"}},
            "argo-cd": {"enabled": False}, "ingress-nginx": {"enabled": False}, "cert-manager": {"enabled": False}}
    apply(kube, [o for o in render(chart, helm_bin, "p", data, namespace="ops").objects() if o["kind"] != "Job"],
          "ops")
    controllers.settle()
    config = kube.get("tektonconfigs.operator.tekton.dev", "config")
    assert config["spec"] == {"profile": "all", "targetNamespace": "tekton"}
    assert {c["type"]: c["status"] for c in config["status"]["conditions"]}["Ready"] == "True"
    assert kube.get("deployments", "tekton-pipelines-webhook", "tekton")["status"]["availableReplicas"] == 1


def test_held_and_failing_jobs(stand_in):
    kube, controllers = stand_in
    controllers.held_jobs.add("held")
    controllers.failing_jobs.add("broken")
    for name in ("held", "broken", "fine"):
        kube.create({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "default"},
                     "spec": {"backoffLimit": 2, "template": {"spec": {"restartPolicy": "Never",
                                                                     "containers": [{"name": "c", "image": "x"}]}}}})
    assert "status" not in kube.get("jobs", "held", "default") or not kube.get("jobs", "held", "default")["status"]
    broken = kube.get("jobs", "broken", "default")["status"]
    assert broken["failed"] == 3 and [c["reason"] for c in broken["conditions"]] == ["BackoffLimitExceeded"] * 2
    fine = kube.get("jobs", "fine", "default")["status"]
    assert fine["succeeded"] == 1 and {c["type"] for c in fine["conditions"]} == {"Complete", "SuccessCriteriaMet"}
