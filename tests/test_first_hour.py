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
    lines = out.stderr.splitlines()
    assert out.returncode == code, (out.returncode, out.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert "Traceback" not in out.stderr and "Error:" not in lines[0].replace("error: ", "", 1)[:1]
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
    assert [r["phase"] for r in data["releases"]] == ["platform", "tekton", "gitops"]


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
