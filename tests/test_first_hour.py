"""The first hour of a new user, through the real executables: every path of init, validate and dry-run
works, and every bad input gets one line, the right exit code, no traceback and no file written."""

from __future__ import annotations

import os
import pty
import resource
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# 342 bytes of nested aliases: 9^9 strings once expanded
ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for name, prev in zip("abcdefghi", ["", *"abcdefgh"], strict=True)
)
PROGRESS = ("✔ ", "► ", "◎ ", "⚠ ", "✗ ", "✚ ")  # progress lines on stderr (the reporter's vocabulary)
MEMORY_LIMIT = 1024 * 1024 * 1024  # address space each command may use here (1 GiB)


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file() or p.is_symlink()}


@pytest.fixture
def env(tmp_path, helm_bin):
    """No token, no cluster; HOME, caches and the kubeconfig inside tmp_path/home."""
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("DIGITALOCEAN_", "KUBE", "XDG_", "HELM_", "GITOPS_", "CI"))}
    environ.update(HOME=str(home), KUBECONFIG=str(home / ".kube" / "config"), GITOPS_HELM=str(helm_bin),
                   LC_ALL="C.UTF-8")
    return environ


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run(args, env, cwd, *, input: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real ``kubectl-gitops`` with ``args``, its memory bounded; stdout and stderr as text."""
    out = subprocess.run([str(BIN / "kubectl-gitops"), *map(str, args)], capture_output=True, env=env, cwd=cwd,
                         input=input if input is not None else b"", timeout=timeout, preexec_fn=_limit_memory)
    return subprocess.CompletedProcess(out.args, out.returncode, out.stdout.decode(errors="replace"),
                                       out.stderr.decode(errors="replace"))


def assert_one_line(out: subprocess.CompletedProcess, code: int, *needles: str) -> str:
    """Exit ``code``, exactly one line on stderr (``error: ...``) containing ``needles``, no traceback."""
    assert out.returncode == code, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if not line.startswith(PROGRESS)]
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def init_on_a_terminal(args: list[str], answers: dict[str, str], env: dict, cwd: Path) -> str:
    """Run ``kubectl-gitops init`` on a pseudo-terminal, answering each prompt by its first words."""
    pid, fd = pty.fork()
    if pid == 0:  # child: the real executable on a terminal
        os.chdir(cwd)
        os.execve(str(BIN / "kubectl-gitops"), ["kubectl-gitops", "init", *args], env)
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
            last = transcript.decode(errors="replace").rstrip().splitlines()[-1] if transcript.strip() else ""
            if last.endswith(":"):
                prompt = next((p for p in answers if last.lstrip().startswith(p)), None)
                assert prompt is not None, f"unexpected prompt {last!r}"
                os.write(fd, (answers[prompt] + "\n").encode())
                transcript += b"\n"
    finally:
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, transcript.decode(errors="replace")
    return transcript.decode(errors="replace")


COMMON = ["--name", "demo", "--domain", "example.com", "--gitops-repo", "https://github.com/you/gitops"]
FLAG_PATHS = {
    "digitalocean, defaults": ["--provider", "digitalocean", "--region", "fra1"],
    "digitalocean, shared cluster, dev only": ["--provider", "digitalocean", "--region", "ams3", "--shared-cluster",
                                               "--environments", "dev", "--registry-tier", "starter"],
    "digitalocean, cluster per environment, an app": ["--provider", "digitalocean", "--region", "nyc3",
                                                      "--cluster-per-environment",
                                                      "--app", "web=https://github.com/you/web"],
    "existing, defaults": ["--provider", "existing"],
    "existing, a context, dev only": ["--provider", "existing", "--kube-context", "kind-kind", "--environments", "dev"],
    "existing, an app and a registry": ["--provider", "existing", "--registry-server", "ghcr.io/you",
                                        "--app", "web=https://github.com/you/web"],
}


def _accepted(env: dict, cwd: Path) -> None:
    out = run(["validate"], env, cwd)
    assert out.returncode == 0, out.stdout + out.stderr
    out = run(["validate", "gitops.yaml"], env, cwd)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Phase platform" in out.stdout
    out = run(["bootstrap", "--dry-run"], env, cwd)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("Plan for platform demo")


@pytest.mark.parametrize("path", sorted(FLAG_PATHS))
def test_every_init_path_with_flags_is_accepted_by_validate_and_dry_run(path, env, tmp_path):
    out = run(["init", "--yes", *COMMON, *FLAG_PATHS[path]], env, tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "gitops.yaml").is_file()
    _accepted(env, tmp_path)


@pytest.mark.parametrize("provider", ["digitalocean", "existing"])
def test_init_on_a_terminal_is_accepted_by_validate_and_dry_run(provider, env, tmp_path):
    answers = {"Provider": provider, "Platform name": "demo", "Domain": "example.com", "DigitalOcean region": "",
               "Registry name": "", "Environments": "", "GitOps repository URL": "https://github.com/you/gitops"}
    transcript = init_on_a_terminal([], answers, env, tmp_path)
    assert "Platform name" in transcript
    _accepted(env, tmp_path)


def test_init_refuses_answers_the_chart_would_not_take_and_writes_nothing(env, tmp_path):
    before = tree(tmp_path)
    out = run(["init", "--yes", *COMMON, "--provider", "existing", "--app", "web=https://github.com/you/web"],
              env, tmp_path)
    assert_one_line(out, 2, "--registry-server")
    assert tree(tmp_path) == before


def test_init_flags_that_exclude_each_other(env, tmp_path):
    out = run(["init", "--yes", *COMMON, "--provider", "digitalocean", "--region", "ams3", "--shared-cluster",
               "--cluster-per-environment"], env, tmp_path)
    assert_one_line(out, 2, "--shared-cluster", "--cluster-per-environment")
    assert not (tmp_path / "gitops.yaml").exists()


def test_validate_given_a_gitops_yaml_validates_the_platform(env, tmp_path):
    config = EXAMPLES / "proof-of-concept" / "gitops.yaml"
    out = run(["validate", config, "-o", "json"], env, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "no schema" not in out.stdout
    import json

    data = json.loads(out.stdout)
    assert [r["phase"] for r in data["releases"]] == ["platform", "operator", "tekton", "gitops"]


# ---------------------------------------------------------------- bad inputs: one line each

def _bad_files(tmp_path: Path) -> dict[str, Path]:
    files = {}
    files["alias bomb"] = tmp_path / "bomb.yaml"
    files["alias bomb"].write_text(ALIAS_BOMB)
    files["latin-1"] = tmp_path / "latin1.yaml"
    files["latin-1"].write_bytes("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n".encode("latin-1"))
    files["utf-16"] = tmp_path / "utf16.yaml"
    files["utf-16"].write_bytes("apiVersion: v1\n".encode("utf-16"))
    files["binary"] = tmp_path / "binary.yaml"
    files["binary"].write_bytes(bytes(range(256)) * 4)
    files["too large"] = tmp_path / "large.yaml"
    with open(files["too large"], "wb") as handle:  # sparse: 64 MiB that take no disk
        handle.truncate(64 * 1024 * 1024)
    files["recursive alias"] = tmp_path / "recursive.yaml"
    files["recursive alias"].write_text("a: &a [*a]\n")
    files["deep"] = tmp_path / "deep.yaml"
    files["deep"].write_text("a: " + "[" * 500 + "]" * 500 + "\n")
    files["directory"] = tmp_path / "adir.yaml"
    files["directory"].mkdir()
    files["missing"] = tmp_path / "missing.yaml"
    return files


REASONS = {
    "alias bomb": "aliases expand to more than 100000",
    "latin-1": "is not UTF-8 text (byte 0xe9 on line 3)",
    "utf-16": "is UTF-16 text; save it as UTF-8",
    "binary": "is a binary file",
    "too large": "larger than 32 MiB",
    "recursive alias": "recursive",
    "deep": "nested deeper than 200 levels",
    "directory": "is a directory",
    "missing": "not found",
}


@pytest.mark.parametrize("case", sorted(REASONS))
def test_a_bad_config_file_is_one_line_and_exit_2(case, env, tmp_path):
    path = _bad_files(tmp_path)[case]
    before = tree(tmp_path)
    for args in (["validate", "--config", path], ["bootstrap", "--dry-run", "--config", path],
                 ["status", "--config", path]):
        out = run(args, env, tmp_path)
        assert_one_line(out, 2, str(path), REASONS[case])
        assert out.stdout == ""
    assert tree(tmp_path) == before


@pytest.mark.parametrize("case", sorted(set(REASONS) - {"missing", "directory"}))
def test_a_bad_manifest_is_one_line_and_exit_1(case, env, tmp_path):
    path = _bad_files(tmp_path)[case]
    if path.is_dir():
        pytest.skip("a directory of manifests is searched")
    before = tree(tmp_path)
    out = run(["validate", path], env, tmp_path)
    assert_one_line(out, 1, str(path), REASONS[case])
    assert tree(tmp_path) == before


@pytest.mark.parametrize("case", ["alias bomb", "latin-1", "utf-16", "binary", "recursive alias"])
def test_bad_stdin_is_one_line_and_exit_1(case, env, tmp_path):
    data = _bad_files(tmp_path)[case].read_bytes()
    out = run(["validate", "-"], env, tmp_path, input=data)
    assert_one_line(out, 1, "stdin", REASONS[case])


def test_random_bytes_and_empty_stdin(env, tmp_path):
    out = run(["validate", "-"], env, tmp_path, input=os.urandom(4096))
    assert_one_line(out, 1, "stdin")
    out = run(["validate", "-"], env, tmp_path, input=b"")
    assert_one_line(out, 1, "stdin is empty")
    out = run(["validate", "-"], env, tmp_path, input=b"\n# nothing\n")
    assert_one_line(out, 1, "stdin is empty")


def test_a_byte_order_mark_is_accepted(env, tmp_path):
    config = tmp_path / "gitops.yaml"
    config.write_bytes(b"\xef\xbb\xbf" + (EXAMPLES / "proof-of-concept" / "gitops.yaml").read_bytes())
    assert run(["validate"], env, tmp_path).returncode == 0
    manifest = tmp_path / "cm.yaml"
    manifest.write_bytes(b"\xef\xbb\xbfapiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    out = run(["validate", manifest], env, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    out = run(["validate", "-"], env, tmp_path, input=manifest.read_bytes())
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("case", ["alias bomb", "latin-1", "binary", "directory", "missing", "recursive alias"])
def test_a_bad_kubeconfig_is_one_line(case, env, tmp_path):
    path = _bad_files(tmp_path)[case]
    config = tmp_path / "gitops.yaml"
    from platforms import write_existing

    write_existing(config)
    out = run(["status", "--kubeconfig", path, "--config", config], env, tmp_path)
    line = assert_one_line(out, 2)
    assert str(path) in line or (case == "missing" and "kubeconfig" in line), line


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file whatever its mode")
def test_an_unreadable_file_says_permission_denied(env, tmp_path):
    config = tmp_path / "gitops.yaml"
    config.write_bytes((EXAMPLES / "proof-of-concept" / "gitops.yaml").read_bytes())
    config.chmod(0)
    assert_one_line(run(["validate"], env, tmp_path), 2, "permission denied")
    assert_one_line(run(["validate", config.with_name("x.yaml")], env, tmp_path), 2, "not found")


# ---------------------------------------------------------------- every command: global options and exit codes

COMMANDS = ["init", "validate", "bootstrap", "teardown", "status", "password", "promote", "rollback", "history",
            "webhook", "registry-secret"]
WITH_APP = ("promote", "rollback", "history", "webhook")
DO_CONFIG = EXAMPLES / "proof-of-concept" / "gitops.yaml"


def _exit_code_table(tmp_path: Path) -> list[tuple[str, list, int, str]]:
    """(case, args, exit code, what the one stderr line says) for every command, per the README's table."""
    existing = tmp_path / "existing.yaml"
    from platforms import write_existing

    write_existing(existing)
    missing = tmp_path / "nope.yaml"
    rows = []
    for command in COMMANDS:
        name = [command, "fakeservice"] if command in WITH_APP else [command]
        rows += [
            (f"{command}: unknown flag", [*name, "--no-such-flag"], 2, "No such option"),
            (f"{command}: -q with -v", [*name, "-q", "-v", "--config", DO_CONFIG], 2, "exclude each other"),
            (f"{command}: -o after the command, bad value", [*name, "-o", "xml"], 2, "Invalid value"),
        ]
        if command not in ("init", "password"):
            rows.append((f"{command}: config missing", [*name, "--config", missing], 2, "not found"))
    rows += [
        ("init: exclusive cluster flags", ["init", "--yes", "--shared-cluster", "--cluster-per-environment"], 2,
         "exclude each other"),
        ("init: required answers missing", ["init", "--yes", "--config", tmp_path / "new.yaml"], 2, "missing --name"),
        ("init: file exists", ["init", "--yes", "--config", DO_CONFIG], 2, "already exists"),
        ("bootstrap: no token", ["bootstrap", "--config", DO_CONFIG], 2, "no DigitalOcean token"),
        ("bootstrap: --offline without --dry-run", ["bootstrap", "--offline", "--config", DO_CONFIG], 2, "--dry-run"),
        ("bootstrap: context missing", ["bootstrap", "--config", existing, "--context", "nope"], 2, "nope"),
        ("bootstrap: bad timeout", ["bootstrap", "--dry-run", "--timeout", "soon"], 2, "--timeout"),
        ("teardown: no token", ["teardown", "--yes", "--config", DO_CONFIG], 2, "no DigitalOcean token"),
        ("teardown: --dry-run with --yes", ["teardown", "--dry-run", "--yes", "--config", DO_CONFIG], 2,
         "exclude each other"),
        ("status: context missing", ["status", "--config", existing, "--context", "nope"], 2, "nope"),
        ("password: context missing", ["password", "--context", "nope"], 2, "nope"),
        ("validate: invalid manifest", ["validate", existing.with_name("bad.yaml")], 1, ""),
        ("promote: app missing", ["promote", "--config", existing], 2, "Missing argument"),
        ("promote: unknown app", ["promote", "nope", "--yes", "--config", existing], 2, "no application 'nope'"),
        ("promote: unknown environment", ["promote", "fakeservice", "--to", "staging", "--yes", "--config",
                                          existing], 2, "no environment 'staging'"),
        ("promote: no environment after dev", ["promote", "fakeservice", "--yes", "--config", existing], 2,
         "dev is the last environment"),
        ("promote: bad timeout", ["promote", "fakeservice", "--timeout", "soon", "--config", existing], 2,
         "--timeout"),
        ("rollback: not a digest", ["rollback", "fakeservice", "--to", "latest", "--yes", "--config", existing], 2,
         "expected a digest"),
        ("history: unknown environment", ["history", "fakeservice", "--env", "qa", "--config", existing], 2,
         "no environment 'qa'"),
        ("validate: --kubernetes-version nonsense", ["validate", "--kubernetes-version", "new"], 2,
         "--kubernetes-version"),
    ]
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nspec: 1\n")
    return rows


def test_exit_codes_follow_the_readme_for_every_command(env, tmp_path):
    failures = []
    for case, args, code, needle in _exit_code_table(tmp_path):
        out = run(args, env, tmp_path)
        lines = [line for line in out.stderr.splitlines() if not line.startswith(PROGRESS)]
        ok = out.returncode == code and "Traceback" not in out.stderr
        if code == 2:
            ok = ok and len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]
        if not ok:
            failures.append(f"{case}: exit {out.returncode}, stderr {out.stderr!r}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("command", COMMANDS)
def test_global_options_before_or_after_every_command(command, env, tmp_path):
    for args in ([command, "--version"], ["--version", command], [command, "-o", "json", "--version"]):
        out = run(args, env, tmp_path)
        assert (out.returncode, out.stderr) == (0, ""), (args, out.stderr)
        assert out.stdout.startswith("kubectl gitops "), out.stdout
    flags = ["--kubeconfig", "k", "--context", "c", "-n", "ns", "-o", "yaml", "--config", "x.yaml", "-v",
             "--no-color"]
    for args in ([*flags, command, "--help"], [command, *flags, "--help"]):
        out = run(args, env, tmp_path)
        assert out.returncode == 0 and out.stdout.startswith(f"Usage: kubectl gitops {command}"), out.stderr


# ---------------------------------------------------------------- bootstrap --dry-run checks every flag

def test_dry_run_refuses_a_chart_that_is_not_one_or_lacks_dependencies(env, tmp_path, repo_root):
    before = tree(tmp_path)
    out = run(["bootstrap", "--dry-run", "--config", DO_CONFIG, "--chart", tmp_path / "nonexistent"], env, tmp_path)
    assert_one_line(out, 2, "--chart", "no Chart.yaml")
    import shutil

    copy = tmp_path / "chart"
    shutil.copytree(repo_root / "charts" / "gitops-platform", copy, ignore=shutil.ignore_patterns("*.tgz"))
    before = tree(tmp_path)
    out = run(["bootstrap", "--dry-run", "--config", DO_CONFIG, "--chart", copy], env, tmp_path)
    assert_one_line(out, 2, "--chart", "argo-cd", "helm dependency build")
    assert tree(tmp_path) == before


@pytest.mark.parametrize("content,needle", [(None, "not found"), ("", "not JSON"), ("{}", "auths"),
                                            ("\xe9", "not UTF-8")])
def test_dry_run_refuses_registry_auth_that_is_not_a_docker_config(content, needle, env, tmp_path):
    auth = tmp_path / "config.json"
    if content is not None:
        auth.write_bytes(content.encode("latin-1"))
    config = tmp_path / "gitops.yaml"
    from platforms import write_existing

    write_existing(config)
    out = run(["bootstrap", "--dry-run", "--config", config, "--registry-auth", auth], env, tmp_path)
    assert_one_line(out, 2, "--registry-auth", needle)


def test_offline_plans_without_contacting_digitalocean_even_with_a_token(env, tmp_path):
    """A token in the shell and an API that cannot be reached: the dry-run says so and offers --offline;
    with --offline the plan is the same as with no token."""
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    no_token = run(["bootstrap", "--dry-run", "--config", DO_CONFIG, "-o", "json"], env, tmp_path)
    assert no_token.returncode == 0, no_token.stderr
    unreachable = {**env, "DIGITALOCEAN_TOKEN": "dop_v1_" + "0" * 64, "DIGITALOCEAN_API_URL": f"https://127.0.0.1:{port}"}
    out = run(["bootstrap", "--dry-run", "--config", DO_CONFIG], unreachable, tmp_path, timeout=300)
    line = assert_one_line(out, 1, "--offline")
    assert "dop_v1_" not in line
    offline = run(["bootstrap", "--dry-run", "--offline", "--config", DO_CONFIG, "-o", "json"], unreachable, tmp_path)
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout == no_token.stdout
    out = run(["bootstrap", "--dry-run", "--offline", "--token-file", DO_CONFIG, "--config", DO_CONFIG], env, tmp_path)
    assert_one_line(out, 2, "--offline", "--token-file")


def test_teardown_dry_run_without_a_token_lists_what_it_looks_for(env, tmp_path):
    before = tree(tmp_path)
    out = run(["teardown", "--dry-run", "--config", DO_CONFIG], env, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "no DigitalOcean token" in out.stderr
    assert "cluster" in out.stdout and "the account was not read" in out.stdout
    assert tree(tmp_path) == before
