"""``ml-connector demo``: the whole product, end to end, on the embedded default.

A SQLite database, the Amazon emulator with a generated seller, the emulator of every installed
target, the default posting rules and each emulated organisation's mapping. The same code paths
as a real run: the SP-API client pulls and downloads the settlement reports, booking writes
the ledger, reconciliation proves each settlement, and the engine renders and pushes to every
target. Time is simulated (one :class:`FakeClock` shared by clients and emulators): every
published rate limit is honoured, yet waiting costs nothing, so the report can say how long
the same work would take against the real services.

Duplicates and missing documents are counted from each emulator's own state, never from our
outbox. With ``chaos`` the emulators inject throttling, server errors, timeouts, expired tokens
and responses lost after the write was applied, and the push is killed and resumed at random
points; the counts must still be zero.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from ml_connector.core import outbox
from ml_connector.core.amazon.client import SpApiClient
from ml_connector.core.amazon.emulator import AmazonEmulator
from ml_connector.core.amazon.lwa import LwaCredentials
from ml_connector.core.amazon.pull import SettlementPull, pull_settlements
from ml_connector.core.amazon.regions import region_of
from ml_connector.core.credentials import Credentials
from ml_connector.core.database import Database, open_database
from ml_connector.core.dryrun import DryRun, dry_run
from ml_connector.core.emulation import Chaos, FakeClock
from ml_connector.core.plugins import Target, get_target, make_manager, target_names
from ml_connector.core.reports import FlowReconciliation, reconcile_all
from ml_connector.core.secrets import Secret
from ml_connector.core.sync import sync_target
from ml_connector.core.transport import (
    CountingTransport,
    CrashingTransport,
    RecordingTransport,
    SimulatedCrash,
)
from ml_connector.ledger.rules import default_rules

FLOW = "demo"
# The demo's "now": the seller's generated history ends the day before.
START = dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)
MAX_RUNS = 12  # sync runs per target before the demo gives up (kills and resumes included)
KILLS_WITH_CHAOS = 3

Progress = Callable[[str, int, int | None], None]


def _no_progress(stage: str, done: int, total: int | None) -> None:
    """Progress sink when nobody watches."""


@dataclass(frozen=True)
class DemoOptions:
    orders: int = 1000
    months: int = 2
    seed: int = 1
    mode: str = "summary"
    targets: Sequence[str] = ()
    chaos: bool = False
    db_url: str | None = None
    record: Path | None = None  # write every request sent to a target under record/<target>/
    dry_run: Path | None = None  # post nothing: write the requests under dry_run/<target>/


@dataclass
class TargetRun:
    """How one target fared: counted from the emulator's state and the outbox."""

    name: str
    title: str
    documents: int = 0
    posted: int = 0
    failed: int = 0
    in_doubt: int = 0
    pending: int = 0
    duplicates: int = 0
    missing: int = 0
    unmapped: int = 0
    api_calls: int = 0
    kills: int = 0
    simulated_seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every document is in the target exactly once (or honestly held in doubt)."""
        return not (self.duplicates or self.missing or self.failed or self.pending or self.unmapped)


@dataclass
class DemoReport:
    options: DemoOptions
    database_url: str
    pull: SettlementPull
    reconciliation: FlowReconciliation
    targets: list[TargetRun]
    amazon_calls: int
    simulated_seconds: float
    dry_runs: list[DryRun] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reconciliation.ok and all(t.ok for t in self.targets)

    def to_json(self) -> dict[str, Any]:
        """The demo's outcome as data (money as decimal strings)."""
        settlements = []
        for report in self.reconciliation:
            row = report.reconciliation
            settlements.append(
                {
                    "settlement_id": report.settlement_id,
                    "status": report.status,
                    "currency": report.currency,
                    "total_amount": _text(report.deposit),
                    "lines_sum": _text(row.lines_sum if row else None),
                    "clearing_balance": _text(row.clearing_balance if row else None),
                    "balanced": report.reconciles,
                }
            )
        return {
            "ok": self.ok,
            "database": self.database_url,
            "simulated_seconds": round(self.simulated_seconds),
            "amazon": {
                "api_calls": self.amazon_calls,
                "settlement_reports": self.pull.listed,
                "booked": self.pull.booked,
            },
            "targets": {
                run.name: {
                    "documents": run.documents,
                    "documents_posted": run.posted,
                    "api_calls": run.api_calls,
                    "duplicates": run.duplicates,
                    "missing": run.missing,
                    "failed": run.failed,
                    "in_doubt": run.in_doubt,
                    "kills": run.kills,
                    "simulated_seconds": round(run.simulated_seconds),
                }
                for run in self.targets
            },
            "dry_run": {
                d.target: {"requests": d.requests, "directory": str(d.directory)}
                for d in self.dry_runs
            },
            "settlements": settlements,
        }


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _amazon_client(amazon: AmazonEmulator, clock: FakeClock, http: httpx.Client) -> SpApiClient:
    """The SP-API client a real flow would build, pointed at the emulator through ``http``."""
    credentials = amazon.credentials
    # The emulator answers every regional host; a real flow has one client per region.
    return SpApiClient(
        base_url=region_of(amazon.marketplace_ids[0]).production_url,
        credentials=LwaCredentials(
            credentials.client_id,
            Secret(credentials.client_secret),
            Secret(credentials.refresh_token),
        ),
        http=http,
        clock=clock,
        seed=amazon.seller.seed,
    )


def _push_to_target(
    database: Database,
    target: Target,
    options: DemoOptions,
    clock: FakeClock,
    progress: Progress,
) -> TargetRun:
    chaos = Chaos.default(seed=options.seed) if options.chaos else Chaos.off()
    emulated = target.emulator(seed=options.seed, clock=clock, chaos=chaos)
    run = TargetRun(target.name, target.info.title)
    credentials = Credentials(emulated.credentials)
    counting = CountingTransport(httpx.MockTransport(emulated.handle))
    sent: httpx.BaseTransport = counting
    if options.record is not None:
        sent = RecordingTransport(counting, options.record / target.name, credentials.secrets)
    rng = random.Random(options.seed)
    started = clock.now()
    stage = f"push to {target.info.title}"
    for attempt in range(MAX_RUNS):
        killing = options.chaos and attempt < KILLS_WITH_CHAOS
        transport = CrashingTransport(
            sent,
            crash_at=rng.randint(1, 12) if killing else None,
            after_apply=rng.random() < 0.5,
        )
        try:
            with httpx.Client(transport=transport, timeout=30) as http:
                synced = sync_target(
                    database.ledger,
                    flow=FLOW,
                    target=target,
                    mapping=emulated.mapping,
                    credentials=credentials,
                    http=http,
                    clock=clock,
                    mode=options.mode,
                    progress=lambda n: progress(stage, n, None),
                )
        except SimulatedCrash:
            run.kills += 1
            continue
        run.unmapped = len({(p.reference, p.value) for p in synced.render.problems})
        with database.engine.connect() as conn:
            counts = outbox.status_counts(conn, flow=FLOW, target=target.name)
        if not counts.get(outbox.PENDING) and not counts.get(outbox.SENDING):
            break
    with database.engine.connect() as conn:
        rows = outbox.entries(conn, flow=FLOW, target=target.name)
    documents = [row.document for row in rows]
    status = {row.document.key: row.status for row in rows}
    census = emulated.count_documents(documents)
    run.documents = len(documents)
    run.posted = sum(1 for s in status.values() if s == outbox.DONE)
    run.failed = sum(1 for s in status.values() if s == outbox.FAILED)
    run.in_doubt = sum(1 for s in status.values() if s == outbox.IN_DOUBT)
    run.pending = sum(1 for s in status.values() if s in (outbox.PENDING, outbox.SENDING))
    run.failures = [f"{r.document.key}: {r.last_error}" for r in rows if r.status == outbox.FAILED]
    run.duplicates = sum(max(census.get(d.key, 0) - 1, 0) for d in documents)
    # A document in doubt may honestly be absent (its write was lost before the target applied
    # it); every other document must be there.
    run.missing = sum(
        1 for d in documents if census.get(d.key, 0) == 0 and status[d.key] != outbox.IN_DOUBT
    )
    run.api_calls = counting.calls
    run.simulated_seconds = clock.now() - started
    return run


def run_demo(options: DemoOptions, progress: Progress = _no_progress) -> DemoReport:
    """Pull, book, reconcile and post a generated seller; returns what happened, counted."""
    manager = make_manager()
    targets = [get_target(manager, name) for name in (options.targets or target_names(manager))]
    clock = FakeClock(START)
    database = open_database(options.db_url or "sqlite://")
    amazon = AmazonEmulator(
        seed=options.seed,
        orders=options.orders,
        months=options.months,
        clock=clock,
        chaos=Chaos.default(seed=options.seed) if options.chaos else Chaos.off(),
    )
    counting = CountingTransport(httpx.MockTransport(amazon.handle))
    with httpx.Client(transport=counting, timeout=30) as http:
        pulled = pull_settlements(
            database,
            _amazon_client(amazon, clock, http),
            flow=FLOW,
            rules=default_rules(),
            mode=options.mode,
            clock=clock,
            progress=progress,
        )
    runs: list[TargetRun] = []
    dry_runs: list[DryRun] = []
    for target in targets:
        if options.dry_run is None:
            runs.append(_push_to_target(database, target, options, clock, progress))
            continue
        mapping = target.emulator(seed=options.seed, clock=clock, chaos=Chaos.off()).mapping
        dry_runs.append(
            dry_run(
                database,
                flow=FLOW,
                target=target,
                mapping=mapping,
                mode=options.mode,
                out=options.dry_run,
                clock=clock,
                seed=options.seed,
            )
        )
    return DemoReport(
        options=options,
        database_url=database.url,
        pull=pulled,
        reconciliation=reconcile_all(database, flow=FLOW),
        targets=runs,
        amazon_calls=counting.calls,
        simulated_seconds=clock.now() - START.timestamp(),
        dry_runs=dry_runs,
    )


def default_demo_database(directory: Path) -> str:
    """A fresh SQLite file for the demo's books, so the user can audit them afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "demo.sqlite"
    path.unlink(missing_ok=True)
    return f"sqlite:///{path}"
