"""Alembic version folders of the engine's tables (raw store, outbox, alerts, ...)."""
