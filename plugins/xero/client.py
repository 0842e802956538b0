"""The Xero Accounting API over HTTP: auth headers, retries, throttling, paging and batch writes.

Every request goes through :meth:`XeroClient.request`, which

- adds ``Authorization`` (refreshed 60 s before expiry) and ``xero-tenant-id`` to every call;
- keeps under Xero's 60 calls a minute per tenant with a sliding window on the injected clock;
- retries ``429`` after ``Retry-After`` seconds (slept on the clock), and ``5xx`` with jittered
  exponential backoff, both a bounded number of times;
- refreshes once on ``401`` (Xero may revoke a token early) and raises :class:`AuthError` if the
  fresh token is refused too;
- re-tries a timed-out *read*, but never a timed-out *write*: the write may have been applied, so
  it raises :class:`TransportError` and the caller reports the outcome as unknown.

Bodies are encoded and decoded with :mod:`ml_connector.core.jsoncodec`, so amounts stay
``Decimal`` both ways. ``calls`` counts requests actually sent (the demo reports it).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from ml_connector.core import jsoncodec
from ml_connector.core.emulation import Clock
from ml_connector.core.errors import (
    AuthError,
    ConfigError,
    RateLimitedError,
    TargetError,
    TransportError,
)
from ml_connector.core.retry import RetryPolicy, retry_after
from ml_connector.plugins.xero.auth import CONNECTIONS_URL, SERVICE, XeroAuth

API_URL = "https://api.xero.com/api.xro/2.0"
PAGE_SIZE = 100  # Xero's page size on list endpoints; a shorter page is the last one
MAX_BODY_BYTES = 3_500_000  # Xero refuses request bodies over 3.5 MB
MAX_OBJECTS_PER_CALL = 50  # Xero's recommendation for batch writes
PER_MINUTE = 60
WRITE_METHODS = frozenset({"PUT", "POST", "PATCH", "DELETE"})


@dataclass
class WriteReply:
    """What Xero answered to one batch write.

    ``objects`` are the per-object results (``summarizeErrors=false`` gives one per object sent,
    each with its own ``HasErrors``/``ValidationErrors``/``Warnings``). When Xero refused the
    whole request (``400`` with ``summarizeErrors`` true or absent) ``objects`` are its
    ``Elements`` and ``rejected`` is true: nothing in that request was applied.
    """

    status: int
    objects: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""
    rejected: bool = False


def _error_message(body: Any, fallback: str) -> str:
    if isinstance(body, dict):
        for key in ("Message", "Detail", "Title", "error_description", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])
    return fallback


def validation_messages(obj: Mapping[str, Any], field_name: str = "ValidationErrors") -> list[str]:
    """The ``Message`` texts of an object's ``ValidationErrors`` (or ``Warnings``)."""
    return [
        str(item.get("Message", "")).strip()
        for item in obj.get(field_name) or []
        if isinstance(item, Mapping) and item.get("Message")
    ]


def needs_four_unit_decimals(objects: Sequence[Mapping[str, Any]]) -> bool:
    """True when any line's ``UnitAmount`` has more than 2 decimals (send ``unitdp=4`` then)."""
    for obj in objects:
        for line in obj.get("LineItems") or []:
            unit = line.get("UnitAmount")
            if isinstance(unit, Decimal) and unit.as_tuple().exponent < -2:  # type: ignore[operator]
                return True
    return False


def modified_since_header(moment: dt.datetime) -> str:
    """``If-Modified-Since`` as Xero's contract types it (``date-time``): ISO 8601 in UTC."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


class MinuteWindow:
    """At most ``limit`` calls in any 60 seconds of the clock; waits on the clock when full."""

    def __init__(self, clock: Clock, limit: int = PER_MINUTE) -> None:
        self._clock = clock
        self._limit = limit
        self._sent: deque[float] = deque()

    def acquire(self) -> None:
        now = self._clock.now()
        while self._sent and self._sent[0] <= now - 60:
            self._sent.popleft()
        if len(self._sent) >= self._limit:
            self._clock.sleep(self._sent[0] + 60 - now)
            self._sent.popleft()
        self._sent.append(self._clock.now())


class XeroClient:
    """One organisation's Accounting API, reached through the engine's ``httpx.Client``."""

    def __init__(
        self,
        http: httpx.Client,
        auth: XeroAuth,
        clock: Clock,
        *,
        api_url: str = API_URL,
        tenant_id: str | None = None,
        connections_url: str = CONNECTIONS_URL,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        per_minute: int = PER_MINUTE,
    ) -> None:
        self.http = http
        self.auth = auth
        self.clock = clock
        self.api_url = api_url.rstrip("/")
        self.connections_url = connections_url
        self.retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self._window = MinuteWindow(clock, per_minute)
        self._tenant_id = tenant_id
        self.calls = 0

    def __repr__(self) -> str:
        return f"XeroClient(api_url={self.api_url!r}, calls={self.calls})"

    # -- tenant -------------------------------------------------------------------------------

    @property
    def tenant_id(self) -> str:
        """The organisation every call addresses: configured, or the first connection's."""
        if self._tenant_id is None:
            response = self._send("GET", self.connections_url, tenant=False)
            connections = self._json(response)
            if response.status_code != 200 or not isinstance(connections, list):
                raise TargetError(
                    SERVICE,
                    _error_message(connections, "could not list the connected organisations"),
                    status=response.status_code,
                    operation="GET connections",
                )
            if not connections:
                raise ConfigError(
                    "Xero: no organisation is connected to this app; "
                    "run 'ml-connector auth xero' and pick one"
                )
            self._tenant_id = str(connections[0]["tenantId"])
        return self._tenant_id

    # -- one request --------------------------------------------------------------------------

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return jsoncodec.loads(response.content)
        except ValueError:
            return None

    def _headers(self, tenant: bool, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {
            "authorization": f"Bearer {self.auth.access_token()}",
            "accept": "application/json",
        }
        if tenant:
            headers["xero-tenant-id"] = self.tenant_id
        headers.update(extra or {})
        return headers

    def _retry_after(self, response: httpx.Response, attempt: int) -> float:
        asked = retry_after(response, now=self.clock.now())
        return asked if asked is not None else self.retry.delay(attempt, self._rng)

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        tenant: bool = True,
    ) -> httpx.Response:
        """Send with retries; returns the final response (2xx, or a 4xx for the caller)."""
        operation = f"{method} {url.rsplit('/', 1)[-1]}"
        is_write = method in WRITE_METHODS
        refreshed = False
        attempt = 0
        while True:
            self._window.acquire()
            request_headers = self._headers(tenant, headers)
            if content is not None:
                request_headers["content-type"] = "application/json"
            self.calls += 1
            try:
                response = self.http.request(
                    method, url, params=params, content=content, headers=request_headers
                )
            except httpx.TransportError as exc:
                if is_write:
                    raise TransportError(
                        SERVICE,
                        f"no answer ({type(exc).__name__}); the write may have been applied",
                        operation=operation,
                    ) from None
                if attempt + 1 >= self.retry.max_attempts:
                    raise TransportError(
                        SERVICE, f"no answer after {attempt + 1} tries", operation=operation
                    ) from None
                self.clock.sleep(self.retry.delay(attempt, self._rng))
                attempt += 1
                continue
            status = response.status_code
            if status == 401 and not refreshed:
                self.auth.invalidate()
                refreshed = True
                continue
            if status in (401, 403):
                body = self._json(response)
                raise AuthError(
                    SERVICE,
                    f"{_error_message(body, 'not authorised')}; "
                    "run 'ml-connector auth xero' to connect the organisation again",
                    status=status,
                    operation=operation,
                )
            if status == 429 or status >= 500:
                if attempt + 1 >= self.retry.max_attempts:
                    body = self._json(response)
                    if status == 429:
                        raise RateLimitedError(
                            SERVICE,
                            _error_message(body, "rate limit reached")
                            + f" ({response.headers.get('x-rate-limit-problem', 'minute')} limit)",
                            retry_after=self._retry_after(response, attempt),
                            status=status,
                            operation=operation,
                        )
                    raise TargetError(
                        SERVICE,
                        _error_message(body, f"server error after {attempt + 1} tries"),
                        status=status,
                        operation=operation,
                    )
                wait = (
                    self._retry_after(response, attempt)
                    if status == 429
                    else self.retry.delay(attempt, self._rng)
                )
                self.clock.sleep(wait)
                attempt += 1
                continue
            return response

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        idempotency_key: str | None = None,
        if_modified_since: dt.datetime | None = None,
    ) -> tuple[int, Any]:
        """One API call below ``/api.xro/2.0``; returns ``(status, parsed body)``.

        Raises for what concerns the whole call (auth, exhausted retries, lost answers); a 4xx
        that is about the request itself (validation, not found) is returned to the caller.
        """
        headers: dict[str, str] = {}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if if_modified_since is not None:
            headers["If-Modified-Since"] = modified_since_header(if_modified_since)
        content = jsoncodec.dumps(body).encode() if body is not None else None
        response = self._send(
            method,
            f"{self.api_url}/{path.lstrip('/')}",
            params=params,
            content=content,
            headers=headers,
        )
        return response.status_code, self._json(response)

    # -- reads --------------------------------------------------------------------------------

    def get_all(
        self,
        collection: str,
        *,
        params: Mapping[str, str] | None = None,
        if_modified_since: dt.datetime | None = None,
        paged: bool = True,
    ) -> list[dict[str, Any]]:
        """Every object of ``collection`` matching ``params``: ``page=1,2...`` until a short page.

        Endpoints without paging (``Accounts``, ``TrackingCategories``, ``BankTransfers``) are
        read in one call with ``paged=False``.
        """
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            query = dict(params or {})
            if paged:
                query["page"] = str(page)
            status, body = self.request(
                "GET", collection, params=query, if_modified_since=if_modified_since
            )
            if status == 304:
                return found
            if status != 200 or not isinstance(body, dict):
                raise TargetError(
                    SERVICE,
                    _error_message(body, f"could not read {collection}"),
                    status=status,
                    operation=f"GET {collection}",
                )
            items = [item for item in body.get(collection) or [] if isinstance(item, dict)]
            found.extend(items)
            if not paged or len(items) < PAGE_SIZE:
                return found
            page += 1

    def get_one(self, collection: str, object_id: str) -> dict[str, Any] | None:
        """One object by its Xero id, or None when Xero does not know it."""
        status, body = self.request("GET", f"{collection}/{object_id}")
        if status == 404:
            return None
        if status != 200 or not isinstance(body, dict):
            raise TargetError(
                SERVICE,
                _error_message(body, f"could not read {collection} {object_id}"),
                status=status,
                operation=f"GET {collection}",
            )
        items = body.get(collection) or []
        return dict(items[0]) if items else None

    # -- writes -------------------------------------------------------------------------------

    @staticmethod
    def chunks(
        objects: Sequence[Mapping[str, Any]],
        *,
        max_objects: int = MAX_OBJECTS_PER_CALL,
        max_bytes: int = MAX_BODY_BYTES,
    ) -> Iterator[tuple[int, int]]:
        """Index ranges ``[start, end)`` of ``objects`` whose batch bodies stay within limits."""
        start, size = 0, 0
        envelope = len('{"Invoices":[]}')
        for index, obj in enumerate(objects):
            encoded = len(jsoncodec.dumps(obj).encode()) + 1
            full = index - start >= max_objects or envelope + size + encoded > max_bytes
            if index > start and full:
                yield start, index
                start, size = index, 0
            size += encoded
        if start < len(objects):
            yield start, len(objects)

    def write(
        self,
        method: str,
        collection: str,
        objects: Sequence[Mapping[str, Any]],
        *,
        idempotency_key: str,
        summarize_errors: bool | None = False,
    ) -> WriteReply:
        """Create or update ``objects`` in one call, answering per object where Xero does.

        ``summarize_errors=None`` for endpoints that do not take the parameter
        (``PUT /BankTransfers``). ``unitdp=4`` is added when a unit price needs it.
        """
        params: dict[str, str] = {}
        if summarize_errors is not None:
            params["summarizeErrors"] = "true" if summarize_errors else "false"
        if needs_four_unit_decimals(objects):
            params["unitdp"] = "4"
        status, body = self.request(
            method,
            collection,
            params=params,
            body={collection: [dict(obj) for obj in objects]},
            idempotency_key=idempotency_key,
        )
        if status == 200 and isinstance(body, dict):
            items = [item for item in body.get(collection) or [] if isinstance(item, dict)]
            return WriteReply(status, items)
        if status == 400 and isinstance(body, dict):
            elements = [e for e in body.get("Elements") or [] if isinstance(e, dict)]
            return WriteReply(
                status, elements, _error_message(body, "validation failed"), rejected=True
            )
        return WriteReply(
            status, [], _error_message(body, f"HTTP {status} from {collection}"), rejected=True
        )
