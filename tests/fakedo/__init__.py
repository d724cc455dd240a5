"""An in-process stand-in for the DigitalOcean API, checked against DigitalOcean's OpenAPI spec.

The real ``pydo.Client`` talks to it through its default endpoint and ``requests`` transport;
the ``responses`` library hands every request for ``https://api.digitalocean.com`` to
``FakeDigitalOcean``. See ``fakedo.fixtures`` for the pytest fixtures.

Where it differs from the real API (known gaps): token scopes are modelled only as a full-access
token plus optional read-only tokens; droplets, volumes and projects exist only as ids that
clusters, tags and load balancers refer to; registry repositories, garbage collection,
cluster upgrades, clusterlint and load balancer droplet/forwarding-rule sub-resources are not
served (such requests fail the test as unimplemented, they never pass through). The registry
name check (``POST /v2/registry/validate-name``) treats a name as taken when this account owns it
or a test reserved it (``reserve_registry_name``); a deleted registry's name stays taken.
``fakedo.scenarios`` holds platforms and account snapshots for the infrastructure workflow tests.
"""

from .account import ERROR_IDS, KUBERNETES_VERSIONS, REGISTRY_TIERS, ApiError
from .clock import ManualClock, RealClock
from .server import DEFAULT_TOKEN, FakeDigitalOcean, LoggedRequest, UnhandledRoute, fake_digitalocean
from .spec import SpecChecker, SpecViolation, load_spec

__all__ = [
    "DEFAULT_TOKEN",
    "ERROR_IDS",
    "KUBERNETES_VERSIONS",
    "REGISTRY_TIERS",
    "ApiError",
    "FakeDigitalOcean",
    "LoggedRequest",
    "ManualClock",
    "RealClock",
    "SpecChecker",
    "SpecViolation",
    "UnhandledRoute",
    "fake_digitalocean",
    "load_spec",
]
