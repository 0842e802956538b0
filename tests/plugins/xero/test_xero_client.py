"""The Xero client and auth against hand-written ``httpx.MockTransport`` handlers."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from ml_connector.core import jsoncodec
from ml_connector.core.credentials import Credentials
from ml_connector.core.emulation import FakeClock
from ml_connector.core.errors import AuthError, RateLimitedError, TargetError, TransportError
from ml_connector.plugins.xero.auth import (
    TOKEN_URL,
    XeroAuth,
    authorization_url,
    exchange_code,
)
from ml_connector.plugins.xero.client import API_URL, RetryPolicy, XeroClient

Handler = Callable[[httpx.Request], httpx.Response]


class FakeIdentity:
    """Xero's token endpoint: single-use refresh tokens, rotated on every refresh."""

    def __init__(self, events: list[str], *, expires_in: int = 1800) -> None:
        self.events = events
        self.expires_in = expires_in
        self.valid_refresh = "refresh-0"
        self.issued = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        if form.get("grant_type") == "authorization_code":
            if form.get("code") != "the-code":
                return httpx.Response(400, json={"error": "invalid_grant"})
        elif form.get("refresh_token") != self.valid_refresh:
            return httpx.Response(400, json={"error": "invalid_grant"})
        self.issued += 1
        self.valid_refresh = f"refresh-{self.issued}"
        self.events.append(f"issued access-{self.issued}")
        return httpx.Response(
            200,
            json={
                "access_token": f"access-{self.issued}",
                "refresh_token": self.valid_refresh,
                "expires_in": self.expires_in,
                "token_type": "Bearer",
            },
        )


def make_client(
    api: Handler,
    *,
    clock: FakeClock | None = None,
    events: list[str] | None = None,
    tenant_id: str | None = "tenant-1",
    identity: FakeIdentity | None = None,
    retry: RetryPolicy | None = None,
) -> tuple[XeroClient, FakeClock, list[str], Credentials]:
    clock = clock or FakeClock()
    events = events if events is not None else []
    identity = identity or FakeIdentity(events)

    def route(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            return identity.handle(request)
        events.append(
            f"{request.method} {request.url.path} with {request.headers.get('authorization')}"
        )
        return api(request)

    credentials = Credentials(
        {"client_id": "cid", "client_secret": "csecret-value", "refresh_token": "refresh-0"},
        on_save=lambda name, value: events.append(f"saved {name}={value}"),
    )
    http = httpx.Client(transport=httpx.MockTransport(route))
    auth = XeroAuth(credentials, http, clock)
    client = XeroClient(http, auth, clock, tenant_id=tenant_id, retry=retry, rng=random.Random(7))
    return client, clock, events, credentials


def ok(body: object, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=jsoncodec.dumps(body), headers=headers)


# -- auth ---------------------------------------------------------------------------------------


def test_the_rotated_refresh_token_is_saved_before_the_new_access_token_is_used() -> None:
    client, clock, events, credentials = make_client(lambda r: ok({"Accounts": []}))
    client.get_all("Accounts", paged=False)
    assert events[:3] == [
        "issued access-1",
        "saved refresh_token=refresh-1",
        "GET /api.xro/2.0/Accounts with Bearer access-1",
    ]
    assert credentials.get("refresh_token") == "refresh-1"


def test_the_token_is_refreshed_60_seconds_before_it_expires_not_after() -> None:
    client, clock, events, _ = make_client(lambda r: ok({"Accounts": []}))
    client.get_all("Accounts", paged=False)
    clock.advance(1800 - 61)
    client.get_all("Accounts", paged=False)
    assert client.auth.refreshes == 1
    clock.advance(2)  # now inside the last minute of the token's life
    client.get_all("Accounts", paged=False)
    assert client.auth.refreshes == 2
    assert events[-3:] == [
        "issued access-2",
        "saved refresh_token=refresh-2",
        "GET /api.xro/2.0/Accounts with Bearer access-2",
    ]


def test_a_401_refreshes_once_and_retries() -> None:
    answers = iter([httpx.Response(401, json={"Title": "Unauthorized"}), ok({"Accounts": []})])
    client, _, events, _ = make_client(lambda r: next(answers))
    assert client.get_all("Accounts", paged=False) == []
    assert client.auth.refreshes == 2
    assert events[-1] == "GET /api.xro/2.0/Accounts with Bearer access-2"


def test_invalid_grant_asks_the_user_to_reconnect_without_revealing_the_token() -> None:
    identity = FakeIdentity([])
    identity.valid_refresh = "something-else"
    client, _, _, _ = make_client(lambda r: ok({}), identity=identity)
    with pytest.raises(AuthError) as raised:
        client.get_all("Accounts", paged=False)
    assert raised.value.code == "invalid_grant"
    assert "ml-connector auth xero" in str(raised.value)
    assert "refresh-0" not in str(raised.value)
    assert "csecret-value" not in str(raised.value)


def test_the_authorization_code_exchange_saves_the_refresh_token() -> None:
    events: list[str] = []
    identity = FakeIdentity(events)
    credentials = Credentials(
        {"client_id": "cid", "client_secret": "csecret-value"},
        on_save=lambda name, value: events.append(f"saved {name}={value}"),
    )
    http = httpx.Client(transport=httpx.MockTransport(identity.handle))
    tokens = exchange_code(
        http, credentials, code="the-code", redirect_uri="http://localhost/cb", clock=FakeClock()
    )
    assert tokens.access_token == "access-1"
    assert credentials.get("refresh_token") == "refresh-1"
    assert "access-1" not in repr(tokens)
    with pytest.raises(AuthError):
        exchange_code(http, credentials, code="wrong", redirect_uri="x", clock=FakeClock())
    url = authorization_url("cid", "http://localhost/cb", "state-1")
    assert url.startswith("https://login.xero.com/identity/connect/authorize?")
    assert "offline_access" in url and "state=state-1" in url


# -- retries --------------------------------------------------------------------------------------


def test_429_is_retried_after_the_retry_after_seconds_on_the_clock() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "7", "X-Rate-Limit-Problem": "minute"}),
            ok({"Accounts": [{"Code": "200"}]}),
        ]
    )
    client, clock, _, _ = make_client(lambda r: next(answers))
    start = clock.now()
    assert client.get_all("Accounts", paged=False) == [{"Code": "200"}]
    assert clock.slept == [7.0]
    assert clock.now() - start == 7
    assert client.calls == 2


def test_429_that_never_ends_raises_rate_limited_with_the_wait() -> None:
    client, clock, _, _ = make_client(
        lambda r: httpx.Response(429, headers={"Retry-After": "30", "X-Rate-Limit-Problem": "day"}),
        retry=RetryPolicy(max_attempts=3),
    )
    with pytest.raises(RateLimitedError) as raised:
        client.get_all("Accounts", paged=False)
    assert raised.value.retry_after == 30
    assert "day" in str(raised.value)
    assert clock.slept == [30.0, 30.0]


def test_5xx_is_retried_with_bounded_jittered_backoff() -> None:
    client, clock, _, _ = make_client(
        lambda r: httpx.Response(503, json={"Message": "busy"}),
        retry=RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=3.0),
    )
    with pytest.raises(TargetError) as raised:
        client.get_all("Accounts", paged=False)
    assert raised.value.status == 503
    assert client.calls == 4
    assert len(clock.slept) == 3
    for attempt, slept in enumerate(clock.slept):
        ceiling = min(3.0, 2**attempt)
        assert ceiling / 2 <= slept <= ceiling


def test_a_timed_out_read_is_retried_but_a_timed_out_write_is_not() -> None:
    reads = iter([httpx.ReadTimeout("slow"), ok({"Accounts": []})])

    def api(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            answer = next(reads)
            if isinstance(answer, Exception):
                raise answer
            return answer
        raise httpx.ReadTimeout("lost", request=request)

    client, _, _, _ = make_client(api)
    assert client.get_all("Accounts", paged=False) == []
    with pytest.raises(TransportError) as raised:
        client.write("PUT", "ManualJournals", [{"Narration": "x"}], idempotency_key="k")
    assert "may have been applied" in str(raised.value)
    assert client.calls == 3


# -- headers, paging, batches -------------------------------------------------------------------------


def test_every_call_carries_the_tenant_and_writes_carry_the_idempotency_key() -> None:
    seen: list[httpx.Request] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({"ManualJournals": [], "Accounts": []})

    client, _, _, _ = make_client(api)
    client.get_all("Accounts", paged=False)
    client.write("PUT", "ManualJournals", [{"Narration": "x"}], idempotency_key="key-1")
    assert [r.headers["xero-tenant-id"] for r in seen] == ["tenant-1", "tenant-1"]
    assert "idempotency-key" not in seen[0].headers
    assert seen[1].headers["idempotency-key"] == "key-1"
    assert seen[1].url.params["summarizeErrors"] == "false"


def test_the_tenant_comes_from_the_first_connection_when_none_is_stored() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/connections":
            assert "xero-tenant-id" not in request.headers
            return ok([{"tenantId": "t-from-connections", "tenantType": "ORGANISATION"}])
        assert request.headers["xero-tenant-id"] == "t-from-connections"
        return ok({"Accounts": []})

    client, _, _, _ = make_client(api, tenant_id=None)
    client.get_all("Accounts", paged=False)
    assert client.tenant_id == "t-from-connections"


def test_paging_reads_until_a_partial_page() -> None:
    pages: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        pages.append(str(page))
        count = 100 if page < 3 else 17
        return ok({"Invoices": [{"InvoiceNumber": f"{page}-{i}"} for i in range(count)]})

    client, _, _, _ = make_client(api)
    assert len(client.get_all("Invoices")) == 217
    assert pages == ["1", "2", "3"]


def test_if_modified_since_is_sent_on_reads_when_asked() -> None:
    seen: list[httpx.Request] = []
    client, _, _, _ = make_client(lambda r: seen.append(r) or ok({"Items": []}))
    client.get_all(
        "Items", paged=False, if_modified_since=dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)
    )
    assert seen[0].headers["if-modified-since"] == "2026-10-01T12:00:00+00:00"


def test_unit_prices_with_four_decimals_ask_for_unitdp_4_and_amounts_stay_exact() -> None:
    seen: list[httpx.Request] = []
    client, _, _, _ = make_client(lambda r: seen.append(r) or ok({"Invoices": []}))
    two = {"LineItems": [{"UnitAmount": Decimal("1.50"), "LineAmount": Decimal("1.50")}]}
    four = {"LineItems": [{"UnitAmount": Decimal("0.1234"), "Quantity": 10}]}
    client.write("PUT", "Invoices", [two], idempotency_key="a")
    client.write("PUT", "Invoices", [two, four], idempotency_key="b")
    assert "unitdp" not in seen[0].url.params
    assert seen[1].url.params["unitdp"] == "4"
    assert b'"UnitAmount":0.1234' in seen[1].content
    assert b'"UnitAmount":1.50' in seen[0].content


def test_batches_are_split_by_count_and_by_body_size() -> None:
    objects = [{"Narration": "n" * 100} for _ in range(120)]
    assert list(XeroClient.chunks(objects)) == [(0, 50), (50, 100), (100, 120)]
    assert list(XeroClient.chunks(objects, max_bytes=1200)) == [
        (i, min(i + 10, 120)) for i in range(0, 120, 10)
    ]


def test_the_minute_window_keeps_under_60_calls_a_minute() -> None:
    client, clock, _, _ = make_client(lambda r: ok({"Accounts": []}))
    for _ in range(61):
        client.get_all("Accounts", paged=False)
    assert len(clock.slept) == 1
    assert 0 < clock.slept[0] <= 60


def test_a_400_refusal_returns_the_elements_of_the_refused_batch() -> None:
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [
            {"Reference": "a", "ValidationErrors": [{"Message": "Account must be valid."}]}
        ],
    }
    client, _, _, _ = make_client(lambda r: ok(body, 400))
    reply = client.write(
        "PUT", "BankTransfers", [{"Reference": "a"}], idempotency_key="k", summarize_errors=None
    )
    assert reply.rejected and reply.status == 400
    assert reply.objects[0]["ValidationErrors"][0]["Message"] == "Account must be valid."


def test_reprs_hold_no_secret() -> None:
    client, _, _, credentials = make_client(lambda r: ok({"Accounts": []}))
    client.get_all("Accounts", paged=False)
    text = repr(client) + repr(client.auth) + repr(credentials)
    for secret in ("csecret-value", "refresh-1", "access-1"):
        assert secret not in text
    assert client.api_url == API_URL
