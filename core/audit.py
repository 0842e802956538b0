"""The audit trail: from an Amazon id to every target object made from it, and back.

Nothing here is stored twice: the trail is read from the raw store (what Amazon sent, with its
hash), the ledger (entries and postings), the outbox (documents) and the push attempts (every
call and its outcome). None of those is ever updated in place except the outbox's current
status, and every status change is itself an attempt row, so the trail is complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from ml_connector.core import outbox, rawstore
from ml_connector.core.database import Database
from ml_connector.ledger.entries import JournalEntry


@dataclass
class Trail:
    amazon_id: str
    raw: list[rawstore.StoredRecord] = field(default_factory=list)
    entries: list[JournalEntry] = field(default_factory=list)
    documents: list[outbox.OutboxEntry] = field(default_factory=list)
    attempts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "amazon_id": self.amazon_id,
            "raw": [
                {
                    "flow": r.flow,
                    "kind": r.kind,
                    "content_hash": r.content_hash,
                    "bytes": len(r.body),
                    "fetched_at": r.fetched_at.isoformat(),
                }
                for r in self.raw
            ],
            "entries": [e.to_dict() for e in self.entries],
            "documents": [
                {
                    "key": d.document.key,
                    "target": d.target,
                    "kind": d.document.kind,
                    "status": d.status,
                    "target_id": d.target_id,
                    "last_error": d.last_error,
                    "attempts": [
                        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in a.items()}
                        for a in self.attempts.get(d.document.key, [])
                    ],
                }
                for d in self.documents
            ],
        }


def trail_for(database: Database, amazon_id: str) -> Trail:
    trail = Trail(amazon_id)
    ledger = database.ledger
    entries = {e.id: e for e in ledger.entries_with_meta("settlement_id", amazon_id)}
    entries.update({e.id: e for e in ledger.entries_with_meta("order_id", amazon_id)})
    trail.entries = sorted(entries.values(), key=lambda e: (e.date, e.id))
    with database.engine.begin() as conn:
        trail.raw = rawstore.records_for(conn, amazon_id=amazon_id)
        entry_ids = set(entries)
        docs = [
            d
            for source in {e.source_ref for e in trail.entries}
            for d in outbox.entries(conn, source_ref=source)
            if entry_ids & set(d.document.entry_ids)
        ]
        trail.documents = sorted({d.document.key: d for d in docs}.values(), key=lambda d: d.seq)
        trail.attempts = {
            d.document.key: outbox.attempts_for(conn, d.document.key) for d in trail.documents
        }
    return trail


def print_trail(trail: Trail, console: Console) -> None:
    console.rule(f"Audit trail of {trail.amazon_id}")
    if not (trail.raw or trail.entries or trail.documents):
        console.print(f"Nothing is known about {trail.amazon_id}.")
        return
    raw = Table(title="What Amazon sent (raw store)")
    for column in ("flow", "kind", "sha-256", "bytes", "fetched"):
        raw.add_column(column)
    for record in trail.raw:
        raw.add_row(
            record.flow,
            record.kind,
            record.content_hash[:16],
            str(len(record.body)),
            record.fetched_at.isoformat(),
        )
    console.print(raw)
    books = Table(title="Entries in the ledger")
    for column in ("entry", "date", "description", "account", "amount", "currency"):
        books.add_column(column)
    for entry in trail.entries:
        for index, posting in enumerate(entry.postings):
            books.add_row(
                entry.id if index == 0 else "",
                entry.date.isoformat() if index == 0 else "",
                entry.description if index == 0 else "",
                posting.account,
                str(posting.amount),
                posting.currency,
            )
    console.print(books)
    docs = Table(title="Documents and every push attempt")
    for column in ("document", "target", "status", "target id", "attempts"):
        docs.add_column(column, overflow="fold")
    for document in trail.documents:
        attempts = "\n".join(
            f"{a['at']:%Y-%m-%d %H:%M:%S} {a['action']}: {a['outcome']}{' ' + str(a['message']) if a['message'] else ''}"
            for a in trail.attempts.get(document.document.key, [])
        )
        docs.add_row(
            document.document.key,
            document.target,
            document.status,
            document.target_id or "",
            attempts,
        )
    console.print(docs)
