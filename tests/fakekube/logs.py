"""Container logs of the Kubernetes API stand-in: ``GET /api/v1/namespaces/{ns}/pods/{name}/log``.

What the kubelet would hold is kept here: the lines each container of each Pod printed, with the time
each was written. Controllers and tests write them with :meth:`FakeKube.append_log` and move containers
through their states with :meth:`FakeKube.set_container_state` (``waiting`` -> ``running`` ->
``terminated``), or write the Pod's ``status.containerStatuses`` themselves: the log endpoint reads the
states from the stored Pod, as the API server asks the kubelet.

The endpoint answers as the API server does (``pkg/registry/core/pod/strategy.go`` ``LogLocation`` and the
kubelet's log handler):

- ``container``: required when the Pod has more than one container: 400 ``a container name must be
  specified for pod P, choose one of: [a b]`` (``or one of the init containers: [...]`` appended when
  there are some); an unknown name: 400 ``container X is not valid for pod P``; a missing Pod: 404;
- a container that is waiting (or has no status yet): 400 ``container "X" in pod "P" is waiting to
  start: <reason>`` (the waiting reason; ``ContainerCreating`` when there is no status);
- ``text/plain``, chunked; ``follow=true`` keeps the response open and sends each new line as it is
  written, and ends once the container has terminated (or the Pod is deleted or replaced) and every
  line it wrote was sent;
- ``timestamps=true`` (RFC 3339 with nanoseconds, then a space), ``tailLines``, ``sinceSeconds``,
  ``sinceTime``, ``limitBytes``; ``previous=true`` gets the kubelet's 400 (containers are never restarted
  here).

Where it differs: lines are stored per Pod uid in memory, never rotated; no node or kubelet is
involved (a Pod with no ``nodeName`` still serves its logs); stdout and stderr are one stream, as the
kubelet merges them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from .resources import Resource


def _format_time(ts: float) -> str:
    whole = datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{int(round((ts - int(ts)) * 1e9)):09d}Z"


def _parse_time(value: str) -> float:
    text = value.strip().replace("Z", "+00:00")
    if "." in text:  # Python parses at most microseconds
        head, _, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits):]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    return datetime.fromisoformat(text).timestamp()


def _container_names(containers) -> str:
    return " ".join(c.get("name", "") for c in containers or [])


def container_state(pod: dict, container: str) -> tuple[str, dict]:
    """(``waiting``|``running``|``terminated``, details) of a container from the Pod's status."""
    status = pod.get("status") or {}
    for entry in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if entry.get("name") == container:
            state = entry.get("state") or {}
            for key in ("terminated", "running", "waiting"):
                if key in state:
                    return key, state[key] or {}
    return "waiting", {"reason": "ContainerCreating"}


def check_request(res: Resource, pod: dict, query: dict, error) -> str:
    """The container a log request is for, or ``error(code, reason, message)`` raised as the API server would."""
    name = pod["metadata"]["name"]
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    init = spec.get("initContainers") or []
    container = query.get("container", "")
    if not container:
        if len(containers) == 1:
            container = containers[0].get("name", "")
        elif not containers:
            raise error(400, "BadRequest", f"a container name must be specified for pod {name}")
        else:
            message = (f"a container name must be specified for pod {name}, "
                       f"choose one of: [{_container_names(containers)}]")
            if init:
                message += f" or one of the init containers: [{_container_names(init)}]"
            raise error(400, "BadRequest", message)
    elif not any(c.get("name") == container for c in containers + init):
        raise error(400, "BadRequest", f"container {container} is not valid for pod {name}")
    for key in ("tailLines", "limitBytes", "sinceSeconds"):
        if key in query:
            try:
                value = int(query[key])
            except ValueError:
                raise error(400, "BadRequest", f'strconv.ParseInt: parsing "{query[key]}": invalid syntax') from None
            if value < (0 if key == "tailLines" else 1):
                bound = "greater than or equal to 0" if key == "tailLines" else "greater than 0"
                raise error(422, "Invalid", f'PodLogOptions "{name}" is invalid: {key}: Invalid value: {value}: '
                                            f"must be {bound}")
    if "sinceTime" in query:
        try:
            _parse_time(query["sinceTime"])
        except ValueError:
            raise error(400, "BadRequest", f'parsing time "{query["sinceTime"]}" as "2006-01-02T15:04:05Z07:00": '
                                           "cannot parse") from None
    if query.get("previous") in ("true", "1"):
        raise error(400, "BadRequest",
                    f'previous terminated container "{container}" in pod "{name}" not found')
    state, details = container_state(pod, container)
    if state == "waiting":
        raise error(400, "BadRequest", f'container "{container}" in pod "{name}" is waiting to start: '
                                       f'{details.get("reason") or "ContainerCreating"}')
    return container


class LogFilter:
    """tailLines/sinceTime/sinceSeconds/limitBytes/timestamps of one request."""

    def __init__(self, query: dict) -> None:
        self.timestamps = query.get("timestamps") in ("true", "1")
        self.tail = int(query["tailLines"]) if "tailLines" in query else None
        self.limit = int(query["limitBytes"]) if "limitBytes" in query else None
        since = None
        if "sinceSeconds" in query:
            since = time.time() - int(query["sinceSeconds"])
        if "sinceTime" in query:
            since = _parse_time(query["sinceTime"])
        self.since = since
        self.sent = 0

    def first(self, lines: list[tuple[float, str]]) -> list[tuple[float, str]]:
        if self.since is not None:
            lines = [entry for entry in lines if entry[0] >= self.since]
        if self.tail is not None:
            lines = lines[len(lines) - self.tail:] if self.tail else []
        return lines

    def render(self, lines: list[tuple[float, str]]) -> tuple[bytes, bool]:
        """The bytes to send and whether ``limitBytes`` is reached."""
        data = b"".join(((_format_time(ts) + " ") if self.timestamps else "").encode() + line.encode()
                        for ts, line in lines)
        if self.limit is not None and self.sent + len(data) >= self.limit:
            data = data[: self.limit - self.sent]
            self.sent += len(data)
            return data, True
        self.sent += len(data)
        return data, False


def stream(kube, handler, namespace: str, pod: dict, container: str, query: dict) -> int:
    """Answer one log request (called without the store lock held)."""
    uid = pod["metadata"]["uid"]
    key = (namespace, pod["metadata"]["name"], uid, container)
    follow = query.get("follow") in ("true", "1")
    filt = LogFilter(query)
    with kube._lock:
        lines = list(kube._logs.get(key, []))
    position = len(lines)
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.send_header("Cache-Control", "no-cache, private")
    handler.end_headers()

    def write(data: bytes) -> None:
        if data:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            handler.wfile.flush()

    try:
        data, done = filt.render(filt.first(lines))
        write(data)
        while follow and not done and not kube._stopping.is_set():
            with kube._cond:
                pending = kube._logs.get(key, [])[position:]
                if not pending:
                    current = kube._store[("", "pods")].get((namespace, pod["metadata"]["name"]))
                    if (current is None or current["metadata"].get("uid") != uid
                            or container_state(current, container)[0] == "terminated"):
                        break
                    kube._cond.wait(0.25)
                    continue
                position += len(pending)
            pending = [e for e in pending if filt.since is None or e[0] >= filt.since]
            data, done = filt.render(pending)
            write(data)
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()
    except (BrokenPipeError, ConnectionResetError, OSError):
        handler.close_connection = True
    return 200
