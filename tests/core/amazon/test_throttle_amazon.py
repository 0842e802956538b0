"""Token buckets on a fake clock: burst, refill wait, drain, rate correction."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml_connector.core.amazon.operations import (
    GET_REPORT_DOCUMENT,
    PATCH_LISTINGS_ITEM,
    SEARCH_ORDERS,
)
from ml_connector.core.amazon.throttle import Throttle, TokenBucket
from ml_connector.core.emulation.clock import FakeClock


def test_burst_then_wait_for_refill() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=0.5, burst=3, clock=clock)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert clock.slept == []
    waited = bucket.take()  # empty: one token takes 1 / 0.5 = 2 s
    assert waited == pytest.approx(2.0)
    assert clock.slept == [pytest.approx(2.0)]


def test_refill_is_capped_at_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=2, clock=clock)
    bucket.take()
    bucket.take()
    clock.advance(1000)
    assert bucket.tokens == 2.0


def test_drain_after_a_429() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=10, clock=clock)
    bucket.drain()
    assert bucket.wait_time() == pytest.approx(0.5)


def test_throttle_uses_documented_defaults_per_operation() -> None:
    throttle = Throttle(FakeClock())
    assert (throttle.bucket(SEARCH_ORDERS).rate, throttle.bucket(SEARCH_ORDERS).burst) == (
        0.0056,
        20,
    )
    assert (
        throttle.bucket(PATCH_LISTINGS_ITEM).rate,
        throttle.bucket(PATCH_LISTINGS_ITEM).burst,
    ) == (5.0, 5)
    assert throttle.bucket(SEARCH_ORDERS) is throttle.bucket(SEARCH_ORDERS)


@pytest.mark.parametrize(
    ("header", "rate"),
    [
        ("0.5", 0.5),
        (" 10 ", 10.0),
        (None, 0.0167),
        ("", 0.0167),
        ("fast", 0.0167),
        ("0", 0.0167),
        ("-1", 0.0167),
        ("inf", 0.0167),
        ("nan", 0.0167),
    ],
)
def test_rate_header_correction(header: str | None, rate: float) -> None:
    throttle = Throttle(FakeClock())
    throttle.observe_rate_header(GET_REPORT_DOCUMENT, header)
    assert throttle.bucket(GET_REPORT_DOCUMENT).rate == rate


def test_lower_rate_from_header_slows_the_next_wait() -> None:
    clock = FakeClock()
    throttle = Throttle(clock)
    for _ in range(5):
        throttle.acquire(PATCH_LISTINGS_ITEM)
    throttle.observe_rate_header(PATCH_LISTINGS_ITEM, "1")
    assert throttle.acquire(PATCH_LISTINGS_ITEM) == pytest.approx(1.0)


@settings(max_examples=60)
@given(
    rate_tenths=st.integers(min_value=1, max_value=50),
    burst=st.integers(min_value=1, max_value=20),
    gaps=st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=60),
)
def test_never_more_than_burst_plus_refill(rate_tenths: int, burst: int, gaps: list[int]) -> None:
    """Over any run, requests taken <= burst + rate * elapsed: what Amazon's bucket allows."""
    clock = FakeClock()
    rate = rate_tenths / 10
    bucket = TokenBucket(rate=rate, burst=burst, clock=clock)
    start = clock.now()
    for taken, gap_ms in enumerate(gaps, start=1):
        clock.advance(gap_ms / 1000)
        bucket.take()
        assert taken <= burst + rate * (clock.now() - start) + 1e-9
