"""The outbox: rendered documents stored before any call, and the state of each push.

A document's life: ``pending`` (rendered, not sent) -> ``sending`` (a call is under way; written
and committed *before* the call) -> ``done`` (target id recorded) or ``failed`` (the target's
text recorded; waits for ``replay``) or ``in_doubt`` (the call may have been applied and the
target offers no way to check; waits for the user to confirm or re-send). A process killed
while a document is ``sending`` leaves exactly the information the next run needs: that the
outcome is unknown, so it must be looked up, not blindly re-sent.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select, update

from ml_connector.core import jsoncodec
from ml_connector.core.alerts import resolve_alerts
from ml_connector.core.errors import ConfigError
from ml_connector.core.schema import OutboxDocument, PushAttempt
from ml_connector.core.targets import Document

_OUTBOX = OutboxDocument.__table__  # type: ignore[attr-defined]
_ATTEMPT = PushAttempt.__table__  # type: ignore[attr-defined]

PENDING, SENDING, DONE, FAILED, IN_DOUBT, UNDONE = (
    "pending",
    "sending",
    "done",
    "failed",
    "in_doubt",
    "undone",
)
UNFINISHED = (PENDING, SENDING)


@dataclass(frozen=True)
class OutboxEntry:
    document: Document
    flow: str
    target: str
    status: str
    target_id: str | None
    last_error: str
    attempts: int
    seq: int


@dataclass(frozen=True)
class EnqueueResult:
    added: int = 0
    unchanged: int = 0
    refreshed: int = 0  # not yet posted, re-rendered with new content (e.g. after a mapping fix)
    changed_after_posting: tuple[
        str, ...
    ] = ()  # posted, and the new render differs: needs rollback


def _payload_text(document: Document) -> str:
    return jsoncodec.dumps(document.payload, sort_keys=True)


def _totals_text(document: Document) -> str:
    return jsoncodec.dumps({cur: str(amount) for cur, amount in sorted(document.totals.items())})


def _document(r: Any) -> Document:
    return Document(
        key=r.key,
        kind=r.kind,
        source_ref=r.source_ref,
        entry_ids=tuple(jsoncodec.loads(r.entry_ids)),
        idempotency_key=r.idempotency_key,
        payload=jsoncodec.loads(r.payload),
        totals={k: Decimal(v) for k, v in jsoncodec.loads(r.totals).items()},
        depends_on=tuple(jsoncodec.loads(r.depends_on)),
        natural_key=r.natural_key,
        description=r.description,
    )


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        document=_document(row),
        flow=row.flow,
        target=row.target,
        status=row.status,
        target_id=row.target_id,
        last_error=row.last_error,
        attempts=row.attempts,
        seq=row.seq,
    )


def enqueue(
    conn: Connection, *, flow: str, target: str, documents: Sequence[Document], now: dt.datetime
) -> EnqueueResult:
    """Add rendered documents; a key already present is left alone unless it was never posted."""
    if not documents:
        return EnqueueResult()
    keys = [d.key for d in documents]
    existing = {
        row.key: row
        for row in conn.execute(
            select(_OUTBOX.c.key, _OUTBOX.c.payload, _OUTBOX.c.status).where(
                _OUTBOX.c.key.in_(keys)
            )
        )
    }
    next_seq = (conn.execute(select(func.max(_OUTBOX.c.seq))).scalar() or 0) + 1
    added = unchanged = refreshed = 0
    changed_after: list[str] = []
    for document in documents:
        payload = _payload_text(document)
        row = existing.get(document.key)
        if row is None:
            conn.execute(
                _OUTBOX.insert().values(
                    key=document.key,
                    flow=flow,
                    target=target,
                    kind=document.kind,
                    source_ref=document.source_ref,
                    entry_ids=jsoncodec.dumps(list(document.entry_ids)),
                    idempotency_key=document.idempotency_key,
                    natural_key=document.natural_key,
                    depends_on=jsoncodec.dumps(list(document.depends_on)),
                    payload=payload,
                    totals=_totals_text(document),
                    description=document.description,
                    seq=next_seq,
                    status=PENDING,
                    target_id=None,
                    last_error="",
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            next_seq += 1
            added += 1
        elif row.payload == payload:
            unchanged += 1
        elif row.status in (PENDING, FAILED):
            conn.execute(
                update(_OUTBOX)
                .where(_OUTBOX.c.key == document.key)
                .values(payload=payload, totals=_totals_text(document), updated_at=now)
            )
            refreshed += 1
        else:
            changed_after.append(document.key)
    return EnqueueResult(added, unchanged, refreshed, tuple(changed_after))


def unfinished(conn: Connection, *, flow: str, target: str) -> list[OutboxEntry]:
    """Documents still to push (pending, or sending with an unknown outcome), in render order."""
    rows = conn.execute(
        select(_OUTBOX)
        .where(_OUTBOX.c.flow == flow, _OUTBOX.c.target == target, _OUTBOX.c.status.in_(UNFINISHED))
        .order_by(_OUTBOX.c.seq)
    )
    return [_entry(row) for row in rows]


def entries(
    conn: Connection,
    *,
    flow: str | None = None,
    target: str | None = None,
    keys: Iterable[str] | None = None,
    source_ref: str | None = None,
    statuses: Iterable[str] | None = None,
) -> list[OutboxEntry]:
    stmt = select(_OUTBOX).order_by(_OUTBOX.c.seq)
    if flow is not None:
        stmt = stmt.where(_OUTBOX.c.flow == flow)
    if target is not None:
        stmt = stmt.where(_OUTBOX.c.target == target)
    if keys is not None:
        stmt = stmt.where(_OUTBOX.c.key.in_(list(keys)))
    if source_ref is not None:
        stmt = stmt.where(_OUTBOX.c.source_ref == source_ref)
    if statuses is not None:
        stmt = stmt.where(_OUTBOX.c.status.in_(list(statuses)))
    return [_entry(row) for row in conn.execute(stmt)]


def statuses_of(conn: Connection, keys: Iterable[str]) -> dict[str, str]:
    key_list = list(keys)
    if not key_list:
        return {}
    rows = conn.execute(select(_OUTBOX.c.key, _OUTBOX.c.status).where(_OUTBOX.c.key.in_(key_list)))
    return {row.key: row.status for row in rows}


def set_status(
    conn: Connection,
    key: str,
    status: str,
    *,
    now: dt.datetime,
    target_id: str | None = None,
    error: str | None = None,
    count_attempt: bool = False,
) -> None:
    values: dict[str, object] = {"status": status, "updated_at": now}
    if target_id is not None:
        values["target_id"] = target_id
    if error is not None:
        values["last_error"] = error
    if count_attempt:
        values["attempts"] = _OUTBOX.c.attempts + 1
    conn.execute(update(_OUTBOX).where(_OUTBOX.c.key == key).values(**values))


def record_attempt(
    conn: Connection,
    key: str,
    *,
    action: str,
    outcome: str,
    now: dt.datetime,
    target_id: str | None = None,
    message: str = "",
) -> None:
    """Append to the audit trail of ``key``; attempts are never updated or deleted."""
    conn.execute(
        _ATTEMPT.insert().values(
            document_key=key,
            at=now,
            action=action,
            outcome=outcome,
            target_id=target_id,
            message=message,
        )
    )


def attempts_for(conn: Connection, key: str) -> list[dict[str, Any]]:
    """Every push/undo attempt of ``key``, oldest first, each row as ``{column: value}``."""
    rows = conn.execute(
        select(_ATTEMPT).where(_ATTEMPT.c.document_key == key).order_by(_ATTEMPT.c.id)
    )
    return [dict(row._mapping) for row in rows]


def status_counts(
    conn: Connection, *, flow: str | None = None, target: str | None = None
) -> Counter[str]:
    stmt = select(_OUTBOX.c.status, func.count()).group_by(_OUTBOX.c.status)
    if flow is not None:
        stmt = stmt.where(_OUTBOX.c.flow == flow)
    if target is not None:
        stmt = stmt.where(_OUTBOX.c.target == target)
    return Counter({row[0]: int(row[1]) for row in conn.execute(stmt)})


def replay_failed(
    conn: Connection,
    *,
    flow: str | None = None,
    keys: Iterable[str] | None = None,
    now: dt.datetime,
) -> int:
    """Put failed documents back to pending (after the user fixed the cause); returns how many."""
    stmt = update(_OUTBOX).where(_OUTBOX.c.status == FAILED)
    if flow is not None:
        stmt = stmt.where(_OUTBOX.c.flow == flow)
    if keys is not None:
        stmt = stmt.where(_OUTBOX.c.key.in_(list(keys)))
    changed = conn.execute(stmt.values(status=PENDING, updated_at=now)).rowcount or 0
    return int(changed)


def settle_in_doubt(
    conn: Connection, key: str, *, target_id: str | None, resend: bool, now: dt.datetime
) -> int:
    """The user's verdict on a document held in doubt: it is there (with ``target_id``) or not.

    Raises when the document is not in doubt, so a typo cannot re-send a posted document.
    """
    row = conn.execute(select(_OUTBOX.c.status).where(_OUTBOX.c.key == key)).first()
    if row is None:
        raise ConfigError(f"no document {key!r} in the outbox")
    if row.status != IN_DOUBT:
        raise ConfigError(f"document {key!r} is {row.status}, not in doubt; nothing to settle")
    if resend:
        set_status(conn, key, PENDING, now=now)
        record_attempt(
            conn, key, action="resend", outcome="pending", message="user: not in target", now=now
        )
    else:
        set_status(conn, key, DONE, target_id=target_id, error="", now=now)
        record_attempt(
            conn,
            key,
            action="confirm",
            outcome="exists",
            target_id=target_id,
            message="user: found in target",
            now=now,
        )
    flow = conn.execute(select(_OUTBOX.c.flow).where(_OUTBOX.c.key == key)).scalar_one()
    resolve_alerts(conn, flow=flow, kind="in_doubt", key=key, now=now)
    return 1
