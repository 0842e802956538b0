"""The request loop: backoff on 429 and 5xx, bounds, rate header, token refresh, error shapes."""

from __future__ import annotations

import datetime as dt
import logging
import random

import httpx
import pytest
from spapi_contract import (
    TEST_CLIENT_SECRET,
    TEST_REFRESH_TOKEN,
    build_client,
    error_response,
    json_response,
)

from ml_connector.core.amazon.backoff import Backoff
from ml_connector.core.amazon.operations import GET_REPORT
from ml_connector.core.emulation.clock import FakeClock
from ml_connector.core.errors import AuthError, RateLimitedError, RemoteError, TransportError

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
REPORT = {
    "reportId": "R1",
    "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
    "createdTime": "2026-03-01T10:00:00Z",
    "processingStatus": "DONE",
}


def scripted(*responses: httpx.Response):  # type: ignore[no-untyped-def]
    """A handler answering with ``responses`` in order, recording what it saw."""
    queue = list(responses)
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0)

    handle.seen = seen  # type: ignore[attr-defined]
    return handle


def expected_delays(seed: int, count: int) -> list[float]:
    backoff = Backoff(rng=random.Random(seed))
    return [backoff.delay(n) for n in range(count)]


def test_429_backs_off_with_seeded_full_jitter_then_succeeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(NOW)
    handler = scripted(
        error_response(429, "QuotaExceeded", "You exceeded your quota for the requested resource."),
        error_response(429, "QuotaExceeded", "You exceeded your quota for the requested resource."),
        json_response(200, REPORT),
    )
    client, wire, lwa = build_client(handler, clock, seed=42)
    with caplog.at_level(logging.WARNING, logger="ml_connector.amazon"):
        assert client.get_report("R1")["processingStatus"] == "DONE"
    assert wire.sp_api_calls() == ["getReport"] * 3
    delays = expected_delays(42, 2)
    assert delays[0] <= 1.0 and delays[1] <= 2.0  # full jitter under the exponential ceiling
    # The bucket is drained by each 429, so a refill wait (1/rate = 0.5 s) may precede a retry.
    backoff_sleeps = [s for s in clock.slept if s in delays]
    assert backoff_sleeps == delays
    retry_logs = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(retry_logs) == 2
    assert all(m.startswith("getReport: HTTP 429") for m in retry_logs)
    for record in caplog.records:
        for token in [*lwa.issued, TEST_CLIENT_SECRET, TEST_REFRESH_TOKEN]:
            assert token not in record.getMessage()


def test_429_gives_up_after_the_retry_bound() -> None:
    clock = FakeClock(NOW)
    handler = scripted(*[error_response(429, "QuotaExceeded", "Throttled") for _ in range(4)])
    client, wire, _ = build_client(handler, clock, max_retries=3)
    with pytest.raises(RateLimitedError) as caught:
        client.get_report("R1")
    assert wire.sp_api_calls() == ["getReport"] * 4  # first try + 3 retries
    error = caught.value
    assert (error.service, error.status, error.code, error.operation) == (
        "amazon",
        429,
        "QuotaExceeded",
        "getReport",
    )
    assert "gave up after 3 retries" in str(error)


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_retried_up_to_the_bound_then_remote_error(status: int) -> None:
    clock = FakeClock(NOW)
    handler = scripted(
        *[error_response(status, "InternalFailure", "We encountered an internal error.")] * 6
    )
    client, wire, _ = build_client(handler, clock, max_retries=5)
    with pytest.raises(RemoteError) as caught:
        client.get_report("R1")
    assert not isinstance(caught.value, RateLimitedError)
    assert caught.value.status == status
    assert caught.value.code == "InternalFailure"
    assert wire.sp_api_calls() == ["getReport"] * 6


def test_5xx_then_success_returns_the_answer() -> None:
    clock = FakeClock(NOW)
    handler = scripted(httpx.Response(502), json_response(200, REPORT))
    client, wire, _ = build_client(handler, clock)
    assert client.get_report("R1")["reportId"] == "R1"
    assert wire.sp_api_calls() == ["getReport", "getReport"]


def test_400_is_not_retried() -> None:
    handler = scripted(error_response(400, "InvalidInput", "Invalid input", "bad id"))
    client, wire, _ = build_client(handler, FakeClock(NOW))
    with pytest.raises(RemoteError) as caught:
        client.get_report("R1")
    assert caught.value.message == "Invalid input (bad id)"
    assert wire.sp_api_calls() == ["getReport"]


def test_rate_header_corrects_the_bucket_and_absent_header_keeps_it() -> None:
    clock = FakeClock(NOW)
    handler = scripted(
        json_response(200, REPORT, rate="7.5"),
        json_response(200, REPORT),
        json_response(404, {"errors": [{"code": "NotFound", "message": "gone"}]}, rate="9"),
    )
    client, _, _ = build_client(handler, clock)
    bucket = client.http.throttle.bucket(GET_REPORT)
    assert bucket.rate == 2.0  # the documented default
    client.get_report("R1")
    assert bucket.rate == 7.5
    client.get_report("R1")
    assert bucket.rate == 7.5  # header absent: best-effort, ignored
    with pytest.raises(RemoteError):
        client.get_report("R1")
    assert bucket.rate == 9.0  # 404 carries it too


def test_rate_header_on_429_is_ignored() -> None:
    clock = FakeClock(NOW)
    throttled = error_response(429, "QuotaExceeded", "Throttled")
    throttled.headers["x-amzn-RateLimit-Limit"] = "0.001"
    client, _, _ = build_client(scripted(throttled, json_response(200, REPORT)), clock)
    client.get_report("R1")
    assert client.http.throttle.bucket(GET_REPORT).rate == 2.0


def test_expired_token_403_refreshes_once_and_retries_once() -> None:
    clock = FakeClock(NOW)
    handler = scripted(
        error_response(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
            "The access token you provided has expired.",
        ),
        json_response(200, REPORT),
    )
    client, wire, lwa = build_client(handler, clock)
    assert client.get_report("R1")["reportId"] == "R1"
    assert wire.calls == ["lwa", "getReport", "lwa", "getReport"]
    first, second = handler.seen  # type: ignore[attr-defined]
    assert first.headers["x-amz-access-token"] == lwa.issued[0]
    assert second.headers["x-amz-access-token"] == lwa.issued[1]


def test_second_403_is_an_auth_error_without_secrets() -> None:
    denied = error_response(403, "Unauthorized", "Access to requested resource is denied.")
    handler = scripted(denied, denied)
    client, wire, lwa = build_client(handler, FakeClock(NOW))
    with pytest.raises(AuthError) as caught:
        client.get_report("R1")
    assert wire.calls == ["lwa", "getReport", "lwa", "getReport"]
    text = str(caught.value) + repr(caught.value) + repr(client)
    for secret in [*lwa.issued, TEST_CLIENT_SECRET, TEST_REFRESH_TOKEN]:
        assert secret not in text


def test_lost_connection_on_a_read_is_retried() -> None:
    calls = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ReadTimeout("no answer", request=request)
        return json_response(200, REPORT)

    client, _, _ = build_client(flaky, FakeClock(NOW))
    assert client.get_report("R1")["reportId"] == "R1"
    assert len(calls) == 2


def test_lost_connection_on_create_report_is_not_retried() -> None:
    calls = []

    def lost(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("no answer", request=request)

    client, _, _ = build_client(lost, FakeClock(NOW))
    with pytest.raises(TransportError) as caught:
        client.create_report("GET_MERCHANT_LISTINGS_ALL_DATA", ["ATVPDKIKX0DER"])
    assert len(calls) == 1  # a blind retry could queue a second report
    assert caught.value.operation == "createReport"


def test_error_body_without_amazon_shape_still_names_status() -> None:
    handler = scripted(httpx.Response(404, text="<html>not found</html>"))
    client, _, _ = build_client(handler, FakeClock(NOW))
    with pytest.raises(RemoteError) as caught:
        client.get_report("R1")
    assert caught.value.status == 404
    assert caught.value.code is None
    assert "HTTP 404" in caught.value.message


def test_requests_carry_user_agent_token_and_date() -> None:
    handler = scripted(json_response(200, REPORT))
    client, _, lwa = build_client(handler, FakeClock(NOW))
    client.get_report("R1")
    (request,) = handler.seen  # type: ignore[attr-defined]
    assert request.headers["x-amz-access-token"] == lwa.issued[0]
    assert request.headers["user-agent"].startswith("ml-connector/")
    assert "(Language=Python/" in request.headers["user-agent"]
    assert request.headers["x-amz-date"] == "20260301T120000Z"
