"""Login with Amazon: the four-field exchange, caching, early refresh, errors without secrets."""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import parse_qsl

import httpx
import pytest
from spapi_contract import ContractTransport, check_lwa_request

from ml_connector.core.amazon.backoff import Backoff
from ml_connector.core.amazon.lwa import LWA_TOKEN_URL, LwaCredentials, LwaTokenSource
from ml_connector.core.emulation.clock import FakeClock
from ml_connector.core.errors import AuthError, TransportError
from ml_connector.core.secrets import Secret

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
CLIENT_SECRET = "amzn1.oa2-cs.v1.secret-value"
REFRESH_TOKEN = "Atzr|IwEBI-refresh-token-value"
CREDENTIALS = LwaCredentials(
    "amzn1.application-oa2-client.abc", Secret(CLIENT_SECRET), Secret(REFRESH_TOKEN)
)


class Lwa:
    """Answers token exchanges from a list of (status, json body)."""

    def __init__(self, *answers: tuple[int, dict[str, object]]) -> None:
        self.answers = list(answers)
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        check_lwa_request(request)
        self.seen.append(request)
        status, body = self.answers.pop(0)
        return httpx.Response(status, json=body)


def token_body(n: int, expires_in: int = 3600) -> dict[str, object]:
    return {
        "access_token": f"Atza|access-{n}",
        "token_type": "bearer",
        "expires_in": expires_in,
        "refresh_token": REFRESH_TOKEN,
    }


def source(lwa: Lwa, clock: FakeClock) -> LwaTokenSource:
    http = httpx.Client(transport=ContractTransport(httpx.MockTransport(lwa)))
    return LwaTokenSource(CREDENTIALS, http, clock, backoff=Backoff(max_retries=2))


def test_exchange_sends_the_four_form_fields() -> None:
    lwa = Lwa((200, token_body(1)))
    token = source(lwa, FakeClock(NOW)).token()
    assert token.reveal() == "Atza|access-1"
    (request,) = lwa.seen
    assert str(request.url) == LWA_TOKEN_URL
    assert dict(parse_qsl(request.content.decode())) == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH_TOKEN,
        "client_id": "amzn1.application-oa2-client.abc",
        "client_secret": CLIENT_SECRET,
    }


def test_token_is_cached_and_refreshed_sixty_seconds_before_expiry() -> None:
    clock = FakeClock(NOW)
    lwa = Lwa((200, token_body(1)), (200, token_body(2)))
    tokens = source(lwa, clock)
    assert tokens.token().reveal() == "Atza|access-1"
    clock.advance(3600 - 61)
    assert tokens.token().reveal() == "Atza|access-1"  # still more than a minute left
    clock.advance(1)
    assert tokens.token().reveal() == "Atza|access-2"  # within the margin: renewed
    assert tokens.exchanges == 2


def test_invalidate_forces_a_new_exchange() -> None:
    lwa = Lwa((200, token_body(1)), (200, token_body(2)))
    tokens = source(lwa, FakeClock(NOW))
    tokens.token()
    tokens.invalidate()
    assert tokens.token().reveal() == "Atza|access-2"


def test_lwa_error_becomes_auth_error_with_code_and_no_secret() -> None:
    echoed = f"The refresh token {REFRESH_TOKEN} is invalid for client secret {CLIENT_SECRET}"
    lwa = Lwa((400, {"error": "invalid_grant", "error_description": echoed}))
    with pytest.raises(AuthError) as caught:
        source(lwa, FakeClock(NOW)).token()
    error = caught.value
    assert (error.code, error.status) == ("invalid_grant", 400)
    for text in (str(error), repr(error), error.message):
        assert REFRESH_TOKEN not in text and CLIENT_SECRET not in text
    assert "***" in error.message


def test_server_errors_are_retried_then_reported(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(NOW)
    lwa = Lwa(
        (500, {"error": "server_error"}),
        (503, {"error": "temporarily_unavailable"}),
        (503, {"error": "temporarily_unavailable"}),
    )
    with (
        caplog.at_level(logging.WARNING, logger="ml_connector.amazon"),
        pytest.raises(AuthError) as caught,
    ):
        source(lwa, clock).token()
    assert caught.value.code == "temporarily_unavailable"
    assert len(lwa.seen) == 3 and len(clock.slept) == 2
    assert all(CLIENT_SECRET not in r.getMessage() for r in caplog.records)


def test_connection_lost_is_a_transport_error() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    http = httpx.Client(transport=httpx.MockTransport(down))
    tokens = LwaTokenSource(CREDENTIALS, http, FakeClock(NOW), backoff=Backoff(max_retries=1))
    with pytest.raises(TransportError):
        tokens.token()


def test_malformed_answer_is_an_auth_error() -> None:
    lwa = Lwa((200, {"token_type": "bearer"}))
    with pytest.raises(AuthError, match="token response"):
        source(lwa, FakeClock(NOW)).token()


def test_secrets_never_show_in_reprs() -> None:
    lwa = Lwa((200, token_body(1)))
    tokens = source(lwa, FakeClock(NOW))
    token = tokens.token()
    for text in (
        repr(CREDENTIALS),
        str(CREDENTIALS),
        repr(tokens),
        repr(token),
        str(token),
        f"{token}",
        f"{token!r}",
    ):
        assert CLIENT_SECRET not in text and REFRESH_TOKEN not in text and "Atza|" not in text
    assert repr(Secret("x")) == "***"


def test_credentials_refuse_plain_strings() -> None:
    with pytest.raises(TypeError):
        LwaCredentials("id", CLIENT_SECRET, Secret(REFRESH_TOKEN))  # type: ignore[arg-type]
