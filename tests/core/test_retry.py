"""The retry policy and the reading of ``Retry-After`` that every target client shares."""

from __future__ import annotations

import random

import httpx

from ml_connector.core.retry import RetryPolicy, retry_after


def response(value: str | None) -> httpx.Response:
    return httpx.Response(429, headers={} if value is None else {"retry-after": value})


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after(response("7"), now=0.0) == 7.0
    # Wed, 21 Oct 2015 07:28:00 GMT is 1445412480 seconds after the epoch.
    assert retry_after(response("Wed, 21 Oct 2015 07:28:00 GMT"), now=1445412470.0) == 10.0
    assert retry_after(response("Wed, 21 Oct 2015 07:28:00 GMT"), now=1445412490.0) == 0.0


def test_a_missing_or_unreadable_retry_after_is_none() -> None:
    assert retry_after(response(None), now=0.0) is None
    assert retry_after(response("soon"), now=0.0) is None


def test_backoff_stays_between_half_and_all_of_its_cap() -> None:
    policy, rng = RetryPolicy(base_delay=1.0, max_delay=8.0), random.Random(3)
    for attempt, cap in enumerate([1.0, 2.0, 4.0, 8.0, 8.0]):
        assert cap / 2 <= policy.delay(attempt, rng) <= cap
