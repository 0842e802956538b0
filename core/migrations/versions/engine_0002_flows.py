"""Flows, their job schedule state, and the encrypted credential vault.

Revision ID: engine_0002
Revises: engine_0001

Written out column by column rather than from :mod:`ml_connector.core.schema`, so a later change
to the models cannot change what this revision did. ``vault_secret.token`` holds Fernet tokens
only; no column of these tables ever holds a secret in clear.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision: str = "engine_0002"
down_revision: str | None = "engine_0001"
branch_labels: tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def _string(name: str, *, nullable: bool = False, default: str | None = None) -> sa.Column[str]:
    return sa.Column(name, sa.String(), nullable=nullable, server_default=default)


def _when(name: str, *, nullable: bool = False) -> sa.Column[dt.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "flow",
        sa.Column("name", sa.String(), primary_key=True),
        _string("target"),
        _string("seller_id"),
        _string("region"),
        _string("marketplaces"),
        _string("mode", default="summary"),
        sa.Column("split_by_month", sa.Boolean(), nullable=False, server_default=sa.false()),
        _string("home_currency", default="USD"),
        sa.Column("mapping", sa.Text(), nullable=False),
        _string("schedule", default="{}"),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        _when("created_at"),
        _when("updated_at"),
    )

    op.create_table(
        "flow_job",
        sa.Column("flow", sa.String(), primary_key=True),
        sa.Column("kind", sa.String(), primary_key=True),
        _when("next_due_at", nullable=True),
        _when("last_started_at", nullable=True),
        _when("last_finished_at", nullable=True),
        _string("last_status", default=""),
        sa.Column("last_error", sa.Text(), nullable=False, server_default=""),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("runs", sa.Integer(), nullable=False, server_default="0"),
        _string("lease_owner", nullable=True),
        _when("lease_until", nullable=True),
    )

    op.create_table(
        "vault_secret",
        sa.Column("scope", sa.String(), primary_key=True),
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        _when("updated_at"),
    )


def downgrade() -> None:
    for table in ("vault_secret", "flow_job", "flow"):
        op.drop_table(table)
