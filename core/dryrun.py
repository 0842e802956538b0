"""Dry run: write every request a sync would send to a target, and send nothing to it.

The dry run is the real engine on a scratch copy of the flow: the flow's booked settlements
(their live entries) and what its outbox already holds as posted are copied into an in-memory
database; render and push then run exactly as ``sync`` runs them, against the target's own
emulator instead of the service, through a :class:`RecordingTransport`. So the files hold the
exact bodies, in send order, batching and look-ups included, that the next real sync would send,
and nothing is written to the flow's books, outbox or the target.

One difference is stated, not hidden: the emulator answers from its own demo organisation, so
where the flow's mapping names accounts that organisation lacks, its replies are refusals; the
requests are still written as the target would receive them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import httpx

from ml_connector.core import outbox
from ml_connector.core.booking import BOOKED, booked_settlements, set_settlement_status
from ml_connector.core.credentials import Credentials
from ml_connector.core.database import Database, open_database
from ml_connector.core.emulation import Chaos, Clock
from ml_connector.core.emulation.clock import utcnow
from ml_connector.core.plugins import Target
from ml_connector.core.revisions import live_entries
from ml_connector.core.sync import TargetSync, sync_target
from ml_connector.core.targets import TargetMapping
from ml_connector.core.transport import CountingTransport, RecordingTransport


@dataclass(frozen=True)
class DryRun:
    """What a dry run wrote: how many requests, for how many documents, where."""

    target: str
    directory: Path
    requests: int
    documents: int
    already_posted: int
    sync: TargetSync


def _scratch_copy(database: Database, *, flow: str, target: str, now: dt.datetime) -> Database:
    scratch = open_database("sqlite://")
    with database.engine.connect() as conn:
        settlements = [row for row in booked_settlements(conn, flow=flow) if row.status == BOOKED]
        posted = [
            row
            for row in outbox.entries(conn, flow=flow, target=target)
            if row.status in (outbox.DONE, outbox.UNDONE)
        ]
    for row in settlements:
        entries = live_entries(
            database.ledger.entries_with_meta("settlement_id", row.settlement_id)
        )
        with scratch.engine.begin() as conn:
            scratch.ledger.write_in(conn, entries)
            set_settlement_status(
                conn,
                flow=flow,
                settlement_id=row.settlement_id,
                status=BOOKED,
                source=row.source,
                mode=row.mode,
                now=now,
            )
    with scratch.engine.begin() as conn:
        outbox.enqueue(
            conn, flow=flow, target=target, documents=[p.document for p in posted], now=now
        )
        for row in posted:
            outbox.set_status(conn, row.document.key, row.status, target_id=row.target_id, now=now)
    return scratch


def dry_run(
    database: Database,
    *,
    flow: str,
    target: Target,
    mapping: TargetMapping,
    mode: str,
    out: Path,
    clock: Clock,
    seed: int = 0,
) -> DryRun:
    """Write the requests the next sync of ``flow`` would send to ``target`` under ``out/<target>/``."""
    now = utcnow(clock)
    scratch = _scratch_copy(database, flow=flow, target=target.name, now=now)
    with scratch.engine.connect() as conn:
        already = sum(outbox.status_counts(conn, flow=flow, target=target.name).values())
    emulated = target.emulator(seed=seed, clock=clock, chaos=Chaos.off())
    credentials = Credentials(emulated.credentials)
    directory = out / target.name
    counting = CountingTransport(httpx.MockTransport(emulated.handle))
    recording = RecordingTransport(counting, directory, secrets=credentials.secrets)
    with httpx.Client(transport=recording, timeout=30) as http:
        synced = sync_target(
            scratch.ledger,
            flow=flow,
            target=target,
            mapping=mapping,
            credentials=credentials,
            http=http,
            clock=clock,
            mode=mode,
        )
    scratch.engine.dispose()
    return DryRun(
        target=target.name,
        directory=directory,
        requests=counting.calls,
        documents=synced.render.documents - already,
        already_posted=already,
        sync=synced,
    )
