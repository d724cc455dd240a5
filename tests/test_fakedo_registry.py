"""Container registry endpoints of the DigitalOcean stand-in."""

from __future__ import annotations

import base64

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from fakedo.fixtures import *  # noqa: F403  (until tests/conftest.py imports them)


def _token(creds: dict) -> str:
    auth = base64.b64decode(creds["auths"]["registry.digitalocean.com"]["auth"]).decode()
    user, _, password = auth.partition(":")
    assert user == password
    return password


def test_registry_create_get_delete(do_client):
    created = do_client.registry.create({"name": "acme", "subscription_tier_slug": "starter", "region": "fra1"})
    assert created["registry"]["name"] == "acme"
    assert created["registry"]["subscription"]["tier"]["included_repositories"] == 1
    assert do_client.registry.get()["registry"]["region"] == "fra1"
    with pytest.raises(HttpResponseError) as err:
        do_client.registry.create({"name": "second", "subscription_tier_slug": "basic"})
    assert err.value.status_code == 409
    do_client.registry.delete()
    with pytest.raises(ResourceNotFoundError) as err:
        do_client.registry.get()
    assert err.value.response.json()["id"] == "not_found"


def test_bad_registry_name_is_422(do_client):
    # The spec's pattern allows leading dashes; the API itself refuses them.
    with pytest.raises(HttpResponseError) as err:
        do_client.registry.create({"name": "-acme-", "subscription_tier_slug": "basic"})
    assert err.value.status_code == 422


def test_subscription_tiers_and_options(fake_do, do_client):
    fake_do.seed_registry("acme", tier="starter")
    assert do_client.registry.get_subscription()["subscription"]["tier"]["slug"] == "starter"
    options = do_client.registry.get_options()["options"]
    assert {t["slug"] for t in options["subscription_tiers"]} == {"starter", "basic", "professional"}
    assert "fra1" in options["available_regions"]
    upgraded = do_client.registry.update_subscription({"tier_slug": "basic"})["subscription"]
    assert upgraded["tier"]["included_repositories"] == 5


def test_docker_credentials_read_only_and_read_write_differ(fake_do, do_client):
    fake_do.seed_registry("acme")
    ro = _token(do_client.registry.get_docker_credentials(expiry_seconds=3600))
    rw = _token(do_client.registry.get_docker_credentials(read_write=True, expiry_seconds=600))
    assert ro != rw
    issued = fake_do.account.issued_registry_credentials
    assert [(c["read_write"], c["expiry_seconds"]) for c in issued] == [(False, 3600), (True, 600)]
    assert issued[1]["token"] == rw
    assert fake_do.calls("GET", "/v2/registry/docker-credentials")[1].query == {
        "expiry_seconds": ["600"],
        "read_write": ["true"],
    }
