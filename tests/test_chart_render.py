"""The umbrella chart: every ci/ scenario lints and renders with Helm 4 and Helm 3.19 (offline,
dependencies left out), and the rendered objects say what the chart promises."""

from __future__ import annotations

import copy
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubectl_gitops.adapters import helm as helm_adapter
from kubectl_gitops.core.errors import HelmError

CHART = Path(__file__).resolve().parent.parent / "charts" / "gitops-platform"
SCENARIOS = sorted(p.name for p in (CHART / "ci").glob("*-values.yaml"))
DEPENDENCIES = ("argo-cd", "ingress-nginx", "cert-manager", "gateway-crds-helm", "gateway-helm", "tekton-operator")
CUSTOM_GROUPS = ("argoproj.io", "tekton.dev", "operator.tekton.dev", "triggers.tekton.dev")


def scenario_values(name: str) -> dict[str, Any]:
    return yaml.safe_load((CHART / "ci" / name).read_text(encoding="utf-8")) or {}


@cache
def _render(helm_path: str, scenario: str) -> tuple[tuple[dict[str, Any], ...], tuple[str, ...]]:
    result = helm_adapter.render(CHART, release="gitops-platform", namespace="argocd",
                                 values=scenario_values(scenario), helm=helm_path)
    return tuple(result.objects()), result.omitted_dependencies


def objects(helm_path: Path, scenario: str) -> list[dict[str, Any]]:
    return copy.deepcopy(list(_render(str(helm_path), scenario)[0]))


def of_kind(objs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def group(obj: dict[str, Any]) -> str:
    return obj["apiVersion"].rpartition("/")[0]


def with_defaults(overrides: dict[str, Any]) -> dict[str, Any]:
    """Values as helm merges them (values.yaml, then overrides) for schema checks without helm."""
    def merge(base: Any, over: Any) -> Any:
        if isinstance(base, dict) and isinstance(over, dict):
            return {**base, **{k: merge(base.get(k), v) for k, v in over.items()}}
        return copy.deepcopy(over)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    return merge(defaults, overrides)


# ---------------------------------------------------------------- lint and template, both helms

@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_lints_strict_and_renders(any_helm, scenario):
    values = scenario_values(scenario)
    linted = helm_adapter.lint(CHART, values=values, namespace="argocd", helm=str(any_helm))
    assert "0 chart(s) failed" in linted.output
    assert "[WARNING]" not in linted.output and "[ERROR]" not in linted.output
    objs, omitted = _render(str(any_helm), scenario)
    assert set(omitted) == set(DEPENDENCIES)
    if values.get("phase") == "operator":  # the Tekton operator chart alone: nothing of ours
        assert not objs
        return
    assert objs, f"{scenario} rendered nothing"
    for obj in objs:
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == (
            values.get("platform", {}).get("name", "gitops"))


def test_there_are_the_promised_scenarios():
    assert {"platform-default-values.yaml", "platform-digitalocean-values.yaml", "tekton-default-values.yaml",
            "gitops-poc-values.yaml", "gitops-dev-prod-values.yaml"} <= set(SCENARIOS)


def test_every_phase_has_a_scenario():
    assert {scenario_values(s).get("phase", "platform") for s in SCENARIOS} == {"platform", "operator", "tekton",
                                                                                 "gitops"}


# ---------------------------------------------------------------- phase platform

def test_platform_phase_renders_namespaces_ingresses_and_no_custom_resources(helm_bin):
    objs = objects(helm_bin, "platform-default-values.yaml")
    namespaces = of_kind(objs, "Namespace")
    assert set(namespaces) == {"ci", "ingress-nginx", "dev", "prod"}
    assert "argocd" not in namespaces, "the release namespace belongs to helm --create-namespace"
    ingresses = of_kind(objs, "Ingress")
    argo = ingresses["argocd-server"]
    assert argo["metadata"]["namespace"] == "argocd"
    rule = argo["spec"]["rules"][0]
    assert rule["host"] == "argo.example.com"
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "argocd-server"
    assert "tekton-dashboard" not in ingresses, "phase gitops: its namespace is the operator's"
    assert [o for o in objs if group(o) in CUSTOM_GROUPS] == []
    webhook = ingresses["el-git-push"]
    assert webhook["metadata"]["namespace"] == "ci"
    assert webhook["spec"]["rules"][0]["host"] == "hooks.example.com"
    assert of_kind(objs, "ClusterRoleBinding")["gitops-tekton-triggers-clusterinterceptors"]["roleRef"][
        "name"] == "tekton-triggers-eventlistener-clusterroles"
    sa = of_kind(objs, "ServiceAccount")["pipeline-builder"]
    assert sa["metadata"]["namespace"] == "ci"
    assert sa["secrets"] == [{"name": "registry-push"}]


def test_platform_digitalocean_dashboard_auth_tls_and_hosts(helm_bin):
    objs = objects(helm_bin, "platform-digitalocean-values.yaml")
    ingresses = of_kind(objs, "Ingress")
    assert ingresses["argocd-server"]["spec"]["rules"][0]["host"] == "argo.acme.dev"
    tls = [{"hosts": ["argo.acme.dev"], "secretName": "acme-dev-tls"}]
    assert ingresses["argocd-server"]["spec"]["tls"] == tls
    assert of_kind(objs, "ServiceAccount")["pipeline-builder"]["secrets"] == [{"name": "registry-acme-push"}]


def test_no_release_creates_the_namespace_the_tekton_operator_owns(helm_bin):
    """The operator makes the TektonConfig the controlling owner of its target namespace, even of an
    existing one: a Namespace object in a release would be garbage-collected with the TektonConfig."""
    for scenario in SCENARIOS:
        namespaces = of_kind(objects(helm_bin, scenario), "Namespace")
        assert "tekton-pipelines" not in namespaces, scenario
    overrides = {"namespaces": {"tekton": "ci"}, **{d: {"enabled": False} for d in DEPENDENCIES}}
    objs = helm_adapter.render(CHART, release="p", namespace="argocd", values=overrides, helm=str(helm_bin)).objects()
    assert "ci" not in of_kind(objs, "Namespace"), "not even when it is also the CI namespace"


def test_dashboard_ingress_comes_with_the_gitops_release_after_the_operator_made_its_namespace(helm_bin):
    default = of_kind(objects(helm_bin, "gitops-poc-values.yaml"), "Ingress")["tekton-dashboard"]
    assert default["metadata"]["namespace"] == "tekton-pipelines"
    assert default["spec"]["rules"][0]["host"] == "tekton.gitops.example.org"
    backend = default["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "tekton-dashboard", "port": {"number": 9097}}
    assert "nginx.ingress.kubernetes.io/auth-type" not in (default["metadata"].get("annotations") or {})
    dashboard = of_kind(objects(helm_bin, "gitops-dev-prod-values.yaml"), "Ingress")["tekton-dashboard"]
    annotations = dashboard["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/auth-type"] == "basic"
    assert annotations["nginx.ingress.kubernetes.io/auth-secret"] == "tekton-dashboard-auth"
    assert dashboard["spec"]["rules"][0]["host"] == "ci.shop.example.com"
    assert dashboard["spec"]["tls"] == [{"hosts": ["ci.shop.example.com"], "secretName": "shop-tls"}]


def test_no_secret_with_data_is_rendered_anywhere(helm_bin):
    for scenario in SCENARIOS:
        for obj in objects(helm_bin, scenario):
            if obj["kind"] == "Secret":
                assert not obj.get("data") and not obj.get("stringData"), f"{scenario}: Secret {obj}"
            assert "registry-push" not in str(obj.get("data", "")), scenario


def _with_stand_in_dependency(tmp_path: Path, reference: Path) -> Path:
    """A copy of the chart whose only dependency archive is the ingress-nginx stand-in (nothing downloaded)."""
    import fakecharts

    chart = tmp_path / "gitops-platform"
    shutil.copytree(CHART, chart, ignore=shutil.ignore_patterns("charts"))
    archives = fakecharts.dependency_archives(tmp_path / "archives", reference)
    (chart / "charts").mkdir()
    shutil.copy(archives["ingress-nginx"], chart / "charts")
    return chart


def test_load_balancer_annotations_reach_the_controller_service_only_when_given(helm_bin, tmp_path,
                                                                                 shared_reference):
    chart = _with_stand_in_dependency(tmp_path, shared_reference)
    services = {}
    for scenario in ("platform-default-values.yaml", "platform-digitalocean-values.yaml"):
        values = scenario_values(scenario)
        values["ingress-nginx"] = {**values["ingress-nginx"], "enabled": True}
        result = helm_adapter.render(chart, release="p", namespace="argocd", values=values,
                                     helm=str(helm_bin))
        assert result.omitted_dependencies == ("argo-cd", "cert-manager", "gateway-crds-helm", "gateway-helm",
                                               "tekton-operator")
        services[scenario] = of_kind(result.objects(), "Service")["ingress-nginx-controller"]
    given = services["platform-digitalocean-values.yaml"]["metadata"]["annotations"]
    assert given["kubernetes.digitalocean.com/load-balancer-id"] == "4de7ac8b-495b-4884-9a69-1050c6793cd6"
    assert given["service.beta.kubernetes.io/do-loadbalancer-hostname"] == "lb.acme.dev"
    assert all(isinstance(v, str) for v in given.values())
    assert not services["platform-default-values.yaml"]["metadata"].get("annotations")
    assert services["platform-default-values.yaml"]["metadata"]["namespace"] == "ingress-nginx"


# ---------------------------------------------------------------- phase gitops

def tekton_config(objs: Any) -> dict[str, Any]:
    (config,) = [o for o in objs if o["kind"] == "TektonConfig"]
    return config


def test_tekton_phase_renders_the_tekton_config_and_the_cluster_issuers(helm_bin):
    objs = objects(helm_bin, "tekton-default-values.yaml")
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objs) == [
        ("ClusterIssuer", "letsencrypt-production"), ("ClusterIssuer", "letsencrypt-staging"),
        ("TektonConfig", "config")]
    config = tekton_config(objs)
    assert "namespace" not in config["metadata"]
    assert config["metadata"]["labels"]["app.kubernetes.io/part-of"] == "gitops"
    assert config["spec"]["profile"] == "all"
    assert config["spec"]["targetNamespace"] == "tekton-pipelines"
    assert config["spec"]["dashboard"]["readonly"] is True
    assert config["spec"]["pipeline"]["enable-bundles-resolver"] is True
    assert config["spec"]["pipeline"]["enable-git-resolver"] is True
    assert config["spec"]["pruner"] == {"disabled": False, "resources": ["pipelinerun", "taskrun"], "keep": 20,
                                        "schedule": "0 * * * *"}


def test_private_repositories_clone_with_the_git_credentials_secret_only_when_one_is_named(helm_bin):
    """git-clone (tektoncd-catalog v1.7.0) reads `.git-credentials` and `.gitconfig` from its optional
    `basic-auth` workspace."""
    runs = {}
    for scenario in ("gitops-poc-values.yaml", "gitops-dev-prod-values.yaml"):
        objs = objects(helm_bin, scenario)
        pipeline = of_kind(objs, "Pipeline")["build-and-push"]
        declared = {w["name"]: w for w in pipeline["spec"]["workspaces"]}
        assert declared["basic-auth"]["optional"] is True
        clone = next(t for t in pipeline["spec"]["tasks"] if t["name"] == "clone")
        assert {"name": "basic-auth", "workspace": "basic-auth"} in clone["workspaces"]
        template = of_kind(objs, "TriggerTemplate")["build-and-push"]["spec"]["resourcetemplates"][0]
        runs[scenario] = ({w["name"]: w for w in template["spec"]["workspaces"]},
                          pipeline["metadata"]["annotations"].get("gitops.kubectl.dev/git-credentials-secret"))
    public, public_annotation = runs["gitops-poc-values.yaml"]
    assert "basic-auth" not in public and public_annotation is None, "public repositories: nothing bound"
    private, private_annotation = runs["gitops-dev-prod-values.yaml"]
    assert private["basic-auth"] == {"name": "basic-auth", "secret": {"secretName": "shop-git-credentials"}}
    assert private_annotation == "shop-git-credentials"


def test_builds_name_their_service_account_and_tekton_keeps_its_default(helm_bin):
    """`pipeline.default-service-account` in the TektonConfig is cluster-wide: the runs set their own."""
    spec = tekton_config(objects(helm_bin, "tekton-default-values.yaml"))["spec"]
    assert "default-service-account" not in spec["pipeline"]
    objs = objects(helm_bin, "gitops-poc-values.yaml")
    template = of_kind(objs, "TriggerTemplate")["build-and-push"]["spec"]["resourcetemplates"][0]
    assert template["apiVersion"] == "tekton.dev/v1"
    assert template["spec"]["taskRunTemplate"]["serviceAccountName"] == "pipeline-builder"
    annotations = of_kind(objs, "Pipeline")["build-and-push"]["metadata"]["annotations"]
    assert annotations["gitops.kubectl.dev/run-service-account"] == "pipeline-builder"


def test_tekton_config_switches_off_chains_results_and_pipelines_as_code_unless_asked(helm_bin):
    """Operator v0.81: Chains and Results come with profiles all and basic unless `spec.chain.disabled` /
    `spec.result.disabled`; on Kubernetes the defaulting webhook sets
    `spec.platforms.kubernetes.pipelinesAsCode.enable: true` when it is not given."""
    spec = tekton_config(objects(helm_bin, "tekton-default-values.yaml"))["spec"]
    assert spec["chain"] == {"disabled": True} and spec["result"] == {"disabled": True}
    assert spec["platforms"] == {"kubernetes": {"pipelinesAsCode": {"enable": False}}}
    values = {**scenario_values("tekton-default-values.yaml"),
              "tekton": {"chains": {"enabled": True}, "results": {"enabled": True},
                         "pipelinesAsCode": {"enabled": True}}}
    objs = helm_adapter.render(CHART, release="t", namespace="argocd", values=values, helm=str(helm_bin)).objects()
    assert tekton_config(objs)["spec"]["chain"] == {"disabled": False}
    assert tekton_config(objs)["spec"]["result"] == {"disabled": False}
    assert tekton_config(objs)["spec"]["platforms"]["kubernetes"]["pipelinesAsCode"] == {"enable": True}


@pytest.mark.parametrize("scenario", ["gitops-poc-values.yaml", "gitops-dev-prod-values.yaml"])
def test_gitops_phase_renders_crs_and_nothing_from_the_other_phases(helm_bin, scenario):
    objs = objects(helm_bin, scenario)
    kinds = {o["kind"] for o in objs}
    for platform_kind in ("Namespace", "ServiceAccount", "Role", "RoleBinding", "TektonConfig"):
        assert platform_kind not in kinds, f"{platform_kind} belongs to another release"
    assert [o["metadata"]["name"] for o in objs if o["kind"] == "Ingress"] == ["tekton-dashboard"]
    assert {"Task", "Pipeline", "EventListener", "AppProject", "Application"} <= kinds


def test_poc_has_one_app_in_dev_in_the_default_project(helm_bin):
    objs = objects(helm_bin, "gitops-poc-values.yaml")
    apps = of_kind(objs, "Application")
    assert set(apps) == {"poc-root", "fakeservice-dev", "poc-platform", "poc-operator", "poc-tekton", "poc-gitops"}
    assert set(of_kind(objs, "AppProject")) == {"poc-platform"}, "apps use Argo CD's default project"
    root = apps["poc-root"]
    assert root["spec"]["source"] == {"repoURL": "https://github.com/example/poc-gitops.git",
                                      "targetRevision": "main", "path": "platform"}
    assert "argocd.argoproj.io/sync-wave" in root["metadata"]["annotations"]
    child = apps["fakeservice-dev"]
    assert child["spec"]["project"] == "default"
    assert child["spec"]["source"]["path"] == "platform/apps/fakeservice/dev"
    assert child["spec"]["destination"] == {"server": "https://kubernetes.default.svc", "namespace": "dev"}
    build = yaml.safe_load(of_kind(objs, "ConfigMap")["build-params"]["data"]["fakeservice.json"])
    assert build["git-url"] == "https://github.com/BasLangenberg/tekton-pipeline-example-app"
    assert build["go-build"] == "false"


def test_sync_waves_put_dependencies_first_and_dev_is_automated_prod_manual(helm_bin):
    apps = of_kind(objects(helm_bin, "gitops-dev-prod-values.yaml"), "Application")
    wave = {n: int(a["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) for n, a in apps.items()}
    for env in ("dev", "prod"):
        assert wave[f"api-{env}"] < wave[f"web-{env}"]
    for app in ("api", "web"):
        dev, prod = apps[f"{app}-dev"]["spec"], apps[f"{app}-prod"]["spec"]
        assert dev["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert "automated" not in prod["syncPolicy"]
        assert dev["destination"] == {"name": "shop-dev", "namespace": "shop-dev"}
        assert prod["destination"] == {"server": "https://prod.k8s.example.com", "namespace": "shop-prod"}
        assert "CreateNamespace=true" in prod["syncPolicy"]["syncOptions"]
        assert dev["source"]["path"] == f"clusters/shop/apps/{app}/dev"
        assert dev["project"] == "shop"


def test_deeper_dependency_chains_get_later_waves(helm_bin):
    values = scenario_values("gitops-dev-prod-values.yaml")
    base = values["apps"][1]
    values["apps"] = [dict(base, name="db"), dict(base, name="api", dependsOn=["db"]),
                      dict(base, name="web", dependsOn=["api", "db"]), dict(base, name="docs")]
    apps = of_kind(helm_adapter.render(CHART, release="g", namespace="argocd", values=values,
                                       helm=str(helm_bin)).objects(), "Application")
    wave = {n: int(a["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) for n, a in apps.items()}
    assert (wave["db-dev"], wave["api-dev"], wave["web-dev"], wave["docs-dev"]) == (0, 1, 2, 0)


@pytest.mark.parametrize(("deps", "message"), [
    ({"web": ["api"], "api": ["web"]}, "form a cycle"),
    ({"web": ["nosuchapp"]}, "not an app in apps[]"),
])
def test_bad_dependencies_fail_with_a_clear_message(helm_bin, deps, message):
    values = scenario_values("gitops-dev-prod-values.yaml")
    for app in values["apps"]:
        app["dependsOn"] = deps.get(app["name"], [])
    with pytest.raises(HelmError) as err:
        helm_adapter.render(CHART, release="g", namespace="argocd", values=values, helm=str(helm_bin))
    assert message in str(err.value)


def test_push_webhooks_trigger_builds_per_app(helm_bin):
    objs = objects(helm_bin, "gitops-dev-prod-values.yaml")
    listener = of_kind(objs, "EventListener")["git-push"]
    triggers = {t["name"]: t for t in listener["spec"]["triggers"]}
    assert set(triggers) == {"web", "api"}
    api = triggers["api"]
    github, cel = api["interceptors"]
    assert github["ref"]["name"] == "github"
    secret_ref = {"secretName": "shop-webhook", "secretKey": "secretToken"}
    assert {"name": "secretRef", "value": secret_ref} in github["params"]
    assert cel["params"][0]["value"] == (
        "body.repository.clone_url in ['https://github.com/example/shop-api', 'https://github.com/example/shop-api.git']"
        " && !body.deleted && (body.ref == 'refs/heads/main')")
    inline = {b["name"]: b["value"] for b in api["bindings"] if "name" in b}
    assert inline["context"] == "services/api" and inline["go-package"] == "./cmd/api"
    assert {"ref": "git-push"} in api["bindings"]
    assert of_kind(objs, "TriggerBinding")["git-push"]["spec"]["params"] == [
        {"name": "git-revision", "value": "$(body.after)"}]
    poc = of_kind(objects(helm_bin, "gitops-poc-values.yaml"), "EventListener")["git-push"]
    assert [i["ref"]["name"] for i in poc["spec"]["triggers"][0]["interceptors"]] == ["github", "cel"], \
        "unsigned payloads never start a build"


def test_build_pipeline_uses_bundles_cache_and_surfaces_digest(helm_bin):
    objs = objects(helm_bin, "gitops-dev-prod-values.yaml")
    pipeline = of_kind(objs, "Pipeline")["build-and-push"]
    assert pipeline["metadata"]["namespace"] == "ci"
    tasks = {t["name"]: t for t in pipeline["spec"]["tasks"]}
    clone, kaniko = tasks["clone"]["taskRef"], tasks["build-image"]["taskRef"]
    assert clone["resolver"] == kaniko["resolver"] == "bundles"
    assert {"name": "name", "value": "git-clone"} in clone["params"]
    assert {"name": "name", "value": "kaniko"} in kaniko["params"]
    params = {p["name"]: p["value"] for p in tasks["build-image"]["params"]}
    assert "--cache=true" in params["EXTRA_ARGS"]
    assert "--cache-repo=registry.digitalocean.com/shop/$(params.app-name)/cache" in params["EXTRA_ARGS"]
    assert params["IMAGE"].startswith("registry.digitalocean.com/shop/$(params.app-name)")
    results = {r["name"]: r["value"] for r in pipeline["spec"]["results"]}
    assert results["IMAGE_DIGEST"] == "$(tasks.build-image.results.IMAGE_DIGEST)"
    assert results["IMAGE_URL"] == "$(tasks.build-image.results.IMAGE_URL)"
    assert tasks["go-test-build"]["when"][0]["input"] == "$(params.go-build)"
    task = of_kind(objs, "Task")["go-test-build"]
    step = task["spec"]["steps"][0]
    assert "$(params." not in step["script"], "parameters reach the script through env only"
    assert {e["name"] for e in step["env"]} >= {"GO_PACKAGE", "GO_CONTEXT"}
    assert step["securityContext"]["runAsNonRoot"] is True
    build = {k: yaml.safe_load(v) for k, v in of_kind(objs, "ConfigMap")["build-params"]["data"].items()}
    assert build["web.json"]["go-image"].endswith(":1.24")
    assert build["api.json"]["dockerfile"] == "services/api/Dockerfile"


# ---------------------------------------------------------------- self-management (phase gitops)

def test_self_management_hands_every_release_to_argo_cd(helm_bin):
    values = scenario_values("gitops-dev-prod-values.yaml")
    objs = objects(helm_bin, "gitops-dev-prod-values.yaml")
    apps = of_kind(objs, "Application")
    chart = values["selfManagement"]["chart"]
    for phase in ("platform", "operator", "tekton", "gitops"):
        app = apps[f"shop-{phase}"]
        spec = app["spec"]
        assert spec["source"] == {**chart, "helm": {"releaseName": f"shop-{phase}",
                                                    "valueFiles": [f"../values/{phase}.yaml"]}}
        assert spec["project"] == "shop-platform"
        namespace = "tekton-operator" if phase == "operator" else "argocd"
        assert spec["destination"] == {"server": "https://kubernetes.default.svc", "namespace": namespace}
        holds_crds = phase in ("platform", "operator")
        assert spec["syncPolicy"]["automated"] == {"prune": not holds_crds, "selfHeal": True}
        assert "finalizers" not in app["metadata"], "deleting the Application must not delete the platform"
    assert apps["shop-platform"]["spec"]["syncPolicy"]["syncOptions"] == ["ServerSideApply=true"]
    assert apps["shop-operator"]["spec"]["syncPolicy"]["syncOptions"] == ["ServerSideApply=true"]
    assert "syncOptions" not in apps["shop-tekton"]["spec"]["syncPolicy"]
    project = of_kind(objs, "AppProject")["shop-platform"]["spec"]
    assert project["sourceRepos"] == [chart["repoURL"]]
    assert project["destinations"] == [{"server": "https://kubernetes.default.svc", "namespace": "*"}]


@pytest.mark.parametrize("example", ["proof-of-concept", "dev-prod-go"])
def test_every_application_source_is_the_gitops_repository(helm_bin, repo_root, example):
    """No rendered Application or AppProject names a repository other than the user's GitOps repository
    (the upstream charts are dependencies of the committed chart, fetched from their own repositories)."""
    from kubectl_gitops.adapters import config_file
    from kubectl_gitops.core import values as mapping

    config = config_file.load(repo_root / "examples" / example / "gitops.yaml")
    release = mapping.releases(config)[-1]
    objs = _manifest(helm_bin, release.name, mapping.chart_values(config, phase="gitops"))
    sources = [s for a in of_kind(objs, "Application").values()
               for s in ([a["spec"].get("source")] if a["spec"].get("source") else a["spec"].get("sources", []))]
    assert sources and {s["repoURL"] for s in sources} == {config.gitops.repo}
    for project in of_kind(objs, "AppProject").values():
        assert project["spec"]["sourceRepos"] == [config.gitops.repo]


def test_self_management_can_be_turned_off(helm_bin):
    values = scenario_values("gitops-poc-values.yaml")
    values["selfManagement"] = {"enabled": False}
    objs = helm_adapter.render(CHART, release="g", namespace="argocd", values=values, helm=str(helm_bin)).objects()
    assert set(of_kind(objs, "Application")) == {"poc-root", "fakeservice-dev"}
    assert "AppProject" not in {o["kind"] for o in objs}


def _manifest(helm_bin, release: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    return helm_adapter.render(CHART, release=release, namespace="argocd", values=values,
                               helm=str(helm_bin)).objects()


@pytest.mark.parametrize("example", ["proof-of-concept", "dev-prod-go"])
def test_argo_cd_renders_exactly_what_helm_installed(helm_bin, repo_root, tmp_path, example):
    """Each self-management Application, rendered the way Argo CD renders it (the chart and the values
    file bootstrap commits to the GitOps repository, its release name), gives the same objects as the
    helm release the CLI installs from the packaged chart."""
    from kubectl_gitops.adapters import config_file
    from kubectl_gitops.core import values as mapping
    from kubectl_gitops.workflows import repository

    config = config_file.load(repo_root / "examples" / example / "gitops.yaml")
    installed = {r.phase: (r.name, mapping.chart_values(config, phase=r.phase, load_balancer_id="lb-1"))
                 for r in mapping.releases(config)}
    plan = repository.layout(config, CHART, {p: v for p, (_, v) in installed.items()},
                             mapping.chart_version_overrides(config))
    repository.apply(config, plan, tmp_path)
    gitops_objects = _manifest(helm_bin, *installed["gitops"])
    apps = of_kind(gitops_objects, "Application")
    for phase, (release, release_values) in installed.items():
        source = apps[release]["spec"]["source"]
        assert source["helm"]["releaseName"] == release
        chart_path = tmp_path / source["path"]
        (values_file,) = source["helm"]["valueFiles"]
        committed = yaml.safe_load((chart_path / values_file).read_text())
        as_argo_cd = helm_adapter.render(chart_path, release=release, namespace="argocd", values=committed,
                                         helm=str(helm_bin)).objects()
        as_helm = _manifest(helm_bin, release, release_values)
        assert as_argo_cd == as_helm, phase


# ---------------------------------------------------------------- values schema

def _schema_validator():
    import json

    import jsonschema
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_schema_accepts_defaults_and_every_scenario():
    validator = _schema_validator()
    assert validator.schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    for scenario in SCENARIOS:
        errors = [e.message for e in validator.iter_errors(with_defaults(scenario_values(scenario)))]
        assert errors == [], scenario
    # helm adds `global` to the merged values
    assert not list(validator.iter_errors(with_defaults({"global": {"domain": "x"}})))


def _described(node: Any, path: str = "$") -> list[str]:
    missing = []
    if isinstance(node, dict):
        for key, sub in (node.get("properties") or {}).items():
            if "description" not in sub:
                missing.append(f"{path}.{key}")
            missing += _described(sub, f"{path}.{key}")
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                missing += _described(node[key], f"{path}[{key}]")
        for key, sub in (node.get("definitions") or {}).items():
            missing += _described(sub, f"{path}#{key}")
    return missing


def test_schema_describes_every_property():
    assert _described(_schema_validator().schema) == []


@pytest.mark.parametrize(("overrides", "where"), [
    ({"unknownKey": 1}, "unknownKey"),
    ({"platform": {"domian": "typo.example"}}, "domian"),
    ({"phase": "both"}, "both"),
    ({"tekton": {"pruner": {"keep": "twenty"}}}, "twenty"),
    ({"environments": [{"name": "dev", "namespace": "dev", "destination": {}}]}, "destination"),
    ({"apps": [{"name": "Web_App", "repoURL": "https://x"}]}, "Web_App"),
    ({"apps": [{"name": "web", "repoURL": "https://x/a' || true"}]}, "repoURL"),
    ({"ingress": {"argocd": {"enabled": "yes"}}}, "yes"),
    ({"phase": "gitops"}, "enabled"),
    ({"phase": "gitops", "argo-cd": {"enabled": False}, "ingress-nginx": {"enabled": False},
      "tekton-operator": {"enabled": True}}, "enabled"),
    ({"phase": "tekton"}, "enabled"),
    ({"phase": "platform", "tekton-operator": {"enabled": True}}, "enabled"),
    ({"phase": "operator", "tekton-operator": {"enabled": True}}, "enabled"),
    ({"selfManagement": {"chart": {"path": "/charts/gitops-platform/"}}}, "path"),
    ({"selfManagement": {"valueFiles": {"staging": "x.yaml"}}}, "staging"),
])
def test_schema_rejects_bad_values(overrides, where):
    errors = list(_schema_validator().iter_errors(with_defaults(overrides)))
    assert errors, f"accepted {overrides}"
    assert any(where in (e.message + str(list(e.absolute_path)) + str(e.context)) for e in errors), errors


@pytest.mark.parametrize("phase", ["tekton", "gitops"])
def test_schema_accepts_later_phases_with_every_dependency_disabled(phase):
    overrides = {"phase": phase, **{d: {"enabled": False} for d in DEPENDENCIES}}
    assert list(_schema_validator().iter_errors(with_defaults(overrides))) == []


@pytest.mark.parametrize("overrides", [
    {"phase": "gitops", "argo-cd": {"enabled": True}, "ingress-nginx": {"enabled": False},
     "tekton-operator": {"enabled": False}},
    {"phase": "tekton", "argo-cd": {"enabled": False}, "ingress-nginx": {"enabled": False},
     "tekton-operator": {"enabled": True}},
    {"bogus": True, **{d: {"enabled": False} for d in DEPENDENCIES}},
])
def test_helm_itself_rejects_bad_values(any_helm, overrides):
    with pytest.raises(HelmError) as err:
        helm_adapter.render(CHART, release="g", namespace="argocd", values=overrides, helm=str(any_helm))
    text = str(err.value).lower()
    assert "schema" in text or "values don't meet" in text or "additional properties" in text
    assert err.value.stderr_tail


@pytest.mark.parametrize(("overrides", "message"), [
    ({"phase": "gitops", "ingress-nginx": {"enabled": True}}, "phase gitops installs no dependency: set "
                                                              "ingress-nginx.enabled=false"),
    ({"phase": "tekton", "tekton-operator": {"enabled": True}}, "phase tekton installs no dependency: set "
                                                                "tekton-operator.enabled=false"),
    ({"phase": "both"}, 'phase "both" is not one of platform, operator, tekton, gitops'),
    ({"ingress-nginx": {"controller": {"admissionWebhooks": {"annotations": {"argocd.argoproj.io/hook": "Skip"}}}}},
     'ingress-nginx.controller.admissionWebhooks.annotations has "argocd.argoproj.io/hook": the ingress-nginx '
     'chart also puts these annotations on its ValidatingWebhookConfiguration'),
])
def test_template_guard_names_the_problem_when_the_schema_is_skipped(helm_bin, tmp_path, overrides, message):
    chart = tmp_path / "gitops-platform"
    shutil.copytree(CHART, chart)
    (chart / "values.schema.json").unlink()
    values = {**{d: {"enabled": False} for d in DEPENDENCIES}, **overrides}
    with pytest.raises(HelmError) as err:
        helm_adapter.render(chart, release="g", namespace="argocd", values=values, helm=str(helm_bin))
    assert message in str(err.value)


# ---------------------------------------------------------------- Argo CD's external URL

TLS = {"enabled": True, "secretName": "acme-tls"}
PLAIN = {"enabled": False}


@pytest.mark.parametrize(("overrides", "message"), [
    ({"platform": {"domain": "acme.dev"}},
     'argo-cd.global.domain is "argo.example.com": set it to "argo.acme.dev"'),
    ({"ingress": {"tls": PLAIN}},
     'argo-cd.configs.cm.url is "https://argo.example.com": set it to "http://argo.example.com"'),
    ({"ingress": {"tls": PLAIN}, "argo-cd": {"configs": {"cm": {"url": "http://argo.example.com"}}}},
     'argo-cd.notifications.argocdUrl is "https://argo.example.com": set it to "http://argo.example.com"'),
    ({"argo-cd": {"configs": {"cm": {"url": ""}}}},
     'argo-cd.configs.cm.url is "": set it to "https://argo.example.com"'),
])
def test_argo_cd_url_must_match_its_ingress_and_scheme(helm_bin, overrides, message):
    values = {**overrides, "argo-cd": {**overrides.get("argo-cd", {}), "enabled": True},
              "ingress-nginx": {"enabled": False}, "cert-manager": {"enabled": False},
              "gateway-crds-helm": {"enabled": False}, "gateway-helm": {"enabled": False},
              "tekton-operator": {"enabled": False}}
    with pytest.raises(HelmError) as err:
        helm_adapter.render(CHART, release="g", namespace="argocd", values=values, helm=str(helm_bin))
    assert message in str(err.value)


def test_argo_cd_url_follows_tls(helm_bin):
    https = "https://argo.acme.dev"
    values = {"platform": {"domain": "acme.dev"}, "ingress": {"tls": TLS},
              "argo-cd": {"enabled": True, "global": {"domain": "argo.acme.dev"}, "configs": {"cm": {"url": https}},
                          "notifications": {"argocdUrl": https}},
              "ingress-nginx": {"enabled": False}, "cert-manager": {"enabled": False},
              "gateway-crds-helm": {"enabled": False}, "gateway-helm": {"enabled": False},
              "tekton-operator": {"enabled": False}}
    objs = helm_adapter.render(CHART, release="g", namespace="argocd", values=values, helm=str(helm_bin)).objects()
    assert of_kind(objs, "Ingress")["argocd-server"]["spec"]["tls"][0]["hosts"] == ["argo.acme.dev"]


# ---------------------------------------------------------------- minimum Kubernetes version

def test_one_minimum_kubernetes_version_for_chart_operator_and_cli(helm_bin, repo_root):
    """Argo CD 3.4 is tested on 1.32 to 1.35 and ingress-nginx 1.15 on 1.31 to 1.35: 1.32 is the floor."""
    from kubectl_gitops.workflows import bootstrap

    meta = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert meta["kubeVersion"] == ">=1.32.0-0"
    operator = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))["tekton-operator"]
    assert operator["kubernetesMinVersion"] == "v1.32.0"
    assert bootstrap.MIN_KUBERNETES == (1, 32)
    values = {d: {"enabled": False} for d in DEPENDENCIES}
    helm_adapter.render(CHART, release="p", namespace="argocd", values=values, kube_version="1.32.0",
                        helm=str(helm_bin))
    with pytest.raises(HelmError) as err:
        helm_adapter.render(CHART, release="p", namespace="argocd", values=values, kube_version="1.31.9",
                            helm=str(helm_bin))
    assert "kubeVersion" in str(err.value) or "incompatible" in str(err.value).lower()


def test_build_pipeline_writes_the_digest_back_into_the_gitops_repository(helm_bin):
    """The last task writes dev's release file (files/write-back.sh, tested in test_write_back.py); its params
    come from the build-params ConfigMap and the Triggers alike, and its commit is a Pipeline result."""
    objs = objects(helm_bin, "gitops-dev-prod-values.yaml")
    pipeline = of_kind(objs, "Pipeline")["build-and-push"]["spec"]
    tasks = {t["name"]: t for t in pipeline["tasks"]}
    write_back = tasks["write-back"]
    assert write_back["runAfter"] == ["build-image"] and write_back["taskRef"] == {"kind": "Task", "name": "write-back"}
    params = {p["name"]: p["value"] for p in write_back["params"]}
    assert params["digest"] == "$(tasks.build-image.results.IMAGE_DIGEST)"
    assert params["source-commit"] == "$(tasks.clone.results.commit)"
    assert params["image"] == "registry.digitalocean.com/shop/$(params.app-name)"
    assert write_back["workspaces"] == [{"name": "basic-auth", "workspace": "basic-auth"}]
    results = {r["name"]: r["value"] for r in pipeline["results"]}
    assert results["GITOPS_COMMIT"] == "$(tasks.write-back.results.GITOPS_COMMIT)"
    assert {"IMAGE_DIGEST", "IMAGE_URL", "COMMIT"} <= set(results)
    declared = {p["name"] for p in pipeline["params"]}
    build = yaml.safe_load(of_kind(objs, "ConfigMap")["build-params"]["data"]["api.json"])
    assert set(build) <= declared
    assert (build["gitops-url"], build["gitops-branch"], build["gitops-path"], build["environment"],
            build["replicas"]) == ("https://github.com/example/shop-gitops.git", "main", "clusters/shop", "dev", "2")
    template = of_kind(objs, "TriggerTemplate")["build-and-push"]["spec"]
    run_params = {p["name"] for p in template["resourcetemplates"][0]["spec"]["params"]}
    assert set(build) <= run_params and set(build) <= {p["name"] for p in template["params"]}
    task = of_kind(objs, "Task")["write-back"]["spec"]
    assert task["results"] == [{"name": "GITOPS_COMMIT", "description": task["results"][0]["description"]}]
    assert task["workspaces"][0]["optional"] is True


# ---------------------------------------------------------------- edge gateway (Envoy Gateway)

def test_gateway_edge_has_a_listener_per_host_a_redirect_and_routes_instead_of_ingresses(helm_bin):
    objs = objects(helm_bin, "gitops-gateway-values.yaml")
    assert "Ingress" not in {o["kind"] for o in objs}
    gateway = of_kind(objs, "Gateway")["platform"]
    assert gateway["metadata"]["namespace"] == "envoy-gateway-system"
    assert gateway["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt-production"}
    assert gateway["spec"]["infrastructure"]["annotations"] == {
        "kubernetes.digitalocean.com/load-balancer-id": "4de7ac8b-495b-4884-9a69-1050c6793cd6"}
    listeners = {listener["name"]: listener for listener in gateway["spec"]["listeners"]}
    assert set(listeners) == {"http", "https-argo-acme-dev", "https-grpc-argo-acme-dev", "https-hooks-acme-dev",
                              "https-tekton-acme-dev", "https-web-dev-acme-dev", "https-web-acme-dev"}
    assert listeners["https-argo-acme-dev"]["tls"] == {"mode": "Terminate", "certificateRefs": [
        {"kind": "Secret", "name": "argo-acme-dev-tls"}]}
    redirect = of_kind(objs, "HTTPRoute")["https-redirect"]
    assert redirect["spec"]["parentRefs"] == [{"name": "platform", "sectionName": "http"}]
    assert redirect["spec"]["rules"][0]["filters"][0]["requestRedirect"] == {"scheme": "https", "statusCode": 301}
    argocd = of_kind(objs, "HTTPRoute")["argocd-server"]
    assert argocd["metadata"]["namespace"] == "argocd" and argocd["spec"]["hostnames"] == ["argo.acme.dev"]
    grpc = of_kind(objs, "GRPCRoute")["argocd-server"]["spec"]
    assert grpc["rules"][0]["backendRefs"] == [{"name": "argocd-server", "port": 80}]
    # one listener takes only one of an HTTPRoute and a GRPCRoute whose hostnames intersect
    assert grpc["hostnames"] == ["grpc.argo.acme.dev"]
    http_hosts = {h for r in of_kind(objs, "HTTPRoute").values() for h in r["spec"].get("hostnames") or []}
    assert not set(grpc["hostnames"]) & http_hosts
    assert of_kind(objs, "HTTPRoute")["el-git-push"]["metadata"]["namespace"] == "ci"
    # the dashboard: its route in the Tekton namespace, behind Envoy Gateway's basic authentication
    dashboard = of_kind(objs, "HTTPRoute")["tekton-dashboard"]
    assert dashboard["metadata"]["namespace"] == "tekton-pipelines"
    assert dashboard["spec"]["hostnames"] == ["tekton.acme.dev"]
    assert dashboard["spec"]["rules"] == [{"backendRefs": [{"name": "tekton-dashboard", "port": 9097}]}]
    policy = of_kind(objs, "SecurityPolicy")["tekton-dashboard"]
    assert policy["metadata"]["namespace"] == "tekton-pipelines"
    assert policy["spec"] == {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                                              "name": "tekton-dashboard"}],
                              "basicAuth": {"users": {"name": "dashboard-auth"}}}
    assert of_kind(objs, "GatewayClass")["envoy-gateway"]["spec"]["controllerName"] == \
        "gateway.envoyproxy.io/gatewayclass-controller"


def test_gateway_edge_issuers_answer_http01_through_the_gateway(helm_bin):
    values = {**scenario_values("tekton-default-values.yaml"), "edge": "gateway"}
    objs = helm_adapter.render(CHART, release="t", namespace="argocd", values=values, helm=str(helm_bin)).objects()
    solver = of_kind(objs, "ClusterIssuer")["letsencrypt-staging"]["spec"]["acme"]["solvers"][0]
    assert solver == {"http01": {"gatewayHTTPRoute": {"parentRefs": [
        {"name": "platform", "namespace": "envoy-gateway-system", "kind": "Gateway", "sectionName": "http"}]}}}


def test_gateway_edge_needs_cert_managers_gateway_support(helm_bin, tmp_path, shared_reference):
    import fakecharts

    chart = fakecharts.chart_with_dependencies(tmp_path, shared_reference)
    values = {"edge": "gateway", "gateway-crds-helm": {"enabled": True}, "gateway-helm": {"enabled": True}}
    with pytest.raises(HelmError) as err:
        helm_adapter.render(chart, release="p", namespace="argocd", values=values, helm=str(helm_bin))
    assert "cert-manager.config.enableGatewayAPI=true" in str(err.value)
    values["cert-manager"] = {"config": {"enableGatewayAPI": True}}
    objs = helm_adapter.render(chart, release="p", namespace="argocd", values=values, helm=str(helm_bin)).objects()
    names = {(o["kind"], o["metadata"]["name"]) for o in objs}
    assert {("Deployment", "envoy-gateway"), ("Namespace", "envoy-gateway-system"),
            ("CustomResourceDefinition", "gateways.gateway.networking.k8s.io"),
            ("CustomResourceDefinition", "httproutes.gateway.networking.k8s.io"),
            ("CustomResourceDefinition", "grpcroutes.gateway.networking.k8s.io")} <= names
    assert not [o for o in objs if o["kind"] == "Ingress"], "edge gateway renders no Ingress"


def test_gateway_edge_reads_a_brought_certificate_from_another_namespace_through_a_reference_grant(helm_bin):
    values = scenario_values("gitops-gateway-values.yaml")
    values["ingress"]["tls"] = {"secretName": "wildcard", "secretNamespace": "certificates"}
    objs = helm_adapter.render(CHART, release="gitops-platform", namespace="argocd", values=values,
                               helm=str(helm_bin)).objects()
    gateway = of_kind(objs, "Gateway")["platform"]
    assert "annotations" not in gateway["metadata"], "no cert-manager for a brought certificate"
    refs = [listener["tls"]["certificateRefs"] for listener in gateway["spec"]["listeners"] if "tls" in listener]
    assert refs and all(r == [{"kind": "Secret", "name": "wildcard", "namespace": "certificates"}] for r in refs)
    grant = of_kind(objs, "ReferenceGrant")["gateway-platform-certificate"]
    assert grant["apiVersion"] == "gateway.networking.k8s.io/v1beta1"
    assert grant["metadata"]["namespace"] == "certificates"
    assert grant["spec"] == {"from": [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                       "namespace": "envoy-gateway-system"}],
                             "to": [{"group": "", "kind": "Secret", "name": "wildcard"}]}
    # in the Gateway's own namespace no grant is needed
    values["ingress"]["tls"] = {"secretName": "wildcard", "secretNamespace": "envoy-gateway-system"}
    objs = helm_adapter.render(CHART, release="gitops-platform", namespace="argocd", values=values,
                               helm=str(helm_bin)).objects()
    assert "ReferenceGrant" not in {o["kind"] for o in objs}
    listener = next(lst for lst in of_kind(objs, "Gateway")["platform"]["spec"]["listeners"] if "tls" in lst)
    assert listener["tls"]["certificateRefs"] == [{"kind": "Secret", "name": "wildcard"}]
