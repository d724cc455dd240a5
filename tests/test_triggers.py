"""Push webhooks that fire: the chart's EventListener, as rendered from gitops.yaml through the values mapping,
run on real-shaped GitHub push deliveries by the Triggers stand-in (real HMAC, real CEL)."""

from __future__ import annotations

import pytest
import yaml

from faketriggers import EventListener, push_payload, sign
from kubectl_gitops.adapters import config_file
from kubectl_gitops.adapters import helm as helm_adapter
from kubectl_gitops.core import values
from kubectl_gitops.core.resources import chart_dir

TOKEN = "hook-token-0f9e"
GITOPS = """
apiVersion: gitops.kubectl.dev/v1alpha1
kind: Platform
name: shop
provider: existing
domain: shop.example.com
clusters: {mgmt: {}}
environments: {dev: {cluster: mgmt}}
gitops: {repo: https://github.com/example/shop-gitops.git}
registry: {name: shop, server: registry.example.com, tier: professional}
applications:
  web: {git: https://github.com/example/web}
  api: {git: https://github.com/example/api.git, revision: release, build_on: {tags: "v*"}}
  docs: {git: https://github.com/example/docs, revision: 0123456789abcdef0123456789abcdef01234567}
  site: {git: git@github.com:example/site.git, revision: v2, build_on: {branch: false, tags: "v2.?.*"}}
"""


@pytest.fixture(scope="module")
def listener(helm_bin) -> EventListener:
    config = config_file.load_text(GITOPS, source="gitops.yaml")
    data = values.chart_values(config, phase="gitops")
    data.setdefault("tekton", {}).setdefault("triggers", {})["webhookSecretName"] = "git-push-webhook"
    objs = helm_adapter.render(chart_dir(), release="shop-gitops", namespace="argocd", values=data,
                               helm=str(helm_bin)).objects()
    return EventListener(objs, {"git-push-webhook": {"secretToken": TOKEN}})


def runs(listener: EventListener, url: str, ref: str, **kw) -> list[str]:
    raw = push_payload(url, ref, **kw)
    return [r["spec"]["params"][0]["value"] for r in listener.created(sign(TOKEN, raw), raw)]


def test_a_signed_push_for_the_git_url_starts_the_apps_build(listener):
    # GitHub's clone_url ends in .git; gitops.yaml says https://github.com/example/web
    raw = push_payload("https://github.com/example/web.git", "refs/heads/main", after="a" * 40)
    (run,) = listener.created(sign(TOKEN, raw), raw)
    assert run["kind"] == "PipelineRun" and run["metadata"]["generateName"] == "web-"
    params = {p["name"]: p["value"] for p in run["spec"]["params"]}
    assert params["app-name"] == "web" and params["git-revision"] == "a" * 40 and params["image-tag"] == "a" * 40
    assert (params["gitops-url"], params["gitops-branch"], params["gitops-path"], params["environment"],
            params["replicas"]) == ("https://github.com/example/shop-gitops.git", "main", "platform", "dev", "1")
    assert run["spec"]["taskRunTemplate"]["serviceAccountName"] == "pipeline-builder"
    assert run["metadata"]["labels"]["app.kubernetes.io/name"] == "web"
    # and an app whose gitops.yaml URL has .git matches GitHub's too
    assert runs(listener, "https://github.com/example/api.git", "refs/heads/release") == ["api"]


@pytest.mark.parametrize("headers", [
    {"X-GitHub-Event": "push"},  # unsigned
    {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + "0" * 64},  # signed with another token
])
def test_unsigned_or_badly_signed_pushes_start_nothing(listener, headers):
    raw = push_payload("https://github.com/example/web.git", "refs/heads/main")
    assert listener.created(headers, raw) == []
    reasons = {d.reason for d in listener.deliver(headers, raw)}
    assert all(r.startswith("github: ") for r in reasons)


def test_only_push_events_count(listener):
    raw = push_payload("https://github.com/example/web.git", "refs/heads/main")
    assert listener.created({**sign(TOKEN, raw), "X-GitHub-Event": "pull_request"}, raw) == []


@pytest.mark.parametrize(("url", "ref", "built"), [
    ("https://github.com/example/web.git", "refs/heads/main", ["web"]),
    ("https://github.com/example/web.git", "refs/heads/feature", []),  # another branch
    ("https://github.com/example/web.git", "refs/tags/v1.0.0", []),  # web builds no tags
    ("https://github.com/example/webx.git", "refs/heads/main", []),  # another repository
    ("https://github.com/example/api.git", "refs/tags/v1.2.0", ["api"]),  # tag pattern v*
    ("https://github.com/example/api.git", "refs/tags/1.2.0", []),
    ("https://github.com/example/api.git", "refs/heads/v1", []),  # a branch named like the tag pattern
    ("https://github.com/example/docs.git", "refs/heads/main", []),  # a commit revision never triggers
    ("https://github.com/example/site.git", "refs/tags/v2.1.0", ["site"]),  # ssh URL in gitops.yaml, glob v2.?.*
    ("https://github.com/example/site.git", "refs/tags/v2.10.0", []),
    ("https://github.com/example/site.git", "refs/tags/v2x1.0", []),  # '.' in the glob is a dot
    ("https://github.com/example/site.git", "refs/heads/v2", []),  # build_on.branch: false
])
def test_branches_for_branch_revisions_tags_for_tag_patterns(listener, url, ref, built):
    assert runs(listener, url, ref) == built


def test_deleting_the_branch_builds_nothing(listener):
    assert runs(listener, "https://github.com/example/web.git", "refs/heads/main", deleted=True) == []


def test_config_rejects_branch_builds_of_a_commit():
    text = GITOPS.replace("revision: 0123456789abcdef0123456789abcdef01234567}",
                          "revision: 0123456789abcdef0123456789abcdef01234567, build_on: {branch: true}}")
    with pytest.raises(Exception) as err:
        config_file.load_text(text, source="gitops.yaml")
    assert "revision is a commit, which no push builds" in str(err.value.problems)


def test_every_example_renders_its_triggers_with_the_signature_check(helm_bin, repo_root):
    for path in sorted((repo_root / "examples").glob("*/gitops.yaml")):
        config = config_file.load(path)
        data = values.chart_values(config, phase="gitops")
        objs = helm_adapter.render(chart_dir(), release="x", namespace="argocd", values=data,
                                   helm=str(helm_bin)).objects()
        listener = next(o for o in objs if o["kind"] == "EventListener")
        for trigger in listener["spec"]["triggers"]:
            github = trigger["interceptors"][0]
            assert github["ref"]["name"] == "github"
            assert {"name": "secretRef", "value": {"secretName": "git-push-webhook", "secretKey": "secretToken"}} \
                in github["params"], path
        assert yaml.safe_dump(listener)
