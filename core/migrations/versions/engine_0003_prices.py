"""Prices pushed back to Amazon: the last price sent or refused per (flow, SKU, marketplace).

Revision ID: engine_0003_prices
Revises: engine_0002

Written out column by column rather than from :mod:`ml_connector.core.schema`, so a later change
to the model cannot change what this revision did. ``amount`` is a decimal string.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "engine_0003_prices"
down_revision: str | None = "engine_0002"
branch_labels: tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "price_push",
        sa.Column("flow", sa.String(), primary_key=True),
        sa.Column("sku", sa.String(), primary_key=True),
        sa.Column("marketplace_id", sa.String(), primary_key=True),
        sa.Column("item_code", sa.String(), nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("amount", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False, server_default=""),
        sa.Column("submission_id", sa.String(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("price_push")
