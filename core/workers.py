"""PostgreSQL workers: flow runs as procrastinate jobs, any number of workers on one database.

On PostgreSQL the embedded scheduler's loop is replaced by `procrastinate
<https://procrastinate.readthedocs.io>`_, a task queue that lives in the same database. The unit
of work does not change: a job calls :func:`ml_connector.core.scheduler.run_job` with the same
runners ``ml-connector run`` uses. What procrastinate adds:

* **one job per flow at a time**: every run is deferred with ``lock="flow:<name>"``; the queue
  never starts a job while another with the same lock is running (a unique index enforces it), and
  runs of one flow start in the order they were deferred. ``run_job``'s flow lease stays as well,
  so a worker and an ``ml-connector run`` process sharing the database still never overlap;
* **no pile-up**: ``queueing_lock="<flow>/<kind>"`` keeps at most one waiting job per flow and
  job kind; deferring it again while it waits is refused (:class:`procrastinate.exceptions.
  AlreadyEnqueued`) and counted as already queued;
* **the cadence**: a periodic task (:data:`TICK_TASK`, every minute by default) asks the same
  question as the embedded scheduler, "which jobs are due?" (:meth:`Scheduler.due`), and defers
  each one. Procrastinate defers a periodic task once per tick however many workers run, so the
  cadence is the flows' own (``flow_job.next_due_at``), read from the database at every tick;
* **exactly once per due time**: a job carries the due time it was deferred for. When it starts,
  a run that already completed after that due time (``flow_job.next_due_at`` moved past it) means
  the occurrence was served (by an earlier duplicate, or by ``ml-connector run``): the job ends
  without running anything. So a flow run deferred twice runs once;
* **retries**: a runner's failure is recorded by ``run_job`` and retried on the flows' backoff
  (5 minutes, doubling), exactly as with ``run``. Procrastinate's own retries
  (:data:`RETRY`) cover what ``run_job`` lets through (the database connection lost half-way);
  jobs left ``doing`` by a worker that died (no heartbeat) are put back in the queue at the next
  tick.

The procrastinate tables and functions sit beside the product's tables; :func:`apply_schema`
creates them once, under an advisory lock, so several workers starting together are safe.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Protocol

import procrastinate
from procrastinate import exceptions as procrastinate_errors
from procrastinate.jobs import Job
from procrastinate.manager import JobManager
from procrastinate.schema import SchemaManager
from procrastinate.worker import Worker
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from ml_connector.core.database import Database
from ml_connector.core.emulation.clock import Clock, SystemClock
from ml_connector.core.errors import ConfigError
from ml_connector.core.flows import find_flow
from ml_connector.core.scheduler import (
    BUSY,
    DEFAULT_LEASE_SECONDS,
    JobRun,
    JobRunner,
    Scheduler,
    run_job,
)
from ml_connector.core.schema import FlowJob
from ml_connector.core.vault import Vault

log = logging.getLogger("ml_connector.workers")

QUEUE = "ml_connector"
RUN_TASK = "ml_connector.run_flow_job"
TICK_TASK = "ml_connector.defer_due_jobs"
TICK_CRON = "* * * * *"  # every minute; a 6th field would count seconds
# Infrastructure errors only (a runner's own failure never reaches procrastinate): three more
# attempts, after 4, 16 and 64 seconds.
RETRY = procrastinate.RetryStrategy(max_attempts=3, exponential_wait=4)
# One connection per concurrent job, plus the notification listener, the heartbeat and deferrals.
POOL_OVERHEAD = 3
SCHEMA_LOCK = "ml_connector.procrastinate_schema"
SKIPPED = "skipped"
KEEP_FINISHED_HOURS = 7 * 24  # succeeded jobs stay that long as a history, then the tick prunes

_JOB = FlowJob.__table__  # type: ignore[attr-defined]


def procrastinate_conninfo(url: str) -> str:
    """The libpq connection string procrastinate needs for a SQLAlchemy PostgreSQL ``url``.

    ``postgresql+psycopg://user:pw@host/db?options=...`` becomes ``postgresql://user:pw@host/db
    ?options=...``: the same server, database and session options (a ``search_path`` too), so
    the queue lives next to the product's tables. Anything but PostgreSQL is refused.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(
            f"workers need PostgreSQL (postgresql+psycopg://...), not {parsed.get_backend_name()}; "
            "on SQLite, 'ml-connector run' schedules the flows in one process"
        )
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _required_objects() -> set[str]:
    """The versioned functions and types the installed procrastinate's queries call."""
    queries = (resources.files("procrastinate.sql") / "queries.sql").read_text(encoding="utf-8")
    return set(re.findall(r"\bprocrastinate_[a-z_]+_v\d+\b", queries))


def apply_schema(database: Database) -> bool:
    """Create procrastinate's tables and functions unless present; True when created now.

    Idempotent and safe when several workers start at once: the check and the creation run in
    one transaction under a PostgreSQL advisory lock. An existing schema from an older
    procrastinate that lacks what this version calls is reported, not patched: procrastinate
    ships migrations for that (``procrastinate schema --migrations-path`` shows where).
    """
    procrastinate_conninfo(database.url)
    with database.engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": SCHEMA_LOCK})
        present = conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar()
        if present is None:
            # Sent with (empty) parameters, so a literal % is written %% (as procrastinate does).
            conn.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))
            log.info("procrastinate schema applied")
            return True
        found = set(
            conn.execute(
                text(
                    "SELECT proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace "
                    "UNION SELECT typname FROM pg_type "
                    "WHERE typnamespace = current_schema()::regnamespace"
                )
            ).scalars()
        )
    missing = sorted(_required_objects() - found)
    if missing:
        raise ConfigError(
            "the procrastinate schema in this database is older than the installed procrastinate "
            f"{procrastinate.__version__} (missing {', '.join(missing)}); apply procrastinate's migrations "
            "('procrastinate schema --migrations-path' shows where they are), then start the workers"
        )
    return False


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Deferred:
    """One deferral: the job's id, or None when the same flow job was already waiting."""

    flow: str
    kind: str
    due_at: dt.datetime
    job_id: int | None

    @property
    def queued(self) -> bool:
        return self.job_id is not None


class _WorkerControl(Protocol):
    """What is used of a procrastinate ``Worker``, typed (procrastinate leaves these unannotated)."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


class FlowWorkers:
    """A procrastinate app whose tasks run flow jobs on ``database`` (PostgreSQL only).

    Build one per process (or per thread in tests); all of them, on any machine, share the
    queue in the database. ``runners`` are the embedded scheduler's
    (:func:`ml_connector.core.jobs.default_runners`). :meth:`defer_due` and :meth:`defer` put
    work in the queue; :meth:`work` runs a worker until :meth:`stop` (or SIGTERM/SIGINT).
    ``periodic=False`` leaves out the every-minute tick (a worker draining the queue once).
    """

    def __init__(
        self,
        database: Database,
        runners: Mapping[str, JobRunner],
        *,
        clock: Clock | None = None,
        vault: Vault | None = None,
        concurrency: int = 1,
        periodic: bool = True,
        tick_cron: str = TICK_CRON,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
    ) -> None:
        if concurrency < 1:
            raise ConfigError(f"--concurrency must be at least 1, not {concurrency}")
        self.database = database
        self.clock = clock or SystemClock()
        self.vault = vault
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        # Scheduler checks the runners' kinds and owns the "what is due" rule.
        self._scheduler = Scheduler(database, self.clock, runners, vault=vault)
        self.runners = dict(runners)
        self._conninfo = procrastinate_conninfo(database.url)
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=self._conninfo,
                min_size=1,
                max_size=concurrency + POOL_OVERHEAD,
            )
        )
        self.run_task = self.app.task(name=RUN_TASK, queue=QUEUE, pass_context=True, retry=RETRY)(
            self._run
        )
        tick = self.app.task(name=TICK_TASK, queue=QUEUE, pass_context=True)(self._tick)
        if periodic:
            self.app.periodic(cron=tick_cron, periodic_id="flows")(tick)
        self.stopping = threading.Event()
        self._worker: _WorkerControl | None = None
        self._worker_lock = threading.Lock()
        self._sync_connector: procrastinate.SyncPsycopgConnector | None = None
        self._connector_lock = threading.Lock()

    def known_secrets(self) -> list[str]:
        """Every stored credential value, for the log filter that masks them."""
        return self._scheduler.known_secrets()

    def __repr__(self) -> str:
        return f"FlowWorkers(kinds={sorted(self.runners)}, concurrency={self.concurrency})"

    # -- deferring -----------------------------------------------------------------------------

    def _job(self, flow: str, kind: str, due_at: dt.datetime) -> Job:
        return self.run_task.configure(
            lock=f"flow:{flow}",
            queueing_lock=f"{flow}/{kind}",
            task_kwargs={"flow": flow, "kind": kind, "due_at": _aware(due_at).isoformat()},
        ).job

    def _sync_manager(self) -> JobManager:
        # Deferring from ordinary code goes through its own small synchronous pool: the
        # worker's pool belongs to the worker's event loop and must not be used from elsewhere.
        with self._connector_lock:
            if self._sync_connector is None:
                apply_schema(self.database)  # the queue's tables, before the first job goes in
                connector = procrastinate.SyncPsycopgConnector(
                    conninfo=self._conninfo, min_size=1, max_size=2
                )
                connector.open()
                self._sync_connector = connector
            return JobManager(self._sync_connector)

    def defer(self, flow: str, kind: str, due_at: dt.datetime) -> Deferred:
        """Queue the ``kind`` job of ``flow`` for the occurrence due at ``due_at``.

        Returns a :class:`Deferred` whose ``job_id`` is None when that flow job is already
        waiting in the queue (its queueing lock): deferring is then a no-op, never a duplicate.
        """
        if kind not in self.runners:
            raise ConfigError(f"no runner for job kind {kind!r}; runners: {sorted(self.runners)}")
        try:
            job = self._sync_manager().defer_job(self._job(flow, kind, due_at))
        except procrastinate_errors.AlreadyEnqueued:
            return Deferred(flow, kind, _aware(due_at), None)
        return Deferred(flow, kind, _aware(due_at), job.id)

    def defer_due(self) -> list[Deferred]:
        """Queue every job due now (the embedded scheduler's rule); what the tick does."""
        return [self.defer(job.flow, job.kind, job.due_at) for job in self._scheduler.due()]

    async def _defer_due_async(self, manager: JobManager) -> list[Deferred]:
        due = await asyncio.to_thread(self._scheduler.due)
        deferred = []
        for entry in due:
            try:
                job = await manager.defer_job_async(self._job(entry.flow, entry.kind, entry.due_at))
                job_id = job.id
            except procrastinate_errors.AlreadyEnqueued:
                job_id = None
            deferred.append(Deferred(entry.flow, entry.kind, _aware(entry.due_at), job_id))
        return deferred

    def close(self) -> None:
        """Close the pool :meth:`defer` opened (the worker's own closes when it stops)."""
        with self._connector_lock:
            if self._sync_connector is not None:
                self._sync_connector.close()
                self._sync_connector = None

    def __enter__(self) -> FlowWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the tasks -----------------------------------------------------------------------------

    async def _tick(self, context: procrastinate.JobContext, timestamp: int) -> str:
        """The periodic task: requeue stalled runs, defer what is due, prune old history."""
        manager = context.app.job_manager
        stalled = await manager.get_stalled_jobs(queue=QUEUE, task_name=RUN_TASK)
        for job in stalled:
            log.warning("job %s of a worker that stopped answering goes back in the queue", job.id)
            await manager.retry_job(job)
        deferred = await self._defer_due_async(manager)
        await manager.delete_old_jobs(nb_hours=KEEP_FINISHED_HOURS, queue=QUEUE)
        queued = sum(d.queued for d in deferred)
        return f"{queued} job(s) queued, {len(deferred) - queued} already waiting"

    def occurrence_served(self, flow: str, kind: str, due_at: dt.datetime) -> bool:
        """True when a run of ``flow``'s ``kind`` completed after it fell due at ``due_at``.

        ``run_job`` moves ``next_due_at`` past the due time when a run ends (success: a cadence
        after it started; failure: the retry time), and never before. A run that was cut off
        (the process died) leaves it unchanged, so its occurrence is still owed.
        """
        with self.database.engine.begin() as conn:
            row = conn.execute(
                select(_JOB.c.runs, _JOB.c.next_due_at).where(
                    _JOB.c.flow == flow, _JOB.c.kind == kind
                )
            ).first()
        if row is None or not row.runs:
            return False
        return row.next_due_at is None or _aware(row.next_due_at) > _aware(due_at)

    def _run(self, context: procrastinate.JobContext, flow: str, kind: str, due_at: str) -> str:
        """The queued job: one run of one flow job, unless its occurrence was already served."""
        due = dt.datetime.fromisoformat(due_at)
        runner = self.runners.get(kind)
        with self.database.engine.begin() as conn:
            found = find_flow(conn, flow)
        if found is None or not found.enabled or runner is None:
            why = "no runner" if runner is None else "removed" if found is None else "disabled"
            log.info("flow %s: %s due %s skipped (%s)", flow, kind, due.isoformat(), why)
            return f"{SKIPPED}: {why}"
        if self.occurrence_served(flow, kind, due):
            log.info("flow %s: %s due %s already ran", flow, kind, due.isoformat())
            return f"{SKIPPED}: already ran"
        # The same owner on a retry of this job, so it can take back its own lease.
        run: JobRun = run_job(
            self.database,
            flow,
            kind,
            runner,
            self.clock,
            vault=self.vault,
            owner=f"procrastinate:job-{context.job.id}",
            lease_seconds=self.lease_seconds,
            stop=self.stopping,
        )
        if run.status == BUSY:
            # Another process runs this flow; the occurrence is still owed and the next tick
            # defers it again.
            return f"{BUSY}: another job of the flow is running"
        return run.status + (f": {run.error or run.summary}" if run.error or run.summary else "")

    # -- running a worker ----------------------------------------------------------------------

    def work(
        self,
        *,
        name: str | None = None,
        burst: bool = False,
        install_signal_handlers: bool = True,
        polling_interval: float = 5.0,
    ) -> None:
        """Run a worker until :meth:`stop` (or SIGTERM/SIGINT); ``burst``: until the queue is empty.

        Applies procrastinate's schema first if the database has none. Jobs in progress finish
        before it returns, and a long runner is asked to end early between units
        (:meth:`JobContext.should_stop`); each stage commits its own units, so even a kill
        leaves nothing half-written.
        """
        apply_schema(self.database)

        async def main() -> None:
            if install_signal_handlers:
                loop = asyncio.get_running_loop()
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(signum, self.stop)
            async with self.app.open_async():
                while not self.stopping.is_set():
                    worker: _WorkerControl = Worker(
                        app=self.app,
                        queues=[QUEUE],
                        name=name,
                        concurrency=self.concurrency,
                        wait=not burst,
                        fetch_job_polling_interval=polling_interval,
                        abort_job_polling_interval=polling_interval,
                        install_signal_handlers=False,  # ours above also stop the runners
                    )
                    with self._worker_lock:
                        if self.stopping.is_set():
                            break
                        self._worker = worker
                    try:
                        await worker.run()
                    finally:
                        with self._worker_lock:
                            self._worker = None
                    # wait=False stops when no job can start right now; a job of a flow that
                    # was busy may still wait behind the flow's lock: go round until none does.
                    if not burst or not await self._waiting_jobs():
                        break

        asyncio.run(main())

    async def _waiting_jobs(self) -> int:
        row = await self.app.connector.execute_query_one_async(
            "SELECT count(*) AS waiting FROM procrastinate_jobs WHERE queue_name = %(queue)s "
            "AND status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())",
            queue=QUEUE,
        )
        return int(row["waiting"])

    def stop(self) -> None:
        """Ask the worker to stop after the jobs in progress (thread-safe)."""
        self.stopping.set()
        with self._worker_lock:
            if self._worker is not None:
                self._worker.stop()
