"""Backfill: settlements older than the 90 days of reports Amazon lists, from Finances v0.

``getReports`` serves settlement reports created in the last 90 days only. Older settlements
are still described by Finances v0: ``listFinancialEventGroups`` (one group per settlement
period and currency) and ``listFinancialEventsByGroupId`` (the events of a group, served for
the past two years). :func:`backfill` books every *closed* group started since a date through the
same posting rules, converted to settlement lines by :mod:`.event_lines` (which states what is
exact and what is approximated).

Per group, in ONE transaction: the raw group, the raw events, the entries and the status
(``FEG-<group id>``). What is not booked, and why:

- an open group: no settlement yet (stored raw, counted);
- a period whose settlement report is already stored: the report is authoritative;
- a group already booked by an earlier backfill;
- a group older than two years: Amazon no longer serves its events (book its report file);
- a group whose events cannot be converted faithfully: held, with an alert saying why.

When the report of a backfilled period arrives later (:func:`.pull.book_settlement_report`),
it books nothing again; it is compared with the events and the differences are reported.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from ml_connector.core import jsoncodec, rawstore
from ml_connector.core.alerts import raise_alert, resolve_alerts
from ml_connector.core.amazon.client import SpApiClient
from ml_connector.core.amazon.errors import PagingTokenExpired
from ml_connector.core.amazon.event_lines import (
    backfill_settlement_id,
    parse_instant,
    settlement_from_events,
)
from ml_connector.core.amazon.periods import (
    KIND_EVENTS,
    KIND_GROUP,
    group_period,
    report_periods,
)
from ml_connector.core.amazon.pull import MAX_RESTARTS, Progress, _no_progress
from ml_connector.core.amazon.windows import require_aware, years_before
from ml_connector.core.booking import (
    BOOKED,
    HOLD,
    BookingResult,
    record_booking,
    set_settlement_status,
    settlement_status,
)
from ml_connector.core.database import Database
from ml_connector.core.emulation.clock import Clock, utcnow
from ml_connector.core.errors import InputError
from ml_connector.ledger.posting import Mode, book_settlement
from ml_connector.ledger.rules import RuleTable

log = logging.getLogger("ml_connector.amazon.backfill")

EVENTS_HISTORY_YEARS = 2


@dataclass
class BackfillResult:
    """What one :func:`backfill` run did, group by group."""

    groups: int = 0
    open: int = 0
    covered_by_report: list[str] = field(default_factory=list)  # settlement ids
    already_booked: int = 0
    too_old: list[str] = field(default_factory=list)  # group ids
    results: list[BookingResult] = field(default_factory=list)
    restarts: int = 0

    @property
    def booked(self) -> int:
        return sum(1 for r in self.results if r.status == BOOKED)

    @property
    def held(self) -> int:
        return sum(1 for r in self.results if r.status != BOOKED)


def _list_with_restarts(
    produce: Callable[[], list[dict[str, Any]]], what: str, result: BackfillResult, limit: int
) -> list[dict[str, Any]]:
    """Run a paged listing to the end; a refused NextToken restarts it (nothing was committed
    while listing, so the last committed state is where it started)."""
    while True:
        try:
            return produce()
        except PagingTokenExpired as exc:
            if result.restarts >= limit:
                raise
            result.restarts += 1
            log.warning("%s: %s; listing again (restart %d)", what, exc.message, result.restarts)


def _store_group_raw(
    conn: Connection,
    flow: str,
    group: dict[str, Any],
    pages: list[dict[str, Any]] | None,
    now: dt.datetime,
) -> None:
    group_id = str(group["FinancialEventGroupId"])
    rawstore.store_raw(
        conn,
        flow=flow,
        kind=KIND_GROUP,
        amazon_id=group_id,
        body=jsoncodec.dumps(group, sort_keys=True).encode(),
        now=now,
    )
    if pages is not None:
        rawstore.store_raw(
            conn,
            flow=flow,
            kind=KIND_EVENTS,
            amazon_id=group_id,
            body=jsoncodec.dumps(pages, sort_keys=True).encode(),
            now=now,
        )


def backfill(
    database: Database,
    client: SpApiClient,
    *,
    flow: str,
    since: dt.datetime,
    rules: RuleTable,
    mode: Mode = "summary",
    until: dt.datetime | None = None,
    clock: Clock,
    progress: Progress | None = None,
    max_restarts: int = MAX_RESTARTS,
) -> BackfillResult:
    """Book the closed financial event groups started in ``[since, until)`` (default: to now).

    Re-running is harmless: booked groups, and periods whose report is stored, are skipped.
    """
    report_progress = progress or _no_progress
    start = require_aware(since, "since")
    end = require_aware(until, "until") if until is not None else None
    now = utcnow(clock)
    result = BackfillResult()
    groups = _list_with_restarts(
        lambda: list(client.list_financial_event_groups(start, end, max_results_per_page=100)),
        "listFinancialEventGroups",
        result,
        max_restarts,
    )
    groups.sort(
        key=lambda g: (str(g.get("FinancialEventGroupStart")), str(g.get("FinancialEventGroupId")))
    )
    result.groups = len(groups)
    with database.engine.begin() as conn:
        reported = report_periods(conn, flow=flow)
    events_floor = years_before(now, EVENTS_HISTORY_YEARS)
    report_progress("backfill", 0, len(groups))
    for done, group in enumerate(groups, start=1):
        _backfill_group(
            database,
            client,
            flow,
            group,
            rules,
            mode,
            clock,
            reported,
            events_floor,
            result,
            max_restarts,
        )
        report_progress("backfill", done, len(groups))
    return result


def _backfill_group(
    database: Database,
    client: SpApiClient,
    flow: str,
    group: dict[str, Any],
    rules: RuleTable,
    mode: Mode,
    clock: Clock,
    reported: dict[Any, str],
    events_floor: dt.datetime,
    result: BackfillResult,
    max_restarts: int,
) -> None:
    group_id = group.get("FinancialEventGroupId")
    if not isinstance(group_id, str) or not group_id:
        raise InputError(
            "listFinancialEventGroups returned a group without FinancialEventGroupId",
            field="FinancialEventGroupId",
        )
    settlement_id = backfill_settlement_id(group_id)
    now = utcnow(clock)
    key = group_period(group)
    if key is None:
        result.open += 1
        with database.engine.begin() as conn:
            _store_group_raw(conn, flow, group, None, now)
        return
    if key in reported:
        result.covered_by_report.append(reported[key])
        with database.engine.begin() as conn:
            _store_group_raw(conn, flow, group, None, now)
            resolve_alerts(conn, flow=flow, kind="hold", key=settlement_id, now=now)
        return
    with database.engine.begin() as conn:
        status = settlement_status(conn, flow=flow, settlement_id=settlement_id)
    if status is not None and status.status == BOOKED:
        result.already_booked += 1
        return
    started = parse_instant(group.get("FinancialEventGroupStart"), field=f"group {group_id} start")
    if started < events_floor:
        result.too_old.append(group_id)
        log.warning(
            "financial event group %s started %s: Amazon serves events by group for two years "
            "only; book this settlement from its report file",
            group_id,
            started.date(),
        )
        with database.engine.begin() as conn:
            _store_group_raw(conn, flow, group, None, now)
        return
    pages = _list_with_restarts(
        lambda: list(client.list_financial_events_by_group(group_id)),
        "listFinancialEventsByGroupId",
        result,
        max_restarts,
    )
    source = f"financial events of group {group_id}"
    now = utcnow(clock)
    try:
        header, lines = settlement_from_events(group, pages)
    except InputError as problem:
        reason = str(problem)
        with database.engine.begin() as conn:
            _store_group_raw(conn, flow, group, pages, now)
            raise_alert(
                conn,
                flow=flow,
                kind="hold",
                key=settlement_id,
                message=f"Settlement {settlement_id} was not backfilled: {reason}",
                details={"source": source, "group_id": group_id},
                now=now,
            )
            set_settlement_status(
                conn,
                flow=flow,
                settlement_id=settlement_id,
                status=HOLD,
                reason=reason,
                source=source,
                digest="",
                mode=mode,
                now=now,
            )
        result.results.append(BookingResult(settlement_id, HOLD, reason=reason, source=source))
        return
    booking = book_settlement(header, lines, rules, mode=mode)
    result.results.append(
        record_booking(
            database.ledger,
            flow=flow,
            settlement_id=settlement_id,
            booking=booking,
            source=source,
            mode=mode,
            now=now,
            also=lambda conn: _store_group_raw(conn, flow, group, pages, now),
        )
    )
