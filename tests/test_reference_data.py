"""`python tests/tools.py --reference`: the pinned upstream reference data, fetched by URL and hash-checked.

Upstream is served here by an HTTP server on 127.0.0.1 holding copies of the reference files made at
test time (the machines that run the tests have no internet)."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import threading
from urllib.parse import urlparse

import pytest

import tools


@pytest.fixture
def upstream(tmp_path, shared_reference):
    """An HTTP server serving a copy of every reference file at its upstream URL's path."""
    root = tmp_path / "upstream"
    for item in tools.REFERENCE:
        if item.url:
            target = root / urlparse(item.url).path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shared_reference / item.path, target)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield root, lambda url: base + urlparse(url).path
    server.shutdown()
    server.server_close()


def test_pinned_hashes_are_those_of_the_reference_files(shared_reference):
    for item in tools.REFERENCE:
        assert hashlib.sha256((shared_reference / item.path).read_bytes()).hexdigest() == item.sha256, item.path
    on_disk = {str(p.relative_to(shared_reference)) for p in shared_reference.rglob("*")
               if p.is_file() and p.name != "PROVENANCE.txt"}
    assert on_disk == {item.path for item in tools.REFERENCE}


def test_fetch_puts_every_file_in_place_and_a_second_run_fetches_nothing(upstream, tmp_path):
    root, rewrite = upstream
    dest = tmp_path / "cache"
    notes = tools.fetch_reference(dest, rewrite=rewrite)
    assert len(notes) == 1 and "digitalocean-openapi.json" in notes[0]  # no URL serves the bundled spec
    for item in tools.REFERENCE:
        if item.url:
            assert hashlib.sha256((dest / item.path).read_bytes()).hexdigest() == item.sha256
    assert not list(dest.rglob("*.partial"))
    shutil.rmtree(root)  # upstream gone: nothing is fetched again
    assert len(tools.fetch_reference(dest, rewrite=rewrite)) == 1
    assert tools.find_reference({"GITOPS_SHARED_REFERENCE": str(dest)}) == dest


def test_a_sha256_mismatch_stops_and_leaves_nothing(upstream, tmp_path):
    root, rewrite = upstream
    item = next(i for i in tools.REFERENCE if i.url)
    served = root / urlparse(item.url).path.lstrip("/")
    served.write_bytes(served.read_bytes() + b"# changed upstream\n")
    dest = tmp_path / "cache"
    with pytest.raises(SystemExit, match="does not match the pinned"):
        tools.fetch_reference(dest, files=[item], rewrite=rewrite)
    assert not (dest / item.path).exists()
    assert not list(dest.rglob("*.partial"))


def test_an_unreachable_upstream_leaves_nothing(tmp_path):
    item = next(i for i in tools.REFERENCE if i.url)
    dest = tmp_path / "cache"
    with pytest.raises(OSError):
        tools.fetch_reference(dest, files=[item], rewrite=lambda url: "http://127.0.0.1:9/x", timeout=5)
    assert not [p for p in dest.rglob("*") if p.is_file()]


def test_where_the_tests_find_the_reference_data(tmp_path):
    assert tools.find_reference({"GITOPS_SHARED_REFERENCE": str(tmp_path / "nope")}) is None
    clone = tmp_path / "clone"
    clone.mkdir()
    beside = tmp_path / "shared" / "reference" / "crds"
    beside.mkdir(parents=True)
    assert tools.find_reference({}, repo_root=clone) == beside.parent
    assert tools.find_reference({"GITOPS_SHARED_REFERENCE": str(tmp_path)}, repo_root=clone) == tmp_path
