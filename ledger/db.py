"""Database plumbing: where the ledger lives, how to connect, and how its schema is migrated.

SQLite is the default: one file in the user's data directory (:func:`default_url`). PostgreSQL is
used by URL, through psycopg 3 (``postgresql+psycopg://user@host/db``; a bare ``postgresql://``
URL is given that driver). :func:`create_engine_for` sets up each connection the way the ledger's
guarantees need it, and :func:`migrate` brings the schema to the newest revision of every branch:
the ledger's own and any other package's (the engine's tables), in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from platformdirs import user_data_path
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from ml_connector.ledger.errors import LedgerError

APP_NAME = "ml-connector"
DATABASE_FILE = "ml-connector.sqlite3"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
LEDGER_VERSIONS_DIR = MIGRATIONS_DIR / "versions"
# Page cache per SQLite connection, in KiB when negative (SQLite's default is 2 MiB). The
# ledger's insert triggers look ids up in its indexes; with the default, a ledger of a few
# hundred thousand entries no longer fits and booking slows to disk speed.
SQLITE_CACHE_SIZE = -65536

# Entry-point group under which installed packages declare their migration version folders.
MIGRATIONS_ENTRY_POINTS = "ml_connector.migrations"
# Execution option: begin this connection's SQLite transactions with BEGIN IMMEDIATE.
SQLITE_BEGIN_IMMEDIATE = "ml_connector_sqlite_begin_immediate"
# Execution option: keep this connection's SQLite temporary storage in memory for its
# transactions. Bulk ledger writes ask for it: every entry's insert trigger opens a small
# temporary b-tree (its GROUP BY currency), and opening one per entry on the file-backed temp
# store cost a third of a large per-order booking. Not the default: a large sort in a
# report would then be held in memory whole instead of spilling to a file.
SQLITE_TEMP_IN_MEMORY = "ml_connector_sqlite_temp_in_memory"

# Any fixed number will do: it only has to be the same for every process migrating one database.
_MIGRATION_LOCK_KEY = 0x6D6C636F6E6E  # "mlconn"


def default_url() -> str:
    """The SQLite URL of the default database file, creating its directory if needed."""
    directory = user_data_path(APP_NAME, appauthor=False, ensure_exists=True)
    return URL.create("sqlite", database=str(directory / DATABASE_FILE)).render_as_string()


def _is_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or url.query.get("mode") == "memory"


def _on_sqlite_connect(file_database: bool) -> Callable[[Any, ConnectionPoolEntry], None]:
    """A ``connect`` listener applying what every SQLite connection needs."""

    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the sqlite3 module, which would otherwise begin a
        # transaction only at the first write: reads before it would run outside the
        # transaction, and SAVEPOINT would not work. _on_sqlite_begin emits BEGIN instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # Off by default in SQLite; the ledger's deferred posting -> entry key depends on it.
            cursor.execute("PRAGMA foreign_keys=ON")
            if file_database:
                # WAL lets readers run beside the writer; NORMAL is durable at every checkpoint
                # and safe against corruption, and makes commits far cheaper than FULL.
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute(f"PRAGMA cache_size={SQLITE_CACHE_SIZE}")
        finally:
            cursor.close()

    return on_connect


def _on_sqlite_begin(connection: Connection) -> None:
    """Begin each SQLite transaction explicitly; IMMEDIATE when the connection asks for it.

    A transaction that reads before it writes (the ledger's "which of these ids exist?") asks
    for ``BEGIN IMMEDIATE`` through the execution option :data:`SQLITE_BEGIN_IMMEDIATE`, so it
    holds the write lock from its first read and no other writer can slip in between.
    """
    options = connection.get_execution_options()
    # Outside any transaction: SQLite refuses to change temp_store inside one. Setting the
    # value the connection already has is a no-op.
    in_memory = options.get(SQLITE_TEMP_IN_MEMORY, False)
    connection.exec_driver_sql(f"PRAGMA temp_store={'MEMORY' if in_memory else 'DEFAULT'}")
    immediate = options.get(SQLITE_BEGIN_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine_for(url: str | URL | None = None, **engine_options: Any) -> Engine:
    """An engine for ``url`` (None: the default SQLite file), set up for the ledger.

    SQLite connections get ``foreign_keys=ON`` (and WAL with ``synchronous=NORMAL`` for files)
    and real transactions: BEGIN is emitted when SQLAlchemy begins one, so reads inside
    ``engine.begin()`` are part of it and savepoints (``begin_nested``) work;
    an in-memory SQLite URL gets a single shared connection, so every user sees one database.
    ``engine_options`` go to :func:`sqlalchemy.create_engine` unchanged.
    """
    parsed = make_url(url if url is not None else default_url())
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(parsed, **engine_options)
    memory = _is_memory(parsed)
    if memory:
        engine_options.setdefault("poolclass", StaticPool)
        engine_options.setdefault("connect_args", {"check_same_thread": False})
    engine = sa.create_engine(parsed, **engine_options)
    sa.event.listen(engine, "connect", _on_sqlite_connect(file_database=not memory))
    sa.event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def registered_version_locations() -> list[Path]:
    """Version folders other installed packages declare under :data:`MIGRATIONS_ENTRY_POINTS`.

    Each entry point names a package whose folder holds that package's revision files, e.g.
    ``engine = "ml_connector.core.migrations.versions"``. Declaring it there, once, means every
    :func:`migrate` call sees every branch, whoever makes the call.
    """
    locations: list[Path] = []
    for entry_point in entry_points(group=MIGRATIONS_ENTRY_POINTS):
        package = entry_point.load()
        package_file = getattr(package, "__file__", None)
        if not isinstance(package_file, str):
            raise LedgerError(
                f"entry point {entry_point.name!r} of {MIGRATIONS_ENTRY_POINTS!r} must name a "
                f"package holding revision files; {entry_point.value!r} is not one"
            )
        locations.append(Path(package_file).parent)
    return locations


def version_locations(extra_version_locations: Sequence[str | Path] = ()) -> list[Path]:
    """The ledger's version folder, the registered ones and ``extra``, each once, in that order."""
    found: dict[Path, None] = {LEDGER_VERSIONS_DIR.resolve(): None}
    for location in (*registered_version_locations(), *extra_version_locations):
        found.setdefault(Path(location).resolve(), None)
    return list(found)


def alembic_config(extra_version_locations: Sequence[str | Path] = ()) -> Config:
    """An Alembic configuration built in code over :func:`version_locations`."""
    locations = version_locations(extra_version_locations)
    config = Config()
    # ConfigParser interpolates '%', so paths are escaped; newline never occurs in a path.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "newline")
    config.set_main_option(
        "version_locations", "\n".join(str(p) for p in locations).replace("%", "%%")
    )
    return config


def _unknown_revisions(connection: Connection, script: ScriptDirectory) -> set[str]:
    """Revisions recorded in the database that none of the known version folders holds."""
    recorded = MigrationContext.configure(connection).get_current_heads()
    known = {revision.revision for revision in script.walk_revisions()}
    return set(recorded) - known


def migrate(engine: Engine, extra_version_locations: Sequence[str | Path] = ()) -> None:
    """Upgrade the database behind ``engine`` to the heads of every branch, in one transaction.

    The branches are the ledger's, those registered under :data:`MIGRATIONS_ENTRY_POINTS` and
    those in ``extra_version_locations``: further Alembic version folders, each holding its own
    branch (its first revision has ``branch_labels`` and ``depends_on = "ledger"`` when it needs
    the ledger's tables). Running it again is a no-op. All branches share one version table, so
    a database that holds revisions of a branch not given here is refused with a clear error
    rather than half-migrated. On PostgreSQL an advisory lock serialises workers starting at
    the same time, so only one of them creates the tables.
    """
    config = alembic_config(extra_version_locations)
    script = ScriptDirectory.from_config(config)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        unknown = _unknown_revisions(connection, script)
        if unknown:
            raise LedgerError(
                f"the database holds migration revisions {', '.join(sorted(unknown))} that none "
                "of the known version folders has: pass that package's folder in "
                f"extra_version_locations or register it under the entry-point group "
                f"{MIGRATIONS_ENTRY_POINTS!r}"
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
