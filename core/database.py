"""One database for the ledger and the engine: open it, migrate it, hand out the ledger.

The ledger's migrations and the engine's (``core/migrations/versions``, a second Alembic branch
that depends on the ledger's) run together, so one URL gives a database with every table the
product needs. SQLite (the default, a file in the user's data directory) and PostgreSQL by URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from ml_connector.ledger.db import create_engine_for, default_url, migrate
from ml_connector.ledger.store import Ledger

CORE_VERSIONS = str(Path(__file__).parent / "migrations" / "versions")


@dataclass
class Database:
    engine: Engine
    ledger: Ledger
    url: str


def open_database(url: str | None = None) -> Database:
    """Open (and migrate to the newest schema) the database at ``url``."""
    resolved = url or default_url()
    engine = create_engine_for(resolved)
    migrate(engine, extra_version_locations=[CORE_VERSIONS])
    return Database(engine=engine, ledger=Ledger(engine), url=resolved)
