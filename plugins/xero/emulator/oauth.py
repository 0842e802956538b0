"""Xero's identity service: authorization codes, access tokens, rotating refresh tokens.

The contract (``xero-identity.yaml``, FACTS.md and Xero's developer forum):

* ``GET /identity/connect/authorize`` (login.xero.com) consents at once in the emulator and
  redirects to ``redirect_uri`` with a one-use ``code`` valid 5 minutes. A ``code_challenge``
  (PKCE, RFC 7636; Xero's "auth code with PKCE" flow, method ``S256`` or ``plain``) binds the
  code to the ``code_verifier`` the token request must then carry;
* ``POST /connect/token`` (identity.xero.com), client id and secret by HTTP Basic or in the
  form, ``grant_type=authorization_code`` or ``refresh_token``;
* access tokens live 30 minutes;
* a refresh token is single-use: refreshing returns a new one. The one just used stays
  redeemable for a 30-minute grace period (Xero's answer to a lost refresh response); after that
  it gets ``400 {"error": "invalid_grant"}``, which is what the slower of two processes
  refreshing the same token eventually sees. ``refresh_grace_seconds=0`` makes reuse fail at
  once. A refresh token unused for 60 days expires.

Tokens are opaque strings here (real ones are JWTs); clients must not look inside them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx

from ml_connector.core.emulation import Clock
from ml_connector.plugins.xero.emulator.state import IdFactory
from ml_connector.plugins.xero.emulator.wire import json_response

ACCESS_TOKEN_SECONDS = 30 * 60
REFRESH_GRACE_SECONDS = 30 * 60
REFRESH_UNUSED_SECONDS = 60 * 24 * 3600
CODE_SECONDS = 5 * 60
PKCE_METHODS = ("S256", "plain")


@dataclass
class Client:
    client_id: str
    client_secret: str = field(repr=False)


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scope: str
    expires_at: float
    used: bool = False
    challenge: str | None = None
    challenge_method: str = "plain"


@dataclass
class _Refresh:
    client_id: str
    scope: str
    issued_at: float
    rotated_at: float | None = None


@dataclass
class AccessGrant:
    client_id: str
    scope: str
    expires_at: float


class IdentityService:
    """The OAuth 2 side of the emulator; :meth:`check_access` guards every API call."""

    def __init__(
        self,
        clock: Clock,
        ids: IdFactory,
        *,
        refresh_grace_seconds: int = REFRESH_GRACE_SECONDS,
    ) -> None:
        self.clock = clock
        self.ids = ids
        self.refresh_grace_seconds = refresh_grace_seconds
        self.clients: dict[str, Client] = {}
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._access: dict[str, AccessGrant] = {}

    def __repr__(self) -> str:  # tokens and secrets never appear in a repr
        return f"IdentityService(clients={len(self.clients)}, live_tokens={len(self._access)})"

    def register_client(self) -> Client:
        client = Client(self.ids.token("client")[:39], self.ids.token("secret"))
        self.clients[client.client_id] = client
        return client

    # -- issuing -------------------------------------------------------------------------------
    def issue_code(
        self,
        client_id: str,
        redirect_uri: str,
        scope: str,
        *,
        challenge: str | None = None,
        challenge_method: str = "plain",
    ) -> str:
        code = self.ids.token("code")
        self._codes[code] = _Code(
            client_id,
            redirect_uri,
            scope,
            self.clock.now() + CODE_SECONDS,
            challenge=challenge,
            challenge_method=challenge_method,
        )
        return code

    def issue_tokens(self, client_id: str, scope: str) -> dict[str, Any]:
        """A fresh access token and refresh token, as the token endpoint returns them."""
        now = self.clock.now()
        access = self.ids.token("access")
        refresh = self.ids.token("refresh")
        self._access[access] = AccessGrant(client_id, scope, now + ACCESS_TOKEN_SECONDS)
        self._refresh[refresh] = _Refresh(client_id, scope, now)
        return {
            "id_token": self.ids.token("id"),
            "access_token": access,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "token_type": "Bearer",
            "refresh_token": refresh,
            "scope": scope,
        }

    def expire_access_token(self, token: str) -> None:
        """Make ``token`` expire now (chaos: a token that dies before the client expected)."""
        grant = self._access.get(token)
        if grant is not None:
            grant.expires_at = min(grant.expires_at, self.clock.now())

    def check_access(self, token: str) -> str | None:
        """None when ``token`` is a live access token, else why not (Xero's ``Detail`` text)."""
        grant = self._access.get(token)
        if grant is None:
            return "AuthenticationUnsuccessful"
        if self.clock.now() >= grant.expires_at:
            return f"TokenExpired: token expired at {_xero_timestamp(grant.expires_at)}"
        return None

    # -- endpoints -----------------------------------------------------------------------------
    def authorize(self, request: httpx.Request) -> httpx.Response:
        """Consent at once and redirect back with a code (there is no user to ask)."""
        params = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if params.get("response_type") != "code" or client_id not in self.clients:
            return json_response(400, {"error": "invalid_request"})
        if not redirect_uri:
            return json_response(
                400, {"error": "invalid_request", "error_description": "redirect_uri is required"}
            )
        challenge = params.get("code_challenge") or None
        method = params.get("code_challenge_method", "plain")
        if challenge is not None and method not in PKCE_METHODS:
            return json_response(
                400,
                {"error": "invalid_request", "error_description": "unsupported challenge method"},
            )
        code = self.issue_code(
            client_id,
            redirect_uri,
            params.get("scope", ""),
            challenge=challenge,
            challenge_method=method,
        )
        answer = {"code": code, "scope": params.get("scope", "")}
        if "state" in params:
            answer["state"] = params["state"]
        parts = urlsplit(redirect_uri)
        query = f"{parts.query}&{urlencode(answer)}" if parts.query else urlencode(answer)
        location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
        return httpx.Response(302, headers={"Location": location})

    def token(self, request: httpx.Request) -> httpx.Response:
        """``POST /connect/token`` for both grants."""
        form = {k: v[0] for k, v in parse_qs(request.content.decode(errors="replace")).items()}
        client = self._client(request, form)
        if client is None:
            return json_response(400, {"error": "invalid_client"})
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._redeem_code(client, form)
        if grant_type == "refresh_token":
            return self._redeem_refresh(client, form.get("refresh_token", ""))
        return json_response(400, {"error": "unsupported_grant_type"})

    def _client(self, request: httpx.Request, form: dict[str, str]) -> Client | None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            client_id, _, secret = decoded.partition(":")
        client = self.clients.get(client_id or "")
        if client is None or client.client_secret != secret:
            return None
        return client

    def _redeem_code(self, client: Client, form: dict[str, str]) -> httpx.Response:
        code = self._codes.get(form.get("code", ""))
        if (
            code is None
            or code.used
            or code.client_id != client.client_id
            or self.clock.now() >= code.expires_at
            or code.redirect_uri != form.get("redirect_uri", "")
            or not _verifier_matches(code, form.get("code_verifier"))
        ):
            return json_response(400, {"error": "invalid_grant"})
        code.used = True
        return json_response(200, self.issue_tokens(client.client_id, code.scope))

    def _redeem_refresh(self, client: Client, token: str) -> httpx.Response:
        now = self.clock.now()
        record = self._refresh.get(token)
        if record is None or record.client_id != client.client_id:
            return json_response(400, {"error": "invalid_grant"})
        unused_since = record.rotated_at if record.rotated_at is not None else record.issued_at
        if record.rotated_at is None and now - unused_since >= REFRESH_UNUSED_SECONDS:
            return json_response(400, {"error": "invalid_grant"})
        if record.rotated_at is not None and now - record.rotated_at >= self.refresh_grace_seconds:
            return json_response(400, {"error": "invalid_grant"})
        if record.rotated_at is None:
            record.rotated_at = now
        return json_response(200, self.issue_tokens(client.client_id, record.scope))


def _verifier_matches(code: _Code, verifier: str | None) -> bool:
    """RFC 7636 §4.6: a code issued with a challenge is redeemed only with its verifier."""
    if code.challenge is None:
        return True
    if not verifier:
        return False
    if code.challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        derived = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    else:
        derived = verifier
    return hmac.compare_digest(derived, code.challenge)


def _xero_timestamp(epoch_seconds: float) -> str:
    moment = dt.datetime.fromtimestamp(int(epoch_seconds), tz=dt.UTC)
    return moment.strftime("%m/%d/%Y %H:%M:%S")
