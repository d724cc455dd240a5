"""The DigitalOcean token never leaves the Authorization header: a sentinel token is used for plan,
provision, failures and teardown, then every captured output, exception text, log record and file
written is searched for it."""

from __future__ import annotations

import logging
import secrets
import traceback

import pytest
from click.testing import CliRunner

from fakedo import ManualClock
from fakedo.scenarios import load_platform, platform_yaml
from kubectl_gitops.adapters.digitalocean import DigitalOcean, RetryPolicy
from kubectl_gitops.cli import main
from kubectl_gitops.core.errors import GitopsError
from kubectl_gitops.core.progress import Reporter
from kubectl_gitops.core.secrets import Secret
from kubectl_gitops.workflows import infra

DURATIONS = {"cluster": 60.0, "node_pool": 60.0, "load_balancer": 20.0}


def test_the_token_appears_nowhere(fake_do_factory, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    sentinel = "dop_v1_" + secrets.token_hex(32)
    wrong = "dop_v1_" + secrets.token_hex(32)
    fake = fake_do_factory(token=sentinel, clock=ManualClock(auto_advance=10), durations=DURATIONS)
    fake.seed_domain("shop.example.com")
    work = tmp_path / "work"
    work.mkdir()
    config = load_platform(platform_yaml(), work)
    kubeconfig = work / "kubeconfig"
    captured: list[str] = []
    reporter = Reporter(emit=lambda symbol, message: captured.append(f"{symbol} {message}"), verbose=True)
    token = Secret(sentinel)
    api = DigitalOcean(token, retry=RetryPolicy(sleep=lambda s: None))
    captured += [repr(token), str(token), f"{token}", repr(api)]

    def record(exc: BaseException) -> None:
        captured.extend([str(exc), repr(exc), "".join(traceback.format_exception(exc))])

    # plan, provision, a re-run
    plan = infra.plan(config, token=token, reporter=reporter, kubeconfig=str(kubeconfig), api=api)
    captured += [repr(plan), str(plan.as_dict())]
    result = infra.provision(config, token=token, kubeconfig=str(kubeconfig), timeout=60, reporter=reporter,
                             api=api, poll_interval=0.001)
    captured += [repr(result), str(result.as_dict())]
    infra.provision(config, token=token, kubeconfig=str(kubeconfig), timeout=60, reporter=reporter, api=api,
                    poll_interval=0.001)
    # failures of every kind
    for status in (401, 403, 404, 422, 429, 500):
        fake.fail_next("GET", "/v2/kubernetes/clusters", status, times=10, retry_after=0)
        with pytest.raises(GitopsError) as err:
            infra.plan(config, token=token, reporter=reporter, kubeconfig=str(kubeconfig), api=api)
        record(err.value)
        fake.clear_failures()
    fake.refuse_next(None, r"/v2/.*", times=10)
    with pytest.raises(GitopsError) as err:
        infra.provision(config, token=token, kubeconfig=str(kubeconfig), timeout=60, reporter=reporter, api=api)
    record(err.value)
    fake.clear_failures()
    with pytest.raises(GitopsError) as err:  # a token the API refuses is a secret as well
        infra.plan(config, token=Secret(wrong), reporter=reporter, kubeconfig=str(kubeconfig))
    record(err.value)

    # the CLI: a refused token with -vv, a dry run, a teardown with the token in a file
    token_file = tmp_path / "token"
    token_file.write_text(sentinel + "\n")
    runner = CliRunner()
    base = ["teardown", "--config", str(work / "gitops.yaml"), "--kubeconfig", str(kubeconfig)]
    for env, args in [({"DIGITALOCEAN_TOKEN": wrong}, ["--yes", "-vv"]),
                      ({"DIGITALOCEAN_TOKEN": sentinel}, ["--dry-run", "-o", "json"]),
                      ({"DIGITALOCEAN_TOKEN": None}, ["--yes", "-vv", "--token-file", str(token_file)])]:
        with runner.isolation(env=env) as (out, err_stream, _):
            code = main._run(main.cli, [*base, *args], "kubectl gitops")
        captured += [out.getvalue().decode(), err_stream.getvalue().decode()]
        assert code in (0, 1)
    assert fake.account.clusters == {}  # the teardown ran

    for text in captured + [r.getMessage() for r in caplog.records] + [caplog.text, repr(fake.log)]:
        assert sentinel not in text and wrong not in text
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p != token_file]
    assert {p.name for p in files} >= {"kubeconfig", "kubeconfig.kubectl-gitops.bak", "gitops.yaml"}
    for path in files:
        data = path.read_bytes()
        assert sentinel.encode() not in data and wrong.encode() not in data, path
    assert caplog.records  # the HTTP stack did log (with the header redacted)


def test_secret_renders_redacted_everywhere():
    value = "dop_v1_" + secrets.token_hex(8)
    secret = Secret(value)
    for text in (str(secret), repr(secret), f"{secret}", f"{secret:>20}", "%s" % (secret,), str([secret]),  # noqa: UP031
                 str({"token": secret})):
        assert value not in text and "********" in text
    assert secret.reveal() == value and Secret(secret).reveal() == value
    assert secret == Secret(value) and secret != Secret("other") and bool(secret) and not Secret("")
    assert secret.redact(f"a {value} b") == "a ******** b"
    with pytest.raises(TypeError):
        "x" + secret  # noqa: B018 - not a str: no accidental concatenation
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(secret)
