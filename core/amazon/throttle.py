"""Client-side token buckets, one per SP-API operation, so we rarely meet a 429.

Amazon meters each operation with a token bucket: it holds at most ``burst`` tokens, refills at
``rate`` tokens per second, and every request takes one (Usage Plans and Rate Limits). Mirroring
that bucket on our side lets a pull run at the allowed pace instead of bouncing off 429s. Time
comes from an injected :class:`~ml_connector.core.emulation.Clock`, so tests drive it with a
``FakeClock`` and nothing really sleeps.

Times and rates are plain floats: they are seconds, not money.
"""

from __future__ import annotations

import logging
import threading

from ml_connector.core.amazon.operations import Operation
from ml_connector.core.emulation.clock import Clock

log = logging.getLogger("ml_connector.amazon")


_TOKEN_EPSILON = 1e-9
_MIN_WAIT = 0.001


class TokenBucket:
    """``burst`` tokens, refilled continuously at ``rate`` per second; starts full."""

    def __init__(self, rate: float, burst: int, clock: Clock) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a token bucket needs rate > 0 and burst >= 1, got {rate}, {burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock.now()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock.now()
        elapsed = max(now - self._stamp, 0.0)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
        self._stamp = now

    @property
    def tokens(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def wait_time(self) -> float:
        """Seconds until one token is available (0 when one is there now)."""
        with self._lock:
            self._refill()
            return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate

    def take(self) -> float:
        """Take one token, sleeping on the clock until there is one; returns seconds slept."""
        slept = 0.0
        while True:
            with self._lock:
                self._refill()
                if self._tokens >= 1 - _TOKEN_EPSILON:
                    self._tokens = max(self._tokens - 1, 0.0)
                    return slept
                # A wait shorter than the clock's resolution would not move it (epoch seconds
                # near 1.8e9 resolve to ~2e-7 s): the loop would spin forever, so wait at least
                # a millisecond.
                delay = max((1 - self._tokens) / self.rate, _MIN_WAIT)
            self._clock.sleep(delay)
            slept += delay

    def drain(self) -> None:
        """Empty the bucket: Amazon just throttled us, so its bucket is empty whatever ours says."""
        with self._lock:
            self._refill()
            self._tokens = 0.0

    def set_rate(self, rate: float) -> None:
        with self._lock:
            self._refill()
            self.rate = rate


class Throttle:
    """The buckets of every operation a client calls, created on first use from its defaults."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, operation: Operation) -> TokenBucket:
        with self._lock:
            found = self._buckets.get(operation.name)
            if found is None:
                found = TokenBucket(operation.rate, operation.burst, self._clock)
                self._buckets[operation.name] = found
            return found

    def acquire(self, operation: Operation) -> float:
        """Wait for and take a token for one call of ``operation``; returns seconds waited."""
        waited = self.bucket(operation).take()
        if waited:
            log.debug("%s: waited %.3f s for the rate limit", operation.name, waited)
        return waited

    def throttled(self, operation: Operation) -> None:
        self.bucket(operation).drain()

    def observe_rate_header(self, operation: Operation, header: str | None) -> None:
        """Adopt the rate Amazon reports in ``x-amzn-RateLimit-Limit``, when it sends one.

        The header is best-effort (only on 20x, 400 and 404, and not always): absent or
        unparsable values leave the current rate alone. Burst is not in the header and stays.
        """
        if not header:
            return
        try:
            rate = float(header.strip())
        except ValueError:
            log.debug("%s: ignoring unparsable x-amzn-RateLimit-Limit", operation.name)
            return
        if not rate > 0 or rate == float("inf"):
            return
        bucket = self.bucket(operation)
        if rate != bucket.rate:
            log.info(
                "%s: rate limit is %s/s per Amazon (was %s/s)", operation.name, rate, bucket.rate
            )
            bucket.set_rate(rate)
