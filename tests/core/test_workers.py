"""PostgreSQL workers on procrastinate: two workers, one database, each flow run exactly once.

The PostgreSQL tests use the ``db_url`` fixture restricted to PostgreSQL (a fresh schema each;
skipped without ``ML_CONNECTOR_TEST_PG_URL`` unless ``ML_CONNECTOR_REQUIRE_PG=1``).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from ml_connector.core import flows
from ml_connector.core.cli import app
from ml_connector.core.database import Database, open_database
from ml_connector.core.emulation import FakeClock
from ml_connector.core.emulation.clock import utcnow
from ml_connector.core.errors import ConfigError
from ml_connector.core.scheduler import JobContext
from ml_connector.core.schema import FlowJob
from ml_connector.core.workers import (
    RUN_TASK,
    FlowWorkers,
    apply_schema,
    procrastinate_conninfo,
)

START = dt.datetime(2027, 3, 1, 6, 0, tzinfo=dt.UTC)
HOUR = 3600
KINDS = ("orders", "settlements", "sync")
_JOB = FlowJob.__table__  # type: ignore[attr-defined]


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def db_backend(request: pytest.FixtureRequest) -> str:
    """Workers exist only on PostgreSQL: every ``db_url`` here is a fresh PostgreSQL schema."""
    return str(request.param)


def add_flow(database: Database, name: str, schedule: dict[str, str]) -> flows.Flow:
    flow = flows.make_flow(
        name, target="xero", seller_id="S", marketplaces=["US"], schedule=schedule
    )
    with database.engine.begin() as conn:
        flows.save_flow(conn, flow, now=START)
    return flow


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def unfinished_runs(database: Database) -> int:
    with database.engine.begin() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM procrastinate_jobs "
                    "WHERE task_name = :task AND status IN ('todo', 'doing')"
                ),
                {"task": RUN_TASK},
            ).scalar_one()
        )


# -- without a database -----------------------------------------------------------------------


def test_conninfo_keeps_server_database_and_session_options() -> None:
    conninfo = procrastinate_conninfo(
        "postgresql+psycopg://mlc:pw@db.example:5433/books?options=-csearch_path%3Dtenant"
    )
    assert conninfo == "postgresql://mlc:pw@db.example:5433/books?options=-csearch_path%3Dtenant"


def test_sqlite_is_refused_pointing_at_run(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match="ml-connector run"):
        procrastinate_conninfo(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    result = CliRunner().invoke(app, ["worker", "--db", f"sqlite:///{tmp_path / 'y.sqlite3'}"])
    assert result.exit_code == 1
    assert "workers need PostgreSQL" in result.output
    assert not (tmp_path / "y.sqlite3").exists()  # refused before anything was created


# -- on PostgreSQL ----------------------------------------------------------------------------


def test_schema_is_applied_once_even_when_workers_start_together(db_url: str) -> None:
    databases = [open_database(db_url) for _ in range(3)]
    results: list[bool] = []
    barrier = threading.Barrier(3)

    def start(database: Database) -> None:
        barrier.wait()
        results.append(apply_schema(database))

    threads = [threading.Thread(target=start, args=(d,)) for d in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(results) == [False, False, True]
    assert apply_schema(databases[0]) is False


def test_two_workers_run_each_flow_run_exactly_once_and_never_two_at_once_per_flow(
    db_url: str,
) -> None:
    clock = FakeClock(START)
    setup = open_database(db_url)
    schedules = {
        "alpha": {"orders": "1h", "settlements": "1d", "sync": "1h", "finances": "off"},
        "beta": {"orders": "2h", "settlements": "off", "sync": "1h", "finances": "off"},
        "gamma": {"orders": "1h", "settlements": "1d", "sync": "3h", "finances": "off"},
    }
    added = [add_flow(setup, name, schedule) for name, schedule in schedules.items()]
    with setup.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE probe_run (id serial PRIMARY KEY, worker text, flow text, "
                "kind text, at double precision, started timestamptz, finished timestamptz)"
            )
        )
    apply_schema(setup)

    def probe(worker: str) -> dict[str, Callable[[JobContext], str]]:
        def run(context: JobContext) -> str:
            with context.database.engine.begin() as conn:
                run_id = conn.execute(
                    text(
                        "INSERT INTO probe_run (worker, flow, kind, at, started) "
                        "VALUES (:worker, :flow, :kind, :at, clock_timestamp()) RETURNING id"
                    ),
                    {
                        "worker": worker,
                        "flow": context.flow.name,
                        "kind": context.kind,
                        "at": context.clock.now(),
                    },
                ).scalar_one()
            time.sleep(0.15)  # long enough for a second job of the flow to overlap, were it let
            with context.database.engine.begin() as conn:
                conn.execute(
                    text("UPDATE probe_run SET finished = clock_timestamp() WHERE id = :id"),
                    {"id": run_id},
                )
            return "probed"

        return dict.fromkeys(KINDS, run)

    # Two workers as two processes would be: own engine, own procrastinate app and pool.
    workers = [
        FlowWorkers(open_database(db_url), probe(name), clock=clock, concurrency=2)
        for name in ("w1", "w2")
    ]
    threads = [
        threading.Thread(
            target=w.work,
            kwargs={"name": f"w{i}", "install_signal_handlers": False, "polling_interval": 0.1},
        )
        for i, w in enumerate(workers, start=1)
    ]
    for thread in threads:
        thread.start()
    rounds = 4
    expected: set[tuple[str, str, float]] = set()
    refused_as_waiting = 0
    try:
        for number in range(rounds):
            at = clock.now()
            expected |= {
                (flow.name, kind, at)
                for flow in added
                for kind in KINDS
                if flow.cadence(kind) and (number * HOUR) % flow.cadence(kind) == 0
            }
            # Both workers' tickers defer the same due runs at once...
            first = workers[0].defer_due()
            second = workers[1].defer_due()
            assert {(d.flow, d.kind) for d in first} == {(f, k) for f, k, a in expected if a == at}
            refused_as_waiting += sum(not d.queued for d in second)

            def started(at: float = at) -> bool:
                with setup.engine.begin() as conn:
                    return bool(
                        conn.execute(
                            text("SELECT count(*) FROM probe_run WHERE at = :at"), {"at": at}
                        ).scalar_one()
                    )

            # ...again once runs are under way (jobs in progress hold no queueing lock)...
            wait_until(started, f"round {number} to start")
            workers[0].defer_due()
            wait_until(lambda: unfinished_runs(setup) == 0, f"round {number} to finish")
            # ...and once more after they all ran: a late duplicate of a served run.
            for deferred in first:
                workers[1].defer(deferred.flow, deferred.kind, deferred.due_at)
            wait_until(lambda: unfinished_runs(setup) == 0, f"round {number}'s duplicates")
            clock.advance(HOUR)
    finally:
        for w in workers:
            w.stop()
        for thread in threads:
            thread.join(timeout=20)
        for w in workers:
            w.close()
    assert not any(thread.is_alive() for thread in threads)

    with setup.engine.begin() as conn:
        runs = conn.execute(
            text("SELECT worker, flow, kind, at, started, finished FROM probe_run ORDER BY id")
        ).all()
        deferred_jobs = conn.execute(
            text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = :task"),
            {"task": RUN_TASK},
        ).scalar_one()
        job_rows = conn.execute(select(_JOB.c.flow, _JOB.c.kind, _JOB.c.runs)).all()

    # Every due run happened, and happened once, though many more jobs were queued for them.
    counted = Counter((r.flow, r.kind, r.at) for r in runs)
    assert set(counted) == expected
    assert set(counted.values()) == {1}
    assert deferred_jobs > len(expected)
    assert refused_as_waiting > 0
    per_job = Counter((flow, kind) for flow, kind, _ in expected)
    assert {(r.flow, r.kind): r.runs for r in job_rows if r.runs} == dict(per_job)
    # Never two runs of one flow at once (timestamps from the database's own clock).
    for flow in schedules:
        mine = sorted((r for r in runs if r.flow == flow), key=lambda r: r.started)
        for before, after in zip(mine, mine[1:], strict=False):
            assert before.finished <= after.started, f"{flow}: runs overlapped"
    # Both workers took part.
    assert {r.worker for r in runs} == {"w1", "w2"}


def test_a_queued_run_of_a_disabled_or_removed_flow_does_not_run(db_url: str) -> None:
    clock = FakeClock(START)
    database = open_database(db_url)
    kept = add_flow(database, "kept", {"finances": "off"})
    paused = add_flow(database, "paused", {"finances": "off"})
    add_flow(database, "gone", {"finances": "off"})
    calls: list[tuple[str, str]] = []

    def run(context: JobContext) -> str:
        calls.append((context.flow.name, context.kind))
        return "ran"

    with FlowWorkers(database, {"sync": run}, clock=clock, periodic=False) as workers:
        assert len([d for d in workers.defer_due() if d.queued]) == 3
        with database.engine.begin() as conn:
            flows.save_flow(
                conn,
                flows.make_flow(
                    paused.name,
                    target="xero",
                    seller_id="S",
                    marketplaces=["US"],
                    enabled=False,
                ),
                now=START,
                replace=True,
            )
            flows.remove_flow(conn, "gone")
        workers.work(burst=True, install_signal_handlers=False, polling_interval=0.1)
        assert calls == [(kept.name, "sync")]
        # The served run is not due again until its cadence has passed.
        assert workers.defer_due() == []
        assert workers.occurrence_served(kept.name, "sync", utcnow(clock))
        clock.advance(HOUR)
        assert [(d.flow, d.kind) for d in workers.defer_due()] == [(kept.name, "sync")]


def test_a_run_cut_off_before_it_was_recorded_is_still_owed(db_url: str) -> None:
    clock = FakeClock(START)
    database = open_database(db_url)
    add_flow(database, "shop", {"finances": "off"})
    with FlowWorkers(database, {"orders": lambda c: "ok"}, clock=clock, periodic=False) as w:
        assert not w.occurrence_served("shop", "orders", START)
        # A worker died mid-run: its lease and start time are recorded, its end never was.
        with database.engine.begin() as conn:
            conn.execute(
                _JOB.insert().values(
                    flow="shop",
                    kind="orders",
                    last_started_at=START,
                    last_status="",
                    last_error="",
                    failures=0,
                    runs=0,
                    lease_owner="procrastinate:job-7",
                    lease_until=START + dt.timedelta(hours=6),
                )
            )
        assert not w.occurrence_served("shop", "orders", START)


def test_worker_command_applies_the_schema_once_and_drains_the_queue(
    db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # noqa: ANN001
    from ml_connector.core.vault import KEY_VARIABLE, new_key

    monkeypatch.setenv(KEY_VARIABLE, new_key().decode())
    first = CliRunner().invoke(app, ["worker", "--db", db_url, "--burst"])
    assert first.exit_code == 0, first.output
    assert "schema (procrastinate) created" in first.output
    assert "0 job(s) queued" in first.output
    second = CliRunner().invoke(app, ["worker", "--db", db_url, "--burst"])
    assert second.exit_code == 0, second.output
    assert "created" not in second.output
    assert "Worker stopped." in second.output
