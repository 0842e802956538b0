"""Token buckets at Amazon's documented rate and burst, and the 429 they answer."""

from __future__ import annotations

from decimal import Decimal

import pytest
from emulator_session import Session, body

from ml_connector.core.amazon.emulator import AmazonEmulator
from ml_connector.core.amazon.emulator.ratelimit import USAGE_PLANS, RateLimiter
from ml_connector.core.emulation import FakeClock

QUOTA_BODY = {
    "errors": [
        {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}
    ]
}
GROUPS = "/finances/v0/financialEventGroups"


@pytest.fixture
def real_rates(clock: FakeClock) -> Session:
    """A session against Amazon's real (unscaled) rates, with no time passing between calls."""
    return Session(AmazonEmulator(seed=3, orders=30, clock=clock), clock)


def test_the_burst_is_served_then_429_without_retry_after(real_rates: Session) -> None:
    burst = USAGE_PLANS["getMarketplaceParticipations"].burst
    path = "/sellers/v1/marketplaceParticipations"
    for _ in range(burst):
        response = real_rates.get(path)
        assert response.status_code == 200
        assert response.headers["x-amzn-RateLimit-Limit"] == "0.016"
    throttled = real_rates.get(path)
    assert throttled.status_code == 429
    assert body(throttled) == QUOTA_BODY
    assert "Retry-After" not in throttled.headers
    assert "x-amzn-RateLimit-Limit" not in throttled.headers
    assert throttled.headers["x-amzn-RequestId"]


def test_the_bucket_refills_at_the_documented_rate(real_rates: Session, clock: FakeClock) -> None:
    # listFinancialEventGroups: 0.5 requests per second, burst 30.
    for _ in range(30):
        assert real_rates.get(GROUPS).status_code == 200
    assert real_rates.get(GROUPS).status_code == 429
    clock.advance(1.9)  # 0.95 of a token
    assert real_rates.get(GROUPS).status_code == 429
    clock.advance(0.1)
    assert real_rates.get(GROUPS).status_code == 200
    assert real_rates.get(GROUPS).status_code == 429
    clock.advance(60)  # refills 30 tokens, never more than the burst
    assert [real_rates.get(GROUPS).status_code for _ in range(31)].count(200) == 30


def test_buckets_are_per_operation(real_rates: Session) -> None:
    for _ in range(30):
        real_rates.get(GROUPS)
    assert real_rates.get(GROUPS).status_code == 429
    assert real_rates.get("/sellers/v1/marketplaceParticipations").status_code == 200


def test_a_rejected_request_still_spends_a_token_but_a_403_does_not(
    real_rates: Session,
) -> None:
    real_rates.login()
    bad = {"FinancialEventGroupStartedAfter": "not-a-date"}
    for _ in range(30):
        assert real_rates.get(GROUPS, params=bad).status_code == 400
    assert real_rates.get(GROUPS).status_code == 429
    real_rates.access_token = "Atza|unknown"
    assert real_rates.get("/sellers/v1/marketplaceParticipations").status_code == 403


def test_rate_multiplier_scales_refill_and_header(clock: FakeClock) -> None:
    fast = Session(AmazonEmulator(seed=3, orders=10, clock=clock, rate_multiplier=100), clock)
    for _ in range(30):
        fast.get(GROUPS)
    assert fast.get(GROUPS).status_code == 429
    clock.advance(0.02)  # 0.5 * 100 * 0.02 = 1 token
    response = fast.get(GROUPS)
    assert response.status_code == 200
    assert response.headers["x-amzn-RateLimit-Limit"] == "50"


def test_limiter_refuses_a_non_positive_multiplier(clock: FakeClock) -> None:
    with pytest.raises(ValueError):
        RateLimiter(clock, Decimal(0))


def test_every_documented_usage_plan_is_in_the_table() -> None:
    expected = {
        "searchOrders": ("0.0056", 20),
        "getOrder": ("0.5", 30),
        "listFinancialEventGroups": ("0.5", 30),
        "createReport": ("0.0167", 15),
        "getReports": ("0.0222", 10),
        "getReport": ("2", 15),
        "cancelReport": ("0.0222", 10),
        "getReportDocument": ("0.0167", 15),
        "patchListingsItem": ("5", 5),
        "getListingsItem": ("5", 10),
        "getMarketplaceParticipations": ("0.016", 15),
    }
    for operation, (rate, burst) in expected.items():
        assert USAGE_PLANS[operation].rate == Decimal(rate)
        assert USAGE_PLANS[operation].burst == burst
