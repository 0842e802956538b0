"""Amazon's default usage plans as token buckets, one per operation per seller.

A bucket holds at most ``burst`` tokens and refills at ``rate`` tokens per second of the
emulator's clock; each request takes one token, and an empty bucket answers 429 (FACTS.md §4,
the "Usage Plan" table of each operation's description in the models). ``rate_multiplier``
scales both the refill rate and the advertised ``x-amzn-RateLimit-Limit`` so a demo can run fast;
the default of 1 is Amazon's real numbers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal

from ml_connector.core.emulation.clock import Clock


@dataclass(frozen=True, slots=True)
class UsagePlan:
    rate: Decimal  # requests per second
    burst: int


# Operation id -> default usage plan, from the models' operation descriptions.
USAGE_PLANS: dict[str, UsagePlan] = {
    "searchOrders": UsagePlan(Decimal("0.0056"), 20),
    "getOrder": UsagePlan(Decimal("0.5"), 30),
    "listFinancialEventGroups": UsagePlan(Decimal("0.5"), 30),
    "listFinancialEventsByGroupId": UsagePlan(Decimal("0.5"), 30),
    "listFinancialEventsByOrderId": UsagePlan(Decimal("0.5"), 30),
    "listFinancialEvents": UsagePlan(Decimal("0.5"), 30),
    "getReports": UsagePlan(Decimal("0.0222"), 10),
    "createReport": UsagePlan(Decimal("0.0167"), 15),
    "getReport": UsagePlan(Decimal("2"), 15),
    "cancelReport": UsagePlan(Decimal("0.0222"), 10),
    "getReportDocument": UsagePlan(Decimal("0.0167"), 15),
    "getListingsItem": UsagePlan(Decimal("5"), 10),
    "patchListingsItem": UsagePlan(Decimal("5"), 5),
    "getMarketplaceParticipations": UsagePlan(Decimal("0.016"), 15),
}


class RateLimiter:
    """Token buckets keyed by (seller, operation), refilled lazily from the clock."""

    def __init__(self, clock: Clock, rate_multiplier: Decimal | int | str = 1) -> None:
        multiplier = Decimal(str(rate_multiplier))
        if multiplier <= 0:
            raise ValueError("rate_multiplier must be positive")
        self._clock = clock
        self._multiplier = multiplier
        self._buckets: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
        self._lock = threading.Lock()

    def rate(self, operation: str) -> Decimal:
        return USAGE_PLANS[operation].rate * self._multiplier

    def limit_header(self, operation: str) -> str:
        """The ``x-amzn-RateLimit-Limit`` value: the effective rate, as Amazon writes it."""
        return format(self.rate(operation).normalize(), "f")

    def take(self, seller_id: str, operation: str) -> bool:
        """Take one token for ``operation``; False when the bucket is empty (answer 429)."""
        plan = USAGE_PLANS[operation]
        # Time as Decimal keeps the bucket arithmetic exact and reproducible under a FakeClock.
        now = Decimal(repr(self._clock.now()))
        with self._lock:
            tokens, last = self._buckets.get((seller_id, operation), (Decimal(plan.burst), now))
            refilled = min(Decimal(plan.burst), tokens + (now - last) * self.rate(operation))
            if refilled < 1:
                self._buckets[(seller_id, operation)] = (refilled, now)
                return False
            self._buckets[(seller_id, operation)] = (refilled - 1, now)
            return True
