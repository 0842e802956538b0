"""Revisions of a settlement's booking: how a rolled-back settlement is booked again.

Entry ids are deterministic (:func:`ml_connector.ledger.entries.entry_id`): booking a settlement
twice yields the same ids, and the append-only ledger treats the second write as a no-op. That
is what makes re-runs harmless, and it is also why a settlement that was rolled back (each entry
reversed by :func:`~ml_connector.ledger.entries.reverse`) cannot simply be booked again: its
entries would land on the ids that are already stored, and reversed.

So each booking of a settlement is a *revision*. Revision 0 keeps the ids the posting layer
mints, so nothing changes for a settlement that is never rolled back. When every stored entry of
revision ``n`` has its reversal in the ledger, the next booking is revision ``n + 1``: each
entry's id becomes ``entry_id("revision", str(n + 1), base_id)`` and its metadata gains
``revision``. The new ids are as deterministic as the old ones (booking revision ``n + 1``
twice is still a no-op), and since a target plugin's document keys carry the entry id, the
documents rendered from a revision get fresh outbox keys and never meet the undone ones.

:func:`live_entries` is what rendering uses: the entries still standing, neither reversed nor
reversals, which after a rollback and a re-booking is exactly the newest revision.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy import Connection

from ml_connector.core.errors import ConfigError
from ml_connector.ledger.entries import JournalEntry, entry_id
from ml_connector.ledger.schema import ENTRY_TABLE

META_REVISION = "revision"
META_BASE_ENTRY = "base_entry"


def revision_of(entry: JournalEntry) -> int:
    """The booking revision ``entry`` belongs to (0 for a first booking)."""
    return int(entry.meta.get(META_REVISION, "0"))


def revised_id(base_id: str, revision: int) -> str:
    """The id of the entry minted as ``base_id`` when booked as ``revision``."""
    return base_id if revision == 0 else entry_id("revision", str(revision), base_id)


def reversal_id(entry_id_: str) -> str:
    """The id :func:`ml_connector.ledger.entries.reverse` gives the reversal of ``entry_id_``."""
    return entry_id("reversal", entry_id_)


def _stored(conn: Connection, ids: Iterable[str]) -> set[str]:
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    query = sa.select(ENTRY_TABLE.c.id).where(ENTRY_TABLE.c.id.in_(wanted))
    return {row[0] for row in conn.execute(query)}


def booking_revision(
    conn: Connection, entries: Sequence[JournalEntry], *, settlement_id: str
) -> int:
    """The revision a booking of ``entries`` (ids as the posting layer minted them) belongs to.

    The first revision none of whose entries is stored, or the first whose stored entries are
    not reversed (booking it again is then the ledger's usual no-op, or its conflict error).
    Raises :class:`ConfigError` when a revision is half reversed, which no rollback leaves.
    """
    base_ids = [entry.id for entry in entries]
    revision = 0
    while True:
        ids = [revised_id(base, revision) for base in base_ids]
        stored = _stored(conn, ids)
        if not stored:
            return revision
        reversals = _stored(conn, [reversal_id(i) for i in stored])
        reversed_ = {i for i in stored if reversal_id(i) in reversals}
        if not reversed_:
            return revision
        if reversed_ != stored:
            raise ConfigError(
                f"settlement {settlement_id}: revision {revision} of its booking is partly "
                f"reversed ({len(reversed_)} of {len(stored)} entries); finish its rollback "
                f"('ml-connector rollback {settlement_id} --flow ...') before booking it again"
            )
        revision += 1


def as_revision(entry: JournalEntry, revision: int) -> JournalEntry:
    """``entry`` re-identified as part of booking ``revision`` (itself when revision is 0)."""
    if revision == 0:
        return entry
    meta = {**entry.meta, META_REVISION: str(revision), META_BASE_ENTRY: entry.id}
    return dataclasses.replace(entry, id=revised_id(entry.id, revision), meta=meta)


def revise_booking(
    conn: Connection, entries: Sequence[JournalEntry], *, settlement_id: str
) -> list[JournalEntry]:
    """``entries`` of a settlement's booking, re-identified if the settlement was rolled back.

    Call it on the connection whose transaction writes them, just before the write.
    """
    revision = booking_revision(conn, entries, settlement_id=settlement_id)
    return [as_revision(entry, revision) for entry in entries]


def live_entries(entries: Iterable[JournalEntry]) -> list[JournalEntry]:
    """The entries still standing: not reversals, and not reversed by one of ``entries``.

    Pass every entry of a settlement (``ledger.entries_with_meta("settlement_id", sid)``): the
    reversals carry the settlement's metadata too, so they are among them.
    """
    listed = list(entries)
    reversed_ids = {entry.reverses for entry in listed if entry.reverses is not None}
    return [e for e in listed if e.reverses is None and e.id not in reversed_ids]
