"""The pull stage: settlement reports, orders and created reports from the SP-API into the books.

Every function here takes an open :class:`~ml_connector.core.database.Database` and an
:class:`~ml_connector.core.amazon.client.SpApiClient`, and commits as it goes, one unit at a
time, so a run killed anywhere leaves nothing half-written and the next run carries on:

- :func:`pull_settlements`: ``getReports`` for ``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``
  (Amazon keeps 90 days of them), each document downloaded and booked by
  :mod:`ml_connector.core.booking` with its raw copy, its entries, its status and the
  ``settlements`` watermark in ONE transaction. A report already booked with the same content is
  skipped; a report whose period the backfill booked from financial events books nothing new:
  it is compared with those events and the differences are reported (:func:`book_settlement_report`).
- :func:`pull_orders`: ``searchOrders`` by ``lastUpdatedAfter``, window after window, each
  order stored raw; a window's last orders and the ``orders`` watermark commit together.
- :func:`pull_report`: a created report (``createReport`` then ``getReport`` polling), resumable
  across runs through :class:`~ml_connector.core.schema.ReportRequest` rows.

A paging token Amazon refuses (expired, or not recognised) restarts the listing from the last
committed watermark instead of failing the run; records seen again are de-duplicated by the raw
store. Older settlements than the 90 days ``getReports`` serves come in through
:func:`ml_connector.core.amazon.backfill.backfill`.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from ml_connector.core import jsoncodec, rawstore
from ml_connector.core.alerts import raise_alert, resolve_alerts
from ml_connector.core.amazon.client import SETTLEMENT_REPORT_TYPE, SpApiClient
from ml_connector.core.amazon.errors import PagingTokenExpired, ReportWaitTimeout
from ml_connector.core.amazon.event_lines import settlement_from_events
from ml_connector.core.amazon.periods import (
    KIND_EVENTS,
    KIND_REPORT,
    backfilled_groups,
    period,
)
from ml_connector.core.amazon.regions import has_long_order_history
from ml_connector.core.amazon.settlement_file import open_settlement_file
from ml_connector.core.amazon.windows import (
    iso,
    latest_before,
    order_history_floor,
    require_aware,
    split,
)
from ml_connector.core.booking import (
    ALREADY_BOOKED,
    BOOKED,
    HOLD,
    UNMAPPED,
    BookingResult,
    book_settlement_document,
    booked_settlements,
    set_settlement_status,
    settlement_status,
)
from ml_connector.core.database import Database
from ml_connector.core.emulation.clock import Clock, utcnow
from ml_connector.core.errors import InputError, RemoteError
from ml_connector.core.schema import ReportRequest, SettlementStatus
from ml_connector.ledger.money import format_amount
from ml_connector.ledger.posting import LineDifference, compare_lines
from ml_connector.ledger.rules import RuleTable

log = logging.getLogger("ml_connector.amazon.pull")

SETTLEMENTS_STREAM = "settlements"
ORDERS_STREAM = "orders"
KIND_ORDER = "order"
# A report's period was booked by the backfill from financial events: nothing new was booked.
COVERED = "covered"
REPORT_RETENTION = dt.timedelta(days=90)
# Ask getReports from a watermark only while it is safely inside the 90 days Amazon keeps;
# older, leave createdSince out and let Amazon use its own "90 days ago".
RETENTION_MARGIN = dt.timedelta(days=1)
ORDER_WINDOW = dt.timedelta(days=30)
ORDER_INCLUDED_DATA = ("FULFILLMENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION", "TAX")
MAX_RESTARTS = 3
_STATUS = SettlementStatus.__table__  # type: ignore[attr-defined]
_REPORT_REQUEST = ReportRequest.__table__  # type: ignore[attr-defined]

Progress = Callable[[str, int, int | None], None]
"""``progress(stage, done, total)``: called as work advances; ``total`` None when unknown."""


def _no_progress(stage: str, done: int, total: int | None) -> None:
    return None


# -- settlements ------------------------------------------------------------------------------


@dataclass
class SettlementPull:
    """What one :func:`pull_settlements` run did."""

    listed: int = 0
    results: list[BookingResult] = field(default_factory=list)
    skipped_before_watermark: int = 0
    rebooked: list[BookingResult] = field(default_factory=list)
    restarts: int = 0

    def count(self, status: str) -> int:
        return sum(1 for r in [*self.rebooked, *self.results] if r.status == status)

    @property
    def booked(self) -> int:
        return self.count(BOOKED)

    @property
    def waiting(self) -> int:
        """Settlements stored but not booked (on hold, or lines without a rule)."""
        return self.count(HOLD) + self.count(UNMAPPED)


def _plain_bytes(document: bytes) -> bytes:
    return gzip.decompress(document) if document[:2] == b"\x1f\x8b" else document


def book_settlement_report(
    database: Database,
    *,
    flow: str,
    document: bytes,
    source: str,
    rules: RuleTable,
    mode: str = "summary",
    now: dt.datetime,
    also: Callable[[Connection], None] | None = None,
) -> BookingResult:
    """Book one settlement report document (plain or gzip bytes) for ``flow``.

    Three outcomes, each committed in one transaction with ``also(conn)`` (the caller's
    watermark):

    - the report's period was booked by the backfill from financial events: the report is
      authoritative but nothing is booked twice. It is stored raw, compared line by line with
      the events, and marked ``covered``; differences raise a ``reconciliation`` alert and are
      returned in ``details["differences"]``;
    - otherwise :func:`~ml_connector.core.booking.book_settlement_document` books it (or holds
      it, or finds lines without a rule);
    - a document already booked (or covered) with the same content changes nothing and returns
      ``already-booked``; ``also`` does not run then.
    """
    plain = _plain_bytes(document)
    digest = hashlib.sha256(plain).hexdigest()
    with open_settlement_file(io.BytesIO(plain), source=source) as parsed:
        header = parsed.header
        settlement_id = parsed.settlement_id
    if header is not None:
        key = period(header.currency, header.start, header.end)
        with database.engine.begin() as conn:
            previous = settlement_status(conn, flow=flow, settlement_id=settlement_id)
            if (
                previous is not None
                and previous.status == COVERED
                and previous.content_hash == digest
            ):
                return BookingResult(settlement_id, ALREADY_BOOKED, source=source)
            group = backfilled_groups(conn, flow=flow).get(key)
        if group is not None:
            return _cover_with_backfill(
                database, flow, plain, digest, source, mode, group, now, also
            )
    return book_settlement_document(
        database.ledger,
        flow=flow,
        document=plain,
        source=source,
        rules=rules,
        mode=mode,
        now=now,
        also=also,
    )


def _cover_with_backfill(
    database: Database,
    flow: str,
    plain: bytes,
    digest: str,
    source: str,
    mode: str,
    group: dict[str, Any],
    now: dt.datetime,
    also: Callable[[Connection], None] | None,
) -> BookingResult:
    group_id = str(group["FinancialEventGroupId"])
    with database.engine.begin() as conn:
        stored = [
            r
            for r in rawstore.records_for(conn, amazon_id=group_id)
            if r.flow == flow and r.kind == KIND_EVENTS
        ]
    if not stored:
        raise InputError(
            f"financial event group {group_id} is booked but its events are not in the raw store",
            field="financial_events",
            value=group_id,
        )
    pages = jsoncodec.loads(stored[-1].body)
    _, event_lines = settlement_from_events(group, pages)
    with open_settlement_file(io.BytesIO(plain), source=source) as parsed:
        header = parsed.header
        settlement_id = parsed.settlement_id
        report_lines = list(parsed)
    assert header is not None  # only called for a report with a summary row
    differences = compare_lines(event_lines, report_lines)
    event_total = sum((line.amount for line in event_lines), Decimal(0))
    total_note = ""
    if event_total != header.total_amount:
        total_note = (
            f" The events total {format_amount(event_total, header.currency)}, the report "
            f"{format_amount(header.total_amount, header.currency)}."
        )
    reason = (
        f"booked from financial event group {group_id} by the backfill; the report is kept and "
        f"was compared: {len(differences)} difference(s).{total_note}"
    )
    packed = gzip.compress(plain, compresslevel=1, mtime=0)
    with database.engine.begin() as conn:
        rawstore.store_raw(
            conn,
            flow=flow,
            kind=KIND_REPORT,
            amazon_id=settlement_id,
            body=packed,
            content_type="text/tab-separated-values+gzip",
            now=now,
        )
        if differences or total_note:
            raise_alert(
                conn,
                flow=flow,
                kind="reconciliation",
                key=settlement_id,
                message=(
                    f"Settlement {settlement_id} was booked from Finances events (group "
                    f"{group_id}) and its report disagrees with them: {len(differences)} "
                    f"difference(s).{total_note} The booked entries were not changed; "
                    "correct them with a reversal if the report is right."
                ),
                details={
                    "group_id": group_id,
                    "differences": [d.to_dict() for d in differences],
                },
                now=now,
            )
        else:
            resolve_alerts(conn, flow=flow, kind="reconciliation", key=settlement_id, now=now)
        set_settlement_status(
            conn,
            flow=flow,
            settlement_id=settlement_id,
            status=COVERED,
            reason=reason,
            source=source,
            digest=digest,
            mode=mode,
            now=now,
        )
        if also is not None:
            also(conn)
    return BookingResult(
        settlement_id,
        COVERED,
        reason=reason,
        source=source,
        details={"group_id": group_id, "differences": differences},
    )


def _report_mark(report: dict[str, Any]) -> tuple[dt.datetime, str]:
    created = report.get("createdTime")
    report_id = report.get("reportId")
    if not isinstance(created, str) or not isinstance(report_id, str) or not report_id:
        raise RemoteError(
            "amazon",
            f"getReports listed a report without createdTime or reportId: {report_id!r}",
            operation="getReports",
        )
    return _instant(created, "createdTime"), report_id


def _instant(text: str, what: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError("not an ISO 8601 date-time", field=what, value=text) from None
    if value.tzinfo is None:
        raise InputError("date-time without a time zone", field=what, value=text)
    return value.astimezone(dt.UTC)


def _settlement_mark(value: str | None) -> tuple[dt.datetime, str] | None:
    """The ``settlements`` watermark: ``"<createdTime> <reportId>"`` of the last report done."""
    if value is None:
        return None
    created, _, report_id = value.partition(" ")
    return _instant(created, "settlements watermark"), report_id


def _created_since(
    mark: tuple[dt.datetime, str] | None, since: dt.datetime | None, now: dt.datetime
) -> dt.datetime | None:
    start = mark[0] if mark is not None else since
    if start is None:
        return None
    start = require_aware(start, "since")
    if start < now - REPORT_RETENTION + RETENTION_MARGIN:
        log.info(
            "getReports: settlement reports before %s are no longer listed by Amazon (90 days "
            "kept); use 'ml-connector amazon backfill' for older settlements",
            iso(now - REPORT_RETENTION),
        )
        return None
    return start


def _list_settlement_reports(
    database: Database,
    client: SpApiClient,
    flow: str,
    since: dt.datetime | None,
    now: dt.datetime,
    result: SettlementPull,
    max_restarts: int,
    marketplace_ids: Sequence[str],
    page_size: int,
) -> tuple[list[dict[str, Any]], tuple[dt.datetime, str] | None]:
    while True:
        with database.engine.begin() as conn:
            mark = _settlement_mark(
                rawstore.get_watermark(conn, flow=flow, stream=SETTLEMENTS_STREAM)
            )
        try:
            reports = list(
                client.get_reports(
                    [SETTLEMENT_REPORT_TYPE],
                    processing_statuses=["DONE"],
                    marketplace_ids=marketplace_ids,
                    created_since=_created_since(mark, since, now),
                    page_size=page_size,
                )
            )
        except PagingTokenExpired as exc:
            if result.restarts >= max_restarts:
                raise
            result.restarts += 1
            log.warning(
                "getReports: %s; listing again from the last committed watermark (restart %d)",
                exc.message,
                result.restarts,
            )
            continue
        unique = {r["reportId"]: r for r in reports if r.get("reportDocumentId")}
        ordered = sorted(unique.values(), key=_report_mark)
        return ordered, mark


def rebook_waiting(
    database: Database, *, flow: str, rules: RuleTable, mode: str, now: dt.datetime
) -> list[BookingResult]:
    """Book again the stored reports of ``flow`` that are on hold or have unmapped lines.

    A rule added or a hold released since the last run lets them through; the raw copy is
    booked, Amazon is not asked again.
    """
    results = []
    with database.engine.begin() as conn:
        waiting = [
            row.settlement_id
            for row in booked_settlements(conn, flow=flow)
            if row.status in (HOLD, UNMAPPED)
        ]
        bodies = {
            sid: [
                r
                for r in rawstore.records_for(conn, amazon_id=sid)
                if r.flow == flow and r.kind == KIND_REPORT
            ]
            for sid in waiting
        }
    for sid in waiting:
        if not bodies[sid]:
            continue  # not from a report (a backfilled group on hold is the backfill's)
        record = bodies[sid][-1]
        results.append(
            book_settlement_report(
                database,
                flow=flow,
                document=record.body,
                source=f"raw record {record.id} (settlement {sid})",
                rules=rules,
                mode=mode,
                now=now,
            )
        )
    return results


def pull_settlements(
    database: Database,
    client: SpApiClient,
    *,
    flow: str,
    rules: RuleTable,
    mode: str = "summary",
    since: dt.datetime | None = None,
    clock: Clock,
    progress: Progress | None = None,
    max_restarts: int = MAX_RESTARTS,
    marketplace_ids: Sequence[str] = (),
    page_size: int = 100,
) -> SettlementPull:
    """Find, download and book every settlement report newer than the ``settlements`` watermark.

    ``since`` bounds the first run (default: all Amazon still lists, 90 days). Reports are
    booked oldest first; each one's raw copy, entries, status and the watermark (its
    ``createdTime`` and ``reportId``) commit in one transaction, so a run killed between two
    reports resumes after the last one committed. Settlements stored on hold or with unmapped
    lines are booked again from the raw store first (:func:`rebook_waiting`).
    ``marketplace_ids`` narrows the listing to the flow's marketplaces (a seller account may sell
    in marketplaces another flow books); empty lists every settlement of the account.
    """
    report_progress = progress or _no_progress
    now = utcnow(clock)
    result = SettlementPull()
    result.rebooked = rebook_waiting(database, flow=flow, rules=rules, mode=mode, now=now)
    reports, mark = _list_settlement_reports(
        database, client, flow, since, now, result, max_restarts, marketplace_ids, page_size
    )
    result.listed = len(reports)
    report_progress("settlements", 0, len(reports))
    for done, report in enumerate(reports, start=1):
        position = _report_mark(report)
        if mark is not None and position <= mark:
            result.skipped_before_watermark += 1
            report_progress("settlements", done, len(reports))
            continue
        document_id = str(report["reportDocumentId"])
        document = client.download_report_document(document_id)
        value = f"{iso(position[0])} {position[1]}"

        def advance(conn: Connection, value: str = value) -> None:
            rawstore.set_watermark(
                conn, flow=flow, stream=SETTLEMENTS_STREAM, value=value, now=utcnow(clock)
            )

        booked = book_settlement_report(
            database,
            flow=flow,
            document=document,
            source=f"report {position[1]} document {document_id}",
            rules=rules,
            mode=mode,
            now=utcnow(clock),
            also=advance,
        )
        if booked.status == ALREADY_BOOKED:
            with database.engine.begin() as conn:
                advance(conn)  # its data was committed by an earlier run
        result.results.append(booked)
        report_progress("settlements", done, len(reports))
    return result


# -- orders -----------------------------------------------------------------------------------


@dataclass
class OrderPull:
    """What one :func:`pull_orders` run did."""

    seen: int = 0
    stored: int = 0
    windows: int = 0
    restarts: int = 0
    watermark: str | None = None


def _order_body(order: dict[str, Any]) -> bytes:
    # Keys sorted so the same order always hashes the same; Decimal written exactly.
    return jsoncodec.dumps(order, sort_keys=True).encode()


def _marketplace_ids(client: SpApiClient) -> list[str]:
    ids = [
        str(p["marketplace"]["id"])
        for p in client.get_marketplace_participations()
        if (p.get("participation") or {}).get("isParticipating", True)
        and (p.get("marketplace") or {}).get("id")
    ]
    if not ids:
        raise RemoteError(
            "amazon",
            "the seller participates in no marketplace",
            operation="getMarketplaceParticipations",
        )
    return ids


def pull_orders(
    database: Database,
    client: SpApiClient,
    *,
    flow: str,
    clock: Clock,
    marketplace_ids: Sequence[str] | None = None,
    since: dt.datetime | None = None,
    window: dt.timedelta = ORDER_WINDOW,
    included_data: Iterable[str] = ORDER_INCLUDED_DATA,
    progress: Progress | None = None,
    max_restarts: int = MAX_RESTARTS,
    page_size: int = 100,
) -> OrderPull:
    """Store every order changed since the ``orders`` watermark, raw, one record per version.

    The span from the watermark (first run: ``since``, else as far back as Amazon serves) to
    two minutes ago is cut into ``window``-wide ``lastUpdated`` windows. Orders are asked
    ``page_size`` per page and committed a page at a time; a window's last orders commit with
    the watermark moved to the window's end (not per order: Amazon promises no order within a
    window). Outside JP, AU and SG, Amazon
    keeps two years of orders: older ones are not asked for, and that is logged once.
    ``marketplace_ids`` default to the seller's marketplaces (``getMarketplaceParticipations``).
    """
    report_progress = progress or _no_progress
    if window <= dt.timedelta(0):
        raise InputError("the window must be positive", field="window", value=window)
    ids = list(marketplace_ids) if marketplace_ids is not None else _marketplace_ids(client)
    included = list(included_data)
    now = utcnow(clock)
    end = latest_before(now)
    result = OrderPull()
    with database.engine.begin() as conn:
        mark = rawstore.get_watermark(conn, flow=flow, stream=ORDERS_STREAM)
    floor = order_history_floor(now)
    long_history = all(has_long_order_history(m) for m in ids)
    if mark is not None:
        start = _instant(mark, "orders watermark")
    elif since is not None:
        start = require_aware(since, "since")
    else:
        start = floor if not long_history else dt.datetime(2016, 1, 1, tzinfo=dt.UTC)
    if start < floor and not long_history:
        log.warning(
            "searchOrders: Amazon keeps two years of orders outside JP, AU and SG; orders "
            "last updated before %s are skipped",
            iso(floor),
        )
        start = floor
    windows = list(split(start, end, window))
    report_progress("orders", 0, len(windows))
    for done, (after, before) in enumerate(windows, start=1):
        _pull_order_window(
            database,
            client,
            flow,
            ids,
            included,
            after,
            before,
            clock,
            result,
            max_restarts,
            page_size,
        )
        result.windows += 1
        result.watermark = iso(before)
        report_progress("orders", done, len(windows))
    return result


def _pull_order_window(
    database: Database,
    client: SpApiClient,
    flow: str,
    ids: list[str],
    included: list[str],
    after: dt.datetime,
    before: dt.datetime,
    clock: Clock,
    result: OrderPull,
    max_restarts: int,
    page_size: int,
) -> None:
    while True:
        buffer: list[dict[str, Any]] = []
        try:
            for order in client.search_orders(
                ids,
                last_updated_after=after,
                last_updated_before=before,
                included_data=included,
                max_results_per_page=page_size,
            ):
                buffer.append(order)
                if len(buffer) >= page_size:
                    _store_orders(database, flow, buffer, clock, result)
                    buffer = []
        except PagingTokenExpired as exc:
            if result.restarts >= max_restarts:
                raise
            result.restarts += 1
            with database.engine.begin() as conn:
                mark = rawstore.get_watermark(conn, flow=flow, stream=ORDERS_STREAM)
            if mark is not None:
                after = max(after, _instant(mark, "orders watermark"))
            log.warning(
                "searchOrders: %s; restarting from the last committed watermark %s (restart %d)",
                exc.message,
                iso(after),
                result.restarts,
            )
            continue
        _store_orders(database, flow, buffer, clock, result, watermark=iso(before))
        return


def _store_orders(
    database: Database,
    flow: str,
    orders: list[dict[str, Any]],
    clock: Clock,
    result: OrderPull,
    *,
    watermark: str | None = None,
) -> None:
    now = utcnow(clock)
    with database.engine.begin() as conn:
        for order in orders:
            order_id = order.get("orderId")
            if not isinstance(order_id, str) or not order_id:
                raise RemoteError(
                    "amazon",
                    "searchOrders returned an order without orderId",
                    operation="searchOrders",
                )
            result.seen += 1
            if rawstore.store_raw(
                conn,
                flow=flow,
                kind=KIND_ORDER,
                amazon_id=order_id,
                body=_order_body(order),
                now=now,
            ):
                result.stored += 1
        if watermark is not None:
            rawstore.set_watermark(conn, flow=flow, stream=ORDERS_STREAM, value=watermark, now=now)


# -- created reports --------------------------------------------------------------------------


@dataclass
class ReportPull:
    """Where a created report stands: ``stored`` (document in the raw store), or still waiting."""

    report_id: str
    status: str
    stored: bool = False
    resumed: bool = False
    document_id: str | None = None
    size: int = 0


def _open_request(conn: Connection, flow: str, report_type: str) -> Any:
    return conn.execute(
        select(_REPORT_REQUEST)
        .where(
            _REPORT_REQUEST.c.flow == flow,
            _REPORT_REQUEST.c.report_type == report_type,
            _REPORT_REQUEST.c.status.in_(("IN_QUEUE", "IN_PROGRESS")),
        )
        .order_by(_REPORT_REQUEST.c.created_at)
    ).first()


def _update_request(conn: Connection, flow: str, report_id: str, **values: Any) -> None:
    conn.execute(
        _REPORT_REQUEST.update()
        .where(_REPORT_REQUEST.c.flow == flow, _REPORT_REQUEST.c.report_id == report_id)
        .values(**values)
    )


def pull_report(
    database: Database,
    client: SpApiClient,
    *,
    flow: str,
    report_type: str,
    marketplace_ids: Sequence[str],
    clock: Clock,
    data_start: dt.datetime | None = None,
    data_end: dt.datetime | None = None,
    max_wait_seconds: float = 600.0,
    poll_seconds: float = 30.0,
) -> ReportPull:
    """Create a report, wait for it (bounded) and store its document raw; resumable.

    One request per (flow, report type) is outstanding at a time: when a previous run left one
    IN_QUEUE or IN_PROGRESS, this run waits for that report instead of creating another (the
    data window of that request applies). The ``createReport`` call is committed as a
    ReportRequest row right after Amazon answers; the document, when DONE, is stored (kind
    ``report:<type>``, keyed by report id) in the transaction that marks the row DONE. A wait
    that runs out returns the report still IN_QUEUE/IN_PROGRESS (the next run resumes it);
    FATAL or CANCELLED (no data) is recorded and returned, nothing is stored.
    """
    with database.engine.begin() as conn:
        pending = _open_request(conn, flow, report_type)
    resumed = pending is not None
    if pending is not None:
        report_id = str(pending.report_id)
        log.info("createReport: resuming the wait for report %s (%s)", report_id, report_type)
    else:
        report_id = client.create_report(report_type, marketplace_ids, data_start, data_end)
        now = utcnow(clock)
        with database.engine.begin() as conn:
            conn.execute(
                _REPORT_REQUEST.insert().values(
                    flow=flow,
                    report_id=report_id,
                    report_type=report_type,
                    status="IN_QUEUE",
                    document_id=None,
                    created_at=now,
                    updated_at=now,
                )
            )
    try:
        report = client.wait_for_report(
            report_id, max_wait_seconds=max_wait_seconds, poll_seconds=poll_seconds
        )
    except ReportWaitTimeout as waiting:
        with database.engine.begin() as conn:
            _update_request(conn, flow, report_id, status=waiting.status, updated_at=utcnow(clock))
        return ReportPull(report_id, waiting.status, resumed=resumed)
    status = str(report.get("processingStatus"))
    document_id = report.get("reportDocumentId")
    if status != "DONE" or not document_id:
        with database.engine.begin() as conn:
            _update_request(
                conn,
                flow,
                report_id,
                status=status,
                document_id=document_id,
                updated_at=utcnow(clock),
            )
        return ReportPull(report_id, status, resumed=resumed, document_id=document_id)
    content = client.download_report_document(str(document_id))
    now = utcnow(clock)
    with database.engine.begin() as conn:
        rawstore.store_raw(
            conn,
            flow=flow,
            kind=f"report:{report_type}",
            amazon_id=report_id,
            # Kept compressed in the database like every raw record (docs/amazon.md says what
            # Amazon asks about report content at rest).
            body=gzip.compress(content, compresslevel=1, mtime=0),
            content_type="text/plain+gzip",
            now=now,
        )
        _update_request(
            conn, flow, report_id, status="DONE", document_id=str(document_id), updated_at=now
        )
    return ReportPull(
        report_id,
        "DONE",
        stored=True,
        resumed=resumed,
        document_id=str(document_id),
        size=len(content),
    )


__all__ = [
    "COVERED",
    "ORDERS_STREAM",
    "SETTLEMENTS_STREAM",
    "LineDifference",
    "OrderPull",
    "Progress",
    "ReportPull",
    "SettlementPull",
    "book_settlement_report",
    "pull_orders",
    "pull_report",
    "pull_settlements",
    "rebook_waiting",
]
