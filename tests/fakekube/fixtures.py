"""pytest fixtures for the Kubernetes API stand-in; load with ``from fakekube.fixtures import *``.

- ``fake_kube``: a started :class:`fakekube.FakeKube` (function scope) with a kubeconfig written to
  ``tmp_path / "kubeconfig"`` (``fake_kube.kubeconfig``), context ``fake`` (``fake_kube.context``),
  default namespace ``default``; stopped at teardown.
- ``kube_env``: an environment dict for subprocesses: ``KUBECONFIG`` set, ``HOME`` and the XDG/helm
  directories inside ``tmp_path`` so nothing touches the user's ~/.kube or helm caches.
- ``kube_client``: a ``kubernetes.client.ApiClient`` configured from that kubeconfig (closed at teardown).
- ``run_tool``: ``run_tool(binary, *args, check=True, timeout=60, input=None)`` runs a binary with
  ``kube_env`` and returns the CompletedProcess (text mode); fails the test with the output if
  ``check`` and the exit code is not 0.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from .server import FakeKube

__all__ = ["fake_kube", "kube_env", "kube_client", "run_tool", "make_kube_env"]


def make_kube_env(kubeconfig, home) -> dict:
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "HELM_", "XDG_"))}
    env.update(
        KUBECONFIG=str(kubeconfig),
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        HELM_CACHE_HOME=str(home / ".cache" / "helm"),
        HELM_CONFIG_HOME=str(home / ".config" / "helm"),
        HELM_DATA_HOME=str(home / ".local" / "share" / "helm"),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        env.pop(key, None)
    return env


@pytest.fixture
def fake_kube(tmp_path):
    kube = FakeKube().start()
    try:
        kube.write_kubeconfig(tmp_path / "kubeconfig")
        yield kube
    finally:
        kube.stop()


@pytest.fixture
def kube_env(fake_kube, tmp_path) -> dict:
    return make_kube_env(fake_kube.kubeconfig, tmp_path / "home")


@pytest.fixture
def kube_client(fake_kube):
    from kubernetes import config

    client = config.new_client_from_config(config_file=str(fake_kube.kubeconfig), context=fake_kube.context)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def run_tool(kube_env, tmp_path):
    def run(binary, *args, check=True, timeout=60, input=None):
        proc = subprocess.run(
            [str(binary), *map(str, args)],
            env=kube_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )
        if check and proc.returncode != 0:
            pytest.fail(
                f"{binary} {' '.join(map(str, args))} exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc

    return run
