"""Exponential backoff with full jitter, bounded, from a seedable random generator.

"Full jitter" (delay drawn uniformly from 0 up to the exponential ceiling) spreads retries of
many workers apart better than a fixed exponential delay does. The generator is injected so a
test can seed it and know every delay in advance.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Retry ``max_retries`` times; before retry ``n`` (0-based) wait U(0, min(cap, base * 2**n))."""

    max_retries: int = 5
    base_seconds: float = 1.0
    cap_seconds: float = 60.0
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.base_seconds <= 0 or self.cap_seconds <= 0:
            raise ValueError("backoff needs max_retries >= 0 and positive base and cap")

    def ceiling(self, retry: int) -> float:
        return min(self.cap_seconds, self.base_seconds * 2.0**retry)

    def delay(self, retry: int) -> float:
        return float(self.rng.uniform(0, self.ceiling(retry)))

    @classmethod
    def seeded(cls, seed: int | None, **kw: float | int) -> Backoff:
        return cls(rng=random.Random(seed), **kw)  # type: ignore[arg-type]
