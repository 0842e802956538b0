"""The plugin against the Wave emulator through the engine's own sync, crash and replay paths.

The emulator was written separately from the same contract; a misreading on either side shows up
here as a failing push, a missed look-up or a duplicate counted from the emulator's own state.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import ml_connector.plugins.wave as wave
from ml_connector.core import outbox
from ml_connector.core.alerts import list_alerts
from ml_connector.core.database import open_database
from ml_connector.core.emulation import Chaos, FakeClock
from ml_connector.core.emulation.clock import utcnow
from ml_connector.core.plugins import get_target, make_manager
from ml_connector.core.transport import SimulatedCrash
from ml_connector.plugins.wave.render import MONEY_TRANSACTION
from ml_connector.testing.harness import START, TargetHarness, book_generated_seller


def harness(tmp_path: Path, *, mode: str, dedup: bool = False, seed: int = 4) -> TargetHarness:
    target = get_target(make_manager(), "wave")
    clock = FakeClock(START)
    database = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    flow = "wave-e2e"
    book_generated_seller(database.ledger, flow=flow, seed=seed, orders=15, mode=mode, clock=clock)
    emulated = wave.emulated_target(
        seed=seed, clock=clock, chaos=Chaos.off(), external_id_dedup=dedup
    )
    return TargetHarness(
        target=target, ledger=database.ledger, emulated=emulated, clock=clock, flow=flow, mode=mode
    )


@pytest.mark.parametrize("mode", ["summary", "per-order"])
def test_a_sync_posts_every_document_once_with_valid_requests(tmp_path: Path, mode: str) -> None:
    h = harness(tmp_path, mode=mode)
    records = h.record_sync(tmp_path / "requests")
    documents = h.documents()
    assert documents and h.statuses() == {outbox.DONE: len(documents)}
    assert h.census(documents) == {d.key: 1 for d in documents}
    kinds = {d.kind for d in documents}
    assert MONEY_TRANSACTION in kinds and (mode == "summary" or "invoice" in kinds)
    for record in records:
        problems = wave.validate_request(
            method=record["method"],
            url=record["url"],
            headers=record["headers"],
            body=record["body"],
        )
        assert problems == [], (record["url"], problems)
    # A second run has nothing to send and sends nothing.
    again = h.sync()
    assert again.push.created == 0 and again.render.added == 0
    # The books balance: every clearing account the settlements and payouts used nets to zero.
    business = h.emulated.state.state.businesses[h.emulated.state.business_id]
    transfer = h.mapping.options["transfer_account"]
    assert business.account_balance(transfer) == 0


class CrashAfterMoneyTransaction(httpx.BaseTransport):
    """Lets the first moneyTransactionCreate reach Wave, then dies before the answer is read."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.crashed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not self.crashed and b"moneyTransactionCreate" in request.content:
            self.crashed = True
            raise SimulatedCrash("killed after the money transaction was applied")
        return response


def _sync_crashing(h: TargetHarness) -> None:
    from ml_connector.core.sync import sync_target

    transport = CrashAfterMoneyTransaction(httpx.MockTransport(h.emulated.handle))
    with (
        pytest.raises(SimulatedCrash),
        httpx.Client(transport=transport) as http,
    ):
        sync_target(
            h.ledger,
            flow=h.flow,
            target=h.target,
            mapping=h.mapping,
            credentials=h.credentials,
            http=http,
            clock=h.clock,
            mode=h.mode,
        )


@pytest.mark.parametrize("dedup", [False, True])
def test_a_crash_after_the_write_holds_the_transaction_in_doubt_never_resent(
    tmp_path: Path, dedup: bool
) -> None:
    h = harness(tmp_path, mode="summary", dedup=dedup)
    _sync_crashing(h)
    h.sync()
    h.sync()
    documents = h.documents()
    with h.ledger.engine.begin() as conn:
        doubtful = outbox.entries(conn, flow=h.flow, statuses=[outbox.IN_DOUBT])
        alerts = [a for a in list_alerts(conn, flow=h.flow) if a.kind == "in_doubt"]
    (held,) = doubtful
    assert held.document.kind == MONEY_TRANSACTION
    assert h.census([held.document]) == {held.document.key: 1}, "applied once, never re-sent"
    others = [d for d in documents if d.key != held.document.key]
    assert h.census(others) == {d.key: 1 for d in others}
    (alert,) = alerts
    for fact in (held.document.payload["externalId"], held.document.payload["date"], "--confirm"):
        assert fact in alert.message

    # The user answers the alert with --resend (say they did not find it in Wave).
    with h.ledger.engine.begin() as conn:
        outbox.settle_in_doubt(
            conn, held.document.key, target_id=None, resend=True, now=utcnow(h.clock)
        )
    h.sync()
    count = h.census([held.document])[held.document.key]
    # Wave documents no externalId dedup: a re-send duplicates unless the hypothetical dedup is on.
    assert count == (1 if dedup else 2)


def test_confirming_a_transaction_found_in_wave_finishes_it(tmp_path: Path) -> None:
    h = harness(tmp_path, mode="per-order")
    _sync_crashing(h)
    h.sync()
    with h.ledger.engine.begin() as conn:
        (held,) = outbox.entries(conn, flow=h.flow, statuses=[outbox.IN_DOUBT])
    business = h.emulated.state.state.businesses[h.emulated.state.business_id]
    found = next(
        t.id
        for t in business.money_transactions.values()
        if t.external_id == held.document.payload["externalId"]
    )
    with h.ledger.engine.begin() as conn:
        outbox.settle_in_doubt(
            conn, held.document.key, target_id=found, resend=False, now=utcnow(h.clock)
        )
    h.sync()
    documents = h.documents()
    assert h.statuses() == {outbox.DONE: len(documents)}
    assert h.census(documents) == {d.key: 1 for d in documents}


def test_the_default_chaos_mix_leaves_nothing_twice(tmp_path: Path) -> None:
    h = harness(tmp_path, mode="per-order", seed=6)
    h.emulated.state.chaos = Chaos.default(seed=6)
    for _run in range(4):
        h.sync()
    documents = h.documents()
    census = h.census(documents)
    with h.ledger.engine.begin() as conn:
        status = {e.document.key: e.status for e in outbox.entries(conn, flow=h.flow)}
    for document in documents:
        assert census[document.key] <= 1, document.key
        if status[document.key] == outbox.IN_DOUBT:
            assert document.kind == MONEY_TRANSACTION
        elif status[document.key] == outbox.DONE:
            assert census[document.key] == 1, document.key
