"""The embedded scheduler on a fake clock: cadences, retries, alerts, the flow lease, stopping."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

import ml_connector.plugins.xero as xero
from ml_connector.core import flows
from ml_connector.core.alerts import list_alerts
from ml_connector.core.database import Database, open_database
from ml_connector.core.emulation import Chaos, FakeClock
from ml_connector.core.emulation.clock import utcnow
from ml_connector.core.jobs import sync_runner
from ml_connector.core.scheduler import (
    BUSY,
    FAILED,
    OK,
    JobContext,
    Scheduler,
    run_job,
)
from ml_connector.core.schema import FlowJob
from ml_connector.core.vault import KEY_VARIABLE, KeyRing, Vault, new_key

START = dt.datetime(2027, 1, 15, 8, 0, tzinfo=dt.UTC)
HOUR = 3600
_JOB = FlowJob.__table__  # type: ignore[attr-defined]


@pytest.fixture
def database(db_url: str) -> Database:
    return open_database(db_url)


def add(database: Database, name: str, **overrides: object) -> flows.Flow:
    fields: dict[str, object] = {"target": "xero", "seller_id": "S", "marketplaces": ["US"]}
    fields.update(overrides)
    flow = flows.make_flow(name, **fields)  # type: ignore[arg-type]
    with database.engine.begin() as conn:
        flows.save_flow(conn, flow, now=START)
    return flow


class Recorder:
    """Runners that record (flow, kind, time) and can be told to fail."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[tuple[str, str, float]] = []
        self.failing: set[str] = set()

    def __call__(self, context: JobContext) -> str:
        self.calls.append((context.flow.name, context.kind, self.clock.now() - START.timestamp()))
        self.clock.advance(30)  # a job takes time
        if context.kind in self.failing:
            raise RuntimeError(f"{context.kind} broke")
        return f"{context.kind} done"

    def runners(self) -> dict[str, Recorder]:
        return {kind: self for kind in flows.JOB_KINDS}


def test_each_job_runs_at_its_cadence(database: Database) -> None:
    clock = FakeClock(START)
    record = Recorder(clock)
    add(database, "a")
    add(database, "b", schedule={"orders": "30m", "finances": "off"})
    scheduler = Scheduler(database, clock, record.runners())
    first = scheduler.run_due()
    assert [(r.flow, r.kind, r.status) for r in first] == [
        ("a", "orders", OK), ("a", "finances", OK), ("a", "settlements", OK), ("a", "sync", OK),
        ("b", "orders", OK), ("b", "settlements", OK), ("b", "sync", OK),
    ]  # fmt: skip
    assert scheduler.run_due() == []
    record.calls.clear()
    clock.advance(31 * 60 - 7 * 30)  # b's orders started at 2 min, so are due at 32 min
    assert scheduler.run_due() == []
    clock.advance(60)
    assert [(r.flow, r.kind) for r in scheduler.run_due()] == [("b", "orders")]
    clock.advance(HOUR)
    assert sorted((r.flow, r.kind) for r in scheduler.run_due()) == [
        ("a", "orders"), ("a", "sync"), ("b", "orders"), ("b", "sync"),
    ]  # fmt: skip
    clock.advance(24 * HOUR)
    kinds = sorted((r.flow, r.kind) for r in scheduler.run_due())
    assert ("a", "finances") in kinds and ("a", "settlements") in kinds
    assert ("b", "finances") not in kinds


def test_a_job_is_due_a_cadence_after_it_started_not_after_it_ended(database: Database) -> None:
    clock = FakeClock(START)
    add(database, "a")
    Scheduler(database, clock, {"orders": Recorder(clock)}).run_due()
    with database.engine.begin() as conn:
        row = conn.execute(select(_JOB).where(_JOB.c.kind == "orders")).one()
    assert row.next_due_at == START + dt.timedelta(hours=1)
    assert row.last_finished_at == START + dt.timedelta(seconds=30)
    assert (row.runs, row.last_status, row.lease_owner) == (1, OK, None)


def test_a_failing_job_is_retried_sooner_then_alerted_then_resolved(database: Database) -> None:
    clock = FakeClock(START)
    record = Recorder(clock)
    record.failing.add("sync")
    add(database, "a", schedule={"sync": "1d"})
    scheduler = Scheduler(database, clock, {"sync": record})
    delays = []
    for attempt in range(1, 5):
        (run,) = scheduler.run_due()
        assert run.status == FAILED and run.error == "RuntimeError: sync broke"
        with database.engine.begin() as conn:
            assert len(list_alerts(conn, flow="a")) == (1 if attempt >= 3 else 0)
        due = scheduler.next_due_at()
        assert due is not None
        delays.append((due - utcnow(clock)).total_seconds())
        clock.advance(delays[-1])
    assert delays == [300, 600, 1200, 2400]
    with database.engine.begin() as conn:
        (alert,) = list_alerts(conn, flow="a")
    assert alert.kind == "job_failed" and "failed 4 times in a row" in alert.message
    record.failing.clear()
    assert [r.status for r in scheduler.run_due()] == [OK]
    with database.engine.begin() as conn:
        assert list_alerts(conn, flow="a") == []


def test_disabled_flows_and_kinds_without_runner_are_not_scheduled(database: Database) -> None:
    clock = FakeClock(START)
    add(database, "paused", enabled=False)
    add(database, "live")
    runs = Scheduler(database, clock, {"sync": Recorder(clock)}).run_due()
    assert [(r.flow, r.kind) for r in runs] == [("live", "sync")]


def test_a_flow_never_runs_two_jobs_at_once(database: Database) -> None:
    clock = FakeClock(START)
    add(database, "a")
    inner: list[str] = []

    def nested(context: JobContext) -> str:
        # Another worker asks for a job of the same flow while this one holds the lease.
        other = run_job(database, "a", "orders", lambda c: "ran", clock, owner="other:1:x")
        inner.append(other.status)
        return "outer"

    assert run_job(database, "a", "sync", nested, clock).status == OK
    assert inner == [BUSY]
    assert run_job(database, "a", "orders", lambda c: "ran", clock, owner="other:1:x").status == OK


def test_a_lease_left_by_a_dead_process_or_expired_is_taken_over(database: Database) -> None:
    clock = FakeClock(START)
    add(database, "a")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with database.engine.begin() as conn:
        conn.execute(
            _JOB.insert().values(
                flow="a", kind="sync", last_status="", last_error="", failures=0, runs=0,
                lease_owner=f"{os.uname().nodename}:{dead.pid}:dead",
                lease_until=START + dt.timedelta(hours=1),
            )
        )  # fmt: skip
    assert run_job(database, "a", "orders", lambda c: "", clock).status == OK
    with database.engine.begin() as conn:
        conn.execute(
            _JOB.update()
            .where(_JOB.c.kind == "sync")
            .values(lease_owner="elsewhere:1:x", lease_until=START + dt.timedelta(hours=1))
        )
    assert run_job(database, "a", "orders", lambda c: "", clock).status == BUSY
    clock.advance(HOUR + 1)
    assert run_job(database, "a", "orders", lambda c: "", clock).status == OK


def test_the_loop_sleeps_until_the_next_due_job_and_stops_when_asked(database: Database) -> None:
    clock = FakeClock(START)
    record = Recorder(clock)
    add(
        database,
        "a",
        schedule={"orders": "1h", "finances": "off", "settlements": "off", "sync": "off"},
    )
    scheduler = Scheduler(database, clock, record.runners())
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)
        if len(waits) == 7:
            scheduler.stop(signal.SIGTERM)

    scheduler.run(max_idle_seconds=600, wait=wait)
    # Idle is capped at 600 s (new flows are seen), and never sleeps past the next due job.
    assert waits == [600, 600, 600, 600, 600, 570, 600]
    assert [offset for _, _, offset in record.calls] == [0, HOUR]


def test_sigterm_stops_run_cleanly(tmp_path: Path) -> None:
    env = dict(os.environ)
    env[KEY_VARIABLE] = new_key().decode()
    env["ML_CONNECTOR_DB"] = f"sqlite:///{tmp_path / 'run.sqlite3'}"
    process = subprocess.Popen(
        [sys.executable, "-c", "from ml_connector.core.cli import main; main()", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ready = process.stdout.readline()  # printed once the scheduler is set up
    assert "Scheduler running" in ready
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "Scheduler stopped." in out


def test_the_sync_runner_connects_with_the_flows_vault_credentials(
    database: Database,
) -> None:
    clock = FakeClock(START)
    emulated = xero.emulated_target(seed=3, clock=clock, chaos=Chaos.off())
    flow = add(database, "shop", mapping={"accounts": dict(emulated.mapping.accounts)})
    vault = Vault(KeyRing((new_key(),), "test"))
    with database.engine.begin() as conn:
        flows.store_credentials(conn, vault, flow, {"xero": emulated.credentials}, now=START)

    def http(service: str) -> httpx.Client:
        assert service == "xero"
        return httpx.Client(transport=httpx.MockTransport(emulated.handle))

    scheduler = Scheduler(database, clock, {"sync": sync_runner(http)}, vault=vault)
    (run,) = scheduler.run_due()
    assert run.status == OK, run.error
    assert run.summary.startswith("0 settlement(s) rendered")


def test_an_unknown_job_kind_is_refused(database: Database) -> None:
    with pytest.raises(Exception, match="no such job kind refunds"):
        Scheduler(database, FakeClock(START), {"refunds": lambda c: ""})


def test_stop_from_another_thread_ends_the_real_wait(database: Database) -> None:
    scheduler = Scheduler(database, FakeClock(START), {})
    threading.Timer(0.05, scheduler.stop).start()
    scheduler.run(max_idle_seconds=30)  # returns as soon as stop is called
    assert scheduler.stopping.is_set()


def test_run_pulls_books_and_posts_a_flow_on_schedule_against_the_emulators(
    database: Database,
) -> None:
    """Amazon's emulator in, Xero's out: one pass books and posts, the next day's adds nothing."""
    from ml_connector.core import outbox
    from ml_connector.core.amazon.emulator import AmazonEmulator
    from ml_connector.core.booking import booked_settlements
    from ml_connector.core.jobs import default_runners

    clock = FakeClock(dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    amazon = AmazonEmulator(seed=2, orders=30, clock=clock, marketplaces=["US"])
    target = xero.emulated_target(seed=2, clock=clock, chaos=Chaos.off())
    flow = add(
        database,
        "shop",
        seller_id=amazon.credentials.seller_id,
        marketplaces=list(amazon.marketplace_ids),
        mapping={"accounts": dict(target.mapping.accounts), "items": dict(target.mapping.items),
                 "contacts": dict(target.mapping.contacts), "taxes": dict(target.mapping.taxes),
                 "tracking": dict(target.mapping.tracking), "options": dict(target.mapping.options)},
    )  # fmt: skip
    vault = Vault(KeyRing((new_key(),), "test"))
    lwa = amazon.credentials
    with database.engine.begin() as conn:
        flows.store_credentials(
            conn,
            vault,
            flow,
            {
                "amazon": {"client_id": lwa.client_id, "client_secret": lwa.client_secret,
                           "refresh_token": lwa.refresh_token},
                "xero": target.credentials,
            },
            now=START,
        )  # fmt: skip
    handlers = {"amazon": amazon.handle, "xero": target.handle}

    def http(service: str) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(handlers[service]))

    scheduler = Scheduler(database, clock, default_runners(http), vault=vault)
    runs = scheduler.run_due()
    assert [(r.kind, r.status) for r in runs] == [
        ("orders", OK),
        ("settlements", OK),
        ("sync", OK),
    ], [r.error for r in runs]
    with database.engine.begin() as conn:
        booked = booked_settlements(conn, flow="shop")
        counts = outbox.status_counts(conn, flow="shop", target="xero")
        entries = outbox.entries(conn, flow="shop", target="xero")
    assert booked and counts == {outbox.DONE: len(entries)}
    census = dict(target.count_documents([e.document for e in entries]))
    assert all(census.get(e.document.key) == 1 for e in entries)
    with database.engine.begin() as conn:  # Xero rotated the refresh token; the vault kept it
        stored = vault.load(conn, flow.scope("xero"))["refresh_token"].reveal()
    assert stored != target.credentials["refresh_token"]
    clock.advance(24 * 3600)  # far past Xero's grace period: only the stored successor works
    again = scheduler.run_due()
    assert {r.status for r in again} == {OK}
    with database.engine.begin() as conn:
        assert len(outbox.entries(conn, flow="shop", target="xero")) == len(entries)
    assert dict(target.count_documents([e.document for e in entries])) == census
