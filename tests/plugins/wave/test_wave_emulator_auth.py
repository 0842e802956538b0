"""OAuth, token expiry, request-level errors and chaos faults, as a Wave client meets them."""

from __future__ import annotations

import base64
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from wave_emulator_harness import GRAPHQL_URL, OAUTH_BASE, WaveSession

from ml_connector.core.emulation import Chaos, Fault
from ml_connector.core.jsoncodec import loads
from ml_connector.plugins.wave.emulator import ACCESS_TOKEN_SECONDS

USER = "{ user { id } }"


@pytest.fixture
def session() -> WaveSession:
    return WaveSession()


def code_of(session: WaveSession, redirect_uri: str | None = None, state: str = "xyz") -> str:
    params = {
        "client_id": session.emulator.oauth.client_id,
        "response_type": "code",
        "scope": "business:* transaction:*",
        "state": state,
    }
    if redirect_uri:
        params["redirect_uri"] = redirect_uri
    response = session.http.get(f"{OAUTH_BASE}/oauth2/authorize/", params=params)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == [state]
    return query["code"][0]


def token_request(session: WaveSession, **form: str) -> httpx.Response:
    base = {
        "client_id": session.emulator.oauth.client_id,
        "client_secret": session.emulator.oauth.client_secret,
    }
    return session.http.post(f"{OAUTH_BASE}/oauth2/token/", data={**base, **form})


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 200
    body = loads(response.content)
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED" and error["extensions"]["id"]


def test_missing_and_unknown_tokens_are_unauthenticated(session: WaveSession) -> None:
    assert_unauthenticated(session.raw(USER, token=""))
    assert_unauthenticated(session.raw(USER, token="not-a-token"))


def test_access_token_expires_after_two_hours(session: WaveSession) -> None:
    session.clock.advance(ACCESS_TOKEN_SECONDS - 1)
    assert session.data(USER)["user"]["id"]
    session.clock.advance(1)
    assert_unauthenticated(session.raw(USER))


def test_refresh_gives_a_working_token_and_keeps_the_refresh_token(session: WaveSession) -> None:
    session.clock.advance(ACCESS_TOKEN_SECONDS)
    response = token_request(
        session, grant_type="refresh_token", refresh_token=session.tokens.refresh_token
    )
    assert response.status_code == 200
    grant = loads(response.content)
    assert grant["token_type"] == "Bearer" and grant["expires_in"] == 7200
    assert grant["refresh_token"] == session.tokens.refresh_token
    assert grant["businessId"] == session.business_id and grant["userId"]
    assert session.post(USER, token=grant["access_token"])["data"]["user"]["id"]


def test_authorization_code_flow(session: WaveSession) -> None:
    redirect = "http://127.0.0.1:8765/callback"
    code = code_of(session, redirect)
    assert token_request(session, grant_type="authorization_code", code=code).status_code == 400
    code = code_of(session, redirect)
    response = token_request(
        session, grant_type="authorization_code", code=code, redirect_uri=redirect
    )
    assert response.status_code == 200
    assert loads(response.content)["scope"] == "business:* transaction:*"
    reused = token_request(
        session, grant_type="authorization_code", code=code, redirect_uri=redirect
    )
    assert (reused.status_code, loads(reused.content)) == (400, {"error": "invalid_grant"})


def test_code_expires_and_client_must_authenticate(session: WaveSession) -> None:
    code = code_of(session)
    session.clock.advance(600)
    assert loads(token_request(session, grant_type="authorization_code", code=code).content) == {
        "error": "invalid_grant"
    }
    wrong = token_request(
        session,
        grant_type="refresh_token",
        refresh_token=session.tokens.refresh_token,
        client_secret="nope",
    )
    assert (wrong.status_code, loads(wrong.content)) == (401, {"error": "invalid_client"})
    oauth = session.emulator.oauth
    basic = base64.b64encode(f"{oauth.client_id}:{oauth.client_secret}".encode()).decode()
    response = session.http.post(
        f"{OAUTH_BASE}/oauth2/token/",
        data={"grant_type": "refresh_token", "refresh_token": session.tokens.refresh_token},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    assert loads(token_request(session, grant_type="password").content) == {
        "error": "unsupported_grant_type"
    }


def test_authorize_refuses_foreign_redirects_and_unknown_clients(session: WaveSession) -> None:
    params = {"client_id": session.emulator.oauth.client_id, "response_type": "code", "scope": "x"}
    foreign = session.http.get(
        f"{OAUTH_BASE}/oauth2/authorize/",
        params={**params, "redirect_uri": "https://evil.example/cb"},
    )
    assert foreign.status_code == 400
    unknown = session.http.get(
        f"{OAUTH_BASE}/oauth2/authorize/", params={**params, "client_id": "other"}
    )
    assert unknown.status_code == 400


def test_secrets_stay_out_of_reprs(session: WaveSession) -> None:
    shown = repr(session.emulator) + repr(session.tokens) + repr(session.emulator.oauth)
    for secret in (
        session.tokens.access_token,
        session.tokens.refresh_token,
        session.emulator.oauth.client_secret,
    ):
        assert secret not in shown


def test_validation_runs_before_authentication_and_introspection_is_open(
    session: WaveSession,
) -> None:
    invalid = session.post("{ user { nope } }", token="")
    assert invalid["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    schema = session.post("{ __schema { mutationType { name } } }", token="")
    assert schema["data"]["__schema"]["mutationType"]["name"] == "Mutation"


def test_request_level_errors(session: WaveSession) -> None:
    syntax = session.post("{ user { id }")
    assert syntax["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    not_json = session.http.post(
        GRAPHQL_URL,
        content=b"{",
        headers={"Authorization": f"Bearer {session.tokens.access_token}"},
    )
    assert not_json.status_code == 400
    assert session.http.get(GRAPHQL_URL).status_code == 405
    assert session.http.post("https://gql.waveapps.com/other").status_code == 404


def test_bad_variables_are_validation_errors(session: WaveSession) -> None:
    body = session.post(
        "query($p: Int!){ businesses(page: $p) { pageInfo { currentPage } } }", {"p": "one"}
    )
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    bad = session.post(
        "mutation($input: ProductCreateInput!){ productCreate(input:$input){ didSucceed } }",
        {"input": {"businessId": session.business_id, "name": "x", "unitPrice": "1e3x"}},
    )
    assert bad["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_page_below_one_is_refused(session: WaveSession) -> None:
    body = session.post("{ businesses(page: 0) { pageInfo { currentPage } } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# ------------------------------------------------------------------------------------ chaos


def chaotic(fault: Fault) -> WaveSession:
    return WaveSession(chaos=Chaos(seed=1, per_mille={fault: 1000}))


def test_throttle_is_429_without_retry_after() -> None:
    session = chaotic(Fault.THROTTLE)
    response = session.raw(USER)
    assert response.status_code == 429
    assert "Retry-After" not in response.headers
    assert loads(response.content)["errors"][0]["extensions"]["code"] == "TOO_MANY_REQUESTS"


def test_server_errors_alternate_502_503_and_apply_nothing() -> None:
    session = chaotic(Fault.SERVER_ERROR)
    first = session.raw("mutation { _ }")
    second = session.raw("mutation { _ }")
    assert (first.status_code, second.status_code) == (502, 503)
    assert first.headers["Content-Type"] == "text/html"
    session.emulator.chaos = Chaos.off()
    session.money_transaction()
    assert len(session.emulator.state.money_transactions(session.business_id)) == 1


def test_timeout_applies_nothing() -> None:
    session = chaotic(Fault.TIMEOUT)
    with pytest.raises(httpx.ReadTimeout):
        session.money_transaction()
    assert session.emulator.state.money_transactions(session.business_id) == []


def test_expired_token_answers_unauthenticated_and_stays_expired() -> None:
    session = chaotic(Fault.EXPIRE_TOKEN)
    assert_unauthenticated(session.raw(USER))
    session.emulator.chaos = Chaos.off()
    assert_unauthenticated(session.raw(USER))


def test_lost_response_still_applies_the_mutation() -> None:
    session = chaotic(Fault.LOSE_RESPONSE)
    with pytest.raises(httpx.ReadTimeout):
        session.money_transaction()
    [stored] = session.emulator.state.money_transactions(session.business_id)
    assert stored.external_id == "settlement-1" and stored.anchor_amount == Decimal("100.00")
    assert session.data(USER)["user"]["id"]  # reads are never "lost"
    assert session.emulator.chaos.injected == {Fault.LOSE_RESPONSE: 1}
