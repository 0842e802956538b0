"""Rollback against the Xero emulator: void or delete per document kind, resumable, re-postable.

Settlements of a generated seller are booked through the booking stage and synced with the
engine's own code; the emulator's state (live objects per document key) is the judge.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ml_connector.core import audit, outbox
from ml_connector.core.amazon.emulator import generate_seller
from ml_connector.core.amazon.settlement_file.writer import write_settlement_v2
from ml_connector.core.booking import book_settlement_document, settlement_status
from ml_connector.core.cli import app
from ml_connector.core.cli.rollback_cmd import shared_emulator
from ml_connector.core.credentials import Credentials
from ml_connector.core.database import Database, open_database
from ml_connector.core.emulation import Chaos, FakeClock
from ml_connector.core.emulation.clock import utcnow
from ml_connector.core.plugins import Target, get_target, make_manager
from ml_connector.core.rollback import ROLLED_BACK, rebook_settlement, rollback_settlement
from ml_connector.core.sync import sync_target
from ml_connector.core.targets import EmulatedTarget
from ml_connector.core.transport import CrashingTransport, SimulatedCrash
from ml_connector.ledger.rules import default_rules

pytest.importorskip("ml_connector.plugins.xero.emulator")

FLOW = "acme-xero"
START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
# The writes that take an object out of Xero: void (invoice, journal) or delete (the rest).
UNDO_WRITE = ("VOIDED", "DELETED")


@dataclass
class XeroWorld:
    database: Database
    target: Target
    emulated: EmulatedTarget
    credentials: Credentials
    clock: FakeClock
    mode: str
    settlements: list[str]
    sent: list[httpx.Request]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return self.emulated.handle(request)

    def client(self, crash_at: int | None = None) -> httpx.Client:
        transport = CrashingTransport(
            httpx.MockTransport(self.handle), crash_at=crash_at, after_apply=True
        )
        return httpx.Client(transport=transport)

    def sync(self) -> Any:
        with self.client() as http:
            return sync_target(
                self.database.ledger,
                flow=FLOW,
                target=self.target,
                mapping=self.emulated.mapping,
                credentials=self.credentials,
                http=http,
                clock=self.clock,
                mode=self.mode,
            )

    def rollback(self, settlement_id: str, crash_at: int | None = None) -> Any:
        with self.client(crash_at) as http:
            session = self.target.connect(credentials=self.credentials, http=http, clock=self.clock)
            return rollback_settlement(
                self.database,
                flow=FLOW,
                target="xero",
                settlement_id=settlement_id,
                session=session,
                plugin=self.target,
                clock=self.clock,
            )

    def documents(self, settlement_id: str) -> list[outbox.OutboxEntry]:
        ids = {e.id for e in self.database.ledger.entries_with_meta("settlement_id", settlement_id)}
        with self.database.engine.begin() as conn:
            return [
                row for row in outbox.entries(conn, flow=FLOW) if ids & set(row.document.entry_ids)
            ]

    def live(self, rows: list[outbox.OutboxEntry]) -> dict[str, int]:
        return dict(self.emulated.count_documents([row.document for row in rows]))

    def undo_writes(self) -> Counter[str]:
        """Per Xero object id, how many void/delete writes reached the emulator."""
        counts: Counter[str] = Counter()
        for request in self.sent:
            if request.method == "POST" and any(w.encode() in request.content for w in UNDO_WRITE):
                counts[request.url.path.rstrip("/").rsplit("/", 1)[-1]] += 1
        return counts


def make_world(tmp_path: Path, mode: str, *, emulated: EmulatedTarget | None = None) -> XeroWorld:
    clock = FakeClock(START)
    database = open_database(f"sqlite:///{tmp_path / 'xero-rollback.sqlite3'}")
    seller = generate_seller(seed=6, orders=10)
    settlements = []
    for header, lines in seller.settlements:
        text = io.StringIO()
        write_settlement_v2(header, lines, text)
        result = book_settlement_document(
            database.ledger,
            flow=FLOW,
            document=text.getvalue().encode(),
            source=f"{header.settlement_id}.txt",
            rules=default_rules(),
            mode=mode,
            now=utcnow(clock),
        )
        if result.status == "booked":
            settlements.append(header.settlement_id)
    target = get_target(make_manager(), "xero")
    emulated = emulated or target.emulator(seed=7, clock=clock, chaos=Chaos.off())
    credentials = Credentials(emulated.credentials, on_save=emulated.credentials.__setitem__)
    world = XeroWorld(database, target, emulated, credentials, clock, mode, settlements, [])
    synced = world.sync()
    assert synced.push.failed == 0 and synced.render.problems == []
    assert len(settlements) >= 2
    return world


@pytest.fixture(params=["summary", "per-order"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[XeroWorld]:
    made = make_world(tmp_path, request.param)
    yield made
    made.database.engine.dispose()


def nets(database: Database, settlement_id: str) -> dict[tuple[str, str], Decimal]:
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for entry in database.ledger.entries_with_meta("settlement_id", settlement_id):
        for posting in entry.postings:
            sums[(posting.account, posting.currency)] += posting.amount
    return {k: v for k, v in sums.items() if v != 0}


def test_rollback_voids_or_deletes_every_object_and_nets_the_ledger_to_zero(
    world: XeroWorld,
) -> None:
    sid, other = world.settlements[-1], world.settlements[0]
    posted = world.documents(sid)
    assert set(world.live(posted).values()) == {1}
    report = world.rollback(sid)
    assert report.complete and len(report.undone) == len(posted)
    assert set(world.live(posted).values()) == {0}
    assert set(world.live(world.documents(other)).values()) == {1}
    assert nets(world.database, sid) == {}
    with world.database.engine.begin() as conn:
        assert settlement_status(conn, flow=FLOW, settlement_id=sid).status == ROLLED_BACK
    trail = audit.trail_for(world.database, sid)
    for document in trail.documents:
        actions = [(a["action"], a["outcome"]) for a in trail.attempts[document.document.key]]
        assert actions[-1] == ("undo", "created"), actions


def test_payments_are_undone_before_the_invoices_they_pay(tmp_path: Path) -> None:
    world = make_world(tmp_path, "per-order")
    sid = world.settlements[0]  # the generated seller's first settlement pays three invoices
    kinds = Counter(row.document.kind for row in world.documents(sid))
    assert kinds["payment"] and kinds["invoice"]
    world.rollback(sid)
    trail = audit.trail_for(world.database, sid)
    undone_at = {
        key: next(a["id"] for a in attempts if a["action"] == "undo" and a["outcome"] == "created")
        for key, attempts in trail.attempts.items()
    }
    for row in world.documents(sid):
        for dependency in row.document.depends_on:
            assert undone_at[row.document.key] < undone_at[dependency]


@pytest.mark.parametrize("crash_at", [3, 6, 9])
def test_a_killed_rollback_resumes_and_each_object_is_voided_once(
    tmp_path: Path, crash_at: int
) -> None:
    world = make_world(tmp_path, "per-order")
    sid = world.settlements[0]
    posted = world.documents(sid)
    assert len(posted) >= 6
    with pytest.raises(SimulatedCrash):
        world.rollback(sid, crash_at=crash_at)
    report = world.rollback(sid)
    assert report.complete
    assert set(world.live(posted).values()) == {0}
    writes = world.undo_writes()
    assert writes and set(writes.values()) == {1}, writes
    assert nets(world.database, sid) == {}


@pytest.mark.parametrize("mode", ["summary", "per-order"])
def test_re_booking_and_re_posting_after_a_rollback_posts_each_document_once(
    tmp_path: Path, mode: str
) -> None:
    world = make_world(tmp_path, mode)
    sid = world.settlements[-1]
    old = world.documents(sid)
    world.rollback(sid)
    result = rebook_settlement(
        world.database, flow=FLOW, settlement_id=sid, rules=default_rules(), now=utcnow(world.clock)
    )
    assert result.status == "booked", result.reason
    synced = world.sync()
    assert synced.push.failed == 0 and synced.push.created == len(old)
    fresh = [row for row in world.documents(sid) if row.status == outbox.DONE]
    assert len(fresh) == len(old)
    assert set(world.live(fresh).values()) == {1}
    assert set(world.live(old).values()) == {0}
    assert world.sync().push.created == 0
    assert set(world.live(fresh).values()) == {1}


def test_the_rollback_command_runs_against_the_in_process_emulator(tmp_path: Path) -> None:
    seed = 41
    clock = FakeClock(START)
    emulated = shared_emulator(get_target(make_manager(), "xero"), seed, clock)
    world = make_world(tmp_path, "summary", emulated=emulated)
    sid = world.settlements[-1]
    posted = world.documents(sid)
    url = str(world.database.engine.url)
    args = ["rollback", sid, "--flow", FLOW, "--db", url, "--emulator", str(seed), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["status"] == ROLLED_BACK and len(report["undone"]) == len(posted)
    assert set(world.live(posted).values()) == {0}
    again = CliRunner().invoke(app, args[:-1])
    assert again.exit_code == 0 and "already rolled back" in again.stdout
    missing = CliRunner().invoke(
        app,
        [
            "rollback",
            "404",
            "--flow",
            FLOW,
            "--db",
            url,
            "--target",
            "xero",
            "--emulator",
            str(seed),
        ],
    )
    assert missing.exit_code == 1 and "no settlement '404'" in missing.output
