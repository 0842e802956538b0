"""Which settlement period is already in the books, whichever way it came in.

A settlement can arrive two ways: its report (settlement id from the file) or, for periods
older than the 90 days ``getReports`` serves, its financial event group (booked by the backfill
under ``FEG-<group id>``, since Finances v0 does not give the settlement id). Both describe the
same period of one currency, so the period ``(currency, start, end)`` is what ties them: a
report whose period was backfilled books nothing new, and the backfill skips a period whose
report is stored. Both indexes are read from the raw store, where everything pulled is kept.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from sqlalchemy import Connection

from ml_connector.core import jsoncodec, rawstore
from ml_connector.core.amazon.event_lines import backfill_settlement_id, parse_instant
from ml_connector.core.amazon.settlement_file import open_settlement_file
from ml_connector.core.booking import BOOKED, settlement_status

Period = tuple[str, str, str]  # currency, start and end as UTC ISO 8601

KIND_REPORT = "settlement_report"
KIND_GROUP = "financial_event_group"
KIND_EVENTS = "financial_events"


def period(currency: str, start: dt.datetime, end: dt.datetime) -> Period:
    return (currency, start.astimezone(dt.UTC).isoformat(), end.astimezone(dt.UTC).isoformat())


def group_period(group: dict[str, Any]) -> Period | None:
    """The period of a closed group, or None for an open one (no end yet)."""
    if group.get("ProcessingStatus") != "Closed" or not group.get("FinancialEventGroupEnd"):
        return None
    gid = group.get("FinancialEventGroupId")
    total = group.get("OriginalTotal") or {}
    return period(
        str(total.get("CurrencyCode") or ""),
        parse_instant(group.get("FinancialEventGroupStart"), field=f"group {gid} start"),
        parse_instant(group.get("FinancialEventGroupEnd"), field=f"group {gid} end"),
    )


def report_periods(conn: Connection, *, flow: str) -> dict[Period, str]:
    """``{period: settlement id}`` of every settlement report stored for ``flow``."""
    found: dict[Period, str] = {}
    for record in rawstore.latest_records(conn, flow=flow, kind=KIND_REPORT):
        with open_settlement_file(io.BytesIO(record.body), source=record.amazon_id) as parsed:
            header = parsed.header
        if header is not None:
            found[period(header.currency, header.start, header.end)] = header.settlement_id
    return found


def backfilled_groups(conn: Connection, *, flow: str) -> dict[Period, dict[str, Any]]:
    """``{period: group}`` of the groups the backfill *booked* for ``flow``."""
    found: dict[Period, dict[str, Any]] = {}
    for record in rawstore.latest_records(conn, flow=flow, kind=KIND_GROUP):
        group = jsoncodec.loads(record.body)
        key = group_period(group)
        if key is None:
            continue
        status = settlement_status(
            conn, flow=flow, settlement_id=backfill_settlement_id(record.amazon_id)
        )
        if status is not None and status.status == BOOKED:
            found[key] = group
    return found
