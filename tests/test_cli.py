"""The executables as users run them: directly, through real kubectl plugin dispatch, as argocd-gitops."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent
COMMANDS = ["init", "validate", "bootstrap", "teardown", "status", "password", "promote", "rollback", "history",
            "build", "builds", "logs", "webhook", "registry-secret"]


def run(args, *, env=None, cwd=None, input=None, timeout=60):
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd, input=input, timeout=timeout)


@pytest.fixture
def plugin_env(tmp_path, kubectl_bin):
    """PATH with only our executables and real kubectl; a kubeconfig with two contexts."""
    path_dir = tmp_path / "path"
    path_dir.mkdir()
    for name in ["kubectl-gitops", "argocd-gitops", "kubectl_complete-gitops"]:
        (path_dir / name).symlink_to(BIN / name)
    (path_dir / "kubectl").symlink_to(kubectl_bin)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "a",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {}}],
        "contexts": [{"name": "a", "context": {"cluster": "c", "user": "u"}},
                     {"name": "b", "context": {"cluster": "c", "user": "u"}}],
    }))
    env = {"PATH": f"{path_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "KUBECONFIG": str(kubeconfig),
           "LC_ALL": "C.UTF-8"}
    return env


def test_executables_exist():
    for name in ["kubectl-gitops", "argocd-gitops", "kubectl_complete-gitops"]:
        assert (BIN / name).exists(), name
    # kubectl-gitops dispatches every subcommand; per-command copies would be listed twice by kubectl
    assert sorted(p.name for p in BIN.glob("kubectl*gitops*")) == ["kubectl-gitops", "kubectl_complete-gitops"]


def test_help_lists_only_working_commands():
    out = run([BIN / "kubectl-gitops", "--help"])
    assert out.returncode == 0
    assert out.stdout.startswith("Usage: kubectl gitops [OPTIONS] COMMAND [ARGS]...")
    listed = [line.split()[0] for line in out.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert [w for w in listed if w in {"init", "validate", "bootstrap", "build", "promote", "status", "teardown",
                                       "logs", "password", "rollback", "history", "builds", "webhook",
                                       "registry-secret"}] == sorted(COMMANDS)
    for flag in ["--kubeconfig", "--context", "-n, --namespace", "-o, --output", "--config", "-v, --verbose",
                 "-q, --quiet", "--no-color", "--version"]:
        assert flag in out.stdout, flag


def test_version():
    from kubectl_gitops import __version__

    out = run([BIN / "kubectl-gitops", "--version"])
    assert out.returncode == 0 and out.stdout.strip() == f"kubectl gitops {__version__}"


def test_argocd_name_speaks_as_argocd():
    out = run([BIN / "argocd-gitops", "validate", "--help"])
    assert out.returncode == 0 and out.stdout.startswith("Usage: argocd gitops validate")


def test_usage_error_exit_2_no_traceback():
    out = run([BIN / "kubectl-gitops", "validate", "--output", "xml"])
    assert out.returncode == 2
    assert "Invalid value for '-o' / '--output'" in out.stderr and "Traceback" not in out.stderr
    out = run([BIN / "kubectl-gitops", "frobnicate"])
    assert out.returncode == 2 and "No such command 'frobnicate'" in out.stderr


def test_kubectl_dispatch(plugin_env):
    out = run(["kubectl", "gitops", "validate", "--help"], env=plugin_env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Usage: kubectl gitops validate")
    out = run(["kubectl", "gitops", "--context", "b", "init", "--help"], env=plugin_env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Usage: kubectl gitops init")
    out = run(["kubectl", "gitops", "--version"], env=plugin_env)
    assert out.returncode == 0 and "kubectl gitops" in out.stdout


def test_kubectl_dispatch_exit_codes(plugin_env, tmp_path):
    out = run(["kubectl", "gitops", "--config", str(tmp_path / "none.yaml"), "validate"], env=plugin_env)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[0].startswith("error: config file ")
    assert "kubectl gitops init" in out.stderr


def test_kubectl_plugin_list_has_no_warnings(plugin_env):
    out = run(["kubectl", "plugin", "list"], env=plugin_env)
    assert out.returncode == 0, out.stderr
    assert "warning" not in (out.stdout + out.stderr).lower()
    assert [Path(line).name for line in out.stdout.splitlines() if "/" in line] == ["kubectl-gitops"]


def test_init_non_interactive_writes_valid_config(tmp_path):
    target = tmp_path / "gitops.yaml"
    args = [BIN / "kubectl-gitops", "--config", str(target), "init", "--yes", "--name", "demo",
            "--provider", "digitalocean", "--region", "ams3", "--domain", "example.com",
            "--gitops-repo", "https://github.com/example/gitops", "--app", "web=https://github.com/example/web"]
    out = run(args, input="")
    assert out.returncode == 0, out.stderr
    assert f"Wrote {target}" in out.stdout
    text = target.read_text()
    assert text.startswith("# Platform config for kubectl-gitops")
    from kubectl_gitops.adapters import config_file

    config = config_file.load(target)
    assert [e.name for e in config.environments] == ["dev", "prod"]
    assert [c.name for c in config.clusters] == ["dev", "prod"]
    assert config.application("web").host("prod") == "web.example.com"
    assert config.edge == "gateway", "a cluster per environment: each gets its own Gateway"
    # never overwrite without --force
    before = target.read_text()
    again = run(args, input="")
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr
    assert target.read_text() == before
    forced = run([*args, "--force", "--domain", "example.org"], input="")
    assert forced.returncode == 0 and "example.org" in target.read_text()


def test_init_chooses_the_gateway_edge_for_a_new_platform(tmp_path):
    target = tmp_path / "gitops.yaml"
    out = run([BIN / "kubectl-gitops", "--config", str(target), "init", "--yes", "--name", "demo", "--provider",
               "existing", "--domain", "example.com", "--gitops-repo", "https://github.com/example/gitops"], input="")
    assert out.returncode == 0, out.stderr
    text = target.read_text()
    assert "# Envoy Gateway (Gateway API, maintained): ingress-nginx is retired upstream since March 2026.\n" \
           "edge: gateway\n" in text
    from kubectl_gitops.adapters import config_file

    assert config_file.load(target).edge == "gateway"


def test_init_without_terminal_needs_flags(tmp_path):
    out = run([BIN / "kubectl-gitops", "--config", str(tmp_path / "g.yaml"), "init", "--provider", "existing"],
              input="")
    assert out.returncode == 2
    assert out.stderr.strip() == ("error: missing --name, --domain, --gitops-repo (give them as flags, or run "
                                  "on a terminal without --yes to be asked)")
    assert not (tmp_path / "g.yaml").exists()


def test_init_invalid_answers_write_nothing(tmp_path):
    target = tmp_path / "g.yaml"
    out = run([BIN / "kubectl-gitops", "init", "--config", str(target), "--yes", "--name", "Bad Name",
               "--provider", "existing", "--domain", "example.com", "--gitops-repo", "https://x/y"])
    assert out.returncode == 2
    assert "the answers do not make a valid config" in out.stderr and "name: 'Bad Name'" in out.stderr
    assert not target.exists()


def test_init_prompts_on_a_terminal(tmp_path):
    target = tmp_path / "gitops.yaml"
    answers = iter(["existing", "demo", "example.com", "dev", "https://github.com/example/gitops"])
    pid, fd = pty.fork()
    if pid == 0:  # child: the real executable on a terminal
        os.execv(str(BIN / "kubectl-gitops"), ["kubectl-gitops", "--config", str(target), "init"])
    transcript = b""
    try:
        while True:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            transcript += chunk
            if transcript.rstrip().endswith(b":"):
                os.write(fd, (next(answers) + "\n").encode())
                transcript += b"\n"
    finally:
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, transcript.decode()
    text = transcript.decode()
    assert "Provider" in text and "Platform name" in text and "GitOps repository URL" in text
    from kubectl_gitops.adapters import config_file

    config = config_file.load(target)
    assert config.provider == "existing" and config.name == "demo"
    assert [e.name for e in config.environments] == ["dev"]


def completions(env, *words):
    out = run(["kubectl", "__complete", "gitops", *words], env=env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    return [line.split("\t")[0] for line in lines[:-1]], lines[-1]


def test_shell_completion_through_kubectl(plugin_env):
    values, directive = completions(plugin_env, "")
    assert sorted(values) == sorted(COMMANDS) and directive == ":4"  # each once: kubectl adds none of its own
    values, _ = completions(plugin_env, "bo")
    assert values == ["bootstrap"]
    values, directive = completions(plugin_env, "va")
    assert "validate" in values and directive == ":4"
    values, directive = completions(plugin_env, "--context", "b", "i")
    assert values == ["init"] and directive == ":4"
    values, _ = completions(plugin_env, "validate", "-o", "")
    assert values == ["text", "json", "yaml", "junit", "tap"]
    values, _ = completions(plugin_env, "init", "--prov")
    assert values == ["--provider"]
    values, _ = completions(plugin_env, "init", "--provider", "")
    assert values == ["digitalocean", "existing"]
