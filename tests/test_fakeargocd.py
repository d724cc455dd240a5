"""The Argo CD stand-in (:mod:`fakeargocd`, run by :class:`fakeplatform.FakePlatform`) against real git
repositories and the real kubectl: what it resolves, what it refuses with Argo CD's own messages, what
it syncs, and when."""

from __future__ import annotations

import base64

import pytest
import yaml

from fakegit import FakeGitHost
from fakekube import FakeKube
from fakekube.platform import install_crds
from fakeplatform import FakePlatform
from gitopsrepo import git

APPS = "applications.argoproj.io"
TOKEN = "sentinel-argocd-repo-token"


def deployment(name: str, image: str) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": name, "image": image}]}}}}


class Repo:
    """A bare repository and a clone to commit from."""

    def __init__(self, tmp_path, name="gitops", url=None, bare=None):
        self.bare = bare or tmp_path / f"{name}.git"
        if bare is None:
            git("init", "-q", "--bare", "-b", "main", str(self.bare))
        self.url = url or f"file://{self.bare}"
        self.work = tmp_path / f"{name}-work"
        git("init", "-q", "-b", "main", str(self.work))
        git("remote", "add", "origin", str(self.bare), cwd=self.work)

    def write(self, files: dict[str, object], message="change", remove=()) -> str:
        for path, content in files.items():
            target = self.work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content if isinstance(content, str) else yaml.safe_dump_all(
                content if isinstance(content, list) else [content]))
        for path in remove:
            (self.work / path).unlink()
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", message, cwd=self.work)
        git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


@pytest.fixture
def argo(shared_reference, kubectl_bin):
    kube = FakeKube()
    install_crds(kube)
    for ns in ("argocd", "web"):
        kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    controllers = FakePlatform(kube, shared_reference, kubectl=kubectl_bin,
                               helm_charts=[("https://charts.example.com", "redis", "1.2.3")]).install()
    controllers.kube.create({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "argocd-application-controller", "namespace": "argocd",
                     "labels": {"app.kubernetes.io/part-of": "argocd",
                                "app.kubernetes.io/component": "application-controller"}},
        "spec": {"selector": {"matchLabels": {"c": "a"}},
                 "template": {"metadata": {"labels": {"c": "a"}},
                              "spec": {"containers": [{"name": "c", "image": "quay.io/argoproj/argocd"}]}}}})
    yield controllers
    controllers.close()
    assert controllers.errors == []


def application(argo, name, source=None, *, automated=True, prune=True, sources=None, **spec):
    body = {"project": "default", "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
            **spec}
    if sources is not None:
        body["sources"] = sources
    else:
        body["source"] = source
    if automated:
        body["syncPolicy"] = {"automated": {"prune": prune, "selfHeal": True}}
    argo.kube.create({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                      "metadata": {"name": name, "namespace": "argocd"}, "spec": body})
    argo.settle()
    return status(argo, name)


def status(argo, name):
    return argo.kube.get(APPS, name, "argocd")["status"]


def summary(st):
    return st["sync"]["status"], st["health"]["status"], st["sync"].get("revision")


def error(st):
    assert [c["type"] for c in st["conditions"]] == ["ComparisonError"]
    return st["conditions"][0]["message"]


KUSTOMIZATION = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                 "resources": ["deployment.yaml"]}


@pytest.fixture
def repo(tmp_path):
    return Repo(tmp_path)


def test_each_unresolvable_source_is_a_comparison_error_never_synced(argo, repo, tmp_path):
    repo.write({"apps/web/kustomization.yaml": KUSTOMIZATION, "apps/web/deployment.yaml": deployment("web", "a:1")})
    cases = {
        "no-path": ({"repoURL": repo.url, "targetRevision": "main", "path": "apps/nope"},
                    "rpc error: code = Unknown desc = apps/nope: app path does not exist"),
        "no-revision": ({"repoURL": repo.url, "targetRevision": "release-9", "path": "apps/web"},
                        "unable to resolve 'release-9' to a commit SHA"),
        "no-repo": ({"repoURL": f"file://{tmp_path}/missing.git", "targetRevision": "main", "path": "."},
                    "failed to list refs: repository not found"),
        "no-commit": ({"repoURL": repo.url, "targetRevision": "0" * 40, "path": "apps/web"},
                      f"reference is not a tree: {'0' * 40}"),
        "offline": ({"repoURL": "https://github.com/example/gitops.git", "targetRevision": "main", "path": "."},
                    "dial tcp: lookup github.com: no such host"),
    }
    for name, (source, message) in cases.items():
        st = application(argo, name, source)
        assert summary(st) == ("Unknown", "Healthy", None), name
        assert error(st).startswith("Failed to load target state: failed to generate manifest for source 1 of 1: ")
        assert message in error(st), name
        assert "operationState" not in st, "nothing was synced"
    assert argo.kube.get("deployments", "web", "web") is None


def test_kustomize_is_rendered_synced_at_the_commit_and_follows_a_push_after_refresh(argo, repo):
    first = repo.write({"apps/web/kustomization.yaml": {**KUSTOMIZATION, "images": [{"name": "a", "newTag": "2"}]},
                        "apps/web/deployment.yaml": deployment("web", "a:1")})
    st = application(argo, "web", {"repoURL": repo.url, "targetRevision": "main", "path": "apps/web"})
    assert summary(st) == ("Synced", "Healthy", first) and st["sourceType"] == "Kustomize"
    assert st["summary"]["images"] == ["a:2"], "kustomize's image override, rendered by the real kubectl"
    live = argo.kube.get("deployments", "web", "web")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "a:2"
    assert live["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] == "web:apps/Deployment:web/web"
    assert [e["manager"] for e in live["metadata"]["managedFields"]][0] == "argocd-controller"
    assert st["operationState"]["phase"] == "Succeeded"
    assert st["operationState"]["syncResult"]["revision"] == first

    second = repo.write({"apps/web/kustomization.yaml": {**KUSTOMIZATION, "images": [{"name": "a", "newTag": "3"}]}})
    argo.settle()
    assert status(argo, "web")["sync"]["revision"] == first, "a push alone reaches no Argo CD until it polls"
    argo.argocd.refresh("web")
    argo.settle()
    st = status(argo, "web")
    assert summary(st) == ("Synced", "Healthy", second) and st["summary"]["images"] == ["a:3"]

    git("tag", "v1", first, cwd=repo.work)
    git("push", "-q", "origin", "v1", cwd=repo.work)
    for revision, expected in (("v1", first), (first[:8], first), ("HEAD", second), (second, second)):
        argo.kube.update(APPS, "web", lambda o, r=revision: o["spec"]["source"].update(targetRevision=r), "argocd")
        argo.settle()
        assert status(argo, "web")["sync"]["revision"] == expected, revision


def test_a_kustomize_error_carries_kustomizes_message(argo, repo):
    repo.write({"apps/web/kustomization.yaml": {**KUSTOMIZATION, "resources": ["missing.yaml"]}})
    st = application(argo, "web", {"repoURL": repo.url, "targetRevision": "main", "path": "apps/web"})
    assert summary(st)[0] == "Unknown"
    assert "`kustomize build apps/web` failed exit status 1: " in error(st) and "missing.yaml" in error(st)


def test_prune_deletes_what_is_no_longer_desired(argo, repo):
    repo.write({"apps/web/a.yaml": deployment("a", "a:1"), "apps/web/b.yaml": deployment("b", "b:1")})
    st = application(argo, "web", {"repoURL": repo.url, "targetRevision": "main", "path": "apps/web"})
    assert st["sourceType"] == "Directory" and len(st["resources"]) == 2
    repo.write({}, remove=["apps/web/b.yaml"])
    argo.argocd.refresh()
    argo.settle()
    assert argo.kube.get("deployments", "b", "web") is None and argo.kube.get("deployments", "a", "web")
    assert summary(status(argo, "web"))[:2] == ("Synced", "Healthy")


def test_health_follows_the_rollout(argo, repo):
    argo.never_ready.add(("Deployment", "web", "web"))
    repo.write({"apps/web/web.yaml": deployment("web", "a:1")})
    st = application(argo, "web", {"repoURL": repo.url, "targetRevision": "main", "path": "apps/web"})
    assert summary(st)[:2] == ("Synced", "Progressing")
    argo.never_ready.clear()
    argo.kube.mark_deployment_available("web", "web")
    argo.settle()
    assert summary(status(argo, "web"))[:2] == ("Synced", "Healthy")


def test_manual_applies_nothing_until_an_operation_at_the_revision_it_names(argo, repo):
    old = repo.write({"apps/web/kustomization.yaml": KUSTOMIZATION,
                      "apps/web/deployment.yaml": deployment("web", "a:1")})
    new = repo.write({"apps/web/deployment.yaml": deployment("web", "a:2")})
    source = {"repoURL": repo.url, "targetRevision": "main", "path": "apps/web"}
    st = application(argo, "web", source, automated=False)
    assert summary(st) == ("OutOfSync", "Missing", new) and "operationState" not in st
    assert argo.kube.get("deployments", "web", "web") is None

    argo.kube.update(APPS, "web", lambda o: o.update(operation={
        "sync": {"revision": old}, "initiatedBy": {"username": "alice"}}), "argocd")
    argo.settle()
    app = argo.kube.get(APPS, "web", "argocd")
    assert "operation" not in app, "the controller clears the operation it ran"
    op = app["status"]["operationState"]
    assert (op["phase"], op["syncResult"]["revision"], op["operation"]["initiatedBy"]) == (
        "Succeeded", old, {"username": "alice"})
    assert op["startedAt"] and op["finishedAt"]
    assert argo.kube.get("deployments", "web", "web")["spec"]["template"]["spec"]["containers"][0]["image"] == "a:1"
    assert summary(app["status"]) == ("OutOfSync", "Healthy", new), "compared with the branch, which moved on"

    argo.kube.update(APPS, "web", lambda o: o.update(operation={"sync": {}, "initiatedBy": {"username": "bob"}}),
                     "argocd")
    argo.settle()
    assert summary(status(argo, "web")) == ("Synced", "Healthy", new)
    assert status(argo, "web")["summary"]["images"] == ["a:2"]

    argo.failing_applications["web"] = "one or more objects failed to apply"
    argo.kube.update(APPS, "web", lambda o: o.update(operation={"sync": {"revision": "nope"}}), "argocd")
    argo.settle()
    op = status(argo, "web")["operationState"]
    assert op["phase"] == "Error" and "unable to resolve 'nope' to a commit SHA" in op["message"]
    argo.kube.update(APPS, "web", lambda o: o.update(operation={"sync": {}}), "argocd")
    argo.settle()
    op = status(argo, "web")["operationState"]
    assert (op["phase"], op["message"]) == ("Failed", "one or more objects failed to apply")


def test_an_application_with_nothing_to_deploy_is_synced_and_healthy(argo, repo):
    head = repo.write({"platform/README.md": "# GitOps\n", "platform/apps/web/dev/kustomization.yaml": {
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": []}})
    for name, path, automated in (("root", "platform", True), ("web-dev", "platform/apps/web/dev", False)):
        st = application(argo, name, {"repoURL": repo.url, "targetRevision": "main", "path": path},
                         automated=automated)
        assert summary(st) == ("Synced", "Healthy", head) and st["resources"] == []


def test_refresh_annotation_is_honoured_and_removed(argo, repo):
    first = repo.write({"apps/web/web.yaml": deployment("web", "a:1")})
    application(argo, "web", {"repoURL": repo.url, "targetRevision": "main", "path": "apps/web"})
    second = repo.write({"apps/web/web.yaml": deployment("web", "a:2")})
    assert status(argo, "web")["sync"]["revision"] == first
    argo.kube.update(APPS, "web", lambda o: o["metadata"].setdefault("annotations", {}).update(
        {"argocd.argoproj.io/refresh": "normal"}), "argocd")
    argo.settle()
    app = argo.kube.get(APPS, "web", "argocd")
    assert "argocd.argoproj.io/refresh" not in (app["metadata"].get("annotations") or {})
    assert app["status"]["sync"]["revision"] == second


CHART = {"apiVersion": "v2", "name": "platform", "version": "0.1.0",
         "dependencies": [{"name": "redis", "version": "1.2.3", "repository": "https://charts.example.com"}]}


def test_helm_charts_in_git_and_in_repositories_must_be_fetchable(argo, repo):
    head = repo.write({"chart/Chart.yaml": CHART, "chart/values.yaml": "{}\n", "values/dev.yaml": "{}\n"})
    source = {"repoURL": repo.url, "targetRevision": "main", "path": "chart",
              "helm": {"releaseName": "demo", "valueFiles": ["../values/dev.yaml"]}}
    st = application(argo, "held", source)
    assert summary(st) == ("Synced", "Healthy", head) and st["sourceType"] == "Helm"

    st = application(argo, "missing-values", {**source, "helm": {"valueFiles": ["../values/prod.yaml"]}})
    assert summary(st)[0] == "Unknown" and "open ../values/prod.yaml: no such file or directory" in error(st)

    head = repo.write({"other/Chart.yaml": {**CHART, "dependencies": [
        {"name": "redis", "version": "9.9.9", "repository": "https://charts.example.com"}]}})
    st = application(argo, "unheld", {"repoURL": repo.url, "targetRevision": "main", "path": "other"})
    assert summary(st)[0] == "Unknown" and "`helm dependency build` failed" in error(st) and "redis" in error(st)

    st = application(argo, "repo-held", {"repoURL": "https://charts.example.com", "chart": "redis",
                                         "targetRevision": "1.2.3"})
    assert summary(st) == ("Synced", "Healthy", "1.2.3")
    st = application(argo, "repo-unheld", {"repoURL": "https://charts.example.com", "chart": "redis",
                                           "targetRevision": "2.0.0"})
    assert summary(st)[0] == "Unknown" and 'chart "redis" version "2.0.0" not found' in error(st)

    st = application(argo, "multi", sources=[
        {"repoURL": "https://charts.example.com", "chart": "redis", "targetRevision": "1.2.3",
         "helm": {"valueFiles": ["$values/values/dev.yaml"]}},
        {"repoURL": repo.url, "targetRevision": "main", "ref": "values"}])
    assert (st["sync"]["status"], st["sync"]["revisions"]) == ("Synced", ["1.2.3", head])


def test_repository_credentials_from_argocd_secrets(argo, tmp_path):
    with FakeGitHost(tmp_path / "host", token=TOKEN) as host:
        url = host.create_repo("gitops", empty=False)
        head = git("--git-dir", str(host.path("gitops")), "rev-parse", "main")
        source = {"repoURL": url, "targetRevision": "main", "path": "."}
        st = application(argo, "anonymous", source)
        assert summary(st)[0] == "Unknown" and error(st).endswith("failed to list refs: authentication required")

        def secret(name, password, kind="repository", secret_url=url):
            data = {"url": secret_url, "username": "argocd", "password": password}
            argo.kube.create({"apiVersion": "v1", "kind": "Secret", "metadata": {
                "name": name, "namespace": "argocd", "labels": {"argocd.argoproj.io/secret-type": kind}},
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}})

        secret("wrong", "not-the-token")
        st = application(argo, "wrong-token", source)
        assert "failed to list refs: authentication required" in error(st)
        assert TOKEN not in repr(st) and "not-the-token" not in repr(st)
        argo.kube.delete("secrets", "wrong", "argocd")

        secret("creds", TOKEN, kind="repo-creds", secret_url=host.url + "/")
        st = application(argo, "prefix-creds", source)
        assert summary(st) == ("Synced", "Healthy", head)
        argo.kube.delete("secrets", "creds", "argocd")
        secret("right", TOKEN)
        st = application(argo, "right-token", source)
        assert summary(st) == ("Synced", "Healthy", head)
        assert {r.user for r in host.requests if r.status == 200} == {"argocd"}
        assert TOKEN not in repr(host.requests)

        host.go_away()
        argo.argocd.refresh("right-token")
        argo.settle()
        st = status(argo, "right-token")
        assert summary(st)[0] == "Unknown" and "failed to list refs: " in error(st)
        host.come_back()


def test_remote_destinations_resolve_through_cluster_secrets(argo, repo, shared_reference, kubectl_bin):
    prod = FakeKube()
    prod.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    server = "https://prod.example.com:6443"
    argo.argocd.remote_kubes[server] = prod
    repo.write({"apps/web/web.yaml": deployment("web", "a:1")})
    source = {"repoURL": repo.url, "targetRevision": "main", "path": "apps/web"}
    st = application(argo, "web-prod", source, destination={"name": "prod", "namespace": "shop"})
    assert summary(st)[0] == "Unknown"
    assert st["conditions"][0]["type"] == "InvalidSpecError" and "there are no clusters with this name: prod" in \
        st["conditions"][0]["message"]
    argo.kube.create({"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "cluster-prod", "namespace": "argocd", "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
        "stringData": {"name": "prod", "server": server}})
    argo.argocd.refresh("web-prod")
    argo.settle()
    assert prod.get("deployments", "web", "shop") is not None, "applied to the remote cluster"
    assert summary(status(argo, "web-prod"))[0] == "Synced"
