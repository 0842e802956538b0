"""Login with Amazon: the refresh-token exchange and the access tokens it hands out.

``POST /auth/o2/token`` with the form fields ``grant_type=refresh_token``, ``refresh_token``,
``client_id`` and ``client_secret`` answers ``{access_token: "Atza|...", token_type: "bearer",
expires_in: 3600, refresh_token}`` with ``Cache-Control: no-store`` (FACTS.md §1). Errors use the
OAuth shape ``{"error", "error_description"}`` with LWA's codes. An access token expires one hour
of the emulator's clock after it was issued, and every SP-API call checks it.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import httpx

from ml_connector.core.amazon.emulator.wire import ApiError, json_response
from ml_connector.core.emulation.clock import Clock

TOKEN_PATH = "/auth/o2/token"
TOKEN_LIFETIME_SECONDS = 3600
_FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class AppCredentials:
    """What a developer holds for one authorised seller. Secrets stay out of the repr."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    seller_id: str

    @classmethod
    def for_seed(cls, seed: int, seller_id: str) -> AppCredentials:
        """Deterministic credentials, so a demo can print them and a test can reuse them."""

        def part(label: str, length: int) -> str:
            return hashlib.sha256(f"{seed}:{label}".encode()).hexdigest()[:length]

        return cls(
            client_id=f"amzn1.application-oa2-client.{part('client', 32)}",
            client_secret=f"amzn1.oa2-cs.v1.{part('secret', 64)}",
            refresh_token=f"Atzr|IwEB{part('refresh', 64)}",
            seller_id=seller_id,
        )


@dataclass
class _Grant:
    seller_id: str
    expires_at: float


class TokenService:
    """Issues access tokens for known refresh tokens and checks them on every call."""

    def __init__(self, clock: Clock, credentials: AppCredentials) -> None:
        self._clock = clock
        self._credentials = credentials
        self._grants: dict[str, _Grant] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"TokenService(client_id={self._credentials.client_id!r}, tokens={len(self._grants)})"
        )

    def exchange(self, request: httpx.Request, request_id: str) -> httpx.Response:
        """Answer the token endpoint."""
        headers = {
            "x-amzn-RequestId": request_id,
            "Cache-Control": "no-store",
            "Pragma": "no-cache",
        }
        if request.method != "POST":
            return _oauth_error(
                405, "invalid_request", "The token endpoint accepts POST only.", headers
            )
        content_type = request.headers.get("content-type", "")
        if not content_type.lower().startswith(_FORM_TYPE):
            return _oauth_error(
                400, "invalid_request", "The request body must be form-urlencoded.", headers
            )
        form = {k: v[-1] for k, v in parse_qs(request.content.decode("utf-8", "replace")).items()}
        missing = [
            name
            for name in ("grant_type", "refresh_token", "client_id", "client_secret")
            if not form.get(name)
        ]
        if missing:
            return _oauth_error(
                400, "invalid_request", f"Missing parameter(s): {', '.join(missing)}.", headers
            )
        if form["grant_type"] != "refresh_token":
            return _oauth_error(
                400, "unsupported_grant_type", "Only grant_type=refresh_token is accepted.", headers
            )
        known = self._credentials
        if not (
            secrets.compare_digest(form["client_id"], known.client_id)
            and secrets.compare_digest(form["client_secret"], known.client_secret)
        ):
            return _oauth_error(400, "invalid_client", "Client authentication failed", headers)
        if not secrets.compare_digest(form["refresh_token"], known.refresh_token):
            return _oauth_error(
                400,
                "invalid_grant",
                "The request has an invalid grant parameter : refresh_token",
                headers,
            )
        token = "Atza|" + secrets.token_urlsafe(96)
        with self._lock:
            self._grants[token] = _Grant(
                known.seller_id, self._clock.now() + TOKEN_LIFETIME_SECONDS
            )
        body = {
            "access_token": token,
            "refresh_token": known.refresh_token,
            "token_type": "bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
        }
        return json_response(200, body, headers)

    def authorize(self, request: httpx.Request) -> str:
        """The seller id behind the request's ``x-amz-access-token``, or a 403 ``ApiError``."""
        token = request.headers.get("x-amz-access-token")
        if not token:
            raise _unauthorized("Access token is missing in the request header.")
        with self._lock:
            grant = self._grants.get(token)
        if grant is None:
            raise _unauthorized("The access token you provided is revoked, malformed or invalid.")
        if self._clock.now() >= grant.expires_at:
            raise _unauthorized("The access token you provided has expired.")
        return grant.seller_id

    def expire(self, request: httpx.Request) -> None:
        """Make the request's access token expire now (the chaos fault ``EXPIRE_TOKEN``)."""
        token = request.headers.get("x-amz-access-token", "")
        with self._lock:
            if token in self._grants:
                self._grants[token].expires_at = self._clock.now()


def _unauthorized(details: str) -> ApiError:
    return ApiError(403, "Unauthorized", "Access to requested resource is denied.", details)


def _oauth_error(
    status: int, error: str, description: str, headers: dict[str, str]
) -> httpx.Response:
    return json_response(status, {"error": error, "error_description": description}, headers)
