"""DigitalOcean failing in each way during provisioning: one typed error in one line, no secret in
it, and a re-run that finishes the job without creating anything twice."""

from __future__ import annotations

import pytest

from fakedo import ManualClock
from fakedo.scenarios import fast_api, inventory, load_platform, platform_yaml
from kubectl_gitops.core.errors import (
    CloudAuthError,
    CloudNotFound,
    CloudPermissionError,
    CloudRateLimited,
    CloudRejected,
    CloudServerError,
    CloudUnreachable,
)
from kubectl_gitops.core.progress import Reporter
from kubectl_gitops.core.secrets import Secret
from kubectl_gitops.workflows import infra

DURATIONS = {"cluster": 120.0, "node_pool": 120.0, "load_balancer": 40.0}

CASES = [
    ("401", "GET", "/v2/account", 401, CloudAuthError, "did not accept the token"),
    ("403", "POST", "/v2/kubernetes/clusters", 403, CloudPermissionError, "write scope"),
    ("404", "POST", "/v2/kubernetes/registry", 404, CloudNotFound, "connecting the registry to the clusters"),
    ("422", "POST", "/v2/load_balancers", 422, CloudRejected, "region fra1 has no capacity"),
    ("429", "GET", "/v2/kubernetes/clusters/{cluster_id}", 429, CloudRateLimited, "rate limit"),
    ("500", "POST", "/v2/domains/{domain_name}/records", 500, CloudServerError, "failed on its side"),
    ("refused", "GET", "/v2/load_balancers/{lb_id}", None, CloudUnreachable, "connection refused"),
]


@pytest.fixture
def account(fake_do_factory):
    fake = fake_do_factory(clock=ManualClock(auto_advance=10), durations=DURATIONS)
    fake.seed_domain("shop.example.com")
    return fake


def provision(fake, config, tmp_path):
    return infra.provision(config, token=Secret(fake.token), kubeconfig=str(tmp_path / "kubeconfig"), timeout=60,
                           reporter=Reporter(), api=fast_api(fake), poll_interval=0.001)


@pytest.mark.parametrize(("case", "method", "path", "status", "error", "words"), CASES, ids=[c[0] for c in CASES])
def test_failure_then_re_run(account, tmp_path, case, method, path, status, error, words):
    config = load_platform(platform_yaml(), tmp_path)
    if status is None:
        account.refuse_next(method, path, times=100)
    else:
        account.fail_next(method, path, status, times=100, retry_after=0,
                          message="region fra1 has no capacity" if status == 422 else None)
    with pytest.raises(error) as err:
        provision(account, config, tmp_path)
    text = str(err.value)
    assert "\n" not in text and words in text and account.token not in text
    assert err.value.__cause__ is None  # the pydo/azure exception is not chained into the output

    account.clear_failures()
    provision(account, config, tmp_path)
    state = inventory(account)
    assert {c["count"] for c in state["clusters"].values()} == {1} and len(state["clusters"]) == 2
    assert state["load_balancers"] == {"shop-dev-ingress@fra1": 1, "shop-prod-ingress@fra1": 1}
    assert len(state["records"]["shop.example.com"]) == 6


def test_transient_failures_are_absorbed(account, tmp_path):
    config = load_platform(platform_yaml(), tmp_path)
    account.fail_next("POST", "/v2/load_balancers", 503)
    account.fail_next("GET", "/v2/kubernetes/clusters", 429, retry_after=2)
    account.refuse_next("POST", "/v2/domains/{domain_name}/records")
    api = fast_api(account)
    infra.provision(config, token=Secret(account.token), kubeconfig=str(tmp_path / "kubeconfig"), timeout=60,
                    reporter=Reporter(), api=api, poll_interval=0.001)
    assert sorted(api.retry.sleep.pauses) == [0.5, 0.5, 2.0]
    assert inventory(account)["load_balancers"] == {"shop-dev-ingress@fra1": 1, "shop-prod-ingress@fra1": 1}
