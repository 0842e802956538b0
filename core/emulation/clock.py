"""Time as a dependency: the real clock in production, a fake one that tests advance by hand."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a fake clock just advances)."""


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock that moves only when told to, or when somebody sleeps on it."""

    def __init__(self, start: float | dt.datetime = 1_800_000_000.0) -> None:
        if isinstance(start, dt.datetime):
            start = start.timestamp()
        self._now = float(start)
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self._now += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


def utcnow(clock: Clock) -> dt.datetime:
    """The clock's time as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(clock.now(), tz=dt.UTC)
