"""In-process DigitalOcean API: ``responses`` routes every request for the API host here.

Order of work for one request: check it against the OpenAPI spec (a violation raises
``SpecViolation`` into the caller and is remembered for the fixture's teardown), log it, apply any
injected failure, check the bearer token, run the handler, check the response against the spec,
then sleep the scripted latency (outside the account lock, so concurrent callers overlap).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import responses
from urllib3.exceptions import ProtocolError

from .account import API_ROOT, ROUTES, Account, ApiError, Call, Reply, error_body
from .clock import ManualClock, RealClock
from .spec import RequestAdapter, ResponseAdapter, SpecChecker, SpecViolation, load_spec

DEFAULT_TOKEN = "dop_v1_" + "f4ked0" * 10 + "cafe"
LOCAL_PASSTHRU = ("http://127.0.0.1", "http://localhost", "https://127.0.0.1", "https://localhost")
_STATUS_KINDS = {"cluster", "load_balancer", "node_pool"}
_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_READ_ONLY_WRITES = {"registry_validate_name"}
_HOST_RE = re.compile(r"https://api\.digitalocean\.com(?:[/?].*)?$")


class UnhandledRoute(AssertionError):
    """The spec allows the request but the fake does not implement it yet."""


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the fake saw it. The token itself is never kept."""

    method: str
    path: str
    query: dict[str, list[str]]
    json: Any
    auth: str  # "valid", "invalid" or "missing"
    status: int | str  # HTTP status returned, or "connection-error" / "spec-violation"
    operation_id: str = ""


@dataclass
class _Injection:
    method: str | None
    pattern: re.Pattern[str]
    remaining: int
    status: int | None
    message: str | None = None
    error_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: int = 0
    lose: bool = False  # serve the request, then drop the answer

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and bool(self.pattern.fullmatch(path))


def _pattern(path: str) -> re.Pattern[str]:
    """A spec-style template (``/v2/kubernetes/clusters/{id}``) or a regular expression."""
    if "{" in path and "}" in path and not re.search(r"\{\d*,?\d*\}", path):
        pieces = re.split(r"(\{[^}]+\})", path)
        return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in pieces))
    return re.compile(path)


class FakeDigitalOcean:
    """A stateful fake DigitalOcean account served to the real ``pydo.Client``.

    Args:
        spec: the parsed spec (``load_spec``) or the path of ``digitalocean-openapi.json``.
        token: the one valid API token (any other bearer token gets 401 ``unauthorized``).
        read_only_tokens: tokens that may read but get 403 ``forbidden`` on writes.
        clock: drives transitions; default ``ManualClock`` (or ``RealClock`` with ``latencies``).
        durations: clock seconds until ``cluster``/``node_pool``/``load_balancer`` are ready.
        latencies: scripted real seconds per kind, e.g. ``{"cluster": 6.0, "load_balancer": 2.0,
            "registry": 0.2, "dns_record": 0.1}``: for kinds with a status it is the time until
            ready (and the clock becomes a ``RealClock``); for the others the create call blocks
            that long.
        create_delays: real seconds the create call of a kind blocks (any kind).
        check_responses: validate every response the fake returns against the spec.
        passthru: URL prefixes ``responses`` lets through (local stand-ins only).

    Failures a test can script: ``fail_next`` (an HTTP error with DigitalOcean's body, 429 with
    rate-limit headers), ``refuse_next`` (no connection), ``lose_next`` (served, answer dropped),
    ``crash_after_writes`` (the client dies after its n-th write: nothing later arrives), and
    ``add_reactor`` (change state after a request, as a controller would). Paths are checked
    and routed decoded, as a server sees them (``%3A`` in a tag name is ``:``).
    """

    api_root = API_ROOT

    def __init__(
        self,
        spec: SpecChecker | Path | str,
        *,
        token: str = DEFAULT_TOKEN,
        read_only_tokens: tuple[str, ...] = (),
        clock: ManualClock | RealClock | None = None,
        durations: dict[str, float] | None = None,
        latencies: dict[str, float] | None = None,
        create_delays: dict[str, float] | None = None,
        check_responses: bool = True,
        passthru: tuple[str, ...] = LOCAL_PASSTHRU,
    ):
        self.spec = spec if isinstance(spec, SpecChecker) else load_spec(Path(spec))
        self.token = token
        self.read_only_tokens = set(read_only_tokens)
        latencies = dict(latencies or {})
        if clock is None:
            clock = RealClock() if latencies else ManualClock()
        self.clock = clock
        ready = {k: v for k, v in latencies.items() if k in _STATUS_KINDS}
        sleeps = {k: v for k, v in latencies.items() if k not in _STATUS_KINDS}
        sleeps.update(create_delays or {})
        self.account = Account(clock, {**(durations or {}), **ready}, sleeps)
        self.check_responses = check_responses
        self.passthru = passthru
        self.log: list[LoggedRequest] = []
        self.violations: list[str] = []
        self._injections: list[_Injection] = []
        self._writes = 0
        self._reactors: list[Callable[[LoggedRequest], None]] = []
        self._crash_after: tuple[int, bool] | None = None
        self._down = False
        self._lock = threading.RLock()
        self._mock: responses.RequestsMock | None = None
        self._routes = [
            (method, _pattern(template), template, getattr(self.account, name)) for method, template, name in ROUTES
        ]
        for method, template, _ in ROUTES:
            if self.spec.find(method, template.replace("{", "x").replace("}", "")) is None:
                raise RuntimeError(f"fake route {method} {template} is not an operation of the spec")

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> FakeDigitalOcean:
        mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
            mock.add_callback(method, _HOST_RE, callback=self._serve, content_type=None)
        for prefix in self.passthru:
            mock.add_passthru(prefix)
        mock.start()
        self._mock = mock
        return self

    def stop(self) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock.reset()
            self._mock = None

    def __enter__(self) -> FakeDigitalOcean:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, token: str | None = None, **kwargs: Any):
        """A real ``pydo.Client`` for this account (default endpoint and transport)."""
        import pydo

        return pydo.Client(token=token or self.token, **kwargs)

    @contextmanager
    def locked(self) -> Iterator[Account]:
        """The account's state, with the lock the API handlers hold: for stand-ins of other DigitalOcean
        systems that change it (the cluster's cloud controller, ``fakeccm``)."""
        with self._lock:
            yield self.account

    # -- time --------------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move a ``ManualClock`` forward (clusters and load balancers become ready on read)."""
        self.clock.advance(seconds)

    def settle(self) -> None:
        """Move a ``ManualClock`` far enough for everything created so far to be ready."""
        self.clock.advance(max(self.account.durations.values(), default=0.0) + 1.0)

    # -- failures ------------------------------------------------------------------------------------
    def fail_next(
        self,
        method: str | None,
        path: str,
        status: int,
        *,
        times: int = 1,
        message: str | None = None,
        error_id: str | None = None,
        headers: dict[str, str] | None = None,
        retry_after: int = 0,
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` (None = any) and ``path`` with
        ``status`` and DigitalOcean's error body. ``path`` is a spec template or a regex matched
        against the whole path. 429 carries ``ratelimit-remaining: 0``, ``ratelimit-reset`` and
        ``Retry-After: retry_after``."""
        with self._lock:
            self._injections.append(
                _Injection(
                    method.upper() if method else None,
                    _pattern(path),
                    times,
                    status,
                    message,
                    error_id,
                    dict(headers or {}),
                    retry_after,
                )
            )

    def refuse_next(self, method: str | None, path: str, *, times: int = 1) -> None:
        """Make the next ``times`` matching requests fail to connect (``requests.ConnectionError``)."""
        with self._lock:
            self._injections.append(_Injection(method.upper() if method else None, _pattern(path), times, None))

    def add_reactor(self, callback: Callable[[LoggedRequest], None]) -> None:
        """Call ``callback(request)`` after each request is served (to play a controller: change a
        resource's state once the client has seen it, for example)."""
        with self._lock:
            self._reactors.append(callback)

    def lose_next(self, method: str | None, path: str, *, times: int = 1) -> None:
        """Serve the next ``times`` matching requests but drop their answers: the change happens,
        the client sees the connection break (``ServiceResponseError`` in pydo)."""
        with self._lock:
            self._injections.append(
                _Injection(method.upper() if method else None, _pattern(path), times, None, lose=True)
            )

    def clear_failures(self) -> None:
        with self._lock:
            self._injections.clear()
            self._crash_after = None
            self._down = False

    def crash_after_writes(self, writes: int, *, lose_response: bool = False) -> None:
        """Play a client that dies after its ``writes``-th successful write from now on.

        That write is applied; with ``lose_response`` its answer never arrives (the client sees
        the connection break, as when a process dies mid-request). Every later request fails to
        connect, so nothing more reaches the account, until ``clear_failures()``. Writes are
        successful POST, PUT, PATCH and DELETE requests, except the read-only name check
        ``registry_validate_name``. ``crashed`` tells whether the crash happened.
        """
        with self._lock:
            self._crash_after = (self._writes + writes, lose_response)
            self._down = False

    @property
    def crashed(self) -> bool:
        with self._lock:
            return self._down

    @property
    def writes(self) -> int:
        """Successful writes served so far (see ``crash_after_writes``)."""
        with self._lock:
            return self._writes

    # -- log -----------------------------------------------------------------------------------------
    def calls(self, method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        """Logged requests, optionally filtered by method and path (template or regex)."""
        pat = _pattern(path) if path else None
        with self._lock:
            return [
                r
                for r in self.log
                if (method is None or r.method == method.upper()) and (pat is None or pat.fullmatch(r.path))
            ]

    def take_violations(self) -> list[str]:
        """Return and forget the spec violations seen so far (for tests that provoke them)."""
        with self._lock:
            out, self.violations = self.violations, []
            return out

    # -- seeding (no HTTP, not logged) ---------------------------------------------------------------
    def seed_registry(self, name: str = "example-registry", tier: str = "basic", region: str = "fra1"):
        with self._lock:
            return self.account.seed_registry(name, tier, region)

    def seed_cluster(
        self,
        name: str = "example",
        *,
        region: str = "fra1",
        version: str = "1.34.1-do.0",
        tags: list[str] | None = None,
        node_pools: list[dict[str, Any]] | None = None,
        running: bool = True,
    ) -> str:
        """Create a cluster directly in state; returns its id. ``running`` backdates it."""
        pools = node_pools or [{"name": "default", "size": "s-2vcpu-4gb", "count": 2}]
        with self._lock:
            cluster = self.account.seed_cluster(
                {"name": name, "region": region, "version": version, "tags": tags or [], "node_pools": pools}
            )
            if running:
                self._backdate(cluster)
                for pool in cluster["_pools"]:
                    for node in pool["_nodes"]:
                        self._backdate(node)
            return cluster["id"]

    def seed_load_balancer(
        self,
        name: str = "example-lb",
        *,
        region: str = "fra1",
        cluster_id: str | None = None,
        active: bool = True,
    ) -> str:
        """Create a load balancer directly in state, optionally associated with a cluster (as
        the cloud controller does for a LoadBalancer Service); returns its id."""
        rules = [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}]
        with self._lock:
            lb = self.account.seed_load_balancer(
                {"name": name, "region": region, "forwarding_rules": rules}, cluster_id
            )
            if active:
                self._backdate(lb)
            return lb["id"]

    def associate_load_balancer(self, cluster_id: str, lb_id: str) -> None:
        """Mark an existing load balancer as owned by a cluster (the adoption annotation)."""
        with self._lock:
            self.account.load_balancers[lb_id]["_cluster"] = cluster_id

    def seed_volume(self, name: str, *, cluster_id: str | None = None) -> str:
        with self._lock:
            vid = str(uuid.uuid4())
            self.account.volumes[vid] = {"id": vid, "name": name, "_cluster": cluster_id}
            return vid

    def reserve_registry_name(self, name: str) -> None:
        """Mark a registry name as taken by another account (names are global at DigitalOcean)."""
        with self._lock:
            self.account.taken_registry_names.add(name)

    def seed_domain(self, name: str, ip_address: str | None = None) -> dict[str, Any]:
        with self._lock:
            return self.account.seed_domain(name, ip_address)

    def set_kube_endpoint(
        self,
        server: str,
        *,
        certificate_authority_data: str | None = None,
        token: str | None = None,
        cluster_id: str | None = None,
    ) -> None:
        """Make cluster credentials point at a Kubernetes stand-in (all clusters, or one)."""
        ep = {"server": server}
        if certificate_authority_data:
            ep["certificate_authority_data"] = certificate_authority_data
        if token:
            ep["token"] = token
        with self._lock:
            if cluster_id is None:
                self.account.kube_endpoint = ep
            else:
                self.account.clusters[cluster_id]["_kube_endpoint"] = ep

    def set_cluster_state(self, cluster_id: str, state: str | None) -> None:
        """Pin a cluster's status (``degraded``, ``error``...); None returns to the clock."""
        with self._lock:
            self.account.clusters[cluster_id]["_state_override"] = state

    def set_load_balancer_status(self, lb_id: str, status: str | None) -> None:
        """Pin a load balancer's status (``errored``); None returns to the clock."""
        with self._lock:
            self.account.load_balancers[lb_id]["_status_override"] = status

    def _backdate(self, obj: dict[str, Any]) -> None:
        obj["_created"] -= max(self.account.durations.values(), default=0.0) + 1.0

    # -- serving -------------------------------------------------------------------------------------
    def _serve(self, request: requests.PreparedRequest):
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes):
            body = b"".join(body)
        headers = dict(request.headers)
        adapter = RequestAdapter(request.method or "GET", request.url or "", headers, body)
        label = f"{adapter.method.upper()} {adapter.path}" + (
            f"?{request.url.split('?', 1)[1]}" if request.url and "?" in request.url else ""
        )
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = body.decode("utf-8", "replace") if body else None
        auth = self._auth_state(headers)
        try:
            op, _ = self.spec.check_request(adapter, label)
        except SpecViolation as exc:
            self._record(adapter, payload, auth, "spec-violation", "")
            with self._lock:
                self.violations.append(str(exc))
            raise
        method = adapter.method.upper()
        with self._lock:
            down = self._down
            injection = None if down else self._take_injection(method, adapter.path)
        if down:
            self._record(adapter, payload, auth, "connection-error", op.operation_id)
            raise requests.ConnectionError(
                f"[fakedo] connection refused for {method} {adapter.path} (client crashed)", request=request
            )
        lose = injection is not None and injection.lose
        if lose:
            injection = None
        if injection is not None and injection.status is None:
            self._record(adapter, payload, auth, "connection-error", op.operation_id)
            raise requests.ConnectionError(
                f"[fakedo] connection refused for {method} {adapter.path} (injected)", request=request
            )
        reply = self._dispatch(method, adapter, payload, auth, injection)
        status, out_headers, text = self._render(reply)
        lost = False
        with self._lock:
            if method in _WRITE_METHODS and status < 400 and op.operation_id not in _READ_ONLY_WRITES:
                self._writes += 1
                if self._crash_after is not None and self._writes >= self._crash_after[0]:
                    self._down = True
                    lost = self._crash_after[1]
                    self._crash_after = None
        if lost or lose:
            self._record(adapter, payload, auth, "connection-error", op.operation_id)
            raise requests.ConnectionError(
                ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer")),
                request=request,
            )
        entry = self._record(adapter, payload, auth, status, op.operation_id)
        if self.check_responses and self._documented(op, status):
            resp = ResponseAdapter(status, out_headers, text.encode("utf-8") if text else b"")
            try:
                self.spec.check_response(adapter, resp, label)
            except SpecViolation as exc:
                with self._lock:
                    self.violations.append(str(exc))
                raise
        self.clock.tick()
        with self._lock:
            reactors = list(self._reactors)
        for reactor in reactors:
            reactor(entry)
        if reply.delay:
            time.sleep(reply.delay)
        return status, out_headers, text

    def _documented(self, op, status: int) -> bool:
        if status < 400:
            return True
        responses_doc = self.spec.document["paths"][op.template][op.method.lower()].get("responses", {})
        return str(status) in responses_doc

    def _auth_state(self, headers: dict[str, str]) -> str:
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if not value.lower().startswith("bearer ") or not value[7:].strip():
            return "missing"
        presented = value[7:].strip()
        if presented == self.token:
            return "valid"
        if presented in self.read_only_tokens:
            return "read-only"
        return "invalid"

    def _take_injection(self, method: str, path: str) -> _Injection | None:
        for inj in self._injections:
            if inj.remaining > 0 and inj.matches(method, path):
                inj.remaining -= 1
                if inj.remaining == 0:
                    self._injections.remove(inj)
                return inj
        return None

    def _dispatch(
        self, method: str, adapter: RequestAdapter, payload: Any, auth: str, injection: _Injection | None
    ) -> Reply:
        if injection is not None:
            assert injection.status is not None
            reply = Reply(injection.status, _ErrorBody(injection.message, injection.error_id), dict(injection.headers))
            if injection.status == 429:
                reply.headers.setdefault("ratelimit-remaining", "0")
                reply.headers.setdefault("ratelimit-reset", str(int(time.time()) + max(1, injection.retry_after)))
                reply.headers.setdefault("Retry-After", str(injection.retry_after))
            return reply
        if auth in {"missing", "invalid"}:
            return Reply(401, _ErrorBody(None, "unauthorized"))
        if auth == "read-only" and method not in {"GET", "HEAD"}:
            return Reply(403, _ErrorBody("You do not have access for the attempted action.", "forbidden"))
        for route_method, pattern, template, handler in self._routes:
            if route_method != method:
                continue
            match = pattern.fullmatch(adapter.path)
            if not match:
                continue
            names = re.findall(r"\{([^}]+)\}", template)
            values = [
                seg
                for seg, tseg in zip(adapter.path.split("/"), template.split("/"), strict=False)
                if tseg.startswith("{")
            ]
            call = Call(
                method,
                adapter.path,
                dict(zip(names, values, strict=False)),
                {k: list(adapter.parameters.query.getlist(k)) for k in adapter.parameters.query},
                payload,
                {k: v for k, v in adapter.parameters.header.items()},
            )
            with self._lock:
                try:
                    return handler(call)
                except ApiError as exc:
                    return Reply(exc.status, _ErrorBody(exc.message, exc.error_id))
        message = f"[fakedo] {method} {adapter.path} is allowed by the spec but not implemented by the fake"
        with self._lock:
            self.violations.append(message)
        raise UnhandledRoute(message)

    def _render(self, reply: Reply) -> tuple[int, dict[str, str], str]:
        request_id = str(uuid.uuid4())
        headers = {
            "ratelimit-limit": "5000",
            "ratelimit-remaining": "4999",
            "ratelimit-reset": str(int(time.time()) + 60),
            "x-request-id": request_id,
        }
        headers.update(reply.headers)
        if isinstance(reply.body, _ErrorBody):
            headers["Content-Type"] = "application/json"
            return (
                reply.status,
                headers,
                error_body(reply.status, reply.body.message, reply.body.error_id, request_id),
            )
        if reply.body is None:
            return reply.status, headers, ""
        headers["Content-Type"] = reply.content_type
        text = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
        return reply.status, headers, text

    def _record(
        self, adapter: RequestAdapter, payload: Any, auth: str, status: int | str, op_id: str
    ) -> LoggedRequest:
        query: dict[str, list[str]] = {}
        for key, value in adapter.query_pairs:
            query.setdefault(key, []).append(value)
        entry = LoggedRequest(adapter.method.upper(), adapter.path, query, payload, auth, status, op_id)
        with self._lock:
            self.log.append(entry)
        return entry


@dataclass
class _ErrorBody:
    message: str | None
    error_id: str | None


@contextmanager
def fake_digitalocean(spec: SpecChecker | Path | str, **kwargs: Any) -> Iterator[FakeDigitalOcean]:
    """Context manager form: ``with fake_digitalocean(spec_path) as do: do.client()...``."""
    fake = FakeDigitalOcean(spec, **kwargs)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
