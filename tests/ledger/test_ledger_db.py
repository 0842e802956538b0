"""Engines, migrations, and the database's own refusal of anything that would break the books.

The refusals are proven with raw SQL, bypassing the store, on SQLite and on PostgreSQL: the
triggers and the deferred foreign key must hold even for someone writing rows by hand.
"""

from __future__ import annotations

import datetime as dt
import textwrap
import uuid
from collections.abc import Iterator
from decimal import Decimal
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ml_connector.ledger import db as db_module
from ml_connector.ledger.db import (
    MIGRATIONS_ENTRY_POINTS,
    SQLITE_CACHE_SIZE,
    SQLITE_TEMP_IN_MEMORY,
    create_engine_for,
    default_url,
    migrate,
)
from ml_connector.ledger.entries import JournalEntry, Posting, entry_id
from ml_connector.ledger.errors import LedgerError
from ml_connector.ledger.store import Ledger

ENTRY_ID = entry_id("raw", "sql")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    made = create_engine_for(db_url)
    migrate(made)
    yield made
    made.dispose()


def jpy_entry(name: str) -> JournalEntry:
    return JournalEntry(
        id=entry_id("db", name),
        date=dt.date(2024, 5, 4),
        description=name,
        source_ref=f"manual:{name}",
        postings=(
            Posting("Assets:A", Decimal("5"), "JPY"),
            Posting("Income:B", Decimal("-5"), "JPY"),
        ),
    )


def versions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())


def table_names(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


# -- engines -----------------------------------------------------------------------------------


def test_default_url_is_a_file_in_the_users_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    url = default_url()
    expected = tmp_path / "data" / "ml-connector" / "ml-connector.sqlite3"
    assert url == f"sqlite:///{expected}"
    assert expected.parent.is_dir()
    with Ledger.open() as ledger:
        assert ledger.count() == 0
    assert expected.is_file()


def test_sqlite_file_connections_get_the_ledgers_pragmas(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    with engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert pragma("PRAGMA cache_size").scalar() == SQLITE_CACHE_SIZE
    engine.dispose()


def test_in_memory_sqlite_is_one_database_for_every_connection() -> None:
    engine = create_engine_for("sqlite://")
    migrate(engine)  # in its own connection, closed since
    ledger = Ledger(engine)
    entry = jpy_entry("memory")
    ledger.write([entry])
    assert ledger.get(entry.id) == entry
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_sqlite_transactions_include_reads_and_support_savepoints(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 's.sqlite3'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    with engine.begin() as connection:
        connection.exec_driver_sql("SELECT count(*) FROM t")
        assert connection.exec_driver_sql("SELECT 1").scalar() == 1
        # sqlite3 on its own would not have begun a transaction for a read.
        assert connection.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        savepoint = connection.begin_nested()
        connection.exec_driver_sql("INSERT INTO t VALUES (2)")
        savepoint.rollback()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT n FROM t").scalars().all() == [1]
    engine.dispose()


def test_a_bare_postgresql_url_gets_the_psycopg_driver() -> None:
    assert create_engine_for("postgresql://u@h/db").url.drivername == "postgresql+psycopg"
    assert create_engine_for("postgres://u@h/db").url.drivername == "postgresql+psycopg"


# -- migrations --------------------------------------------------------------------------------


def test_migrate_creates_the_ledger_and_is_idempotent(engine: Engine) -> None:
    assert {"ledger_entry", "ledger_posting", "alembic_version"} <= table_names(engine)
    # The installed engine registers its own branch (entry point ``ml_connector.migrations``).
    # Alembic records only heads; a branch that depends on the ledger's stands for it.
    heads = versions(engine)
    assert heads
    migrate(engine)
    assert versions(engine) == heads


def _probe_branch(folder: Path) -> Path:
    """A throwaway version folder holding one revision on its own branch, as the engine will."""
    folder.mkdir()
    (folder / "probe_0001_table.py").write_text(
        textwrap.dedent(
            '''
            """A table of another package, created after the ledger's."""
            import sqlalchemy as sa
            from alembic import op

            revision = "probe_0001"
            down_revision = None
            branch_labels = ("probe",)
            depends_on = "ledger"


            def upgrade() -> None:
                op.create_table(
                    "probe_record",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column(
                        "entry_id", sa.String, sa.ForeignKey("ledger_entry.id"), nullable=False
                    ),
                )


            def downgrade() -> None:
                op.drop_table("probe_record")
            '''
        )
    )
    return folder


def test_migrate_runs_another_packages_branch_beside_the_ledgers(
    db_url: str, tmp_path: Path
) -> None:
    probe = _probe_branch(tmp_path / "probe_versions")
    engine = create_engine_for(db_url)
    migrate(engine, [probe])
    # Alembic records heads only: probe_0001 depends on ledger_0001, which it thereby implies.
    # The installed engine's own branch (registered by entry point) is a head beside it.
    assert "probe_0001" in versions(engine)
    assert {"ledger_entry", "ledger_posting", "probe_record"} <= table_names(engine)
    heads = versions(engine)
    migrate(engine, [str(probe)])
    assert versions(engine) == heads
    engine.dispose()


def test_an_extra_branch_can_join_an_already_migrated_ledger(
    engine: Engine, tmp_path: Path
) -> None:
    assert "probe_record" not in table_names(engine)
    migrate(engine, [_probe_branch(tmp_path / "later")])
    assert "probe_0001" in versions(engine)
    assert "probe_record" in table_names(engine)


def test_a_database_holding_an_unknown_branch_is_refused_with_advice(
    db_url: str, tmp_path: Path
) -> None:
    probe = _probe_branch(tmp_path / "probe_versions")
    engine = create_engine_for(db_url)
    migrate(engine, [probe])
    with pytest.raises(LedgerError, match="probe_0001.*extra_version_locations"):
        migrate(engine)
    engine.dispose()
    with Ledger.open(db_url, extra_version_locations=[probe]) as ledger:
        assert ledger.count() == 0


def test_branches_registered_as_entry_points_are_always_migrated(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = f"probe_versions_{uuid.uuid4().hex}"
    (_probe_branch(tmp_path / package) / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    registered = [EntryPoint(name="probe", value=package, group=MIGRATIONS_ENTRY_POINTS)]
    monkeypatch.setattr(
        db_module,
        "entry_points",
        lambda group: registered if group == MIGRATIONS_ENTRY_POINTS else [],
    )
    with Ledger.open(db_url) as ledger:
        assert versions(ledger.engine) == {"probe_0001"}
        assert "probe_record" in table_names(ledger.engine)


def test_an_entry_point_that_is_no_package_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    registered = [EntryPoint(name="odd", value="builtins:len", group=MIGRATIONS_ENTRY_POINTS)]
    monkeypatch.setattr(db_module, "entry_points", lambda group: registered)
    with pytest.raises(LedgerError, match="'odd'.*must name a package"):
        db_module.version_locations()


# -- the database refuses ----------------------------------------------------------------------

_INSERT_POSTING = sa.text(
    "INSERT INTO ledger_posting (entry_id, seq, account, currency, amount_minor)"
    " VALUES (:entry_id, :seq, :account, :currency, :amount_minor)"
)
_INSERT_ENTRY = sa.text(
    "INSERT INTO ledger_entry (id, date, description, source_ref, kind, meta, content_hash)"
    " VALUES (:id, :date, 'by hand', 'manual:1', 'general', '{}', 'hash')"
).bindparams(sa.bindparam("date", type_=sa.Date))


def insert_postings(connection: Connection, *amounts: int, currency: str = "USD") -> None:
    for seq, amount in enumerate(amounts):
        connection.execute(
            _INSERT_POSTING,
            {
                "entry_id": ENTRY_ID,
                "seq": seq,
                "account": f"Assets:Leg{seq}",
                "currency": currency,
                "amount_minor": amount,
            },
        )


def insert_entry(connection: Connection) -> None:
    connection.execute(_INSERT_ENTRY, {"id": ENTRY_ID, "date": dt.date(2024, 5, 1)})


def write_by_hand(connection: Connection, *amounts: int) -> None:
    """An entry of postings in USD minor units, in the order the triggers expect."""
    insert_postings(connection, *amounts)
    insert_entry(connection)


def count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())


def refused(engine: Engine, write: Any, match: str) -> None:
    """``write(connection)`` in one transaction must fail, at once or at commit; nothing stays."""
    before = count(engine, "ledger_entry"), count(engine, "ledger_posting")
    with pytest.raises(sa.exc.IntegrityError, match=match), engine.begin() as connection:
        write(connection)
    assert (count(engine, "ledger_entry"), count(engine, "ledger_posting")) == before


def test_a_balanced_entry_written_by_hand_is_accepted(engine: Engine) -> None:
    with engine.begin() as connection:
        write_by_hand(connection, 1250, -1000, -250)
    stored = Ledger(engine).get(ENTRY_ID)
    assert stored is not None
    assert [str(p.amount) for p in stored.postings] == ["12.50", "-10.00", "-2.50"]


def test_an_unbalanced_entry_is_refused(engine: Engine) -> None:
    refused(
        engine,
        lambda c: write_by_hand(c, 1000, -999),
        "does not balance",
    )


def test_an_entry_unbalanced_in_one_of_two_currencies_is_refused(engine: Engine) -> None:
    def write(connection: Connection) -> None:
        insert_postings(connection, 500, -500)
        connection.execute(
            _INSERT_POSTING,
            {
                "entry_id": ENTRY_ID,
                "seq": 2,
                "account": "Assets:Eur",
                "currency": "EUR",
                "amount_minor": 1,
            },
        )
        insert_entry(connection)

    refused(engine, write, "does not balance")


def test_an_entry_with_one_posting_or_none_is_refused(engine: Engine) -> None:
    refused(engine, lambda c: write_by_hand(c, 0), "at least two postings")
    refused(engine, insert_entry, "at least two postings")


def test_postings_without_an_entry_fail_at_commit(engine: Engine) -> None:
    refused(engine, lambda c: insert_postings(c, 100, -100), "FOREIGN KEY|foreign key")


def test_postings_cannot_be_added_to_a_written_entry(engine: Engine) -> None:
    with engine.begin() as connection:
        write_by_hand(connection, 100, -100)

    def add_a_balanced_pair(connection: Connection) -> None:
        for seq, amount in ((2, 7), (3, -7)):
            connection.execute(
                _INSERT_POSTING,
                {
                    "entry_id": ENTRY_ID,
                    "seq": seq,
                    "account": "Assets:Late",
                    "currency": "USD",
                    "amount_minor": amount,
                },
            )

    refused(engine, add_a_balanced_pair, "already written")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entry SET description = 'edited'",
        "UPDATE ledger_posting SET amount_minor = 0",
        "UPDATE ledger_posting SET account = 'Assets:Elsewhere' WHERE seq = 0",
        "DELETE FROM ledger_posting WHERE seq = 0",
        "DELETE FROM ledger_entry",
    ],
)
def test_updates_and_deletes_are_refused(engine: Engine, statement: str) -> None:
    with engine.begin() as connection:
        write_by_hand(connection, 100, -100)
    refused(engine, lambda c: c.exec_driver_sql(statement), "immutable|cannot be deleted|append")
    stored = Ledger(engine).get(ENTRY_ID)
    assert stored is not None and stored.description == "by hand"


def test_dialect_specific_back_doors_are_shut(engine: Engine, db_backend: str) -> None:
    with engine.begin() as connection:
        write_by_hand(connection, 100, -100)
    if db_backend == "postgres":
        for table in ("ledger_posting", "ledger_entry"):
            refused(engine, lambda c, t=table: c.exec_driver_sql(f"TRUNCATE {t} CASCADE"), "TRUNC")
        return
    refused(
        engine,
        lambda c: c.exec_driver_sql(
            "INSERT OR REPLACE INTO ledger_entry"
            " (id, date, description, source_ref, kind, meta, content_hash)"
            f" VALUES ('{ENTRY_ID}', '2024-05-01', 'replaced', 'manual:1', 'general', '{{}}', 'h')"
        ),
        "already written",
    )
    other = entry_id("raw", "real")
    refused(
        engine,
        lambda c: c.exec_driver_sql(
            "INSERT INTO ledger_posting (entry_id, seq, account, currency, amount_minor)"
            f" VALUES ('{other}', 0, 'Assets:A', 'USD', 1.5)"
        ),
        "integer number of minor units",
    )


def test_the_store_still_reads_what_it_wrote_after_refusals(engine: Engine) -> None:
    ledger = Ledger(engine)
    entry = jpy_entry("after refusals")
    refused(engine, lambda c: write_by_hand(c, 1, 2), "does not balance")
    assert ledger.write([entry]).written == 1
    assert ledger.get(entry.id) == entry


def test_sqlite_ledger_writes_hold_the_write_lock_from_their_first_read(tmp_path: Path) -> None:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'lock.sqlite3'}")
    begins: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("BEGIN"):
            begins.append(statement)

    sa.event.listen(ledger.engine, "before_cursor_execute", record)
    ledger.write([jpy_entry("lock")])
    with ledger.engine.begin() as connection:
        connection.exec_driver_sql("SELECT 1")
    assert begins == ["BEGIN IMMEDIATE", "BEGIN"]
    ledger.close()


def test_bulk_writes_keep_sqlite_temporary_storage_in_memory_only_when_asked(
    tmp_path: Path,
) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'temp.sqlite3'}")
    try:
        with engine.execution_options(**{SQLITE_TEMP_IN_MEMORY: True}).begin() as conn:
            assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY
        with engine.begin() as conn:  # the same pooled connection, back to the default
            assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 0
    finally:
        engine.dispose()
