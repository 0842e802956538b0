"""The ``engine`` branch: revisions of the engine's tables, applied after the ledger's."""
