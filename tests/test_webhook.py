"""`kubectl gitops webhook <app>`: the settings to give the app's repository; the secret only when asked."""

from __future__ import annotations

import base64
import json

from kubectl_gitops.cli.main import _run, cli

CONFIG = """\
apiVersion: gitops.kubectl.dev/v1alpha1
kind: Platform
name: shop
provider: existing
domain: shop.example.com
clusters: {mgmt: {}}
environments: {dev: {cluster: mgmt}}
gitops: {repo: https://github.com/example/shop-gitops.git}
registry: {name: shop, server: registry.example.com}
applications:
  web: {git: https://github.com/example/web}
  api: {git: https://github.com/example/api.git, revision: 0123456789abcdef0123456789abcdef01234567,
        build_on: {tags: "v*"}}
"""
SECRET = "whsec-SENTINEL-42"


def webhook(tmp_path, fake_kube, capsys, *args):
    config = tmp_path / "gitops.yaml"
    config.write_text(CONFIG)
    code = _run(cli, ["--kubeconfig", str(fake_kube.kubeconfig), "webhook", "--config", str(config), *args],
                "kubectl gitops")
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_url_content_type_events_and_hides_the_secret(tmp_path, fake_kube, capsys):
    code, out, err = webhook(tmp_path, fake_kube, capsys, "web")
    assert code == 0, err
    assert "Payload URL:  https://hooks.shop.example.com/" in out
    assert "Content type: application/json" in out and "Events:       push" in out
    assert "--show-secret" in out and "pushes to branch main" in out
    assert "https://github.com/example/web/settings/hooks" in out
    code, out, _ = webhook(tmp_path, fake_kube, capsys, "api", "-o", "json")
    data = json.loads(out)
    assert data["payloadURL"] == "https://hooks.shop.example.com/" and data["events"] == ["push"]
    assert data["branch"] is None and data["tags"] == "v*" and "secret" not in data


def test_show_secret_reads_the_cluster_secret(tmp_path, fake_kube, capsys):
    fake_kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ci"}})
    fake_kube.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "git-push-webhook", "namespace": "ci"},
                      "data": {"secretToken": base64.b64encode(SECRET.encode()).decode()}})
    code, out, err = webhook(tmp_path, fake_kube, capsys, "web", "--show-secret", "-o", "yaml")
    assert code == 0, err
    assert f"secret: {SECRET}" in out
    code, out, _ = webhook(tmp_path, fake_kube, capsys, "web")
    assert SECRET not in out


def test_missing_secret_and_unknown_app_are_one_line(tmp_path, fake_kube, capsys):
    code, out, err = webhook(tmp_path, fake_kube, capsys, "web", "--show-secret")
    assert code == 1 and out == ""
    assert err.startswith("error: no webhook token: Secret ci/git-push-webhook") and len(err.splitlines()) == 1
    code, _, err = webhook(tmp_path, fake_kube, capsys, "nosuch")
    assert code == 2 and "no application 'nosuch'" in err
