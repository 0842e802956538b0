"""A cadence changed with ``flows add --replace --schedule`` applies at once, not after a run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ml_connector.core.cli import app
from ml_connector.core.database import open_database
from ml_connector.core.emulation import FakeClock
from ml_connector.core.scheduler import Scheduler, run_job
from ml_connector.core.schema import FlowJob
from ml_connector.core.vault import KEY_VARIABLE, new_key

START = dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)
ADD = ["flows", "add", "shop", "--target", "xero", "--seller-id", "A2EXAMPLE", "-m", "US"]


def _next_due(url: str, kind: str) -> dt.datetime | None:
    table = FlowJob.__table__  # type: ignore[attr-defined]
    with open_database(url).engine.connect() as conn:
        value = conn.execute(
            select(table.c.next_due_at).where(table.c.flow == "shop", table.c.kind == kind)
        ).scalar_one()
    return None if value is None else value.replace(tzinfo=dt.UTC)


def test_a_shorter_cadence_makes_a_job_due_from_its_last_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_VARIABLE, new_key().decode())
    url = f"sqlite:///{tmp_path / 'books.sqlite'}"
    added = CliRunner().invoke(app, [*ADD, "--db", url])
    assert added.exit_code == 0, added.output
    clock = FakeClock(START)
    database = open_database(url)
    for kind in ("orders", "sync"):
        assert run_job(database, "shop", kind, lambda _context: "done", clock).status == "ok"
    assert _next_due(url, "orders") == START + dt.timedelta(hours=1)

    replaced = CliRunner().invoke(
        app, [*ADD, "--replace", "--schedule", "orders=15m", "--schedule", "sync=off", "--db", url]
    )
    assert replaced.exit_code == 0, replaced.output
    assert _next_due(url, "orders") == START + dt.timedelta(minutes=15)
    assert _next_due(url, "sync") is None

    clock.advance(15 * 60)
    runners = {"orders": lambda _c: "done", "sync": lambda _c: "done"}
    due = Scheduler(database, clock, runners).due()
    assert [(job.flow, job.kind) for job in due] == [("shop", "orders")]


def test_a_failing_job_keeps_its_retry_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_VARIABLE, new_key().decode())
    url = f"sqlite:///{tmp_path / 'books.sqlite'}"
    assert CliRunner().invoke(app, [*ADD, "--db", url]).exit_code == 0
    clock = FakeClock(START)

    def fails(_context: object) -> str:
        raise RuntimeError("Amazon said no")

    assert run_job(open_database(url), "shop", "orders", fails, clock).status == "failed"
    retry = _next_due(url, "orders")
    assert retry is not None and retry < START + dt.timedelta(hours=1)
    replaced = CliRunner().invoke(app, [*ADD, "--replace", "--schedule", "orders=2h", "--db", url])
    assert replaced.exit_code == 0, replaced.output
    assert _next_due(url, "orders") == retry
