"""A crash after each step of provisioning, then a re-run: the same end state and nothing twice.

The stand-in plays a client that dies right after its n-th successful write (with or without the
answer of that write reaching the client): from then on nothing more reaches the account. The
re-run talks to the account as it was left and must finish the job without a duplicate.
"""

from __future__ import annotations

import pytest

from fakedo import ManualClock
from fakedo.scenarios import fast_api, inventory, load_platform, platform_yaml
from kubectl_gitops.core import kubeconfig as kc
from kubectl_gitops.core.errors import CloudUnreachable
from kubectl_gitops.core.progress import Reporter
from kubectl_gitops.core.secrets import Secret
from kubectl_gitops.workflows import infra

# tag, registry, 2 clusters, 2 load balancers, 6 DNS records, registry integration
WRITES = 13
DURATIONS = {"cluster": 120.0, "node_pool": 120.0, "load_balancer": 40.0}


def fresh(factory):
    fake = factory(clock=ManualClock(auto_advance=10), durations=DURATIONS)
    fake.seed_domain("shop.example.com")
    return fake


def provision(fake, config, kubeconfig):
    return infra.provision(config, token=Secret(fake.token), kubeconfig=str(kubeconfig), timeout=60,
                           reporter=Reporter(), api=fast_api(fake), poll_interval=0.001)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, do_spec):
    """The end state of an uninterrupted run (its own account)."""
    from fakedo import FakeDigitalOcean

    tmp = tmp_path_factory.mktemp("reference")
    config = load_platform(platform_yaml(), tmp)
    with FakeDigitalOcean(do_spec, clock=ManualClock(auto_advance=10), durations=DURATIONS) as fake:
        fake.seed_domain("shop.example.com")
        provision(fake, config, tmp / "kubeconfig")
        assert fake.take_violations() == []
        return inventory(fake), fake.writes


def test_an_uninterrupted_run_makes_every_write_once(reference):
    state, count = reference
    assert count == WRITES
    assert all(c["count"] == 1 for c in state["clusters"].values())
    assert set(state["load_balancers"].values()) == {1}


@pytest.mark.parametrize("lose_response", [False, True], ids=["answered", "answer-lost"])
@pytest.mark.parametrize("after", range(1, WRITES + 1))
def test_crash_then_re_run(fake_do_factory, tmp_path, reference, after, lose_response):
    fake = fresh(fake_do_factory)
    config = load_platform(platform_yaml(), tmp_path)
    kubeconfig = tmp_path / "kubeconfig"
    fake.crash_after_writes(after, lose_response=lose_response)
    try:
        provision(fake, config, kubeconfig)
    except CloudUnreachable:
        assert fake.log[-1].status == "connection-error"
    else:  # only the last write can be the last request of a run
        assert after == WRITES and not lose_response
    assert fake.crashed
    # requests already in flight when the client died may still land; nothing sent later does
    assert after <= fake.writes <= WRITES

    fake.clear_failures()
    result = provision(fake, config, kubeconfig)

    assert inventory(fake) == reference[0]
    assert fake.writes == WRITES  # every write exactly once over both runs
    doc = kc.loads(kubeconfig.read_text(), source="kubeconfig")
    assert sorted(kc.owned_contexts(doc, "shop")) == ["do-fra1-shop-dev", "do-fra1-shop-prod"]
    for key, access in result.clusters.items():
        assert fake.account.clusters[access.cluster_id]["name"] == f"shop-{key}"
        assert fake.account.load_balancers[access.load_balancer_id]["name"] == f"shop-{key}-ingress"
