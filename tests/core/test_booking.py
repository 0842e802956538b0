"""The booking stage: a settlement document books whole or not at all, once, and says why not."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import io
from collections.abc import Sequence
from decimal import Decimal

import pytest

from ml_connector.core import rawstore
from ml_connector.core.alerts import list_alerts
from ml_connector.core.amazon.emulator import generate_seller
from ml_connector.core.amazon.settlement_file import write_settlement_v2
from ml_connector.core.booking import (
    ALREADY_BOOKED,
    BOOKED,
    HOLD,
    UNMAPPED,
    book_settlement_document,
    settlement_status,
)
from ml_connector.core.database import Database, open_database
from ml_connector.ledger.rules import Rule, default_rules
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine

NOW = dt.datetime(2026, 10, 2, tzinfo=dt.UTC)
FLOW = "shop-us"


@pytest.fixture
def database(db_url: str) -> Database:
    return open_database(db_url)


@pytest.fixture(scope="module")
def settlement() -> tuple[SettlementHeader, list[SettlementLine]]:
    seller = generate_seller(seed=11, orders=30, marketplaces=("US",))
    header, lines = max(seller.settlements, key=lambda s: len(s[1]))
    return header, list(lines)


def flat_file(header: SettlementHeader | None, lines: Sequence[SettlementLine]) -> bytes:
    text = io.StringIO()
    write_settlement_v2(header, lines, text)
    return text.getvalue().encode()


def book(database: Database, document: bytes, **options: object):  # type: ignore[no-untyped-def]
    kwargs = {"flow": FLOW, "source": "settlement.txt", "rules": default_rules(), "now": NOW}
    kwargs.update(options)
    return book_settlement_document(database.ledger, document=document, **kwargs)  # type: ignore[arg-type]


def test_a_settlement_books_balanced_and_ties_to_its_deposit(database, settlement) -> None:
    header, lines = settlement
    result = book(database, flat_file(header, lines))
    assert result.status == BOOKED and result.entries_written >= 2
    rows = database.ledger.trial_balance()
    clearing = [r for r in rows if r.account.startswith("Assets:Amazon:Clearing")]
    assert all(r.balance == 0 for r in clearing), "the clearing account nets to zero"
    payout = database.ledger.balance("Assets:Bank:AmazonPayouts", currency=header.currency)
    assert payout == {header.currency: header.total_amount}
    with database.engine.begin() as conn:
        status = settlement_status(conn, flow=FLOW, settlement_id=header.settlement_id)
        assert status.status == BOOKED
        stored = rawstore.records_for(conn, amazon_id=header.settlement_id)
    assert len(stored) == 1 and gzip.decompress(stored[0].body) == flat_file(header, lines)


def test_booking_the_same_document_again_changes_nothing(database, settlement) -> None:
    header, lines = settlement
    document = flat_file(header, lines)
    book(database, document)
    before = database.ledger.count()
    again = book(database, gzip.compress(document))  # the same content, compressed this time
    assert again.status == ALREADY_BOOKED
    assert database.ledger.count() == before


def test_an_unmapped_line_books_nothing_and_names_the_combination(database, settlement) -> None:
    header, lines = settlement
    odd = dataclasses.replace(
        lines[3],
        transaction_type="Galactic Transfer",
        amount_type="GalacticFees",
        amount_description="Galactic Handling Fee",
    )
    document = flat_file(header, [*lines[:3], odd, *lines[4:]])
    result = book(database, document)
    assert result.status == UNMAPPED
    assert "Galactic Handling Fee" in result.reason and "settlement.txt line" in result.reason
    assert database.ledger.count() == 0, "a settlement books whole or not at all"
    with database.engine.begin() as conn:
        (alert,) = [a for a in list_alerts(conn, flow=FLOW) if a.kind == "unmapped_line"]
    assert alert.key == header.settlement_id and "Galactic Handling Fee" in alert.message

    # The user adds a rule; the next run books the settlement and the alert is resolved.
    rule = Rule(
        odd.transaction_type,
        odd.amount_type,
        "Galactic Handling Fee",
        "Expenses:Amazon:OtherFees",
        "fee_other",
    )
    rules = default_rules().with_overrides([rule])
    assert book(database, document, rules=rules).status == BOOKED
    with database.engine.begin() as conn:
        assert not [a for a in list_alerts(conn, flow=FLOW) if a.kind == "unmapped_line"]
    assert database.ledger.balance("Expenses:Amazon:OtherFees", currency=odd.currency)


def test_lines_that_do_not_sum_to_the_deposit_put_the_settlement_on_hold(
    database, settlement
) -> None:
    header, lines = settlement
    missing_one = [line for line in lines if line is not lines[5]]
    assert lines[5].amount != Decimal(0)
    result = book(database, flat_file(header, missing_one))
    assert result.status == HOLD
    assert result.reason, "a hold explains itself"
    assert database.ledger.count() == 0
    with database.engine.begin() as conn:
        assert [a.kind for a in list_alerts(conn, flow=FLOW)] == ["hold"]

    # The corrected report arrives: it books, and the hold is lifted.
    assert book(database, flat_file(header, lines)).status == BOOKED
    with database.engine.begin() as conn:
        assert not list_alerts(conn, flow=FLOW)
        assert (
            settlement_status(conn, flow=FLOW, settlement_id=header.settlement_id).status == BOOKED
        )


def test_a_document_that_is_not_a_settlement_report_is_refused_by_name(database) -> None:
    with pytest.raises(Exception, match="settlement.txt"):
        book(database, b"this is not a settlement report\n")
    assert database.ledger.count() == 0
