"""Book: settlement documents from the raw store (or from files) into the ledger, whole or not at all.

For each settlement the booking stage streams the flat file through the posting rules and, in
ONE transaction, stores the raw document, writes the entries (in chunks, however many) and
records the settlement's status.
A settlement on hold or with unmapped lines writes no entry at all; it raises an alert that says
why and is booked by a later run once a corrected report or a rule arrives. A settlement booked
before from the same content is recognised by its hash and skipped without parsing.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol

from sqlalchemy import Connection, select

from ml_connector.core import rawstore
from ml_connector.core.alerts import raise_alert, resolve_alerts
from ml_connector.core.amazon.settlement_file import open_settlement_file
from ml_connector.core.revisions import as_revision, booking_revision
from ml_connector.core.schema import SettlementStatus
from ml_connector.ledger.db import SQLITE_TEMP_IN_MEMORY
from ml_connector.ledger.entries import JournalEntry
from ml_connector.ledger.posting import (
    Booking,
    HoldReason,
    UnmappedCombination,
    plan_settlement,
)
from ml_connector.ledger.posting.booking import (
    OrdersApart,
    SettlementPlan,
    payout_entry_id,
    plan_settlement_in_one_pass,
)
from ml_connector.ledger.posting.conventions import MODE_PER_ORDER, RESERVE_ACCOUNT
from ml_connector.ledger.rules import RuleTable
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine
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


def set_settlement_status(
    conn: Connection,
    *,
    flow: str,
    settlement_id: str,
    status: str,
    source: str,
    mode: str,
    now: dt.datetime,
    reason: str = "",
    digest: str = "",
) -> None:
    """Record where a settlement of ``flow`` stands (insert or update), in ``conn``'s transaction.

    ``digest`` is the hash of the document it was booked from ("" when there is none, as for a
    settlement rebuilt from financial events or copied into a dry run's scratch books).
    """
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


@dataclass(frozen=True)
class _Packed:
    """A document compressed for the raw store into a temporary file, never held whole.

    ``digest`` hashes the *uncompressed* bytes (what tells a document booked before),
    ``packed_digest`` the compressed ones (the raw store's content hash).
    """

    file: IO[bytes]
    size: int
    digest: str
    packed_digest: str


class _HashingWriter:
    """A write-only file that hashes what passes through it on the way to ``target``.

    It has no ``name``, so gzip writes no file name into its header: the compressed bytes are
    those of compressing into memory, and so is the raw store's content hash.
    """

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.target.write(data)

    def flush(self) -> None:
        self.target.flush()


def _gzip_and_hash(stream: BinaryIO) -> _Packed:
    """Compress the document for the raw store (into a temporary file) and hash its
    uncompressed and compressed bytes, in one pass of bounded memory. Close ``file`` after."""
    digest = hashlib.sha256()
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    try:
        writer = _HashingWriter(spool)
        with gzip.GzipFile(fileobj=writer, mode="wb", compresslevel=1, mtime=0) as packed:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
                packed.write(chunk)
    except BaseException:
        spool.close()
        raise
    return _Packed(spool, writer.size, digest.hexdigest(), writer.digest.hexdigest())


class _Outcome(Protocol):
    """What :class:`Booking` and :class:`SettlementPlan` both say about a settlement."""

    @property
    def status(self) -> str: ...
    @property
    def hold_reasons(self) -> tuple[HoldReason, ...]: ...
    @property
    def unmapped(self) -> tuple[UnmappedCombination, ...]: ...


def _explain(booking: _Outcome) -> str:
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


def _alert_details(booking: _Outcome, source: str) -> dict[str, object]:
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


#: ``progress(phase, done, total)``: how far a phase ("hashing", "checking", "writing") has
#: read through the document, in bytes of the file as stored (compressed, for a gzip file).
Progress = Callable[[str, int, int], None]

# Lines between two progress reports and between two "are we there yet" reads of the file
# position: often enough for a smooth bar, rare enough to cost nothing.
_PROGRESS_EVERY = 1 << 14
# Entries per write while streaming order entries, inside the settlement's one transaction.
WRITE_CHUNK = 2000
# Postings per write at most (give or take one entry's), so large entries come in small lists.
WRITE_POSTINGS = 10_000
# How a settlement's transaction runs: SQLite keeps its temporary storage in memory, which
# the ledger's insert triggers use once per entry (see ledger.db.SQLITE_TEMP_IN_MEMORY).
_BULK = {SQLITE_TEMP_IN_MEMORY: True}


def _size(document: bytes | Path) -> int:
    return document.stat().st_size if isinstance(document, Path) else len(document)


def _reporting(
    lines: Iterable[SettlementLine], raw: BinaryIO, phase: str, total: int, progress: Progress
) -> Iterator[SettlementLine]:
    """``lines`` unchanged, telling ``progress`` how far into ``raw`` they have read."""
    progress(phase, 0, total)
    remaining = iter(lines)
    # Batches passed on with ``yield from``: no Python work per line between two reports.
    while True:
        batch = islice(remaining, _PROGRESS_EVERY)
        first = next(batch, None)
        if first is None:
            break
        yield first
        yield from batch
        progress(phase, raw.tell(), total)
    progress(phase, total, total)


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
    progress: Progress | None = None,
) -> BookingResult:
    """Book one settlement flat file (bytes, gzip or plain, or a path) for ``flow``.

    The document is stored verbatim (compressed) in the raw store in the same transaction as
    its entries; a document booked before with the same content is skipped unparsed. ``also``
    runs inside that transaction (the pull moves its watermark there); it does not run when
    the document is skipped.

    The lines stream through one pass that checks the settlement and sums its groups; in
    per-order mode the same pass makes each order's entry as the order's lines end and writes
    them in chunks inside the transaction, which is rolled back if the settlement does not
    book. A file whose orders' lines are not kept together (or name unknown marketplaces) is
    read a second time instead. Memory is bounded by the settlement's groups (per-order mode:
    its orders), never by its lines, and the raw copy goes through a temporary file.
    ``progress`` is told how far each pass has read.
    """
    size = _size(document)
    report: Progress = progress or (lambda phase, done, total: None)
    report("hashing", 0, size)
    # The raw copy is compressed and hashed in a thread while the lines are read: zlib and
    # hashlib let go of the GIL, so on two cores it costs no wall time. The digest is waited
    # for only where it is needed (a settlement booked before, and the commit).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ml-connector-pack") as pool:
        packing = pool.submit(_pack, document)
        try:
            return _book_document(
                ledger,
                flow=flow,
                document=document,
                packing=packing,
                source=source,
                rules=rules,
                mode=mode,
                split_by_month=split_by_month,
                now=now,
                also=also,
                progress=progress,
                report=report,
                size=size,
            )
        except BaseException as error:
            # A document that cannot be read fails as its packing does, as it did when the
            # packing came first.
            failed = packing.exception()
            if failed is not None and failed is not error:
                raise failed from None
            raise
        finally:
            if packing.exception() is None:
                packing.result().file.close()


def _pack(document: bytes | Path) -> _Packed:
    with _open(document) as raw:
        return _gzip_and_hash(_plain(raw))


def _book_document(
    ledger: Ledger,
    *,
    flow: str,
    document: bytes | Path,
    packing: Future[_Packed],
    source: str,
    rules: RuleTable,
    mode: str,
    split_by_month: bool,
    now: dt.datetime,
    also: Callable[[Connection], None] | None,
    progress: Progress | None,
    report: Progress,
    size: int,
) -> BookingResult:
    """:func:`book_settlement_document`'s work, with the packing of the raw copy under way."""
    with _open(document) as raw, open_settlement_file(raw, source=source) as parsed:
        settlement_id = parsed.settlement_id
        with ledger.engine.begin() as conn:
            previous = settlement_status(conn, flow=flow, settlement_id=settlement_id)
        if (
            previous is not None
            and previous.status == BOOKED
            and previous.content_hash == packing.result().digest
        ):
            return BookingResult(settlement_id, ALREADY_BOOKED, source=source)
        header = parsed.header
        carried_in = reserve_carried_in(ledger, header)
        lines = _reporting(parsed, raw, "checking", size, report) if progress else parsed
        if mode == MODE_PER_ORDER and header is not None:
            try:
                return _book_in_one_pass(
                    ledger,
                    header=header,
                    lines=lines,
                    rules=rules,
                    split_by_month=split_by_month,
                    reserve=carried_in,
                    commit=_Commit(flow, settlement_id, source, mode, packing, now, also),
                )
            except OrdersApart:
                pass  # rolled back: book with two passes below
            with _open(document) as again_raw:
                again = open_settlement_file(again_raw, source=source)
                with again:
                    lines = (
                        _reporting(again, again_raw, "checking", size, report)
                        if progress
                        else again
                    )
                    plan = _plan(again.header, lines, rules, mode, split_by_month, carried_in)
        else:
            plan = _plan(header, lines, rules, mode, split_by_month, carried_in)

    def entries() -> Iterator[JournalEntry]:
        if not plan.needs_second_pass:
            yield from plan.closing_entries()
            return
        with _open(document) as raw, open_settlement_file(raw, source=source) as again:
            lines = _reporting(again, raw, "writing", size, report) if progress else again
            yield from plan.entries(lines)

    return _commit(
        ledger,
        commit=_Commit(flow, settlement_id, source, mode, packing, now, also),
        outcome=plan,
        head=plan.settlement_entries(),
        entries=entries,
    )


def _plan(
    header: SettlementHeader | None,
    lines: Iterable[SettlementLine],
    rules: RuleTable,
    mode: str,
    split_by_month: bool,
    carried_in: Decimal | None,
) -> SettlementPlan:
    return plan_settlement(
        header,
        lines,
        rules,
        mode=mode,
        split_by_month=split_by_month,
        reserve_carried_in=carried_in,
    )


@dataclass(frozen=True)
class _Commit:
    """What the transaction of a settlement records besides its entries."""

    flow: str
    settlement_id: str
    source: str
    mode: str
    # A document's packing may still be under way (a Future): it is waited for at the commit.
    raw: tuple[bytes, str] | _Packed | Future[_Packed] | None
    now: dt.datetime
    also: Callable[[Connection], None] | None

    @property
    def packed(self) -> tuple[bytes, str] | _Packed | None:
        """``raw``, its packing done."""
        return self.raw.result() if isinstance(self.raw, Future) else self.raw

    @property
    def digest(self) -> str:
        """The document's hash as the status table keeps it (of its uncompressed bytes)."""
        raw = self.packed
        if raw is None:
            return ""
        return raw.digest if isinstance(raw, _Packed) else raw[1]


@dataclass(frozen=True)
class _PayoutProbe:
    """Stands for a settlement's payout entry where only its id is known (see
    :func:`_book_in_one_pass`); :func:`booking_revision` reads nothing but ids."""

    id: str


def _book_in_one_pass(
    ledger: Ledger,
    *,
    header: SettlementHeader,
    lines: Iterable[SettlementLine],
    rules: RuleTable,
    split_by_month: bool,
    reserve: Decimal | None,
    commit: _Commit,
) -> BookingResult:
    """Per-order mode in one pass: order entries are written as the lines stream, in the
    transaction that then writes the rest; it is rolled back if the settlement does not book
    (the hold is then recorded on its own) or if :class:`OrdersApart` is raised.

    The revision is decided before the first write, from the payout entry's id (every
    booking has one) and the first chunk's ids, as :func:`booking_revision` decides it from
    the settlement entries on the two-pass path.
    """
    written = 0
    revision: int | None = None
    with ledger.engine.connect() as conn:
        conn.execution_options(**_BULK)
        transaction = conn.begin()
        try:

            def write(chunk: list[JournalEntry]) -> None:
                nonlocal written, revision
                if revision is None:
                    probe = [_PayoutProbe(payout_entry_id(header.settlement_id)), *chunk]
                    revision = booking_revision(
                        conn,
                        probe,  # type: ignore[arg-type]
                        settlement_id=header.settlement_id,
                    )
                revised = [as_revision(entry, revision) for entry in chunk]
                written += ledger.write_in(conn, revised).written

            plan = plan_settlement_in_one_pass(
                header,
                lines,
                rules,
                write=write,
                split_by_month=split_by_month,
                reserve_carried_in=reserve,
                chunk=WRITE_CHUNK,
            )
            if not plan.booked:
                transaction.rollback()
            else:
                result = _record(
                    ledger,
                    conn,
                    commit=commit,
                    outcome=plan,
                    head=plan.settlement_entries(),
                    entries=plan.closing_entries,
                    revision=revision,
                    written=written,
                )
                transaction.commit()
                return result
        except BaseException:
            if transaction.is_active:
                transaction.rollback()
            raise
    return _commit(ledger, commit=commit, outcome=plan, head=(), entries=lambda: ())


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
    return _commit(
        ledger,
        commit=_Commit(flow, settlement_id, source, mode, raw, now, also),
        outcome=booking,
        head=booking.entries,
        entries=lambda: iter(booking.entries),
    )


def _chunks(
    entries: Iterable[JournalEntry], size: int, postings: int = WRITE_POSTINGS
) -> Iterator[list[JournalEntry]]:
    """``entries`` in lists of at most ``size`` entries and about ``postings`` postings (a
    per-order settlement's receivable entries hold a thousand postings each)."""
    chunk: list[JournalEntry] = []
    held = 0
    for entry in entries:
        chunk.append(entry)
        held += len(entry.postings)
        if len(chunk) == size or held >= postings:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


def _commit(
    ledger: Ledger,
    *,
    commit: _Commit,
    outcome: _Outcome,
    head: Sequence[JournalEntry],
    entries: Callable[[], Iterable[JournalEntry]],
) -> BookingResult:
    """The one transaction of a settlement: raw document, entries, status, alerts, ``also``.

    ``head`` are entries known before writing (at least the payout entry of a booked
    settlement): they decide the booking's revision (:mod:`ml_connector.core.revisions`).
    ``entries()`` yields every entry to write, ``head`` included, and is written in chunks.
    """
    with ledger.engine.execution_options(**_BULK).begin() as conn:
        return _record(ledger, conn, commit=commit, outcome=outcome, head=head, entries=entries)


def _record(
    ledger: Ledger,
    conn: Connection,
    *,
    commit: _Commit,
    outcome: _Outcome,
    head: Sequence[JournalEntry],
    entries: Callable[[], Iterable[JournalEntry]],
    revision: int | None = None,
    written: int = 0,
) -> BookingResult:
    """:func:`_commit`'s work on a transaction the caller opened (and commits).

    ``revision`` and ``written`` come from entries the caller already wrote in it: the
    revision they were written as (None: decide it from ``head``) and how many were new.
    """
    settlement_id = commit.settlement_id
    reason = _explain(outcome)
    raw = commit.packed
    if isinstance(raw, _Packed):
        raw.file.seek(0)
        rawstore.store_raw_stream(
            conn,
            flow=commit.flow,
            kind="settlement_report",
            amazon_id=settlement_id,
            body=raw.file,
            size=raw.size,
            digest=raw.packed_digest,
            content_type="text/tab-separated-values+gzip",
            now=commit.now,
        )
    elif raw is not None:
        rawstore.store_raw(
            conn,
            flow=commit.flow,
            kind="settlement_report",
            amazon_id=settlement_id,
            body=raw[0],
            content_type="text/tab-separated-values+gzip",
            now=commit.now,
        )
    if outcome.status == BOOKED:
        if revision is None:
            # A rolled-back settlement is booked as a new revision, on new entry ids.
            revision = booking_revision(conn, head, settlement_id=settlement_id)
        for chunk in _chunks(entries(), WRITE_CHUNK):
            revised = [as_revision(entry, revision) for entry in chunk]
            written += ledger.write_in(conn, revised).written
        for kind in ("hold", "unmapped_line"):
            resolve_alerts(conn, flow=commit.flow, kind=kind, key=settlement_id, now=commit.now)
    else:
        raise_alert(
            conn,
            flow=commit.flow,
            kind="hold" if outcome.status == HOLD else "unmapped_line",
            key=settlement_id,
            message=f"Settlement {settlement_id} was not booked: {reason}",
            details=_alert_details(outcome, commit.source),
            now=commit.now,
        )
    set_settlement_status(
        conn,
        flow=commit.flow,
        settlement_id=settlement_id,
        status=outcome.status,
        reason=reason,
        source=commit.source,
        digest=commit.digest,
        mode=commit.mode,
        now=commit.now,
    )
    if commit.also is not None:
        commit.also(conn)
    return BookingResult(
        settlement_id, outcome.status, reason=reason, entries_written=written, source=commit.source
    )
