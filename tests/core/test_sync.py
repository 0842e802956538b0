"""Render and push through the engine with the example target: alerts, replay, audit trail."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import httpx
import pytest

from ml_connector.core import outbox
from ml_connector.core.alerts import list_alerts
from ml_connector.core.amazon.emulator import generate_seller
from ml_connector.core.amazon.settlement_file import write_settlement_v2
from ml_connector.core.audit import trail_for
from ml_connector.core.booking import BOOKED, book_settlement_document
from ml_connector.core.credentials import Credentials
from ml_connector.core.database import Database, open_database
from ml_connector.core.emulation import Chaos, FakeClock
from ml_connector.core.plugins import Target, get_target
from ml_connector.core.sync import render_flow, sync_target
from ml_connector.core.targets import TargetMapping
from ml_connector.ledger.rules import default_rules
from ml_connector.testing import plugin_manager

FLOW = "shop"
START = dt.datetime(2026, 10, 2, tzinfo=dt.UTC)


@pytest.fixture
def tally() -> Target:
    return get_target(plugin_manager(), "tally")


@pytest.fixture
def booked(tmp_path: Path) -> tuple[Database, list[str]]:
    database = open_database(f"sqlite:///{tmp_path / 'books.sqlite'}")
    seller = generate_seller(seed=5, orders=30, marketplaces=("US", "UK"))
    settlement_ids = []
    for header, lines in seller.settlements:
        text = io.StringIO()
        write_settlement_v2(header, lines, text)
        result = book_settlement_document(
            database.ledger,
            flow=FLOW,
            document=text.getvalue().encode(),
            source=f"{header.settlement_id}.txt",
            rules=default_rules(),
            now=START,
        )
        assert result.status == BOOKED, result.reason
        settlement_ids.append(header.settlement_id)
    return database, settlement_ids


def sync(database: Database, target: Target, emulated, mapping: TargetMapping, clock):  # type: ignore[no-untyped-def]
    with httpx.Client(transport=httpx.MockTransport(emulated.handle)) as http:
        return sync_target(
            database.ledger,
            flow=FLOW,
            target=target,
            mapping=mapping,
            credentials=Credentials(emulated.credentials),
            http=http,
            clock=clock,
            mode="summary",
        )


def test_every_entry_is_posted_once_and_a_second_sync_sends_nothing(booked, tally) -> None:
    database, _ids = booked
    clock = FakeClock(START)
    emulated = tally.emulator(seed=1, clock=clock, chaos=Chaos.off())
    first = sync(database, tally, emulated, emulated.mapping, clock)
    assert first.push.posted == first.render.documents == database.ledger.count()
    calls = emulated.state.calls
    second = sync(database, tally, emulated, emulated.mapping, clock)
    assert second.render.added == 0 and second.push.posted == 0
    assert emulated.state.calls == calls, "nothing left to send means no call at all"
    assert len(emulated.state.journals) == database.ledger.count()


def test_an_unmapped_account_is_an_alert_until_it_is_mapped(booked, tally) -> None:
    database, _ids = booked
    clock = FakeClock(START)
    emulated = tally.emulator(seed=1, clock=clock, chaos=Chaos.off())
    full = emulated.mapping
    missing = "Expenses:Amazon:ReferralFees"
    partial = TargetMapping(accounts={k: v for k, v in full.accounts.items() if k != missing})

    first = sync(database, tally, emulated, partial, clock)
    assert first.render.problems and first.push.posted < database.ledger.count()
    with database.engine.begin() as conn:
        alerts = [a for a in list_alerts(conn, flow=FLOW) if a.kind == "unmapped_reference"]
    assert [a.key for a in alerts] == [f"tally:account:{missing}"]
    assert "ml-connector sync" in alerts[0].message

    second = sync(database, tally, emulated, full, clock)
    assert not second.render.problems
    assert len(emulated.state.journals) == database.ledger.count(), "stopped documents now posted"
    with database.engine.begin() as conn:
        assert not [a for a in list_alerts(conn, flow=FLOW) if a.kind == "unmapped_reference"]


def test_a_refused_document_fails_with_the_targets_words_and_replays(booked, tally) -> None:
    database, _ids = booked
    clock = FakeClock(START)
    emulated = tally.emulator(seed=1, clock=clock, chaos=Chaos.off())
    refusing = emulated.handle

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(422, json={"error": "period is locked"})
        return refusing(request)

    with httpx.Client(transport=httpx.MockTransport(handle)) as http:
        report = sync_target(
            database.ledger,
            flow=FLOW,
            target=tally,
            mapping=emulated.mapping,
            credentials=Credentials(emulated.credentials),
            http=http,
            clock=clock,
            mode="summary",
        )
    assert report.push.posted == 0
    with database.engine.begin() as conn:
        counts = outbox.status_counts(conn, flow=FLOW)
        failed_alerts = [a for a in list_alerts(conn, flow=FLOW) if a.kind == "push_failed"]
    assert counts[outbox.FAILED] == database.ledger.count()
    assert failed_alerts and "period is locked" in failed_alerts[0].message

    # The user unlocks the period and replays: every document goes in, once.
    with database.engine.begin() as conn:
        assert outbox.replay_failed(conn, flow=FLOW, now=START) == database.ledger.count()
    sync(database, tally, emulated, emulated.mapping, clock)
    assert len(emulated.state.journals) == database.ledger.count()


def test_render_flow_is_pure_so_rendering_twice_adds_nothing(booked, tally) -> None:
    database, ids = booked
    mapping = tally.emulator(seed=1, clock=FakeClock(START), chaos=Chaos.off()).mapping
    once = render_flow(
        database.ledger, flow=FLOW, target=tally, mapping=mapping, mode="summary", now=START
    )
    twice = render_flow(
        database.ledger, flow=FLOW, target=tally, mapping=mapping, mode="summary", now=START
    )
    assert once.settlements == len(ids) and once.added == once.documents
    assert twice.added == 0 and twice.documents == once.documents


def test_the_audit_trail_runs_from_the_amazon_file_to_the_target_id(booked, tally) -> None:
    database, ids = booked
    clock = FakeClock(START)
    emulated = tally.emulator(seed=1, clock=clock, chaos=Chaos.off())
    sync(database, tally, emulated, emulated.mapping, clock)
    trail = trail_for(database, ids[0])
    assert len(trail.raw) == 1 and trail.raw[0].kind == "settlement_report"
    assert trail.entries and trail.documents
    posted = {j["id"] for j in emulated.state.journals}
    for document in trail.documents:
        assert document.status == outbox.DONE and document.target_id in posted
        # The intent is written before the call, the outcome after it.
        attempts = trail.attempts[document.document.key]
        assert [(a["action"], a["outcome"]) for a in attempts] == [
            ("push", "sending"),
            ("push", "created"),
        ]
    as_json = trail.to_dict()
    assert as_json["documents"][0]["target_id"] in posted
