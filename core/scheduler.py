"""The embedded scheduler: each flow's jobs at their cadence, in one process.

A *job* is one kind of work for one flow: ``orders``, ``finances``, ``settlements`` (pulls from
Amazon) or ``sync`` (render and push to the target). What a kind does is a *runner*, a plain
callable ``runner(context) -> str | None`` (the text is a one-line summary); the scheduler only
decides when. :func:`run_job` runs one job and records it; it is the whole unit of work, so a
queue worker (procrastinate on PostgreSQL) calls the very same function with the same runners.

Due times come from the ``flow_job`` table and a :class:`~ml_connector.core.emulation.Clock`:
a job that never ran is due at once; after a success it is due ``cadence`` after it started;
after a failure it is retried sooner (5 minutes, doubling, never later than its cadence), and
after :data:`ALERT_AFTER_FAILURES` failures in a row an alert tells a person.

A flow never runs two jobs at once, in this process or any other sharing the database: a job
first takes the flow's *lease* (one transaction, write-locked on SQLite, row-locked on
PostgreSQL). A lease left by a process that died expires after ``lease_seconds``, or at once
when its owner was a process on this machine that no longer exists.

:meth:`Scheduler.run` loops until asked to stop; SIGTERM and SIGINT ask it to stop, and the job
in progress finishes first (each stage inside it commits its own units, so even a kill leaves
nothing half-written, but a clean stop does not even need the next run to resume).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from sqlalchemy import Connection, select, update

from ml_connector.core.alerts import raise_alert, resolve_alerts
from ml_connector.core.credentials import Credentials
from ml_connector.core.database import Database
from ml_connector.core.emulation.clock import Clock, utcnow
from ml_connector.core.errors import ConfigError
from ml_connector.core.flows import JOB_KINDS, Flow, find_flow, list_flows
from ml_connector.core.schema import FlowConfig, FlowJob
from ml_connector.core.vault import RedactingFilter, Vault, VaultError, redact
from ml_connector.ledger.db import SQLITE_BEGIN_IMMEDIATE
from ml_connector.ledger.errors import ConnectorError

log = logging.getLogger("ml_connector.scheduler")

OK = "ok"
FAILED = "failed"
BUSY = "busy"  # the flow's lease was held by another job; nothing ran
RETRY_FIRST_SECONDS = 300
ALERT_AFTER_FAILURES = 3
DEFAULT_LEASE_SECONDS = 6 * 3600
MAX_ERROR_CHARS = 2000

_FLOW = FlowConfig.__table__  # type: ignore[attr-defined]
_JOB = FlowJob.__table__  # type: ignore[attr-defined]


@dataclass
class JobContext:
    """What a runner gets: the database, the flow, the clock and the flow's credentials.

    :meth:`credentials` hands out vault-backed credentials whose ``save`` commits before it
    returns (rotating refresh tokens are safe); :meth:`should_stop` lets a long runner end early
    between units when the process was asked to stop.
    """

    database: Database
    flow: Flow
    kind: str
    clock: Clock
    vault: Vault | None
    stop: threading.Event = field(default_factory=threading.Event)
    _handed_out: list[Credentials] = field(default_factory=list, repr=False)

    def credentials(self, service: str) -> Credentials:
        """The flow's credentials for ``service`` (``amazon`` or the target's name)."""
        if service not in self.flow.services:
            raise ConfigError(
                f"flow {self.flow.name!r} holds credentials for {' and '.join(self.flow.services)}, "
                f"not {service!r}"
            )
        if self.vault is None:
            raise VaultError(
                "the scheduler was started without a vault; credentials are unavailable"
            )
        credentials = self.vault.credentials(
            self.database.engine, self.flow.scope(service), now=lambda: utcnow(self.clock)
        )
        self._handed_out.append(credentials)
        return credentials

    def should_stop(self) -> bool:
        return self.stop.is_set()

    def secrets(self) -> list[str]:
        """Every secret value this job could have seen, for scrubbing error text."""
        values = [s for c in self._handed_out for s in c.secrets()]
        if self.vault is not None:
            with self.database.engine.begin() as conn:
                for service in self.flow.services:
                    try:
                        loaded = self.vault.load(conn, self.flow.scope(service))
                    except VaultError:
                        continue
                    values.extend(secret.reveal() for secret in loaded.values())
        return values


JobRunner = Callable[[JobContext], "str | None"]


@dataclass(frozen=True)
class JobRun:
    """How one job ended: ``ok``, ``failed`` (``error`` says why) or ``busy`` (did not run)."""

    flow: str
    kind: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime
    summary: str = ""
    error: str = ""


def _process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_is_dead(owner: str | None) -> bool:
    """True when ``owner`` was a process on this machine that no longer exists."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextmanager
def _write_transaction(database: Database) -> Iterator[Connection]:
    """A transaction that holds the write lock from its first read (SQLite: BEGIN IMMEDIATE)."""
    with database.engine.connect() as conn:
        conn.execution_options(**{SQLITE_BEGIN_IMMEDIATE: True})
        with conn.begin():
            yield conn


def _job_rows(conn: Connection, flow: str) -> dict[str, object]:
    return {row.kind: row for row in conn.execute(select(_JOB).where(_JOB.c.flow == flow))}


def _take_lease(
    database: Database, flow: str, kind: str, *, owner: str, now: dt.datetime, lease_seconds: int
) -> bool:
    with _write_transaction(database) as conn:
        # PostgreSQL: lock the flow's row so two workers cannot both see "no lease" at once.
        exists = conn.execute(
            select(_FLOW.c.name).where(_FLOW.c.name == flow).with_for_update()
        ).first()
        if exists is None:
            return False
        for row in conn.execute(select(_JOB).where(_JOB.c.flow == flow)):
            held = row.lease_until is not None and row.lease_until > now
            if held and row.lease_owner != owner and not _owner_is_dead(row.lease_owner):
                return False
        until = now + dt.timedelta(seconds=lease_seconds)
        claimed = conn.execute(
            update(_JOB)
            .where(_JOB.c.flow == flow, _JOB.c.kind == kind)
            .values(lease_owner=owner, lease_until=until, last_started_at=now)
        ).rowcount
        if not claimed:
            conn.execute(
                _JOB.insert().values(
                    flow=flow,
                    kind=kind,
                    next_due_at=None,
                    last_started_at=now,
                    last_status="",
                    last_error="",
                    failures=0,
                    runs=0,
                    lease_owner=owner,
                    lease_until=until,
                )
            )
        return True


def _retry_delay(failures: int, cadence: int) -> int:
    delay = RETRY_FIRST_SECONDS << max(failures - 1, 0)  # doubles with each further failure
    return min(delay, cadence) if cadence else delay


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectorError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def run_job(
    database: Database,
    flow_name: str,
    kind: str,
    runner: JobRunner,
    clock: Clock,
    *,
    vault: Vault | None = None,
    owner: str | None = None,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
    stop: threading.Event | None = None,
) -> JobRun:
    """Run one job of one flow now, under the flow's lease, and record how it ended.

    Never raises for a runner's failure: the error (secrets scrubbed) goes to ``flow_job``, the
    log and, after repeated failures, an alert. Returns ``busy`` without running when another
    job of the flow holds the lease.
    """
    owner = owner or _process_owner()
    started = utcnow(clock)
    with database.engine.begin() as conn:
        flow = find_flow(conn, flow_name)
    if flow is None:
        raise ConfigError(f"no flow named {flow_name!r}")
    if not _take_lease(
        database, flow.name, kind, owner=owner, now=started, lease_seconds=lease_seconds
    ):
        log.info("flow %s: %s skipped, another job of the flow is running", flow.name, kind)
        return JobRun(flow.name, kind, BUSY, started, started)
    context = JobContext(database, flow, kind, clock, vault, stop or threading.Event())
    summary, error = "", ""
    try:
        summary = runner(context) or ""
    except Exception as exc:  # a job's failure is recorded, never allowed to stop the scheduler
        error = redact(_describe(exc), context.secrets())[:MAX_ERROR_CHARS]
    finished = utcnow(clock)
    cadence = flow.cadence(kind)
    with database.engine.begin() as conn:
        row = conn.execute(
            select(_JOB.c.failures, _JOB.c.runs).where(
                _JOB.c.flow == flow.name, _JOB.c.kind == kind
            )
        ).one()
        failures = row.failures + 1 if error else 0
        next_due: dt.datetime | None
        if error:
            next_due = finished + dt.timedelta(seconds=_retry_delay(failures, cadence))
        else:
            next_due = started + dt.timedelta(seconds=cadence) if cadence else None
        conn.execute(
            update(_JOB)
            .where(_JOB.c.flow == flow.name, _JOB.c.kind == kind)
            .values(
                next_due_at=next_due,
                last_finished_at=finished,
                last_status=FAILED if error else OK,
                last_error=error,
                failures=failures,
                runs=row.runs + 1,
                lease_owner=None,
                lease_until=None,
            )
        )
        if error and failures >= ALERT_AFTER_FAILURES:
            raise_alert(
                conn,
                flow=flow.name,
                kind="job_failed",
                key=kind,
                message=f"The {kind} job of flow {flow.name} failed {failures} times in a row: "
                f"{error}. 'ml-connector flows show {flow.name}' shows its schedule.",
                details={"failures": failures},
                now=finished,
            )
        elif not error:
            resolve_alerts(conn, flow=flow.name, kind="job_failed", key=kind, now=finished)
    if error:
        log.warning("flow %s: %s failed (%d in a row): %s", flow.name, kind, failures, error)
        return JobRun(flow.name, kind, FAILED, started, finished, error=error)
    log.info("flow %s: %s done: %s", flow.name, kind, summary or "ok")
    return JobRun(flow.name, kind, OK, started, finished, summary=summary)


@dataclass(frozen=True)
class DueJob:
    flow: str
    kind: str
    due_at: dt.datetime


class Scheduler:
    """Runs every enabled flow's jobs when they are due, one at a time, in this process.

    ``runners`` maps job kinds to runners; a kind with no runner, or a cadence of 0, is not
    scheduled. ``run_due`` is one pass (what tests call); ``run`` loops until :meth:`stop`.
    """

    def __init__(
        self,
        database: Database,
        clock: Clock,
        runners: Mapping[str, JobRunner],
        *,
        vault: Vault | None = None,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
    ) -> None:
        unknown = sorted(set(runners) - set(JOB_KINDS))
        if unknown:
            raise ConfigError(
                f"no such job kind {', '.join(unknown)}; expected {', '.join(JOB_KINDS)}"
            )
        self.database = database
        self.clock = clock
        self.runners = dict(runners)
        self.vault = vault
        self.lease_seconds = lease_seconds
        self.owner = _process_owner()
        self.stopping = threading.Event()
        self._redaction = RedactingFilter(self.known_secrets)

    def __repr__(self) -> str:
        return f"Scheduler(kinds={sorted(self.runners)})"

    def known_secrets(self) -> list[str]:
        if self.vault is None:
            return []
        values: list[str] = []
        with self.database.engine.begin() as conn:
            for flow in list_flows(conn):
                for service in flow.services:
                    try:
                        values.extend(
                            s.reveal() for s in self.vault.load(conn, flow.scope(service)).values()
                        )
                    except VaultError:
                        continue
        return values

    def due(self) -> list[DueJob]:
        """Jobs due now, oldest first; within a flow, pulls before sync."""
        now = utcnow(self.clock)
        found: list[DueJob] = []
        with self.database.engine.begin() as conn:
            for flow in list_flows(conn):
                if not flow.enabled:
                    continue
                rows = _job_rows(conn, flow.name)
                for kind in JOB_KINDS:
                    if kind not in self.runners or not flow.cadence(kind):
                        continue
                    row = rows.get(kind)
                    due_at = getattr(row, "next_due_at", None) or now
                    if due_at <= now:
                        found.append(DueJob(flow.name, kind, due_at))
        order = {kind: i for i, kind in enumerate(JOB_KINDS)}
        return sorted(found, key=lambda j: (j.due_at, j.flow, order[j.kind]))

    def next_due_at(self) -> dt.datetime | None:
        """When the next job falls due (now, if one is due already); None with nothing scheduled."""
        now = utcnow(self.clock)
        soonest: dt.datetime | None = None
        with self.database.engine.begin() as conn:
            for flow in list_flows(conn):
                if not flow.enabled:
                    continue
                rows = _job_rows(conn, flow.name)
                for kind in JOB_KINDS:
                    if kind not in self.runners or not flow.cadence(kind):
                        continue
                    due_at = getattr(rows.get(kind), "next_due_at", None) or now
                    soonest = due_at if soonest is None else min(soonest, due_at)
        return soonest

    def run_due(self) -> list[JobRun]:
        """Run every job due now, once each, and return how each ended."""
        runs = []
        log.addFilter(self._redaction)
        try:
            for job in self.due():
                if self.stopping.is_set():
                    break
                runs.append(
                    run_job(
                        self.database,
                        job.flow,
                        job.kind,
                        self.runners[job.kind],
                        self.clock,
                        vault=self.vault,
                        owner=self.owner,
                        lease_seconds=self.lease_seconds,
                        stop=self.stopping,
                    )
                )
        finally:
            log.removeFilter(self._redaction)
        return runs

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        """Ask the loop to end after the job in progress (also the SIGTERM/SIGINT handler)."""
        if signum is not None:
            log.info("signal %s: stopping after the job in progress", signal.Signals(signum).name)
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        """Stop cleanly on SIGTERM and SIGINT (call from the main thread)."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(
        self,
        *,
        max_idle_seconds: float = 60.0,
        wait: Callable[[float], object] | None = None,
        on_runs: Callable[[list[JobRun]], None] | None = None,
    ) -> None:
        """Run due jobs, sleep until the next is due (at most ``max_idle_seconds``), repeat.

        ``wait(seconds)`` sleeps and returns early when the scheduler is stopped; the default
        waits on the stop event in real time. Tests pass one that advances a fake clock. Flows
        added or changed while running are seen at the next wake-up.
        """
        waiter = wait or self.stopping.wait
        while not self.stopping.is_set():
            runs = self.run_due()
            if on_runs is not None and runs:
                on_runs(runs)
            if self.stopping.is_set():
                break
            soonest = self.next_due_at()
            now = utcnow(self.clock)
            idle = max_idle_seconds
            if soonest is not None:
                idle = min(idle, max((soonest - now).total_seconds(), 0.0))
            # A job still due right after a pass is busy elsewhere; do not spin on it.
            waiter(max(idle, 1.0))
        log.info("scheduler stopped")
