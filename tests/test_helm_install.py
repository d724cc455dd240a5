"""The helm adapter installing the platform for real: Helm 4 and Helm 3.19 install the three releases
of the umbrella chart, in order, against the Kubernetes API stand-in, with the stand-in dependency
charts (:mod:`fakecharts`) and controllers (:mod:`fakeplatform`).

Covers: every object bootstrap waits for exists and gets ready under the names ``readiness_after``
lists; a re-run changes nothing (no helm revision, no write to the API); a release left pending by
a killed helm is recovered; a failed install reports helm's own message and a re-run completes it;
the ordering the three releases exist for. The GitOps repository the Applications sync from is a
real one on the git host stand-in, holding the layout bootstrap is to write there (:mod:`gitopsrepo`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

import fakecharts
import gitopsrepo
from fakeplatform import FakePlatform
from kubectl_gitops.adapters import config_file
from kubectl_gitops.adapters import helm as helm_adapter
from kubectl_gitops.core import values
from kubectl_gitops.core.errors import GitopsError, HelmError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RESOURCES = {"CustomResourceDefinition": "customresourcedefinitions", "Deployment": "deployments",
             "StatefulSet": "statefulsets", "Service": "services",
             "TektonConfig": "tektonconfigs.operator.tekton.dev", "Application": "applications.argoproj.io",
             "Namespace": "namespaces", "ClusterIssuer": "clusterissuers.cert-manager.io"}


@pytest.fixture(scope="module")
def prepared_chart(tmp_path_factory, shared_reference, helm_bin) -> Path:
    """The umbrella chart, ready to install, with the stand-in dependency archives."""
    source = fakecharts.chart_with_dependencies(tmp_path_factory.mktemp("source"), shared_reference)
    return helm_adapter.prepare_chart(source, version_overrides={}, work_dir=tmp_path_factory.mktemp("work"),
                                      helm=helm_bin)


@pytest.fixture
def helm_home(tmp_path, monkeypatch):
    """helm's caches and config inside tmp_path, and no KUBECONFIG: the adapter must pass --kubeconfig."""
    from fakekube.fixtures import make_kube_env

    env = make_kube_env(tmp_path / "unused-kubeconfig", tmp_path / "home")
    for key in ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "HELM_CACHE_HOME",
                "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return env


@pytest.fixture
def platform(fake_kube, shared_reference, helm_home):
    controllers = FakePlatform(fake_kube, shared_reference).install()
    yield controllers
    controllers.close()
    assert controllers.errors == []


@pytest.fixture
def gitops_url(git_host) -> str:
    return git_host.create_repo("gitops")


@pytest.fixture
def config_data(gitops_url) -> dict:
    data = yaml.safe_load((EXAMPLES / "proof-of-concept" / "gitops.yaml").read_text(encoding="utf-8"))
    return gitopsrepo.configured(data, gitops_url)


@pytest.fixture
def gitops_repo(gitops_url, config_data) -> tuple[str, str]:
    """(URL, commit) of a GitOps repository holding what bootstrap writes for the proof of concept."""
    return gitops_url, gitopsrepo.seed(config_data)


@pytest.fixture
def config(config_data):
    return config_file.load_text(yaml.safe_dump(config_data), source="gitops.yaml")


def kube_args(kube) -> dict:
    return {"kube_context": kube.context, "kubeconfig": kube.kubeconfig}


def install(chart, kube, config, release, helm, **kwargs):
    return helm_adapter.upgrade_install(
        chart, release=release.name, namespace=release.namespace,
        values=values.chart_values(config, phase=release.phase, load_balancer_id="lb-4de7ac8b"),
        create_namespace=release.phase in ("platform", "operator"), timeout=120, helm=str(helm), **kube_args(kube),
        **kwargs)


def prerequisites(kube, config):
    for obj in values.prerequisites(config, "platform"):
        kube.create(obj)


def is_ready(kube, ref: dict) -> bool:
    """What bootstrap checks for each kind, read straight from the stand-in."""
    obj = kube.get(RESOURCES[ref["kind"]], ref["name"], ref["namespace"])
    if obj is None:
        return False
    status = obj.get("status") or {}
    conditions = {c["type"]: c.get("status") for c in status.get("conditions") or []}
    if ref["kind"] == "CustomResourceDefinition":
        return conditions.get("Established") == "True"
    if ref["kind"] in ("Deployment", "StatefulSet"):
        replicas = obj["spec"].get("replicas", 1)
        return (status.get("observedGeneration") == obj["metadata"]["generation"]
                and status.get("updatedReplicas") == replicas and status.get("availableReplicas") == replicas)
    if ref["kind"] == "Service":
        slices = [s for s in kube.list("endpointslices.discovery.k8s.io", ref["namespace"])
                  if s["metadata"]["labels"].get("kubernetes.io/service-name") == ref["name"]]
        return any(e["conditions"]["ready"] for s in slices for e in s.get("endpoints") or [])
    if ref["kind"] in ("TektonConfig", "ClusterIssuer"):
        return conditions.get("Ready") == "True"
    if ref["kind"] == "Namespace":
        return status.get("phase") == "Active" and not obj["metadata"].get("deletionTimestamp")
    if ref["kind"] == "Application":
        sync = status.get("sync") or {}
        return (sync.get("status") == "Synced" and status["health"]["status"] == "Healthy"
                and sync["comparedTo"]["source"]["targetRevision"] == ref["expected_revision"])
    raise AssertionError(f"no readiness rule for {ref}")


RELEASE_SECRETS = [f"sh.helm.release.v1.bl-k8s-{p}.v1" for p in ("gitops", "operator", "platform", "tekton")]


def release_secrets(kube) -> list[str]:
    return sorted(s["metadata"]["name"] for s in kube.list("secrets")
                  if s["metadata"]["name"].startswith("sh.helm.release.v1."))


def test_four_releases_install_in_order_and_a_rerun_changes_nothing(any_helm, fake_kube, platform, config,
                                                                      prepared_chart, gitops_repo):
    prerequisites(fake_kube, config)
    for release in values.releases(config):
        result = install(prepared_chart, fake_kube, config, release, any_helm)
        assert result == helm_adapter.ReleaseResult(action="installed", revision=1), release.name
        platform.settle()
        waiting = [ref for ref in values.readiness_after(config, release.phase) if not is_ready(fake_kube, ref)]
        assert waiting == [], f"after {release.phase}"
    assert release_secrets(fake_kube) == RELEASE_SECRETS
    controller = fake_kube.get("services", "ingress-nginx-controller", "ingress-nginx")
    assert controller["metadata"]["annotations"]["kubernetes.digitalocean.com/load-balancer-id"] == "lb-4de7ac8b"
    assert controller["status"]["loadBalancer"]["ingress"] == [{"ip": "203.0.113.10"}]
    assert fake_kube.get("secrets", "argocd-initial-admin-secret", "argocd")["data"]["password"]
    apps = {a["metadata"]["name"]: a["status"] for a in fake_kube.list("applications.argoproj.io", "argocd")}
    assert set(apps) == {"bl-k8s-root", "fakeservice-dev", "bl-k8s-platform", "bl-k8s-operator", "bl-k8s-tekton",
                         "bl-k8s-gitops"}
    for name, status in apps.items():  # every one resolved in the GitOps repository, at its commit
        assert (status["sync"]["status"], status["health"]["status"], status["sync"]["revision"]) == (
            "Synced", "Healthy", gitops_repo[1]), name
    info = helm_adapter.get_release("bl-k8s-gitops", "argocd", helm=str(any_helm), **kube_args(fake_kube))
    assert (info.status, info.chart, info.chart_version, info.revision) == ("deployed", "gitops-platform", "0.1.0", 1)
    assert info.values == values.chart_values(config, phase="gitops", load_balancer_id="lb-4de7ac8b")

    platform.settle()
    fake_kube.reset_counters()
    for release in values.releases(config):
        assert install(prepared_chart, fake_kube, config, release, any_helm) == helm_adapter.ReleaseResult(
            action="unchanged", revision=1)
    assert fake_kube.writes == 0
    assert [r for r in fake_kube.requests if r.method not in ("GET",)] == []
    assert release_secrets(fake_kube) == RELEASE_SECRETS


def test_a_change_upgrades_the_releases_it_concerns(helm_bin, fake_kube, platform, config, config_data,
                                                    prepared_chart):
    prerequisites(fake_kube, config)
    for release in values.releases(config):
        install(prepared_chart, fake_kube, config, release, helm_bin)
    config_data.setdefault("platform", {})["pipeline_runs_to_keep"] = 3
    changed = config_file.load_text(yaml.safe_dump(config_data), source="gitops.yaml")
    results = {r.phase: install(prepared_chart, fake_kube, changed, r, helm_bin) for r in values.releases(changed)}
    assert results == {"platform": helm_adapter.ReleaseResult("unchanged", 1),
                       "operator": helm_adapter.ReleaseResult("unchanged", 1),
                       "tekton": helm_adapter.ReleaseResult("upgraded", 2),
                       "gitops": helm_adapter.ReleaseResult("unchanged", 1)}  # the pruner: tekton's alone
    assert fake_kube.get("tektonconfigs.operator.tekton.dev", "config")["spec"]["pruner"]["keep"] == 3
    platform.settle()
    assert is_ready(fake_kube, values.readiness_after(changed, "tekton")[0]), "the operator reconciled the change"


def test_the_gitops_release_cannot_come_before_the_tekton_release(helm_bin, fake_kube, platform, config,
                                                                   prepared_chart):
    """Why TektonConfig has a release of its own: the Tekton kinds exist only once the operator reconciled it."""
    prerequisites(fake_kube, config)
    platform_release, operator_release, _, gitops_release = values.releases(config)
    install(prepared_chart, fake_kube, config, platform_release, helm_bin)
    install(prepared_chart, fake_kube, config, operator_release, helm_bin)
    with pytest.raises(HelmError) as err:
        install(prepared_chart, fake_kube, config, gitops_release, helm_bin)
    assert "no matches for kind" in str(err.value) and "tekton.dev" in str(err.value)


def test_the_ingress_namespace_must_exist_before_the_platform_release(helm_bin, fake_kube, platform, config,
                                                                      prepared_chart):
    """Why values.prerequisites exists: ingress-nginx's pre-install hook runs before the release's Namespaces."""
    with pytest.raises(HelmError) as err:
        install(prepared_chart, fake_kube, config, values.releases(config)[0], helm_bin)
    assert 'namespaces "ingress-nginx" not found' in str(err.value) and "pre-install" in str(err.value)


def _crash_mid_hook(helm, chart, kube, release, release_values, tmp_path, env, job):
    """Run helm as a user would and kill it while it waits for a hook Job: a crash or a lost terminal."""
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(release_values), encoding="utf-8")
    seen = {job["metadata"]["resourceVersion"] for job in kube.list("jobs")}
    proc = subprocess.Popen([str(helm), "upgrade", "--install", release.name, str(chart), "--namespace",
                             release.namespace, "--create-namespace", "--values", str(values_file),
                             "--kube-context", kube.context, "--kubeconfig", str(kube.kubeconfig)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        kube.wait_for("jobs", job, "ingress-nginx", timeout=60,
                      predicate=lambda j: j["metadata"]["resourceVersion"] not in seen)
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_a_release_left_pending_by_a_killed_helm_is_recovered(any_helm, fake_kube, platform, config,
                                                               prepared_chart, tmp_path, helm_home):
    prerequisites(fake_kube, config)
    release = values.releases(config)[0]
    release_values = values.chart_values(config, phase="platform")
    platform.held_jobs.add("ingress-nginx-admission-create")
    _crash_mid_hook(any_helm, prepared_chart, fake_kube, release, release_values, tmp_path, helm_home,
                    "ingress-nginx-admission-create")
    pending = helm_adapter.get_release(release.name, release.namespace, helm=str(any_helm), **kube_args(fake_kube))
    assert (pending.status, pending.revision) == ("pending-install", 1)
    platform.held_jobs.clear()
    recovered = helm_adapter.upgrade_install(prepared_chart, release=release.name, namespace=release.namespace,
                                             values=release_values, timeout=120, helm=str(any_helm),
                                             **kube_args(fake_kube))
    # revision 2 is the rollback onto the interrupted install, 3 the upgrade that runs its hooks
    assert recovered == helm_adapter.ReleaseResult(action="installed", revision=3, recovered="pending-install")
    assert fake_kube.get("secrets", "ingress-nginx-admission", "ingress-nginx") is not None, "the hook ran"
    assert all(is_ready(fake_kube, ref) for ref in values.readiness_after(config, "platform"))

    changed = {**release_values, "registry": {"server": "registry.digitalocean.com/other"}}
    platform.held_jobs.add("ingress-nginx-admission-create")
    _crash_mid_hook(any_helm, prepared_chart, fake_kube, release, changed, tmp_path, helm_home,
                    "ingress-nginx-admission-create")
    pending = helm_adapter.get_release(release.name, release.namespace, helm=str(any_helm), **kube_args(fake_kube))
    assert (pending.status, pending.revision) == ("pending-upgrade", 4)
    with pytest.raises(HelmError, match=r"another operation \(install/upgrade/rollback\) is in progress"):
        helm_adapter._run(helm_adapter.find_helm(any_helm),
                          ["upgrade", release.name, str(prepared_chart), "--namespace", release.namespace,
                           "--kube-context", fake_kube.context, "--kubeconfig", str(fake_kube.kubeconfig)],
                          what="upgrade", timeout=60)
    platform.held_jobs.clear()
    recovered = helm_adapter.upgrade_install(prepared_chart, release=release.name, namespace=release.namespace,
                                             values=changed, timeout=120, helm=str(any_helm), **kube_args(fake_kube))
    assert recovered == helm_adapter.ReleaseResult(action="upgraded", revision=6, recovered="pending-upgrade")
    configmap = fake_kube.get("configmaps", "gitops-platform", "argocd")
    assert configmap["data"]["registry.server"] == "registry.digitalocean.com/other"
    assert helm_adapter.upgrade_install(prepared_chart, release=release.name, namespace=release.namespace,
                                        values=changed, timeout=120, helm=str(any_helm),
                                        **kube_args(fake_kube)).action == "unchanged"


def test_a_failed_install_reports_helms_message_and_a_rerun_completes_it(any_helm, fake_kube, platform, config,
                                                                          prepared_chart):
    prerequisites(fake_kube, config)
    release = values.releases(config)[0]
    platform.failing_jobs.add("ingress-nginx-admission-create")
    with pytest.raises(HelmError) as err:
        install(prepared_chart, fake_kube, config, release, any_helm, )
    message = str(err.value)
    assert message.startswith("helm upgrade --install failed: Error: ")
    assert "ingress-nginx-admission-create" in message and "\n" not in message
    assert ("BackoffLimitExceeded" in message) or ("status: Failed" in message), message
    assert "ingress-nginx-admission-create" in err.value.stderr_tail
    failed = helm_adapter.get_release(release.name, release.namespace, helm=str(any_helm), **kube_args(fake_kube))
    assert (failed.status, failed.revision) == ("failed", 1)
    platform.failing_jobs.clear()
    assert install(prepared_chart, fake_kube, config, release, any_helm) == helm_adapter.ReleaseResult("installed", 2)


def test_get_release_and_uninstall(helm_bin, fake_kube, platform, config, prepared_chart):
    prerequisites(fake_kube, config)
    release = values.releases(config)[0]
    assert helm_adapter.get_release(release.name, "argocd", helm=str(helm_bin), **kube_args(fake_kube)) is None
    assert helm_adapter.uninstall(release.name, "argocd", helm=str(helm_bin), **kube_args(fake_kube)) is False
    install(prepared_chart, fake_kube, config, release, helm_bin)
    assert helm_adapter.uninstall(release.name, "argocd", helm=str(helm_bin), timeout=60, **kube_args(fake_kube))
    assert helm_adapter.get_release(release.name, "argocd", helm=str(helm_bin), **kube_args(fake_kube)) is None
    assert fake_kube.get("deployments", "argocd-server", "argocd") is None
    assert fake_kube.get("customresourcedefinitions", "applications.argoproj.io") is not None, "crds.keep"


def test_kube_context_and_kubeconfig_reach_helm(helm_bin, fake_kube, helm_home):
    with pytest.raises(HelmError) as err:
        helm_adapter.get_release("x", "argocd", kube_context="elsewhere", kubeconfig=fake_kube.kubeconfig,
                                 helm=str(helm_bin))
    assert 'context "elsewhere" does not exist' in str(err.value)
    assert helm_adapter.get_release("x", "argocd", **kube_args(fake_kube), helm=str(helm_bin)) is None
    assert fake_kube.count() > 0, "helm reached the stand-in through --kubeconfig alone"


def test_credentials_never_reach_the_values_file(helm_bin, fake_kube, config, prepared_chart, helm_home):
    data = values.chart_values(config, phase="gitops")
    token = "dop_v1_" + "ab" * 32
    for bad, where in (({**data, "registry": {"server": "r", "password": "hunter2"}}, "registry.password"),
                       ({**data, "apps": [{"name": "x", "repoURL": f"https://{token}@github.com/x.git"}]},
                        "apps[0].repoURL")):
        fake_kube.reset_counters()
        with pytest.raises(GitopsError) as err:
            helm_adapter.upgrade_install(prepared_chart, release="r", namespace="argocd", values=bad, timeout=30,
                                         helm=str(helm_bin), **kube_args(fake_kube))
        assert where in str(err.value) and "hunter2" not in str(err.value) and token not in str(err.value)
        assert fake_kube.count() == 0, "refused before helm ran"


def test_a_release_helm_applied_but_could_not_record_is_not_reported_as_installed(any_helm, fake_kube, helm_home,
                                                                                  tmp_path):
    """helm exits 0 when only its final release record fails; the adapter reads the record back."""
    chart = tmp_path / "demo"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n", encoding="utf-8")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata:\n  x: {{ .Values.x | quote }}\n",
        encoding="utf-8")
    kwargs = {"release": "demo", "namespace": "default", "timeout": 60, "helm": str(any_helm), **kube_args(fake_kube)}
    fake_kube.deny("update", "secrets", "", "default")  # helm creates its record, then cannot mark it deployed
    with pytest.raises(HelmError) as err:
        helm_adapter.upgrade_install(chart, values={"x": 1}, **kwargs)
    assert "recording the pending-install release demo" in str(err.value)
    assert "could not record it" in err.value.hint
    assert fake_kube.get("configmaps", "demo", "default")["data"] == {"x": "1"}, "what helm applied"
    fake_kube.allow_all()
    result = helm_adapter.upgrade_install(chart, values={"x": 1}, **kwargs)
    assert result.recovered is not None and result.action in ("installed", "upgraded")
    info = helm_adapter.get_release("demo", "default", helm=str(any_helm), **kube_args(fake_kube))
    assert info.status == "deployed" and info.revision == result.revision
    assert helm_adapter.upgrade_install(chart, values={"x": 1}, **kwargs) == helm_adapter.ReleaseResult(
        "unchanged", result.revision)
