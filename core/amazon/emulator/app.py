"""The emulated Selling Partner API: one stateful object answering every host.

:class:`AmazonEmulator` serves the LWA token endpoint, the SP-API operations in :data:`ROUTES`
(each path is the model's own path template) and the presigned report documents, all from one
``handle(request) -> response``. In-process a client uses ``httpx.MockTransport(emulator.handle)``
for ``https://api.amazon.com`` and the regional SP-API hosts alike; :mod:`.serve` puts the same
handler on a loopback port.

Every SP-API request passes, in order: route -> access token (403) -> injected chaos -> the
operation's token bucket (429) -> the operation (200/202/400/404...). Every response carries
``x-amzn-RequestId``; 20x, 400 and 404 also carry ``x-amzn-RateLimit-Limit`` (FACTS.md §4).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import httpx

from ml_connector.core.amazon.emulator.finances import FinancesApi
from ml_connector.core.amazon.emulator.listings import ListingsApi
from ml_connector.core.amazon.emulator.lwa import TOKEN_PATH, AppCredentials, TokenService
from ml_connector.core.amazon.emulator.orders import OrdersApi
from ml_connector.core.amazon.emulator.paging import PageTokens
from ml_connector.core.amazon.emulator.ratelimit import RateLimiter
from ml_connector.core.amazon.emulator.reports import DOCUMENT_PATH, ReportsApi
from ml_connector.core.amazon.emulator.seller import DEFAULT_MARKETPLACES, generate_seller
from ml_connector.core.amazon.emulator.sellers import marketplace_participations
from ml_connector.core.amazon.emulator.truth import Seller
from ml_connector.core.amazon.emulator.wire import ApiError, json_response
from ml_connector.core.emulation.chaos import Chaos, Fault, timeout
from ml_connector.core.emulation.clock import Clock, SystemClock, utcnow

Handler = Callable[..., httpx.Response]


@dataclass(frozen=True)
class Route:
    """An SP-API operation: method, the model's path template, operation id, whether it writes."""

    method: str
    template: str
    operation: str
    writes: bool = False

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template) + "$")


ROUTES: tuple[Route, ...] = (
    Route("GET", "/orders/2026-01-01/orders", "searchOrders"),
    Route("GET", "/orders/2026-01-01/orders/{orderId}", "getOrder"),
    Route("GET", "/finances/v0/financialEventGroups", "listFinancialEventGroups"),
    Route(
        "GET",
        "/finances/v0/financialEventGroups/{eventGroupId}/financialEvents",
        "listFinancialEventsByGroupId",
    ),
    Route("GET", "/finances/v0/orders/{orderId}/financialEvents", "listFinancialEventsByOrderId"),
    Route("GET", "/finances/v0/financialEvents", "listFinancialEvents"),
    Route("GET", "/reports/2021-06-30/reports", "getReports"),
    Route("POST", "/reports/2021-06-30/reports", "createReport", writes=True),
    Route("GET", "/reports/2021-06-30/reports/{reportId}", "getReport"),
    Route("DELETE", "/reports/2021-06-30/reports/{reportId}", "cancelReport", writes=True),
    Route("GET", "/reports/2021-06-30/documents/{reportDocumentId}", "getReportDocument"),
    Route("GET", "/listings/2021-08-01/items/{sellerId}/{sku}", "getListingsItem"),
    Route("PATCH", "/listings/2021-08-01/items/{sellerId}/{sku}", "patchListingsItem", writes=True),
    Route("GET", "/sellers/v1/marketplaceParticipations", "getMarketplaceParticipations"),
)
_COMPILED = tuple((route, route.pattern) for route in ROUTES)
RATE_HEADER_STATUSES = frozenset({200, 201, 202, 204, 400, 404})
QUOTA_EXCEEDED = {
    "errors": [
        {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}
    ]
}
SERVER_ERRORS = (
    (500, "InternalFailure", "We encountered an internal error. Please try again."),
    (503, "ServiceUnavailable", "Service temporarily unavailable. Please try again."),
)


class AmazonEmulator:
    """A seeded seller behind an emulated SP-API and LWA.

    ``seller`` is the generated truth (``seller.orders``, ``seller.settlements``) to compare a
    client's results with; pass one to serve it, otherwise it is generated from ``seed``,
    ``orders``, ``months`` and ``marketplaces`` with its history ending at the start of today; ``credentials`` are the app's LWA credentials for that seller.
    ``rate_multiplier`` scales every usage plan (default: Amazon's rates); ``fatal_reports`` is
    the per-mille chance that a requested report ends ``FATAL``.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        orders: int = 200,
        months: int = 2,
        marketplaces: Sequence[str] = DEFAULT_MARKETPLACES,
        clock: Clock | None = None,
        chaos: Chaos | None = None,
        rate_multiplier: Decimal | int | str = 1,
        fatal_reports: int = 0,
        seller: Seller | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.chaos = chaos or Chaos.off()
        # The history ends at the start of today, so a seed gives the same seller all day long.
        today = utcnow(self.clock).replace(hour=0, minute=0, second=0, microsecond=0)
        self.seller = seller or generate_seller(seed, orders, months, marketplaces, end=today)
        self.credentials = AppCredentials.for_seed(self.seller.seed, self.seller.seller_id)
        self.tokens = TokenService(self.clock, self.credentials)
        self.limiter = RateLimiter(self.clock, rate_multiplier)
        pages = PageTokens(self.clock)
        self.orders_api = OrdersApi(self.seller, self.clock, pages)
        self.finances_api = FinancesApi(self.seller, self.clock, pages)
        self.listings_api = ListingsApi(self.seller, self.clock)
        self.reports_api = ReportsApi(
            self.seller,
            self.clock,
            pages,
            self.listings_api.listing_rows,
            fatal_per_mille=fatal_reports,
        )
        self._handlers: dict[str, Handler] = {
            "searchOrders": lambda r, s: self.orders_api.search_orders(r),
            "getOrder": lambda r, s, orderId: self.orders_api.get_order(r, orderId),
            "listFinancialEventGroups": lambda r, s: self.finances_api.list_groups(r),
            "listFinancialEventsByGroupId": lambda r, s, eventGroupId: (
                self.finances_api.list_events_by_group(r, eventGroupId)
            ),
            "listFinancialEventsByOrderId": lambda r, s, orderId: (
                self.finances_api.list_events_by_order(r, orderId)
            ),
            "listFinancialEvents": lambda r, s: self.finances_api.list_events(r),
            "getReports": lambda r, s: self.reports_api.get_reports(r),
            "createReport": lambda r, s: self.reports_api.create_report(r),
            "getReport": lambda r, s, reportId: self.reports_api.get_report(r, reportId),
            "cancelReport": lambda r, s, reportId: self.reports_api.cancel_report(r, reportId),
            "getReportDocument": lambda r, s, reportDocumentId: (
                self.reports_api.get_report_document(r, reportDocumentId)
            ),
            "getListingsItem": lambda r, s, sellerId, sku: self.listings_api.get_item(
                r, s, sellerId, sku
            ),
            "patchListingsItem": lambda r, s, sellerId, sku: self.listings_api.patch_item(
                r, s, sellerId, sku
            ),
            "getMarketplaceParticipations": lambda r, s: marketplace_participations(self.seller),
        }
        self._lock = threading.Lock()
        self._requests = 0
        self.requests_by_operation: dict[str, int] = {}

    def __repr__(self) -> str:
        return (
            f"AmazonEmulator(seller_id={self.seller.seller_id!r}, "
            f"orders={len(self.seller.orders)}, settlements={len(self.seller.settlements)})"
        )

    @property
    def marketplace_ids(self) -> list[str]:
        return [m.marketplace_id for m in self.seller.marketplaces]

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as Amazon would (or raise a timeout when chaos loses it)."""
        request_id = self._next_request_id()
        path = request.url.path
        if path == TOKEN_PATH:
            # Chaos is drawn for SP-API calls only: every drawn fault is counted as injected,
            # and the token endpoint could not act out most of them in LWA's shape.
            return self.tokens.exchange(request, request_id)
        if path.startswith(DOCUMENT_PATH):
            return self.reports_api.download(request, request_id)
        response = self._operation(request)
        response.headers["x-amzn-RequestId"] = request_id
        return response

    def _operation(self, request: httpx.Request) -> httpx.Response:
        found = self._route(request)
        if found is None:
            return json_response(
                404, {"errors": [{"code": "NotFound", "message": "Resource not found."}]}
            )
        route, params = found
        with self._lock:
            self.requests_by_operation[route.operation] = (
                self.requests_by_operation.get(route.operation, 0) + 1
            )
        try:
            seller_id = self.tokens.authorize(request)
            fault = self.chaos.draw(request, is_write=route.writes)
            if fault is Fault.TIMEOUT:
                raise timeout(request)
            if fault is Fault.THROTTLE:
                return json_response(429, QUOTA_EXCEEDED)
            if fault is Fault.SERVER_ERROR:
                status, code, message = SERVER_ERRORS[self._requests % 2]
                return json_response(status, {"errors": [{"code": code, "message": message}]})
            if fault is Fault.EXPIRE_TOKEN:
                self.tokens.expire(request)
                self.tokens.authorize(request)  # raises the expired-token 403
            if not self.limiter.take(seller_id, route.operation):
                # Amazon sends no Retry-After and no rate header with a 429.
                return json_response(429, QUOTA_EXCEEDED)
            response = self._handlers[route.operation](request, seller_id, **params)
            if fault is Fault.LOSE_RESPONSE:
                raise timeout(request)
        except ApiError as error:
            response = json_response(error.status, error.body())
        if response.status_code in RATE_HEADER_STATUSES:
            response.headers["x-amzn-RateLimit-Limit"] = self.limiter.limit_header(route.operation)
        return response

    def _route(self, request: httpx.Request) -> tuple[Route, dict[str, str]] | None:
        path = request.url.path
        for route, pattern in _COMPILED:
            match = pattern.match(path)
            if match and route.method == request.method:
                return route, match.groupdict()
        return None

    def _next_request_id(self) -> str:
        with self._lock:
            self._requests += 1
            number = self._requests
        digest = hashlib.sha256(f"{self.seller.seed}:{number}".encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"

    def now(self) -> dt.datetime:
        return utcnow(self.clock)
