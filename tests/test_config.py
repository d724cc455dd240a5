"""gitops.yaml: schema, line-numbered problems, cross-field rules, defaults."""

from __future__ import annotations

import json
import textwrap

import pytest

from kubectl_gitops.adapters import config_file
from kubectl_gitops.core.errors import ConfigError
from kubectl_gitops.core.resources import data_path

BASE = """\
apiVersion: gitops.kubectl.dev/v1alpha1
kind: Platform
name: demo
provider: digitalocean
region: ams3
domain: example.com
registry: {name: demo, tier: basic}
clusters:
  main: {node_pool: {size: s-2vcpu-4gb, count: 2}}
environments:
  dev: {cluster: main}
  prod: {cluster: main}
gitops: {repo: "https://github.com/example/gitops"}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_file.load_text(text, source="gitops.yaml")
    assert info.value.exit_code == 2
    return info.value.problems


def test_examples_load(repo_root):
    names = sorted(p.parent.name for p in (repo_root / "examples").glob("*/gitops.yaml"))
    assert names == ["dev-prod-go", "proof-of-concept"]
    poc = config_file.load(repo_root / "examples/proof-of-concept/gitops.yaml")
    assert poc.provider == "digitalocean" and poc.registry.tier == "starter"
    assert [a.name for a in poc.applications] == ["fakeservice"]
    assert poc.application("fakeservice").git == "https://github.com/BasLangenberg/tekton-pipeline-example-app"
    go = config_file.load(repo_root / "examples/dev-prod-go/gitops.yaml")
    assert go.sync_waves() == {"catalog": 0, "storefront": 1}
    assert {e.name: e.sync for e in go.environments} == {"dev": "automated", "prod": "manual"}
    assert go.application("storefront").replicas_in("prod") == 2


def test_defaults_are_applied():
    config = config_file.load_text(BASE, source="gitops.yaml")
    assert config.environment("dev").namespace == "demo-dev"
    assert config.environment("dev").sync == "automated"
    assert config.environment("prod").sync == "manual"
    assert config.gitops.branch == "main" and config.gitops.path == "platform"
    assert config.kubernetes_minor == "1.34"
    assert config.management_cluster.name == "main"


def test_every_problem_reported_with_line_and_path():
    text = BASE.replace("name: demo\n", "name: Demo_1\n").replace("region: ams3\n", "regoin: ams3\n")
    text += "applications:\n  web:\n    git: https://github.com/example/web\n    port: \"80\"\n"
    found = problems(text)
    assert "gitops.yaml:3 name: 'Demo_1' is not valid: a lower-case DNS label" in found[0]
    assert found[1] == 'gitops.yaml:5 regoin: unknown key "regoin" (did you mean "region"?)'
    assert found[2] == 'gitops.yaml:17 applications.web.port: expected integer, got string "80"'
    assert len(found) == 3


def test_yaml_syntax_error_has_line():
    found = problems(BASE + "gitops:\n  repo: [unclosed\n")
    assert len(found) == 1 and found[0].startswith("gitops.yaml:16 invalid YAML")


def test_duplicate_keys_are_reported():
    found = problems(BASE + "domain: other.com\n")
    assert found == ["gitops.yaml:14 domain: duplicate key"]


def test_empty_file_and_non_mapping():
    assert problems("") == ["gitops.yaml:1 (top level): expected a mapping of settings, got an empty file"]
    assert "got list" in problems("- a\n")[0]


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        (lambda t: t.replace("dev: {cluster: main}", "dev: {cluster: mian}"),
         'environments.dev.cluster: unknown cluster "mian" (declared: main)'),
        (lambda t: t.replace("region: ams3\n", ""), 'provider digitalocean needs "region"'),
        (lambda t: t.replace("registry: {name: demo, tier: basic}\n", ""), 'provider digitalocean needs "registry"'),
        (lambda t: t.replace("tier: basic", "tier: starter") + "applications:\n  a: {git: 'https://x/a'}\n"
         "  b: {git: 'https://x/b'}\n",
         'tier "starter" holds 1 repository but 2 applications need 4 (an image and a layer cache each)'),
        (lambda t: t + "applications:\n  a: {git: 'https://x/a', depends_on: [bb]}\n  b: {git: 'https://x/b'}\n",
         'applications.a.depends_on[0]: unknown application "bb" (did you mean "b"?)'),
        (lambda t: t + "applications:\n  a: {git: 'https://x/a', depends_on: [a]}\n",
         "an application cannot depend on itself"),
        (lambda t: t + "applications:\n  a: {git: 'https://x/a', depends_on: [b]}\n"
         "  b: {git: 'https://x/b', depends_on: [a]}\n", "dependency cycle: a -> b -> a"),
        (lambda t: t + "applications:\n  a: {git: 'https://x/a', hosts: {staging: a.example.com}}\n",
         'applications.a.hosts.staging: unknown environment "staging"'),
        (lambda t: t.replace("count: 2}", "count: 9, autoscale: {min: 1, max: 3}}"), "9 is outside autoscale 1..3"),
        (lambda t: t + "platform: {tekton_dashboard: {expose: true}}\n", 'set "auth_secret"'),
        (lambda t: t.replace("provider: digitalocean", "provider: existing"), "only applies to provider digitalocean"),
        (lambda t: t.replace("provider: digitalocean", "provider: existing").replace("{node_pool: {size: s-2vcpu-4gb, "
                                                                                      "count: 2}}", "{}")
         + "tls: {challenge: dns01}\n", "tls.challenge: dns01 solves through DigitalOcean DNS"),
        (lambda t: t + "tls: {secret: wildcard, issuer: letsencrypt-staging}\n",
         "tls.secret: a certificate you bring is used as is"),
        (lambda t: t + "kubernetes: {version: '1.31'}\n", "kubernetes.version: 1.31 is older than the platform "
         "supports: use 1.32 or newer"),
        (lambda t: t + "tls: {secret: certificates/wildcard}\n",
         "tls.secret: an Ingress reads a certificate only from its own namespace"),
    ],
)
def test_cross_field_rules(patch, expected):
    found = problems(patch(BASE))
    assert any(expected in p for p in found), found
    assert all(p.startswith("gitops.yaml:") for p in found)


def test_tls_is_on_by_default_and_false_opts_out():
    default = config_file.load_text(BASE, source="gitops.yaml").tls
    assert (default.enabled, default.issuer, default.challenge, default.email) == (
        True, "letsencrypt-production", "dns01", None)
    assert default.cert_manager
    off = config_file.load_text(BASE + "tls: false\n", source="gitops.yaml")
    assert off.tls.enabled is False and off.scheme == "http"
    given = config_file.load_text(BASE + "tls: {issuer: letsencrypt-staging, email: ops@example.com, "
                                  "challenge: http01}\n", source="gitops.yaml").tls
    assert (given.issuer, given.email, given.challenge) == ("letsencrypt-staging", "ops@example.com", "http01")
    brought = config_file.load_text(BASE + "tls: {secret: wildcard-tls}\n", source="gitops.yaml").tls
    assert brought.enabled and not brought.cert_manager
    assert problems(BASE + "tls: {issuer: letsencrypt}\n")
    assert problems(BASE + "tls: true\n")


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        config_file.load(tmp_path / "gitops.yaml")
    assert "not found" in str(info.value) and "kubectl gitops init" in str(info.value)


def test_schema_documents_every_property():
    schema = json.loads((data_path("schemas") / "gitops.schema.json").read_text())
    undocumented = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, sub in (node.get("properties") or {}).items():
                if "description" not in sub:
                    undocumented.append(f"{path}.{key}")
                walk(sub, f"{path}.{key}")
            for key in ("definitions", "additionalProperties", "items"):
                value = node.get(key)
                if isinstance(value, dict):
                    for name, sub in (value.items() if key == "definitions" else [("*", value)]):
                        walk(sub, f"{path}.{name}")

    walk(schema, "")
    assert undocumented == []


def test_unknown_key_without_close_match_lists_allowed():
    found = problems(BASE + textwrap.dedent("""\
        platform:
          zzz: 1
    """))
    assert found == ['gitops.yaml:15 platform.zzz: unknown key "zzz" (allowed: '
                     'pipeline_runs_to_keep, pipelines_as_code, tekton_chains, tekton_dashboard, tekton_results)']


def test_the_layer_cache_counts_against_the_registry_tier():
    """kaniko pushes <app> and <app>/cache: one application is over the starter tier unless the cache is off."""
    text = BASE.replace("tier: basic", "tier: starter") + "applications:\n  a: {git: 'https://x/a'}\n"
    assert problems(text) == ['gitops.yaml:7 registry.tier: tier "starter" holds 1 repository but 1 application '
                                  "need 2 (an image and a layer cache each): choose a larger tier, or set "
                                  "registry.layer_cache to false"]
    config = config_file.load_text(text.replace("tier: starter", "tier: starter, layer_cache: false"),
                                   source="gitops.yaml")
    assert config.registry.layer_cache is False
