"""``ml-connector auth``: the OAuth code flow against the Xero and Wave emulators on real ports.

The "browser" is an httpx client that opens the authorize URL and follows the emulator's
redirect to our loopback callback, as a browser would after the user consented.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from typer.testing import CliRunner

import ml_connector.core.cli.auth_cmd as auth_cmd
from ml_connector.core import flows
from ml_connector.core.cli import app
from ml_connector.core.credentials import Credentials
from ml_connector.core.database import Database, open_database
from ml_connector.core.emulation import SystemClock
from ml_connector.core.errors import AuthError, ConfigError
from ml_connector.core.oauth import (
    LoopbackCallback,
    OAuthClient,
    authorization_url,
    authorize,
    exchange_code,
    new_pkce,
)
from ml_connector.core.plugins import get_target, make_manager
from ml_connector.core.secrets import Secret
from ml_connector.core.vault import KEY_VARIABLE, Vault, load_keys, new_key
from ml_connector.plugins.wave import connect as wave_connect
from ml_connector.plugins.wave.emulator.serve import serve_emulator as serve_wave
from ml_connector.plugins.xero import connect as xero_connect
from ml_connector.plugins.xero.emulator.serve import serve_emulator as serve_xero

START = dt.datetime(2027, 2, 1, tzinfo=dt.UTC)


def browser(url: str) -> httpx.Response:
    """What a browser does after the user consents: follow the redirect to the callback."""
    with httpx.Client(follow_redirects=True, timeout=10) as http:
        return http.get(url)


@pytest.fixture
def xero() -> Iterator[dict[str, Any]]:
    server, info = serve_xero(seed=3)
    with server:
        yield info


@pytest.fixture
def wave() -> Iterator[dict[str, Any]]:
    server, info = serve_wave(seed=3)
    with server:
        yield info


def xero_client(info: dict[str, Any]) -> OAuthClient:
    return (
        get_target(make_manager(), "xero")
        .oauth_client()
        .pointed_at({"authorize_url": info["authorize_url"], "token_url": info["identity_url"]})
    )


def test_targets_declare_their_endpoints() -> None:
    pm = make_manager()
    xero_oauth = get_target(pm, "xero").oauth_client()
    assert xero_oauth.authorize_url == "https://login.xero.com/identity/connect/authorize"
    assert xero_oauth.token_url == "https://identity.xero.com/connect/token"
    assert "offline_access" in xero_oauth.scopes and xero_oauth.pkce
    wave_oauth = get_target(pm, "wave").oauth_client()
    assert wave_oauth.authorize_url == "https://api.waveapps.com/oauth2/authorize/"
    assert wave_oauth.client_auth == "body" and not wave_oauth.pkce
    with pytest.raises(ConfigError, match="client_auth"):
        OAuthClient("https://a.example/auth", "https://a.example/token", client_auth="header")


def test_authorization_url_carries_state_scopes_and_an_s256_challenge() -> None:
    pkce = new_pkce()
    client = OAuthClient(
        "https://id.example/authorize?tenant=x", "https://id.example/token", ("a", "b"), pkce=True
    )
    url = authorization_url(
        client, client_id="cid", redirect_uri="http://127.0.0.1:9/callback", state="st", pkce=pkce
    )
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query == {
        "tenant": "x",
        "response_type": "code",
        "client_id": "cid",
        "redirect_uri": "http://127.0.0.1:9/callback",
        "state": "st",
        "scope": "a b",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    assert pkce.verifier.reveal() not in url and 43 <= len(pkce.verifier.reveal()) <= 128
    assert repr(pkce.verifier) == "***"


def test_xero_code_flow_with_pkce_end_to_end(xero: dict[str, Any]) -> None:
    opened: list[str] = []

    def open_browser(url: str) -> None:
        opened.append(url)
        assert browser(url).status_code == 200

    with httpx.Client(timeout=10) as http:
        grant = authorize(
            xero_client(xero),
            service="xero",
            client_id=xero["client_id"],
            client_secret=Secret(xero["client_secret"]),
            http=http,
            open_browser=open_browser,
            port=0,
            timeout=10,
        )
    assert "code_challenge=" in opened[0] and "offline_access" in opened[0]
    assert grant.expires_in == 1800
    assert grant.refresh_token.reveal() not in repr(grant)
    # The stored refresh token connects the organisation (and is rotated, as Xero does).
    values = {
        "client_id": xero["client_id"],
        "client_secret": xero["client_secret"],
        "refresh_token": grant.refresh_token.reveal(),
        "token_url": xero["identity_url"],
        "api_url": xero["url"],
        "connections_url": xero["connections_url"],
    }
    credentials = Credentials(values, on_save=values.__setitem__)
    with httpx.Client(timeout=10) as http:
        xero_connect(credentials=credentials, http=http, clock=SystemClock())
    assert values["refresh_token"] != grant.refresh_token.reveal()


def test_a_code_is_exchanged_once_and_only_with_its_verifier(xero: dict[str, Any]) -> None:
    client = xero_client(xero)
    pkce = new_pkce()
    redirect = "http://127.0.0.1:1/callback"

    def code_for(challenge: object) -> Secret:
        url = authorization_url(
            client, client_id=xero["client_id"], redirect_uri=redirect, state="s", pkce=challenge
        )  # type: ignore[arg-type]
        location = httpx.get(url).headers["location"]
        return Secret(parse_qs(urlsplit(location).query)["code"][0])

    def exchange(code: Secret, verifier: object) -> object:
        with httpx.Client(timeout=10) as http:
            return exchange_code(
                client,
                service="xero",
                http=http,
                client_id=xero["client_id"],
                client_secret=Secret(xero["client_secret"]),
                code=code,
                redirect_uri=redirect,
                pkce=verifier,  # type: ignore[arg-type]
            )

    wrong = new_pkce()
    code = code_for(pkce)
    with pytest.raises(AuthError, match="invalid_grant"):
        exchange(code, wrong)
    exchange(code, pkce)
    with pytest.raises(AuthError, match="invalid_grant") as replay:
        exchange(code, pkce)
    assert code.reveal() not in str(replay.value)


def test_wave_code_flow_sends_the_client_secret_in_the_form(wave: dict[str, Any]) -> None:
    client = (
        get_target(make_manager(), "wave")
        .oauth_client()
        .pointed_at({"authorize_url": wave["authorize_url"], "token_url": wave["token_url"]})
    )
    with httpx.Client(timeout=10) as http:
        grant = authorize(
            client,
            service="wave",
            client_id=wave["client_id"],
            client_secret=Secret(wave["client_secret"]),
            http=http,
            open_browser=browser,
            port=0,
            timeout=10,
        )
    assert grant.extra["businessId"] == wave["business_id"]
    values = {
        "client_id": wave["client_id"],
        "client_secret": wave["client_secret"],
        "refresh_token": grant.refresh_token.reveal(),
        "token_url": wave["token_url"],
        "api_url": wave["url"],
    }
    with httpx.Client(timeout=10) as http:
        session = wave_connect(
            credentials=Credentials(values, on_save=values.__setitem__),
            http=http,
            clock=SystemClock(),
        )
    assert session is not None


def test_a_forged_or_refused_answer_stores_nothing_and_says_why() -> None:
    with LoopbackCallback("xero", "expected", port=0) as callback:
        assert (
            httpx.get(callback.redirect_uri.replace("/callback", "/favicon.ico")).status_code == 404
        )
        answer = httpx.get(callback.redirect_uri, params={"code": "c0de-123", "state": "forged"})
        assert answer.status_code == 400
        with pytest.raises(AuthError, match="state does not match") as forged:
            callback.wait(5)
        assert "c0de-123" not in str(forged.value)
    with LoopbackCallback("wave", "s", port=0) as callback:
        httpx.get(callback.redirect_uri, params={"error": "access_denied", "state": "s"})
        with pytest.raises(AuthError, match="access_denied"):
            callback.wait(5)
    with (
        LoopbackCallback("xero", "s", port=0) as callback,
        pytest.raises(AuthError, match="no answer reached"),
    ):
        callback.wait(0.2)


# -- the command ------------------------------------------------------------------------------


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv(KEY_VARIABLE, new_key().decode())
    return open_database(f"sqlite:///{tmp_path / 'auth.sqlite3'}")


def add_flow(database: Database, target: str, credentials: dict[str, str]) -> flows.Flow:
    flow = flows.make_flow("shop", target=target, seller_id="S", marketplaces=["US"])
    with database.engine.begin() as conn:
        flows.save_flow(conn, flow, now=START)
        Vault(load_keys()).store(conn, flow.scope(target), credentials, now=START)
    return flow


def test_auth_command_stores_the_refresh_token_encrypted_and_prints_no_secret(
    database: Database,
    xero: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    flow = add_flow(
        database,
        "xero",
        {
            "client_id": xero["client_id"],
            "client_secret": xero["client_secret"],
            "authorize_url": xero["authorize_url"],
            "token_url": xero["identity_url"],
        },
    )
    answers: list[httpx.Response] = []

    def fake_browser(url: str) -> bool:
        # The command waits for the callback while the "user" signs in elsewhere.
        threading.Thread(target=lambda: answers.append(browser(url))).start()
        return True

    monkeypatch.setattr(auth_cmd.webbrowser, "open", fake_browser)
    caplog.set_level(logging.DEBUG)
    result = CliRunner().invoke(
        app, ["auth", "xero", "--flow", "shop", "--db", database.url, "--port", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "connected to Xero" in result.output
    assert answers and answers[0].status_code == 200
    with database.engine.begin() as conn:
        stored = Vault(load_keys()).load(conn, flow.scope("xero"))
    refresh = stored["refresh_token"].reveal()
    assert refresh and refresh not in result.output and refresh not in caplog.text
    assert xero["client_secret"] not in result.output + caplog.text
    raw = Path(database.url.removeprefix("sqlite:///")).read_bytes()
    assert refresh.encode() not in raw
    values = {name: secret.reveal() for name, secret in stored.items()}
    values |= {"api_url": xero["url"], "connections_url": xero["connections_url"]}
    with httpx.Client(timeout=10) as http:
        xero_connect(
            credentials=Credentials(values, on_save=values.__setitem__),
            http=http,
            clock=SystemClock(),
        )


def test_auth_command_refuses_a_flow_of_another_target_or_without_a_client_id(
    database: Database,
) -> None:
    add_flow(database, "wave", {"client_secret": "s3cret-value"})
    other = CliRunner().invoke(app, ["auth", "xero", "--flow", "shop", "--db", database.url])
    assert other.exit_code == 1
    assert "posts to wave" in other.output
    missing = CliRunner().invoke(app, ["auth", "wave", "--flow", "shop", "--db", database.url])
    assert missing.exit_code == 1
    assert "no wave.client_id" in missing.output
    assert "s3cret-value" not in missing.output
