"""OAuth 2 and tenancy of the Xero emulator: token lifetimes, rotation, connections, headers."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from test_xero_emulator_support import API, IDENTITY, XeroEnv, body

from ml_connector.plugins.xero.emulator.oauth import (
    ACCESS_TOKEN_SECONDS,
    REFRESH_GRACE_SECONDS,
    REFRESH_UNUSED_SECONDS,
)


@pytest.fixture
def env() -> XeroEnv:
    return XeroEnv.create()


def identity(env: XeroEnv) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(env.emulator.handle), base_url=IDENTITY)


def refresh(env: XeroEnv, token: str) -> httpx.Response:
    client = env.emulator.client
    return identity(env).post(
        "/connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        },
    )


def call_api(env: XeroEnv, access_token: str, **headers: str) -> httpx.Response:
    client = httpx.Client(transport=httpx.MockTransport(env.emulator.handle), base_url=API)
    sent = {"Authorization": f"Bearer {access_token}", "xero-tenant-id": env.emulator.tenant_id}
    sent.update(headers)
    return client.get("/Organisation", headers={k: v for k, v in sent.items() if v})


def test_authorization_code_flow_with_basic_auth(env: XeroEnv) -> None:
    client = env.emulator.client
    login = httpx.Client(
        transport=httpx.MockTransport(env.emulator.handle), base_url="https://login.xero.com"
    )
    redirect = "https://app.example/callback"
    answer = login.get(
        "/identity/connect/authorize",
        params={
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": redirect,
            "scope": "openid offline_access accounting.transactions",
            "state": "xyz",
        },
    )
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect
    params = parse_qs(location.query)
    assert params["state"] == ["xyz"]
    basic = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()
    form = {"grant_type": "authorization_code", "code": params["code"][0], "redirect_uri": redirect}
    tokens = identity(env).post(
        "/connect/token", data=form, headers={"Authorization": f"Basic {basic}"}
    )
    assert tokens.status_code == 200
    granted = tokens.json()
    assert granted["token_type"] == "Bearer"
    assert granted["expires_in"] == ACCESS_TOKEN_SECONDS == 1800
    assert call_api(env, granted["access_token"]).status_code == 200
    # A code is single-use.
    again = identity(env).post(
        "/connect/token", data=form, headers={"Authorization": f"Basic {basic}"}
    )
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}


def test_wrong_client_secret_is_invalid_client(env: XeroEnv) -> None:
    answer = identity(env).post(
        "/connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": env.tokens["refresh_token"],
            "client_id": env.emulator.client.client_id,
            "client_secret": "not-the-secret",
        },
    )
    assert answer.status_code == 400 and answer.json() == {"error": "invalid_client"}


def test_access_token_lasts_thirty_minutes(env: XeroEnv) -> None:
    token = env.tokens["access_token"]
    env.clock.advance(ACCESS_TOKEN_SECONDS - 1)
    assert call_api(env, token).status_code == 200
    env.clock.advance(1)
    expired = call_api(env, token)
    assert expired.status_code == 401
    detail = expired.json()
    assert detail["Title"] == "Unauthorized" and detail["Status"] == 401
    assert detail["Detail"].startswith("TokenExpired: token expired at ")
    assert "invalid_token" in expired.headers["WWW-Authenticate"]


def test_refresh_rotates_and_old_token_dies_after_the_grace_period(env: XeroEnv) -> None:
    first = env.tokens["refresh_token"]
    rotated = refresh(env, first)
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    assert call_api(env, rotated.json()["access_token"]).status_code == 200
    # Within Xero's 30-minute grace the old token still works (a lost response is retryable)...
    env.clock.advance(REFRESH_GRACE_SECONDS - 1)
    assert refresh(env, first).status_code == 200
    # ...after it, the second process refreshing the same token gets invalid_grant.
    env.clock.advance(1)
    reused = refresh(env, first)
    assert reused.status_code == 400 and reused.json() == {"error": "invalid_grant"}
    assert refresh(env, second).status_code == 200


def test_without_grace_any_reuse_is_invalid_grant() -> None:
    env = XeroEnv.create(refresh_grace_seconds=0)
    first = env.tokens["refresh_token"]
    assert refresh(env, first).status_code == 200
    reused = refresh(env, first)
    assert reused.status_code == 400 and reused.json() == {"error": "invalid_grant"}


def test_refresh_token_expires_after_sixty_days_unused(env: XeroEnv) -> None:
    env.clock.advance(REFRESH_UNUSED_SECONDS - 1)
    kept_alive = refresh(env, env.tokens["refresh_token"])
    assert kept_alive.status_code == 200
    env.clock.advance(REFRESH_UNUSED_SECONDS)
    dead = refresh(env, kept_alive.json()["refresh_token"])
    assert dead.status_code == 400 and dead.json() == {"error": "invalid_grant"}


def test_connections_list_the_tenants(env: XeroEnv) -> None:
    client = httpx.Client(
        transport=httpx.MockTransport(env.emulator.handle), base_url="https://api.xero.com"
    )
    answer = client.get(
        "/connections", headers={"Authorization": f"Bearer {env.tokens['access_token']}"}
    )
    assert answer.status_code == 200
    [connection] = answer.json()
    assert connection["tenantId"] == env.emulator.tenant_id
    assert connection["tenantType"] == "ORGANISATION"
    assert connection["tenantName"] == "Amazon Seller Demo (US)"
    assert client.get("/connections").status_code == 401


def test_every_call_needs_a_bearer_token(env: XeroEnv) -> None:
    missing = call_api(env, "")
    assert missing.status_code == 401
    assert missing.json()["Detail"] == "AuthenticationUnsuccessful"
    assert call_api(env, "made-up-token").status_code == 401


def test_tenant_header_is_required_and_must_be_connected(env: XeroEnv) -> None:
    token = env.tokens["access_token"]
    no_tenant = call_api(env, token, **{"xero-tenant-id": ""})
    assert no_tenant.status_code == 403
    assert no_tenant.json()["Title"] == "Forbidden"
    stranger = call_api(env, token, **{"xero-tenant-id": "00000000-0000-0000-0000-000000000000"})
    assert stranger.status_code == 403
    env.emulator.disconnect(env.emulator.tenant_id)
    assert call_api(env, token).status_code == 403


def test_secrets_stay_out_of_reprs(env: XeroEnv) -> None:
    client = env.emulator.client
    assert client.client_secret not in repr(client)
    assert env.tokens["refresh_token"] not in repr(env.emulator.identity)
    assert client.client_secret not in repr(env.emulator)


def test_each_organisation_answers_for_itself() -> None:
    env = XeroEnv.create(tenant_names=("US shop", "UK shop"))
    us, uk = list(env.emulator.state.tenants)
    names = {}
    for tenant_id in (us, uk):
        answer = env.api.get("/Organisation", headers={"xero-tenant-id": tenant_id})
        names[tenant_id] = body(answer)["Organisations"][0]["Name"]
    assert names == {us: "US shop", uk: "UK shop"}
