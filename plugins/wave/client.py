"""Wave's public GraphQL API over httpx: auth, errors inside HTTP 200, retries and paging.

Every call goes through :meth:`WaveClient.execute`, which

- sends ``Authorization: Bearer`` with a token refreshed ahead of expiry (:mod:`.auth`);
- reads every answer's top-level ``errors`` even when the status is 200, which is how Wave
  reports validation failures, unknown ids and expired tokens (``extensions.code``:
  ``GRAPHQL_VALIDATION_FAILED``, ``NOT_FOUND``, ``UNAUTHENTICATED``, ``INTERNAL_SERVER_ERROR``);
  ``UNAUTHENTICATED`` costs one refresh and one retry (Wave may revoke a token early), a second
  one raises :class:`~ml_connector.core.errors.AuthError`;
- retries ``429`` and ``5xx`` a bounded number of times, sleeping on the injected clock for
  ``Retry-After`` when the server sends one and otherwise for a jittered exponential backoff
  (Wave documents no limit and no such header);
- re-tries a *read* that got no answer, never a *write*: a mutation whose answer was lost may
  have been applied, so :class:`~ml_connector.core.errors.TransportError` goes to the caller.

:meth:`WaveClient.mutate` adds the second layer of Wave's errors: a mutation answered with
``didSucceed: false`` is a :class:`MutationResult` carrying Wave's ``inputErrors`` messages, never
a success. :meth:`WaveClient.pages` reads a connection field page by page (``page``/``pageSize``)
until ``pageInfo.totalPages``. Bodies go through :mod:`ml_connector.core.jsoncodec`, so amounts
stay ``Decimal`` both ways. ``calls`` counts the requests actually sent.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from ml_connector.core import jsoncodec
from ml_connector.core.emulation import Clock
from ml_connector.core.errors import AuthError, RateLimitedError, TargetError, TransportError
from ml_connector.core.retry import RetryPolicy, retry_after
from ml_connector.plugins.wave import operations
from ml_connector.plugins.wave.auth import RECONNECT_HINT, SERVICE, WaveAuth

API_URL = "https://gql.waveapps.com/graphql/public"
PAGE_SIZE = 50
MAX_PAGES = 10_000  # a guard against a server that never reports its last page

# Codes Wave puts in ``errors[].extensions.code`` for a request that was never executed.
NOT_EXECUTED = frozenset({"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "BAD_USER_INPUT"})
UNAUTHENTICATED = "UNAUTHENTICATED"


class WaveGraphQLError(TargetError):
    """Wave answered with a top-level ``errors`` array (HTTP 200 or not).

    ``codes`` are the ``extensions.code`` values; ``applied`` is False when Wave says the
    operation never ran (validation), None when it cannot be told (an internal error mid-way).
    """

    def __init__(self, message: str, *, codes: Sequence[str], operation: str) -> None:
        self.codes = tuple(codes)
        super().__init__(
            SERVICE,
            message,
            code=",".join(c for c in self.codes if c) or None,
            operation=operation,
        )

    @property
    def applied(self) -> bool | None:
        if self.codes and all(c in NOT_EXECUTED or c == "NOT_FOUND" for c in self.codes):
            return False
        return None


@dataclass(frozen=True)
class MutationResult:
    """One mutation's answer: the object on success, Wave's own words on refusal."""

    succeeded: bool
    node: Mapping[str, Any] | None = None
    messages: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return "; ".join(self.messages) or "Wave answered didSucceed: false without a reason"


def input_error_text(error: Mapping[str, Any]) -> str:
    """``input.items.0.productId: This value is invalid. ... (UNKNOWN)`` from one input error."""
    path = error.get("path")
    where = ".".join(str(p) for p in path) if isinstance(path, list) and path else ""
    message = str(error.get("message") or "invalid input")
    code = error.get("code")
    text = f"{where}: {message}" if where else message
    return f"{text} ({code})" if code else text


def _error_messages(errors: Sequence[Any]) -> tuple[str, list[str]]:
    messages, codes = [], []
    for error in errors:
        if isinstance(error, Mapping):
            messages.append(str(error.get("message") or "error without a message"))
            extensions = error.get("extensions")
            code = extensions.get("code") if isinstance(extensions, Mapping) else None
            codes.append(str(code) if code else "")
    return "; ".join(messages) or "Wave answered with errors", codes


def _operation_name(document: str) -> str:
    words = document.split("{", 1)[0].split()
    if len(words) >= 2:
        return words[1].split("(", 1)[0]
    return words[0] if words else "query"


class WaveClient:
    """One business's GraphQL API, reached through the engine's ``httpx.Client``."""

    def __init__(
        self,
        http: httpx.Client,
        auth: WaveAuth,
        clock: Clock,
        *,
        business_id: str,
        api_url: str = API_URL,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.http = http
        self.auth = auth
        self.clock = clock
        self.business_id = business_id
        self.api_url = api_url
        self.retry = retry or RetryPolicy()
        self.page_size = page_size
        self._rng = rng or random.Random()
        self.calls = 0
        # Name -> id of customers and products, read once per session (see ``names``).
        self.indexes: dict[str, dict[str, str]] = {}

    def __repr__(self) -> str:
        return f"WaveClient(api_url={self.api_url!r}, calls={self.calls})"

    # -- one request ----------------------------------------------------------------------------

    def _retry_after(self, response: httpx.Response, attempt: int) -> float:
        asked = retry_after(response, now=self.clock.now())
        return asked if asked is not None else self.retry.delay(attempt, self._rng)

    def execute(
        self, document: str, variables: Mapping[str, Any] | None = None, *, write: bool = False
    ) -> dict[str, Any]:
        """Run one operation; return its ``data`` or raise (see the module docstring)."""
        operation = _operation_name(document)
        content = jsoncodec.dumps({"query": document, "variables": dict(variables or {})}).encode()
        refreshed = False
        attempt = 0
        while True:
            headers = {
                "authorization": f"Bearer {self.auth.access_token().reveal()}",
                "content-type": "application/json",
                "accept": "application/json",
            }
            self.calls += 1
            try:
                response = self.http.post(self.api_url, content=content, headers=headers)
            except httpx.TransportError as exc:
                if write:
                    raise TransportError(
                        SERVICE,
                        f"no answer ({type(exc).__name__}); the mutation may have been applied",
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
            if status == 429 or status >= 500:
                if attempt + 1 >= self.retry.max_attempts:
                    if status == 429:
                        raise RateLimitedError(
                            SERVICE,
                            f"still throttled after {attempt + 1} tries",
                            retry_after=self._retry_after(response, attempt),
                            status=status,
                            operation=operation,
                        )
                    raise TargetError(
                        SERVICE,
                        f"server error after {attempt + 1} tries",
                        status=status,
                        operation=operation,
                    )
                self.clock.sleep(self._retry_after(response, attempt))
                attempt += 1
                continue
            body = self._json(response)
            errors = body.get("errors") if isinstance(body, dict) else None
            unauthenticated = status in (401, 403) or (
                isinstance(errors, list)
                and any(
                    isinstance(e, Mapping)
                    and isinstance(e.get("extensions"), Mapping)
                    and e["extensions"].get("code") == UNAUTHENTICATED
                    for e in errors
                )
            )
            if unauthenticated:
                if not refreshed:
                    self.auth.invalidate()
                    refreshed = True
                    continue
                raise AuthError(
                    SERVICE,
                    f"Wave refused a freshly refreshed token; {RECONNECT_HINT}",
                    status=status,
                    code=UNAUTHENTICATED,
                    operation=operation,
                )
            if errors:
                message, codes = _error_messages(errors)
                raise WaveGraphQLError(message, codes=codes, operation=operation)
            if (
                status != 200
                or not isinstance(body, dict)
                or not isinstance(body.get("data"), dict)
            ):
                raise WaveGraphQLError(
                    f"HTTP {status} without GraphQL data", codes=[], operation=operation
                )
            return dict(body["data"])

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return jsoncodec.loads(response.content)
        except ValueError:
            return None

    # -- mutations ------------------------------------------------------------------------------

    def mutate(self, document: str, field_name: str, given: Mapping[str, Any]) -> MutationResult:
        """Run a mutation taking ``input``; ``didSucceed: false`` is a refused result, not data."""
        data = self.execute(document, {"input": dict(given)}, write=True)
        output = data.get(field_name)
        if not isinstance(output, Mapping):
            return MutationResult(
                False, messages=(f"Wave answered {field_name} with no result object",)
            )
        errors = [e for e in output.get("inputErrors") or [] if isinstance(e, Mapping)]
        if output.get("didSucceed") is not True:
            return MutationResult(
                False,
                messages=tuple(input_error_text(e) for e in errors)
                or ("Wave answered didSucceed: false without a reason",),
                codes=tuple(str(e.get("code") or "") for e in errors),
            )
        node = next((v for k, v in output.items() if isinstance(v, Mapping)), None)
        return MutationResult(True, node=node)

    # -- reads ----------------------------------------------------------------------------------

    def pages(
        self, document: str, connection: str, variables: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Every node of ``business.<connection>``, reading ``page`` 1, 2... to ``totalPages``."""
        nodes: list[dict[str, Any]] = []
        page = 1
        while page <= MAX_PAGES:
            data = self.execute(
                document,
                {
                    "businessId": self.business_id,
                    **dict(variables or {}),
                    "page": page,
                    "pageSize": self.page_size,
                },
            )
            business = data.get("business")
            if not isinstance(business, Mapping):
                raise WaveGraphQLError(
                    f"Wave knows no business {self.business_id}",
                    codes=["NOT_FOUND"],
                    operation=connection,
                )
            found = business.get(connection) or {}
            edges = [e for e in found.get("edges") or [] if isinstance(e, Mapping)]
            nodes.extend(dict(e["node"]) for e in edges if isinstance(e.get("node"), Mapping))
            info = found.get("pageInfo") or {}
            total_pages = info.get("totalPages")
            if not edges or not isinstance(total_pages, int) or page >= total_pages:
                return nodes
            page += 1
        raise TargetError(SERVICE, f"{connection} did not end after {MAX_PAGES} pages")

    def names(self, connection: str, *, fresh: bool = False) -> dict[str, str]:
        """Live (not archived) ``customers`` or ``products`` by name -> id, read once a session.

        Wave's lists have no name filter, so a look-up reads the whole list; the index is then
        kept current by :meth:`remember` after each of our own creates. ``fresh`` re-reads it
        (after a write whose answer was lost, when the object may exist unseen).
        """
        if fresh or connection not in self.indexes:
            document = {"customers": operations.CUSTOMERS, "products": operations.PRODUCTS}[
                connection
            ]
            index: dict[str, str] = {}
            for node in self.pages(document, connection):
                if not node.get("isArchived") and node.get("name") and node.get("id"):
                    index.setdefault(str(node["name"]), str(node["id"]))
            self.indexes[connection] = index
        return self.indexes[connection]

    def remember(self, connection: str, name: str, object_id: str) -> None:
        self.indexes.setdefault(connection, {})[name] = object_id
