"""The engine's tables: raw store, watermarks, settlement status, alerts, outbox, push attempts.

Revision ID: engine_0001
Revises: (base of the ``engine`` branch; needs the ``ledger`` branch)

Written out column by column rather than from :mod:`ml_connector.core.schema`, so a later change
to the models cannot change what this revision did. Money never sits here as a number: outbox
payloads and totals are exact JSON text.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision: str = "engine_0001"
down_revision: str | None = None
branch_labels: tuple[str, ...] | None = ("engine",)
depends_on: str | tuple[str, ...] | None = "ledger"


def _text(name: str, *, nullable: bool = False, default: str | None = None) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable, server_default=default)


def _string(name: str, *, nullable: bool = False, default: str | None = None) -> sa.Column[str]:
    return sa.Column(name, sa.String(), nullable=nullable, server_default=default)


def _when(name: str, *, nullable: bool = False) -> sa.Column[dt.datetime]:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "raw_record",
        sa.Column("id", sa.Integer(), primary_key=True),
        _string("flow"),
        _string("kind"),
        _string("amazon_id"),
        _string("content_hash"),
        _string("content_type"),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        _when("fetched_at"),
        sa.UniqueConstraint("flow", "kind", "amazon_id", "content_hash"),
    )
    op.create_index("ix_raw_record_flow", "raw_record", ["flow"])
    op.create_index("ix_raw_record_amazon_id", "raw_record", ["amazon_id"])

    op.create_table(
        "watermark",
        sa.Column("flow", sa.String(), primary_key=True),
        sa.Column("stream", sa.String(), primary_key=True),
        _string("value"),
        _when("updated_at"),
    )

    op.create_table(
        "settlement_status",
        sa.Column("flow", sa.String(), primary_key=True),
        sa.Column("settlement_id", sa.String(), primary_key=True),
        _string("status"),
        _text("reason", default=""),
        _string("source", default=""),
        _string("content_hash", default=""),
        _string("mode", default="summary"),
        _when("updated_at"),
    )

    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), primary_key=True),
        _string("flow"),
        _string("kind"),
        _string("key"),
        _text("message"),
        _text("details", default="{}"),
        _when("created_at"),
        _when("resolved_at", nullable=True),
        sa.UniqueConstraint("flow", "kind", "key"),
    )
    op.create_index("ix_alert_flow", "alert", ["flow"])

    op.create_table(
        "outbox",
        sa.Column("key", sa.String(), primary_key=True),
        _string("flow"),
        _string("target"),
        _string("kind"),
        _string("source_ref"),
        _string("entry_ids"),
        _string("idempotency_key"),
        _string("natural_key", nullable=True),
        _string("depends_on", default="[]"),
        _text("payload"),
        _string("totals", default="{}"),
        _string("description", default=""),
        sa.Column("seq", sa.Integer(), nullable=False),
        _string("status"),
        _string("target_id", nullable=True),
        _text("last_error", default=""),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        _when("created_at"),
        _when("updated_at"),
    )
    for column in ("flow", "target", "source_ref", "seq", "status"):
        op.create_index(f"ix_outbox_{column}", "outbox", [column])

    op.create_table(
        "push_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        _string("document_key"),
        _when("at"),
        _string("action"),
        _string("outcome"),
        _string("target_id", nullable=True),
        _text("message", default=""),
    )
    op.create_index("ix_push_attempt_document_key", "push_attempt", ["document_key"])

    op.create_table(
        "report_request",
        sa.Column("flow", sa.String(), primary_key=True),
        sa.Column("report_id", sa.String(), primary_key=True),
        _string("report_type"),
        _string("status"),
        _string("document_id", nullable=True),
        _when("created_at"),
        _when("updated_at"),
    )


def downgrade() -> None:
    for table in (
        "report_request",
        "push_attempt",
        "outbox",
        "alert",
        "settlement_status",
        "watermark",
        "raw_record",
    ):
        op.drop_table(table)
