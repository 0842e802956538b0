"""Xero OAuth2: the authorization-code exchange, and refresh with rotating refresh tokens.

Xero's access tokens live 30 minutes; its refresh tokens are single-use and rotated on every
refresh (``xero-identity.yaml`` ``AccessToken``; ``FACTS.md``). So the one rule that matters: the
new refresh token is saved through ``credentials.save`` *before* the new access token is used,
so a crash between the two never leaves the user holding only a spent token. Tokens are refreshed
60 seconds before they expire, on the injected clock, never after a 401 has already cost a call
(a 401 still triggers one refresh, because Xero can revoke a token early).

Nothing here logs, formats or raises a token or the client secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from ml_connector.core import jsoncodec
from ml_connector.core.credentials import Credentials
from ml_connector.core.emulation import Clock
from ml_connector.core.errors import AuthError, TransportError

SERVICE = "xero"
TOKEN_URL = "https://identity.xero.com/connect/token"
AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
CONNECTIONS_URL = "https://api.xero.com/connections"
REFRESH_MARGIN_SECONDS = 60.0
DEFAULT_SCOPES = (
    "offline_access",
    "accounting.transactions",
    "accounting.settings",
    "accounting.contacts",
)
RECONNECT_HINT = "run 'ml-connector auth xero' to connect the organisation again"


@dataclass(frozen=True)
class TokenSet:
    """A token response: what to send and until when (epoch seconds on the run's clock)."""

    access_token: str
    refresh_token: str
    expires_at: float

    def __repr__(self) -> str:
        return f"TokenSet(expires_at={self.expires_at})"


def authorization_url(
    client_id: str,
    redirect_uri: str,
    state: str,
    *,
    scopes: Sequence[str] = DEFAULT_SCOPES,
    authorize_url: str = AUTHORIZE_URL,
) -> str:
    """The address to open in a browser to start ``ml-connector auth xero``."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
        }
    )
    return f"{authorize_url}?{query}"


def _token_request(
    http: httpx.Client,
    token_url: str,
    client_id: str,
    client_secret: str,
    form: dict[str, str],
    clock: Clock,
) -> TokenSet:
    try:
        response = http.post(
            token_url,
            data=form,
            auth=(client_id, client_secret),
            headers={"accept": "application/json"},
        )
    except httpx.TransportError as exc:
        raise TransportError(
            SERVICE, f"no answer from the token endpoint ({type(exc).__name__})", operation="token"
        ) from None
    try:
        body = jsoncodec.loads(response.content) if response.content else {}
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict):
        code = body.get("error") if isinstance(body, dict) else None
        if code == "invalid_grant":
            raise AuthError(
                SERVICE,
                f"Xero no longer accepts the stored refresh token (expired, revoked or already "
                f"used); {RECONNECT_HINT}",
                status=response.status_code,
                code=code,
                operation="token",
            )
        raise AuthError(
            SERVICE,
            f"the token endpoint refused the request; {RECONNECT_HINT}",
            status=response.status_code,
            code=code if isinstance(code, str) else None,
            operation="token",
        )
    try:
        return TokenSet(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]),
            expires_at=clock.now() + int(body.get("expires_in", 1800)),
        )
    except KeyError as exc:
        raise AuthError(
            SERVICE, f"the token response has no {exc.args[0]}", operation="token"
        ) from None


def exchange_code(
    http: httpx.Client,
    credentials: Credentials,
    *,
    code: str,
    redirect_uri: str,
    clock: Clock,
) -> TokenSet:
    """Trade an authorization code for tokens and save the refresh token (``auth xero``).

    Reads ``client_id``/``client_secret`` (and ``token_url`` when pointed at an emulator) from
    ``credentials``; saves ``refresh_token`` before returning.
    """
    tokens = _token_request(
        http,
        credentials.get("token_url") or TOKEN_URL,
        credentials.require("client_id"),
        credentials.require("client_secret"),
        {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
        clock,
    )
    credentials.save("refresh_token", tokens.refresh_token)
    return tokens


class XeroAuth:
    """Holds the current access token and refreshes it, rotating the refresh token safely."""

    def __init__(self, credentials: Credentials, http: httpx.Client, clock: Clock) -> None:
        self._credentials = credentials
        self._http = http
        self._clock = clock
        self._tokens: TokenSet | None = None
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"XeroAuth(refreshes={self.refreshes})"

    @property
    def token_url(self) -> str:
        return self._credentials.get("token_url") or TOKEN_URL

    def access_token(self) -> str:
        """A token valid for at least the next 60 seconds, refreshing first if needed."""
        tokens = self._tokens
        if tokens is None or self._clock.now() >= tokens.expires_at - REFRESH_MARGIN_SECONDS:
            tokens = self.refresh()
        return tokens.access_token

    def refresh(self) -> TokenSet:
        """Spend the stored refresh token; persist its successor before anything uses it."""
        tokens = _token_request(
            self._http,
            self.token_url,
            self._credentials.require("client_id"),
            self._credentials.require("client_secret"),
            {
                "grant_type": "refresh_token",
                "refresh_token": self._credentials.require("refresh_token"),
            },
            self._clock,
        )
        self._credentials.save("refresh_token", tokens.refresh_token)
        self._tokens = tokens
        self.refreshes += 1
        return tokens

    def invalidate(self) -> None:
        """Forget the access token (Xero answered 401): the next call refreshes."""
        self._tokens = None
