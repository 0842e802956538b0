"""Alembic environment: runs the migrations on the connection :func:`..db.migrate` hands over.

There is no ``alembic.ini`` on the user's side: :func:`ml_connector.ledger.db.migrate` builds the
configuration in code, opens the transaction and puts its connection in
``config.attributes["connection"]``. Every revision then runs in that one transaction, so a failed
upgrade leaves the database as it was (both SQLite and PostgreSQL have transactional DDL).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from ml_connector.ledger.errors import LedgerError


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise LedgerError(
            "the ledger migrations run through ml_connector.ledger.db.migrate(engine), "
            "which provides the connection"
        )
    context.configure(
        connection=connection,
        # SQLite cannot ALTER most things; batch mode lets later revisions rebuild a table.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
