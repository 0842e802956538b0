"""OAuth 2 authorization-code flow with a loopback redirect, for ``ml-connector auth``.

A target declares its endpoints through the optional ``oauth_client`` hook
(:class:`OAuthClient`). :func:`authorize` then runs RFC 6749's authorization-code grant the way
RFC 8252 asks a native application to:

1. a one-shot HTTP server listens on ``http://127.0.0.1:<port>/callback`` (loopback only);
2. the browser is sent to the target's authorize URL with ``client_id``, that ``redirect_uri``,
   the scopes, a fresh unguessable ``state`` and, when the target supports PKCE (RFC 7636), an
   S256 ``code_challenge``;
3. the callback must carry the same ``state`` (anything else is refused: it is either a stale
   tab or a forged request), then its ``code`` is exchanged once at the token endpoint, with the
   ``code_verifier`` when PKCE was used;
4. the caller stores the refresh token in the vault. Nothing here logs, prints or raises a
   code, a token or the client secret.

A flow's stored credentials may hold ``authorize_url`` and ``token_url`` to point the flow at
an emulator or a sandbox instead of the target's production endpoints.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from ml_connector.core import jsoncodec
from ml_connector.core.emulation.server import LoopbackServer, serve
from ml_connector.core.errors import AuthError, ConfigError, TransportError
from ml_connector.core.secrets import Secret

CALLBACK_PATH = "/callback"
LOOPBACK_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_TIMEOUT_SECONDS = 300.0
CLIENT_AUTH = ("basic", "body")
PKCE_METHOD = "S256"


@dataclass(frozen=True)
class OAuthClient:
    """A target's OAuth 2 authorization-code endpoints, as the ``oauth_client`` hook returns them.

    ``scopes`` are requested space-separated. ``pkce``: the target accepts an S256 code
    challenge (RFC 7636), sent on top of the client secret. ``client_auth``: how the client id
    and secret reach the token endpoint, ``basic`` (HTTP Basic, RFC 6749 §2.3.1's preference)
    or ``body`` (form fields). ``extra_params`` are added to the authorize URL as they are.
    """

    authorize_url: str
    token_url: str
    scopes: tuple[str, ...] = ()
    pkce: bool = False
    client_auth: str = "basic"
    extra_params: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("authorize_url", "token_url"):
            value = getattr(self, name)
            if urlsplit(value).scheme not in ("http", "https"):
                raise ConfigError(f"OAuthClient.{name}: {value!r} is not an http(s) URL")
        if self.client_auth not in CLIENT_AUTH:
            raise ConfigError(
                f"OAuthClient.client_auth: {self.client_auth!r} is not one of "
                f"{', '.join(CLIENT_AUTH)}"
            )
        object.__setattr__(self, "scopes", tuple(self.scopes))

    def pointed_at(self, credentials: Mapping[str, str | Secret]) -> OAuthClient:
        """This client with ``authorize_url``/``token_url`` from stored credentials, if any."""
        overrides = {}
        for name in ("authorize_url", "token_url"):
            value = credentials.get(name)
            if value:
                overrides[name] = value.reveal() if isinstance(value, Secret) else value
        if not overrides:
            return self
        return OAuthClient(
            authorize_url=overrides.get("authorize_url", self.authorize_url),
            token_url=overrides.get("token_url", self.token_url),
            scopes=self.scopes,
            pkce=self.pkce,
            client_auth=self.client_auth,
            extra_params=self.extra_params,
        )


@dataclass(frozen=True)
class Pkce:
    """A PKCE pair (RFC 7636 §4.1-4.2): the verifier stays here, the challenge travels."""

    verifier: Secret
    challenge: str
    method: str = PKCE_METHOD


def new_pkce() -> Pkce:
    """A fresh verifier (64 random bytes, 86 characters) and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return Pkce(Secret(verifier), challenge)


@dataclass(frozen=True)
class TokenGrant:
    """What the token endpoint answered: the tokens (masked) and the other, non-secret fields."""

    access_token: Secret
    refresh_token: Secret
    expires_in: int | None
    scope: str
    extra: Mapping[str, str]

    def __repr__(self) -> str:
        return f"TokenGrant(expires_in={self.expires_in}, scope={self.scope!r})"


def authorization_url(
    client: OAuthClient, *, client_id: str, redirect_uri: str, state: str, pkce: Pkce | None
) -> str:
    """The authorize URL to open in the browser (RFC 6749 §4.1.1)."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if client.scopes:
        params["scope"] = " ".join(client.scopes)
    if pkce is not None:
        params["code_challenge"] = pkce.challenge
        params["code_challenge_method"] = pkce.method
    params.update(client.extra_params)
    parts = urlsplit(client.authorize_url)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>ml-connector</title></head>"
    "<body style='font-family:sans-serif;margin:3em'><h1>{title}</h1><p>{text}</p></body></html>"
)


def _page(status: int, title: str, text: str) -> httpx.Response:
    body = _PAGE.format(title=html.escape(title), text=html.escape(text))
    return httpx.Response(
        status,
        content=body.encode("utf-8"),
        headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
    )


class LoopbackCallback:
    """A one-shot ``/callback`` listener on a loopback port; :meth:`wait` returns the code.

    The first request to ``/callback`` settles it: a matching ``state`` with a ``code``
    succeeds; an ``error``, a missing code or a different ``state`` fails the authorization.
    Other paths (a browser asking for a favicon) get 404 and change nothing.
    """

    def __init__(self, service: str, state: str, *, port: int = DEFAULT_PORT) -> None:
        self.service = service
        self._state = state
        self._done = threading.Event()
        self._code: Secret | None = None
        self._error: AuthError | None = None
        try:
            self._server: LoopbackServer = serve(self._handle, host=LOOPBACK_HOST, port=port)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {LOOPBACK_HOST}:{port} for the OAuth redirect "
                f"({exc.strerror or type(exc).__name__}); pick another --port and register "
                f"http://{LOOPBACK_HOST}:PORT{CALLBACK_PATH} with the {service} app"
            ) from None
        self.redirect_uri = f"http://{LOOPBACK_HOST}:{self._server.port}{CALLBACK_PATH}"

    def _fail(self, message: str, code: str | None = None) -> None:
        self._error = AuthError(self.service, message, code=code, operation="authorize")
        self._done.set()

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != CALLBACK_PATH or request.method != "GET":
            return _page(404, "Not found", "This address only receives the sign-in answer.")
        if self._done.is_set():
            return _page(409, "Already answered", "This sign-in was already completed.")
        params = dict(parse_qsl(request.url.query.decode("ascii", "replace")))
        if not secrets.compare_digest(params.get("state", ""), self._state):
            self._fail(
                "the answer's state does not match the request's (a stale browser tab or a "
                "forged request); nothing was stored: run the command again"
            )
            return _page(400, "Refused", "The answer does not belong to this sign-in.")
        if "error" in params:
            error = params["error"]
            detail = params.get("error_description", "")
            self._fail(
                f"the authorization was refused ({error}{': ' + detail if detail else ''})",
                code=error,
            )
            return _page(400, "Not connected", f"The service answered: {error}.")
        code = params.get("code", "")
        if not code:
            self._fail("the answer carries no authorization code")
            return _page(400, "Not connected", "The answer carries no authorization code.")
        self._code = Secret(code)
        self._done.set()
        return _page(200, "Connected", "ml-connector has the authorization; close this window.")

    def wait(self, timeout: float) -> Secret:
        if not self._done.wait(timeout):
            raise AuthError(
                self.service,
                f"no answer reached {self.redirect_uri} within {timeout:.0f} s; "
                "run the command again",
                operation="authorize",
            )
        if self._error is not None:
            raise self._error
        assert self._code is not None
        return self._code

    def close(self) -> None:
        self._server.close()

    def __enter__(self) -> LoopbackCallback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def exchange_code(
    client: OAuthClient,
    *,
    service: str,
    http: httpx.Client,
    client_id: str,
    client_secret: Secret | None,
    code: Secret,
    redirect_uri: str,
    pkce: Pkce | None,
) -> TokenGrant:
    """Trade an authorization code for tokens at the token endpoint (RFC 6749 §4.1.3)."""
    form = {"grant_type": "authorization_code", "code": code.reveal(), "redirect_uri": redirect_uri}
    if pkce is not None:
        form["code_verifier"] = pkce.verifier.reveal()
    # httpx.Auth() sends no credentials (what ``auth=None`` did; httpx 0.29 no longer types it).
    auth: httpx.Auth = httpx.Auth()
    if client_secret is not None and client.client_auth == "basic":
        auth = httpx.BasicAuth(client_id, client_secret.reveal())
    else:
        form["client_id"] = client_id
        if client_secret is not None:
            form["client_secret"] = client_secret.reveal()
    try:
        response = http.post(
            client.token_url, data=form, auth=auth, headers={"Accept": "application/json"}
        )
    except httpx.TransportError as exc:
        raise TransportError(
            service, f"no answer from the token endpoint ({type(exc).__name__})", operation="token"
        ) from None
    try:
        body = jsoncodec.loads(response.content) if response.content else {}
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        raise AuthError(
            service,
            "the token endpoint refused the authorization code (expired, already used, or the "
            "app's client id, secret or redirect address do not match); run the command again",
            status=response.status_code,
            code=error if isinstance(error, str) else None,
            operation="token",
        )
    access, refresh = body.get("access_token"), body.get("refresh_token")
    if not isinstance(access, str) or not access:
        raise AuthError(service, "the token response has no access_token", operation="token")
    if not isinstance(refresh, str) or not refresh:
        raise AuthError(
            service,
            "the token response has no refresh_token, so the connection would die with the "
            "access token; the app must ask for offline access",
            operation="token",
        )
    expires_in = body.get("expires_in")
    secret_fields = {"access_token", "refresh_token", "id_token"}
    extra = {
        k: str(v)
        for k, v in body.items()
        if k not in secret_fields and isinstance(v, str | int) and not isinstance(v, bool)
    }
    return TokenGrant(
        access_token=Secret(access),
        refresh_token=Secret(refresh),
        expires_in=int(expires_in) if isinstance(expires_in, int | str) and expires_in else None,
        scope=str(body.get("scope") or ""),
        extra=extra,
    )


def authorize(
    client: OAuthClient,
    *,
    service: str,
    client_id: str,
    client_secret: Secret | None,
    http: httpx.Client,
    open_browser: Callable[[str], object],
    port: int = DEFAULT_PORT,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> TokenGrant:
    """Run the whole authorization-code flow and return the tokens (the caller stores them).

    ``open_browser(url)`` shows the authorize URL to the user (opens a browser, or prints it);
    it may return before the user has answered. ``port`` 0 picks a free port, which works only
    with targets that accept any loopback port (RFC 8252 §7.3); others need the exact
    ``http://127.0.0.1:PORT/callback`` registered with the app.
    """
    if not client_id:
        raise ConfigError(f"{service}: the app's client_id is not stored for this flow")
    if client_secret is None and not client.pkce:
        raise ConfigError(
            f"{service}: the app's client_secret is not stored for this flow "
            "(only PKCE targets can do without one)"
        )
    state = secrets.token_urlsafe(32)
    pkce = new_pkce() if client.pkce else None
    with LoopbackCallback(service, state, port=port) as callback:
        url = authorization_url(
            client,
            client_id=client_id,
            redirect_uri=callback.redirect_uri,
            state=state,
            pkce=pkce,
        )
        open_browser(url)
        code = callback.wait(timeout)
    return exchange_code(
        client,
        service=service,
        http=http,
        client_id=client_id,
        client_secret=client_secret,
        code=code,
        redirect_uri=callback.redirect_uri,
        pkce=pkce,
    )
