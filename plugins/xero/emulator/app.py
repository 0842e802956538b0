"""The emulated Xero: identity service and Accounting API behind one ``handle`` method.

``XeroEmulator.handle(request)`` answers any host: in-process clients mount it with
``httpx.MockTransport(emulator.handle)`` for ``https://identity.xero.com``,
``https://login.xero.com`` and ``https://api.xero.com`` alike, and
:func:`~ml_connector.plugins.xero.emulator.serve.serve_emulator` puts it on a loopback port.

An API call goes through what Xero puts in front of its data, in this order: injected chaos,
the bearer token (401), the ``xero-tenant-id`` header (403), the rate limits (429), the body
size (413), the ``Idempotency-Key`` (replay or refusal), the spec's schema (400), and only then
the resource's own rules. Everything after the rate limits runs under one lock, so the threaded
loopback server sees the same sequential state as in-process tests, while calls queued on that
lock still count as in flight for the concurrency limit.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import simplejson

from ml_connector.core.emulation import Chaos, Clock, Fault, SystemClock
from ml_connector.core.emulation.chaos import timeout
from ml_connector.plugins.xero.emulator import spec, validation
from ml_connector.plugins.xero.emulator.idempotency import MAX_KEY_LENGTH, IdempotencyCache
from ml_connector.plugins.xero.emulator.oauth import Client, IdentityService
from ml_connector.plugins.xero.emulator.ratelimit import Limits, RateLimiter
from ml_connector.plugins.xero.emulator.resources import (
    banking,
    contacts,
    invoices,
    items,
    journals,
    payments,
    settings,
)
from ml_connector.plugins.xero.emulator.resources.common import Call, Handler
from ml_connector.plugins.xero.emulator.seed import seed_tenant, set_lock_dates
from ml_connector.plugins.xero.emulator.state import IdFactory, Obj, XeroState
from ml_connector.plugins.xero.emulator.wire import (
    decode_body,
    json_response,
    post_data_invalid,
    problem,
    validation_failure,
)

API_PREFIX = "/api.xro/2.0"
MAX_BODY_BYTES = 3_500_000
DEFAULT_TENANT_NAME = "Amazon Seller Demo (US)"

HANDLERS: dict[str, Handler] = {
    "getInvoices": invoices.get_invoices,
    "getInvoice": invoices.get_invoice,
    "createInvoices": invoices.put_invoices,
    "updateOrCreateInvoices": invoices.post_invoices,
    "updateInvoice": invoices.post_invoices,
    "getManualJournals": journals.get_journals,
    "getManualJournal": journals.get_journal,
    "createManualJournals": journals.write_journals,
    "updateOrCreateManualJournals": journals.write_journals,
    "updateManualJournal": journals.write_journals,
    "getPayments": payments.get_payments,
    "getPayment": payments.get_payment,
    "createPayments": payments.put_payments,
    "createPayment": payments.post_payment,
    "deletePayment": payments.delete_payment,
    "getBankTransactions": banking.get_bank_transactions,
    "getBankTransaction": banking.get_bank_transaction,
    "createBankTransactions": banking.write_bank_transactions,
    "updateOrCreateBankTransactions": banking.write_bank_transactions,
    "updateBankTransaction": banking.write_bank_transactions,
    "getBankTransfers": banking.get_transfers,
    "getBankTransfer": banking.get_transfer,
    "createBankTransfer": banking.put_transfers,
    "deleteBankTransfers": banking.delete_transfers,
    "deleteBankTransfer": banking.delete_one_transfer,
    "getAccounts": settings.get_accounts,
    "getAccount": settings.get_account,
    "getTaxRates": settings.get_tax_rates,
    "getTrackingCategories": settings.get_tracking_categories,
    "getOrganisations": settings.get_organisation,
    "getContacts": contacts.get_contacts,
    "getContact": contacts.get_contact,
    "createContacts": contacts.write_contacts,
    "updateOrCreateContacts": contacts.write_contacts,
    "updateContact": contacts.write_contacts,
    "getItems": items.get_items,
    "getItem": items.get_item,
    "createItems": items.write_items,
    "updateOrCreateItems": items.write_items,
    "updateItem": items.write_items,
}

# Xero also reads these by number or code although the spec types the path segment as a uuid.
_BY_NUMBER = {"/invoices": "getInvoice", "/items": "getItem"}


class XeroEmulator:
    """A stateful Xero: OAuth 2, connections, and the Accounting API objects a seller needs.

    ``clock`` drives every lifetime and window (use ``FakeClock`` in tests); ``chaos`` injects
    faults; ``rate_multiplier`` relaxes the rate limits for a fast demo (1 = Xero's numbers);
    ``refresh_grace_seconds`` is how long a rotated refresh token stays redeemable (Xero: 30
    minutes; 0 refuses any reuse). ``state`` holds every tenant's objects for inspection.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        chaos: Chaos | None = None,
        seed: int = 0,
        tenant_names: Sequence[str] = (DEFAULT_TENANT_NAME,),
        rate_multiplier: int = 1,
        refresh_grace_seconds: int = 30 * 60,
        idempotency_window_seconds: int = 6 * 60,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.chaos = chaos
        ids = IdFactory(seed)
        self.state = XeroState(ids)
        created = self.clock.now()
        for name in tenant_names:
            self.state.add(seed_tenant(ids, name=name, created_at=created))
        self.identity = IdentityService(
            self.clock, ids, refresh_grace_seconds=refresh_grace_seconds
        )
        self.client: Client = self.identity.register_client()
        self.rate_limiter = RateLimiter(self.clock, Limits.scaled(rate_multiplier))
        self.idempotency = IdempotencyCache(self.clock, idempotency_window_seconds)
        self.connected: dict[str, str] = {t: ids.uuid() for t in self.state.tenants}
        self._connected_at = created
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"XeroEmulator(tenants={list(self.state.tenants)})"

    # -- conveniences for tests and the demo ---------------------------------------------------
    @property
    def tenant_id(self) -> str:
        """The first (default) tenant's id."""
        return next(iter(self.state.tenants))

    def issue_tokens(
        self, scope: str = "openid offline_access accounting.transactions"
    ) -> dict[str, Any]:
        """A token response for the default client, as if a user had just consented."""
        return self.identity.issue_tokens(self.client.client_id, scope)

    def set_lock_dates(
        self,
        *,
        period: dt.date | None = None,
        end_of_year: dt.date | None = None,
        tenant_id: str | None = None,
    ) -> None:
        set_lock_dates(self.state.tenant(tenant_id), period=period, end_of_year=end_of_year)

    def disconnect(self, tenant_id: str) -> None:
        """The user removed the app from this organisation: its calls now get 403."""
        self.connected.pop(tenant_id, None)

    def count_by(
        self,
        kind: str,
        key: str | Callable[[Obj], Any],
        *,
        tenant_id: str | None = None,
        where: Callable[[Obj], bool] | None = None,
    ) -> Counter[Any]:
        """See :meth:`XeroState.count_by`."""
        return self.state.count_by(kind, key, tenant_id=tenant_id, where=where)

    # -- the handler ---------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request, whatever host it was addressed to."""
        path = request.url.path
        lowered = path.lower().rstrip("/")
        if lowered.endswith("/connect/token") and request.method == "POST":
            with self._lock:
                return self.identity.token(request)
        if lowered.endswith("/connect/authorize") and request.method == "GET":
            with self._lock:
                return self.identity.authorize(request)
        if lowered.endswith("/connections") or "/connections/" in lowered:
            return self._guarded(request, None)
        if API_PREFIX.lower() in lowered:
            subpath = path[path.lower().index(API_PREFIX.lower()) + len(API_PREFIX) :] or "/"
            return self._guarded(request, subpath)
        return httpx.Response(404, text="Not Found", headers={"Content-Type": "text/plain"})

    def _guarded(self, request: httpx.Request, subpath: str | None) -> httpx.Response:
        """Chaos, authentication, tenant and rate limits around an API or connections call."""
        fault = self.chaos.draw(request) if self.chaos is not None else None
        if fault is Fault.TIMEOUT:
            raise timeout(request)
        if fault is Fault.THROTTLE:
            return _throttled("minute", 1, {})
        if fault is Fault.SERVER_ERROR:
            # Alternate the two answers Xero gives when it is unwell.
            count = self.chaos.injected.get(Fault.SERVER_ERROR, 0) if self.chaos else 0
            if count % 2:
                return json_response(500, {"Title": "An error occurred", "Status": 500})
            return httpx.Response(503, text="Service Unavailable")
        instance = self.state.ids.uuid()
        token = _bearer(request)
        if fault is Fault.EXPIRE_TOKEN and token:
            self.identity.expire_access_token(token)
        with self._lock:
            refused = self.identity.check_access(token) if token else "AuthenticationUnsuccessful"
        if refused:
            answer = problem(401, "Unauthorized", refused, instance)
            answer.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return answer
        if subpath is None:
            with self._lock:
                response = self._connections(request)
        else:
            tenant_id = (request.headers.get("xero-tenant-id") or "").strip().lower()
            if tenant_id not in self.connected or tenant_id not in self.state.tenants:
                return problem(403, "Forbidden", "AuthenticationUnsuccessful", instance)
            refusal = self.rate_limiter.acquire(tenant_id)
            if refusal is not None:
                return _throttled(
                    refusal.problem, refusal.retry_after, self.rate_limiter.headers(tenant_id)
                )
            try:
                with self._lock:
                    response = self._accounting(request, tenant_id, subpath)
            finally:
                self.rate_limiter.release(tenant_id)
            response.headers.update(self.rate_limiter.headers(tenant_id))
        if fault is Fault.LOSE_RESPONSE:
            raise timeout(request)
        return response

    def _connections(self, request: httpx.Request) -> httpx.Response:
        connected_at = dt.datetime.fromtimestamp(self._connected_at, tz=dt.UTC)
        stamp = connected_at.strftime("%Y-%m-%dT%H:%M:%S.%f0")
        if request.method == "DELETE":
            connection_id = request.url.path.rstrip("/").rsplit("/", 1)[-1].lower()
            tenant_id = next((t for t, c in self.connected.items() if c == connection_id), None)
            if tenant_id is None:
                return httpx.Response(404)
            self.disconnect(tenant_id)
            return httpx.Response(204)
        if request.method != "GET":
            return httpx.Response(405)
        body = [
            {
                "id": connection_id,
                "authEventId": self.connected[self.tenant_id] if self.connected else None,
                "tenantId": tenant_id,
                "tenantType": "ORGANISATION",
                "tenantName": self.state.tenants[tenant_id].name,
                "createdDateUtc": stamp,
                "updatedDateUtc": stamp,
            }
            for tenant_id, connection_id in self.connected.items()
        ]
        return json_response(200, body)

    def _accounting(self, request: httpx.Request, tenant_id: str, subpath: str) -> httpx.Response:
        if len(request.content) > MAX_BODY_BYTES:
            return httpx.Response(
                413, text="Request Entity Too Large", headers={"Content-Type": "text/plain"}
            )
        found = spec.find_operation(request.method, subpath) or _by_number(request, subpath)
        if found is None:
            if spec.path_exists(subpath):
                return httpx.Response(405, text="Method Not Allowed")
            return httpx.Response(404, text="The resource you're looking for cannot be found")
        operation, path_params = found
        handler = HANDLERS.get(operation.operation_id)
        if handler is None:
            return json_response(
                501,
                {
                    "Title": "Not emulated",
                    "Detail": f"{operation.operation_id} is in Xero's API but not in this emulator",
                },
            )
        query = {k.lower(): v for k, v in request.url.params.items()}
        problems = validation.query_param_errors(operation.query_params, dict(request.url.params))
        if problems:
            return validation_failure(problems)
        is_write = request.method in ("PUT", "POST", "PATCH")
        key = request.headers.get("Idempotency-Key") if is_write else None
        if key is not None:
            if len(key) > MAX_KEY_LENGTH:
                return validation_failure(
                    [f"The Idempotency-Key must be at most {MAX_KEY_LENGTH} characters long."]
                )
            earlier = self.idempotency.lookup(tenant_id, key, request)
            if isinstance(earlier, httpx.Response):
                return earlier
            if isinstance(earlier, str):
                return validation_failure([earlier])
        body = None
        if is_write:
            try:
                body = decode_body(request.content) if request.content else None
            except (simplejson.JSONDecodeError, UnicodeDecodeError) as error:
                return post_data_invalid(f"The request body is not valid JSON: {error}")
            if body is None:
                return validation_failure(["A request body is required"])
        call = Call(
            tenant=self.state.tenant(tenant_id),
            ids=self.state.ids,
            now=self.clock.now(),
            method=request.method,
            operation=operation,
            path_params=path_params,
            query=query,
            headers=request.headers,
            body=body,
        )
        response = handler(call)
        if key is not None and response.status_code < 500:
            self.idempotency.remember(tenant_id, key, request, response)
        return response


def _by_number(
    request: httpx.Request, subpath: str
) -> tuple[spec.Operation, dict[str, str]] | None:
    collection, _, value = subpath.rstrip("/").rpartition("/")
    operation_id = _BY_NUMBER.get(collection.lower())
    if request.method != "GET" or not operation_id or not value:
        return None
    operation = spec.operation_by_id(operation_id)
    return operation, {operation.path_params[0]: value}


def _bearer(request: httpx.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    return header[7:].strip() or None


def _throttled(problem_kind: str, retry_after: int, headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(
        429,
        text="Rate limit exceeded",
        headers={
            "Content-Type": "text/plain",
            "Retry-After": str(retry_after),
            "X-Rate-Limit-Problem": problem_kind,
            **headers,
        },
    )
