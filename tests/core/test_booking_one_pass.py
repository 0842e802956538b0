"""Per-order booking in one pass: the same books as two passes, whole or not at all.

``book_settlement_document`` makes per-order mode's order entries while the lines stream (an
order's lines are adjacent in Amazon's files) and falls back to two passes when they are not;
the raw copy goes through a temporary file. These tests hold both paths to the entries the
in-memory :func:`book_settlement` makes, and the one-pass path to its promises: a hold writes
no entry, a rolled-back settlement books as a new revision.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import hashlib
import io
import random
from collections.abc import Sequence

import pytest

from ml_connector.core import booking as booking_module
from ml_connector.core import rawstore
from ml_connector.core.alerts import list_alerts
from ml_connector.core.amazon.emulator import generate_seller
from ml_connector.core.amazon.settlement_file import write_settlement_v2
from ml_connector.core.booking import BOOKED, HOLD, book_settlement_document, set_settlement_status
from ml_connector.core.database import Database, open_database
from ml_connector.core.revisions import META_REVISION, live_entries
from ml_connector.ledger.entries import JournalEntry, reverse
from ml_connector.ledger.posting import book_settlement
from ml_connector.ledger.rules import default_rules
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine

NOW = dt.datetime(2026, 10, 2, tzinfo=dt.UTC)
FLOW = "shop-us"
PER_ORDER = "per-order"


@pytest.fixture
def database(db_url: str) -> Database:
    return open_database(db_url)


@pytest.fixture(scope="module")
def settlement() -> tuple[SettlementHeader, list[SettlementLine]]:
    seller = generate_seller(seed=23, orders=40, marketplaces=("US",))
    header, lines = max(seller.settlements, key=lambda s: len(s[1]))
    return header, list(lines)


def flat_file(header: SettlementHeader, lines: Sequence[SettlementLine]) -> bytes:
    text = io.StringIO()
    write_settlement_v2(header, lines, text)
    return text.getvalue().encode()


def book(database: Database, document: bytes, **options: object):  # type: ignore[no-untyped-def]
    kwargs = {
        "flow": FLOW,
        "source": "settlement.txt",
        "rules": default_rules(),
        "now": NOW,
        "mode": PER_ORDER,
    }
    kwargs.update(options)
    return book_settlement_document(database.ledger, document=document, **kwargs)  # type: ignore[arg-type]


def stored_entries(database: Database, settlement_id: str) -> list[JournalEntry]:
    return database.ledger.entries_with_meta("settlement_id", settlement_id)


def expected_hashes(header: SettlementHeader, lines: Sequence[SettlementLine]) -> dict[str, str]:
    booked = book_settlement(header, lines, default_rules(), mode=PER_ORDER)
    assert booked.booked
    return {entry.id: entry.content_hash for entry in booked.entries}


def count_two_pass_plans(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the plans made on the two-pass path (the one-pass path makes none)."""
    calls: list[int] = []
    two_pass = booking_module._plan

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return two_pass(*args, **kwargs)

    monkeypatch.setattr(booking_module, "_plan", counting)
    return calls


def test_one_pass_books_what_two_passes_book(database, settlement, monkeypatch) -> None:
    header, lines = settlement
    plans = count_two_pass_plans(monkeypatch)
    result = book(database, flat_file(header, lines))
    assert result.status == BOOKED
    assert plans == [], "adjacent order lines book in one pass"
    stored = {
        entry.id: entry.content_hash for entry in stored_entries(database, header.settlement_id)
    }
    assert stored == expected_hashes(header, lines)
    assert result.entries_written == len(stored)
    assert any(entry.kind == "order" for entry in stored_entries(database, header.settlement_id))


def test_orders_whose_lines_come_apart_fall_back_to_two_passes(
    database, settlement, monkeypatch
) -> None:
    header, lines = settlement
    shuffled = list(lines)
    random.Random(5).shuffle(shuffled)
    plans = count_two_pass_plans(monkeypatch)
    result = book(database, flat_file(header, shuffled))
    assert result.status == BOOKED
    assert plans == [1], "the one pass gave up and the file was read again"
    stored = {
        entry.id: entry.content_hash for entry in stored_entries(database, header.settlement_id)
    }
    assert stored == expected_hashes(header, lines), "nothing of the abandoned pass was kept"
    assert result.entries_written == len(stored)


def test_an_invoiced_line_of_no_known_marketplace_falls_back(database, settlement) -> None:
    header, lines = settlement
    index = next(
        i for i, line in enumerate(lines) if line.transaction_type == "Order" and line.order_id
    )
    blank = [*lines[:index], dataclasses.replace(lines[index], marketplace=""), *lines[index + 1 :]]
    result = book(database, flat_file(header, blank))
    assert result.status == BOOKED
    stored = {
        entry.id: entry.content_hash for entry in stored_entries(database, header.settlement_id)
    }
    assert stored == expected_hashes(header, blank)


def test_a_held_settlement_keeps_none_of_the_order_entries_already_made(
    database, settlement, monkeypatch
) -> None:
    header, lines = settlement
    short = dataclasses.replace(header, total_amount=header.total_amount + 1)
    document = flat_file(short, lines)
    # Small chunks: order entries are written while the lines stream, before the hold is known.
    monkeypatch.setattr(booking_module, "WRITE_CHUNK", 3)
    result = book(database, document)
    assert result.status == HOLD and result.entries_written == 0
    assert database.ledger.count() == 0, "a settlement books whole or not at all"
    with database.engine.begin() as conn:
        assert [alert.kind for alert in list_alerts(conn, flow=FLOW)] == ["hold"]
        (raw,) = rawstore.records_for(conn, amazon_id=header.settlement_id)
    assert gzip.decompress(raw.body) == document


def test_a_rolled_back_settlement_books_again_as_a_new_revision(database, settlement) -> None:
    header, lines = settlement
    document = flat_file(header, lines)
    first = book(database, document)
    booked = stored_entries(database, header.settlement_id)
    database.ledger.write([reverse(entry, reason="rolled back") for entry in booked])
    with database.engine.begin() as conn:
        set_settlement_status(
            conn,
            flow=FLOW,
            settlement_id=header.settlement_id,
            status="rolled-back",
            source="settlement.txt",
            mode=PER_ORDER,
            now=NOW,
        )
    again = book(database, document)
    assert again.status == BOOKED and again.entries_written == first.entries_written
    live = live_entries(stored_entries(database, header.settlement_id))
    assert len(live) == len(booked)
    assert {entry.meta[META_REVISION] for entry in live} == {"1"}


def test_the_raw_copy_is_the_document_compressed_as_before(database, settlement) -> None:
    header, lines = settlement
    document = flat_file(header, lines)
    book(database, document, mode="summary")
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=1, mtime=0) as packed:
        packed.write(document)
    with database.engine.begin() as conn:
        (raw,) = rawstore.records_for(conn, amazon_id=header.settlement_id)
    assert raw.body == buffer.getvalue()
    assert raw.content_hash == hashlib.sha256(buffer.getvalue()).hexdigest()


def test_store_raw_stream_refuses_a_body_shorter_than_announced(database) -> None:
    with database.engine.begin() as conn, pytest.raises(Exception, match="short"):
        rawstore.store_raw_stream(
            conn,
            flow=FLOW,
            kind="settlement_report",
            amazon_id="1",
            body=io.BytesIO(b"abc"),
            size=10,
            digest="d",
            now=NOW,
        )
