"""Append-only storage of journal entries, on SQLite (default) or PostgreSQL.

:class:`Ledger` writes :class:`~ml_connector.ledger.entries.JournalEntry` objects into the two
tables of :mod:`.schema` and reads them back identical, postings in their original order. Writing
is idempotent by entry id: an entry already stored with the same content is skipped, one stored
with different content is a :class:`~ml_connector.ledger.errors.ConflictingEntryError`, and a
batch is written whole or not at all.

Booking is the product's hot path, so writes are ``executemany`` calls of pre-built row tuples
through the SQLAlchemy connection (no ORM objects), with one existence query per chunk of ids,
postings before their entry's header (the order the database's triggers check; see the
``ledger_0001`` migration).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import reprlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Dialect, Engine

from ml_connector.ledger.accounts import validate_account_path
from ml_connector.ledger.db import SQLITE_BEGIN_IMMEDIATE, create_engine_for, migrate
from ml_connector.ledger.entries import JournalEntry, Posting, hash_and_meta
from ml_connector.ledger.errors import ConflictingEntryError, InputError, LedgerError
from ml_connector.ledger.money import EXACT_CONTEXT, MINOR_UNITS, from_minor, minor_units
from ml_connector.ledger.schema import ENTRY_TABLE, POSTING_TABLE

# Entries per round of "which ids exist?" and per executemany; keeps statements and parameter
# lists bounded (SQLite allows 32766 variables) however large the batch.
CHUNK_SIZE = 2000

# Metadata keys that may be written into SQL as a literal path, which lets the database use an
# expression index on them (``settlement_id`` has one).
_PLAIN_META_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60


# "mypy ledger/" cannot follow the editable install's import hook, so it sees LedgerError as Any.
class RefusedWriteError(LedgerError):  # type: ignore[misc, unused-ignore]
    """The database refused a batch the store had checked: a concurrent writer stored some of
    its ids first, or rows written by hand broke an invariant. Nothing of the batch was kept."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write did: entries newly ``written`` and entries already there, ``unchanged``."""

    written: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    """The balance of one account in one currency (debit positive, credit negative)."""

    account: str
    currency: str
    balance: Decimal


def _chunks(items: Sequence[Any], size: int = CHUNK_SIZE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


#: An entry to write with its content hash and its metadata's canonical JSON text (sorted
#: keys, compact separators: json.dumps's spelling, byte for byte), both made in one go.
_Hashed = tuple[JournalEntry, str, str]


def _entry_id_of(hashed: _Hashed) -> str:
    return hashed[0].id


# Column order of the row tuples below; the INSERT statements name the columns in this order.
_ENTRY_COLUMNS = (
    "id",
    "date",
    "description",
    "source_ref",
    "kind",
    "reverses",
    "meta",
    "content_hash",
)
_POSTING_COLUMNS = (
    "entry_id",
    "seq",
    "account",
    "currency",
    "amount_minor",
    "marketplace",
    "memo",
)
_PARAMETER_MARKERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _insert_statement(dialect: Dialect, table: str, columns: Sequence[str]) -> str:
    """A plain positional INSERT for ``executemany`` of row tuples on ``dialect``'s driver."""
    marker = _PARAMETER_MARKERS.get(dialect.paramstyle)
    if marker is None:
        raise LedgerError(f"unsupported database driver parameter style {dialect.paramstyle!r}")
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(marker for _ in columns)})"
    )


def _entry_row(
    entry: JournalEntry, content_hash: str, meta: str, iso_dates: bool
) -> tuple[Any, ...]:
    return (
        entry.id,
        # SQLite has no date type: its driver gets the ISO text SQLAlchemy's Date type stores.
        entry.date.isoformat() if iso_dates else entry.date,
        entry.description,
        entry.source_ref,
        entry.kind,
        entry.reverses,
        meta,
        content_hash,
    )


def _posting_rows(entry: JournalEntry) -> Iterator[tuple[Any, ...]]:
    # A Posting's amount sits exactly on its currency's minor unit (checked when it was made),
    # so it is scaled without to_minor's second check.
    # (exact_to_minor, inlined: this runs once per posting of a settlement.)
    entry_id = entry.id
    for seq, posting in enumerate(entry.postings):
        currency = posting.currency
        scale = MINOR_UNITS.get(currency)
        if scale is None:
            scale = minor_units(currency)
        yield (
            entry_id,
            seq,
            posting.account,
            currency,
            int(posting.amount.scaleb(scale, EXACT_CONTEXT)),
            posting.marketplace,
            posting.memo,
        )


def describe_difference(stored: JournalEntry, incoming: JournalEntry) -> str:
    """A short account of how two entries with one id differ: the fields, old and new value."""
    differences = [
        f"{name} {_short.repr(_plain(getattr(stored, name)))} -> "
        f"{_short.repr(_plain(getattr(incoming, name)))}"
        for name in ("date", "description", "source_ref", "kind", "reverses")
        if getattr(stored, name) != getattr(incoming, name)
    ]
    if stored.meta != incoming.meta:
        keys = sorted(
            key
            for key in set(stored.meta) | set(incoming.meta)
            if stored.meta.get(key) != incoming.meta.get(key)
        )
        differences.append(f"meta keys {', '.join(map(repr, keys))}")
    if len(stored.postings) != len(incoming.postings):
        differences.append(f"number of postings {len(stored.postings)} -> {len(incoming.postings)}")
    else:
        for seq, (old, new) in enumerate(zip(stored.postings, incoming.postings, strict=True)):
            changed = [
                f"{name} {_short.repr(_plain(getattr(old, name)))} -> "
                f"{_short.repr(_plain(getattr(new, name)))}"
                for name in ("account", "amount", "currency", "marketplace", "memo")
                if getattr(old, name) != getattr(new, name)
            ]
            if changed:
                differences.append(f"posting {seq}: {', '.join(changed)}")
                break
    return "; ".join(differences) or "content hash only"


def _plain(value: object) -> object:
    # Money and dates read better as "12.30" and "2024-01-31" than as their reprs.
    return str(value) if isinstance(value, Decimal | dt.date) else value


def _conflict(stored: JournalEntry, incoming: JournalEntry, *, in_batch: bool) -> LedgerError:
    if in_batch:
        where, first, second = "twice in one batch", "first", "then"
    else:
        where, first, second = "already in the ledger", "stored entry", "new entry"
    return ConflictingEntryError(
        f"entry {incoming.id} is {where} with different content "
        f"({first} from {stored.source_ref!r}, {second} from {incoming.source_ref!r}): "
        f"{describe_difference(stored, incoming)}"
    )


def _refused(error: sa.exc.DBAPIError) -> RefusedWriteError:
    # The driver's own message, not str(error): that would repeat every parameter of the batch.
    reason = str(error.orig).strip().splitlines()[0] if error.orig is not None else "refused"
    return RefusedWriteError(f"the database refused the batch: {reason}")


class Ledger:
    """The journal: append-only, balanced entries in a SQL database.

    ``Ledger(engine)`` uses an engine whose schema is already migrated; :meth:`open` makes the
    engine from a URL and migrates it. Reads open their own short connections; writes either
    run in their own transaction (:meth:`write`) or inside the caller's (:meth:`write_in`).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._owns_engine = False

    @classmethod
    def open(
        cls, url: str | None = None, *, extra_version_locations: Sequence[str | Path] = ()
    ) -> Ledger:
        """The ledger at ``url`` (None: the default SQLite file), migrated to the newest schema.

        Migration covers every branch :func:`~ml_connector.ledger.db.migrate` knows of, plus
        ``extra_version_locations``.
        """
        engine = create_engine_for(url)
        try:
            migrate(engine, extra_version_locations)
        except BaseException:
            engine.dispose()
            raise
        ledger = cls(engine)
        ledger._owns_engine = True
        return ledger

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        """Release the connections of an engine made by :meth:`open`; a lent engine is left be."""
        if self._owns_engine:
            self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        # render_as_string hides the password by default.
        return f"Ledger({self._engine.url.render_as_string()!r})"

    # -- writing -------------------------------------------------------------------------------

    def write(self, entries: Iterable[JournalEntry]) -> WriteResult:
        """Write ``entries`` in one transaction of their own; all of them or none.

        An id already stored with identical content counts as ``unchanged``; with different
        content it raises :class:`ConflictingEntryError` and nothing is written. If a concurrent
        writer stores some of the same ids between the check and the insert, the database
        refuses the insert and the batch is checked and written once more.
        """
        batch = list(entries)
        try:
            return self._write_own_transaction(batch)
        except RefusedWriteError:
            return self._write_own_transaction(batch)

    def _write_own_transaction(self, batch: Sequence[JournalEntry]) -> WriteResult:
        with self._engine.connect() as connection:
            # On SQLite, hold the write lock from the existence check on (BEGIN IMMEDIATE).
            connection.execution_options(**{SQLITE_BEGIN_IMMEDIATE: True})
            try:
                with connection.begin():
                    return self.write_in(connection, batch)
            except sa.exc.IntegrityError as error:  # raised at commit by deferred checks
                raise _refused(error) from error

    def write_in(self, connection: Connection, entries: Iterable[JournalEntry]) -> WriteResult:
        """Write ``entries`` inside the transaction already open on ``connection``.

        The caller commits, so raw records, watermarks, outbox rows and entries can share one
        transaction. Conflicts are found before anything is inserted, so a
        :class:`ConflictingEntryError` leaves the transaction untouched. Any other error from
        here leaves it unusable: roll it back.
        """
        new_entries, unchanged = self._new_entries(connection, entries)
        dialect = connection.dialect
        insert_postings = _insert_statement(dialect, POSTING_TABLE.name, _POSTING_COLUMNS)
        insert_entries = _insert_statement(dialect, ENTRY_TABLE.name, _ENTRY_COLUMNS)
        iso_dates = dialect.name == "sqlite"
        # In id order, the inserts (and the triggers' look-ups) walk each index from one end to
        # the other instead of jumping about it: ids are hashes, so any other order is random.
        new_entries.sort(key=_entry_id_of)
        try:
            for chunk in _chunks(new_entries):
                connection.exec_driver_sql(
                    insert_postings, [row for entry, _, _ in chunk for row in _posting_rows(entry)]
                )
                # Headers after their postings: the header's insert trigger checks the postings.
                connection.exec_driver_sql(
                    insert_entries,
                    [
                        _entry_row(entry, content_hash, meta, iso_dates)
                        for entry, content_hash, meta in chunk
                    ],
                )
        except sa.exc.IntegrityError as error:
            raise _refused(error) from error
        return WriteResult(written=len(new_entries), unchanged=unchanged)

    def _new_entries(
        self, connection: Connection, entries: Iterable[JournalEntry]
    ) -> tuple[list[_Hashed], int]:
        """The entries of the batch not stored yet, with their hashes, and how many were.

        Raises :class:`ConflictingEntryError` for an id stored (or repeated in the batch) with
        different content.
        """
        batch: dict[str, _Hashed] = {}
        unchanged = 0
        for entry in entries:
            if not isinstance(entry, JournalEntry):
                raise InputError(
                    "the ledger stores JournalEntry objects",
                    field="entries",
                    value=type(entry).__name__,
                )
            content_hash, meta = hash_and_meta(entry)
            seen = batch.get(entry.id)
            if seen is None:
                batch[entry.id] = (entry, content_hash, meta)
            elif seen[1] == content_hash:
                unchanged += 1
            else:
                raise _conflict(seen[0], entry, in_batch=True)
        stored_hashes: dict[str, str] = {}
        lookup = sa.select(ENTRY_TABLE.c.id, ENTRY_TABLE.c.content_hash).where(
            ENTRY_TABLE.c.id.in_(sa.bindparam("ids", expanding=True))
        )
        for ids in _chunks(list(batch)):
            for entry_id, content_hash in connection.execute(lookup, {"ids": list(ids)}):
                stored_hashes[entry_id] = content_hash
        new_entries: list[_Hashed] = []
        for entry_id, (entry, content_hash, meta) in batch.items():
            stored_hash = stored_hashes.get(entry_id)
            if stored_hash is None:
                new_entries.append((entry, content_hash, meta))
            elif stored_hash == content_hash:
                unchanged += 1
            else:
                (stored,) = _load(connection, ENTRY_TABLE.c.id == entry_id)
                raise _conflict(stored, entry, in_batch=False)
        return new_entries, unchanged

    # -- reading -------------------------------------------------------------------------------

    def get(self, entry_id: str) -> JournalEntry | None:
        """The entry with ``entry_id``, or None."""
        with self._engine.connect() as connection:
            found = _load(connection, ENTRY_TABLE.c.id == entry_id)
        return found[0] if found else None

    def exists(self, entry_id: str) -> bool:
        with self._engine.connect() as connection:
            query = sa.select(sa.literal(1)).where(ENTRY_TABLE.c.id == entry_id)
            return connection.execute(query).first() is not None

    def __contains__(self, entry_id: object) -> bool:
        return isinstance(entry_id, str) and self.exists(entry_id)

    def count(self) -> int:
        """Number of entries in the ledger."""
        with self._engine.connect() as connection:
            query = sa.select(sa.func.count()).select_from(ENTRY_TABLE)
            return int(connection.execute(query).scalar_one())

    def entries_by_source(self, source_ref: str, *, prefix: bool = False) -> list[JournalEntry]:
        """Entries whose ``source_ref`` is ``source_ref`` (or starts with it), by date then id."""
        column = ENTRY_TABLE.c.source_ref
        if prefix:
            # substr rather than LIKE: LIKE ignores case in SQLite and treats % and _ specially.
            condition = sa.func.substr(column, 1, len(source_ref)) == source_ref
        else:
            condition = column == source_ref
        with self._engine.connect() as connection:
            return _load(connection, condition)

    def entries_with_meta(self, key: str, value: str) -> list[JournalEntry]:
        """Entries whose metadata maps ``key`` to ``value``, by date then id.

        ``entries_with_meta("settlement_id", "1234")`` is served by an index; other keys are
        found by reading every entry's metadata.
        """
        with self._engine.connect() as connection:
            expression = _meta_value(connection.dialect.name, key)
            return _load(connection, expression == value)

    def balance(
        self,
        account: str,
        *,
        until: dt.date | None = None,
        currency: str | None = None,
        include_children: bool = False,
    ) -> dict[str, Decimal]:
        """The balance of ``account`` per currency, counting entries dated on or before ``until``.

        With ``include_children``, ``Assets:Amazon`` also sums ``Assets:Amazon:Clearing:US`` and
        every other account below it. Currencies whose balance is zero are left out.
        """
        validate_account_path(account)
        account_column = POSTING_TABLE.c.account
        if include_children:
            below = sa.func.substr(account_column, 1, len(account) + 1) == account + ":"
            condition: sa.ColumnElement[bool] = sa.or_(account_column == account, below)
        else:
            condition = account_column == account
        total = sa.func.sum(POSTING_TABLE.c.amount_minor)
        query = sa.select(POSTING_TABLE.c.currency, total).where(condition)
        query = _restrict(query, until=until, currency=currency).group_by(POSTING_TABLE.c.currency)
        with self._engine.connect() as connection:
            sums = [(str(row[0]), int(row[1])) for row in connection.execute(query)]
        return {cur: from_minor(minor, cur) for cur, minor in sorted(sums) if minor != 0}

    def trial_balance(self, *, until: dt.date | None = None) -> list[TrialBalanceRow]:
        """Every account's non-zero balance per currency, by account then currency.

        In any ledger the balances of each currency sum to zero: every entry balances.
        """
        total = sa.func.sum(POSTING_TABLE.c.amount_minor)
        query = _restrict(
            sa.select(POSTING_TABLE.c.account, POSTING_TABLE.c.currency, total), until=until
        ).group_by(POSTING_TABLE.c.account, POSTING_TABLE.c.currency)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            TrialBalanceRow(account, cur, from_minor(int(minor), cur))
            for account, cur, minor in sorted(rows)
            if int(minor) != 0
        ]


def _restrict(
    query: sa.Select[Any], *, until: dt.date | None, currency: str | None = None
) -> sa.Select[Any]:
    """``query`` over postings, limited to a currency and to entries dated up to ``until``."""
    if currency is not None:
        minor_units(currency)  # refuses an unknown code with a clear error
        query = query.where(POSTING_TABLE.c.currency == currency)
    if until is not None:
        dated = sa.select(ENTRY_TABLE.c.id).where(ENTRY_TABLE.c.date <= until)
        query = query.where(POSTING_TABLE.c.entry_id.in_(dated))
    return query


def _meta_value(dialect: str, key: str) -> sa.ColumnElement[Any]:
    """SQL for "the value of metadata ``key``" on ``dialect``.

    Plain keys are written as literals, the form the expression index in the migration uses;
    any other key is bound as a parameter.
    """
    if not isinstance(key, str) or not key:
        raise InputError("metadata key must be non-empty text", field="key", value=key)
    meta = ENTRY_TABLE.c.meta
    plain = bool(_PLAIN_META_KEY.match(key))
    if dialect == "postgresql":
        name = sa.literal_column(f"'{key}'") if plain else sa.literal(key)
        return sa.cast(meta, JSONB).op("->>")(name)
    if plain:
        return sa.func.json_extract(meta, sa.literal_column(f"'$.{key}'"))
    if '"' in key:
        raise InputError(
            "a metadata key holding a double quote cannot be looked up", field="key", value=key
        )
    return sa.func.json_extract(meta, sa.literal(f'$."{key}"'))


_READ_COLUMNS = (
    ENTRY_TABLE.c.id,
    ENTRY_TABLE.c.date,
    ENTRY_TABLE.c.description,
    ENTRY_TABLE.c.source_ref,
    ENTRY_TABLE.c.kind,
    ENTRY_TABLE.c.reverses,
    ENTRY_TABLE.c.meta,
    POSTING_TABLE.c.account,
    POSTING_TABLE.c.currency,
    POSTING_TABLE.c.amount_minor,
    POSTING_TABLE.c.marketplace,
    POSTING_TABLE.c.memo,
)


def _load(connection: Connection, condition: sa.ColumnElement[bool]) -> list[JournalEntry]:
    """The entries matching ``condition`` (on the entry table), rebuilt, by date then id."""
    query = (
        sa.select(*_READ_COLUMNS)
        .select_from(ENTRY_TABLE.join(POSTING_TABLE, POSTING_TABLE.c.entry_id == ENTRY_TABLE.c.id))
        .where(condition)
        .order_by(ENTRY_TABLE.c.date, ENTRY_TABLE.c.id, POSTING_TABLE.c.seq)
    )
    entries: list[JournalEntry] = []
    header: tuple[Any, ...] | None = None
    postings: list[Posting] = []
    for row in connection.execute(query):
        if header is None or row[0] != header[0]:
            if header is not None:
                entries.append(_rebuild(header, postings))
            header, postings = row[:7], []
        account, currency, amount_minor, marketplace, memo = row[7:]
        postings.append(
            Posting(account, from_minor(int(amount_minor), currency), currency, marketplace, memo)
        )
    if header is not None:
        entries.append(_rebuild(header, postings))
    return entries


def _rebuild(header: tuple[Any, ...], postings: list[Posting]) -> JournalEntry:
    entry_id, date, description, source_ref, kind, reverses, meta = header
    return JournalEntry(
        id=entry_id,
        date=date,
        description=description,
        source_ref=source_ref,
        postings=tuple(postings),
        kind=kind,
        reverses=reverses,
        meta=json.loads(meta),
    )
