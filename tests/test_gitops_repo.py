"""The GitOps repository layer with real git on bare repositories: layout, structural edits of the
overlays, one commit or none, concurrent writers, and the preflight's one-line failures."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest
import yaml

import platforms
from kubectl_gitops.adapters import config_file, git
from kubectl_gitops.core import gitrepo, values
from kubectl_gitops.core.errors import GitopsError
from kubectl_gitops.core.progress import Reporter
from kubectl_gitops.core.resources import chart_dir
from kubectl_gitops.workflows import repository


def run_git(*args, cwd=None) -> str:
    out = subprocess.run(["git", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def config_for(tmp_path: Path, example: str = "proof-of-concept", repo: Path | None = None):
    path = platforms.write_existing(tmp_path / "gitops.yaml", example, repo=repo)
    return config_file.load(str(path))


def plan_for(config):
    by_phase = {r.phase: values.chart_values(config, phase=r.phase, repo_url=repository.argocd_url(config))
                for r in values.releases(config)}
    return repository.layout(config, chart_dir(), by_phase, values.chart_version_overrides(config))


def write(config, token=None):
    remote = repository.remote(config, token, {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    access = repository.check(config, remote, Reporter())
    return repository.write(config, access, plan_for(config), Reporter())


def commits(repo: Path, branch: str = "main") -> list[str]:
    return run_git("--git-dir", repo, "log", "--format=%H %s", branch).splitlines()


def clone(repo: Path, dest: Path) -> Path:
    run_git("clone", "--quiet", repo.as_uri(), dest)
    run_git("config", "user.email", "person@example.com", cwd=dest)
    run_git("config", "user.name", "A Person", cwd=dest)
    return dest


def test_first_write_commits_the_layout_once_and_a_rerun_commits_nothing(tmp_path):
    config = config_for(tmp_path)
    first = write(config)
    assert first.committed and len(commits(tmp_path / "gitops.git")) == 1
    root = "platform"
    files = set(run_git("--git-dir", tmp_path / "gitops.git", "ls-tree", "-r", "--name-only", "main").splitlines())
    assert {f"{root}/README.md", f"{root}/platform/chart/Chart.yaml", f"{root}/platform/chart/values.yaml",
            f"{root}/platform/values/platform.yaml", f"{root}/platform/values/tekton.yaml",
            f"{root}/platform/values/gitops.yaml", f"{root}/apps/fakeservice/base/deployment.yaml",
            f"{root}/apps/fakeservice/base/service.yaml", f"{root}/apps/fakeservice/base/kustomization.yaml",
            f"{root}/apps/fakeservice/dev/kustomization.yaml",
            f"{root}/apps/fakeservice/dev/release/kustomization.yaml",
            f"{root}/apps/fakeservice/dev/ingress/kustomization.yaml",
            f"{root}/apps/fakeservice/dev/ingress/ingress.yaml"} <= files
    assert not any("/charts/" in f or f.endswith((".tgz", ".gotmpl")) or "/ci/" in f for f in files)
    second = write(config)
    assert not second.committed and second.sha == first.sha
    assert len(commits(tmp_path / "gitops.git")) == 1


def test_committed_chart_names_upstream_repositories_with_overrides(tmp_path, repo_root):
    path = platforms.write_existing(tmp_path / "gitops.yaml")
    data = yaml.safe_load(path.read_text())
    data["versions"] = {"ingress_nginx_chart": "4.15.0"}
    path.write_text(yaml.safe_dump(data))
    config = config_file.load(str(path))
    write(config)
    chart = yaml.safe_load(run_git("--git-dir", tmp_path / "gitops.git", "show",
                                   "main:platform/platform/chart/Chart.yaml"))
    pinned = yaml.safe_load((repo_root / "charts/gitops-platform/Chart.yaml").read_text())
    deps = {d["name"]: (d["repository"], d["version"]) for d in chart["dependencies"]}
    for dep in pinned["dependencies"]:
        assert deps[dep["name"]][0] == dep["repository"]  # the upstream repository itself
    assert deps["ingress-nginx"][1] == "4.15.0"
    assert deps["argo-cd"][1] == next(d["version"] for d in pinned["dependencies"] if d["name"] == "argo-cd")


def test_person_edits_in_an_overlay_survive_a_rerun(tmp_path):
    config = config_for(tmp_path)
    write(config)
    work = clone(tmp_path / "gitops.git", tmp_path / "work")
    overlay = work / "platform/apps/fakeservice/dev/kustomization.yaml"
    data = yaml.safe_load(overlay.read_text())
    data["replicas"] = [{"name": "fakeservice", "count": 4}]
    data["commonAnnotations"] = {"team": "games"}
    text = "# tuned by hand\n" + yaml.safe_dump(data, sort_keys=False)
    overlay.write_text(text)
    run_git("commit", "--quiet", "-am", "dev: four replicas", cwd=work)
    run_git("push", "--quiet", "origin", "main", cwd=work)
    # a change to gitops.yaml that bootstrap writes elsewhere
    path = Path(config.source)
    data = yaml.safe_load(path.read_text())
    data["applications"]["fakeservice"]["port"] = 9090
    path.write_text(yaml.safe_dump(data))
    result = write(config_file.load(str(path)))
    assert result.committed and "platform/apps/fakeservice/dev/kustomization.yaml" not in result.changed
    assert "platform/apps/fakeservice/base/deployment.yaml" in result.changed
    shown = run_git("--git-dir", tmp_path / "gitops.git", "show",
                    "main:platform/apps/fakeservice/dev/kustomization.yaml")
    assert shown == text.strip()  # byte for byte, the comment included


def test_overlay_keys_the_tool_owns_are_set_and_others_kept(tmp_path):
    config = config_for(tmp_path)
    existing = {"kind": "Kustomization", "namespace": "elsewhere", "resources": ["extra.yaml"],
                "components": ["mine"], "patches": [{"path": "p.yaml"}]}
    out = gitrepo.overlay(config, "dev", existing)
    assert out["namespace"] == config.environment("dev").namespace
    assert out["apiVersion"] == gitrepo.KUSTOMIZE_API
    assert out["resources"] == ["extra.yaml"] and out["components"] == ["mine", "release"]
    assert out["patches"] == [{"path": "p.yaml"}]
    assert gitrepo.overlay(config, "dev", out) == out
    assert gitrepo.overlay(config, "dev", None)["components"] == ["release"]


def test_release_file_is_canonical_and_readable():
    image, digest = "registry.example.com/team/web", "sha256:" + "ab" * 32
    empty = gitrepo.release_file()
    assert gitrepo.release_digest(empty, image) is None and yaml.safe_load(empty)["kind"] == "Component"
    text = gitrepo.release_file(image, digest, app="web", replicas=3)
    data = yaml.safe_load(text)
    assert data["resources"] == ["../../base", "../ingress"]
    assert data["images"] == [{"name": image, "digest": digest}] and data["replicas"] == [{"name": "web", "count": 3}]
    assert gitrepo.release_digest(text, image) == digest and gitrepo.release_digest(text, "other") is None
    with pytest.raises(ValueError):
        gitrepo.release_file(image, "latest", app="web")


def test_broken_overlay_in_the_repository_is_one_line(tmp_path):
    config = config_for(tmp_path)
    write(config)
    work = clone(tmp_path / "gitops.git", tmp_path / "work")
    (work / "platform/apps/fakeservice/dev/kustomization.yaml").write_text("resources: [../base\n")
    run_git("commit", "--quiet", "-am", "oops", cwd=work)
    run_git("push", "--quiet", "origin", "main", cwd=work)
    with pytest.raises(GitopsError) as err:
        write(config)
    assert "platform/apps/fakeservice/dev/kustomization.yaml" in str(err.value) and "\n" not in str(err.value)
    assert len(commits(tmp_path / "gitops.git")) == 2


def test_concurrent_writers_both_land_without_losing_a_commit(tmp_path):
    repo = platforms.bare_repo(tmp_path / "shared.git")
    (tmp_path / "a").mkdir()
    a = config_for(tmp_path / "a", repo=repo)
    path_b = tmp_path / "b"
    path_b.mkdir()
    data = platforms.existing()
    data["gitops"]["repo"] = repo.as_uri()
    data["gitops"]["path"] = "shop"
    (path_b / "gitops.yaml").write_text(yaml.safe_dump(data))
    b = config_file.load(str(path_b / "gitops.yaml"))
    write(a)  # the branch exists; now two writers of the same change race on it
    results: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def go(name, config):
        barrier.wait()
        try:
            results[name] = write(config)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[name] = exc

    threads = [threading.Thread(target=go, args=("b", b)), threading.Thread(target=go, args=("b2", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(isinstance(r, Exception) for r in results.values()), results
    log = commits(repo)
    assert len(log) == 2, log  # the first write, then exactly one of the two identical writers committed
    files = run_git("--git-dir", repo, "ls-tree", "-r", "--name-only", "main")
    assert "platform/README.md" in files and "shop/README.md" in files


def test_two_different_writers_at_once_both_land(tmp_path):
    repo = platforms.bare_repo(tmp_path / "shared.git")
    configs = []
    for name, example in (("a", "proof-of-concept"), ("b", "proof-of-concept")):
        (tmp_path / name).mkdir()
        data = platforms.existing(example)
        data["gitops"]["repo"] = repo.as_uri()
        data["gitops"]["path"] = name
        (tmp_path / name / "gitops.yaml").write_text(yaml.safe_dump(data))
        configs.append(config_file.load(str(tmp_path / name / "gitops.yaml")))
    write(configs[0])
    # both writers clone the same head; whoever pushes second must re-apply on the new head
    results = []
    barrier = threading.Barrier(2)

    def go(config):
        barrier.wait()
        results.append(write(config))

    data_a = yaml.safe_load(Path(configs[0].source).read_text())
    data_a["applications"]["fakeservice"]["port"] = 9000
    Path(configs[0].source).write_text(yaml.safe_dump(data_a))
    changed_a = config_file.load(configs[0].source)
    threads = [threading.Thread(target=go, args=(c,)) for c in (changed_a, configs[1])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 2 and all(r.committed for r in results)
    assert len(commits(repo)) == 3
    shown = run_git("--git-dir", repo, "show", "main:a/apps/fakeservice/base/deployment.yaml")
    assert "containerPort: 9000" in shown
    listed = run_git("--git-dir", repo, "ls-tree", "-r", "--name-only", "main")
    assert "b/apps/fakeservice/base/deployment.yaml" in listed


def test_push_retries_on_a_moved_branch_and_reapplies_the_edit(tmp_path):
    repo = platforms.bare_repo(tmp_path / "r.git")
    remote = git.Remote(url=repo.as_uri(), environ={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    git.commit_change(remote, "main", lambda w: [_write(w, "a.txt", "a")], "first")
    seen = []

    def edit(work: Path) -> list[str]:
        seen.append(sorted(p.name for p in work.iterdir() if p.name != ".git"))
        if len(seen) == 1:  # someone else pushes while we edit
            other = clone(repo, tmp_path / "other")
            _write(other, "b.txt", "b")
            run_git("add", ".", cwd=other)
            run_git("commit", "--quiet", "-m", "other", cwd=other)
            run_git("push", "--quiet", "origin", "main", cwd=other)
        return [_write(work, "c.txt", "c")]

    result = git.commit_change(remote, "main", edit, "ours")
    assert result.committed and result.attempts == 2
    assert seen == [["a.txt"], ["a.txt", "b.txt"]]
    assert [c.split(" ", 1)[1] for c in commits(repo)] == ["ours", "other", "first"]


def _write(work: Path, name: str, text: str) -> str:
    (work / name).write_text(text)
    return name


def test_preflight_failures_are_one_line_and_write_nothing(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    missing = git.Remote(url=(tmp_path / "nope.git").as_uri(), environ=env)
    with pytest.raises(GitopsError, match="does not exist") as err:
        git.ls_remote(missing)
    assert "\n" not in str(err.value)
    repo = platforms.bare_repo(tmp_path / "r.git")
    git.commit_change(git.Remote(url=repo.as_uri(), environ=env), "trunk", lambda w: [_write(w, "x", "x")], "x")
    config = config_for(tmp_path, repo=repo)
    with pytest.raises(GitopsError, match=r"branch main does not exist .* \(it has trunk\)"):
        repository.check(config, repository.remote(config, None, env), Reporter())
    assert not (tmp_path / "nope.git").exists()


def test_local_paths_are_made_absolute_file_urls_relative_to_gitops_yaml(tmp_path):
    repo = platforms.bare_repo(tmp_path / "repos" / "g.git")
    path = platforms.write_existing(tmp_path / "gitops.yaml", repo="repos/g.git")
    config = config_file.load(str(path))
    assert repository.argocd_url(config) == repo.resolve().as_uri()
    assert git.url_kind("git@github.com:org/repo.git") == "ssh"
    assert git.url_kind("https://github.com/org/repo") == "https"
    assert git.redact_url("https://user:secret@host/r.git") == "https://host/r.git"


def test_every_overlay_renders_with_kubectl_kustomize_and_validates(tmp_path, kubectl_bin):
    from kubectl_gitops.adapters import schema
    from kubectl_gitops.core import manifests

    for example in ("proof-of-concept", "dev-prod-go"):
        (tmp_path / example).mkdir()
        config = config_for(tmp_path / example, example)
        rendered = repository.render_apps(config, plan_for(config), kubectl=str(kubectl_bin))
        docs = [d for source, text in rendered.rendered for d in manifests.parse_documents(text, source=source)]
        results = schema.validate(docs, registry=schema.SchemaRegistry(kubernetes_version=config.kubernetes_minor))
        assert results and all(r.status == "valid" for r in results), [r for r in results if r.status != "valid"]
        kinds = sorted({(r.kind, r.namespace) for r in results})
        envs = {e.namespace for e in config.environments}
        assert {ns for _, ns in kinds if ns} <= envs
        assert ("Deployment", "") in kinds or any(k == "Deployment" for k, _ in kinds)
        empty = [text for source, text in rendered.rendered if source.endswith(("/dev", "/prod"))]
        assert empty and all(not t.strip() for t in empty)  # before a build, an overlay runs nothing
        built = [text for source, text in rendered.rendered if source.endswith("(with an image digest)")]
        assert all(f"@{repository.EXAMPLE_DIGEST}" in text for text in built)


def test_app_ingress_serves_https_with_a_certificate_per_host():
    from kubectl_gitops.adapters import config_file
    from kubectl_gitops.core import gitrepo

    base = (Path(__file__).resolve().parent.parent / "examples/dev-prod-go/gitops.yaml").read_text()
    config = config_file.load_text(base, source="gitops.yaml")
    app = next(a for a in config.applications if a.host("dev"))
    ingress = yaml.safe_load(gitrepo.ingress_files(config, app, "dev")[gitrepo.INGRESS_FILE])
    host = app.host("dev")
    assert ingress["spec"]["tls"] == [{"hosts": [host], "secretName": f"{app.name}-tls"}]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt-production"
    assert annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    brought = config_file.load_text(base + "tls: {secret: wildcard-tls}\n", source="gitops.yaml")
    ingress = yaml.safe_load(gitrepo.ingress_files(brought, app, "dev")[gitrepo.INGRESS_FILE])
    assert ingress["spec"]["tls"][0]["secretName"] == "wildcard-tls"
    assert "cert-manager.io/cluster-issuer" not in ingress["metadata"]["annotations"]
    plain = config_file.load_text(base + "tls: false\n", source="gitops.yaml")
    ingress = yaml.safe_load(gitrepo.ingress_files(plain, app, "dev")[gitrepo.INGRESS_FILE])
    assert "tls" not in ingress["spec"] and "annotations" not in ingress["metadata"]


def test_app_route_attaches_to_the_gateway_with_edge_gateway():
    from kubectl_gitops.adapters import config_file
    from kubectl_gitops.core import gitrepo

    base = (Path(__file__).resolve().parent.parent / "examples/dev-prod-go/gitops.yaml").read_text()
    text = base.replace("environments:", "edge: gateway\nenvironments:", 1)
    data = yaml.safe_load(text)
    for env in data["environments"].values():  # the gateway edge serves the platform's cluster
        env["cluster"] = data["environments"]["dev"]["cluster"]
    config = config_file.load_text(yaml.safe_dump(data), source="gitops.yaml")
    app = next(a for a in config.applications if a.host("dev"))
    files = gitrepo.ingress_files(config, app, "dev")
    assert gitrepo.INGRESS_FILE not in files
    route = yaml.safe_load(files[gitrepo.ROUTE_FILE])
    assert route["kind"] == "HTTPRoute" and route["spec"]["hostnames"] == [app.host("dev")]
    assert route["spec"]["parentRefs"] == [{"name": "platform", "namespace": "envoy-gateway-system"}]
    assert route["spec"]["rules"] == [{"backendRefs": [{"name": app.name, "port": 80}]}]
