"""The engine's tables: raw store, watermarks, settlement status, outbox, push attempts, alerts.

Plain SQLModel tables; the migrations in ``core/migrations`` create them (never
``create_all``). Money never sits in these tables as a number: documents keep their payload as
JSON text written by :mod:`ml_connector.core.jsoncodec`, which is exact.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class RawRecord(SQLModel, table=True):
    """Something Amazon sent us, verbatim, before anything was booked from it."""

    __tablename__ = "raw_record"
    __table_args__ = (UniqueConstraint("flow", "kind", "amazon_id", "content_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    flow: str = Field(index=True)
    kind: str  # order, financial_event_group, financial_events, settlement_report, ...
    amazon_id: str = Field(index=True)
    content_hash: str
    content_type: str = "application/json"
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    fetched_at: dt.datetime


class Watermark(SQLModel, table=True):
    """How far a stream of a flow has been pulled; moves in the transaction that stores the data."""

    __tablename__ = "watermark"

    flow: str = Field(primary_key=True)
    stream: str = Field(primary_key=True)
    value: str
    updated_at: dt.datetime


class SettlementStatus(SQLModel, table=True):
    """Where each settlement of a flow stands: booked, on hold (and why), or unmapped lines."""

    __tablename__ = "settlement_status"

    flow: str = Field(primary_key=True)
    settlement_id: str = Field(primary_key=True)
    status: str  # booked | hold | unmapped | rolled_back
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    source: str = ""  # raw record or file the settlement was booked from
    content_hash: str = ""
    mode: str = "summary"
    updated_at: dt.datetime


class Alert(SQLModel, table=True):
    """Something a person must look at: unmapped lines, repeated failures, holds, doubts."""

    __tablename__ = "alert"
    __table_args__ = (UniqueConstraint("flow", "kind", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    flow: str = Field(index=True)
    kind: str  # unmapped_line, unmapped_reference, hold, push_failed, in_doubt, reconciliation
    key: str  # what the alert is about (combination, document key, settlement id)
    message: str = Field(sa_column=Column(Text, nullable=False))
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: dt.datetime
    resolved_at: dt.datetime | None = None


class OutboxDocument(SQLModel, table=True):
    """A rendered document waiting to be, or already, in the target. Written before any call."""

    __tablename__ = "outbox"

    key: str = Field(primary_key=True)
    flow: str = Field(index=True)
    target: str = Field(index=True)
    kind: str
    source_ref: str = Field(index=True)
    entry_ids: str  # JSON list
    idempotency_key: str
    natural_key: str | None = None
    depends_on: str = "[]"  # JSON list of keys
    payload: str = Field(sa_column=Column(Text, nullable=False))  # exact JSON
    totals: str = "{}"  # JSON {currency: "decimal string"}
    description: str = ""
    seq: int = Field(index=True)  # render order; push order follows it
    status: str = Field(index=True)  # pending | sending | done | failed | in_doubt | undone
    target_id: str | None = None
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    attempts: int = 0
    created_at: dt.datetime
    updated_at: dt.datetime


class PushAttempt(SQLModel, table=True):
    """Every call made for a document and how it ended: the audit trail of a push."""

    __tablename__ = "push_attempt"

    id: int | None = Field(default=None, primary_key=True)
    document_key: str = Field(index=True)
    at: dt.datetime
    action: str  # push | look_up | undo | confirm | resend
    outcome: str
    target_id: str | None = None
    message: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class ReportRequest(SQLModel, table=True):
    """A report we asked Amazon to create, kept so a later run resumes the wait, not re-asks."""

    __tablename__ = "report_request"

    flow: str = Field(primary_key=True)
    report_id: str = Field(primary_key=True)
    report_type: str
    status: str
    document_id: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


class FlowConfig(SQLModel, table=True):
    """A flow: one Amazon seller account and region joined to one target organisation.

    Configuration only, never a secret: the credentials of both ends live encrypted in
    ``vault_secret`` (:mod:`ml_connector.core.vault`). ``marketplaces``, ``mapping`` and
    ``schedule`` are JSON text (:mod:`ml_connector.core.flows` reads and writes them).
    """

    __tablename__ = "flow"

    name: str = Field(primary_key=True)
    target: str
    seller_id: str
    region: str  # NA | EU | FE
    marketplaces: str  # JSON list of marketplace ids
    mode: str = "summary"  # summary | per-order
    split_by_month: bool = False
    home_currency: str = "USD"
    mapping: str = Field(sa_column=Column(Text, nullable=False))  # JSON TargetMapping
    schedule: str = "{}"  # JSON {job kind: seconds between runs}
    enabled: bool = True
    created_at: dt.datetime
    updated_at: dt.datetime


class FlowJob(SQLModel, table=True):
    """When a flow's job (orders, finances, settlements, sync) last ran, how, and when it is due.

    ``lease_owner``/``lease_until`` mark a job being run, so a flow never runs twice at once.
    """

    __tablename__ = "flow_job"

    flow: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    next_due_at: dt.datetime | None = None
    last_started_at: dt.datetime | None = None
    last_finished_at: dt.datetime | None = None
    last_status: str = ""  # "" (never ran) | ok | failed
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    failures: int = 0  # consecutive
    runs: int = 0
    lease_owner: str | None = None
    lease_until: dt.datetime | None = None


class VaultSecret(SQLModel, table=True):
    """One credential value, Fernet-encrypted; the plaintext never reaches the database."""

    __tablename__ = "vault_secret"

    scope: str = Field(primary_key=True)  # "flow/<flow>/<service>"
    name: str = Field(primary_key=True)
    token: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    updated_at: dt.datetime


class PricePush(SQLModel, table=True):
    """The last price sent (or refused) for one SKU in one marketplace: one row per listing.

    A price equal to ``amount`` is never sent again, whatever the answer was: an accepted price
    is already on Amazon, and a refused one would be refused again until the seller changes it.
    ``amount`` is the decimal string (never a number column).
    """

    __tablename__ = "price_push"

    flow: str = Field(primary_key=True)
    sku: str = Field(primary_key=True)
    marketplace_id: str = Field(primary_key=True)
    item_code: str
    currency: str
    amount: str
    status: str  # accepted | refused | baseline
    message: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    submission_id: str | None = None
    attempts: int = 0
    updated_at: dt.datetime
