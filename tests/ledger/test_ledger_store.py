"""The ledger store: round trips, idempotent and atomic writes, conflicts, look-ups, balances.

Every test runs on SQLite and on PostgreSQL (see ``tests/conftest.py``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_strategies import entry_batches, journal_entries, renamed

from ml_connector.ledger.db import create_engine_for
from ml_connector.ledger.entries import JournalEntry, Posting, entry_id, hash_and_meta, reverse
from ml_connector.ledger.errors import ConflictingEntryError, InputError, MoneyError
from ml_connector.ledger.money import minor_units
from ml_connector.ledger.schema import ENTRY_TABLE
from ml_connector.ledger.store import (
    CHUNK_SIZE,
    Ledger,
    RefusedWriteError,
    TrialBalanceRow,
    WriteResult,
    _meta_value,
)

# Hypothesis tests below share one ledger per test (ids are made unique per example), which is
# what the function-scoped fixture health check warns about.
shared_ledger = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

D = Decimal
CLEARING = "Assets:Amazon:Clearing:US"
SALES = "Income:Amazon:Sales"
FEES = "Expenses:Amazon:ReferralFees"


def sale(
    name: str,
    amount: str = "10.00",
    *,
    day: int = 1,
    source_ref: str = "amazon:settlement:1",
    currency: str = "USD",
    meta: dict[str, str] | None = None,
    description: str = "Order 111",
) -> JournalEntry:
    value = D(amount)
    return JournalEntry(
        id=entry_id("test", name),
        date=dt.date(2024, 3, day),
        description=description,
        source_ref=source_ref,
        postings=(
            Posting(CLEARING, value, currency, "US"),
            Posting(SALES, -value, currency, memo="principal"),
        ),
        kind="order",
        meta=meta if meta is not None else {"settlement_id": "1"},
    )


def trial_totals(ledger: Ledger) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in ledger.trial_balance():
        totals[row.currency] += row.balance
    return dict(totals)


# -- round trips -------------------------------------------------------------------------------


def test_entry_reads_back_identical_with_posting_order_and_empty_fields(ledger: Ledger) -> None:
    entry = JournalEntry(
        id=entry_id("test", "multi"),
        date=dt.date(2024, 2, 29),
        description="",
        source_ref="amazon:settlement:9",
        postings=(
            Posting(SALES, D("-1500"), "JPY", "JP", ""),
            Posting(FEES, D("0.125"), "KWD"),
            Posting(CLEARING, D("1500"), "JPY", None, "memo"),
            Posting("Assets:Amazon:Reserve", D("-0.125"), "KWD", "", None),
        ),
        kind="settlement",
        reverses=entry_id("test", "original"),
        meta={"settlement_id": "9", "note": "ü ☃"},
    )
    assert ledger.write([entry]) == WriteResult(written=1, unchanged=0)
    stored = ledger.get(entry.id)
    assert stored == entry
    assert stored is not None and stored.content_hash == entry.content_hash
    assert [str(p.amount) for p in stored.postings] == ["-1500", "0.125", "1500", "-0.125"]
    assert [p.memo for p in stored.postings] == ["", None, "memo", None]


def test_get_exists_contains_and_count(ledger: Ledger) -> None:
    entry = sale("a")
    assert ledger.get(entry.id) is None
    assert not ledger.exists(entry.id)
    assert entry.id not in ledger
    assert ledger.count() == 0
    ledger.write([entry, sale("b")])
    assert ledger.exists(entry.id)
    assert entry.id in ledger
    assert 42 not in ledger
    assert ledger.count() == 2


@shared_ledger
@given(batch=entry_batches())
def test_any_balanced_entries_read_back_identically(ledger: Ledger, batch: list[Any]) -> None:
    entries = renamed(batch, uuid.uuid4().hex)
    assert ledger.write(entries) == WriteResult(written=len(entries), unchanged=0)
    for entry in entries:
        assert ledger.get(entry.id) == entry
    source_refs = {e.source_ref for e in entries}
    for source_ref in source_refs:
        expected = sorted(
            (e for e in entries if e.source_ref == source_ref), key=lambda e: (e.date, e.id)
        )
        found = [e for e in ledger.entries_by_source(source_ref) if e in entries]
        assert found == expected


# -- idempotence and conflicts -----------------------------------------------------------------


def test_rewriting_is_a_no_op_and_duplicates_in_a_batch_count_as_unchanged(ledger: Ledger) -> None:
    first, second = sale("a"), sale("b", "3.50")
    assert ledger.write([first, second, first]) == WriteResult(written=2, unchanged=1)
    assert ledger.write([second, first]) == WriteResult(written=0, unchanged=2)
    assert ledger.count() == 2


@shared_ledger
@given(batch=entry_batches())
def test_rewriting_a_batch_changes_nothing(ledger: Ledger, batch: list[Any]) -> None:
    entries = renamed(batch, uuid.uuid4().hex)
    ledger.write(entries)
    count, balance = ledger.count(), ledger.trial_balance()
    assert ledger.write(entries) == WriteResult(written=0, unchanged=len(entries))
    assert ledger.count() == count
    assert ledger.trial_balance() == balance
    assert [ledger.get(e.id) for e in entries] == entries


def test_conflict_names_the_entry_its_sources_and_the_differing_field(ledger: Ledger) -> None:
    stored = sale("a", description="Order 111")
    ledger.write([stored])
    changed = dataclasses.replace(stored, description="Order 222", source_ref="amazon:order:2")
    with pytest.raises(ConflictingEntryError) as raised:
        ledger.write([changed])
    message = str(raised.value)
    assert stored.id in message
    assert "already in the ledger" in message
    assert "'amazon:settlement:1'" in message and "'amazon:order:2'" in message
    assert "description 'Order 111' -> 'Order 222'" in message
    assert ledger.get(stored.id) == stored


def test_conflict_on_an_amount_names_the_posting(ledger: Ledger) -> None:
    stored = sale("a", "10.00")
    ledger.write([stored])
    with pytest.raises(ConflictingEntryError, match=r"posting 0: amount '10.00' -> '12.00'"):
        ledger.write([sale("a", "12.00")])


def test_conflict_inside_one_batch(ledger: Ledger) -> None:
    with pytest.raises(
        ConflictingEntryError, match="twice in one batch.*date '2024-03-01' -> '2024-03-02'"
    ):
        ledger.write([sale("a", day=1), sale("a", day=2)])
    assert ledger.count() == 0


def test_a_batch_with_one_conflicting_entry_writes_nothing(ledger: Ledger) -> None:
    ledger.write([sale("a")])
    # Larger than one chunk, so the conflict sits in a later chunk than the first new entries.
    fresh = [sale(f"new{n}") for n in range(CHUNK_SIZE + 5)]
    with pytest.raises(ConflictingEntryError):
        ledger.write([*fresh, sale("a", "99.99")])
    assert ledger.count() == 1
    assert fresh[0].id not in ledger and fresh[-1].id not in ledger


@shared_ledger
@given(batch=entry_batches(min_size=2), data=st.data())
def test_any_batch_with_a_conflict_is_refused_whole(
    ledger: Ledger, batch: list[Any], data: st.DataObject
) -> None:
    run = uuid.uuid4().hex
    existing, *fresh = renamed(batch, run)
    ledger.write([existing])
    count, balance = ledger.count(), ledger.trial_balance()
    rival = dataclasses.replace(data.draw(journal_entries(name="rival")), id=existing.id)
    if rival.content_hash == existing.content_hash:  # the same entry drawn twice: no conflict
        return
    position = data.draw(st.integers(0, len(fresh)))
    with pytest.raises(ConflictingEntryError):
        ledger.write([*fresh[:position], rival, *fresh[position:]])
    assert ledger.count() == count
    assert ledger.trial_balance() == balance
    assert not any(e.id in ledger for e in fresh)


def test_write_retries_once_when_a_concurrent_writer_got_there_first(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = [sale("a"), sale("b")]
    ledger.write(entries)
    real = Ledger._new_entries
    calls: list[int] = []

    def stale_then_real(self: Ledger, connection: Any, batch: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:  # as if the check ran before the other writer committed
            listed = list(batch)
            return [(e, *hash_and_meta(e)) for e in listed], 0
        return real(self, connection, batch)

    monkeypatch.setattr(Ledger, "_new_entries", stale_then_real)
    assert ledger.write(entries) == WriteResult(written=0, unchanged=2)
    assert len(calls) == 2
    assert ledger.count() == 2


# -- writing inside the caller's transaction ---------------------------------------------------


@pytest.fixture
def side_table(ledger: Ledger) -> sa.Table:
    """A table of the caller's own, standing for the engine's raw store or outbox."""
    table = sa.Table("side_record", sa.MetaData(), sa.Column("name", sa.String, primary_key=True))
    with ledger.engine.begin() as connection:
        table.create(connection)
    return table


def _side_names(ledger: Ledger, table: sa.Table) -> list[str]:
    with ledger.engine.connect() as connection:
        return list(connection.execute(sa.select(table.c.name)).scalars())


def test_write_in_commits_with_the_callers_rows(ledger: Ledger, side_table: sa.Table) -> None:
    with ledger.engine.begin() as connection:
        connection.execute(side_table.insert(), [{"name": "raw record"}])
        assert ledger.write_in(connection, [sale("a")]) == WriteResult(written=1, unchanged=0)
        connection.execute(side_table.insert(), [{"name": "watermark"}])
    assert _side_names(ledger, side_table) == ["raw record", "watermark"]
    assert sale("a").id in ledger


def test_write_in_rolls_back_with_the_callers_transaction(
    ledger: Ledger, side_table: sa.Table
) -> None:
    with pytest.raises(RuntimeError, match="crash after booking"), ledger.engine.begin() as conn:
        conn.execute(side_table.insert(), [{"name": "raw record"}])
        ledger.write_in(conn, [sale("a"), sale("b")])
        raise RuntimeError("crash after booking")
    assert _side_names(ledger, side_table) == []
    assert ledger.count() == 0


def test_a_conflict_in_write_in_leaves_the_callers_transaction_usable(
    ledger: Ledger, side_table: sa.Table
) -> None:
    ledger.write([sale("a")])
    with ledger.engine.begin() as connection:
        with pytest.raises(ConflictingEntryError):
            ledger.write_in(connection, [sale("b"), sale("a", "1.00")])
        connection.execute(side_table.insert(), [{"name": "alert"}])
    assert _side_names(ledger, side_table) == ["alert"]
    assert ledger.count() == 1


def test_write_in_reports_a_database_refusal_without_the_batch(ledger: Ledger) -> None:
    entry = sale("a")
    with pytest.raises(RefusedWriteError) as raised, ledger.engine.begin() as connection:
        # A stray posting for the entry's id, written by hand before the ledger writes it.
        connection.execute(
            sa.text(
                "INSERT INTO ledger_posting (entry_id, seq, account, currency, amount_minor)"
                " VALUES (:id, 0, 'Assets:Stray', 'USD', 1)"
            ),
            {"id": entry.id},
        )
        ledger.write_in(connection, [entry])
    assert "refused" in str(raised.value)
    assert "Order 111" not in str(raised.value)  # the batch's data is not dumped into the message
    assert ledger.count() == 0


# -- look-ups ----------------------------------------------------------------------------------


def test_entries_by_source_exact_and_prefix_ordered_by_date_then_id(ledger: Ledger) -> None:
    late = sale("late", day=20, source_ref="amazon:settlement:1")
    early_b = sale("early-b", day=2, source_ref="amazon:settlement:1:line:7")
    early_a = sale("early-a", day=2, source_ref="amazon:settlement:12")
    other = sale("other", source_ref="Amazon:settlement:1")
    wildcard = sale("wildcard", source_ref="amazon:settlement%1")
    ledger.write([late, early_b, early_a, other, wildcard])
    assert ledger.entries_by_source("amazon:settlement:1") == [late]
    by_prefix = ledger.entries_by_source("amazon:settlement:1", prefix=True)
    assert by_prefix == sorted([late, early_b, early_a], key=lambda e: (e.date, e.id))
    # A prefix is plain text: case counts and % or _ are no wildcards.
    assert ledger.entries_by_source("amazon:settlement%", prefix=True) == [wildcard]
    assert ledger.entries_by_source("amazon:settlement_", prefix=True) == []
    assert ledger.entries_by_source("nothing") == []


def test_entries_with_meta(ledger: Ledger) -> None:
    first = sale("1", meta={"settlement_id": "100", "order-id": "111-1"}, day=5)
    second = sale("2", meta={"settlement_id": "100", "odd key.1": "x"}, day=4)
    third = sale("3", meta={"settlement_id": "1000"})
    ledger.write([first, second, third])
    assert ledger.entries_with_meta("settlement_id", "100") == [second, first]
    assert ledger.entries_with_meta("settlement_id", "10") == []
    assert ledger.entries_with_meta("order-id", "111-1") == [first]
    assert ledger.entries_with_meta("odd key.1", "x") == [second]
    assert ledger.entries_with_meta("absent", "100") == []
    with pytest.raises(InputError, match="metadata key"):
        ledger.entries_with_meta("", "100")


def test_settlement_id_look_up_uses_the_expression_index(ledger: Ledger, db_backend: str) -> None:
    ledger.write([sale(str(n), meta={"settlement_id": str(n)}) for n in range(50)])
    with ledger.engine.connect() as connection:
        query = sa.select(ENTRY_TABLE.c.id).where(
            _meta_value(connection.dialect.name, "settlement_id") == "7"
        )
        sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
        if db_backend == "postgres":
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = connection.exec_driver_sql(f"EXPLAIN {sql}").scalars().all()
        else:
            plan = [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    assert any("ix_ledger_entry_meta_settlement_id" in line for line in plan), plan


# -- balances ----------------------------------------------------------------------------------


def test_balance_by_date_currency_and_children(ledger: Ledger) -> None:
    ledger.write(
        [
            sale("usd-1", "10.00", day=1),
            sale("usd-2", "2.50", day=15),
            sale("eur", "7.00", day=1, currency="EUR"),
            JournalEntry(
                id=entry_id("test", "reserve"),
                date=dt.date(2024, 3, 3),
                description="reserve",
                source_ref="amazon:settlement:1",
                postings=(
                    Posting("Assets:Amazon:Reserve", D("4.00"), "USD"),
                    Posting("Assets:AmazonX", D("-4.00"), "USD"),
                ),
            ),
        ]
    )
    assert ledger.balance(CLEARING) == {"EUR": D("7.00"), "USD": D("12.50")}
    assert ledger.balance(CLEARING, until=dt.date(2024, 3, 14)) == {
        "EUR": D("7.00"),
        "USD": D("10.00"),
    }
    assert ledger.balance(CLEARING, until=dt.date(2024, 3, 15)) == {
        "EUR": D("7.00"),
        "USD": D("12.50"),
    }
    assert ledger.balance(CLEARING, currency="EUR") == {"EUR": D("7.00")}
    assert ledger.balance("Assets:Amazon") == {}
    assert ledger.balance("Assets:Amazon", include_children=True) == {
        "EUR": D("7.00"),
        "USD": D("16.50"),
    }
    assert ledger.balance("Assets:AmazonX", include_children=True) == {"USD": D("-4.00")}
    assert ledger.balance("Assets:Unknown") == {}


def test_balance_refuses_bad_arguments(ledger: Ledger) -> None:
    with pytest.raises(InputError, match="account"):
        ledger.balance("Cash")
    with pytest.raises(MoneyError, match="currency"):
        ledger.balance(CLEARING, currency="usd")


def test_trial_balance_rows_are_sorted_and_leave_out_zero(ledger: Ledger) -> None:
    entry = sale("a", "10.00", day=1)
    ledger.write([entry, sale("b", "1.000", currency="KWD", day=9)])
    assert ledger.trial_balance() == [
        TrialBalanceRow(CLEARING, "KWD", D("1.000")),
        TrialBalanceRow(CLEARING, "USD", D("10.00")),
        TrialBalanceRow(SALES, "KWD", D("-1.000")),
        TrialBalanceRow(SALES, "USD", D("-10.00")),
    ]
    assert ledger.trial_balance(until=dt.date(2024, 3, 8)) == [
        TrialBalanceRow(CLEARING, "USD", D("10.00")),
        TrialBalanceRow(SALES, "USD", D("-10.00")),
    ]
    ledger.write([reverse(entry)])
    assert [row.currency for row in ledger.trial_balance()] == ["KWD", "KWD"]


@shared_ledger
@given(batch=entry_batches())
def test_trial_balance_sums_to_zero_per_currency(ledger: Ledger, batch: list[Any]) -> None:
    ledger.write(renamed(batch, uuid.uuid4().hex))
    assert all(total == 0 for total in trial_totals(ledger).values())


@shared_ledger
@given(batch=entry_batches())
def test_stored_sums_equal_exact_sums_to_the_minor_unit(ledger: Ledger, batch: list[Any]) -> None:
    entries = renamed(batch, uuid.uuid4().hex)
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in ledger.trial_balance():
        expected[row.account, row.currency] += row.balance
    for entry in entries:
        for posting in entry.postings:
            expected[posting.account, posting.currency] += posting.amount
    ledger.write(entries)
    stored = {(row.account, row.currency): row.balance for row in ledger.trial_balance()}
    assert stored == {key: value for key, value in expected.items() if value != 0}
    for (_, currency), value in stored.items():
        assert value.as_tuple().exponent == -minor_units(currency)


@shared_ledger
@given(batch=entry_batches())
def test_writing_reversals_brings_every_balance_back(ledger: Ledger, batch: list[Any]) -> None:
    entries = renamed(batch, uuid.uuid4().hex)
    before = ledger.trial_balance()
    accounts = {p.account for e in entries for p in e.postings}
    balances_before = {a: ledger.balance(a, include_children=True) for a in accounts}
    ledger.write(entries)
    result = ledger.write([reverse(e, reason="test") for e in entries])
    assert result == WriteResult(written=len(entries), unchanged=0)
    assert ledger.trial_balance() == before
    assert {a: ledger.balance(a, include_children=True) for a in accounts} == balances_before
    for entry in entries:
        reversal = ledger.get(entry_id("reversal", entry.id))
        assert reversal is not None and reversal.reverses == entry.id


def test_ledger_repr_does_not_show_a_password() -> None:
    engine = create_engine_for("postgresql://booker:s3cret@db.example/books")
    assert "s3cret" not in repr(Ledger(engine))
    assert "booker" in repr(Ledger(engine))
    assert engine.url.drivername == "postgresql+psycopg"
