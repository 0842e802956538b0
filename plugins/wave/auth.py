"""Wave OAuth2: bearer access tokens refreshed before they expire.

Wave's access tokens live about two hours (``expires_in`` in the token response; FACTS.md) and
are refreshed with ``grant_type=refresh_token`` at ``https://api.waveapps.com/oauth2/token/``,
client id and secret in the form body. Wave does not document whether the refresh token rotates,
so whatever the response carries is saved through ``credentials.save`` *before* the new access
token is used: a rotated token is never lost to a crash, an unrotated one is saved unchanged.

Tokens are refreshed :data:`REFRESH_MARGIN_SECONDS` before expiry on the injected clock, never
only after Wave has refused one (an early revocation still triggers one refresh, see the client).
Tokens and the client secret are held as :class:`~ml_connector.core.secrets.Secret` and never
appear in a repr, a log line or an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from ml_connector.core import jsoncodec
from ml_connector.core.credentials import Credentials
from ml_connector.core.emulation import Clock
from ml_connector.core.errors import AuthError, TransportError
from ml_connector.core.secrets import Secret

SERVICE = "wave"
TOKEN_URL = "https://api.waveapps.com/oauth2/token/"
REFRESH_MARGIN_SECONDS = 300.0
DEFAULT_EXPIRES_IN = 7200
RECONNECT_HINT = "run 'ml-connector auth wave' to connect the business again"


@dataclass(frozen=True)
class TokenSet:
    """A token response: the access token and until when it is good (epoch seconds, run clock)."""

    access_token: Secret
    refresh_token: Secret
    expires_at: float

    def __repr__(self) -> str:
        return f"TokenSet(expires_at={self.expires_at})"


class WaveAuth:
    """Holds the current access token and refreshes it ahead of expiry.

    Reads ``client_id``, ``client_secret``, ``refresh_token`` (and ``token_url`` when pointed at
    an emulator) from ``credentials``.
    """

    def __init__(
        self,
        credentials: Credentials,
        http: httpx.Client,
        clock: Clock,
        *,
        margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        self._credentials = credentials
        self._http = http
        self._clock = clock
        self._margin = margin
        self._tokens: TokenSet | None = None
        self.refreshes = 0
        # Wave's token response names the business the user authorised (``businessId``).
        self.business_id: str | None = None

    def __repr__(self) -> str:
        return f"WaveAuth(refreshes={self.refreshes})"

    @property
    def token_url(self) -> str:
        return self._credentials.get("token_url") or TOKEN_URL

    @property
    def expires_at(self) -> float | None:
        return self._tokens.expires_at if self._tokens is not None else None

    def access_token(self) -> Secret:
        """A token good for at least the margin, refreshed first when it would not be."""
        tokens = self._tokens
        if tokens is None or self._clock.now() >= tokens.expires_at - self._margin:
            tokens = self.refresh()
        return tokens.access_token

    def invalidate(self) -> None:
        """Forget the access token (Wave answered UNAUTHENTICATED): the next call refreshes."""
        self._tokens = None

    def refresh(self) -> TokenSet:
        """Spend the stored refresh token; save what comes back before anything uses it."""
        form = {
            "grant_type": "refresh_token",
            "client_id": self._credentials.require("client_id"),
            "client_secret": self._credentials.require("client_secret"),
            "refresh_token": self._credentials.require("refresh_token"),
        }
        try:
            response = self._http.post(
                self.token_url, data=form, headers={"accept": "application/json"}
            )
        except httpx.TransportError as exc:
            raise TransportError(
                SERVICE,
                f"no answer from the token endpoint ({type(exc).__name__})",
                operation="token",
            ) from None
        try:
            body = jsoncodec.loads(response.content) if response.content else {}
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict):
            code = body.get("error") if isinstance(body, dict) else None
            reason = (
                "Wave no longer accepts the stored refresh token (expired or revoked)"
                if code == "invalid_grant"
                else "the token endpoint refused the refresh"
            )
            raise AuthError(
                SERVICE,
                f"{reason}; {RECONNECT_HINT}",
                status=response.status_code,
                code=code if isinstance(code, str) else None,
                operation="token",
            )
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not isinstance(access, str) or not access:
            raise AuthError(SERVICE, "the token response has no access_token", operation="token")
        expires_in = body.get("expires_in", DEFAULT_EXPIRES_IN)
        if isinstance(body.get("businessId"), str) and body["businessId"]:
            self.business_id = body["businessId"]
        if isinstance(refresh, str) and refresh:
            self._credentials.save("refresh_token", refresh)
        else:
            refresh = self._credentials.require("refresh_token")
        self._tokens = TokenSet(
            access_token=Secret(access),
            refresh_token=Secret(refresh),
            expires_at=self._clock.now() + int(expires_in),
        )
        self.refreshes += 1
        return self._tokens
