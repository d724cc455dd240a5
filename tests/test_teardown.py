"""`kubectl gitops teardown` against the DigitalOcean stand-in, through the real CLI code in-process.

A platform is provisioned by the real workflow next to resources that are not the platform's (an
untagged cluster with its load balancer, a load balancer of its own, a DNS record, kube contexts of
the user). Teardown must leave nothing tagged and no load balancer billing, and touch nothing else.
"""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from fakedo import ManualClock
from fakedo.scenarios import fast_api, inventory, load_platform, platform_yaml, tagged, writes
from kubectl_gitops.cli import main, teardown_cmd
from kubectl_gitops.core import kubeconfig as kc
from kubectl_gitops.core.errors import CloudServerError, UsageError
from kubectl_gitops.core.progress import Reporter
from kubectl_gitops.core.secrets import Secret
from kubectl_gitops.workflows import infra
from kubectl_gitops.workflows import teardown as workflow

TAG = "kubectl-gitops:shop"
DURATIONS = {"cluster": 120.0, "node_pool": 120.0, "load_balancer": 40.0}
USER_CONTEXT = {"name": "work", "context": {"cluster": "work", "user": "work"}}


class Platform:
    """A provisioned platform plus things that are not the platform's."""

    def __init__(self, fake, tmp_path):
        self.fake = fake
        self.tmp = tmp_path
        self.config_path = tmp_path / "gitops.yaml"
        self.config = load_platform(platform_yaml(), tmp_path)
        self.kubeconfig = tmp_path / "kubeconfig"
        self.kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "work", "contexts": [USER_CONTEXT],
            "clusters": [{"name": "work", "cluster": {"server": "https://10.1.1.1"}}],
            "users": [{"name": "work", "user": {"token": "user-own-token"}}]}))
        fake.seed_domain("shop.example.com")
        fake.seed_registry("shop-images")
        # not the platform's: an untagged cluster with a load balancer, a lone load balancer, a record
        self.blog = fake.seed_cluster("blog", tags=["blog"])
        self.blog_lb = fake.seed_load_balancer("blog-lb", cluster_id=self.blog)
        self.other_lb = fake.seed_load_balancer("shop-dev-ingress-copy")
        fake.account.records["shop.example.com"].append(
            fake.account._make_record({"type": "A", "name": "www", "data": "192.0.2.1"}))
        result = infra.provision(self.config, token=Secret(fake.token), kubeconfig=str(self.kubeconfig),
                                 timeout=60, reporter=Reporter(), api=fast_api(fake), poll_interval=0.001)
        self.result = result
        dev = result.clusters["dev"]
        # the cloud controller adopted the dev ingress load balancer and made one more, plus a volume
        fake.associate_load_balancer(dev.cluster_id, dev.load_balancer_id)
        self.ccm_lb = fake.seed_load_balancer("a1b2c3", cluster_id=dev.cluster_id)
        self.volume = fake.seed_volume("pvc-1234", cluster_id=dev.cluster_id)
        fake.log.clear()

    def env(self, **extra):
        return {"DIGITALOCEAN_TOKEN": self.fake.token, "DIGITALOCEAN_ACCESS_TOKEN": None, "KUBECONFIG": None,
                **extra}

    def run(self, *args, input=None, env=None):
        """The CLI in-process (the stand-in intercepts in-process only): exit code, stdout, stderr."""
        runner = CliRunner()
        argv = ["teardown", "--config", str(self.config_path), "--kubeconfig", str(self.kubeconfig), *args]
        with runner.isolation(input=input, env=env or self.env()) as (out, err, _):
            code = main._run(main.cli, argv, "kubectl gitops")
        return code, out.getvalue().decode(), err.getvalue().decode()

    def assert_only_the_platform_is_gone(self, *, registry: bool = True):
        fake, acct = self.fake, self.fake.account
        assert tagged(fake, TAG) == [] and TAG not in acct.tags
        assert sorted(c["name"] for c in acct.clusters.values()) == ["blog"]
        assert sorted(lb["name"] for lb in acct.load_balancers.values()) == ["blog-lb", "shop-dev-ingress-copy"]
        assert acct.volumes == {}
        records = inventory(fake)["records"]["shop.example.com"]
        assert records == [("A", "www", "192.0.2.1")]
        assert (acct.registry is not None) == registry
        doc = kc.loads(self.kubeconfig.read_text(), source="kc")
        assert doc["contexts"] == [USER_CONTEXT] and doc["current-context"] == "work"
        assert [u["name"] for u in doc["users"]] == ["work"] and [c["name"] for c in doc["clusters"]] == ["work"]


def last_line(text: str) -> str:
    return text.rstrip("\n").rsplit("\n", 1)[-1]


@pytest.fixture
def platform(fake_do_factory, tmp_path):
    fake = fake_do_factory(clock=ManualClock(auto_advance=10), durations=DURATIONS)
    return Platform(fake, tmp_path)


def test_teardown_removes_the_platform_and_nothing_else(platform):
    code, out, err = platform.run("--yes")
    assert code == 0, err
    platform.assert_only_the_platform_is_gone()
    assert "Deleted 15 resource(s) of platform shop." in out
    # load balancers went with their cluster in one request, the unadopted one by id
    selective = platform.fake.calls("DELETE", r"/v2/kubernetes/clusters/.*/selective")
    assert len(selective) == 2
    bodies = {tuple(sorted(c.json["load_balancers"])) for c in selective}
    dev = platform.result.clusters["dev"]
    assert tuple(sorted([dev.load_balancer_id, platform.ccm_lb])) in bodies
    assert platform.fake.calls("DELETE", "/v2/load_balancers/{lb_id}")[0].path.endswith(
        platform.result.clusters["prod"].load_balancer_id)
    assert (platform.tmp / "kubeconfig.kubectl-gitops.bak").exists()


def test_a_second_run_has_nothing_to_do(platform):
    assert platform.run("--yes")[0] == 0
    platform.fake.log.clear()
    code, out, _ = platform.run("--yes")
    assert code == 0 and "Nothing of platform shop to delete." in out and writes(platform.fake) == []


def test_registry_only_with_delete_registry(platform):
    code, out, _ = platform.run("--dry-run")
    assert code == 0 and "kept with its images; pass --delete-registry" in out
    assert platform.run("--yes", "--delete-registry")[0] == 0
    platform.assert_only_the_platform_is_gone(registry=False)


def test_keep_volumes(platform):
    assert platform.run("--yes", "--keep-volumes")[0] == 0
    assert list(platform.fake.account.volumes) == [platform.volume]
    (call,) = [c for c in platform.fake.calls("DELETE", r"/v2/kubernetes/clusters/.*/selective")
               if c.json["load_balancers"]]
    assert call.json["volumes"] == []


def test_dry_run_lists_and_changes_nothing(platform):
    before = inventory(platform.fake)
    kubeconfig = platform.kubeconfig.read_text()
    code, out, _ = platform.run("--dry-run", "-o", "json")
    assert code == 0
    data = json.loads(out)
    assert data["dryRun"] is True and data["platform"] == "shop"
    deleted = {(i["kind"], i["name"]) for i in data["delete"]}
    assert {("cluster", "shop-dev"), ("cluster", "shop-prod"), ("load_balancer", "shop-dev-ingress"),
            ("load_balancer", "shop-prod-ingress"), ("load_balancer", "a1b2c3"), ("volume", "pvc-1234"),
            ("dns_record", "argo.shop.example.com"), ("tag", TAG), ("kubeconfig", "do-fra1-shop-dev")} <= deleted
    assert not {n for _, n in deleted} & {"blog", "blog-lb", "shop-dev-ingress-copy", "www.shop.example.com", "work"}
    assert len(data["delete"]) == 15
    assert writes(platform.fake) == [] and inventory(platform.fake) == before
    assert platform.kubeconfig.read_text() == kubeconfig


def test_without_a_terminal_it_needs_yes(platform):
    code, out, err = platform.run()
    assert code == 2 and "pass --yes to confirm" in err and "To delete for platform shop:" in out
    assert writes(platform.fake) == []


def test_asks_on_a_terminal(platform, monkeypatch):
    monkeypatch.setattr(teardown_cmd, "_stdin_is_terminal", lambda: True)
    code, _, err = platform.run(input="n\n")
    assert code == 2 and "Delete these 15 resources of platform shop?" in err and "Nothing deleted." in err
    assert writes(platform.fake) == []
    code, _, err = platform.run(input="y\n")
    assert code == 0, err
    platform.assert_only_the_platform_is_gone()


def test_json_result(platform):
    code, out, _ = platform.run("--yes", "-o", "json")
    assert code == 0
    rows = json.loads(out)["rows"]
    assert sum(r["action"] == "deleted" for r in rows) == 15
    assert {(r["kind"], r["action"]) for r in rows if r["kind"] == "registry"} == {("registry", "kept")}


def test_re_run_after_a_partial_failure(platform):
    prod = platform.result.clusters["prod"].cluster_id
    platform.fake.fail_next("DELETE", f"/v2/kubernetes/clusters/{prod}/destroy_with_associated_resources/selective",
                            422, message="cluster is busy", times=1)
    code, _, err = platform.run("--yes")
    assert code == 1 and "cluster is busy" in last_line(err)
    assert platform.result.clusters["dev"].cluster_id not in platform.fake.account.clusters  # dev went first
    code, _, err = platform.run("--yes")
    assert code == 0, err
    platform.assert_only_the_platform_is_gone()


ERRORS = [
    ("401", "GET", "/v2/account", 401, "did not accept the token"),
    ("403", "DELETE", "/v2/domains/{domain_name}/records/{domain_record_id}", 403, "write scope"),
    ("404", "GET", "/v2/kubernetes/clusters", 404, "found nothing"),
    ("422", "DELETE", r"/v2/kubernetes/clusters/.*/selective", 422, "rejected deleting cluster"),
    ("429", "GET", "/v2/load_balancers", 429, "rate limit"),
    ("500", "DELETE", "/v2/tags/{tag_id}", 500, "failed on its side"),
    ("refused", "GET", "/v2/account", None, "cannot reach the DigitalOcean API"),
]


@pytest.mark.parametrize(("case", "method", "path", "status", "words"), ERRORS, ids=[e[0] for e in ERRORS])
def test_api_errors_are_one_line_and_exit_1(platform, case, method, path, status, words):
    if status is None:
        platform.fake.refuse_next(method, path, times=100)
    else:
        platform.fake.fail_next(method, path, status, times=100, retry_after=0)
    code, _, err = platform.run("--yes")
    assert code == 1
    assert last_line(err).startswith("error: ") and words in last_line(err)
    assert "Traceback" not in err and platform.fake.token not in err
    assert all(line[:2] in {"✔ ", "✚ "} for line in err.splitlines()[:-1])  # progress, then one error line
    platform.fake.clear_failures()
    assert platform.run("--yes")[0] == 0
    platform.assert_only_the_platform_is_gone()


def test_no_token(platform):
    code, _, err = platform.run("--yes", env=platform.env(DIGITALOCEAN_TOKEN=None))
    assert code == 2 and "no DigitalOcean token" in err and platform.fake.log == []  # a config error


def test_token_file(platform):
    token = platform.tmp / "token"
    token.write_text(platform.fake.token + "\n")
    code, _, err = platform.run("--yes", "--token-file", str(token), env=platform.env(DIGITALOCEAN_TOKEN="wrong"))
    assert code == 0, err


def test_workflow_api(platform):
    plan = workflow.plan_teardown(platform.config, token=Secret(platform.fake.token), reporter=Reporter(),
                                  kubeconfig=str(platform.kubeconfig), api=fast_api(platform.fake))
    assert len(plan.deletions) == 15 and plan.as_dict()["platform"] == "shop"
    platform.fake.fail_next("DELETE", "/v2/tags/{tag_id}", 500, times=10)
    with pytest.raises(CloudServerError):
        workflow.teardown(platform.config, plan, token=Secret(platform.fake.token), reporter=Reporter(),
                          api=fast_api(platform.fake))
    platform.fake.clear_failures()
    plan = workflow.plan_teardown(platform.config, token=Secret(platform.fake.token), reporter=Reporter(),
                                  kubeconfig=str(platform.kubeconfig), api=fast_api(platform.fake))
    assert [(i.kind, i.name) for i in plan.deletions] == [("tag", TAG), ("kubeconfig", "do-fra1-shop-dev"),
                                                          ("kubeconfig", "do-fra1-shop-prod")]
    result = workflow.teardown(platform.config, plan, token=Secret(platform.fake.token), reporter=Reporter(),
                               api=fast_api(platform.fake))
    assert len(result.deleted) == 3
    platform.assert_only_the_platform_is_gone()


def test_other_providers_are_refused(platform):
    import dataclasses

    config = dataclasses.replace(platform.config, provider="existing")
    with pytest.raises(UsageError, match="teardown removes DigitalOcean infrastructure only"):
        workflow.plan_teardown(config, token=Secret("x"), reporter=Reporter())
