"""A git host stand-in: bare repositories served over smart HTTP by the real ``git http-backend``.

:class:`FakeGitHost` is an HTTP server on 127.0.0.1 (random port) that hands every request to
``git http-backend`` (CGI), so real ``git clone``/``fetch``/``push``/``ls-remote`` work against it,
the way they work against GitHub, GitLab or Gitea over HTTPS. Repositories live under ``root``;
:meth:`FakeGitHost.create_repo` makes one and returns its URL ``http://127.0.0.1:PORT/<name>.git``.

Switches (read at each request, so a test may flip them at any time):

- ``token`` and ``auth``: HTTP basic authentication with any username and the token as password,
  required for every request (``auth="all"``, the default once a token is set), only for pushes
  (``auth="push"``), or never (``token=None``). Missing or wrong credentials get ``401`` with
  ``WWW-Authenticate: Basic realm="fakegit"``, as git hosts answer, so git asks its credential
  helpers and then fails with "Authentication failed".
- ``refuse_push``: pushes (``git-receive-pack``) get ``403`` even when authenticated (a token
  without write access).
- :meth:`FakeGitHost.go_away` / :meth:`FakeGitHost.come_back`: the port stops accepting
  connections (connection refused), then serves again on the same port.

``requests`` records each request as a :class:`GitRequest` (method, path, service, the
authenticated user or None); passwords and Authorization headers are never recorded.
Pushing needs ``http.receivepack`` true in the repository (``create_repo`` sets it), since
``git http-backend`` otherwise allows pushes only to authenticated users.

Where it differs from a real git host: one HTTP/1.1 request per CGI run with the whole body read
first (no streaming); no TLS; no per-repository permissions; repositories that do not exist get
``git http-backend``'s own 404 whatever the credentials (GitHub answers 404 for private ones too).
Nagle's algorithm is off on accepted sockets.
"""

from __future__ import annotations

import base64
import hmac
import os
import socket
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

REALM = "fakegit"


@dataclass(frozen=True)
class GitRequest:
    method: str
    path: str
    service: str | None  # git-upload-pack (clone/fetch/ls-remote) or git-receive-pack (push)
    user: str | None  # the authenticated username, None when no valid credentials were sent
    status: int


class FakeGitHost:
    """A smart-HTTP git server over bare repositories in ``root``; see the module docstring."""

    def __init__(self, root: Path, *, token: str | None = None, auth: str = "all") -> None:
        if auth not in ("all", "push"):
            raise ValueError("auth is 'all' or 'push'")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.auth = auth
        self.refuse_push = False
        self.requests: list[GitRequest] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    # ------------------------------------------------------------ lifecycle
    def start(self) -> FakeGitHost:
        host = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def get_request(self):
                conn, addr = super().get_request()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return conn, addr

        self._httpd = Server(("127.0.0.1", self._port), _make_handler(host))
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-git-host", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def go_away(self) -> None:
        """Stop listening: connections to the port are refused until :meth:`come_back`."""
        self.stop()

    def come_back(self) -> None:
        self.start()

    def __enter__(self) -> FakeGitHost:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # ------------------------------------------------------------ repositories
    def create_repo(self, name: str, *, empty: bool = True, branch: str = "main") -> str:
        """A bare repository ``<root>/<name>.git`` (pushes allowed), its HEAD on ``branch``; with
        ``empty=False`` it holds one commit (a README) on that branch. Returns its URL."""
        path = self.path(name)
        subprocess.run(["git", "init", "--bare", "-q", f"--initial-branch={branch}", str(path)], check=True,
                       timeout=60)
        subprocess.run(["git", "-C", str(path), "config", "http.receivepack", "true"], check=True, timeout=60)
        if not empty:
            env = _identity_env()
            blob = subprocess.run(["git", "-C", str(path), "hash-object", "-w", "--stdin"], input=f"# {name}\n",
                                  capture_output=True, text=True, check=True, timeout=60).stdout.strip()
            tree = subprocess.run(["git", "-C", str(path), "mktree"], input=f"100644 blob {blob}\tREADME.md\n",
                                  capture_output=True, text=True, check=True, timeout=60).stdout.strip()
            commit = subprocess.run(["git", "-C", str(path), "commit-tree", tree, "-m", "Initial commit"],
                                    capture_output=True, text=True, check=True, timeout=60, env=env).stdout.strip()
            subprocess.run(["git", "-C", str(path), "update-ref", f"refs/heads/{branch}", commit], check=True,
                           timeout=60)
        return self.repo_url(name)

    def path(self, name: str) -> Path:
        return self.root / f"{name}.git"

    def repo_url(self, name: str) -> str:
        return f"{self.url}/{name}.git"

    def authenticated_url(self, name: str, user: str = "git") -> str:
        """The repository URL with the token as password (for tests' own clones and pushes)."""
        return f"http://{user}:{self.token}@127.0.0.1:{self._port}/{name}.git"

    # ------------------------------------------------------------ request handling
    def _user(self, header: str | None) -> str | None:
        """The username of valid basic credentials, else None. Never returns or stores the password."""
        if not header or not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        if self.token is None or not hmac.compare_digest(password.encode(), self.token.encode()):
            return None
        return user or "git"

    def _record(self, request: GitRequest) -> None:
        with self._lock:
            self.requests.append(request)


def _identity_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GIT_AUTHOR_NAME="Fake Git Host", GIT_AUTHOR_EMAIL="host@example.com",
               GIT_COMMITTER_NAME="Fake Git Host", GIT_COMMITTER_EMAIL="host@example.com")
    return env


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _make_handler(host: FakeGitHost):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fakegit"

        def log_message(self, *args):
            pass

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

        def _reply(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _serve(self, method: str) -> None:
            split = urlsplit(self.path)
            query = parse_qs(split.query)
            service = (query.get("service") or [None])[0]
            if service is None and split.path.endswith(("/git-upload-pack", "/git-receive-pack")):
                service = split.path.rsplit("/", 1)[1]
            body = _read_body(self) if method == "POST" else b""
            user = host._user(self.headers.get("Authorization"))
            push = service == "git-receive-pack"
            needs_auth = host.token is not None and (host.auth == "all" or push)

            def done(code: int) -> None:
                host._record(GitRequest(method, split.path, service, user, code))

            if needs_auth and user is None:
                done(401)
                self._reply(401, b"Authentication required\n",
                            {"WWW-Authenticate": f'Basic realm="{REALM}"', "Content-Type": "text/plain"})
                return
            if push and host.refuse_push:
                done(403)
                self._reply(403, b"Pushes to this repository are not allowed\n", {"Content-Type": "text/plain"})
                return
            env = {
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "GIT_PROJECT_ROOT": str(host.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "GIT_CONFIG_NOSYSTEM": "1",
                "HOME": str(host.root),
                "REQUEST_METHOD": method,
                "PATH_INFO": split.path,
                "QUERY_STRING": split.query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_ADDR": self.client_address[0],
                "SERVER_PROTOCOL": "HTTP/1.1",
                "GATEWAY_INTERFACE": "CGI/1.1",
            }
            if user is not None:
                env["REMOTE_USER"] = user
            for header, var in (("Content-Encoding", "HTTP_CONTENT_ENCODING"), ("Git-Protocol", "GIT_PROTOCOL")):
                if self.headers.get(header):
                    env[var] = self.headers[header]
            proc = subprocess.run(["git", "http-backend"], input=body, capture_output=True, env=env, timeout=300)
            head, _, payload = proc.stdout.partition(b"\r\n\r\n")
            if not _:
                head, _, payload = proc.stdout.partition(b"\n\n")
            code, headers = 200, {}
            for line in head.decode("latin-1").splitlines():
                key, _, value = line.partition(":")
                if key.lower() == "status":
                    code = int(value.strip().split()[0])
                elif key:
                    headers[key.strip()] = value.strip()
            if proc.returncode != 0 and not proc.stdout:
                code, payload, headers = 500, proc.stderr, {"Content-Type": "text/plain"}
            done(code)
            self._reply(code, payload, headers)

    return Handler
