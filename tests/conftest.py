"""Shared fixtures. Stand-ins live in their own packages beside this file.

Two kinds of things the tests need from outside the checkout:
- the pinned helm and kubectl binaries (``python tests/tools.py`` installs them);
- ``../shared/reference`` (DigitalOcean's OpenAPI spec, upstream CRDs).
Under CI (``CI=true``) a missing one fails the test; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import tools

REPO_ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# `kubectl gitops status` looks the platform's hosts up in DNS unless told not to: tests never resolve anything
os.environ["GITOPS_NO_DNS"] = "1"


def pytest_addoption(parser):
    parser.addoption(
        "--real-kubeconfig", default=os.environ.get("GITOPS_REAL_KUBECONFIG"), metavar="PATH",
        help="run the real_cluster tests against the cluster of this kubeconfig (env GITOPS_REAL_KUBECONFIG); "
             "they install the platform there",
    )
    parser.addoption(
        "--real-context", default=os.environ.get("GITOPS_REAL_CONTEXT"), metavar="NAME",
        help="kube context for the real_cluster tests (default: the kubeconfig's current context)",
    )
    parser.addoption(
        "--real-image", default=os.environ.get("GITOPS_REAL_IMAGE"), metavar="IMAGE@DIGEST",
        help="an image by digest the real cluster can pull and that serves HTTP on port 80 (env GITOPS_REAL_IMAGE, "
             "e.g. docker.io/library/nginx@sha256:...): the real-cluster promote test deploys it as an app",
    )
    parser.addoption(
        "--real-gitops-repo", default=os.environ.get("GITOPS_REAL_REPO"), metavar="URL",
        help="GitOps repository the real_cluster tests bootstrap into (env GITOPS_REAL_REPO; a throw-away "
             "repository the cluster's Argo CD can reach; token from GITOPS_GIT_TOKEN for https)",
    )


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def real_kubeconfig(request) -> tuple[Path, str | None]:
    """(kubeconfig, context) of a real cluster given with --real-kubeconfig; skips the test otherwise."""
    path = request.config.getoption("--real-kubeconfig")
    if not path:
        pytest.skip("no real cluster: pass --real-kubeconfig PATH (or set GITOPS_REAL_KUBECONFIG) to run this")
    return Path(path).expanduser(), request.config.getoption("--real-context")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


REFERENCE_MISSING = ("reference data not found (GITOPS_SHARED_REFERENCE, ../shared/reference, or the cache): "
                     "run `python tests/tools.py --reference` to fetch it (needs internet)")


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    """The upstream reference data: ``GITOPS_SHARED_REFERENCE``, ``../shared/reference`` or the cache
    ``python tests/tools.py --reference`` fills (:func:`tools.find_reference`)."""
    path = tools.find_reference()
    if path is None:
        _missing(REFERENCE_MISSING)
    return path


def _tool(name: str) -> Path:
    path = tools.binary(name)
    if path is None:
        _missing(f"{name} is not installed: run `python tests/tools.py`")
    return path


@pytest.fixture(scope="session")
def helm_bin() -> Path:
    """Real helm 4."""
    return _tool("helm")


@pytest.fixture(scope="session")
def helm3_bin() -> Path:
    """Real helm 3.19."""
    return _tool("helm3")


@pytest.fixture(scope="session")
def kubectl_bin() -> Path:
    """Real kubectl."""
    return _tool("kubectl")


@pytest.fixture(scope="session", params=["helm", "helm3"])
def any_helm(request) -> Path:
    """Each pinned helm in turn (Helm 4 and Helm 3.19)."""
    return _tool(request.param)


from fakedo.fixtures import *  # noqa: E402,F403 - the DigitalOcean API stand-in's fixtures
from fakekube.fixtures import *  # noqa: E402,F403 - the Kubernetes API stand-in's fixtures


@pytest.fixture
def git_host(tmp_path):
    """A :class:`fakegit.FakeGitHost` serving bare repositories from ``tmp_path / "git-host"`` (no token)."""
    from fakegit import FakeGitHost

    host = FakeGitHost(tmp_path / "git-host").start()
    yield host
    host.stop()
