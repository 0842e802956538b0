"""Book: settlement documents from the raw store (or from files) into the ledger, whole or not at all.

For each settlement the booking stage parses the flat file, runs the posting rules and, in ONE
transaction, stores the raw document, writes the entries and records the settlement's status.
A settlement on hold or with unmapped lines writes no entry at all; it raises an alert that says
why and is booked by a later run once a corrected report or a rule arrives. A settlement booked
before from the same content is recognised by its hash and skipped without parsing.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection, select

from ml_connector.core import rawstore
from ml_connector.core.alerts import raise_alert, resolve_alerts
from ml_connector.core.amazon.settlement_file import open_settlement_file
from ml_connector.core.revisions import revise_booking
from ml_connector.core.schema import SettlementStatus
from ml_connector.ledger.posting import Booking, book_settlement
from ml_connector.ledger.posting.conventions import RESERVE_ACCOUNT
from ml_connector.ledger.rules import RuleTable
from ml_connector.ledger.settlement import SettlementHeader
from ml_connector.ledger.store import Ledger

_STATUS = SettlementStatus.__table__  # type: ignore[attr-defined]

BOOKED, HOLD, UNMAPPED, ALREADY_BOOKED = "booked", "hold", "unmapped", "already-booked"


@dataclass(frozen=True)
class BookingResult:
    """What happened to one settlement: its status, why, and how many entries were written."""

    settlement_id: str
    status: str  # booked | already-booked | hold | unmapped
    reason: str = ""
    entries_written: int = 0
    source: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def settlement_status(conn: Connection, *, flow: str, settlement_id: str) -> Any:
    return conn.execute(
        select(_STATUS).where(_STATUS.c.flow == flow, _STATUS.c.settlement_id == settlement_id)
    ).first()


def booked_settlements(conn: Connection, *, flow: str | None = None) -> list[Any]:
    stmt = select(_STATUS).order_by(_STATUS.c.settlement_id)
    if flow is not None:
        stmt = stmt.where(_STATUS.c.flow == flow)
    return list(conn.execute(stmt))


def _set_status(
    conn: Connection,
    *,
    flow: str,
    settlement_id: str,
    status: str,
    reason: str,
    source: str,
    digest: str,
    mode: str,
    now: dt.datetime,
) -> None:
    values = {
        "status": status,
        "reason": reason,
        "source": source,
        "content_hash": digest,
        "mode": mode,
        "updated_at": now,
    }
    updated = conn.execute(
        _STATUS.update()
        .where(_STATUS.c.flow == flow, _STATUS.c.settlement_id == settlement_id)
        .values(**values)
    ).rowcount
    if not updated:
        conn.execute(_STATUS.insert().values(flow=flow, settlement_id=settlement_id, **values))


def _open(document: bytes | Path) -> BinaryIO:
    return open(document, "rb") if isinstance(document, Path) else io.BytesIO(document)


def _plain(raw: BinaryIO) -> BinaryIO:
    """The uncompressed bytes of a document that may arrive gzipped (as report documents do)."""
    head = raw.read(2)
    raw.seek(0)
    return gzip.GzipFile(fileobj=raw, mode="rb") if head == b"\x1f\x8b" else raw  # type: ignore[return-value]


def _gzip_and_hash(stream: BinaryIO) -> tuple[bytes, str]:
    """Compress the document for the raw store and hash its *uncompressed* bytes, in one pass."""
    digest = hashlib.sha256()
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=1, mtime=0) as packed:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            packed.write(chunk)
    return buffer.getvalue(), digest.hexdigest()


def _explain(booking: Booking) -> str:
    """Why a settlement was not booked, in words a bookkeeper can act on."""
    if booking.status == HOLD:
        return " ".join(reason.message for reason in booking.hold_reasons)
    if booking.status == UNMAPPED:
        return "; ".join(
            f"{item.line_count} line(s) of ({', '.join(item.combination)}) match no posting rule, "
            f"e.g. {item.example_text}"
            for item in booking.unmapped
        )
    return ""


def _alert_details(booking: Booking, source: str) -> dict[str, object]:
    return {
        "source": source,
        "status": booking.status,
        "hold_reasons": [reason.to_dict() for reason in booking.hold_reasons],
        "unmapped": [item.to_dict() for item in booking.unmapped],
    }


def reserve_carried_in(ledger: Ledger, header: SettlementHeader | None) -> Decimal | None:
    """The Amazon reserve the books hold in the settlement's currency before it is booked.

    Settlements are booked in the order Amazon issues them, so this is what the settlement's
    "Previous Reserve Amount Balance" line should release. The ledger is the database's, so with
    several sellers of one currency in one database it is their sum: then a lone reserve line
    still holds the settlement unless the amounts happen to agree (a safe failure).
    """
    if header is None:
        return None
    balance = ledger.balance(RESERVE_ACCOUNT, currency=header.currency)
    return balance.get(header.currency, Decimal(0))


def book_settlement_document(
    ledger: Ledger,
    *,
    flow: str,
    document: bytes | Path,
    source: str,
    rules: RuleTable,
    mode: str = "summary",
    split_by_month: bool = False,
    now: dt.datetime,
    also: Callable[[Connection], None] | None = None,
) -> BookingResult:
    """Book one settlement flat file (bytes, gzip or plain, or a path) for ``flow``.

    The document is stored verbatim (compressed) in the raw store in the same transaction as
    its entries; a document booked before with the same content is skipped unparsed. ``also``
    runs inside that transaction (the pull moves its watermark there); it does not run when
    the document is skipped.
    """
    with _open(document) as raw:
        packed, digest = _gzip_and_hash(_plain(raw))
    with _open(document) as raw, open_settlement_file(raw, source=source) as parsed:
        with ledger.engine.begin() as conn:
            previous = settlement_status(conn, flow=flow, settlement_id=parsed.settlement_id)
        if previous is not None and previous.status == BOOKED and previous.content_hash == digest:
            return BookingResult(parsed.settlement_id, ALREADY_BOOKED, source=source)
        booking = book_settlement(
            parsed.header,
            parsed,
            rules,
            mode=mode,
            split_by_month=split_by_month,
            reserve_carried_in=reserve_carried_in(ledger, parsed.header),
        )
        settlement_id = parsed.settlement_id
    return record_booking(
        ledger,
        flow=flow,
        settlement_id=settlement_id,
        booking=booking,
        source=source,
        mode=mode,
        raw=(packed, digest),
        now=now,
        also=also,
    )


def record_booking(
    ledger: Ledger,
    *,
    flow: str,
    settlement_id: str,
    booking: Booking,
    source: str,
    mode: str,
    now: dt.datetime,
    raw: tuple[bytes, str] | None = None,
    also: Callable[[Connection], None] | None = None,
) -> BookingResult:
    """Commit a booking's outcome in one transaction: raw document, entries, status, alerts.

    ``also(conn)`` runs last in the same transaction, for what must commit with the booking
    (a pull's watermark, the raw records a backfill booked from).
    """
    reason = _explain(booking)
    digest = raw[1] if raw is not None else ""
    with ledger.engine.begin() as conn:
        if raw is not None:
            rawstore.store_raw(
                conn,
                flow=flow,
                kind="settlement_report",
                amazon_id=settlement_id,
                body=raw[0],
                content_type="text/tab-separated-values+gzip",
                now=now,
            )
        written = 0
        if booking.status == BOOKED:
            # A rolled-back settlement is booked as a new revision, on new entry ids.
            entries = revise_booking(conn, booking.entries, settlement_id=settlement_id)
            written = ledger.write_in(conn, entries).written
            for kind in ("hold", "unmapped_line"):
                resolve_alerts(conn, flow=flow, kind=kind, key=settlement_id, now=now)
        else:
            raise_alert(
                conn,
                flow=flow,
                kind="hold" if booking.status == HOLD else "unmapped_line",
                key=settlement_id,
                message=f"Settlement {settlement_id} was not booked: {reason}",
                details=_alert_details(booking, source),
                now=now,
            )
        _set_status(
            conn,
            flow=flow,
            settlement_id=settlement_id,
            status=booking.status,
            reason=reason,
            source=source,
            digest=digest,
            mode=mode,
            now=now,
        )
        if also is not None:
            also(conn)
    return BookingResult(
        settlement_id, booking.status, reason=reason, entries_written=written, source=source
    )
