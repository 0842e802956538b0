"""The ledger's tables and the triggers that make them append-only and always balanced.

Revision ID: ledger_0001
Revises: (base of the ``ledger`` branch)

The database itself, not only the store, refuses what would break the books:

- UPDATE, DELETE (and on PostgreSQL TRUNCATE) of any entry or posting;
- an entry with fewer than two postings, or whose postings do not sum to zero in every currency;
- a posting added to an entry that has already been written;
- on SQLite, an ``amount_minor`` that is not an integer (SQLite would otherwise keep a REAL).

The writing order that makes this checkable without deferred triggers (SQLite has none) is:
the postings first, then the entry's header row. A BEFORE INSERT trigger on the header checks
the postings already there; a BEFORE INSERT trigger on postings refuses any posting whose entry
already exists; and the posting's foreign key to its entry is DEFERRABLE INITIALLY DEFERRED, so
postings left without a header fail at commit. SQLite needs ``PRAGMA foreign_keys=ON`` on every
connection for that last part (:func:`ml_connector.ledger.db.create_engine_for` sets it).

PostgreSQL runs the balance check as a DEFERRABLE INITIALLY DEFERRED constraint trigger, at
commit, with the same posting-side and immutability triggers.

This file is frozen once released: its SQL is written out here rather than imported, so later
changes to the code cannot change what this revision did.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "ledger_0001"
down_revision: str | None = None
branch_labels: tuple[str, ...] | None = ("ledger",)
depends_on: str | tuple[str, ...] | None = None

# The metadata key the engine looks entries up by; an expression index keeps that lookup fast.
SETTLEMENT_ID_INDEX = "ix_ledger_entry_meta_settlement_id"

_SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER ledger_entry_check_insert BEFORE INSERT ON ledger_entry
    BEGIN
        SELECT RAISE(ABORT, 'ledger: entry already written; entries are immutable')
        WHERE EXISTS (SELECT 1 FROM ledger_entry WHERE id = NEW.id);
        SELECT RAISE(ABORT, 'ledger: an entry needs at least two postings, inserted before it')
        WHERE (SELECT count(*) FROM ledger_posting WHERE entry_id = NEW.id) < 2;
        SELECT RAISE(ABORT, 'ledger: entry does not balance: postings must sum to zero per currency')
        WHERE EXISTS (
            SELECT 1 FROM ledger_posting WHERE entry_id = NEW.id
            GROUP BY currency HAVING sum(amount_minor) <> 0
        );
    END
    """,
    """
    CREATE TRIGGER ledger_posting_check_insert BEFORE INSERT ON ledger_posting
    WHEN typeof(NEW.amount_minor) <> 'integer'
        OR EXISTS (SELECT 1 FROM ledger_entry WHERE id = NEW.entry_id)
    BEGIN
        SELECT RAISE(ABORT, 'ledger: amount_minor must be an integer number of minor units')
        WHERE typeof(NEW.amount_minor) <> 'integer';
        SELECT RAISE(ABORT, 'ledger: postings cannot be added to an entry already written');
    END
    """,
    """
    CREATE TRIGGER ledger_entry_no_update BEFORE UPDATE ON ledger_entry
    BEGIN SELECT RAISE(ABORT, 'ledger: entries are immutable; post a reversal instead'); END
    """,
    """
    CREATE TRIGGER ledger_entry_no_delete BEFORE DELETE ON ledger_entry
    BEGIN SELECT RAISE(ABORT, 'ledger: entries cannot be deleted; post a reversal instead'); END
    """,
    """
    CREATE TRIGGER ledger_posting_no_update BEFORE UPDATE ON ledger_posting
    BEGIN SELECT RAISE(ABORT, 'ledger: postings are immutable; post a reversal instead'); END
    """,
    """
    CREATE TRIGGER ledger_posting_no_delete BEFORE DELETE ON ledger_posting
    BEGIN SELECT RAISE(ABORT, 'ledger: postings cannot be deleted; post a reversal instead'); END
    """,
)

_SQLITE_TRIGGER_NAMES = (
    "ledger_entry_check_insert",
    "ledger_posting_check_insert",
    "ledger_entry_no_update",
    "ledger_entry_no_delete",
    "ledger_posting_no_update",
    "ledger_posting_no_delete",
)

# SQLSTATE 23000 (integrity_constraint_violation) so drivers raise an IntegrityError.
_POSTGRES_FUNCTIONS_AND_TRIGGERS = (
    """
    CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'ledger: % is append-only; % refused (post a reversal instead)',
            TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END
    $$
    """,
    """
    CREATE FUNCTION ledger_posting_check_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM ledger_entry WHERE id = NEW.entry_id) THEN
            RAISE EXCEPTION 'ledger: postings cannot be added to entry %, already written',
                NEW.entry_id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE FUNCTION ledger_entry_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        posting_count bigint;
        off_currency text;
        off_amount numeric;
    BEGIN
        SELECT count(*) INTO posting_count FROM ledger_posting WHERE entry_id = NEW.id;
        IF posting_count < 2 THEN
            RAISE EXCEPTION 'ledger: entry % needs at least two postings, has %',
                NEW.id, posting_count
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        SELECT currency, sum(amount_minor) INTO off_currency, off_amount
            FROM ledger_posting WHERE entry_id = NEW.id
            GROUP BY currency HAVING sum(amount_minor) <> 0
            ORDER BY currency LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'ledger: entry % does not balance: % is off by % minor units',
                NEW.id, off_currency, off_amount
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE CONSTRAINT TRIGGER ledger_entry_balanced AFTER INSERT ON ledger_entry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_check_balanced()
    """,
    """
    CREATE TRIGGER ledger_posting_entry_open BEFORE INSERT ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_check_insert()
    """,
    """
    CREATE TRIGGER ledger_entry_immutable BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()
    """,
    """
    CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()
    """,
    """
    CREATE TRIGGER ledger_posting_immutable BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()
    """,
    """
    CREATE TRIGGER ledger_posting_no_truncate BEFORE TRUNCATE ON ledger_posting
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()
    """,
)

_POSTGRES_FUNCTION_NAMES = (
    "ledger_refuse_change",
    "ledger_posting_check_insert",
    "ledger_entry_check_balanced",
)


def _dialect() -> str:
    return op.get_bind().dialect.name


def upgrade() -> None:
    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source_ref", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("reverses", sa.String(), nullable=True),
        sa.Column("meta", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_entry"),
    )
    op.create_index("ix_ledger_entry_source_ref", "ledger_entry", ["source_ref"])
    op.create_table(
        "ledger_posting",
        sa.Column("entry_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("marketplace", sa.String(), nullable=True),
        sa.Column("memo", sa.Text(), nullable=True),
        # The primary key's leading column doubles as the index on entry_id that keeps the
        # triggers and the deferred foreign-key check cheap.
        sa.PrimaryKeyConstraint("entry_id", "seq", name="pk_ledger_posting"),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entry.id"],
            name="fk_ledger_posting_entry",
            deferrable=True,
            initially="DEFERRED",
        ),
    )
    op.create_index("ix_ledger_posting_account", "ledger_posting", ["account"])
    if _dialect() == "postgresql":
        op.execute(
            f"CREATE INDEX {SETTLEMENT_ID_INDEX} ON ledger_entry "
            "(((meta::jsonb) ->> 'settlement_id'))"
        )
        for statement in _POSTGRES_FUNCTIONS_AND_TRIGGERS:
            op.execute(statement)
    else:
        op.execute(
            f"CREATE INDEX {SETTLEMENT_ID_INDEX} ON ledger_entry "
            "(json_extract(meta, '$.settlement_id'))"
        )
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if _dialect() == "postgresql":
        op.execute("DROP TABLE ledger_posting")
        op.execute("DROP TABLE ledger_entry")
        for name in _POSTGRES_FUNCTION_NAMES:
            op.execute(f"DROP FUNCTION {name}()")
    else:
        for name in _SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER {name}")
        op.drop_table("ledger_posting")
        op.drop_table("ledger_entry")
