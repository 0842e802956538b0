"""Rate limits, Idempotency-Key and injected faults in the Xero emulator."""

from __future__ import annotations

import httpx
import pytest
from test_xero_emulator_support import XeroEnv, body, invoice, journal

from ml_connector.core.emulation import Chaos, Fault
from ml_connector.plugins.xero.emulator.ratelimit import Limits


@pytest.fixture
def env() -> XeroEnv:
    return XeroEnv.create()


def test_default_limits_are_xeros() -> None:
    limits = Limits()
    assert (limits.per_minute, limits.per_day, limits.concurrent, limits.app_per_minute) == (
        60,
        5000,
        5,
        10000,
    )
    assert Limits.scaled(10).per_minute == 600


def test_sixty_calls_a_minute_then_429(env: XeroEnv) -> None:
    for expected_left in range(59, -1, -1):
        answer = env.send("GET", "/Organisation")
        assert answer.status_code == 200
        assert answer.headers["X-MinLimit-Remaining"] == str(expected_left)
    assert answer.headers["X-DayLimit-Remaining"] == "4940"
    assert answer.headers["X-AppMinLimit-Remaining"] == "9940"
    env.clock.advance(15)
    refused = env.send("GET", "/Organisation")
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "minute"
    assert refused.headers["Retry-After"] == "45"
    env.clock.advance(45)
    assert env.send("GET", "/Organisation").status_code == 200


def test_daily_limit(env: XeroEnv) -> None:
    env.emulator.rate_limiter.limits = Limits(per_minute=100, per_day=3)
    for _ in range(3):
        assert env.send("GET", "/Organisation").status_code == 200
    refused = env.send("GET", "/Organisation")
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "day"
    assert int(refused.headers["Retry-After"]) == 24 * 3600
    assert refused.headers["X-DayLimit-Remaining"] == "0"


def test_five_calls_in_flight_then_concurrent_429(env: XeroEnv) -> None:
    limiter = env.emulator.rate_limiter
    tenant = env.emulator.tenant_id
    for _ in range(5):
        assert limiter.acquire(tenant) is None
    refused = env.send("GET", "/Organisation")
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "concurrent"
    limiter.release(tenant)
    assert env.send("GET", "/Organisation").status_code == 200


def test_app_wide_minute_limit_spans_tenants() -> None:
    env = XeroEnv.create(tenant_names=("one", "two"))
    env.emulator.rate_limiter.limits = Limits(app_per_minute=2)
    first, second = list(env.emulator.state.tenants)
    assert env.api.get("/Organisation", headers={"xero-tenant-id": first}).status_code == 200
    assert env.api.get("/Organisation", headers={"xero-tenant-id": second}).status_code == 200
    refused = env.api.get("/Organisation", headers={"xero-tenant-id": first})
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "appminute"


def test_idempotency_key_replays_within_six_minutes(env: XeroEnv) -> None:
    key = {"Idempotency-Key": "settlement-12345-journal"}
    first = env.send("PUT", "/ManualJournals", {"ManualJournals": [journal()]}, headers=key)
    env.clock.advance(5 * 60)
    again = env.send("PUT", "/ManualJournals", {"ManualJournals": [journal()]}, headers=key)
    assert again.status_code == 200 and again.content == first.content
    assert len(env.emulator.state.objects("ManualJournal")) == 1
    env.clock.advance(61)  # the key is forgotten after ~6 minutes
    env.send("PUT", "/ManualJournals", {"ManualJournals": [journal()]}, headers=key)
    assert len(env.emulator.state.objects("ManualJournal")) == 2


def test_same_key_with_a_different_body_is_refused(env: XeroEnv) -> None:
    key = {"Idempotency-Key": "k-1"}
    env.send("PUT", "/ManualJournals", {"ManualJournals": [journal("A")]}, headers=key)
    other = env.send("PUT", "/ManualJournals", {"ManualJournals": [journal("B")]}, headers=key)
    assert other.status_code == 400
    assert (
        "already used with a different request"
        in body(other)["Elements"][0]["ValidationErrors"][0]["Message"]
    )
    assert env.emulator.count_by("ManualJournal", "Narration") == {"A": 1}


def test_idempotency_key_longer_than_128_is_refused(env: XeroEnv) -> None:
    answer = env.send(
        "PUT", "/Invoices", {"Invoices": [invoice()]}, headers={"Idempotency-Key": "k" * 129}
    )
    assert answer.status_code == 400
    assert (
        env.send(
            "PUT", "/Invoices", {"Invoices": [invoice()]}, headers={"Idempotency-Key": "k" * 128}
        ).status_code
        == 200
    )


def test_refused_duplicate_number_is_replayed_too(env: XeroEnv) -> None:
    env.send("PUT", "/Invoices", {"Invoices": [invoice()]})
    key = {"Idempotency-Key": "dup"}
    first = env.send("PUT", "/Invoices", {"Invoices": [invoice()]}, headers=key)
    second = env.send("PUT", "/Invoices", {"Invoices": [invoice()]}, headers=key)
    assert first.status_code == second.status_code == 400
    assert first.content == second.content


def only(fault: Fault) -> Chaos:
    return Chaos(seed=1, per_mille={fault: 1000})


def test_lost_response_applies_the_write() -> None:
    env = XeroEnv.create(chaos=only(Fault.LOSE_RESPONSE))
    with pytest.raises(httpx.ReadTimeout):
        env.send("PUT", "/ManualJournals", {"ManualJournals": [journal()]})
    assert len(env.emulator.state.objects("ManualJournal")) == 1
    # Reads are never "lost": the client can look the journal up.
    assert env.send("GET", "/ManualJournals").status_code == 200


def test_timeout_applies_nothing() -> None:
    env = XeroEnv.create(chaos=only(Fault.TIMEOUT))
    with pytest.raises(httpx.ReadTimeout):
        env.send("PUT", "/ManualJournals", {"ManualJournals": [journal()]})
    assert env.emulator.state.objects("ManualJournal") == []


def test_injected_throttle_and_server_errors() -> None:
    throttled = XeroEnv.create(chaos=only(Fault.THROTTLE)).send("GET", "/Organisation")
    assert throttled.status_code == 429
    assert throttled.headers["X-Rate-Limit-Problem"] == "minute"
    assert throttled.headers["Retry-After"] == "1"
    env = XeroEnv.create(chaos=only(Fault.SERVER_ERROR))
    statuses = {env.send("GET", "/Organisation").status_code for _ in range(2)}
    assert statuses == {500, 503}
    assert env.emulator.state.objects("ManualJournal") == []


def test_injected_token_expiry_is_a_401_that_stays() -> None:
    chaos = only(Fault.EXPIRE_TOKEN)
    env = XeroEnv.create(chaos=chaos)
    answer = env.send("GET", "/Organisation")
    assert answer.status_code == 401
    assert answer.json()["Detail"].startswith("TokenExpired")
    chaos.per_mille = {}
    assert env.send("GET", "/Organisation").status_code == 401
