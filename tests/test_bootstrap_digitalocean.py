"""`kubectl gitops bootstrap` with provider digitalocean: a fresh account (DigitalOcean stand-in, every
request checked against the OpenAPI spec) to a platform that `status` reports healthy, then a second
run that changes nothing, neither at DigitalOcean nor in the cluster.

The DigitalOcean stand-in intercepts pydo in-process, so the CLI runs in-process here (the same
entry point kubectl runs); helm and the cluster are real processes and the Kubernetes API stand-in.
The clusters DigitalOcean "creates" answer at the Kubernetes stand-in's address.
"""

from __future__ import annotations

import base64
import json

import pytest

import fakecharts
import platforms
from fakedo import ManualClock
from fakeplatform import FakePlatform
from kubectl_gitops.cli import main as cli_main

CONFIG = """\
apiVersion: gitops.kubectl.dev/v1alpha1
kind: Platform
name: shop
provider: digitalocean
region: fra1
domain: shop.example.com
registry:
  name: shop-images
  tier: basic
  credentials_expiry_seconds: 2592000
clusters:
  main:
    node_pool: {size: s-2vcpu-4gb, count: 2}
environments:
  dev: {cluster: main, namespace: shop-dev}
  prod: {cluster: main, namespace: shop}
gitops:
  repo: https://github.com/example/shop-gitops
applications:
  catalog:
    git: https://github.com/example/catalog
    hosts: {dev: catalog.dev.shop.example.com, prod: catalog.shop.example.com}
"""


@pytest.fixture
def account(fake_do_factory):
    fake = fake_do_factory(clock=ManualClock(auto_advance=30), durations={"cluster": 60.0, "node_pool": 60.0,
                                                                           "load_balancer": 20.0})
    fake.seed_domain("shop.example.com")
    return fake


@pytest.fixture
def env(tmp_path, monkeypatch, fake_kube, helm_bin, account):
    """The user's environment: token, HOME and caches in tmp_path, helm; clusters served by the stand-in."""
    platforms.in_process_env(monkeypatch, tmp_path / "home" / ".kube" / "config", tmp_path / "home", helm_bin)
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", account.token)
    account.set_kube_endpoint(fake_kube.url, token="kube-token-from-digitalocean")
    config = tmp_path / "gitops.yaml"
    config.write_text(CONFIG.replace("https://github.com/example/shop-gitops", "gitops.git"))
    platforms.bare_repo(config.parent / "gitops.git")
    return {"config": config, "kubeconfig": tmp_path / "home" / ".kube" / "config"}


def bootstrap(env, chart, *args):
    return cli_main._run(cli_main.cli, ["bootstrap", "--config", str(env["config"]), "--chart", str(chart),
                                        "--timeout", "120s", *args], "kubectl gitops")


@pytest.fixture(scope="module")
def chart(tmp_path_factory, shared_reference):
    return fakecharts.chart_with_dependencies(tmp_path_factory.mktemp("chart"), shared_reference)


def test_fresh_account_to_healthy_platform_and_a_noop_second_run(env, chart, account, fake_kube, shared_reference,
                                                                   capsys):
    controllers = FakePlatform(fake_kube, shared_reference, digitalocean=account).install()
    assert bootstrap(env, chart) == 0, capsys.readouterr().err
    out = capsys.readouterr()
    assert account.token not in out.out + out.err

    # the ingress controller adopts the load balancer DigitalOcean made for it
    lbs = account.account.load_balancers
    assert len(lbs) == 1
    service = fake_kube.get("services", "ingress-nginx-controller", "ingress-nginx")
    assert service["metadata"]["annotations"]["kubernetes.digitalocean.com/load-balancer-id"] == next(iter(lbs))

    # push credentials: read-write, in the CI namespace only, with their expiry recorded
    push = fake_kube.get("secrets", "registry-push", "ci")
    config_json = json.loads(base64.b64decode(push["data"][".dockerconfigjson"]))
    assert "registry.digitalocean.com" in config_json["auths"]
    assert "gitops.kubectl.dev/credentials-expire-at" in push["metadata"]["annotations"]
    assert [r for r in account.log if "docker-credentials" in r.path][0].query.get("read_write") == ["true"]

    # the kubeconfig holds the new context, private
    assert oct(env["kubeconfig"].stat().st_mode & 0o777) == "0o600"

    # DNS-01 through DigitalOcean: the token in a Secret of its own, cert-manager's namespace only
    dns = fake_kube.get("secrets", "digitalocean-dns", "cert-manager")
    assert base64.b64decode(dns["data"]["access-token"]).decode() == account.token
    assert_token_only_in_its_secret(fake_kube, env, account.token)
    issuer = fake_kube.get("clusterissuers.cert-manager.io", "letsencrypt-production")
    assert issuer["spec"]["acme"]["solvers"] == [{"dns01": {"digitalocean": {"tokenSecretRef": {
        "name": "digitalocean-dns", "key": "access-token"}}}}]

    controllers.settle()
    assert cli_main._run(cli_main.cli, ["status", "--config", str(env["config"]), "-o", "json"],
                         "kubectl gitops") == 0
    edge = json.loads(capsys.readouterr().out)["edge"]
    assert edge["address"] and edge["ready"]
    hosts = {h["host"]: h for h in edge["hosts"]}
    # the apps' hosts come with their first build or promotion (an overlay runs nothing before)
    assert {"argo.shop.example.com", "hooks.shop.example.com"} <= set(hosts), hosts
    assert all(h["url"].startswith("https://") and h["certificate"] == "Ready" for h in hosts.values()), hosts

    before = len(account.log)
    fake_kube.reset_counters()
    kubeconfig_before = env["kubeconfig"].read_bytes()
    assert bootstrap(env, chart, "-o", "json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["upToDate"] is True
    assert {r.method for r in account.log[before:]} == {"GET"}  # nothing created at DigitalOcean
    assert not [r for r in account.log[before:] if "docker-credentials" in r.path]  # no new registry token
    assert fake_kube.writes == 0, [(r.method, r.path) for r in fake_kube.requests if r.method not in ("GET",)]
    assert env["kubeconfig"].read_bytes() == kubeconfig_before
    assert controllers.errors == []


def test_gateway_edge_adopts_the_load_balancer_and_issues_with_lets_encrypt_staging(
        env, chart, account, fake_kube, shared_reference, capsys):
    env["config"].write_text(env["config"].read_text().replace(
        "applications:", "edge: gateway\ntls:\n  issuer: letsencrypt-staging\n  email: ops@shop.example.com\n"
        "applications:", 1))
    controllers = FakePlatform(fake_kube, shared_reference, digitalocean=account).install()
    assert bootstrap(env, chart) == 0, capsys.readouterr().err
    out = capsys.readouterr()
    assert account.token not in out.out + out.err
    # Envoy Gateway copies the Gateway's infrastructure annotations onto the Envoy Service: the same adoption
    (lb,) = account.account.load_balancers
    (service,) = [s for s in fake_kube.list("services", "envoy-gateway-system")
                  if s["spec"].get("type") == "LoadBalancer"]
    assert service["metadata"]["annotations"]["kubernetes.digitalocean.com/load-balancer-id"] == lb
    assert fake_kube.list("deployments", "ingress-nginx") == []
    assert_token_only_in_its_secret(fake_kube, env, account.token)
    issuer = fake_kube.get("clusterissuers.cert-manager.io", "letsencrypt-staging")
    assert issuer["spec"]["acme"]["email"] == "ops@shop.example.com"
    controllers.settle()
    assert cli_main._run(cli_main.cli, ["status", "--config", str(env["config"]), "-o", "json"],
                         "kubectl gitops") == 0
    edge = json.loads(capsys.readouterr().out)["edge"]
    assert edge["controller"] == "envoy-gateway (envoy-gateway-system)" and edge["ready"]
    assert {h["host"] for h in edge["hosts"]} >= {"argo.shop.example.com", "grpc.argo.shop.example.com",
                                                  "hooks.shop.example.com", "catalog.dev.shop.example.com",
                                                  "catalog.shop.example.com"}
    records = {r["name"] for r in account.account.records["shop.example.com"] if r["type"] == "A"}
    assert {"argo", "grpc.argo", "hooks"} <= records, records
    certificate = fake_kube.get("certificates.cert-manager.io", "argo-shop-example-com-tls", "envoy-gateway-system")
    assert certificate["spec"]["issuerRef"]["name"] == "letsencrypt-staging"

    before = len(account.log)
    fake_kube.reset_counters()
    assert bootstrap(env, chart, "-o", "json") == 0
    assert json.loads(capsys.readouterr().out)["upToDate"] is True
    assert {r.method for r in account.log[before:]} == {"GET"}
    assert fake_kube.writes == 0, [(r.method, r.path) for r in fake_kube.requests if r.method not in ("GET",)]
    assert controllers.errors == []


def assert_token_only_in_its_secret(kube, env, token: str) -> None:
    """The DigitalOcean token is in Secret cert-manager/digitalocean-dns and nowhere else: no other Secret or
    ConfigMap, no helm release (values and manifests, as helm stores them), no file of the GitOps repository."""
    import gzip
    import subprocess

    for kind in ("secrets", "configmaps"):
        for obj in kube.list(kind):
            if (obj["metadata"]["namespace"], obj["metadata"]["name"]) == ("cert-manager", "digitalocean-dns"):
                continue
            texts = [json.dumps(obj)]
            for key, value in (obj.get("data") or {}).items():
                raw = base64.b64decode(value) if kind == "secrets" else value.encode()
                texts.append(raw.decode(errors="replace"))
                if obj["metadata"]["name"].startswith("sh.helm.release.v1.") and key == "release":
                    texts.append(gzip.decompress(base64.b64decode(raw)).decode())  # base64(gzip(json)) again
            assert not [text for text in texts if token in text], (kind, obj["metadata"]["name"])
    repo = env["config"].parent / "gitops.git"
    found = subprocess.run(["git", "--git-dir", str(repo), "grep", "-l", token, "main"], capture_output=True,
                           text=True)
    assert found.returncode == 1 and not found.stdout, found.stdout


def test_no_token_is_one_line_and_changes_nothing(env, chart, account, monkeypatch, capsys):
    monkeypatch.delenv("DIGITALOCEAN_TOKEN")
    assert bootstrap(env, chart) == 2  # a config error
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: no DigitalOcean token")
    assert account.log == []


def test_invalid_token_is_reported_before_any_change(env, chart, account, monkeypatch, capsys):
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", "dop_v1_" + "0" * 64)
    assert bootstrap(env, chart) == 1
    err = capsys.readouterr().err
    assert "token" in err.lower() and "Traceback" not in err
    assert {r.method for r in account.log} <= {"GET"}
    assert not env["kubeconfig"].exists()


def test_existing_cluster_with_the_account_s_registry_gets_push_credentials_once(
        env, chart, account, fake_kube, shared_reference, monkeypatch, capsys):
    """A cluster bootstrapped as `existing` (say a DOKS cluster made by hand) that pushes to the account's
    registry: with a token around, the CI namespace gets read-write credentials, issued once."""
    controllers = FakePlatform(fake_kube, shared_reference).install()
    account.seed_registry("shop-images", tier="basic", region="fra1")
    config = env["config"].read_text().replace("provider: digitalocean", "provider: existing")
    config = config.replace("region: fra1\n", "").replace("    node_pool: {size: s-2vcpu-4gb, count: 2}\n",
                                                          "    context: fake\n")
    env["config"].write_text(config)
    monkeypatch.setenv("KUBECONFIG", str(fake_kube.kubeconfig))
    assert bootstrap(env, chart) == 0, capsys.readouterr().err
    push = fake_kube.get("secrets", "registry-push", "ci")
    assert push["type"] == "kubernetes.io/dockerconfigjson"
    issued = [r for r in account.log if "docker-credentials" in r.path]
    assert len(issued) == 1 and issued[0].query.get("read_write") == ["true"]
    assert bootstrap(env, chart) == 0
    assert len([r for r in account.log if "docker-credentials" in r.path]) == 1
    assert controllers.errors == []


def _set_edge(env, edge: str) -> None:
    text = env["config"].read_text()
    text = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("edge:"))
    env["config"].write_text(text.replace("applications:", f"edge: {edge}\napplications:", 1))


def _edge_services(kube, namespace: str) -> list[dict]:
    return [s for s in kube.list("services", namespace) if s["spec"].get("type") == "LoadBalancer"]


def _assert_owned_by(kube, account, controllers, namespace: str, lb_id: str) -> None:
    """Exactly one load balancer, ``lb_id``; the edge's Service in ``namespace`` owns it (adopted by id, not
    disowned, serving its IP) and the platform's A records point at that IP."""
    assert list(account.account.load_balancers) == [lb_id]
    ip = account.account.load_balancers[lb_id]["_ip"]
    (service,) = _edge_services(kube, namespace)
    annotations = service["metadata"]["annotations"]
    assert annotations["kubernetes.digitalocean.com/load-balancer-id"] == lb_id
    assert "service.kubernetes.io/do-loadbalancer-disown" not in annotations
    assert service["status"]["loadBalancer"]["ingress"] == [{"ip": ip}]
    records = {r["name"]: r["data"] for r in account.account.records["shop.example.com"] if r["type"] == "A"}
    assert {"argo", "hooks"} <= set(records) and set(records.values()) == {ip}, records
    assert controllers.ccm.conflicts == [] and controllers.ccm.events == []
    assert controllers.errors == []


def _platform_changes(out: str) -> dict[str, dict]:
    phases = json.loads(out)["phases"]
    return {c["name"]: c for c in next(p for p in phases if p["name"] == "platform")["changes"]}


def test_switching_to_the_gateway_keeps_the_load_balancer(env, chart, account, fake_kube, shared_reference, capsys):
    """ingress-nginx -> gateway by a re-run: DigitalOcean's cloud controller (stand-in) would delete the load
    balancer with ingress-nginx's Service; bootstrap disowns that Service first, so the account keeps its one
    load balancer, same id and IP, and the Envoy Service owns it."""
    controllers = FakePlatform(fake_kube, shared_reference, digitalocean=account).install()
    assert bootstrap(env, chart) == 0, capsys.readouterr().err
    capsys.readouterr()
    (lb_id,) = account.account.load_balancers
    _assert_owned_by(fake_kube, account, controllers, "ingress-nginx", lb_id)

    _set_edge(env, "gateway")
    assert bootstrap(env, chart, "-o", "json") == 0, capsys.readouterr().err
    disowned = _platform_changes(capsys.readouterr().out)["ingress-nginx/ingress-nginx-controller"]
    assert disowned["action"] == "updated" and "disowned" in disowned["detail"] and lb_id in disowned["detail"]
    controllers.settle()
    assert _edge_services(fake_kube, "ingress-nginx") == [], "the retired edge's Service is gone"
    _assert_owned_by(fake_kube, account, controllers, "envoy-gateway-system", lb_id)
    assert not [call for call in controllers.ccm.calls if call[0] in ("DELETE", "POST")]

    before = len(account.log)
    fake_kube.reset_counters()
    assert bootstrap(env, chart, "-o", "json") == 0
    assert json.loads(capsys.readouterr().out)["upToDate"] is True
    assert {r.method for r in account.log[before:]} == {"GET"}
    assert fake_kube.writes == 0, [(r.method, r.path) for r in fake_kube.requests if r.method not in ("GET",)]


def test_switching_back_to_ingress_nginx_keeps_the_load_balancer(env, chart, account, fake_kube, shared_reference,
                                                                 capsys):
    """gateway -> ingress-nginx by a re-run: the Envoy Service is disowned before the platform release, the
    ingress-nginx Service adopts the same load balancer by id."""
    _set_edge(env, "gateway")
    controllers = FakePlatform(fake_kube, shared_reference, digitalocean=account).install()
    assert bootstrap(env, chart) == 0, capsys.readouterr().err
    capsys.readouterr()
    controllers.settle()
    (lb_id,) = account.account.load_balancers
    _assert_owned_by(fake_kube, account, controllers, "envoy-gateway-system", lb_id)

    _set_edge(env, "ingress-nginx")
    code = bootstrap(env, chart, "-o", "json")
    out = capsys.readouterr()
    controllers.settle()
    assert code == 0, out.err
    changes = _platform_changes(out.out)
    assert "disowned: removing it keeps load balancer" in out.err
    assert [s for s in _edge_services(fake_kube, "envoy-gateway-system")
            if "service.kubernetes.io/do-loadbalancer-disown" not in s["metadata"]["annotations"]] == [], \
        "an Envoy Service that is left behind no longer owns the load balancer"
    _assert_owned_by(fake_kube, account, controllers, "ingress-nginx", lb_id)
    assert not [call for call in controllers.ccm.calls if call[0] in ("DELETE", "POST")]
    # the Gateway API CRDs stay (deleting them would delete every Gateway object in the cluster), the platform's
    # Gateway objects are gone with the gitops release's upgrade
    assert changes["gateways.gateway.networking.k8s.io"]["detail"].startswith("kept")
    assert fake_kube.get("customresourcedefinitions.apiextensions.k8s.io", "httproutes.gateway.networking.k8s.io")
    assert fake_kube.list("gateways.gateway.networking.k8s.io") == []
    # Envoy Gateway, removed before the gitops release deleted the GatewayClass, could not take its finalizer off
    assert fake_kube.list("gatewayclasses.gateway.networking.k8s.io") == []
    handover = {c["name"]: c for p in json.loads(out.out)["phases"] for c in p["changes"] if p["name"] == "handover"}
    assert "envoy-gateway" in handover, list(handover)
    assert handover["envoy-gateway"]["detail"].startswith("Envoy Gateway's finalizer taken off")
    assert fake_kube.list("deployments", "envoy-gateway-system") == [] or all(
        d["metadata"]["name"] != "envoy-gateway" for d in fake_kube.list("deployments", "envoy-gateway-system"))
    assert any("disowned" in c["detail"] for name, c in changes.items() if name.startswith("envoy-gateway-system/"))
