"""pytest fixtures for the DigitalOcean stand-in.

Use them with ``from fakedo.fixtures import *`` (in ``conftest.py`` or a test module). They rely
on the ``shared_reference`` fixture from ``tests/conftest.py`` for the spec's location.

- ``do_spec`` (session): the parsed spec checker, loaded once per process.
- ``fake_do``: a started ``FakeDigitalOcean`` with a ``ManualClock``; ``fake_do.client()`` gives a
  real ``pydo.Client``. Teardown fails the test if any request broke the spec (or hit a route the
  fake does not serve) and the test did not collect them with ``fake_do.take_violations()``.
- ``fake_do_factory``: call it with ``FakeDigitalOcean`` keyword arguments (``latencies=...``,
  ``clock=...``, ``token=...``) for a differently configured account; same teardown check.
- ``do_client``: ``fake_do.client(retry_total=0)``, a client that surfaces errors at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .server import FakeDigitalOcean
from .spec import SPEC_FILE_NAME, SpecChecker, load_spec

__all__ = ["do_spec", "fake_do", "fake_do_factory", "do_client"]


@pytest.fixture(scope="session")
def do_spec(shared_reference) -> SpecChecker:
    path = shared_reference / SPEC_FILE_NAME
    if not path.is_file():
        import os

        from tools import DO_SPEC_HOWTO

        reason = f"{path} is missing: " + DO_SPEC_HOWTO.format(dest=shared_reference)
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason)
        pytest.skip(reason)
    return load_spec(path)


def _finish(fake: FakeDigitalOcean) -> None:
    fake.stop()
    leftover = fake.take_violations()
    if leftover:
        pytest.fail(
            "DigitalOcean stand-in saw requests the API would not accept:\n" + "\n".join(leftover),
            pytrace=False,
        )


@pytest.fixture
def fake_do_factory(do_spec) -> Iterator[Callable[..., FakeDigitalOcean]]:
    made: list[FakeDigitalOcean] = []

    def make(**kwargs: Any) -> FakeDigitalOcean:
        if made:
            made[-1].stop()
        fake = FakeDigitalOcean(do_spec, **kwargs).start()
        made.append(fake)
        return fake

    yield make
    for fake in made:
        _finish(fake)


@pytest.fixture
def fake_do(fake_do_factory) -> FakeDigitalOcean:
    return fake_do_factory()


@pytest.fixture
def do_client(fake_do):
    return fake_do.client(retry_total=0)
