"""``SpApiClient``: the SP-API operations ml-connector uses, typed and paged.

Versions (FACTS.md): Orders 2026-01-01 (v0 getOrders is deprecated; 2026-01-01 covers what the
pull needs, so v0 is not called), Finances v0, Reports 2021-06-30, Listings Items 2021-08-01,
Sellers v1. Every request goes through :class:`~.http.SpApiHttp` (token, pacing, retries, errors).

Paging contracts, as each model states them:

- Orders: pass ``pagination.nextToken`` back as ``paginationToken`` with the same arguments.
- Finances: pass ``payload.NextToken`` back as ``NextToken`` with the same arguments, until it is
  absent; pages may be empty.
- Reports: pass ``nextToken`` back *alone* ("Specifying nextToken with any other parameters will
  cause the request to fail").

A refused token raises :class:`~.errors.PagingTokenExpired`; the caller restarts the window from
its last committed watermark (re-seen records are de-duplicated by their Amazon ids).

Amounts: Finances ``CurrencyAmount`` arrives as ``Decimal`` (see :mod:`.decode`); Orders ``Money``
amounts are strings, exactly as Amazon wrote them.
"""

from __future__ import annotations

import datetime as dt
import gzip
import logging
import zlib
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, cast

import httpx

from ml_connector.core.amazon import operations as ops
from ml_connector.core.amazon.backoff import Backoff
from ml_connector.core.amazon.errors import (
    DocumentUrlExpired,
    ListingIssuesError,
    ReportNotRequestable,
    ReportWaitTimeout,
)
from ml_connector.core.amazon.http import SERVICE, QueryValue, SpApiHttp
from ml_connector.core.amazon.lwa import LWA_TOKEN_URL, LwaCredentials, LwaTokenSource
from ml_connector.core.amazon.regions import has_long_order_history
from ml_connector.core.amazon.throttle import Throttle
from ml_connector.core.amazon.windows import (
    clamp_before,
    iso,
    order_history_floor,
    require_aware,
    split,
)
from ml_connector.core.emulation.clock import Clock, utcnow
from ml_connector.core.errors import InputError, RemoteError
from ml_connector.ledger.marketplaces import by_id
from ml_connector.ledger.money import require_exact

log = logging.getLogger("ml_connector.amazon")

ORDER_INCLUDED_DATA = frozenset(
    {
        "BUYER",
        "RECIPIENT",
        "PROCEEDS",
        "EXPENSE",
        "PROMOTION",
        "CANCELLATION",
        "FULFILLMENT",
        "PACKAGES",
        "TAX",
        "PAYMENT",
        "FULFILLMENT_ORDERS",
    }
)
ORDER_FULFILLMENT_STATUSES = frozenset(
    {
        "PENDING_AVAILABILITY",
        "PENDING",
        "UNSHIPPED",
        "PARTIALLY_SHIPPED",
        "SHIPPED",
        "CANCELLED",
        "UNFULFILLABLE",
    }
)
ORDER_FULFILLED_BY = frozenset({"MERCHANT", "AMAZON"})
REPORT_PROCESSING_STATUSES = frozenset({"CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE"})
REPORT_TERMINAL_STATUSES = frozenset({"DONE", "FATAL", "CANCELLED"})
# "Settlement reports cannot be requested or scheduled. They are automatically scheduled by
# Amazon." (report type values, "Settlement reports")
SETTLEMENT_REPORT_TYPES = frozenset(
    {
        "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE",
        "GET_V2_SETTLEMENT_REPORT_DATA_XML",
        "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
    }
)
SETTLEMENT_REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
_GZIP_MAGIC = b"\x1f\x8b"


def _strings(
    values: Iterable[str],
    *,
    field: str,
    allowed: frozenset[str] | None = None,
    min_items: int = 0,
    max_items: int | None = None,
) -> list[str]:
    """``values`` as a list, checked against a model's enum and item bounds before sending.

    A lone string is refused: iterating it would send one parameter per character.
    """
    if isinstance(values, str):
        raise InputError("expected a list of strings, not one string", field=field, value=values)
    items = list(values)
    for item in items:
        if not isinstance(item, str) or not item:
            raise InputError("expected non-empty strings", field=field, value=item)
        if allowed is not None and item not in allowed:
            raise InputError(f"not one of {sorted(allowed)}", field=field, value=item)
    if len(items) < min_items:
        raise InputError(f"needs at least {min_items} value(s)", field=field, value=items)
    if max_items is not None and len(items) > max_items:
        raise InputError(f"takes at most {max_items} values", field=field, value=items)
    return items


def _page_size(value: int | None, *, field: str, maximum: int) -> int | None:
    """A page size within the model's 1..maximum, or None to let Amazon use its default."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InputError(f"must be an integer from 1 to {maximum}", field=field, value=value)
    return value


HISTORY_SKIP_TOLERANCE = dt.timedelta(hours=1)


class SpApiClient:
    """One seller's SP-API session: LWA token, per-operation throttle, retrying request loop.

    ``base_url`` is a region host (:mod:`.regions`) or any URL serving the same API, such as an
    emulator. ``http`` is the caller's ``httpx.Client`` (tests pass one over a mock transport);
    it is used for LWA, the SP-API and document downloads alike. ``clock`` drives token expiry,
    throttling and backoff; ``seed`` makes the retry jitter reproducible.
    """

    def __init__(
        self,
        *,
        base_url: str,
        credentials: LwaCredentials,
        http: httpx.Client,
        clock: Clock,
        lwa_url: str = LWA_TOKEN_URL,
        seed: int | None = None,
        max_retries: int = 5,
        user_agent: str | None = None,
    ) -> None:
        self._clock = clock
        backoff = Backoff.seeded(seed, max_retries=max_retries)
        self.tokens = LwaTokenSource(
            credentials, http, clock, token_url=lwa_url, user_agent=user_agent, backoff=backoff
        )
        self.http = SpApiHttp(
            base_url=base_url,
            http=http,
            tokens=self.tokens,
            clock=clock,
            throttle=Throttle(clock),
            backoff=backoff,
            user_agent=user_agent,
        )
        self._history_skip_logged = False

    def __repr__(self) -> str:
        return f"SpApiClient(base_url={self.http.base_url!r})"

    # -- Orders 2026-01-01 -------------------------------------------------------------------

    def search_orders(
        self,
        marketplace_ids: Iterable[str],
        *,
        last_updated_after: dt.datetime | None = None,
        last_updated_before: dt.datetime | None = None,
        created_after: dt.datetime | None = None,
        created_before: dt.datetime | None = None,
        included_data: Iterable[str] = (),
        fulfillment_statuses: Iterable[str] = (),
        fulfilled_by: Iterable[str] = (),
        max_results_per_page: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Orders changed (or created) in a window, page after page, one order at a time.

        Exactly one of ``last_updated_after`` / ``created_after`` is required, and the before
        bound must be of the same kind. A before bound later than two minutes ago is pulled back
        (Amazon refuses it otherwise); leaving it out lets Amazon use "now". Outside JP, AU and
        SG Amazon keeps two years of orders: an older start is moved up to that floor and the
        skip is logged once per client; a window entirely older than that asks nothing.
        """
        ids = _strings(marketplace_ids, field="marketplace_ids", min_items=1, max_items=50)
        if (created_after is None) == (last_updated_after is None):
            raise InputError(
                "give exactly one of created_after and last_updated_after",
                field="created_after/last_updated_after",
            )
        if created_after is not None and last_updated_before is not None:
            raise InputError(
                "last_updated_before needs last_updated_after, not created_after",
                field="last_updated_before",
                value=last_updated_before,
            )
        if last_updated_after is not None and created_before is not None:
            raise InputError(
                "created_before needs created_after, not last_updated_after",
                field="created_before",
                value=created_before,
            )
        kind = "created" if created_after is not None else "lastUpdated"
        after_field, before_field = (
            ("created_after", "created_before")
            if kind == "created"
            else ("last_updated_after", "last_updated_before")
        )
        given_after = created_after if kind == "created" else last_updated_after
        given_before = created_before if kind == "created" else last_updated_before
        after = require_aware(cast(dt.datetime, given_after), after_field)  # one is set, see above
        before = require_aware(given_before, before_field) if given_before is not None else None
        if before is not None and before < after:
            raise InputError(f"must not be before {after_field}", field=before_field, value=before)
        now = utcnow(self._clock)
        if before is not None:
            before = clamp_before(before, now)
        if not all(has_long_order_history(marketplace_id) for marketplace_id in ids):
            floor = order_history_floor(now)
            if after < floor:
                # A caller that already started at the floor, a moment ago by the clock, skips
                # nothing worth a warning.
                if floor - after > HISTORY_SKIP_TOLERANCE:
                    self._log_history_skip(after, floor)
                after = floor
        if before is not None and before < after:
            return  # the whole window lies beyond what Amazon serves: nothing to ask

        query: dict[str, QueryValue | None] = {
            f"{kind}After": iso(after),
            f"{kind}Before": iso(before) if before is not None else None,
            "fulfillmentStatuses": _strings(
                fulfillment_statuses,
                field="fulfillment_statuses",
                allowed=ORDER_FULFILLMENT_STATUSES,
            ),
            "marketplaceIds": ids,
            "fulfilledBy": _strings(fulfilled_by, field="fulfilled_by", allowed=ORDER_FULFILLED_BY),
            "maxResultsPerPage": _page_size(
                max_results_per_page, field="max_results_per_page", maximum=100
            ),
            "includedData": _strings(
                included_data, field="included_data", allowed=ORDER_INCLUDED_DATA
            ),
        }
        token: str | None = None
        while True:
            page = self.http.call(ops.SEARCH_ORDERS, query={**query, "paginationToken": token})
            yield from page.get("orders") or []
            token = (page.get("pagination") or {}).get("nextToken")
            if not token:
                return

    def get_order(self, order_id: str, *, included_data: Iterable[str] = ()) -> dict[str, Any]:
        """One order (the ``order`` object of Amazon's answer)."""
        if not order_id:
            raise InputError("order id is empty", field="order_id", value=order_id)
        body = self.http.call(
            ops.GET_ORDER,
            path_params={"orderId": order_id},
            query={
                "includedData": _strings(
                    included_data, field="included_data", allowed=ORDER_INCLUDED_DATA
                )
            },
        )
        return dict(body.get("order") or {})

    def _log_history_skip(self, asked: dt.datetime, floor: dt.datetime) -> None:
        if not self._history_skip_logged:
            self._history_skip_logged = True
            log.warning(
                "searchOrders: Amazon keeps two years of orders outside JP, AU and SG; "
                "asked from %s, searching from %s instead (older orders are skipped)",
                iso(asked),
                iso(floor),
            )

    # -- Finances v0 -------------------------------------------------------------------------

    def list_financial_event_groups(
        self,
        started_after: dt.datetime,
        started_before: dt.datetime | None = None,
        *,
        max_results_per_page: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Financial event groups (settlement periods) started in ``[started_after, started_before)``.

        The window is cut into chunks of at most 180 days (wider windows return nothing) and the
        end is kept two minutes before now; ``None`` means "up to now".
        """
        size = _page_size(max_results_per_page, field="max_results_per_page", maximum=100)
        for start, end in self._finance_windows(
            started_after, started_before, "started_after", "started_before"
        ):
            query = {
                "MaxResultsPerPage": size,
                "FinancialEventGroupStartedBefore": iso(end),
                "FinancialEventGroupStartedAfter": iso(start),
            }
            for payload in self._finance_pages(ops.LIST_FINANCIAL_EVENT_GROUPS, query):
                yield from payload.get("FinancialEventGroupList") or []

    def list_financial_events_by_group(
        self,
        group_id: str,
        posted_after: dt.datetime | None = None,
        posted_before: dt.datetime | None = None,
        *,
        max_results_per_page: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The ``FinancialEvents`` object of each non-empty page for one event group.

        Without ``posted_after`` the whole group is asked for in one paged call (Amazon serves
        the past two years of it). With it, the window is split into 180-day chunks.
        """
        if not group_id:
            raise InputError("event group id is empty", field="group_id", value=group_id)
        size = _page_size(max_results_per_page, field="max_results_per_page", maximum=100)
        path = {"eventGroupId": group_id}
        if posted_after is None:
            if posted_before is not None:
                raise InputError(
                    "posted_before needs posted_after", field="posted_before", value=posted_before
                )
            yield from self._finance_events(
                ops.LIST_FINANCIAL_EVENTS_BY_GROUP_ID, {"MaxResultsPerPage": size}, path
            )
            return
        for start, end in self._finance_windows(
            posted_after, posted_before, "posted_after", "posted_before"
        ):
            query = {"MaxResultsPerPage": size, "PostedAfter": iso(start), "PostedBefore": iso(end)}
            yield from self._finance_events(ops.LIST_FINANCIAL_EVENTS_BY_GROUP_ID, query, path)

    def list_financial_events(
        self,
        posted_after: dt.datetime,
        posted_before: dt.datetime | None = None,
        *,
        max_results_per_page: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The ``FinancialEvents`` object of each non-empty page posted in the window.

        Split into chunks of at most 180 days; the end is kept two minutes before now.
        """
        size = _page_size(max_results_per_page, field="max_results_per_page", maximum=100)
        for start, end in self._finance_windows(
            posted_after, posted_before, "posted_after", "posted_before"
        ):
            query = {"MaxResultsPerPage": size, "PostedAfter": iso(start), "PostedBefore": iso(end)}
            yield from self._finance_events(ops.LIST_FINANCIAL_EVENTS, query, None)

    def _finance_windows(
        self, after: dt.datetime, before: dt.datetime | None, after_field: str, before_field: str
    ) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        start = require_aware(after, after_field)
        explicit_end = require_aware(before, before_field) if before is not None else None
        if explicit_end is not None and explicit_end <= start:
            raise InputError(f"must be later than {after_field}", field=before_field, value=before)
        end = clamp_before(explicit_end, utcnow(self._clock))
        yield from split(start, end)

    def _finance_events(
        self,
        operation: ops.Operation,
        query: Mapping[str, QueryValue | None],
        path_params: Mapping[str, str] | None,
    ) -> Iterator[dict[str, Any]]:
        for payload in self._finance_pages(operation, query, path_params):
            events = payload.get("FinancialEvents") or {}
            if any(events.values()):
                yield events

    def _finance_pages(
        self,
        operation: ops.Operation,
        query: Mapping[str, QueryValue | None],
        path_params: Mapping[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            body = self.http.call(
                operation, path_params=path_params, query={**query, "NextToken": token}
            )
            payload = body.get("payload") or {}
            yield payload
            token = payload.get("NextToken")
            if not token:
                return

    # -- Reports 2021-06-30 ------------------------------------------------------------------

    def get_reports(
        self,
        report_types: Iterable[str],
        *,
        processing_statuses: Iterable[str] = (),
        marketplace_ids: Iterable[str] = (),
        created_since: dt.datetime | None = None,
        created_until: dt.datetime | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Reports of the given types, newest pages first as Amazon orders them.

        Amazon keeps reports 90 days (``created_since`` defaults to 90 days ago on its side).
        Settlement reports are found here: ``get_reports([SETTLEMENT_REPORT_TYPE])``.
        """
        query: dict[str, QueryValue | None] = {
            "reportTypes": _strings(report_types, field="report_types", min_items=1, max_items=10),
            "processingStatuses": _strings(
                processing_statuses, field="processing_statuses", allowed=REPORT_PROCESSING_STATUSES
            ),
            "marketplaceIds": _strings(marketplace_ids, field="marketplace_ids", max_items=10),
            "pageSize": _page_size(page_size, field="page_size", maximum=100),
            "createdSince": iso(require_aware(created_since, "created_since"))
            if created_since is not None
            else None,
            "createdUntil": iso(require_aware(created_until, "created_until"))
            if created_until is not None
            else None,
        }
        while True:
            body = self.http.call(ops.GET_REPORTS, query=query)
            yield from body.get("reports") or []
            token = body.get("nextToken")
            if not token:
                return
            query = {"nextToken": token}  # alone: any other parameter makes the call fail

    def get_report(self, report_id: str) -> dict[str, Any]:
        if not report_id:
            raise InputError("report id is empty", field="report_id", value=report_id)
        return dict(self.http.call(ops.GET_REPORT, path_params={"reportId": report_id}))

    def create_report(
        self,
        report_type: str,
        marketplace_ids: Iterable[str],
        data_start_time: dt.datetime | None = None,
        data_end_time: dt.datetime | None = None,
        *,
        report_options: Mapping[str, str] | None = None,
    ) -> str:
        """Ask Amazon to build a report; returns its ``reportId`` (keep it to resume waiting).

        Settlement reports cannot be requested and raise :class:`ReportNotRequestable`.
        Not retried after a lost connection: a blind retry could queue the report twice.
        """
        if report_type in SETTLEMENT_REPORT_TYPES:
            raise ReportNotRequestable(
                "settlement reports cannot be requested; Amazon schedules them itself. "
                "Find them with get_reports()",
                field="report_type",
                value=report_type,
            )
        if not report_type:
            raise InputError("report type is empty", field="report_type", value=report_type)
        body: dict[str, Any] = {
            "reportType": report_type,
            "marketplaceIds": _strings(
                marketplace_ids, field="marketplace_ids", min_items=1, max_items=25
            ),
        }
        start = require_aware(data_start_time, "data_start_time") if data_start_time else None
        end = require_aware(data_end_time, "data_end_time") if data_end_time else None
        if start is not None and end is not None and end < start:
            raise InputError(
                "must not be before data_start_time", field="data_end_time", value=data_end_time
            )
        if start is not None:
            body["dataStartTime"] = iso(start)
        if end is not None:
            body["dataEndTime"] = iso(end)
        if report_options:
            body["reportOptions"] = {str(k): str(v) for k, v in report_options.items()}
        answer = self.http.call(ops.CREATE_REPORT, body=body)
        report_id = answer.get("reportId")
        if not isinstance(report_id, str) or not report_id:
            raise RemoteError(
                SERVICE,
                "createReport answered without a reportId",
                operation=ops.CREATE_REPORT.name,
            )
        return report_id

    def wait_for_report(
        self, report_id: str, *, max_wait_seconds: float, poll_seconds: float = 30.0
    ) -> dict[str, Any]:
        """Poll ``getReport`` until DONE, FATAL or CANCELLED and return that final Report.

        Waits at most ``max_wait_seconds`` on the client's clock, then raises
        :class:`ReportWaitTimeout`; the report keeps processing at Amazon and a later call with
        the same id picks up where this one stopped. The caller checks ``processingStatus``:
        CANCELLED means no data, FATAL may carry a ``reportDocumentId`` describing the failure.
        """
        if max_wait_seconds < 0 or poll_seconds <= 0:
            raise InputError(
                "waits must be positive", field="max_wait_seconds", value=max_wait_seconds
            )
        started = self._clock.now()
        while True:
            report = self.get_report(report_id)
            status = str(report.get("processingStatus"))
            if status in REPORT_TERMINAL_STATUSES:
                return report
            waited = self._clock.now() - started
            remaining = max_wait_seconds - waited
            if remaining <= 0:
                raise ReportWaitTimeout(report_id, status, waited)
            self._clock.sleep(min(poll_seconds, remaining))

    def get_report_document(self, document_id: str) -> dict[str, Any]:
        """The document's metadata: ``reportDocumentId``, presigned ``url`` (valid 5 minutes;
        never log it), and ``compressionAlgorithm`` when compressed."""
        if not document_id:
            raise InputError("report document id is empty", field="document_id", value=document_id)
        return dict(
            self.http.call(ops.GET_REPORT_DOCUMENT, path_params={"reportDocumentId": document_id})
        )

    def download_report_document(self, document_id: str) -> bytes:
        """The report's content, decompressed when Amazon stored it as GZIP.

        The presigned URL expires after five minutes; if it is refused, the document is looked
        up again once for a fresh URL. Keep the bytes in memory or encrypted: Amazon asks that
        unencrypted report content never be stored on disk.
        """
        document = self.get_report_document(document_id)
        try:
            raw, encoding = self.http.fetch_document(self._document_url(document))
        except DocumentUrlExpired:
            log.info("getReportDocument: presigned URL expired, asking for a fresh one")
            document = self.get_report_document(document_id)
            raw, encoding = self.http.fetch_document(self._document_url(document))
        return self._decompress(document, raw, encoding)

    @staticmethod
    def _document_url(document: Mapping[str, Any]) -> str:
        url = document.get("url")
        if not isinstance(url, str) or not url:
            raise RemoteError(
                SERVICE, "report document has no url", operation=ops.GET_REPORT_DOCUMENT.name
            )
        return url

    @staticmethod
    def _decompress(document: Mapping[str, Any], raw: bytes, encoding: str | None) -> bytes:
        algorithm = document.get("compressionAlgorithm")
        if algorithm is None:
            return raw
        if algorithm != "GZIP":
            raise RemoteError(
                SERVICE,
                f"unknown compressionAlgorithm {algorithm!r}",
                operation=ops.GET_REPORT_DOCUMENT.name,
            )
        if not raw.startswith(_GZIP_MAGIC) and encoding and "gzip" in encoding.lower():
            return raw  # served with Content-Encoding: gzip, already undone by httpx
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise RemoteError(
                SERVICE,
                f"report document is not valid gzip ({exc})",
                operation=ops.GET_REPORT_DOCUMENT.name,
            ) from None

    # -- Listings Items 2021-08-01 -----------------------------------------------------------

    def patch_listing_price(
        self,
        seller_id: str,
        sku: str,
        marketplace_id: str,
        amount: Decimal,
        currency: str,
        *,
        product_type: str = "PRODUCT",
        validate_only: bool = False,
    ) -> dict[str, Any]:
        """Set a listing's price: JSON Patch ``replace`` of ``/attributes/purchasable_offer``
        with one ``our_price`` schedule entry ``value_with_tax`` (a JSON number, written exactly).

        Returns Amazon's submission response (``status`` ACCEPTED, or VALID with
        ``validate_only``, which asks ``mode=VALIDATION_PREVIEW`` and changes nothing). A
        submission Amazon finds INVALID raises :class:`ListingIssuesError` with its issues; it
        is not retried, the same body would be refused again. ``product_type`` "PRODUCT" is
        Amazon's generic type for offer-only updates.
        """
        for field, value in (
            ("seller_id", seller_id),
            ("sku", sku),
            ("product_type", product_type),
        ):
            if not value:
                raise InputError("must not be empty", field=field, value=value)
        marketplace = by_id(marketplace_id)
        if currency != marketplace.currency:
            raise InputError(
                f"{marketplace.code} prices are in {marketplace.currency}",
                field="currency",
                value=currency,
            )
        price = require_exact(amount, currency, field="amount")
        if price <= 0:
            raise InputError("a price must be positive", field="amount", value=amount)
        body = {
            "productType": product_type,
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/purchasable_offer",
                    "value": [
                        {
                            "marketplace_id": marketplace_id,
                            "currency": currency,
                            "our_price": [{"schedule": [{"value_with_tax": price}]}],
                        }
                    ],
                }
            ],
        }
        query: dict[str, QueryValue | None] = {
            "marketplaceIds": [marketplace_id],
            "includedData": ["identifiers", "issues"] if validate_only else ["issues"],
            "mode": "VALIDATION_PREVIEW" if validate_only else None,
        }
        answer = dict(
            self.http.call(
                ops.PATCH_LISTINGS_ITEM,
                path_params={"sellerId": seller_id, "sku": sku},
                query=query,
                body=body,
            )
        )
        if answer.get("status") == "INVALID":
            issues = [i for i in answer.get("issues") or [] if isinstance(i, dict)]
            first = issues[0] if issues else {}
            raise ListingIssuesError(
                f"listing {sku} price refused: {first.get('message', 'INVALID submission')}"
                + (f" [+{len(issues) - 1} more issues]" if len(issues) > 1 else ""),
                issues=issues,
                status=200,
                code=first.get("code"),
                operation=ops.PATCH_LISTINGS_ITEM.name,
            )
        return answer

    # -- Sellers v1 --------------------------------------------------------------------------

    def get_marketplace_participations(self) -> list[dict[str, Any]]:
        """The marketplaces the seller participates in (``payload`` of Amazon's answer)."""
        body = self.http.call(ops.GET_MARKETPLACE_PARTICIPATIONS)
        return list(body.get("payload") or [])
