"""How a target client retries: a bounded, jittered backoff and the server's ``Retry-After``.

Every target plugin's client throttles and retries the same way (FACTS.md: honour the server's
hint, else back off with jitter, a bounded number of times); the policy and the reading of the
header live here once. Amazon's client has its own curve (``core/amazon/backoff.py``), as
Amazon's guidance differs.
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying: attempts per request and the backoff curve (seconds)."""

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Jittered exponential backoff: between half and all of the cap for try ``attempt``."""
        ceiling = min(self.max_delay, self.base_delay * 2.0**attempt)
        return ceiling / 2 + rng.random() * ceiling / 2


def retry_after(response: httpx.Response, *, now: float) -> float | None:
    """The wait in seconds ``response``'s ``Retry-After`` asks for (a number of seconds or an
    HTTP date, measured from ``now``), or None when it has none that can be read."""
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return float(value)
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)
