"""The SP-API operations the client calls: method, path template and default usage plan.

Rates and bursts are the "Usage Plan" tables in each operation's description in the models
(``shared/reference/amazon/FACTS.md`` §4). They are defaults: a seller may have a higher plan,
which the client learns from ``x-amzn-RateLimit-Limit`` (see :mod:`.throttle`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True, slots=True)
class Operation:
    name: str  # Amazon's operationId
    method: str
    path: str  # template with {placeholders}, as in the model
    rate: float  # requests per second, default usage plan
    burst: int
    # Whether a lost response may be retried blindly: reads, and writes that set a value
    # (PATCH replace) are; createReport is not (a retry would queue a second report).
    idempotent: bool = True
    paging_token: str | None = None  # query parameter that carries the next-page token

    def url_path(self, **path_params: str) -> str:
        """The path with every placeholder filled, each value percent-encoded as one segment.

        SKUs may hold ``/``, spaces and other reserved characters; Amazon asks for them encoded.
        """
        path = self.path
        for name, value in path_params.items():
            placeholder = "{" + name + "}"
            if placeholder not in path:
                raise KeyError(f"{self.name} has no path parameter {name!r}")
            path = path.replace(placeholder, quote(str(value), safe=""))
        if "{" in path:
            raise KeyError(f"{self.name}: path parameters missing in {path}")
        return path


SEARCH_ORDERS = Operation(
    "searchOrders", "GET", "/orders/2026-01-01/orders", 0.0056, 20, paging_token="paginationToken"
)
GET_ORDER = Operation("getOrder", "GET", "/orders/2026-01-01/orders/{orderId}", 0.5, 30)

LIST_FINANCIAL_EVENT_GROUPS = Operation(
    "listFinancialEventGroups",
    "GET",
    "/finances/v0/financialEventGroups",
    0.5,
    30,
    paging_token="NextToken",
)
LIST_FINANCIAL_EVENTS_BY_GROUP_ID = Operation(
    "listFinancialEventsByGroupId",
    "GET",
    "/finances/v0/financialEventGroups/{eventGroupId}/financialEvents",
    0.5,
    30,
    paging_token="NextToken",
)
LIST_FINANCIAL_EVENTS = Operation(
    "listFinancialEvents",
    "GET",
    "/finances/v0/financialEvents",
    0.5,
    30,
    paging_token="NextToken",
)

GET_REPORTS = Operation(
    "getReports", "GET", "/reports/2021-06-30/reports", 0.0222, 10, paging_token="nextToken"
)
CREATE_REPORT = Operation(
    "createReport", "POST", "/reports/2021-06-30/reports", 0.0167, 15, idempotent=False
)
GET_REPORT = Operation("getReport", "GET", "/reports/2021-06-30/reports/{reportId}", 2.0, 15)
GET_REPORT_DOCUMENT = Operation(
    "getReportDocument", "GET", "/reports/2021-06-30/documents/{reportDocumentId}", 0.0167, 15
)

PATCH_LISTINGS_ITEM = Operation(
    "patchListingsItem", "PATCH", "/listings/2021-08-01/items/{sellerId}/{sku}", 5.0, 5
)
GET_MARKETPLACE_PARTICIPATIONS = Operation(
    "getMarketplaceParticipations", "GET", "/sellers/v1/marketplaceParticipations", 0.016, 15
)

ALL: tuple[Operation, ...] = (
    SEARCH_ORDERS,
    GET_ORDER,
    LIST_FINANCIAL_EVENT_GROUPS,
    LIST_FINANCIAL_EVENTS_BY_GROUP_ID,
    LIST_FINANCIAL_EVENTS,
    GET_REPORTS,
    CREATE_REPORT,
    GET_REPORT,
    GET_REPORT_DOCUMENT,
    PATCH_LISTINGS_ITEM,
    GET_MARKETPLACE_PARTICIPATIONS,
)
