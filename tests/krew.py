"""krew's manifest rules and its install steps, followed in Python for tests.

Read from kubernetes-sigs/krew: ``internal/index/validation/validate.go`` (ValidatePlugin,
validatePlatform, validateSelector, IsSafePluginName), ``cmd/validate-krew-manifest``
(file name = plugin name, line lengths, every platform matching a supported os/arch, no
overlapping selectors, a LICENSE installed), ``internal/installation/semver`` (semver
with a leading ``v``, k8s.io/apimachinery's ParseSemantic), ``internal/download``
(sha256 checked before extraction; tar entries must be directories or regular files,
no ``..`` and no absolute names) and ``internal/installation`` (``files`` moved into
``store/<plugin>/<version>``, ``bin`` linked as ``bin/kubectl-<name>`` by a relative
symlink, ``.exe`` appended on Windows).

Where it differs from krew: no downloads (the archive is given, as with
``kubectl krew install --archive``), no receipts or index, and only ``matchLabels``
selectors are evaluated (``matchExpressions`` are rejected, which krew allows).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
import zipfile
from pathlib import Path

API_VERSION = "krew.googlecontainertools.github.com/v1alpha2"
SUPPORTED = [("windows", "386"), ("windows", "amd64"), ("windows", "arm64"), ("linux", "386"), ("linux", "amd64"),
             ("linux", "arm"), ("linux", "arm64"), ("linux", "ppc64le"), ("darwin", "386"), ("darwin", "amd64"),
             ("darwin", "arm64")]
LICENSE_NAMES = {"license", "license.txt", "license.md", "licenses", "licenses.txt", "licenses.md", "copying",
                 "copying.txt"}
_SAFE_NAME = re.compile(r"^[\w-]+$")
_WINDOWS_FORBIDDEN = {"con", "prn", "aux", "nul", *(f"{d}{i}" for d in ("com", "lpt") for i in range(1, 10))}
_SHA256 = re.compile(r"^[a-f0-9]{64}$")
# k8s.io/apimachinery/pkg/util/version ParseSemantic, after krew's own check for the leading "v"
_SEMVER = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                     r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z.-]+)?$")


def _selects(selector: dict, os_: str, arch: str) -> bool:
    return all({"os": os_, "arch": arch}.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def validate(manifest: dict, file_name: str) -> list[str]:
    """Every rule the manifest breaks, in krew's words (empty when valid)."""
    problems: list[str] = []
    name = file_name.removesuffix(".yaml")
    if not file_name.endswith(".yaml"):
        problems.append(f"expected manifest extension .yaml but found {Path(file_name).suffix!r}")
    if manifest.get("apiVersion") != API_VERSION:
        problems.append(f"plugin manifest has apiVersion={manifest.get('apiVersion')!r}")
    if manifest.get("kind") != "Plugin":
        problems.append(f"plugin manifest has kind={manifest.get('kind')!r}, but only 'Plugin' is supported")
    if not _SAFE_NAME.match(name) or name.lower() in _WINDOWS_FORBIDDEN:
        problems.append(f"the plugin name {name!r} is not allowed")
    if (manifest.get("metadata") or {}).get("name") != name:
        problems.append(f"plugin should be named {name!r}, not {(manifest.get('metadata') or {}).get('name')!r}")
    spec = manifest.get("spec") or {}
    if not spec.get("shortDescription"):
        problems.append("should have a short description")
    if not spec.get("platforms"):
        problems.append("should have a platform specified")
    if not spec.get("version"):
        problems.append("should have a version specified")
    elif not _SEMVER.match(str(spec["version"])):
        problems.append(f"failed to parse plugin version {spec['version']!r}")
    for i, platform in enumerate(spec.get("platforms") or []):
        where = f"spec.platforms[{i}]"
        for key, message in (("uri", "URI has to be set"), ("sha256", "sha256 sum has to be set"),
                             ("bin", "bin has to be set"),
                             ("files", "can't have a plugin without specifying file operations")):
            if not platform.get(key):
                problems.append(f"{where}: {message}")
        if platform.get("sha256") and not _SHA256.match(platform["sha256"]):
            problems.append(f"{where}: sha256 value {platform['sha256']} is not valid")
        selector = platform.get("selector")
        if selector is None:
            problems.append(f"{where}: nil selector is not supported")
            continue
        labels, expressions = selector.get("matchLabels"), selector.get("matchExpressions")
        if expressions is not None:
            problems.append(f"{where}: matchExpressions are not evaluated by this check")
        if labels is None and not expressions:
            problems.append(f"{where}: empty selector is not supported")
        elif labels is not None and not labels:
            problems.append(f"{where}: matchLabels specified but empty")
        for key in labels or {}:
            if key not in ("os", "arch"):
                problems.append(f"{where}: key {key!r} not supported")
        if not any(_selects(selector, o, a) for o, a in SUPPORTED):
            problems.append(f"{where}: selector doesn't match any supported platforms")
    for os_, arch in SUPPORTED:
        matching = [i for i, p in enumerate(spec.get("platforms") or [])
                    if _selects(p.get("selector") or {}, os_, arch)]
        if len(matching) > 1:
            problems.append(f"multiple spec.platforms (at indexes {matching}) select os={os_}/arch={arch}")
    for key, limit in (("description", 80), ("shortDescription", 70), ("caveats", 80)):
        for line in str(spec.get(key, "")).splitlines():
            if len(line) > limit and " " in line.strip():
                problems.append(f"line length in {key} exceeds {limit} characters: {line!r}")
    return problems


def platform_for(manifest: dict, os_: str, arch: str) -> dict | None:
    """The first platform whose selector matches (krew's matchPlatform)."""
    return next((p for p in manifest["spec"]["platforms"] if _selects(p["selector"], os_, arch)), None)


def _extract(archive: bytes, into: Path) -> None:
    def suspicious(name: str) -> None:
        if ".." in name or name.startswith(("/", "\\")):
            raise ValueError(f"refusing to unpack archive with suspicious entry {name!r}")

    if archive[:2] == b"\x1f\x8b":
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            for member in tar:
                if member.name == "pax_global_header":
                    continue
                suspicious(member.name)
                path = into / member.name
                if member.isdir():
                    path.mkdir(parents=True, exist_ok=True, mode=member.mode)
                elif member.isreg():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(tar.extractfile(member).read())
                    path.chmod(member.mode)
                else:
                    raise ValueError(f"unable to handle file type {member.type!r} for {member.name!r} in tar")
    elif archive[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            for info in zf.infolist():
                suspicious(info.filename)
                path = into / info.filename
                if info.is_dir():
                    path.mkdir(parents=True, exist_ok=True)
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(zf.read(info))
                path.chmod((info.external_attr >> 16) & 0o777)
    else:
        raise ValueError("mime type of the archive is not a supported archive format")


def install(manifest: dict, archive: Path, root: Path, *, os_: str = "linux", arch: str = "amd64") -> Path:
    """Install like ``kubectl krew install --manifest=M --archive=A`` into KREW_ROOT ``root``; returns the link."""
    platform = platform_for(manifest, os_, arch)
    if platform is None:
        raise ValueError(f"plugin does not offer installation for {os_}/{arch}")
    data = archive.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != platform["sha256"]:
        raise ValueError(f"checksum does not match, want: {platform['sha256']}, got {digest}")
    name, version = manifest["metadata"]["name"], manifest["spec"]["version"]
    staging = root / "staging"
    staging.mkdir(parents=True)
    _extract(data, staging)
    install_dir = root / "store" / name / version
    moved = root / "move-tmp"
    moved.mkdir()
    for op in platform.get("files") or [{"from": "*", "to": "."}]:
        if op["to"] != os.path.normpath(op["to"]):
            raise ValueError(f"the provided path is not clean, {op['to']!r}")
        source = staging / op["from"]
        if source.exists():  # a direct move
            target = moved / (source.name if op["to"] == "." else op["to"])
            target.parent.mkdir(parents=True, exist_ok=True)
            source.rename(target)
            continue
        matches = sorted(staging.glob(op["from"]))
        if not matches:
            raise ValueError(f"no files in the plugin archive matched the glob pattern={op['from']}")
        for match in matches:
            target = moved / op["to"] / match.name
            target.parent.mkdir(parents=True, exist_ok=True)
            match.rename(target)
    install_dir.parent.mkdir(parents=True, exist_ok=True)
    moved.rename(install_dir)
    binary = install_dir / platform["bin"]
    if not binary.resolve().is_relative_to(install_dir.resolve()):
        raise ValueError(f"the path {binary} does not extend {install_dir}")
    if not binary.exists():
        raise ValueError(f"can't create symbolic link, source binary ({binary}) cannot be found in extracted archive")
    bin_dir = root / "bin"
    bin_dir.mkdir(exist_ok=True)
    link = bin_dir / ("kubectl-" + name.replace("-", "_") + (".exe" if os_ == "windows" else ""))
    link.symlink_to(os.path.relpath(binary, bin_dir))
    if not any(p.name.lower() in LICENSE_NAMES for p in install_dir.rglob("*") if p.is_file()):
        raise ValueError("LICENSE (or alike) file is not extracted from the archive as part of installation")
    return link
