"""The DigitalOcean adapter against the stand-in: real pydo over HTTP, every request checked by the spec.

Errors leave the adapter once, as typed one-line errors naming DigitalOcean's message and what
to do; 429 and 5xx are retried within bounds; creates whose answer was lost are not sent twice.
"""

from __future__ import annotations

import base64
import json
import time

import pytest

from fakedo.scenarios import PauseRecorder, fast_api
from kubectl_gitops.adapters.digitalocean import DigitalOcean, RetryPolicy, endpoint_from
from kubectl_gitops.core.errors import (
    CloudAuthError,
    CloudNotFound,
    CloudPermissionError,
    CloudRateLimited,
    CloudRejected,
    CloudServerError,
    CloudUnreachable,
    UsageError,
)
from kubectl_gitops.core.infra import DesiredCluster, DesiredLoadBalancer, DesiredPool
from kubectl_gitops.core.secrets import Secret

LB = DesiredLoadBalancer("dev", "shop-dev-ingress", "fra1")
CLUSTER = DesiredCluster("dev", "shop-dev", "fra1", "1.34.1-do.0",
                         DesiredPool("dev-nodes", "s-2vcpu-4gb", 2, False, 0, 0), ("kubectl-gitops:shop",))


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_account_and_options(fake_do):
    api = fast_api(fake_do)
    assert api.account()["status"] == "active"
    options = api.options()
    assert "fra1" in options.regions and "s-2vcpu-4gb" in options.sizes
    assert ("1.34.1-do.0", "1.34.1") in options.versions and "fra1" in options.registry_regions
    assert [r.status for r in fake_do.log] == [200, 200, 200]


def test_repr_and_errors_never_show_the_token(fake_do):
    sentinel = "dop_v1_" + "5e" * 32
    api = DigitalOcean(Secret(sentinel), retry=RetryPolicy(sleep=PauseRecorder()))
    assert sentinel not in repr(api) and sentinel not in repr(api.__dict__)
    with pytest.raises(CloudAuthError) as err:
        api.account()
    assert sentinel not in str(err.value) and sentinel not in repr(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__


@pytest.mark.parametrize(("status", "error", "words"), [
    (401, CloudAuthError, ["did not accept the token", "create one at"]),
    (403, CloudPermissionError, ["may not do this", "write scope"]),
    (404, CloudNotFound, ["found nothing", "re-run"]),
    (422, CloudRejected, ["rejected", "fix what DigitalOcean names"]),
    (409, CloudRejected, ["rejected", "conflicts"]),
])
def test_client_errors_are_one_line_with_digitalocean_s_message(fake_do, status, error, words):
    api = fast_api(fake_do)
    fake_do.fail_next("POST", "/v2/load_balancers", status, message=f"the injected reason {status}")
    with pytest.raises(error) as err:
        api.create_load_balancer(LB)
    text = one_line(err.value)
    assert f"the injected reason {status} ({status}" in text and "load balancer shop-dev-ingress" in text
    for word in words:
        assert word in text
    assert err.value.status == status and err.value.request_id
    assert api.retry.sleep.pauses == []  # not retried
    assert len(fake_do.calls("POST", "/v2/load_balancers")) == 1


def test_read_only_token_is_told_to_use_write_scope(fake_do_factory):
    fake = fake_do_factory(read_only_tokens=("dop_v1_readonly",))
    api = fast_api(fake, "dop_v1_readonly")
    assert api.account()["status"] == "active"
    with pytest.raises(CloudPermissionError) as err:
        api.create_tag("kubectl-gitops:shop")
    assert "write scope" in str(err.value)


def test_429_waits_as_retry_after_says_then_succeeds(fake_do):
    api = fast_api(fake_do)
    fake_do.fail_next("GET", "/v2/account", 429, retry_after=7, times=2)
    assert api.account()["status"] == "active"
    assert api.retry.sleep.pauses == [7.0, 7.0]
    assert [c.status for c in fake_do.calls("GET", "/v2/account")] == [429, 429, 200]


def test_429_without_retry_after_waits_until_ratelimit_reset(fake_do):
    api = fast_api(fake_do)
    reset = str(int(time.time()) + 30)
    fake_do.fail_next("GET", "/v2/account", 429, headers={"ratelimit-reset": reset, "Retry-After": ""}, times=1)
    # An empty Retry-After is not a number: the reset time decides.
    api.account()
    (pause,) = api.retry.sleep.pauses
    assert 25 <= pause <= 31


def test_429_retries_are_bounded(fake_do):
    api = fast_api(fake_do, attempts=3)
    fake_do.fail_next("GET", "/v2/registry", 429, retry_after=1, times=10)
    with pytest.raises(CloudRateLimited) as err:
        api.registry()
    assert "rate limit" in one_line(err.value) and "re-run" in str(err.value)
    assert len(fake_do.calls("GET", "/v2/registry")) == 3 and api.retry.sleep.pauses == [1.0, 1.0]


def test_429_asking_for_too_long_a_wait_fails_at_once(fake_do):
    api = fast_api(fake_do)
    fake_do.fail_next("GET", "/v2/registry", 429, retry_after=3600)
    with pytest.raises(CloudRateLimited):
        api.registry()
    assert api.retry.sleep.pauses == []


def test_5xx_is_retried_with_backoff(fake_do):
    api = fast_api(fake_do)
    fake_do.fail_next("GET", "/v2/kubernetes/clusters", 500, times=2)
    assert api.clusters() == []
    assert api.retry.sleep.pauses == [0.5, 1.0]


def test_5xx_that_persists_is_one_line(fake_do):
    api = fast_api(fake_do)
    fake_do.fail_next("GET", "/v2/kubernetes/clusters", 503, times=10)
    with pytest.raises(CloudServerError) as err:
        api.clusters()
    assert "(4 tries)" in one_line(err.value) and "status.digitalocean.com" in str(err.value)
    assert api.retry.sleep.pauses == [0.5, 1.0, 2.0]


def test_connection_refused_is_one_line(fake_do):
    api = fast_api(fake_do)
    fake_do.refuse_next(None, r"/v2/.*", times=10)
    with pytest.raises(CloudUnreachable) as err:
        api.account()
    text = one_line(err.value)
    assert "cannot reach the DigitalOcean API at https://api.digitalocean.com" in text
    assert "connection refused" in text and "check the network" in text


def test_other_endpoint_from_the_environment(fake_do):
    endpoint = endpoint_from({"DIGITALOCEAN_API_URL": "https://127.0.0.1:9/"})
    assert endpoint == "https://127.0.0.1:9" and endpoint_from({}) is None
    api = DigitalOcean(Secret(fake_do.token), endpoint=endpoint, retry=RetryPolicy(attempts=1))
    with pytest.raises(CloudUnreachable) as err:
        api.account()
    assert "https://127.0.0.1:9" in str(err.value) and "Connection refused" in str(err.value)
    assert fake_do.log == []  # nothing went to the default endpoint
    with pytest.raises(UsageError, match="not an https:// URL"):
        endpoint_from({"DIGITALOCEAN_API_URL": "http://127.0.0.1:9"})


def test_create_whose_answer_was_lost_is_not_sent_twice(fake_do):
    api = fast_api(fake_do)
    fake_do.crash_after_writes(1, lose_response=True)
    with pytest.raises(CloudUnreachable):
        api.create_load_balancer(LB)  # the lookup after the lost answer cannot connect either
    fake_do.clear_failures()
    assert [lb.name for lb in api.load_balancers()] == ["shop-dev-ingress"]


def test_lost_answer_recovered_by_lookup(fake_do):
    api = fast_api(fake_do)
    fake_do.lose_next("POST", "/v2/load_balancers")  # created, but the answer never arrives
    lb = api.create_load_balancer(LB)
    assert lb.name == "shop-dev-ingress"
    assert [c.status for c in fake_do.calls("POST", "/v2/load_balancers")] == ["connection-error"]
    assert len(fake_do.account.load_balancers) == 1


def test_lost_answer_of_a_record_create_is_recovered(fake_do):
    api = fast_api(fake_do)
    fake_do.seed_domain("shop.example.com")
    fake_do.lose_next("POST", "/v2/domains/{domain_name}/records")
    record = api.create_a_record("shop.example.com", "argo", "192.0.2.10")
    assert (record.type, record.name, record.data) == ("A", "argo", "192.0.2.10")
    assert [r.name for r in api.records("shop.example.com") if r.type == "A"] == ["argo"]


def test_5xx_on_create_looks_before_resending(fake_do):
    api = fast_api(fake_do)
    fake_do.fail_next("POST", "/v2/kubernetes/clusters", 500)
    cluster = api.create_cluster(CLUSTER)
    assert cluster.name == "shop-dev" and len(fake_do.account.clusters) == 1
    assert [c.status for c in fake_do.calls("POST", "/v2/kubernetes/clusters")] == [500, 201]
    assert fake_do.calls("GET", "/v2/kubernetes/clusters")  # looked it up before resending


def test_registry_name_check_and_taken_name(fake_do):
    api = fast_api(fake_do)
    fake_do.reserve_registry_name("taken-elsewhere")
    assert api.registry_name_available("shop-images") is True
    assert api.registry_name_available("taken-elsewhere") is False
    with pytest.raises(CloudRejected) as err:
        api.create_registry("taken-elsewhere", "basic", "fra1")
    assert "choose another registry.name" in str(err.value)
    assert api.registry() is None


def test_docker_credentials_are_read_write_and_secret(fake_do):
    api = fast_api(fake_do)
    fake_do.seed_registry("shop-images")
    creds = api.docker_credentials(read_write=True, expiry_seconds=600)
    assert isinstance(creds, Secret) and "dop_v1_rw" not in repr(creds)
    (issued,) = fake_do.account.issued_registry_credentials
    assert issued["read_write"] is True and issued["expiry_seconds"] == 600
    auth = base64.b64decode(json.loads(creds.reveal())["auths"]["registry.digitalocean.com"]["auth"]).decode()
    assert auth == f"{issued['token']}:{issued['token']}"
    (call,) = fake_do.calls("GET", "/v2/registry/docker-credentials")
    assert call.query == {"expiry_seconds": ["600"], "read_write": ["true"]}


def test_cluster_credentials_become_kubeconfig_credentials(fake_do):
    api = fast_api(fake_do)
    cid = fake_do.seed_cluster("shop-dev", tags=["kubectl-gitops:shop"])
    fake_do.set_kube_endpoint("https://127.0.0.1:6443", token="cluster-token")
    before = time.time()
    creds = api.cluster_credentials(api.cluster(cid), context="do-fra1-shop-dev", platform="shop", key="dev")
    assert creds.server == "https://127.0.0.1:6443" and creds.token.reveal() == "cluster-token"
    assert creds.cluster_id == cid and creds.expires_at >= before + 7 * 24 * 3600 - 1
    assert "cluster-token" not in repr(creds)


def test_delete_of_something_gone_is_not_an_error(fake_do):
    api = fast_api(fake_do)
    lb = api.create_load_balancer(LB)
    assert api.delete_load_balancer(lb) is True
    assert api.delete_load_balancer(lb) is False
    assert api.delete_tag("kubectl-gitops:nothing") is False
