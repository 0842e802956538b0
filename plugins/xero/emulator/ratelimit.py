"""Xero's API limits: per tenant 60 calls a minute, 5,000 a day and 5 at once; 10,000 a minute
for the whole app.

Windows are rolling (a call counts for the 60 seconds, or 24 hours, after it was admitted).
Every admitted call gets the ``X-DayLimit-Remaining``, ``X-MinLimit-Remaining`` and
``X-AppMinLimit-Remaining`` headers; a refused one gets 429 with ``Retry-After`` (whole seconds
until a slot frees) and ``X-Rate-Limit-Problem``: ``minute``, ``day``, ``concurrent`` or
``appminute``. Refused calls do not count. ``multiplier`` scales every limit (a fast demo may
relax them); it defaults to 1, the real numbers.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field

from ml_connector.core.emulation import Clock

MINUTE = 60
DAY = 24 * 3600
PER_MINUTE = 60
PER_DAY = 5000
CONCURRENT = 5
APP_PER_MINUTE = 10000


@dataclass
class Limits:
    per_minute: int = PER_MINUTE
    per_day: int = PER_DAY
    concurrent: int = CONCURRENT
    app_per_minute: int = APP_PER_MINUTE

    @classmethod
    def scaled(cls, multiplier: int) -> Limits:
        if multiplier < 1:
            raise ValueError("rate multiplier must be a whole number >= 1")
        return cls(
            PER_MINUTE * multiplier,
            PER_DAY * multiplier,
            CONCURRENT * multiplier,
            APP_PER_MINUTE * multiplier,
        )


@dataclass
class Refusal:
    problem: str
    retry_after: int


@dataclass
class _TenantUsage:
    minute: deque[float] = field(default_factory=deque)
    day: deque[float] = field(default_factory=deque)
    in_flight: int = 0


class RateLimiter:
    """Admission control for API calls; thread-safe (the loopback server is threaded)."""

    def __init__(self, clock: Clock, limits: Limits | None = None) -> None:
        self.clock = clock
        self.limits = limits or Limits()
        self._tenants: dict[str, _TenantUsage] = {}
        self._app_minute: deque[float] = deque()
        self._lock = threading.Lock()

    def _usage(self, tenant_id: str) -> _TenantUsage:
        return self._tenants.setdefault(tenant_id, _TenantUsage())

    def _wait(self, window: deque[float], span: int, now: float) -> int:
        return max(1, math.ceil(window[0] + span - now))

    def acquire(self, tenant_id: str) -> Refusal | None:
        """Admit one call (count it and mark it in flight) or say why not."""
        with self._lock:
            now = self.clock.now()
            usage = self._usage(tenant_id)
            for window, span in (
                (usage.minute, MINUTE),
                (usage.day, DAY),
                (self._app_minute, MINUTE),
            ):
                while window and window[0] <= now - span:
                    window.popleft()
            if usage.in_flight >= self.limits.concurrent:
                return Refusal("concurrent", 1)
            if len(self._app_minute) >= self.limits.app_per_minute:
                return Refusal("appminute", self._wait(self._app_minute, MINUTE, now))
            if len(usage.day) >= self.limits.per_day:
                return Refusal("day", self._wait(usage.day, DAY, now))
            if len(usage.minute) >= self.limits.per_minute:
                return Refusal("minute", self._wait(usage.minute, MINUTE, now))
            usage.minute.append(now)
            usage.day.append(now)
            self._app_minute.append(now)
            usage.in_flight += 1
            return None

    def release(self, tenant_id: str) -> None:
        """The admitted call has been answered."""
        with self._lock:
            usage = self._usage(tenant_id)
            usage.in_flight = max(0, usage.in_flight - 1)

    def headers(self, tenant_id: str) -> dict[str, str]:
        """The remaining-calls headers Xero puts on every response."""
        with self._lock:
            usage = self._usage(tenant_id)
            return {
                "X-DayLimit-Remaining": str(max(0, self.limits.per_day - len(usage.day))),
                "X-MinLimit-Remaining": str(max(0, self.limits.per_minute - len(usage.minute))),
                "X-AppMinLimit-Remaining": str(
                    max(0, self.limits.app_per_minute - len(self._app_minute))
                ),
            }
