"""Property-based: generated gitops.yaml documents, flags and kubeconfigs thrown at the real executable
(`validate`, `bootstrap --dry-run`, `status`). Whatever comes in: exit 0, 1 or 2, no traceback, no internal
error, and memory stays bounded (each run gets 1 GiB of address space; running out is an internal error).

Example counts are small and the search is derandomized, so CI sees the same examples every run."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_first_hour import _limit_memory

BIN = Path(sys.executable).parent
EXAMPLE = yaml.safe_load((Path(__file__).resolve().parent.parent / "examples" / "proof-of-concept" /
                          "gitops.yaml").read_text())
KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "a",
    "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
    "users": [{"name": "u", "user": {"token": "t"}}],
    "contexts": [{"name": "a", "context": {"cluster": "c", "user": "u"}}],
}
SETTINGS = settings(max_examples=int(os.environ.get("GITOPS_PROPERTY_EXAMPLES", "20")), deadline=None,
                    derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True), text)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(text, inner, max_size=4)), max_leaves=12)


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*prefix, index))


@st.composite
def mutated(draw, base):
    """``base`` with a few places replaced by generated values or removed."""
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(0, 3))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(values)
    return data


def documents(base):
    """YAML text of a mutated ``base``, or odd bytes: a few of them binary, aliased or not UTF-8."""
    as_yaml = mutated(base).map(lambda d: yaml.safe_dump(d, allow_unicode=True).encode())
    odd = st.one_of(
        st.binary(max_size=200),
        text.map(str.encode),
        st.sampled_from([b"a: &a [*a]\n", b"\xef\xbb\xbf{}", "x: caf\xe9\n".encode("latin-1"), b"[" * 300,
                         b"a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                         b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                         b"e: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"]),
    )
    return st.one_of(as_yaml, as_yaml, odd)


flag = st.one_of(
    st.tuples(st.sampled_from(["-o", "--output"]), st.sampled_from(["text", "json", "yaml", "junit", "tap", "x"])),
    st.tuples(st.sampled_from(["--kubernetes-version", "--timeout", "--skip", "--reject", "--context", "-n",
                               "--schema-location", "--request-timeout", "--chart", "--registry-auth"]), text),
    st.tuples(st.sampled_from(["-q", "-v", "-vv", "--no-color", "--version", "--strict", "--no-strict",
                               "--offline", "--ignore-missing-schemas", "-strict", "-summary", "--"])),
    st.tuples(text),
).map(list)
flags = st.lists(flag, max_size=3).map(lambda groups: [arg for group in groups for arg in group])


@pytest.fixture(scope="module")
def env(tmp_path_factory, helm_bin):
    home = tmp_path_factory.mktemp("home")
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("DIGITALOCEAN_", "KUBE", "XDG_", "HELM_", "GITOPS_"))}
    environ.update(HOME=str(home), GITOPS_HELM=str(helm_bin), LC_ALL="C.UTF-8")
    return environ


def check(args, env, cwd, *, input: bytes = b"") -> None:
    out = subprocess.run([str(BIN / "kubectl-gitops"), *args], capture_output=True, env=env, cwd=cwd, input=input,
                         timeout=120, preexec_fn=_limit_memory)
    stderr = out.stderr.decode(errors="replace")
    assert out.returncode in (0, 1, 2), (args, out.returncode, stderr)
    assert "Traceback" not in stderr and "internal error" not in stderr, (args, stderr)


@SETTINGS
@given(document=documents(EXAMPLE), extra=flags)
def test_validate_survives_any_config_and_flags(document, extra, env, tmp_path):
    config = tmp_path / "gitops.yaml"
    config.write_bytes(document)
    check(["validate", "--config", str(config), *extra], env, tmp_path)


@SETTINGS
@given(document=documents({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
                           "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c"}]}}}}),
       extra=flags)
def test_validate_survives_any_manifest_on_stdin(document, extra, env, tmp_path):
    check(["validate", *extra, "-"], env, tmp_path, input=document)


@SETTINGS
@given(document=documents(EXAMPLE), extra=flags)
def test_bootstrap_dry_run_survives_any_config_and_flags(document, extra, env, tmp_path):
    config = tmp_path / "gitops.yaml"
    config.write_bytes(document)
    check(["bootstrap", "--dry-run", "--offline", "--config", str(config), *extra], env, tmp_path)


@SETTINGS
@given(kubeconfig=documents(KUBECONFIG), extra=flags)
def test_status_survives_any_kubeconfig_and_flags(kubeconfig, extra, env, tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_bytes(kubeconfig)
    from platforms import write_existing

    config = write_existing(tmp_path / "gitops.yaml")
    check(["status", "--kubeconfig", str(path), "--config", str(config), "--request-timeout", "1", *extra],
          env, tmp_path)
