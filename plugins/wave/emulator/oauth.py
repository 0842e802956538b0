"""Wave's OAuth 2 endpoints as the emulator serves them (host ``api.waveapps.com`` in real life).

* ``GET /oauth2/authorize/`` (Wave's OAuth guide: ``client_id``, ``response_type=code``,
  ``scope``, optional ``redirect_uri``, ``state``, ``businessId``): there is no person to ask on
  a loopback demo, so consent is given at once and the browser is redirected to
  ``redirect_uri?code=...&state=...``. A ``redirect_uri`` must be the registered one or any
  loopback URL (so a local callback on any port works).
* ``POST /oauth2/token/`` (form-encoded; client credentials in the body or HTTP Basic):
  ``grant_type=authorization_code`` (``code``, ``redirect_uri`` if one was used) or
  ``grant_type=refresh_token``. Answer: ``access_token``, ``token_type: "Bearer"``,
  ``expires_in: 7200`` (access tokens live about 2 h, per the project's FACTS), ``refresh_token``,
  ``scope``, and Wave's extra ``userId``/``businessId``. Errors are RFC 6749's:
  400 ``invalid_request``/``invalid_grant``/``unsupported_grant_type``, 401 ``invalid_client``.
* Codes are single-use and live 10 minutes (RFC 6749's recommended maximum).
* Refresh tokens are **not rotated**: a refresh returns the same refresh token. Wave documents no
  rotation, and a refresh token that stayed valid is the safer assumption for a client that
  keeps storing whatever the last response said.

No token, code or secret is ever logged or put in an exception message.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from ml_connector.core.emulation.clock import Clock
from ml_connector.core.jsoncodec import dumps

ACCESS_TOKEN_SECONDS = 7200
CODE_SECONDS = 600
DEFAULT_SCOPE = (
    "account:* business:* customer:* invoice:* product:* sales_tax:* transaction:* user:*"
)
REGISTERED_REDIRECT_URI = "http://127.0.0.1/wave/callback"


@dataclass(frozen=True)
class TokenPair:
    """An access token and its refresh token; ``repr`` shows neither."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float


@dataclass
class _Code:
    expires_at: float
    redirect_uri: str | None
    scope: str
    business_id: str


@dataclass
class _Refresh:
    scope: str
    business_id: str


class OAuthServer:
    """Issues and checks tokens for one registered application of one Wave user."""

    def __init__(
        self, clock: Clock, *, client_id: str, client_secret: str, user_id: str, business_id: str
    ) -> None:
        self._clock = clock
        self.client_id = client_id
        self._client_secret = client_secret
        self._user_id = user_id
        self._business_id = business_id
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._access: dict[str, float] = {}  # token -> expiry (epoch seconds)

    def __repr__(self) -> str:
        return f"OAuthServer(client_id={self.client_id!r}, live_tokens={len(self._access)})"

    @property
    def client_secret(self) -> str:
        return self._client_secret

    # ----------------------------------------------------------------------------- tokens

    def issue(self, *, scope: str = DEFAULT_SCOPE, business_id: str | None = None) -> TokenPair:
        """A fresh access + refresh token pair, as a completed authorization would give."""
        refresh_token = secrets.token_urlsafe(32)
        self._refresh[refresh_token] = _Refresh(scope, business_id or self._business_id)
        access_token, expires_at = self._new_access_token()
        return TokenPair(access_token, refresh_token, expires_at)

    def is_valid(self, access_token: str | None) -> bool:
        """True when ``access_token`` was issued here and has not expired."""
        if access_token is None:
            return False
        expires_at = self._access.get(access_token)
        return expires_at is not None and self._clock.now() < expires_at

    def expire(self, access_token: str) -> None:
        """End ``access_token``'s life now (chaos: the token expires early)."""
        if access_token in self._access:
            self._access[access_token] = self._clock.now()

    def _new_access_token(self) -> tuple[str, float]:
        token = secrets.token_urlsafe(32)
        expires_at = self._clock.now() + ACCESS_TOKEN_SECONDS
        self._access[token] = expires_at
        return token, expires_at

    # ----------------------------------------------------------------------------- endpoints

    def authorize(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        if params.get("client_id") != self.client_id:
            return httpx.Response(400, text="Invalid client_id.")
        redirect_uri = params.get("redirect_uri") or REGISTERED_REDIRECT_URI
        if not _acceptable_redirect(redirect_uri):
            return httpx.Response(400, text="Mismatching redirect URI.")
        answer: dict[str, str] = {}
        if params.get("response_type") != "code":
            answer["error"] = "unsupported_response_type"
        elif not params.get("scope"):
            answer["error"] = "invalid_scope"
        else:
            code = secrets.token_urlsafe(24)
            self._codes[code] = _Code(
                expires_at=self._clock.now() + CODE_SECONDS,
                redirect_uri=params.get("redirect_uri"),
                scope=params["scope"],
                business_id=params.get("businessId")
                or params.get("business_id")
                or self._business_id,
            )
            answer["code"] = code
        if "state" in params:
            answer["state"] = params["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return httpx.Response(
            302, headers={"Location": f"{redirect_uri}{separator}{urlencode(answer)}"}
        )

    def token(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode("utf-8", "replace"), keep_blank_values=True))
        client_id, client_secret = _basic_credentials(request) or (
            form.get("client_id"),
            form.get("client_secret"),
        )
        if (
            client_id != self.client_id
            or client_secret is None
            or not secrets.compare_digest(client_secret, self._client_secret)
        ):
            return _oauth_error(401, "invalid_client")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(form)
        if grant_type == "refresh_token":
            return self._refresh_access(form)
        return _oauth_error(400, "unsupported_grant_type" if grant_type else "invalid_request")

    def _exchange_code(self, form: dict[str, str]) -> httpx.Response:
        code = self._codes.pop(form.get("code", ""), None)  # single use, even when refused
        if code is None or self._clock.now() >= code.expires_at:
            return _oauth_error(400, "invalid_grant")
        if code.redirect_uri is not None and form.get("redirect_uri") != code.redirect_uri:
            return _oauth_error(400, "invalid_grant")
        refresh_token = secrets.token_urlsafe(32)
        self._refresh[refresh_token] = _Refresh(code.scope, code.business_id)
        return self._token_response(refresh_token)

    def _refresh_access(self, form: dict[str, str]) -> httpx.Response:
        refresh_token = form.get("refresh_token", "")
        if refresh_token not in self._refresh:
            return _oauth_error(400, "invalid_grant")
        return self._token_response(refresh_token)

    def _token_response(self, refresh_token: str) -> httpx.Response:
        grant = self._refresh[refresh_token]
        access_token, _ = self._new_access_token()
        body: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
            "refresh_token": refresh_token,
            "scope": grant.scope,
            "userId": self._user_id,
            "businessId": grant.business_id,
        }
        return httpx.Response(
            200,
            content=dumps(body),
            headers={"Content-Type": "application/json", "Cache-Control": "no-store"},
        )


def _oauth_error(status: int, error: str) -> httpx.Response:
    return httpx.Response(
        status, content=dumps({"error": error}), headers={"Content-Type": "application/json"}
    )


def _basic_credentials(request: httpx.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeError):
        return None
    client_id, separator, client_secret = decoded.partition(":")
    return (client_id, client_secret) if separator else None


def _acceptable_redirect(uri: str) -> bool:
    if uri == REGISTERED_REDIRECT_URI:
        return True
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https"):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
