"""Reports API 2021-06-30: settlement reports, requested reports and presigned documents.

Settlement reports (``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``) exist from the start, one per
closed settlement, created by Amazon an hour after the period ends; they cannot be requested. A
requested report moves ``IN_QUEUE`` -> ``IN_PROGRESS`` -> ``DONE`` as the clock advances
(:data:`QUEUE_SECONDS`, :data:`PROCESSING_SECONDS`), or ends ``CANCELLED`` when it has no data
and ``FATAL`` on a seeded fault. Reports are retained 90 days; older ones are gone from every
operation. ``getReportDocument`` answers a presigned-style URL on the caller's own host that
expires after five minutes; requested reports are gzip-compressed, settlement reports are not.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
import io
import random
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ml_connector.core import jsoncodec
from ml_connector.core.amazon.emulator.orders import visible
from ml_connector.core.amazon.emulator.paging import PageTokens
from ml_connector.core.amazon.emulator.statements import REPORT_TYPE as SETTLEMENT_REPORT_TYPE
from ml_connector.core.amazon.emulator.statements import settlement_of
from ml_connector.core.amazon.emulator.truth import EventGroup, Order, Seller
from ml_connector.core.amazon.emulator.wire import (
    ApiError,
    Query,
    invalid_input,
    iso,
    json_response,
    not_found,
    parse_time,
)
from ml_connector.core.amazon.settlement_file import write_settlement_v2
from ml_connector.core.emulation.clock import Clock, utcnow
from ml_connector.ledger.errors import InputError
from ml_connector.ledger.marketplaces import by_id

DOCUMENT_PATH = "/_documents/"
URL_LIFETIME_SECONDS = 300
RETENTION = dt.timedelta(days=90)
CREATED_SINCE_SLACK = dt.timedelta(hours=1)  # clients compute "90 days ago" on their own clock
QUEUE_SECONDS = 30
PROCESSING_SECONDS = 60
SETTLEMENT_REPORT_DELAY = dt.timedelta(hours=1)
STATUSES = frozenset({"CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE"})
ORDERS_BY_DATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
ORDERS_BY_UPDATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
ALL_LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
ORDER_COLUMNS = (
    "amazon-order-id",
    "merchant-order-id",
    "purchase-date",
    "last-updated-date",
    "order-status",
    "fulfillment-channel",
    "sales-channel",
    "sku",
    "asin",
    "quantity",
    "currency",
    "item-price",
    "item-tax",
    "shipping-price",
    "shipping-tax",
    "gift-wrap-price",
    "item-promotion-discount",
    "promotion-ids",
)
LISTING_COLUMNS = ("item-name", "seller-sku", "price", "asin1", "fulfillment-channel", "status")
ORDER_STATUS_NAMES = {
    "PENDING": "Pending",
    "UNSHIPPED": "Unshipped",
    "SHIPPED": "Shipped",
    "CANCELLED": "Cancelled",
}

ListingRows = Callable[[str], list[tuple[str, ...]]]


@dataclass
class Report:
    """One report and, once done, its document."""

    report_id: str
    report_type: str
    marketplace_ids: list[str]
    created: dt.datetime
    data_start: dt.datetime
    data_end: dt.datetime
    outcome: str  # the status the report reaches when processing ends: DONE, CANCELLED, FATAL
    document_id: str | None
    compressed: bool
    cancelled_at: dt.datetime | None = None
    settlement: EventGroup | None = None
    content: bytes | None = None

    def status(self, now: dt.datetime) -> tuple[str, dt.datetime | None, dt.datetime | None]:
        """(processingStatus, processingStartTime, processingEndTime) at ``now``."""
        if self.cancelled_at is not None:
            return "CANCELLED", None, self.cancelled_at
        if self.settlement is not None:
            return "DONE", self.created, self.created  # Amazon publishes it finished
        started = self.created + dt.timedelta(seconds=QUEUE_SECONDS)
        finished = started + dt.timedelta(seconds=PROCESSING_SECONDS)
        if now < started:
            return "IN_QUEUE", None, None
        if now < finished:
            return "IN_PROGRESS", started, None
        return self.outcome, started, finished

    def render(self, now: dt.datetime) -> dict[str, Any]:
        status, started, finished = self.status(now)
        rendered: dict[str, Any] = {
            "reportId": self.report_id,
            "reportType": self.report_type,
            "marketplaceIds": self.marketplace_ids,
            "dataStartTime": iso(self.data_start),
            "dataEndTime": iso(self.data_end),
            "createdTime": iso(self.created),
            "processingStatus": status,
        }
        if started is not None:
            rendered["processingStartTime"] = iso(started)
        if finished is not None:
            rendered["processingEndTime"] = iso(finished)
        if status == "DONE" and self.document_id is not None:
            rendered["reportDocumentId"] = self.document_id
        return rendered


class ReportsApi:
    def __init__(
        self,
        seller: Seller,
        clock: Clock,
        tokens: PageTokens,
        listing_rows: ListingRows,
        *,
        fatal_per_mille: int = 0,
    ) -> None:
        self._seller = seller
        self._clock = clock
        self._tokens = tokens
        self._listing_rows = listing_rows
        self._fatal_per_mille = fatal_per_mille
        self._random = random.Random(seller.seed)
        self._url_key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._reports: dict[str, Report] = {}
        for group in seller.groups:
            if group.closed:
                self._reports[group.report_id] = Report(
                    report_id=group.report_id,
                    report_type=SETTLEMENT_REPORT_TYPE,
                    marketplace_ids=[group.marketplace.marketplace_id],
                    created=group.end + SETTLEMENT_REPORT_DELAY,
                    data_start=group.start,
                    data_end=group.end,
                    outcome="DONE",
                    document_id=group.document_id,
                    compressed=False,
                    settlement=group,
                )
        self._next_number = 60_000_000_000

    @property
    def reports(self) -> list[Report]:
        return list(self._reports.values())

    def _retained(self, report_id: str, now: dt.datetime) -> Report:
        report = self._reports.get(report_id)
        if report is None or report.created > now or report.created < now - RETENTION:
            raise not_found(f"Report {report_id} was not found.")
        return report

    # -- getReports / getReport ------------------------------------------------------------------

    def get_reports(self, request: httpx.Request) -> httpx.Response:
        query = Query(request)
        now = utcnow(self._clock)
        token = query.text("nextToken")
        if token is not None:
            if query.names() != {"nextToken"}:
                raise invalid_input(
                    "nextToken must be the only parameter when it is specified.",
                    "Specifying nextToken with any other parameters will cause the request to fail.",
                )
            continuation = self._tokens.redeem("getReports", token, "nextToken")
            criteria, offset = dict(continuation.query), continuation.offset
        else:
            criteria, offset = self._report_criteria(query, now), 0
        with self._lock:
            candidates = list(self._reports.values())
        matches = sorted(
            (r for r in candidates if self._report_matches(r, criteria, now)),
            key=lambda r: (r.created, r.report_id),
            reverse=True,
        )
        size = criteria["size"]
        body: dict[str, Any] = {"reports": [r.render(now) for r in matches[offset : offset + size]]}
        if offset + size < len(matches):
            body["nextToken"] = self._tokens.issue("getReports", criteria, offset + size)
        return json_response(200, body)

    def _report_criteria(self, query: Query, now: dt.datetime) -> dict[str, Any]:
        report_types = query.items("reportTypes")
        if report_types is None:
            raise invalid_input("Either reportTypes or nextToken is required.")
        if len(report_types) > 10:
            raise invalid_input("reportTypes accepts 1 to 10 values.")
        marketplace_ids = query.items("marketplaceIds")
        if marketplace_ids is not None and len(marketplace_ids) > 10:
            raise invalid_input("marketplaceIds accepts 1 to 10 values.")
        since = query.time("createdSince") or now - RETENTION
        if since < now - RETENTION - CREATED_SINCE_SLACK:
            raise invalid_input(
                "createdSince cannot be more than 90 days in the past.",
                "Reports are retained for a maximum of 90 days.",
            )
        until = query.time("createdUntil") or now
        if until < since:
            raise invalid_input("createdUntil must not be before createdSince.")
        return {
            "types": report_types,
            "statuses": query.enum_items("processingStatuses", STATUSES),
            "marketplaces": marketplace_ids,
            "since": since,
            "until": until,
            "size": query.integer("pageSize", default=10, low=1, high=100),
        }

    def _report_matches(self, report: Report, criteria: dict[str, Any], now: dt.datetime) -> bool:
        return (
            report.report_type in criteria["types"]
            and criteria["since"] <= report.created <= criteria["until"]
            and now - RETENTION <= report.created <= now
            and (criteria["statuses"] is None or report.status(now)[0] in criteria["statuses"])
            and (
                criteria["marketplaces"] is None
                or any(m in criteria["marketplaces"] for m in report.marketplace_ids)
            )
        )

    def get_report(self, request: httpx.Request, report_id: str) -> httpx.Response:
        now = utcnow(self._clock)
        with self._lock:
            report = self._retained(report_id, now)
        return json_response(200, report.render(now))

    # -- createReport / cancelReport -------------------------------------------------------------

    def create_report(self, request: httpx.Request) -> httpx.Response:
        now = utcnow(self._clock)
        spec = _json_body(request)
        report_type = spec.get("reportType")
        if not isinstance(report_type, str) or not report_type:
            raise invalid_input("reportType is required and must be a string.")
        if "SETTLEMENT" in report_type:
            raise invalid_input(
                "Settlement reports cannot be requested or scheduled.",
                "They are automatically scheduled by Amazon; search for them with getReports.",
            )
        if not report_type.startswith("GET_") or not report_type.replace("_", "").isalnum():
            raise invalid_input(f"Invalid reportType: {report_type}.")
        marketplace_ids = spec.get("marketplaceIds")
        if (
            not isinstance(marketplace_ids, list)
            or not 1 <= len(marketplace_ids) <= 25
            or not all(isinstance(m, str) for m in marketplace_ids)
        ):
            raise invalid_input("marketplaceIds is required: a list of 1 to 25 marketplace ids.")
        for marketplace_id in marketplace_ids:
            try:
                by_id(marketplace_id)
            except InputError:
                raise invalid_input(f"Invalid marketplace ID: {marketplace_id}.") from None
        options = spec.get("reportOptions", {})
        if not isinstance(options, dict) or not all(isinstance(v, str) for v in options.values()):
            raise invalid_input("reportOptions must be an object of string values.")
        start = _body_time(spec, "dataStartTime", now)
        end = _body_time(spec, "dataEndTime", now)
        if start > now or end > now:
            raise invalid_input("dataStartTime and dataEndTime must not be in the future.")
        if end < start:
            raise invalid_input("dataEndTime must not be before dataStartTime.")
        content = self._content(report_type, marketplace_ids, start, end, now)
        with self._lock:
            self._next_number += 1
            report_id = str(self._next_number)
            fatal = self._random.randrange(1000) < self._fatal_per_mille
            outcome = "FATAL" if fatal else "DONE" if content is not None else "CANCELLED"
            self._reports[report_id] = Report(
                report_id=report_id,
                report_type=report_type,
                marketplace_ids=list(marketplace_ids),
                created=now,
                data_start=start,
                data_end=end,
                outcome=outcome,
                document_id=f"amzn1.spdoc.1.4.na.{report_id}" if outcome == "DONE" else None,
                compressed=True,
                content=content if outcome == "DONE" else None,
            )
        return json_response(202, {"reportId": report_id})

    def cancel_report(self, request: httpx.Request, report_id: str) -> httpx.Response:
        now = utcnow(self._clock)
        with self._lock:
            report = self._retained(report_id, now)
            if report.status(now)[0] != "IN_QUEUE":
                raise invalid_input(
                    "Only reports with processingStatus IN_QUEUE can be cancelled.",
                    f"Report {report_id} is {report.status(now)[0]}.",
                )
            report.cancelled_at = now
        return httpx.Response(200)

    # -- documents -------------------------------------------------------------------------------

    def get_report_document(self, request: httpx.Request, document_id: str) -> httpx.Response:
        now = utcnow(self._clock)
        query = Query(request)
        encoding_flag = query.text("enableContentEncodingUrlHeader")
        if encoding_flag not in (None, "true", "false"):
            raise invalid_input("enableContentEncodingUrlHeader must be true or false.")
        with self._lock:
            report = next((r for r in self._reports.values() if r.document_id == document_id), None)
        if report is None or report.created < now - RETENTION or report.status(now)[0] != "DONE":
            raise not_found(f"Report document {document_id} was not found.")
        encode_header = report.compressed and encoding_flag == "true"
        signed_at = now.strftime("%Y%m%dT%H%M%SZ")
        params = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Date": signed_at,
            "X-Amz-Expires": str(URL_LIFETIME_SECONDS),
            "X-Amz-Signature": self._signature(document_id, signed_at, encode_header),
        }
        if encode_header:
            params["response-content-encoding"] = "gzip"
        url = request.url.copy_with(
            path=DOCUMENT_PATH + document_id, query=str(httpx.QueryParams(params)).encode()
        )
        body: dict[str, Any] = {"reportDocumentId": document_id, "url": str(url)}
        if report.compressed:
            body["compressionAlgorithm"] = "GZIP"
        return json_response(200, body)

    def _signature(self, document_id: str, signed_at: str, encode_header: bool) -> str:
        message = f"{document_id}\n{signed_at}\n{URL_LIFETIME_SECONDS}\n{encode_header}".encode()
        return hmac.new(self._url_key, message, hashlib.sha256).hexdigest()

    def download(self, request: httpx.Request, request_id: str) -> httpx.Response:
        """Serve a document URL: the bytes while the signature holds, S3's XML errors otherwise."""
        now = utcnow(self._clock)
        document_id = request.url.path[len(DOCUMENT_PATH) :]
        params = request.url.params
        signed_at = params.get("X-Amz-Date", "")
        encode_header = params.get("response-content-encoding") == "gzip"
        expected = self._signature(document_id, signed_at, encode_header)
        if not hmac.compare_digest(params.get("X-Amz-Signature", ""), expected) or params.get(
            "X-Amz-Expires"
        ) != str(URL_LIFETIME_SECONDS):
            return _s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
                request_id,
            )
        signed = dt.datetime.strptime(signed_at, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        expires = signed + dt.timedelta(seconds=URL_LIFETIME_SECONDS)
        if now > expires:
            return _s3_error(
                403,
                "AccessDenied",
                "Request has expired",
                request_id,
                extra=f"<X-Amz-Expires>{URL_LIFETIME_SECONDS}</X-Amz-Expires>"
                f"<Expires>{iso(expires)}</Expires><ServerTime>{iso(now)}</ServerTime>",
            )
        with self._lock:
            report = next((r for r in self._reports.values() if r.document_id == document_id), None)
        if report is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.", request_id)
        content = self._document_bytes(report)
        headers = {"content-type": "text/plain;charset=UTF-8", "x-amz-request-id": request_id}
        if encode_header:
            headers["content-encoding"] = "gzip"
        return httpx.Response(200, content=content, headers=headers)

    def _document_bytes(self, report: Report) -> bytes:
        if report.content is None and report.settlement is not None:
            report.content = _settlement_document(report.settlement)
        plain = report.content or b""
        # mtime=0 keeps the compressed bytes identical on every run.
        return gzip.compress(plain, mtime=0) if report.compressed else plain

    # -- requested report content ----------------------------------------------------------------

    def _content(
        self,
        report_type: str,
        marketplace_ids: list[str],
        start: dt.datetime,
        end: dt.datetime,
        now: dt.datetime,
    ) -> bytes | None:
        """The document of a requested report, or None when it has no data (it is CANCELLED)."""
        if report_type in (ORDERS_BY_DATE, ORDERS_BY_UPDATE):
            field = "created" if report_type == ORDERS_BY_DATE else "last_updated"
            orders = sorted(
                (
                    o
                    for o in self._seller.orders
                    if o.marketplace.marketplace_id in marketplace_ids
                    and start <= getattr(o, field) <= end
                    and visible(o, now)
                ),
                key=lambda o: (getattr(o, field), o.order_id),
            )
            rows = [row for order in orders for row in _order_rows(order)]
            return _tsv(ORDER_COLUMNS, rows) if rows else None
        if report_type == ALL_LISTINGS:
            rows = self._listing_rows(marketplace_ids[0])
            return _tsv(LISTING_COLUMNS, rows) if rows else None
        return None


def _order_rows(order: Order) -> list[tuple[str, ...]]:
    return [
        (
            order.order_id,
            order.merchant_order_id,
            order.created.isoformat(),
            order.last_updated.isoformat(),
            ORDER_STATUS_NAMES.get(order.status, order.status),
            "Amazon" if order.fulfilled_by == "AMAZON" else "Merchant",
            order.marketplace.site,
            item.sku,
            item.asin,
            str(item.quantity),
            order.currency,
            str(item.principal),
            str(item.tax),
            str(item.shipping),
            str(item.shipping_tax),
            str(item.gift_wrap),
            str(item.promotion),
            item.promotion_id,
        )
        for item in order.items
    ]


def _tsv(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> bytes:
    lines = ["\t".join(columns), *("\t".join(row) for row in rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _settlement_document(group: EventGroup) -> bytes:
    header, lines = settlement_of(group)
    stream = io.StringIO()
    write_settlement_v2(header, lines, stream, decimal_comma=group.marketplace.decimal_comma)
    return stream.getvalue().encode("utf-8")


def _json_body(request: httpx.Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("application/json"):
        raise ApiError(
            415,
            "UnsupportedMediaType",
            "The request payload is in an unsupported format.",
            "Send the body as application/json.",
        )
    try:
        body = jsoncodec.loads(request.content)
    except ValueError:
        raise invalid_input("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise invalid_input("The request body must be a JSON object.")
    return body


def _body_time(spec: dict[str, Any], name: str, default: dt.datetime) -> dt.datetime:
    value = spec.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise invalid_input(f"{name} must be an ISO 8601 date-time string.")
    return parse_time(name, value)


def _s3_error(
    status: int, code: str, message: str, request_id: str, *, extra: str = ""
) -> httpx.Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>{extra}"
        f"<RequestId>{request_id}</RequestId></Error>"
    )
    return httpx.Response(
        status,
        content=body.encode(),
        headers={"content-type": "application/xml", "x-amz-request-id": request_id},
    )
