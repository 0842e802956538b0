"""Rollback of a posted settlement, end to end through the engine, against a tiny target.

The target is ``tests/core/tiny_target.py`` (Tally) plus an ``undo`` hook and a void endpoint on
its emulator, defined here: a new target needs nothing more to be rolled back. Settlements come
from a generated seller, written as V2 flat files and booked through the booking stage, so the
raw store holds them and :func:`rebook_settlement` can book them again.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import tiny_target

from ml_connector.core import audit, outbox
from ml_connector.core.alerts import list_alerts
from ml_connector.core.amazon.emulator import generate_seller
from ml_connector.core.amazon.settlement_file.writer import write_settlement_v2
from ml_connector.core.booking import book_settlement_document, settlement_status
from ml_connector.core.credentials import Credentials
from ml_connector.core.database import Database, open_database
from ml_connector.core.emulation import Chaos, FakeClock
from ml_connector.core.emulation.clock import utcnow
from ml_connector.core.errors import ConfigError
from ml_connector.core.hookspecs import hookimpl
from ml_connector.core.plugins import Target, get_target, make_manager
from ml_connector.core.revisions import (
    META_REVISION,
    as_revision,
    booking_revision,
    live_entries,
    revised_id,
)
from ml_connector.core.rollback import (
    ROLLED_BACK,
    RollbackError,
    rebook_settlement,
    rollback_settlement,
    undo_order,
)
from ml_connector.core.sync import render_flow, sync_target
from ml_connector.core.targets import Document, Outcome, PushOutcome
from ml_connector.core.transport import CrashingTransport, SimulatedCrash
from ml_connector.ledger.entries import JournalEntry, Posting, entry_id, reverse
from ml_connector.ledger.rules import default_rules

FLOW = "acme-tally"
START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
VOID = re.compile(r"^/api/journals/(?P<id>[^/]+)/void$")


# -- Tally with undo ------------------------------------------------------------------------------


class VoidingTally:
    """Tally's emulator plus ``POST /journals/{id}/void``; counts every void it applies."""

    def __init__(self, inner: tiny_target.TallyEmulator) -> None:
        self.inner = inner
        self.voids: Counter[str] = Counter()
        self.void_order: list[str] = []
        self.refuse: dict[str, str] = {}  # journal id -> error text

    def handle(self, request: httpx.Request) -> httpx.Response:
        match = VOID.match(request.url.path)
        if request.method != "POST" or match is None:
            return self.inner.handle(request)
        if request.headers.get("authorization") != f"Bearer {self.inner.token}":
            return httpx.Response(401, json={"error": "unauthorized"})
        journal = next((j for j in self.inner.journals if j["id"] == match["id"]), None)
        if journal is None:
            return httpx.Response(404, json={"error": f"no journal {match['id']}"})
        if match["id"] in self.refuse:
            return httpx.Response(422, json={"error": self.refuse[match["id"]]})
        if journal.get("status") == "voided":
            return httpx.Response(409, json={"error": "already voided"})
        journal["status"] = "voided"
        self.voids[match["id"]] += 1
        self.void_order.append(match["id"])
        return httpx.Response(200, json={"id": match["id"], "status": "voided"})

    def live(self, ref: str) -> int:
        return sum(
            1 for j in self.inner.journals if j["ref"] == ref and j.get("status") != "voided"
        )


class TallyWithUndo:
    """The tiny target's hooks, plus ``undo`` (void; a second void answers ``exists``)."""

    target_info = staticmethod(tiny_target.target_info)
    connect = staticmethod(tiny_target.connect)
    render = staticmethod(tiny_target.render)
    push = staticmethod(tiny_target.push)
    look_up = staticmethod(tiny_target.look_up)

    @hookimpl
    def undo(self, session: Any, document: Document, target_id: str) -> PushOutcome:
        response = session.http.post(
            f"{tiny_target.BASE}/journals/{target_id}/void", headers=session.headers
        )
        if response.status_code == 200:
            return PushOutcome(document.key, Outcome.CREATED, target_id=target_id)
        if response.status_code == 409:
            return PushOutcome(document.key, Outcome.EXISTS, target_id=target_id)
        return PushOutcome(
            document.key, Outcome.FAILED, target_id=target_id, message=response.json()["error"]
        )


# -- a flow against it ----------------------------------------------------------------------------


@dataclass
class World:
    database: Database
    target: Target
    emulator: VoidingTally
    credentials: Credentials
    clock: FakeClock
    mode: str
    settlements: list[str] = field(default_factory=list)
    calls: int = 0

    def client(self, *, crash_at: int | None = None, after_apply: bool = False) -> httpx.Client:
        transport = CrashingTransport(
            httpx.MockTransport(self.emulator.handle), crash_at=crash_at, after_apply=after_apply
        )
        return httpx.Client(transport=transport)

    def sync(self, flow: str = FLOW) -> Any:
        with self.client() as http:
            return sync_target(
                self.database.ledger,
                flow=flow,
                target=self.target,
                mapping=tiny_target.emulator(seed=1, clock=self.clock, chaos=Chaos.off()).mapping,
                credentials=self.credentials,
                http=http,
                clock=self.clock,
                mode=self.mode,
            )

    def rollback(
        self,
        settlement_id: str,
        *,
        flow: str = FLOW,
        crash_at: int | None = None,
        after_apply: bool = False,
    ) -> Any:
        with self.client(crash_at=crash_at, after_apply=after_apply) as http:
            session = self.target.connect(credentials=self.credentials, http=http, clock=self.clock)
            return rollback_settlement(
                self.database,
                flow=flow,
                target="tally",
                settlement_id=settlement_id,
                session=session,
                plugin=self.target,
                clock=self.clock,
            )

    def documents(self, settlement_id: str, flow: str = FLOW) -> list[outbox.OutboxEntry]:
        ids = {e.id for e in self.database.ledger.entries_with_meta("settlement_id", settlement_id)}
        with self.database.engine.begin() as conn:
            return [
                row for row in outbox.entries(conn, flow=flow) if ids & set(row.document.entry_ids)
            ]

    def status(self, settlement_id: str, flow: str = FLOW) -> str:
        with self.database.engine.begin() as conn:
            return str(settlement_status(conn, flow=flow, settlement_id=settlement_id).status)


def book_seller(database: Database, flow: str, mode: str, clock: FakeClock) -> list[str]:
    """Book a small generated seller's settlements from V2 flat files; their ids."""
    seller = generate_seller(seed=4, orders=12)
    booked = []
    for header, lines in seller.settlements:
        text = io.StringIO()
        write_settlement_v2(header, lines, text)
        result = book_settlement_document(
            database.ledger,
            flow=flow,
            document=text.getvalue().encode(),
            source=f"{header.settlement_id}.txt",
            rules=default_rules(),
            mode=mode,
            now=utcnow(clock),
        )
        if result.status == "booked":
            booked.append(header.settlement_id)
    return booked


def make_world(tmp_path: Path, mode: str = "summary") -> World:
    clock = FakeClock(START)
    database = open_database(f"sqlite:///{tmp_path / 'rollback.sqlite3'}")
    manager = make_manager([("tally", TallyWithUndo())], load_entry_points=False)
    inner = tiny_target.TallyEmulator(Chaos.off(), token="tally-token")
    world = World(
        database=database,
        target=get_target(manager, "tally"),
        emulator=VoidingTally(inner),
        credentials=Credentials({"token": "tally-token"}),
        clock=clock,
        mode=mode,
    )
    world.settlements = book_seller(database, FLOW, mode, clock)
    assert len(world.settlements) >= 2
    return world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = make_world(tmp_path)
    made.sync()
    yield made
    made.database.engine.dispose()


def balances(entries: Sequence[JournalEntry]) -> dict[tuple[str, str], Decimal]:
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for entry in entries:
        for posting in entry.postings:
            sums[(posting.account, posting.currency)] += posting.amount
    return {k: v for k, v in sums.items() if v != 0}


# -- rollback -------------------------------------------------------------------------------------


def test_rollback_voids_the_settlement_in_the_target_and_reverses_it_in_the_ledger(
    world: World,
) -> None:
    sid, other = world.settlements[0], world.settlements[1]
    posted = world.documents(sid)
    assert posted and all(row.status == outbox.DONE for row in posted)
    report = world.rollback(sid)

    assert report.complete and report.status == ROLLED_BACK
    assert sorted(step.key for step in report.undone) == sorted(r.document.key for r in posted)
    assert {world.emulator.voids[row.target_id or ""] for row in posted} == {1}
    assert all(world.emulator.live(row.document.key) == 0 for row in posted)
    assert all(row.status == outbox.UNDONE for row in world.documents(sid))
    # The other settlement is untouched, in the target and in the books.
    assert all(world.emulator.live(row.document.key) == 1 for row in world.documents(other))
    assert world.status(other) == "booked"

    entries = world.database.ledger.entries_with_meta("settlement_id", sid)
    originals = [e for e in entries if e.reverses is None]
    reversals = [e for e in entries if e.reverses is not None]
    assert sorted(r.reverses or "" for r in reversals) == sorted(e.id for e in originals)
    assert report.entries_reversed == report.reversals_written == len(originals)
    assert balances(entries) == {}
    assert live_entries(entries) == []
    assert world.status(sid) == ROLLED_BACK


def test_the_audit_trail_shows_every_step_of_the_rollback(world: World) -> None:
    sid = world.settlements[0]
    world.rollback(sid)
    trail = audit.trail_for(world.database, sid)
    assert any(e.reverses for e in trail.entries)
    for document in trail.documents:
        steps = [(a["action"], a["outcome"]) for a in trail.attempts[document.document.key]]
        assert steps[-2:] == [("undo", "sending"), ("undo", "created")], steps
        assert ("push", "created") in steps


def test_documents_are_undone_in_reverse_push_order(world: World) -> None:
    sid = world.settlements[0]
    pushed = sorted(world.documents(sid), key=lambda r: int(r.target_id.lstrip("T")))  # type: ignore[union-attr]
    world.rollback(sid)
    assert world.emulator.void_order == [r.target_id for r in reversed(pushed)]


def _row(key: str, seq: int, depends_on: tuple[str, ...] = ()) -> outbox.OutboxEntry:
    document = Document(
        key=key,
        kind="payment" if depends_on else "invoice",
        source_ref="amazon:settlement:1",
        entry_ids=("je_x",),
        idempotency_key=key,
        payload={},
        depends_on=depends_on,
    )
    return outbox.OutboxEntry(document, FLOW, "tally", outbox.DONE, "id-" + key, "", 1, seq)


def test_undo_order_puts_every_dependent_before_what_it_depends_on() -> None:
    invoice_a, invoice_b = _row("inv-a", 1), _row("inv-b", 2)
    pay_a, pay_b = _row("pay-a", 3, ("inv-a",)), _row("pay-b", 4, ("inv-b",))
    journal = _row("journal", 5)
    pushed = {"inv-a": 10, "inv-b": 11, "pay-a": 12, "pay-b": 13, "journal": 14}
    order = [
        r.document.key for r in undo_order([invoice_a, invoice_b, pay_a, pay_b, journal], pushed)
    ]
    assert order == ["journal", "pay-b", "pay-a", "inv-b", "inv-a"]
    # Positions that contradict the dependencies (confirmed by hand, say) do not win.
    confused = {"inv-a": 20, "pay-a": 1}
    order = [r.document.key for r in undo_order([invoice_a, pay_a], confused)]
    assert order == ["pay-a", "inv-a"]
    with pytest.raises(ConfigError, match="cycle"):
        undo_order([_row("a", 1, ("b",)), _row("b", 2, ("a",))], {})


@pytest.mark.parametrize("after_apply", [False, True], ids=["killed-before", "killed-after"])
def test_a_rollback_killed_half_way_resumes_and_undoes_each_document_once(
    world: World, after_apply: bool
) -> None:
    sid = world.settlements[0]
    posted = world.documents(sid)
    assert len(posted) >= 2
    with pytest.raises(SimulatedCrash):
        world.rollback(sid, crash_at=2, after_apply=after_apply)
    statuses = Counter(row.status for row in world.documents(sid))
    assert statuses[outbox.UNDONE] == 1 and statuses[outbox.DONE] == len(posted) - 1
    assert world.status(sid) == "booked"

    report = world.rollback(sid)
    assert report.complete and report.already_undone == 1
    assert {world.emulator.voids[row.target_id or ""] for row in posted} == {1}
    assert all(row.status == outbox.UNDONE for row in world.documents(sid))
    assert balances(world.database.ledger.entries_with_meta("settlement_id", sid)) == {}
    interrupted = next(row for row in posted if row.target_id == world.emulator.void_order[1])
    steps = [
        (a["action"], a["outcome"])
        for a in audit.trail_for(world.database, sid).attempts[interrupted.document.key]
        if a["action"] == "undo"
    ]
    expected_end = "exists" if after_apply else "created"
    assert steps == [("undo", "sending"), ("undo", "sending"), ("undo", expected_end)]


def test_running_a_finished_rollback_again_does_nothing(world: World) -> None:
    sid = world.settlements[0]
    world.rollback(sid)
    calls = world.emulator.inner.calls
    count = world.database.ledger.count()
    again = world.rollback(sid)
    assert again.complete and again.undone == [] and again.reversals_written == 0
    assert world.emulator.inner.calls == calls and world.database.ledger.count() == count


def test_a_refused_undo_stops_with_the_targets_words_and_a_rerun_finishes(world: World) -> None:
    sid = world.settlements[0]
    posted = world.documents(sid)
    victim = posted[0].target_id or ""
    world.emulator.refuse[victim] = "journal is in a locked period"
    with pytest.raises(RollbackError, match="locked period") as caught:
        world.rollback(sid)
    assert caught.value.report.status == ""
    assert world.status(sid) == "booked"
    assert balances(world.database.ledger.entries_with_meta("settlement_id", sid)) != {}
    with world.database.engine.begin() as conn:
        alerts = [a for a in list_alerts(conn, flow=FLOW) if a.kind == "rollback_failed"]
    assert len(alerts) == 1 and "locked period" in alerts[0].message and sid in alerts[0].message

    del world.emulator.refuse[victim]
    report = world.rollback(sid)
    assert report.complete
    assert {world.emulator.voids[row.target_id or ""] for row in posted} == {1}
    with world.database.engine.begin() as conn:
        assert not [a for a in list_alerts(conn, flow=FLOW) if a.kind == "rollback_failed"]


def test_unknown_or_unposted_settlements_and_unsettled_documents_are_refused(
    world: World,
) -> None:
    with pytest.raises(ConfigError, match="no settlement 'nope'"):
        world.rollback("nope")
    sid = world.settlements[0]
    key = world.documents(sid)[0].document.key
    with world.database.engine.begin() as conn:
        outbox.set_status(conn, key, outbox.IN_DOUBT, now=utcnow(world.clock))
    with pytest.raises(ConfigError, match=f"{re.escape(key)} .*in doubt"):
        world.rollback(sid)
    with world.database.engine.begin() as conn:
        outbox.set_status(conn, key, outbox.SENDING, now=utcnow(world.clock))
    with pytest.raises(ConfigError, match=f"{re.escape(key)} .*being sent"):
        world.rollback(sid)
    assert world.emulator.voids == Counter()


def test_documents_never_posted_are_cancelled_and_never_pushed_later(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    sid = world.settlements[0]
    render_flow(
        world.database.ledger,
        flow=FLOW,
        target=world.target,
        mapping=tiny_target.emulator(seed=1, clock=world.clock, chaos=Chaos.off()).mapping,
        mode="summary",
        now=utcnow(world.clock),
    )
    pending = world.documents(sid)
    assert pending and {row.status for row in pending} == {outbox.PENDING}
    report = world.rollback(sid)
    assert report.complete and report.undone == []
    assert sorted(s.key for s in report.cancelled) == sorted(r.document.key for r in pending)
    world.sync()
    assert all(world.emulator.live(row.document.key) == 0 for row in pending)
    assert world.emulator.voids == Counter()


# -- booking again and re-posting -----------------------------------------------------------------


def test_a_rolled_back_settlement_is_booked_again_on_new_ids_and_re_posted_once(
    world: World,
) -> None:
    # The newest settlement: booking checks its reserve lines against the reserve the books
    # hold before it, which for an older settlement would include its successors' moves.
    sid = world.settlements[-1]
    first = world.documents(sid)
    world.rollback(sid)
    result = rebook_settlement(
        world.database, flow=FLOW, settlement_id=sid, rules=default_rules(), now=utcnow(world.clock)
    )
    assert result.status == "booked", result.reason
    assert result.entries_written == len(first)
    assert world.status(sid) == "booked"
    entries = world.database.ledger.entries_with_meta("settlement_id", sid)
    revision = live_entries(entries)
    assert {e.meta[META_REVISION] for e in revision} == {"1"}
    assert not {e.id for e in revision} & {i for r in first for i in r.document.entry_ids}

    synced = world.sync()
    assert synced.push.created == len(first) and synced.push.failed == 0
    fresh = [r for r in world.documents(sid) if r.status == outbox.DONE]
    assert len(fresh) == len(first)
    assert not {r.document.key for r in fresh} & {r.document.key for r in first}
    assert all(world.emulator.live(r.document.key) == 1 for r in fresh)
    assert all(world.emulator.live(r.document.key) == 0 for r in first)
    # The books hold exactly one standing copy of the settlement.
    assert balances(entries) == balances(revision)
    assert world.sync().push.created == 0

    # Rolling the re-posted settlement back and booking it again makes revision 2.
    assert world.rollback(sid).complete
    assert all(world.emulator.live(r.document.key) == 0 for r in fresh)
    rebook_settlement(
        world.database, flow=FLOW, settlement_id=sid, rules=default_rules(), now=utcnow(world.clock)
    )
    again = live_entries(world.database.ledger.entries_with_meta("settlement_id", sid))
    assert {e.meta[META_REVISION] for e in again} == {"2"}


def test_only_a_rolled_back_settlement_is_booked_again(world: World) -> None:
    with pytest.raises(ConfigError, match="not rolled back"):
        rebook_settlement(
            world.database,
            flow=FLOW,
            settlement_id=world.settlements[0],
            rules=default_rules(),
            now=utcnow(world.clock),
        )


def test_two_flows_sharing_the_entries_reverse_the_ledger_when_the_last_one_rolls_back(
    world: World,
) -> None:
    sid = world.settlements[0]
    book_seller(world.database, "acme-second", "summary", world.clock)
    world.sync("acme-second")
    first = world.rollback(sid)
    assert first.status == "waiting" and first.waiting_for == ("acme-second",)
    assert balances(world.database.ledger.entries_with_meta("settlement_id", sid)) != {}
    second = world.rollback(sid, flow="acme-second")
    assert second.complete and second.entries_reversed > 0
    assert world.status(sid) == world.status(sid, "acme-second") == ROLLED_BACK
    assert balances(world.database.ledger.entries_with_meta("settlement_id", sid)) == {}


# -- revisions ------------------------------------------------------------------------------------


def _entry(name: str) -> JournalEntry:
    return JournalEntry(
        id=entry_id("test", name),
        date=dt.date(2026, 10, 1),
        description=name,
        source_ref="amazon:settlement:S1",
        postings=(
            Posting("Assets:Amazon:Clearing:US", Decimal("10.00"), "USD"),
            Posting("Income:Amazon:Sales", Decimal("-10.00"), "USD"),
        ),
        meta={"settlement_id": "S1"},
    )


def test_revisions_keep_first_ids_and_move_to_new_ids_only_after_a_full_reversal(
    tmp_path: Path,
) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'revisions.sqlite3'}")
    ledger = database.ledger
    booked = [_entry("a"), _entry("b")]

    def revision() -> int:
        with database.engine.begin() as conn:
            return booking_revision(conn, booked, settlement_id="S1")

    assert revision() == 0
    ledger.write(booked)
    assert revision() == 0  # booking the same settlement again is the ledger's no-op
    ledger.write([reverse(booked[0])])
    with pytest.raises(ConfigError, match="partly reversed"):
        revision()
    ledger.write([reverse(booked[1])])
    assert revision() == 1
    second = [as_revision(e, 1) for e in booked]
    assert [e.id for e in second] == [revised_id(e.id, 1) for e in booked]
    assert all(e.meta["base_entry"] == b.id for e, b in zip(second, booked, strict=True))
    ledger.write(second)
    assert revision() == 1
    assert live_entries(ledger.entries_with_meta("settlement_id", "S1")) == sorted(
        second, key=lambda e: (e.date, e.id)
    )
    database.engine.dispose()
