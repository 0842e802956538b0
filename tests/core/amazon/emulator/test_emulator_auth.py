"""LWA token exchange, access-token checks and the 403 shape, on a fake clock."""

from __future__ import annotations

import httpx
import pytest
from emulator_session import LWA_URL, Session, body, error_codes

from ml_connector.core.amazon.emulator import AmazonEmulator
from ml_connector.core.emulation import FakeClock

ORDERS = "/orders/2026-01-01/orders"
ORDER_QUERY = {"createdAfter": "2026-09-20T00:00:00Z"}


def form(emulator: AmazonEmulator, **overrides: str) -> dict[str, str]:
    credentials = emulator.credentials
    fields = {
        "grant_type": "refresh_token",
        "refresh_token": credentials.refresh_token,
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v}


def test_refresh_token_exchange_answers_a_bearer_token_for_an_hour(
    session: Session, emulator: AmazonEmulator
) -> None:
    response = session.http.post(LWA_URL, data=form(emulator))
    assert response.status_code == 200
    token = response.json()
    assert token["access_token"].startswith("Atza|")
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 3600
    assert token["refresh_token"] == emulator.credentials.refresh_token
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["x-amzn-RequestId"]


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"client_secret": "amzn1.oa2-cs.v1.wrong"}, "invalid_client"),
        ({"client_id": "amzn1.application-oa2-client.other"}, "invalid_client"),
        ({"refresh_token": "Atzr|unknown"}, "invalid_grant"),
        ({"refresh_token": ""}, "invalid_request"),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
    ],
)
def test_token_errors_use_the_oauth_shape(
    session: Session, emulator: AmazonEmulator, overrides: dict[str, str], error: str
) -> None:
    response = session.http.post(LWA_URL, data=form(emulator, **overrides))
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    assert emulator.credentials.client_secret not in response.text


def test_a_token_body_that_is_not_a_form_is_refused(
    session: Session, emulator: AmazonEmulator
) -> None:
    response = session.http.post(LWA_URL, json=form(emulator))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_the_access_token_expires_after_one_hour_of_the_clock(
    session: Session, clock: FakeClock
) -> None:
    session.login()
    assert session.get(ORDERS, params=ORDER_QUERY).status_code == 200
    clock.advance(3599)
    assert session.get(ORDERS, params=ORDER_QUERY).status_code == 200
    clock.advance(1)
    expired = session.get(ORDERS, params=ORDER_QUERY)
    assert expired.status_code == 403
    assert body(expired) == {
        "errors": [
            {
                "code": "Unauthorized",
                "message": "Access to requested resource is denied.",
                "details": "The access token you provided has expired.",
            }
        ]
    }
    assert "x-amzn-RateLimit-Limit" not in expired.headers
    session.login()
    assert session.get(ORDERS, params=ORDER_QUERY).status_code == 200


def test_a_missing_token_is_named_in_the_details(session: Session) -> None:
    response = session.http.get(ORDERS, params=ORDER_QUERY)
    assert response.status_code == 403
    assert (
        body(response)["errors"][0]["details"] == "Access token is missing in the request header."
    )
    assert response.headers["x-amzn-RequestId"]


def test_an_unknown_token_is_refused(session: Session) -> None:
    session.access_token = "Atza|made-up"
    response = session.get(ORDERS, params=ORDER_QUERY)
    assert response.status_code == 403
    assert error_codes(response) == ["Unauthorized"]
    assert "invalid" in body(response)["errors"][0]["details"]


def test_the_emulator_and_its_credentials_keep_secrets_out_of_reprs(
    emulator: AmazonEmulator,
) -> None:
    for shown in (repr(emulator), repr(emulator.credentials), repr(emulator.tokens)):
        assert emulator.credentials.client_secret not in shown
        assert emulator.credentials.refresh_token not in shown


def test_an_unknown_path_is_a_404_with_a_request_id(session: Session) -> None:
    response = session.http.get(
        "/orders/v9/nothing", headers={"x-amz-access-token": session.login()}
    )
    assert response.status_code == 404
    assert response.headers["x-amzn-RequestId"]


def test_any_host_reaches_the_same_emulator(emulator: AmazonEmulator) -> None:
    client = httpx.Client(transport=httpx.MockTransport(emulator.handle))
    token = client.post("https://api.amazon.com/auth/o2/token", data=form(emulator)).json()
    for host in ("sellingpartnerapi-eu.amazon.com", "sellingpartnerapi-fe.amazon.com"):
        response = client.get(
            f"https://{host}/sellers/v1/marketplaceParticipations",
            headers={"x-amz-access-token": token["access_token"]},
        )
        assert response.status_code == 200
