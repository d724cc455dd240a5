"""Render krew-manifest.yaml (a krew-release-bot template) into the krew manifest of one release.

The template's two placeholders work as in krew-release-bot: ``{{ .TagName }}`` becomes
the tag (``v`` + the package version) and ``{{addURIAndSha "URL" .TagName }}`` becomes
``uri: URL`` and ``sha256:`` of the archive of that name, read from the dist directory.

    python release/manifest.py --dist dist --out dist/gitops.yaml
    python release/manifest.py --dist dist --base-url file:///tmp/dist   # archives served elsewhere
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build  # noqa: E402

TEMPLATE = build.ROOT / "krew-manifest.yaml"
_URI_AND_SHA = re.compile(r'^(?P<indent>[ \t]*)\{\{\s*addURIAndSha\s+"(?P<url>[^"]+)"\s+\.TagName\s*\}\}[ \t]*$', re.M)
_TAG = re.compile(r"\{\{\s*\.TagName\s*\}\}")


def render(dist: Path, *, tag: str | None = None, base_url: str | None = None, only_built: bool = False) -> str:
    """The manifest text for the archives in ``dist``.

    Args:
        dist: directory holding the archives named as the template's URLs end.
        tag: release tag; default ``v`` + the package version (so spec.version equals it).
        base_url: replaces everything before the archive name in each URL (e.g. a local file:// URL).
        only_built: leave out the platforms whose archive is not in ``dist`` (local tests build one).
    """
    tag = tag or f"v{build.version()}"
    text = TEMPLATE.read_text()
    header, _, body = text.partition("apiVersion:")
    body = "apiVersion:" + body
    platforms_at = body.index("  platforms:\n") + len("  platforms:\n")
    head, entries = body[:platforms_at], re.split(r"(?m)^(?=  - selector:)", body[platforms_at:])
    kept = []
    for entry in (e for e in entries if e.strip()):
        match = _URI_AND_SHA.search(entry)
        if not match:
            raise build.BuildError(f"{TEMPLATE.name}: a platform without addURIAndSha")
        url = _TAG.sub(tag, match.group("url"))
        name = url.rsplit("/", 1)[1]
        archive = dist / name
        if not archive.is_file():
            if only_built:
                continue
            raise build.BuildError(f"{archive} is missing: build it first (python release/build.py --all)")
        if base_url:
            url = f"{base_url.rstrip('/')}/{name}"
        indent = match.group("indent")
        entry = entry[:match.start()] + f"{indent}uri: {url}\n{indent}sha256: {build.sha256(archive)}" \
            + entry[match.end():]
        kept.append(entry)
    if not kept:
        raise build.BuildError(f"no release archive in {dist}")
    return _TAG.sub(tag, head) + "".join(kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=build.ROOT / "dist")
    parser.add_argument("--out", type=Path, help="default: <dist>/gitops.yaml")
    parser.add_argument("--tag")
    parser.add_argument("--base-url")
    parser.add_argument("--only-built", action="store_true", help="skip platforms whose archive is missing")
    args = parser.parse_args(argv)
    try:
        text = render(args.dist, tag=args.tag, base_url=args.base_url, only_built=args.only_built)
    except build.BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out = args.out or args.dist / "gitops.yaml"
    out.write_text(text)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
