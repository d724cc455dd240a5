"""Clocks that drive the fake account's state transitions.

``ManualClock`` moves only when a test says so (``advance``) or by a fixed step per request
(``auto_advance``); ``RealClock`` follows wall time, for the scripted-latency mode used by
benchmarks. Both give seconds as floats and an RFC 3339 rendering for ``created_at`` fields.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ManualClock:
    """A clock that only moves when told to.

    Args:
        start: epoch seconds of the first reading (default 2026-01-01T00:00:00Z).
        auto_advance: seconds added after every request the fake serves (0 = never).
    """

    def __init__(self, start: float = 1767225600.0, *, auto_advance: float = 0.0):
        self._now = float(start)
        self.auto_advance = float(auto_advance)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward; returns the new reading."""
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += seconds
            return self._now

    def tick(self) -> None:
        """Called by the fake after each request."""
        if self.auto_advance:
            self.advance(self.auto_advance)


class RealClock:
    """Wall time (monotonic underneath, so transitions are not disturbed by clock changes)."""

    def __init__(self) -> None:
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0)

    def advance(self, seconds: float) -> float:
        raise TypeError("RealClock follows wall time; use a ManualClock to move time by hand")

    def tick(self) -> None:
        return None
