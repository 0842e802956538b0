"""The Wave emulator: one ``handle(httpx.Request) -> httpx.Response`` for GraphQL and OAuth.

Routes (any host, so the same handler serves ``https://gql.waveapps.com/graphql/public`` and
``https://api.waveapps.com/oauth2/...`` through ``httpx.MockTransport`` and a loopback port):

* ``POST /graphql/public``: a JSON body ``{query, variables?, operationName?}``, decoded with
  every fractional number as ``Decimal``. Answers follow Wave's "Errors" page: HTTP 200 with
  ``errors[{message, locations, path, extensions{code, id}}]`` for syntax errors
  (``GRAPHQL_PARSE_FAILED``), schema validation and variable coercion
  (``GRAPHQL_VALIDATION_FAILED``), missing/unknown/expired tokens (``UNAUTHENTICATED``, no
  ``data``), unknown ids (``NOT_FOUND``, ``data`` with the null field) and unexpected failures
  (``INTERNAL_SERVER_ERROR``, details withheld). Validation runs before authentication, and
  introspection needs no token, as on the live endpoint. A body that is not JSON, or has no
  ``query``, is the only HTTP 400.
* ``GET /oauth2/authorize/`` and ``POST /oauth2/token/``: see ``oauth.py``.

Chaos (``core/emulation/chaos.py``), drawn once per GraphQL request with ``is_write`` true for
mutations, is acted out the way a client of Wave would meet it:

* THROTTLE: HTTP 429 with a GraphQL-style body (code ``TOO_MANY_REQUESTS``) and **no**
  ``Retry-After`` header: Wave publishes no limit and documents no such header, so a client must
  fall back on its own backoff;
* SERVER_ERROR: HTTP 502 and 503 alternately, with an HTML body, as a gateway in front of the
  service answers; nothing is applied;
* TIMEOUT: ``httpx.ReadTimeout`` before anything is applied;
* EXPIRE_TOKEN: the caller's access token expires now; the answer is ``UNAUTHENTICATED``;
* LOSE_RESPONSE (mutations only): the mutation is applied, then ``httpx.ReadTimeout`` is raised.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from typing import Any

import graphql
import httpx
from graphql import GraphQLError, OperationType

from ml_connector.core.emulation.chaos import Chaos, Fault, timeout
from ml_connector.core.emulation.clock import Clock, SystemClock, utcnow
from ml_connector.core.jsoncodec import dumps, loads
from ml_connector.plugins.wave.emulator import errors, ids
from ml_connector.plugins.wave.emulator.context import RequestContext
from ml_connector.plugins.wave.emulator.oauth import OAuthServer, TokenPair
from ml_connector.plugins.wave.emulator.resolvers import ApplicationInfo, all_resolvers
from ml_connector.plugins.wave.emulator.schema import build_executable_schema
from ml_connector.plugins.wave.emulator.seed import SELLER_BUSINESS_NAME, build_world
from ml_connector.plugins.wave.emulator.state import WaveState

GRAPHQL_PATH = "/graphql/public"
AUTHORIZE_PATH = "/oauth2/authorize/"
TOKEN_PATH = "/oauth2/token/"

_INTROSPECTION_FIELDS = frozenset({"__schema", "__type", "__typename"})
_JSON = {"Content-Type": "application/json"}


class WaveEmulator:
    """A stateful stand-in for Wave's public API, seeded with an Amazon seller's business.

    ``state`` holds everything created (see ``state.WaveState``; money transactions are
    readable only there). ``business_id`` is the seller's business. ``external_id_dedup``
    switches on the hypothetical externalId deduplication (see ``money_mutations``);
    ``invoice_number_unique`` refuses duplicate invoice numbers (see ``invoice_mutations``).
    ``internal_errors`` keeps the exceptions behind any ``INTERNAL_SERVER_ERROR`` answer, for
    tests; the answer itself never shows them.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Clock | None = None,
        chaos: Chaos | None = None,
        external_id_dedup: bool = False,
        invoice_number_unique: bool = True,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.chaos = chaos or Chaos.off()
        self.external_id_dedup = external_id_dedup
        self.state: WaveState = build_world(seed, utcnow(self.clock))
        self.business_id = next(
            b.id for b in self.state.businesses.values() if b.name == SELLER_BUSINESS_NAME
        )
        client_id = client_id or f"wave-emulator-{seed}"
        self.oauth = OAuthServer(
            self.clock,
            client_id=client_id,
            client_secret=client_secret or secrets.token_urlsafe(24),
            user_id=self.state.user.id,
            business_id=self.business_id,
        )
        application = ApplicationInfo(
            ids.encode("OAuthApplication", seed + 1), "ml-connector (emulated)", client_id
        )
        self._schema = build_executable_schema(
            all_resolvers(application, invoice_number_unique=invoice_number_unique)
        )
        self._lock = threading.RLock()
        self._gateway_errors = 0
        self.internal_errors: list[BaseException] = []

    def __repr__(self) -> str:
        return f"WaveEmulator(business_id={self.business_id!r}, chaos={self.chaos.enabled})"

    def issue_tokens(self) -> TokenPair:
        """A ready access/refresh token pair for the seeded user (tests, demo)."""
        with self._lock:
            return self.oauth.issue()

    # ----------------------------------------------------------------------------- routing

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.rstrip("/") + "/"
        with self._lock:
            if path == GRAPHQL_PATH + "/":
                if request.method != "POST":
                    return httpx.Response(405, headers={"Allow": "POST"}, text="Method Not Allowed")
                return self._graphql(request)
            if path == TOKEN_PATH:
                if request.method != "POST":
                    return httpx.Response(405, headers={"Allow": "POST"}, text="Method Not Allowed")
                return self.oauth.token(request)
            if path == AUTHORIZE_PATH:
                if request.method != "GET":
                    return httpx.Response(405, headers={"Allow": "GET"}, text="Method Not Allowed")
                return self.oauth.authorize(request)
            return httpx.Response(404, text="Not Found")

    # ----------------------------------------------------------------------------- GraphQL

    def _graphql(self, request: httpx.Request) -> httpx.Response:
        try:
            body = loads(request.content or b"")
        except ValueError:
            return _http_error(400, "POST body sent invalid JSON.")
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return _http_error(400, 'POST body must be a JSON object with a "query" string.')
        variables = body.get("variables") or {}
        operation_name = body.get("operationName")
        if not isinstance(variables, dict):
            return _http_error(400, '"variables" must be a JSON object.')

        try:
            document = graphql.parse(body["query"])
        except GraphQLError as syntax:
            return _graphql_errors([_error_json(syntax, errors.GRAPHQL_PARSE_FAILED)])
        operation = graphql.get_operation_ast(document, operation_name)
        is_write = operation is not None and operation.operation == OperationType.MUTATION

        fault = self.chaos.draw(request, is_write=is_write)
        if fault is Fault.THROTTLE:
            return self._throttled()
        if fault is Fault.SERVER_ERROR:
            return self._gateway_error()
        if fault is Fault.TIMEOUT:
            raise timeout(request)
        token = _bearer(request)
        if fault is Fault.EXPIRE_TOKEN and token is not None:
            self.oauth.expire(token)

        invalid = graphql.validate(self._schema, document)
        if invalid:
            return _graphql_errors(
                [_error_json(e, errors.GRAPHQL_VALIDATION_FAILED) for e in invalid]
            )
        if not _introspection_only(operation) and not self.oauth.is_valid(token):
            return _graphql_errors([_unauthenticated()])

        context = RequestContext(self.state, self.clock, external_id_dedup=self.external_id_dedup)
        result = graphql.execute_sync(
            self._schema,
            document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
        )
        response = self._result_response(result)
        if fault is Fault.LOSE_RESPONSE:
            raise timeout(request)
        return response

    def _result_response(self, result: graphql.ExecutionResult) -> httpx.Response:
        payload: dict[str, Any] = {}
        if result.errors:
            executed = result.data is not None
            payload["errors"] = [self._execution_error(e, executed) for e in result.errors]
        if result.data is not None or not result.errors:
            payload["data"] = result.data
        return httpx.Response(200, content=dumps(payload), headers=_JSON)

    def _execution_error(self, error: GraphQLError, executed: bool) -> dict[str, Any]:
        if not executed:
            # No data at all: the variables did not fit the operation (or no such operation).
            return _error_json(error, errors.GRAPHQL_VALIDATION_FAILED)
        code = error.extensions.get("code") if error.extensions else None
        if code is not None:
            return _error_json(error, str(code))
        original = error.original_error
        if original is not None and not isinstance(original, GraphQLError):
            self.internal_errors.append(original)
            hidden = GraphQLError(
                "Internal server error.", error.nodes, error.source, error.positions, error.path
            )
            return _error_json(hidden, errors.INTERNAL_SERVER_ERROR)
        return _error_json(error, errors.INTERNAL_SERVER_ERROR)

    def _throttled(self) -> httpx.Response:
        body = {
            "errors": [
                {
                    "message": "Too many requests, please slow down.",
                    "extensions": {"code": "TOO_MANY_REQUESTS", "id": str(uuid.uuid4())},
                }
            ]
        }
        return httpx.Response(429, content=dumps(body), headers=_JSON)

    def _gateway_error(self) -> httpx.Response:
        self._gateway_errors += 1
        status, reason = (
            (502, "Bad Gateway") if self._gateway_errors % 2 else (503, "Service Unavailable")
        )
        html = f"<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1></body></html>"
        return httpx.Response(status, text=html, headers={"Content-Type": "text/html"})


def _bearer(request: httpx.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _introspection_only(operation: graphql.OperationDefinitionNode | None) -> bool:
    if operation is None or operation.operation != OperationType.QUERY:
        return False
    selections = operation.selection_set.selections
    return all(
        isinstance(s, graphql.FieldNode) and s.name.value in _INTROSPECTION_FIELDS
        for s in selections
    )


def _unauthenticated() -> dict[str, Any]:
    return {
        "message": "You must be authenticated to perform this action. "
        "The access token is missing, invalid or expired.",
        "extensions": {"code": errors.UNAUTHENTICATED, "id": str(uuid.uuid4())},
    }


def _error_json(error: GraphQLError, code: str) -> dict[str, Any]:
    shaped: dict[str, Any] = {"message": error.message}
    if error.locations:
        shaped["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        shaped["path"] = list(error.path)
    shaped["extensions"] = {"code": code, "id": str(uuid.uuid4())}
    return shaped


def _graphql_errors(error_list: list[dict[str, Any]]) -> httpx.Response:
    return httpx.Response(200, content=dumps({"errors": error_list}), headers=_JSON)


def _http_error(status: int, message: str) -> httpx.Response:
    body = {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
    return httpx.Response(status, content=dumps(body), headers=_JSON)
