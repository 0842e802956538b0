"""Alerts: what a person must look at, stored once per (flow, kind, key) until resolved.

Raising the same alert again (the next run meets the same unmapped line) updates its message
instead of piling up copies; resolving it records when. ``ml-connector alerts`` lists them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from ml_connector.core import jsoncodec
from ml_connector.core.schema import Alert

_ALERT = Alert.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AlertView:
    id: int
    flow: str
    kind: str
    key: str
    message: str
    details: dict[str, Any]
    created_at: dt.datetime
    resolved_at: dt.datetime | None


def raise_alert(
    conn: Connection,
    *,
    flow: str,
    kind: str,
    key: str,
    message: str,
    details: dict[str, Any] | None = None,
    now: dt.datetime,
) -> None:
    """Record an alert, or refresh the open one with the same (flow, kind, key)."""
    payload = jsoncodec.dumps(jsoncodec.decimal_strings(details or {}), sort_keys=True)
    existing = conn.execute(
        select(_ALERT.c.id).where(_ALERT.c.flow == flow, _ALERT.c.kind == kind, _ALERT.c.key == key)
    ).first()
    if existing is None:
        conn.execute(
            _ALERT.insert().values(
                flow=flow,
                kind=kind,
                key=key,
                message=message,
                details=payload,
                created_at=now,
                resolved_at=None,
            )
        )
    else:
        conn.execute(
            update(_ALERT)
            .where(_ALERT.c.id == existing.id)
            .values(message=message, details=payload, resolved_at=None)
        )


def resolve_alerts(
    conn: Connection, *, flow: str, kind: str, key: str | None = None, now: dt.datetime
) -> int:
    """Mark open alerts of ``kind`` (and ``key``) resolved; returns how many."""
    stmt = update(_ALERT).where(
        _ALERT.c.flow == flow, _ALERT.c.kind == kind, _ALERT.c.resolved_at.is_(None)
    )
    if key is not None:
        stmt = stmt.where(_ALERT.c.key == key)
    return conn.execute(stmt.values(resolved_at=now)).rowcount or 0


def list_alerts(
    conn: Connection, *, flow: str | None = None, include_resolved: bool = False
) -> list[AlertView]:
    stmt = select(_ALERT).order_by(_ALERT.c.created_at, _ALERT.c.id)
    if flow is not None:
        stmt = stmt.where(_ALERT.c.flow == flow)
    if not include_resolved:
        stmt = stmt.where(_ALERT.c.resolved_at.is_(None))
    return [
        AlertView(
            id=row.id,
            flow=row.flow,
            kind=row.kind,
            key=row.key,
            message=row.message,
            details=jsoncodec.loads(row.details),
            created_at=row.created_at,
            resolved_at=row.resolved_at,
        )
        for row in conn.execute(stmt)
    ]
