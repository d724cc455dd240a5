"""The three ways to install: the release archive the krew way, pipx and pip, each on a clean PATH.

The archive for this machine (linux/amd64) is built from the checkout with release/build.py
(wheels cached in ~/.cache/kubectl-gitops-dev/wheels), the manifest rendered from
krew-manifest.yaml and checked against krew's rules (tests/krew.py), then installed the way
krew does and run with a PATH holding only krew's bin directory, kubectl, helm and python3.
"""

from __future__ import annotations

import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

import krew

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "release"))
import build  # noqa: E402
import manifest as release_manifest  # noqa: E402

from kubectl_gitops import __version__  # noqa: E402

EXAMPLE = ROOT / "examples" / "proof-of-concept" / "gitops.yaml"
COMMANDS = ["bootstrap", "build", "builds", "history", "init", "logs", "password", "promote", "registry-secret",
            "rollback", "status", "teardown", "validate", "webhook"]
PIPX = ["pipx==1.18.4", "pip==26.3"]
# argocd's own top-level commands (argo-cd cmd/argocd/commands/root.go): they win over plugins
ARGOCD_BUILTINS = {"account", "admin", "app", "appset", "cert", "cluster", "completion", "configure", "context",
                   "gpg", "help", "login", "logout", "proj", "relogin", "repo", "repocreds", "version"}
BASE_PYTHON = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"

pytestmark = pytest.mark.skipif((platform.system(), platform.machine()) != ("Linux", "x86_64"),
                                reason="release archives are built and run here for linux/amd64 only")


def run(args, *, env, cwd=None, timeout=120):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


def clean_env(home: Path, *bin_dirs: Path) -> dict[str, str]:
    return {"PATH": os.pathsep.join(map(str, bin_dirs)), "HOME": str(home), "LC_ALL": "C.UTF-8",
            "KUBECONFIG": str(home / "kubeconfig")}


@pytest.fixture(scope="module")
def tools_dir(tmp_path_factory, kubectl_bin, helm_bin) -> Path:
    """kubectl, helm and a python3 that is no virtual environment: what the manifest's caveats ask for."""
    directory = tmp_path_factory.mktemp("tools")
    (directory / "kubectl").symlink_to(kubectl_bin)
    (directory / "helm").symlink_to(helm_bin)
    (directory / "python3").symlink_to(BASE_PYTHON)
    return directory


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build.build(build.TARGETS["linux/amd64"], out)
    return out


@pytest.fixture(scope="module")
def archive(dist) -> Path:
    return dist / build.archive_name(build.TARGETS["linux/amd64"])


@pytest.fixture(scope="module")
def rendered(dist) -> dict:
    text = release_manifest.render(dist, base_url=dist.as_uri(), only_built=True)
    (dist / "gitops.yaml").write_text(text)
    return yaml.safe_load(text)


@pytest.fixture(scope="module")
def krew_root(rendered, archive, tmp_path_factory, tools_dir) -> Path:
    root = tmp_path_factory.mktemp("krew")
    krew.install(rendered, archive, root)
    return root


# ---------------------------------------------------------------- the manifest
def test_template_renders_every_platform_to_a_valid_manifest(tmp_path):
    for target in build.TARGETS.values():
        (tmp_path / build.archive_name(target)).write_bytes(target.key.encode())
    data = yaml.safe_load(release_manifest.render(tmp_path))
    assert krew.validate(data, "gitops.yaml") == []
    assert data["spec"]["version"] == f"v{__version__}"
    selectors = [(p["selector"]["matchLabels"]["os"], p["selector"]["matchLabels"]["arch"])
                 for p in data["spec"]["platforms"]]
    assert selectors == [("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64"),
                         ("windows", "amd64")]
    for p in data["spec"]["platforms"]:
        assert p["uri"] == (f"https://github.com/kubectl-gitops/kubectl-gitops/releases/download/v{__version__}/"
                            + build.archive_name(build.TARGETS["/".join(p["selector"]["matchLabels"].values())]))
        assert p["bin"] == ("kubectl-gitops.exe" if p["selector"]["matchLabels"]["os"] == "windows"
                            else "kubectl-gitops")
    assert "helm 3.19+ or 4" in data["spec"]["caveats"] and "3.11 to 3.14" in data["spec"]["caveats"]
    assert data["spec"]["homepage"] == "https://github.com/kubectl-gitops/kubectl-gitops"


def test_rendering_needs_every_archive(tmp_path):
    with pytest.raises(build.BuildError, match="linux_amd64.tar.gz is missing"):
        release_manifest.render(tmp_path)


def test_manifest_for_the_built_archive_passes_krew_rules(rendered, archive):
    assert krew.validate(rendered, "gitops.yaml") == []
    (platform_,) = rendered["spec"]["platforms"]
    assert platform_["sha256"] == build.sha256(archive)
    assert platform_["uri"].endswith("/" + archive.name)


def test_krew_rules_reject_what_krew_rejects(rendered):
    def broken(change) -> list[str]:
        data = yaml.safe_load(yaml.safe_dump(rendered))
        change(data)
        return krew.validate(data, "gitops.yaml")

    assert krew.validate(rendered, "kubectl-gitops.yaml") == ["plugin should be named 'kubectl-gitops', not 'gitops'"]
    assert broken(lambda d: d["spec"].update(version=__version__)) == [
        f"failed to parse plugin version {__version__!r}"]
    assert broken(lambda d: d["spec"]["platforms"][0].update(sha256="ABC"))[0].endswith("sha256 value ABC is not valid")
    assert broken(lambda d: d["spec"]["platforms"][0]["selector"]["matchLabels"].update(distro="debian")) \
        == ["spec.platforms[0]: key 'distro' not supported",
            "spec.platforms[0]: selector doesn't match any supported platforms"]
    assert broken(lambda d: d["spec"]["platforms"].append(d["spec"]["platforms"][0]))[0].startswith(
        "multiple spec.platforms (at indexes [0, 1]) select os=linux/arch=amd64")
    assert broken(lambda d: d["spec"].update(shortDescription="x " * 40)) == [
        f"line length in shortDescription exceeds 70 characters: {'x ' * 40!r}"]


# ---------------------------------------------------------------- the archive
def test_archive_is_reproducible_and_krew_extractable(archive):
    assert archive.read_bytes()[:2] == b"\x1f\x8b"
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names, key=lambda n: n + "/" if n in {m.name for m in members if m.isdir()} else n)
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(build.DEFAULT_EPOCH, 0, 0, "", "")}
    assert all(m.isdir() or m.isreg() for m in members)  # krew refuses links and devices
    assert not [n for n in names if ".." in n or n.startswith("/")]
    modes = {m.name: m.mode for m in members}
    assert modes["kubectl-gitops"] == 0o755 and modes["LICENSE"] == 0o644
    assert {n.split("/")[1] for n in names if n.startswith("lib/") and n.count("/") >= 2} == {
        "any", "cp311", "cp312", "cp313", "cp314"}
    assert "lib/any/kubectl_gitops/_data/charts/gitops-platform/Chart.yaml" in names
    assert any(n.startswith("lib/cp314/yaml/_yaml.cpython-314-x86_64-linux-gnu") for n in names)


def test_archive_writers_give_the_same_bytes_for_the_same_files(tmp_path):
    files = {"b/x.txt": (0o644, b"x"), "LICENSE": (0o644, b"license"), "a": (0o755, b"#!/bin/sh\n")}
    for writer, suffix in ((build._write_tar_gz, "tar.gz"), (build._write_zip, "zip")):
        first, second = tmp_path / f"1.{suffix}", tmp_path / f"2.{suffix}"
        writer(first, files, build.DEFAULT_EPOCH)
        writer(second, dict(reversed(list(files.items()))), build.DEFAULT_EPOCH)
        assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(tmp_path / "1.zip") as zf:
        assert [i.filename for i in zf.infolist()] == ["LICENSE", "a", "b/", "b/x.txt"]
        assert (zf.getinfo("a").external_attr >> 16) & 0o777 == 0o755  # krew takes the mode from here


def test_windows_executable_is_pips_launcher_with_our_launcher_appended():
    exe = build._windows_exe(build.windows_launcher())
    assert exe[:2] == b"MZ"
    with zipfile.ZipFile(io.BytesIO(exe)) as zf:  # python.exe runs the appended zip's __main__.py
        assert zf.read("__main__.py") == build.LAUNCHER.read_bytes()
    assert b"#!python.exe\r\nPK\x03\x04" in exe


# ---------------------------------------------------------------- installed the krew way
def test_krew_install_runs_with_no_virtual_environment(krew_root, tools_dir, tmp_path):
    link = krew_root / "bin" / "kubectl-gitops"
    assert link.is_symlink() and not os.readlink(link).startswith("/")
    assert (krew_root / "store" / "gitops" / f"v{__version__}" / "LICENSE").is_file()
    env = clean_env(tmp_path, krew_root / "bin", tools_dir)
    out = run(["kubectl", "gitops", "--version"], env=env)
    assert (out.returncode, out.stdout, out.stderr) == (0, f"kubectl gitops {__version__}\n", "")
    out = run(["kubectl", "gitops", "bootstrap", "--dry-run", "--config", EXAMPLE, "-o", "json"], env=env,
              cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)
    assert plan and "bl-k8s-platform" in out.stdout
    imported = run(["python3", "-c", "import sys; print(sys.prefix == sys.base_prefix)"], env=env)
    assert imported.stdout.strip() == "True"


def test_krew_install_plugin_list_and_completion(krew_root, tools_dir, tmp_path):
    bin_dir = krew_root / "bin"
    env = clean_env(tmp_path, bin_dir, tools_dir)
    out = run(["kubectl", "plugin", "list"], env=env)
    assert out.returncode == 0 and "warning" not in (out.stdout + out.stderr).lower(), out.stdout + out.stderr
    assert [Path(line).name for line in out.stdout.splitlines() if "/" in line] == ["kubectl-gitops"]
    # the caveats' completion step, run in krew's bin directory
    subprocess.run(["ln", "-s", os.readlink(bin_dir / "kubectl-gitops"), "kubectl_complete-gitops"], cwd=bin_dir,
                   check=True)
    try:
        out = run(["kubectl", "__complete", "gitops", ""], env=env)
        values = [line.split("\t")[0] for line in out.stdout.splitlines()[:-1]]
        assert sorted(values) == COMMANDS and out.stdout.splitlines()[-1] == ":4"
        out = run(["kubectl", "__complete", "gitops", "b"], env=env)
        assert [line.split("\t")[0] for line in out.stdout.splitlines()] == ["bootstrap", "build", "builds", ":4"]
    finally:
        (bin_dir / "kubectl_complete-gitops").unlink()


def test_launcher_refuses_a_python_it_has_no_wheels_for(tmp_path, tools_dir):
    (tmp_path / "lib" / "any").mkdir(parents=True)
    shutil.copy(build.LAUNCHER, tmp_path / "kubectl-gitops")
    out = run(["python3", tmp_path / "kubectl-gitops", "--version"], env=clean_env(tmp_path, tools_dir))
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr == (f"error: kubectl-gitops needs Python 3.11 to 3.14 as python3 on PATH; found "
                          f"{sys.version_info[0]}.{sys.version_info[1]} at {tools_dir / 'python3'}\n")


# ---------------------------------------------------------------- argocd gitops
def argocd(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """What argocd >= 3.1 does with a command it does not know (argo-cd cmd/argocd/commands/plugin.go).

    Built-in commands win; otherwise the first word after ``argocd`` names ``argocd-<word>``, looked
    up on PATH (exec.LookPath), and run with the remaining arguments and the same environment.
    """
    assert args and not args[0].startswith("-") and args[0] not in ARGOCD_BUILTINS
    found = shutil.which(f"argocd-{args[0]}", path=env["PATH"])
    assert found, f"Error: unknown command {args[0]!r} for \"argocd\""
    return run([found, *args[1:]], env=env)


def test_argocd_finds_the_plugin_from_the_krew_install(krew_root, tools_dir, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "argocd-gitops").symlink_to(os.path.realpath(krew_root / "bin" / "kubectl-gitops"))
    env = clean_env(tmp_path, bin_dir, tools_dir)
    out = argocd(["gitops", "validate", "--help"], env)
    assert out.returncode == 0 and out.stdout.startswith("Usage: argocd gitops validate"), out.stderr


# ---------------------------------------------------------------- pip and pipx
@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> list[Path]:
    """This checkout's wheel and the locked wheels for this Python: pip needs no index."""
    own = tmp_path_factory.mktemp("own")
    build.project_wheel(own)
    return [own, build.download(build.TARGETS["linux/amd64"], f"{sys.version_info[0]}.{sys.version_info[1]}")]


def _find_links(dirs: list[Path]) -> list[str]:
    return ["--no-index", *(arg for d in dirs for arg in ("--find-links", str(d)))]


def _offline_pip_env(home: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def test_pip_install_in_a_fresh_venv(wheelhouse, tools_dir, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([BASE_PYTHON, "-m", "venv", venv], check=True, timeout=120)
    out = run([venv / "bin" / "pip", "install", "--quiet", *_find_links(wheelhouse), "kubectl-gitops"],
              env=_offline_pip_env(tmp_path), timeout=600)
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (venv / "bin").glob("*gitops*")) == [
        "argocd-gitops", "kubectl-gitops", "kubectl_complete-gitops"]
    env = clean_env(tmp_path, venv / "bin", tools_dir)
    out = run(["kubectl", "plugin", "list"], env=env)
    assert out.returncode == 0 and "warning" not in (out.stdout + out.stderr).lower()
    out = run(["kubectl", "gitops", "validate", "--config", EXAMPLE, "-o", "json"], env=env, cwd=tmp_path,
              timeout=300)
    assert out.returncode == 0, out.stderr
    out = argocd(["gitops", "--version"], env)
    assert out.stdout == f"argocd gitops {__version__}\n"


def test_pipx_install(wheelhouse, tools_dir, tmp_path):
    tools = build.cache_root() / ("pipx-" + "-".join(r.replace("==", "-") for r in PIPX))
    if not any(tools.glob("pipx-*.whl")):
        build._pip("download", "--quiet", "--only-binary=:all:", "--dest", str(tools), *PIPX)
    venv = tmp_path / "pipx-venv"
    subprocess.run([BASE_PYTHON, "-m", "venv", venv], check=True, timeout=120)
    env = _offline_pip_env(tmp_path)
    out = run([venv / "bin" / "pip", "install", "--quiet", *_find_links([tools]), "pipx"], env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    pipx_env = {**env, "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "bin"),
                "PIPX_MAN_DIR": str(tmp_path / "man"), "USE_EMOJI": "0"}
    (own,) = wheelhouse[0].glob("*.whl")
    out = run([venv / "bin" / "pipx", "install", "--pip-args", " ".join(_find_links([*wheelhouse, tools])), own],
              env=pipx_env, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert sorted(p.name for p in (tmp_path / "bin").iterdir()) == [
        "argocd-gitops", "kubectl-gitops", "kubectl_complete-gitops"]
    env = clean_env(tmp_path, tmp_path / "bin", tools_dir)
    out = run(["kubectl", "gitops", "--version"], env=env)
    assert out.stdout == f"kubectl gitops {__version__}\n"
    out = run(["kubectl", "plugin", "list"], env=env)
    assert out.returncode == 0 and "warning" not in (out.stdout + out.stderr).lower()
