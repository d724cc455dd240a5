"""`kubectl gitops bootstrap --dry-run`: the whole plan, offline, touching nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kubectl_gitops.cli import main as cli_main

BIN = Path(sys.executable).parent
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def offline_env(tmp_path, helm_bin):
    """No token, no reachable cluster, HOME and caches inside tmp_path."""
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    kubeconfig = home / ".kube" / "config"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DIGITALOCEAN_", "KUBE", "XDG_", "HELM_"))}
    env.update(HOME=str(home), KUBECONFIG=str(kubeconfig), GITOPS_HELM=str(helm_bin), LC_ALL="C.UTF-8")
    return env


def run_cli(args, env, cwd):
    return subprocess.run([BIN / "kubectl-gitops", *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=120)


@pytest.mark.parametrize("example", ["proof-of-concept", "dev-prod-go"])
def test_dry_run_plans_everything_with_no_token_and_writes_nothing(example, offline_env, tmp_path):
    config = EXAMPLES / example / "gitops.yaml"
    before = _tree(tmp_path)
    out = run_cli(["bootstrap", "--dry-run", "--config", str(config)], offline_env, tmp_path)
    assert out.returncode == 0, out.stderr
    assert _tree(tmp_path) == before  # not a file created or touched, not even a cache
    assert "no DigitalOcean token: planned as if the account were empty" in out.stdout
    lines = out.stdout.splitlines()
    assert lines[1].split() == ["PHASE", "KIND", "NAME", "ACTION", "WHY"]
    kinds = {(line.split()[0], line.split()[1]) for line in lines[2:]}
    for expected in [("infrastructure", "registry"), ("infrastructure", "cluster"),
                     ("infrastructure", "load_balancer"), ("infrastructure", "dns_record"),
                     ("infrastructure", "registry_integration"), ("infrastructure", "kubeconfig"),
                     ("platform", "release"), ("platform", "secret"), ("platform", "wait"),
                     ("handover", "release")]:
        assert expected in kinds, expected
    assert "Traceback" not in out.stderr


def test_dry_run_json_lists_phases_releases_and_validated_objects(offline_env, tmp_path):
    config = EXAMPLES / "dev-prod-go" / "gitops.yaml"
    out = run_cli(["bootstrap", "--dry-run", "--config", str(config), "-o", "json", "-q"], offline_env, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    plan = json.loads(out.stdout)
    assert plan["dryRun"] is True and plan["offline"] is True and plan["invalidObjects"] == []
    assert [p["name"] for p in plan["phases"]] == ["infrastructure", "platform", "repository", "handover"]
    releases = [c["name"] for p in plan["phases"] for c in p["changes"] if c["kind"] == "release"]
    assert releases == ["shop-platform", "shop-operator", "shop-tekton", "shop-ingress (prod)", "shop-edge (prod)",
                        "shop-gitops"]
    # on DigitalOcean, an edge switch first disowns the old edge's Service so its removal keeps the load balancer
    platform = plan["phases"][1]["changes"]
    assert platform[0]["kind"] == "load balancer" and platform[0]["name"] == "shop-dev-ingress"
    assert platform[0]["action"] == "hand over" and "do-loadbalancer-disown" in platform[0]["detail"]
    assert platform[1]["name"] == "shop-platform"
    repo = plan["phases"][2]["changes"]
    assert repo[0]["kind"] == "commit" and repo[0]["action"] == "commit"
    assert "against an empty repository (offline)" in repo[0]["detail"]
    written = {c["name"] for c in repo[1:]}
    assert {"platform/apps/catalog/base/deployment.yaml", "platform/apps/storefront/prod/kustomization.yaml",
            "platform/platform/values/gitops.yaml", "platform/README.md"} <= written
    # the apps' directories were rendered with kubectl kustomize and validated like the releases
    assert ("platform/apps/catalog/prod (with an image digest)", "Deployment", "shop/catalog") in {
        (o["release"], o["kind"], o["name"]) for o in plan["objects"]}
    handover = plan["phases"][3]["changes"]
    assert handover[-1]["kind"] == "wait" and handover[-1]["name"] == "Argo CD"
    assert handover[0] == {"kind": "cluster", "name": "shop-prod", "action": "register",
                           "detail": "Argo CD cluster Secret argocd/cluster-shop-prod, access limited to the "
                                     "environment namespaces"}
    objects = {(o["release"], o["kind"], o["name"]) for o in plan["objects"]}
    assert ("shop-gitops", "Application", "argocd/shop-root") in objects
    assert ("shop-tekton", "TektonConfig", "config") in objects
    records = [c["name"] for c in plan["phases"][0]["changes"] if c["kind"] == "dns_record"]
    assert "catalog.shop.example.com" in records and "argo.shop.example.com" in records


def test_dry_run_shows_the_diff_and_against_a_local_repository_only_what_changes(offline_env, tmp_path):
    import platforms
    from kubectl_gitops.adapters import config_file
    from kubectl_gitops.core import values as mapping
    from kubectl_gitops.core.progress import Reporter
    from kubectl_gitops.core.resources import chart_dir
    from kubectl_gitops.workflows import repository

    config_path = platforms.write_existing(tmp_path / "gitops.yaml")
    out = run_cli(["bootstrap", "--dry-run", "--config", str(config_path), "-v"], offline_env, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "+++ b/platform/apps/fakeservice/base/deployment.yaml" in out.stdout
    assert subprocess.run(["git", "--git-dir", str(tmp_path / "gitops.git"), "rev-parse", "--verify", "main"],
                          capture_output=True).returncode != 0  # nothing was committed
    config = config_file.load(str(config_path))
    by_phase = {r.phase: mapping.chart_values(config, phase=r.phase, repo_url=repository.argocd_url(config))
                for r in mapping.releases(config)}
    by_phase["gitops"].setdefault("tekton", {}).setdefault("triggers", {})["webhookSecretName"] = "git-push-webhook"
    plan = repository.layout(config, chart_dir(), by_phase, {})
    remote = repository.remote(config, None, offline_env)
    repository.write(config, repository.check(config, remote, Reporter()), plan, Reporter())
    out = run_cli(["bootstrap", "--dry-run", "--config", str(config_path), "-o", "json"], offline_env, tmp_path)
    assert out.returncode == 0, out.stderr
    (commit,) = [c for p in json.loads(out.stdout)["phases"] if p["name"] == "repository" for c in p["changes"]]
    assert commit["action"] == "up to date" and commit["detail"].startswith("0 files changed against the branch")


def test_dry_run_existing_provider_needs_no_cluster(offline_env, tmp_path):
    config = EXAMPLES / "proof-of-concept" / "gitops.yaml"
    out = run_cli(["bootstrap", "--dry-run", "--provider", "existing", "--context", "nowhere",
                   "--config", str(config), "-o", "json"], offline_env, tmp_path)
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)
    assert plan["provider"] == "existing"
    assert plan["phases"][0]["changes"] == [{"kind": "cluster", "name": "mgmt", "action": "keep",
                                             "detail": "existing cluster, context nowhere"}]


def test_dry_run_does_not_touch_a_reachable_cluster(offline_env, tmp_path, fake_kube):
    config = EXAMPLES / "proof-of-concept" / "gitops.yaml"
    offline_env["KUBECONFIG"] = str(fake_kube.kubeconfig)
    fake_kube.reset_counters()
    out = run_cli(["bootstrap", "--dry-run", "--provider", "existing", "--config", str(config)], offline_env,
                  tmp_path)
    assert out.returncode == 0, out.stderr
    assert fake_kube.requests == [], [(r.method, r.path, r.query) for r in fake_kube.requests]


def test_dry_run_with_a_token_reads_the_account_and_writes_nothing(fake_do, tmp_path, monkeypatch, helm_bin, capsys):
    fake_do.seed_registry("bl-k8s", tier="starter", region="ams3")
    fake_do.seed_domain("homecooked.nl")
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", fake_do.token)
    monkeypatch.setenv("GITOPS_HELM", str(helm_bin))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    code = cli_main._run(cli_main.cli, ["bootstrap", "--dry-run", "-o", "json", "--config",
                                        str(EXAMPLES / "proof-of-concept" / "gitops.yaml")], "kubectl gitops")
    out = capsys.readouterr()
    assert code == 0, out.err
    plan = json.loads(out.out)
    assert plan["offline"] is False
    registry = next(c for c in plan["phases"][0]["changes"] if c["kind"] == "registry")
    assert registry["action"] == "keep"
    assert {c.method for c in fake_do.log} == {"GET"}
    assert fake_do.token not in out.out + out.err
    assert not (tmp_path / "kubeconfig").exists()


def test_invalid_config_is_a_usage_error(offline_env, tmp_path):
    bad = tmp_path / "gitops.yaml"
    bad.write_text("apiVersion: gitops.kubectl.dev/v1alpha1\nkind: Platform\nname: x\nprovider: nope\n")
    out = run_cli(["bootstrap", "--dry-run", "--config", str(bad)], offline_env, tmp_path)
    assert out.returncode == 2
    assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr


@pytest.mark.parametrize("timeout", ["0", "soon", "-5m"])
def test_bad_timeout_is_a_usage_error(timeout, offline_env, tmp_path):
    out = run_cli(["bootstrap", "--dry-run", "--timeout", timeout], offline_env, tmp_path)
    assert out.returncode == 2
    assert "--timeout" in out.stderr


def test_parse_duration():
    from kubectl_gitops.cli.bootstrap_cmd import parse_duration

    assert parse_duration("90") == 90 and parse_duration("90s") == 90
    assert parse_duration("15m") == 900 and parse_duration("1h30m") == 5400
