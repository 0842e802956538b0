"""Rollback: take a posted settlement back out of the target and the ledger, resumably.

:func:`rollback_settlement` works in two phases.

1. **Target.** Every document of the settlement that the flow posted (outbox status ``done``)
   is undone through the target's ``undo`` hook (void, delete or credit note, as that target
   expects), in the reverse of the order it was pushed: a payment goes before the invoice it
   pays. Each document is its own unit: a ``push_attempt`` row (action ``undo``, outcome
   ``sending``) is committed *before* the call, and the answer (attempt row plus outbox status
   ``undone``) is committed right after. Documents never posted (``pending``, ``failed``) are
   cancelled (``undone``, outcome ``cancelled``) first, so no later push sends them.
2. **Ledger.** Once nothing of the settlement is left in any flow's target, each live entry of
   the settlement gets its reversal (:func:`ml_connector.ledger.entries.reverse`, dated like
   the original, linked by ``reverses``), written in one transaction with the settlement's
   status set to ``rolled_back``.

A rollback killed anywhere is resumed by running it again: undone documents are skipped, a
document whose undo was interrupted is undone again (the hook contract makes a second undo
answer ``exists``), and the reversals have deterministic ids, so writing them twice is a no-op.
Nothing is ever undone twice in the target.

The settlement is then booked again as a new revision (:mod:`ml_connector.core.revisions`,
:func:`rebook_settlement`), on new entry ids, so its documents get new outbox keys and the next
sync posts them once. ``docs/rollback.md`` is the user's guide.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Connection

from ml_connector.core import outbox, rawstore
from ml_connector.core.alerts import raise_alert, resolve_alerts
from ml_connector.core.booking import BOOKED, BookingResult, book_settlement_document
from ml_connector.core.booking import settlement_status as read_settlement_status
from ml_connector.core.database import Database
from ml_connector.core.emulation.clock import Clock, utcnow
from ml_connector.core.errors import ConfigError
from ml_connector.core.plugins import Target
from ml_connector.core.revisions import live_entries
from ml_connector.core.schema import SettlementStatus
from ml_connector.core.targets import Outcome, PushOutcome
from ml_connector.ledger.entries import JournalEntry, reverse
from ml_connector.ledger.errors import ConnectorError
from ml_connector.ledger.rules import RuleTable

_STATUS = SettlementStatus.__table__  # type: ignore[attr-defined]

ROLLED_BACK = "rolled_back"
UNDO = "undo"
CANCELLED = "cancelled"
# Outcomes of the attempt that made a document ``done``: its place in the push order.
_POSTED_OUTCOMES = frozenset({"created", "exists", "found"})
# Alerts about a document that a rollback makes moot.
_DOCUMENT_ALERTS = ("push_failed", "changed_after_posting", "in_doubt")


class RollbackError(ConnectorError):
    """A rollback stopped: the target refused an undo, or did not answer. Run it again.

    ``report`` says what was done before it stopped; every step it lists is committed.
    """

    def __init__(self, message: str, report: RollbackReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class UndoStep:
    """One document taken out of the target (or cancelled before it ever got there)."""

    key: str
    kind: str
    target_id: str | None
    outcome: str  # created (undone now) | exists (was already undone) | cancelled
    description: str = ""


@dataclass
class RollbackReport:
    """What one run of :func:`rollback_settlement` did.

    ``status`` is ``rolled_back`` when the settlement is out of the target and the ledger, or
    ``waiting`` when this flow's documents are undone but another flow still has documents of
    the same (shared) ledger entries in its target: roll it back there to finish.
    """

    flow: str
    target: str
    settlement_id: str
    status: str = ""
    undone: list[UndoStep] = field(default_factory=list)
    cancelled: list[UndoStep] = field(default_factory=list)
    already_undone: int = 0
    reversals_written: int = 0
    entries_reversed: int = 0
    waiting_for: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.status == ROLLED_BACK

    def to_dict(self) -> dict[str, Any]:
        def step(s: UndoStep) -> dict[str, Any]:
            return {
                "key": s.key,
                "kind": s.kind,
                "target_id": s.target_id,
                "outcome": s.outcome,
                "description": s.description,
            }

        return {
            "flow": self.flow,
            "target": self.target,
            "settlement_id": self.settlement_id,
            "status": self.status,
            "undone": [step(s) for s in self.undone],
            "cancelled": [step(s) for s in self.cancelled],
            "already_undone": self.already_undone,
            "reversals_written": self.reversals_written,
            "entries_reversed": self.entries_reversed,
            "waiting_for": list(self.waiting_for),
        }


def _settlement_documents(
    conn: Connection, entries: Sequence[JournalEntry]
) -> list[outbox.OutboxEntry]:
    """Every flow's outbox documents carrying any of ``entries``, in render order."""
    ids = {entry.id for entry in entries}
    found: dict[str, outbox.OutboxEntry] = {}
    for source_ref in sorted({entry.source_ref for entry in entries}):
        for row in outbox.entries(conn, source_ref=source_ref):
            if ids & set(row.document.entry_ids):
                found[row.document.key] = row
    return sorted(found.values(), key=lambda row: row.seq)


def _push_position(conn: Connection, key: str) -> int:
    """The id of the attempt that made ``key`` done: attempt ids grow in the order of calls."""
    position = 0
    for attempt in outbox.attempts_for(conn, key):
        if attempt["action"] != UNDO and attempt["outcome"] in _POSTED_OUTCOMES:
            position = int(attempt["id"])
    return position


def undo_order(
    documents: Sequence[outbox.OutboxEntry], positions: dict[str, int]
) -> list[outbox.OutboxEntry]:
    """``documents`` in reverse push order, every dependent before what it depends on.

    Push order already puts a dependency first (a payment is sent only once its invoice is
    done), so reversing it suffices; the dependency check keeps that true whatever the
    positions say (a document confirmed by hand, say).
    """
    rank = {
        row.document.key: index
        for index, row in enumerate(
            sorted(
                documents,
                key=lambda row: (positions.get(row.document.key, 0), row.seq),
                reverse=True,
            )
        )
    }
    by_key = {row.document.key: row for row in documents}
    blocking: dict[str, int] = dict.fromkeys(by_key, 0)  # dependents not yet undone
    for row in documents:
        for dep in row.document.depends_on:
            if dep in blocking:
                blocking[dep] += 1
    ready = [(rank[key], key) for key, count in blocking.items() if count == 0]
    heapq.heapify(ready)
    ordered: list[outbox.OutboxEntry] = []
    while ready:
        _, key = heapq.heappop(ready)
        row = by_key[key]
        ordered.append(row)
        for dep in row.document.depends_on:
            if dep in blocking:
                blocking[dep] -= 1
                if blocking[dep] == 0:
                    heapq.heappush(ready, (rank[dep], dep))
    if len(ordered) != len(documents):
        cycle = sorted(set(by_key) - {row.document.key for row in ordered})
        raise ConfigError(f"documents depend on each other in a cycle: {', '.join(cycle)}")
    return ordered


class _Rollback:
    def __init__(
        self,
        database: Database,
        *,
        flow: str,
        plugin: Target,
        settlement_id: str,
        session: object,
        clock: Clock,
    ) -> None:
        self.database = database
        self.engine = database.engine
        self.flow = flow
        self.plugin = plugin
        self.settlement_id = settlement_id
        self.session = session
        self.clock = clock
        self.report = RollbackReport(flow, plugin.name, settlement_id)

    def _now(self) -> dt.datetime:
        return utcnow(self.clock)

    def _mine(self, row: outbox.OutboxEntry) -> bool:
        return row.flow == self.flow and row.target == self.plugin.name

    def run(self) -> RollbackReport:
        with self.engine.begin() as conn:
            status = read_settlement_status(conn, flow=self.flow, settlement_id=self.settlement_id)
        if status is None:
            raise ConfigError(
                f"flow {self.flow!r} has no settlement {self.settlement_id!r}: nothing to roll back"
            )
        if status.status == ROLLED_BACK:
            self.report.status = ROLLED_BACK
            return self.report
        if status.status != BOOKED:
            raise ConfigError(
                f"settlement {self.settlement_id} of flow {self.flow!r} is {status.status!r}, "
                f"not booked: it was never posted, so there is nothing to roll back "
                f"({status.reason or 'no reason recorded'})"
            )
        live = live_entries(
            self.database.ledger.entries_with_meta("settlement_id", self.settlement_id)
        )
        to_undo = self._prepare(live)
        for row in to_undo:
            self._undo(row)
        self._finish(live)
        return self.report

    def _prepare(self, live: Sequence[JournalEntry]) -> list[outbox.OutboxEntry]:
        """Refuse on documents in an unknown state; cancel the never-posted ones; plan the undo."""
        now = self._now()
        with self.engine.begin() as conn:
            documents = [row for row in _settlement_documents(conn, live) if self._mine(row)]
            for row in documents:
                key = row.document.key
                if row.status == outbox.SENDING:
                    raise ConfigError(
                        f"document {key} of settlement {self.settlement_id} is being sent, or its "
                        f"last send was interrupted, so whether it is in {self.plugin.info.title} "
                        f"is not known yet: run 'ml-connector sync --flow {self.flow}' to settle "
                        "it, then roll back"
                    )
                if row.status == outbox.IN_DOUBT:
                    raise ConfigError(
                        f"document {key} of settlement {self.settlement_id} is in doubt: look for "
                        f"it in {self.plugin.info.title} and settle it first with 'ml-connector "
                        f"replay --flow {self.flow} --id {key} --confirm TARGET_ID' (or --resend), "
                        "then roll back"
                    )
            for row in documents:
                if row.status in (outbox.PENDING, outbox.FAILED):
                    self._cancel(conn, row, now)
            done = [row for row in documents if row.status == outbox.DONE]
            self.report.already_undone = sum(1 for r in documents if r.status == outbox.UNDONE)
            positions = {row.document.key: _push_position(conn, row.document.key) for row in done}
        return undo_order(done, positions)

    def _cancel(self, conn: Connection, row: outbox.OutboxEntry, now: dt.datetime) -> None:
        key = row.document.key
        outbox.set_status(conn, key, outbox.UNDONE, now=now)
        outbox.record_attempt(
            conn,
            key,
            action=UNDO,
            outcome=CANCELLED,
            message=f"never posted ({row.status}); cancelled by the rollback of settlement "
            f"{self.settlement_id}",
            now=now,
        )
        self._resolve_document_alerts(conn, key, now)
        self.report.cancelled.append(
            UndoStep(key, row.document.kind, None, CANCELLED, row.document.description)
        )

    def _resolve_document_alerts(self, conn: Connection, key: str, now: dt.datetime) -> None:
        for kind in _DOCUMENT_ALERTS:
            resolve_alerts(conn, flow=self.flow, kind=kind, key=key, now=now)

    def _undo(self, row: outbox.OutboxEntry) -> None:
        document, key = row.document, row.document.key
        if not row.target_id:
            raise RollbackError(
                f"document {key} is posted but no {self.plugin.info.title} id was recorded for "
                f"it, so it cannot be undone automatically: undo it in "
                f"{self.plugin.info.title} by hand",
                self.report,
            )
        with self.engine.begin() as conn:
            outbox.record_attempt(
                conn,
                key,
                action=UNDO,
                outcome="sending",
                target_id=row.target_id,
                message=f"rollback of settlement {self.settlement_id}",
                now=self._now(),
            )
        try:
            result: PushOutcome = self.plugin.undo(
                session=self.session, document=document, target_id=row.target_id
            )
        except (ConnectorError, httpx.HTTPError) as exc:
            # Whether the target applied it is not known; the next run asks the hook again.
            result = PushOutcome(key, Outcome.UNKNOWN, target_id=row.target_id, message=str(exc))
        now = self._now()
        message = "; ".join([result.message, *result.warnings]).strip("; ")
        with self.engine.begin() as conn:
            outbox.record_attempt(
                conn,
                key,
                action=UNDO,
                outcome=result.outcome.value,
                target_id=result.target_id or row.target_id,
                message=message,
                now=now,
            )
            if result.outcome in (Outcome.CREATED, Outcome.EXISTS):
                outbox.set_status(conn, key, outbox.UNDONE, error="", now=now)
                self._resolve_document_alerts(conn, key, now)
                resolve_alerts(
                    conn, flow=self.flow, kind="rollback_failed", key=self.settlement_id, now=now
                )
            else:
                outbox.set_status(conn, key, outbox.DONE, error=message, now=now)
                raise_alert(
                    conn,
                    flow=self.flow,
                    kind="rollback_failed",
                    key=self.settlement_id,
                    message=f"Rolling back settlement {self.settlement_id} stopped at "
                    f"{document.kind} {document.description or key} ({self.plugin.info.title} id "
                    f"{row.target_id}): {message or result.outcome.value}. Fix the cause, then run "
                    f"'ml-connector rollback {self.settlement_id} --flow {self.flow}' again; it "
                    "continues where it stopped",
                    details={"target": self.plugin.name, "document": key},
                    now=now,
                )
        if result.outcome not in (Outcome.CREATED, Outcome.EXISTS):
            verb = (
                "refused to undo" if result.outcome is Outcome.FAILED else "did not confirm undoing"
            )
            raise RollbackError(
                f"{self.plugin.info.title} {verb} {document.kind} {key} (id {row.target_id}): "
                f"{message or result.outcome.value}. Run the rollback again once the cause is "
                "fixed; it continues where it stopped",
                self.report,
            )
        self.report.undone.append(
            UndoStep(key, document.kind, row.target_id, result.outcome.value, document.description)
        )

    def _finish(self, live: Sequence[JournalEntry]) -> None:
        """Reverse the entries and mark the settlement rolled back, unless another flow still
        has documents of these (shared) entries in its target."""
        now = self._now()
        reason = f"rollback of settlement {self.settlement_id}"
        reversals = [reverse(entry, reason=reason) for entry in live]
        with self.engine.begin() as conn:
            others = [
                row
                for row in _settlement_documents(conn, live)
                if not self._mine(row) and row.status != outbox.UNDONE
            ]
            if others:
                self.report.status = "waiting"
                self.report.waiting_for = tuple(sorted({row.flow for row in others}))
                return
            written = self.database.ledger.write_in(conn, reversals).written
            conn.execute(
                _STATUS.update()
                .where(
                    _STATUS.c.settlement_id == self.settlement_id,
                    _STATUS.c.status == BOOKED,
                )
                .values(
                    status=ROLLED_BACK,
                    reason=f"rolled back from {self.plugin.info.title} on {now:%Y-%m-%d %H:%M} "
                    f"UTC by flow {self.flow}; book it again to re-post it",
                    updated_at=now,
                )
            )
        self.report.reversals_written = written
        self.report.entries_reversed = len(reversals)
        self.report.status = ROLLED_BACK


def rollback_settlement(
    database: Database,
    *,
    flow: str,
    target: str,
    settlement_id: str,
    session: object,
    plugin: Target,
    clock: Clock,
) -> RollbackReport:
    """Undo ``settlement_id`` of ``flow`` in ``target`` and reverse it in the ledger.

    ``plugin`` is the target (:class:`~ml_connector.core.plugins.Target`) named ``target``, and
    ``session`` what its ``connect`` hook returned. Safe to run again at any point: it resumes
    where an earlier run stopped and never undoes a document twice. Raises
    :class:`RollbackError` when the target refuses an undo or does not answer (what was done is
    committed and in the report), :class:`ConfigError` when the settlement is unknown, not
    booked, or has a document whose state must be settled first.
    """
    if plugin.name != target:
        raise ConfigError(
            f"target {target!r} was asked for, but the plugin given is {plugin.name!r}"
        )
    if not plugin.implements("undo"):
        raise ConfigError(
            f"target {target!r} cannot undo documents (its plugin has no 'undo' hook), so a "
            "settlement posted there cannot be rolled back automatically"
        )
    return _Rollback(
        database,
        flow=flow,
        plugin=plugin,
        settlement_id=settlement_id,
        session=session,
        clock=clock,
    ).run()


def rebook_settlement(
    database: Database,
    *,
    flow: str,
    settlement_id: str,
    rules: RuleTable,
    now: dt.datetime,
) -> BookingResult:
    """Book a rolled-back settlement again from its stored report, as a new revision.

    Uses the newest settlement report in the raw store and the settlement's posting mode (and
    month split) as it was booked. The new entries get new ids (:mod:`.revisions`), so the next
    sync renders and posts fresh documents.
    """
    with database.engine.begin() as conn:
        status = read_settlement_status(conn, flow=flow, settlement_id=settlement_id)
        records = [
            record
            for record in rawstore.latest_records(conn, flow=flow, kind="settlement_report")
            if record.amazon_id == settlement_id
        ]
    if status is None or status.status != ROLLED_BACK:
        raise ConfigError(
            f"settlement {settlement_id} of flow {flow!r} is "
            f"{'unknown' if status is None else repr(status.status)}, not rolled back: only a "
            "rolled-back settlement is booked again"
        )
    if not records:
        raise ConfigError(
            f"the raw store holds no settlement report {settlement_id} for flow {flow!r}; pull "
            "it from Amazon again to book it"
        )
    entries = database.ledger.entries_with_meta("settlement_id", settlement_id)
    split = any("month" in entry.meta for entry in entries)
    return book_settlement_document(
        database.ledger,
        flow=flow,
        document=records[-1].body,
        source=status.source or f"raw store settlement report {settlement_id}",
        rules=rules,
        mode=status.mode,
        split_by_month=split,
        now=now,
    )
