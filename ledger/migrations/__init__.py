"""Alembic migrations of the ledger's tables, run programmatically by :func:`..db.migrate`.

The ledger's revisions live in ``versions/`` on the branch labelled ``ledger``. A new revision is
a new file there whose ``down_revision`` is the current ledger head; other packages (the engine)
keep their own version folder and branch label and name ``depends_on = "ledger"`` (or a specific
ledger revision) when their tables need the ledger's.
"""
