"""Push: send the outbox to a target exactly once, whatever fails and wherever we are killed.

The loop, per flow and target:

1. Documents left ``sending`` by an earlier run have an unknown outcome. A target whose
   idempotency key is durable gets them re-sent with the same key; every other target is asked
   to :func:`~ml_connector.core.hookspecs.look_up` the document first. Found: done. Absent:
   send it. Unknowable: ``in_doubt`` and an alert, never a blind re-send.
2. Pending documents whose dependencies are done go out in the target's largest batches. Each
   batch is marked ``sending`` and committed *before* the call, and its outcomes are committed
   right after, so a kill between the two is exactly case 1 on the next run.
3. Transient failures (``retry``) go round again a bounded number of times; refusals
   (``failed``) wait for ``ml-connector replay`` with the target's own text and an alert.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine

from ml_connector.core import outbox
from ml_connector.core.alerts import raise_alert, resolve_alerts
from ml_connector.core.emulation.clock import Clock, utcnow
from ml_connector.core.errors import AuthError
from ml_connector.core.plugins import Target
from ml_connector.core.targets import Dedup, Document, Lookup, Outcome, PushOutcome
from ml_connector.ledger.errors import ConnectorError

log = logging.getLogger("ml_connector.push")

MAX_ROUNDS = 6


@dataclass
class PushReport:
    created: int = 0
    exists: int = 0
    failed: int = 0
    in_doubt: int = 0
    retried: int = 0
    blocked: int = 0  # waiting on a dependency that is not done
    looked_up: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def posted(self) -> int:
        return self.created + self.exists


def _chunks(
    items: Sequence[outbox.OutboxEntry], size: int
) -> Iterable[Sequence[outbox.OutboxEntry]]:
    for start in range(0, len(items), max(size, 1)):
        yield items[start : start + size]


class Pusher:
    """Pushes one flow's outbox to one target through one session."""

    def __init__(
        self,
        engine: Engine,
        *,
        flow: str,
        target: Target,
        session: object,
        clock: Clock,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.engine = engine
        self.flow = flow
        self.target = target
        self.session = session
        self.clock = clock
        self.progress = progress or (lambda _n: None)
        self.report = PushReport()

    def _now(self) -> dt.datetime:
        return utcnow(self.clock)

    def run(self) -> PushReport:
        with self.engine.begin() as conn:
            unknown = [
                e
                for e in outbox.unfinished(conn, flow=self.flow, target=self.target.name)
                if e.status == outbox.SENDING
            ]
        for entry in unknown:
            self._resolve_unknown(
                entry.document, previous_message="outcome unknown after an interrupted run"
            )
        for _round in range(MAX_ROUNDS):
            ready, blocked = self._ready_documents()
            self.report.blocked = blocked
            if not ready:
                break
            for batch in _chunks(ready, self.target.info.batch_size):
                self._push_batch(batch)
        return self.report

    def _ready_documents(self) -> tuple[list[outbox.OutboxEntry], int]:
        with self.engine.begin() as conn:
            pending = [
                e
                for e in outbox.unfinished(conn, flow=self.flow, target=self.target.name)
                if e.status == outbox.PENDING
            ]
            needed = {dep for e in pending for dep in e.document.depends_on}
            dep_status = outbox.statuses_of(conn, needed)
        ready = [
            e
            for e in pending
            if all(dep_status.get(dep) == outbox.DONE for dep in e.document.depends_on)
        ]
        return ready, len(pending) - len(ready)

    def _push_batch(self, batch: Sequence[outbox.OutboxEntry]) -> None:
        documents = [entry.document for entry in batch]
        now = self._now()
        with self.engine.begin() as conn:
            for document in documents:
                outbox.set_status(conn, document.key, outbox.SENDING, now=now, count_attempt=True)
                outbox.record_attempt(conn, document.key, action="push", outcome="sending", now=now)
        try:
            outcomes = list(self.target.push(session=self.session, documents=documents))
        except AuthError:
            raise  # the whole session is unusable; the documents stay "sending" and are looked up next run
        except (ConnectorError, httpx.HTTPError) as exc:
            log.warning(
                "push to %s failed for a batch of %d: %s", self.target.name, len(documents), exc
            )
            outcomes = [PushOutcome(d.key, Outcome.UNKNOWN, message=str(exc)) for d in documents]
        by_key = {o.key: o for o in outcomes}
        for document in documents:
            outcome = by_key.get(document.key) or PushOutcome(
                document.key,
                Outcome.UNKNOWN,
                message="the target plugin reported nothing for this document",
            )
            self._apply(document, outcome)
        self.progress(len(documents))

    def _apply(self, document: Document, outcome: PushOutcome) -> None:
        now = self._now()
        message = "; ".join([outcome.message, *outcome.warnings]).strip("; ")
        with self.engine.begin() as conn:
            outbox.record_attempt(
                conn,
                document.key,
                action="push",
                outcome=outcome.outcome.value,
                target_id=outcome.target_id,
                message=message,
                now=now,
            )
            if outcome.outcome in (Outcome.CREATED, Outcome.EXISTS):
                outbox.set_status(
                    conn, document.key, outbox.DONE, target_id=outcome.target_id, error="", now=now
                )
                resolve_alerts(conn, flow=self.flow, kind="push_failed", key=document.key, now=now)
                if outcome.outcome is Outcome.CREATED:
                    self.report.created += 1
                else:
                    self.report.exists += 1
            elif outcome.outcome is Outcome.FAILED:
                outbox.set_status(conn, document.key, outbox.FAILED, error=message, now=now)
                raise_alert(
                    conn,
                    flow=self.flow,
                    kind="push_failed",
                    key=document.key,
                    message=f"{self.target.info.title} refused {document.kind} {document.description or document.key}: {message}. "
                    f"Fix the cause, then run: ml-connector replay --flow {self.flow} --id {document.key}",
                    details={"target": self.target.name, "source_ref": document.source_ref},
                    now=now,
                )
                self.report.failed += 1
                self.report.failures.append((document.key, message))
            elif outcome.outcome is Outcome.RETRY:
                outbox.set_status(conn, document.key, outbox.PENDING, error=message, now=now)
                self.report.retried += 1
        if outcome.outcome is Outcome.UNKNOWN:
            self._resolve_unknown(document, previous_message=message)

    def _resolve_unknown(self, document: Document, *, previous_message: str) -> None:
        """Decide what to do with a document whose last send may or may not have been applied."""
        now = self._now()
        dedup = self.target.info.dedup.get(document.kind, Dedup.NONE)
        if dedup is Dedup.IDEMPOTENCY_KEY:
            # The target replays the first answer for a repeated key, however late: re-sending is safe.
            with self.engine.begin() as conn:
                outbox.set_status(
                    conn, document.key, outbox.PENDING, error=previous_message, now=now
                )
                outbox.record_attempt(
                    conn,
                    document.key,
                    action="resend",
                    outcome="pending",
                    message="durable idempotency key",
                    now=now,
                )
            return
        result = self.target.look_up(session=self.session, document=document)
        self.report.looked_up += 1
        with self.engine.begin() as conn:
            outbox.record_attempt(
                conn,
                document.key,
                action="look_up",
                outcome=result.status.value,
                target_id=result.target_id,
                message=result.message,
                now=now,
            )
            if result.status is Lookup.FOUND:
                outbox.set_status(
                    conn, document.key, outbox.DONE, target_id=result.target_id, error="", now=now
                )
                self.report.exists += 1
            elif result.status is Lookup.ABSENT:
                outbox.set_status(
                    conn, document.key, outbox.PENDING, error=previous_message, now=now
                )
            else:
                outbox.set_status(
                    conn, document.key, outbox.IN_DOUBT, error=previous_message, now=now
                )
                raise_alert(
                    conn,
                    flow=self.flow,
                    kind="in_doubt",
                    key=document.key,
                    message=(
                        f"{self.target.info.title} may or may not have recorded {document.kind} "
                        f"{document.description or document.key}: the answer to our request was lost and "
                        f"{self.target.info.title} offers no way to check. {result.message} "
                        f"Look for it in {self.target.info.title}, then run "
                        f"'ml-connector replay --flow {self.flow} --id {document.key} --confirm TARGET_ID' if it is there, "
                        f"or '--resend' if it is not."
                    ),
                    details={
                        "target": self.target.name,
                        "source_ref": document.source_ref,
                        "idempotency_key": document.idempotency_key,
                    },
                    now=now,
                )
                self.report.in_doubt += 1


def push_flow(
    engine: Engine,
    *,
    flow: str,
    target: Target,
    session: object,
    clock: Clock,
    progress: Callable[[int], None] | None = None,
) -> PushReport:
    return Pusher(
        engine, flow=flow, target=target, session=session, clock=clock, progress=progress
    ).run()
