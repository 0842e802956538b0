"""Login with Amazon: trade the seller's refresh token for short-lived access tokens.

``POST https://api.amazon.com/auth/o2/token``, form-encoded, with ``grant_type=refresh_token``,
``refresh_token``, ``client_id`` and ``client_secret`` (developer guide, "Step 1. Request a Login
with Amazon access token"). The answer carries ``access_token`` and ``expires_in`` (an hour). The
token is cached and renewed :data:`REFRESH_MARGIN_SECONDS` before it expires, so a request never
leaves with a token about to lapse in flight.

Neither token nor the client secret is ever logged, put in an exception or shown by ``repr``:
they travel as :class:`~ml_connector.core.secrets.Secret` and are revealed only into the request.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import httpx

from ml_connector.core.amazon import decode
from ml_connector.core.amazon.backoff import Backoff
from ml_connector.core.emulation.clock import Clock
from ml_connector.core.errors import AuthError, TransportError
from ml_connector.core.secrets import Secret

log = logging.getLogger("ml_connector.amazon")

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
REFRESH_MARGIN_SECONDS = 60.0
_SERVICE = "amazon"
_OPERATION = "lwaTokenExchange"


@dataclass(frozen=True)
class LwaCredentials:
    """What an SP-API app needs to act for one seller. ``repr`` shows only the client id."""

    client_id: str
    client_secret: Secret
    refresh_token: Secret

    def __post_init__(self) -> None:
        for name in ("client_secret", "refresh_token"):
            if not isinstance(getattr(self, name), Secret):
                raise TypeError(f"LwaCredentials.{name} must be a Secret")

    def secrets(self) -> tuple[str, str]:
        """The secret values, for scrubbing them out of any text a remote service echoes."""
        return (self.client_secret.reveal(), self.refresh_token.reveal())


@dataclass(frozen=True)
class AccessToken:
    value: Secret
    expires_at: float  # seconds since the epoch, by the injected clock

    def fresh_at(self, now: float, margin: float = REFRESH_MARGIN_SECONDS) -> bool:
        return now < self.expires_at - margin


class LwaTokenSource:
    """Hands out a valid access token, exchanging the refresh token when needed.

    Thread-safe: concurrent callers share one exchange. ``invalidate()`` forgets the cached token
    (after Amazon says it expired early); the next ``token()`` fetches a new one.
    """

    def __init__(
        self,
        credentials: LwaCredentials,
        http: httpx.Client,
        clock: Clock,
        *,
        token_url: str = LWA_TOKEN_URL,
        user_agent: str | None = None,
        backoff: Backoff | None = None,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        self._credentials = credentials
        self._http = http
        self._clock = clock
        self._token_url = token_url
        self._user_agent = user_agent
        self._backoff = backoff or Backoff()
        self._margin = refresh_margin
        self._cached: AccessToken | None = None
        self._lock = threading.Lock()
        self.exchanges = 0  # how many times the refresh token was traded; tests and metrics

    def __repr__(self) -> str:
        return f"LwaTokenSource(client_id={self._credentials.client_id!r}, url={self._token_url!r})"

    def token(self) -> Secret:
        """A valid access token; exchanges the refresh token when none is cached or it is near expiry."""
        with self._lock:
            now = self._clock.now()
            if self._cached is None or not self._cached.fresh_at(now, self._margin):
                self._cached = self._exchange()
            return self._cached.value

    def invalidate(self) -> None:
        with self._lock:
            self._cached = None

    def _exchange(self) -> AccessToken:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._credentials.refresh_token.reveal(),
            "client_id": self._credentials.client_id,
            "client_secret": self._credentials.client_secret.reveal(),
        }
        headers = {"content-type": "application/x-www-form-urlencoded;charset=UTF-8"}
        if self._user_agent:
            headers["user-agent"] = self._user_agent
        retry = 0
        while True:
            sent_at = self._clock.now()
            try:
                response = self._http.post(self._token_url, data=form, headers=headers)
            except httpx.TransportError as exc:
                if retry >= self._backoff.max_retries:
                    raise TransportError(
                        _SERVICE,
                        f"token exchange failed: {type(exc).__name__}",
                        operation=_OPERATION,
                    ) from None
                self._wait(retry, f"transport error {type(exc).__name__}")
                retry += 1
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if retry >= self._backoff.max_retries:
                    raise self._error(response)
                self._wait(retry, f"HTTP {response.status_code}")
                retry += 1
                continue
            if response.status_code != 200:
                raise self._error(response)
            self.exchanges += 1
            return self._parse(response, sent_at)

    def _wait(self, retry: int, why: str) -> None:
        delay = self._backoff.delay(retry)
        log.warning("LWA token exchange: %s; retry %d in %.2f s", why, retry + 1, delay)
        self._clock.sleep(delay)

    def _parse(self, response: httpx.Response, sent_at: float) -> AccessToken:
        try:
            body = decode.loads(response.content)
            value = body["access_token"]
            expires_in = int(body["expires_in"])
        except (ValueError, KeyError, TypeError):
            raise AuthError(
                _SERVICE,
                "token response is not the expected JSON",
                status=200,
                operation=_OPERATION,
            ) from None
        if not isinstance(value, str) or not value or expires_in <= 0:
            raise AuthError(
                _SERVICE,
                "token response lacks a usable access token",
                status=200,
                operation=_OPERATION,
            )
        # Count the lifetime from when we asked, not when the answer came: errs on the safe side.
        return AccessToken(Secret(value), sent_at + expires_in)

    def _error(self, response: httpx.Response) -> AuthError:
        """An AuthError with LWA's error code and description, secrets scrubbed out."""
        code: str | None = None
        description = f"token exchange refused with HTTP {response.status_code}"
        try:
            body = decode.loads(response.content)
        except ValueError:
            body = None
        if isinstance(body, dict):
            if isinstance(body.get("error"), str):
                code = body["error"]
            if isinstance(body.get("error_description"), str):
                description = body["error_description"]
        for secret in self._credentials.secrets():
            if secret:
                description = description.replace(secret, "***")
                if code:
                    code = code.replace(secret, "***")
        return AuthError(
            _SERVICE, description, status=response.status_code, code=code, operation=_OPERATION
        )
