"""The request loop of the SP-API client: authenticate, pace, send, retry, decode, raise.

One call of :meth:`SpApiHttp.call` is one logical SP-API request. Around the wire it:

- waits for a token of the operation's bucket (:mod:`.throttle`), and adopts the rate Amazon
  reports in ``x-amzn-RateLimit-Limit``;
- sends ``x-amz-access-token`` from the LWA token source, a ``user-agent`` of the form the
  developer guide asks for (``AppName/Version (Language=...)``) and ``x-amz-date``;
- retries HTTP 429 and 5xx, and lost connections on idempotent operations, with bounded
  exponential backoff and full jitter, sleeping on the injected clock, logging each retry with
  the operation name (never a token);
- on 401/403 (expired or revoked token) fetches a new access token once and retries once;
- decodes JSON with money as ``Decimal`` (:mod:`.decode`);
- turns Amazon's ``{"errors": [{"code", "message", "details"}]}`` into
  :class:`~ml_connector.core.errors.RemoteError` (service ``amazon``, status, code, message,
  operation), :class:`~ml_connector.core.errors.RateLimitedError` when throttling outlasts the
  retries, :class:`~ml_connector.core.errors.AuthError` for auth failures, and
  :class:`~.errors.PagingTokenExpired` for a refused paging token.
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any
from urllib.parse import urlencode

import httpx

from ml_connector.core.amazon import decode
from ml_connector.core.amazon.backoff import Backoff
from ml_connector.core.amazon.errors import DocumentUrlExpired, PagingTokenExpired
from ml_connector.core.amazon.lwa import LwaTokenSource
from ml_connector.core.amazon.operations import Operation
from ml_connector.core.amazon.throttle import Throttle
from ml_connector.core.emulation.clock import Clock
from ml_connector.core.errors import AuthError, RateLimitedError, RemoteError, TransportError

log = logging.getLogger("ml_connector.amazon")

SERVICE = "amazon"
RATE_LIMIT_HEADER = "x-amzn-RateLimit-Limit"
# Statuses on which Amazon sends the rate header, per the models and the usage-plan guide.
_RATE_HEADER_STATUSES = frozenset({200, 201, 202, 204, 400, 404})
_AUTH_STATUSES = frozenset({401, 403})

QueryValue = str | int | Sequence[str]


def default_user_agent() -> str:
    """``ml-connector/<version> (Language=Python/<version>; Platform=<system>)``."""
    try:
        version = metadata.version("ml-connector")
    except metadata.PackageNotFoundError:
        version = "0"
    return (
        f"ml-connector/{version} (Language=Python/{platform.python_version()}; "
        f"Platform={platform.system() or 'unknown'})"
    )


def encode_query(params: Mapping[str, QueryValue | None]) -> list[tuple[str, str]]:
    """Query pairs in the models' encoding: arrays comma-separated (Swagger 2.0 ``csv``, the
    default ``collectionFormat``), ``None`` left out, order kept."""
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, str):
            pairs.append((name, value))
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif isinstance(value, int):
            pairs.append((name, str(value)))
        else:
            items = list(value)
            if items:
                pairs.append((name, ",".join(items)))
    return pairs


def amazon_error(response: httpx.Response) -> tuple[str | None, str]:
    """Amazon's first error ``code`` and its ``message`` (with ``details`` when given)."""
    try:
        body = decode.loads(response.content) if response.content else None
    except ValueError:
        body = None
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, dict):  # Reports' ErrorList, when nested one level deeper
        errors = errors.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        code = first.get("code")
        message = str(first.get("message") or f"HTTP {response.status_code}")
        details = first.get("details")
        if details:
            message = f"{message} ({details})"
        if len(errors) > 1:
            message = f"{message} [+{len(errors) - 1} more]"
        return (str(code) if code is not None else None), message
    return None, f"HTTP {response.status_code} without an SP-API error body"


class SpApiHttp:
    """Sends SP-API requests for one seller through one ``httpx.Client``."""

    def __init__(
        self,
        *,
        base_url: str,
        http: httpx.Client,
        tokens: LwaTokenSource,
        clock: Clock,
        throttle: Throttle | None = None,
        backoff: Backoff | None = None,
        user_agent: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http
        self._tokens = tokens
        self._clock = clock
        self.throttle = throttle or Throttle(clock)
        self._backoff = backoff or Backoff()
        self.user_agent = user_agent or default_user_agent()

    def __repr__(self) -> str:
        return f"SpApiHttp(base_url={self.base_url!r})"

    def call(
        self,
        operation: Operation,
        *,
        path_params: Mapping[str, str] | None = None,
        query: Mapping[str, QueryValue | None] | None = None,
        body: Any = None,
    ) -> Any:
        """Perform ``operation`` and return its decoded JSON body (``{}`` when empty).

        Raises the errors listed in the module docstring; a 2xx always returns.
        """
        url = self.base_url + operation.url_path(**(path_params or {}))
        pairs = encode_query(query or {})
        content = decode.dumps(body) if body is not None else None
        carries_paging_token = operation.paging_token is not None and any(
            name == operation.paging_token for name, _ in pairs
        )
        retry = 0
        refreshed_token = False
        while True:
            self.throttle.acquire(operation)
            request = self._http.build_request(
                operation.method,
                url,
                params=urlencode(pairs, safe=","),
                content=content,
                headers=self._headers(json_body=content is not None),
            )
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                if operation.idempotent and retry < self._backoff.max_retries:
                    self._sleep_before_retry(operation, retry, type(exc).__name__)
                    retry += 1
                    continue
                raise TransportError(
                    SERVICE,
                    f"no response ({type(exc).__name__}); the request may or may not have "
                    "reached Amazon",
                    operation=operation.name,
                ) from None
            status = response.status_code
            if status in _RATE_HEADER_STATUSES:
                self.throttle.observe_rate_header(
                    operation, response.headers.get(RATE_LIMIT_HEADER)
                )
            if 200 <= status < 300:
                return decode.loads(response.content) if response.content.strip() else {}
            if status == 429 or status >= 500:
                if status == 429:
                    self.throttle.throttled(operation)
                if retry < self._backoff.max_retries:
                    self._sleep_before_retry(operation, retry, f"HTTP {status}")
                    retry += 1
                    continue
                raise self._error(operation, response, gave_up_after=retry)
            if status in _AUTH_STATUSES and not refreshed_token:
                # An access token can expire or be revoked early; one fresh token settles
                # whether that was the cause. A second refusal is a real permission problem.
                log.warning("%s: HTTP %d, refreshing the access token once", operation.name, status)
                self._tokens.invalidate()
                refreshed_token = True
                continue
            if status == 400 and carries_paging_token:
                code, message = amazon_error(response)
                raise PagingTokenExpired(
                    SERVICE,
                    f"paging token refused, restart the window: {message}",
                    status=status,
                    code=code,
                    operation=operation.name,
                )
            raise self._error(operation, response)

    def fetch_document(
        self, url: str, *, operation_name: str = "downloadReportDocument"
    ) -> tuple[bytes, str | None]:
        """GET a presigned document URL; returns the body and its ``content-encoding`` header.

        httpx undoes a transport ``content-encoding`` by itself, so the caller needs the header
        to know whether the bytes are still compressed.

        The access token is NOT sent: the URL is signed itself and points outside the SP-API
        host, so our token has no business travelling there. 5xx and lost connections are
        retried; 400/403 means the URL expired (:class:`DocumentUrlExpired`).
        """
        retry = 0
        while True:
            try:
                response = self._http.get(url, headers={"user-agent": self.user_agent})
            except httpx.TransportError as exc:
                if retry < self._backoff.max_retries:
                    self._sleep_before_retry_named(operation_name, retry, type(exc).__name__)
                    retry += 1
                    continue
                raise TransportError(
                    SERVICE,
                    f"document download failed ({type(exc).__name__})",
                    operation=operation_name,
                ) from None
            status = response.status_code
            if status == 200:
                return response.content, response.headers.get("content-encoding")
            if (status == 429 or status >= 500) and retry < self._backoff.max_retries:
                self._sleep_before_retry_named(operation_name, retry, f"HTTP {status}")
                retry += 1
                continue
            if status in (400, 401, 403):
                raise DocumentUrlExpired(
                    SERVICE,
                    f"document URL refused with HTTP {status} (presigned URLs expire after 5 minutes)",
                    status=status,
                    operation=operation_name,
                )
            raise RemoteError(
                SERVICE,
                f"document download failed with HTTP {status}",
                status=status,
                operation=operation_name,
            )

    def _headers(self, *, json_body: bool) -> dict[str, str]:
        headers = {
            "x-amz-access-token": self._tokens.token().reveal(),
            "user-agent": self.user_agent,
            "x-amz-date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self._clock.now())),
            "accept": "application/json",
        }
        if json_body:
            headers["content-type"] = "application/json"
        return headers

    def _sleep_before_retry(self, operation: Operation, retry: int, why: str) -> None:
        self._sleep_before_retry_named(operation.name, retry, why)

    def _sleep_before_retry_named(self, name: str, retry: int, why: str) -> None:
        delay = self._backoff.delay(retry)
        log.warning(
            "%s: %s; retry %d of %d in %.2f s",
            name,
            why,
            retry + 1,
            self._backoff.max_retries,
            delay,
        )
        self._clock.sleep(delay)

    def _error(
        self, operation: Operation, response: httpx.Response, *, gave_up_after: int | None = None
    ) -> RemoteError:
        code, message = amazon_error(response)
        status = response.status_code
        if gave_up_after is not None:
            message = f"{message}; gave up after {gave_up_after} retries"
        kw: dict[str, Any] = {"status": status, "code": code, "operation": operation.name}
        if status == 429:
            return RateLimitedError(SERVICE, message, **kw)
        if status in _AUTH_STATUSES:
            return AuthError(SERVICE, message, **kw)
        return RemoteError(SERVICE, message, **kw)
