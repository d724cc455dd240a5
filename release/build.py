"""Release archives for krew: one per platform, built reproducibly from PyPI wheels only.

Each archive (``.tar.gz``; ``.zip`` for Windows) holds::

    LICENSE
    kubectl-gitops          launcher (release/launcher.py); on Windows kubectl-gitops.exe
    lib/any/                pure-Python and abi3 wheels, unpacked, this project's wheel included
    lib/cp311/ ... cp314/   the compiled wheels for each supported CPython

and needs only a CPython 3.11 to 3.14 as ``python3`` on PATH (``python.exe`` on
Windows). The wheels are the exact versions in ``release/requirements.txt``, fetched
with ``pip download --only-binary=:all: --platform ... --python-version ...`` and
cached under ``~/.cache/kubectl-gitops-dev/wheels/<hash of the inputs>``.
Entries are sorted, owned by 0:0, dated ``SOURCE_DATE_EPOCH`` (default 1980-01-01),
so the same inputs give the same bytes and a sha256 a manifest can carry.

    python release/build.py                      # this machine's platform, into dist/
    python release/build.py --all --out dist     # every platform krew-manifest.yaml lists
    python release/build.py --lock               # rewrite release/requirements.txt
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "release" / "requirements.txt"
LAUNCHER = ROOT / "release" / "launcher.py"
PYTHONS = ("3.11", "3.12", "3.13", "3.14")
# The Windows launcher stub pip itself uses for console scripts (an .exe running the zip appended to it).
WINDOWS_LAUNCHER = ("distlib==0.4.4", "distlib/t64.exe")
DEFAULT_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest date a zip entry can carry
FORMAT_VERSION = "1"  # bump when the layout changes, so cached downloads are not reused across layouts


@dataclass(frozen=True)
class Target:
    """A krew platform: its selector, pip's platform tags and the marker environment of its Python."""

    os: str
    arch: str
    pip_platforms: tuple[str, ...]
    sys_platform: str
    platform_system: str
    platform_machine: str

    @property
    def key(self) -> str:
        return f"{self.os}/{self.arch}"

    @property
    def windows(self) -> bool:
        return self.os == "windows"

    @property
    def suffix(self) -> str:
        return "zip" if self.windows else "tar.gz"

    @property
    def bin(self) -> str:
        return "kubectl-gitops.exe" if self.windows else "kubectl-gitops"


TARGETS = {t.key: t for t in [
    Target("linux", "amd64", ("manylinux_2_28_x86_64", "manylinux2014_x86_64"), "linux", "Linux", "x86_64"),
    Target("linux", "arm64", ("manylinux_2_28_aarch64", "manylinux2014_aarch64"), "linux", "Linux", "aarch64"),
    Target("darwin", "amd64", ("macosx_11_0_x86_64",), "darwin", "Darwin", "x86_64"),
    Target("darwin", "arm64", ("macosx_11_0_arm64",), "darwin", "Darwin", "arm64"),
    Target("windows", "amd64", ("win_amd64",), "win32", "Windows", "AMD64"),
]}


class BuildError(Exception):
    """A build that cannot go on; the message says what to do."""


def version() -> str:
    text = (ROOT / "plugins" / "kubectl_gitops" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not match:
        raise BuildError("no __version__ in plugins/kubectl_gitops/__init__.py")
    return match.group(1)


def archive_name(target: Target, ver: str | None = None) -> str:
    return f"kubectl-gitops_v{ver or version()}_{target.os}_{target.arch}.{target.suffix}"


def running_target() -> Target:
    machine = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower())
    key = f"{ {'win32': 'windows'}.get(sys.platform, sys.platform)}/{machine}"
    if key not in TARGETS:
        raise BuildError(f"no release archive for {key}; platforms: {', '.join(TARGETS)}")
    return TARGETS[key]


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "kubectl-gitops-dev" / "wheels"


def locked() -> list[str]:
    return [line.split("#")[0].strip() for line in LOCK.read_text().splitlines() if line.split("#")[0].strip()]


def _pip(*args: str, timeout: int = 900) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")] or proc.stderr.splitlines()
        raise BuildError(f"pip {args[0]} failed: {errors[-1] if errors else proc.returncode}")


def download(target: Target, python: str) -> Path:
    """The locked wheels for one platform and Python, downloaded once and cached by the inputs' hash."""
    requirements = locked()
    inputs = json.dumps([FORMAT_VERSION, requirements, target.pip_platforms, python]).encode()
    directory = cache_root() / hashlib.sha256(inputs).hexdigest()[:20]
    if (directory / ".complete").exists():
        return directory
    partial = directory.with_name(directory.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    platforms = [arg for p in target.pip_platforms for arg in ("--platform", p)]
    requirements_file = partial / "requirements.txt"
    requirements_file.write_text("\n".join(requirements) + "\n")
    _pip("download", "--quiet", "--no-deps", "--only-binary=:all:", "--implementation", "cp",
         "--python-version", python, *platforms, "--dest", str(partial), "-r", str(requirements_file))
    requirements_file.unlink()
    (partial / ".complete").write_text(python + "\n")
    try:
        partial.rename(directory)
    except OSError:  # another build finished the same download first
        shutil.rmtree(partial, ignore_errors=True)
    return directory


def windows_launcher() -> bytes:
    requirement, member = WINDOWS_LAUNCHER
    directory = cache_root() / ("launcher-" + requirement.replace("==", "-"))
    wheels = list(directory.glob("*.whl")) if directory.is_dir() else []
    if not wheels:
        directory.mkdir(parents=True, exist_ok=True)
        _pip("download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest", str(directory), requirement)
        wheels = list(directory.glob("*.whl"))
    with zipfile.ZipFile(wheels[0]) as whl:
        return whl.read(member)


def project_wheel(out: Path) -> Path:
    """This checkout as a wheel (hatchling, no network)."""
    _pip("wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(out), str(ROOT))
    (path,) = out.glob("kubectl_gitops-*.whl")
    return path


def _wheel_dir(wheel: Path) -> str:
    """``any`` for pure and abi3 wheels, ``cp3XX`` for wheels built for one CPython."""
    _, _, rest = wheel.name[:-4].partition("-")
    python_tag, abi_tag, _ = rest.split("-")[-3:]
    if abi_tag in ("none", "abi3"):
        return "any"
    return python_tag.split(".")[0]


def _marker_env(target: Target, python: str) -> dict[str, str]:
    return {"sys_platform": target.sys_platform, "platform_system": target.platform_system,
            "platform_machine": target.platform_machine, "os_name": "nt" if target.windows else "posix",
            "python_version": python, "python_full_version": python + ".0", "implementation_name": "cpython",
            "platform_python_implementation": "CPython", "extra": ""}


def check_complete(target: Target, python: str, wheels: Iterable[Path]) -> None:
    """Every dependency a locked wheel declares for this platform and Python is locked too."""
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip always carries one
        from pip._vendor.packaging.requirements import Requirement

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    wheels = list(wheels)
    have = {norm(w.name.split("-")[0]) for w in wheels}
    env = _marker_env(target, python)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as whl:
            (metadata,) = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1]
            text = whl.read(metadata).decode()
        for line in text.splitlines():
            if not line.startswith("Requires-Dist:"):
                continue
            requirement = Requirement(line.split(":", 1)[1].strip())
            if requirement.marker is None or requirement.marker.evaluate(env):
                if norm(requirement.name) not in have:
                    raise BuildError(f"{wheel.name} needs {requirement} on {target.key} Python {python}, which "
                                     f"{LOCK.relative_to(ROOT)} does not list (run python release/build.py --lock)")


def _entries(target: Target, wheels: dict[str, list[Path]]) -> dict[str, tuple[Path, str]]:
    """Archive path -> (wheel, member), from every wheel unpacked into lib/<dir>/."""
    entries: dict[str, tuple[Path, str]] = {}
    for python_dir, paths in wheels.items():
        for wheel in paths:
            with zipfile.ZipFile(wheel) as whl:
                for member in whl.namelist():
                    if member.endswith("/"):
                        continue
                    name = member
                    parts = member.split("/")
                    if parts[0].endswith(".data"):
                        if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                            continue  # scripts, headers, data: not used by an unpacked library
                        name = "/".join(parts[2:])
                    if ".." in name.split("/") or name.startswith("/"):
                        raise BuildError(f"{wheel.name}: suspicious entry {member}")
                    arcname = f"lib/{python_dir}/{name}"
                    if arcname in entries and entries[arcname][0].name != wheel.name:
                        other = entries[arcname]
                        if zipfile.ZipFile(other[0]).read(other[1]) != whl.read(member):
                            raise BuildError(f"{arcname} differs between {other[0].name} and {wheel.name}")
                    entries[arcname] = (wheel, member)
    return entries


def _windows_exe(launcher: bytes) -> bytes:
    """pip's console-script layout: launcher stub, shebang line, zip with __main__.py."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("__main__.py", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        archive.writestr(info, LAUNCHER.read_bytes())
    return launcher + b"#!python.exe\r\n" + buffer.getvalue()


def build(target: Target, out: Path, *, epoch: int | None = None) -> Path:
    """Build the archive for ``target`` into ``out``; returns its path."""
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", DEFAULT_EPOCH)) if epoch is None else epoch
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        own = project_wheel(Path(tmp))
        by_dir: dict[str, dict[str, Path]] = {"any": {own.name: own}}
        for python in PYTHONS:
            downloaded = sorted(download(target, python).glob("*.whl"))
            check_complete(target, python, downloaded)
            for wheel in downloaded:
                by_dir.setdefault(_wheel_dir(wheel), {})[wheel.name] = wheel
        wheels = {d: sorted(paths.values()) for d, paths in by_dir.items()}
        missing = [p for p in PYTHONS if f"cp{p.replace('.', '')}" not in wheels]
        if missing:
            raise BuildError(f"no compiled wheels for Python {', '.join(missing)} on {target.key}")
        files: dict[str, tuple[int, bytes | tuple[Path, str]]] = {
            arcname: (0o644, source) for arcname, source in _entries(target, wheels).items()}
        files["LICENSE"] = (0o644, (ROOT / "LICENSE").read_bytes())
        if target.windows:
            files[target.bin] = (0o755, _windows_exe(windows_launcher()))
        else:
            files[target.bin] = (0o755, LAUNCHER.read_bytes())
        path = out / archive_name(target)
        partial = path.with_name(path.name + ".partial")
        (_write_zip if target.windows else _write_tar_gz)(partial, files, epoch)
        partial.replace(path)
    return path


def _read(source: bytes | tuple[Path, str], opened: dict[Path, zipfile.ZipFile]) -> bytes:
    if isinstance(source, bytes):
        return source
    wheel, member = source
    if wheel not in opened:
        opened[wheel] = zipfile.ZipFile(wheel)
    return opened[wheel].read(member)


def _directories(names: Iterable[str]) -> list[str]:
    dirs = {"/".join(name.split("/")[:i]) for name in names for i in range(1, name.count("/") + 1)}
    return sorted(dirs)


def _write_tar_gz(path: Path, files: dict[str, tuple[int, bytes | tuple[Path, str]]], epoch: int) -> None:
    opened: dict[Path, zipfile.ZipFile] = {}
    with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=6,
                                                  mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
        entries = [(d + "/", None) for d in _directories(files)] + sorted(files.items())
        for name, item in sorted(entries, key=lambda e: e[0]):
            info = tarfile.TarInfo(name.rstrip("/"))
            info.mtime, info.uid, info.gid, info.uname, info.gname = epoch, 0, 0, "", ""
            if item is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
                continue
            mode, source = item
            data = _read(source, opened)
            info.mode, info.size = mode, len(data)
            tar.addfile(info, io.BytesIO(data))
    for whl in opened.values():
        whl.close()


def _write_zip(path: Path, files: dict[str, tuple[int, bytes | tuple[Path, str]]], epoch: int) -> None:
    import time

    date_time = time.gmtime(max(epoch, DEFAULT_EPOCH))[:6]
    opened: dict[Path, zipfile.ZipFile] = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        entries = [(d + "/", None) for d in _directories(files)] + sorted(files.items())
        for name, item in sorted(entries, key=lambda e: e[0]):
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.create_system = 3  # unix, so the modes below are read back (krew uses them)
            if item is None:
                info.external_attr = (0o40755 << 16) | 0x10
                archive.writestr(info, b"")
                continue
            mode, source = item
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, _read(source, opened))
    for whl in opened.values():
        whl.close()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_lock() -> None:
    """Resolve [project].dependencies for this Python and write their exact versions to the lock."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        _pip("install", "--quiet", "--dry-run", "--ignore-installed", "--report", str(report), str(ROOT))
        installs = json.loads(report.read_text())["install"]
    pins = sorted((i["metadata"]["name"], i["metadata"]["version"]) for i in installs
                  if i["metadata"]["name"] != "kubectl-gitops")
    header = [line for line in LOCK.read_text().splitlines() if line.startswith("#")]
    LOCK.write_text("\n".join([*header, *(f"{n}=={v}" for n, v in sorted(pins, key=lambda p: p[0].lower()))]) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", action="append", choices=sorted(TARGETS), help="os/arch (repeatable)")
    parser.add_argument("--all", action="store_true", help="every platform")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--lock", action="store_true", help=f"rewrite {LOCK.relative_to(ROOT)} and stop")
    args = parser.parse_args(argv)
    try:
        if args.lock:
            write_lock()
            print(f"wrote {LOCK}")
            return 0
        targets = list(TARGETS.values()) if args.all else [TARGETS[k] for k in args.platform or []]
        for target in targets or [running_target()]:
            path = build(target, args.out)
            print(f"{sha256(path)}  {path}")
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
