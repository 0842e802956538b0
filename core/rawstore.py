"""The raw store: everything Amazon sent, verbatim and hashed, before anything is booked from it.

Records are keyed by (flow, kind, Amazon id, content hash): pulling the same data again adds
nothing, and a changed version of a record (an order that moved on) is kept beside the old one.
Watermarks move through :func:`set_watermark` on the same connection, inside the transaction that
stores the records they cover, so a crash can never leave a watermark ahead of its data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import Connection, func, select

from ml_connector.core.schema import RawRecord, Watermark
from ml_connector.ledger.errors import InputError

_RAW = RawRecord.__table__  # type: ignore[attr-defined]
_WATERMARK = Watermark.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class StoredRecord:
    id: int
    flow: str
    kind: str
    amazon_id: str
    content_hash: str
    content_type: str
    body: bytes
    fetched_at: dt.datetime


def _record(row: Any) -> StoredRecord:
    return StoredRecord(
        id=row.id,
        flow=row.flow,
        kind=row.kind,
        amazon_id=row.amazon_id,
        content_hash=row.content_hash,
        content_type=row.content_type,
        body=bytes(row.body),
        fetched_at=row.fetched_at,
    )


def content_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def store_raw(
    conn: Connection,
    *,
    flow: str,
    kind: str,
    amazon_id: str,
    body: bytes,
    content_type: str = "application/json",
    now: dt.datetime,
) -> bool:
    """Store ``body`` unless this exact content is already stored; True when it was new."""
    digest = content_hash(body)
    exists = conn.execute(
        select(_RAW.c.id).where(
            _RAW.c.flow == flow,
            _RAW.c.kind == kind,
            _RAW.c.amazon_id == amazon_id,
            _RAW.c.content_hash == digest,
        )
    ).first()
    if exists is not None:
        return False
    conn.execute(
        _RAW.insert().values(
            flow=flow,
            kind=kind,
            amazon_id=amazon_id,
            content_hash=digest,
            content_type=content_type,
            body=body,
            fetched_at=now,
        )
    )
    return True


# Bytes per write of a streamed body: large enough to be cheap, small enough to be nothing.
_BLOB_CHUNK = 1 << 20


def store_raw_stream(
    conn: Connection,
    *,
    flow: str,
    kind: str,
    amazon_id: str,
    body: IO[bytes],
    size: int,
    digest: str,
    content_type: str = "application/json",
    now: dt.datetime,
) -> bool:
    """:func:`store_raw` of a body read from ``body`` (``size`` bytes whose SHA-256 is
    ``digest``), for documents too large to hold: a year of settlements compresses to tens of
    megabytes.

    On SQLite the row is inserted with an empty blob of the right size that is then filled in
    chunks, so memory does not grow with the body; other databases get the body in one piece.
    ``body`` is read from its current position. True when the content was new.
    """
    exists = conn.execute(
        select(_RAW.c.id).where(
            _RAW.c.flow == flow,
            _RAW.c.kind == kind,
            _RAW.c.amazon_id == amazon_id,
            _RAW.c.content_hash == digest,
        )
    ).first()
    if exists is not None:
        return False
    streamed = conn.dialect.name == "sqlite" and size > 0
    whole = b"" if streamed else body.read(size)
    if len(whole) != size and not streamed:
        raise InputError(
            f"the raw copy ended {size - len(whole)} bytes short of its {size}",
            source=f"{kind} {amazon_id}",
            field="body",
        )
    inserted = conn.execute(
        _RAW.insert().values(
            flow=flow,
            kind=kind,
            amazon_id=amazon_id,
            content_hash=digest,
            content_type=content_type,
            body=func.zeroblob(size) if streamed else whole,
            fetched_at=now,
        )
    )
    if streamed:
        primary_key = inserted.inserted_primary_key
        assert primary_key is not None  # an INSERT of one row always has one
        (row_id,) = primary_key
        # The driver's own connection, inside the transaction this connection has open.
        sqlite = conn.connection.driver_connection
        with sqlite.blobopen(_RAW.name, "body", row_id) as blob:  # type: ignore[union-attr]
            left = size
            while left:
                chunk = body.read(min(left, _BLOB_CHUNK))
                if not chunk:
                    raise InputError(
                        f"the raw copy ended {left} bytes short of its {size}",
                        source=f"{kind} {amazon_id}",
                        field="body",
                    )
                blob.write(chunk)
                left -= len(chunk)
    return True


def latest_records(conn: Connection, *, flow: str, kind: str) -> list[StoredRecord]:
    """The newest stored version of each Amazon id of ``kind``, oldest id first."""
    rows = conn.execute(
        select(_RAW)
        .where(_RAW.c.flow == flow, _RAW.c.kind == kind)
        .order_by(_RAW.c.amazon_id, _RAW.c.id)
    )
    newest: dict[str, StoredRecord] = {}
    for row in rows:
        newest[row.amazon_id] = _record(row)
    return list(newest.values())


def records_for(conn: Connection, *, amazon_id: str) -> list[StoredRecord]:
    """Every stored version of one Amazon id, across kinds and flows (for the audit trail)."""
    rows = conn.execute(select(_RAW).where(_RAW.c.amazon_id == amazon_id).order_by(_RAW.c.id))
    return [_record(row) for row in rows]


def get_watermark(conn: Connection, *, flow: str, stream: str) -> str | None:
    row = conn.execute(
        select(_WATERMARK.c.value).where(_WATERMARK.c.flow == flow, _WATERMARK.c.stream == stream)
    ).first()
    return None if row is None else str(row.value)


def set_watermark(
    conn: Connection, *, flow: str, stream: str, value: str, now: dt.datetime
) -> None:
    """Move a watermark; call it in the transaction that stored the records it covers."""
    updated = conn.execute(
        _WATERMARK.update()
        .where(_WATERMARK.c.flow == flow, _WATERMARK.c.stream == stream)
        .values(value=value, updated_at=now)
    ).rowcount
    if not updated:
        conn.execute(
            _WATERMARK.insert().values(flow=flow, stream=stream, value=value, updated_at=now)
        )
