"""Reconciling every settlement of a flow: what Amazon paid, what the books say, and what is stuck.

:func:`reconcile_all` walks the ``settlement_status`` table (every settlement the booking stage
has seen: booked, on hold, or with unmapped lines) and, for each one, gathers what a bookkeeper
needs to tie it out:

- booked settlements are reconciled from their ledger entries alone
  (:func:`ml_connector.ledger.reconcile.reconcile_settlement`): lines against the deposit, the
  clearing accounts netting to zero, the deposit reaching the bank, the breakdown by category
  and, in per-order mode, the invoice findings;
- held and unmapped settlements have no entries; their reason (as booking recorded it) is shown
  with what to do, and the deposit and period are read from the summary row of the stored report
  so the bookkeeper sees which payout is missing from the books;
- where documents were rendered for the settlement, the outbox says how many are posted,
  pending, refused or in doubt.

Everything money is ``Decimal`` quantized by currency; :meth:`FlowReconciliation.to_dict` writes
it as decimal strings and :meth:`FlowReconciliation.from_dict` reads it back exactly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from ml_connector.core import jsoncodec, outbox, rawstore
from ml_connector.core.amazon.settlement_file import open_settlement_file
from ml_connector.core.booking import BOOKED, HOLD, UNMAPPED, booked_settlements
from ml_connector.core.database import Database
from ml_connector.core.errors import ConfigError
from ml_connector.ledger.entries import JournalEntry
from ml_connector.ledger.errors import InputError
from ml_connector.ledger.money import format_amount, require_exact
from ml_connector.ledger.posting.conventions import (
    CATEGORY_PAYOUT,
    META_DEPOSIT_DATE,
    META_END,
    META_SETTLEMENT_ID,
    META_START,
    MODE_PER_ORDER,
    settlement_source,
)
from ml_connector.ledger.reconcile import (
    OrderFinding,
    SettlementReconciliation,
    reconcile_settlement,
)

RAW_KIND = "settlement_report"  # the raw-store kind booking stores settlement documents under

#: How the breakdown's categories add up into the few columns a bookkeeper reads first (and the
#: chart draws): the groups together sum to the settlement's total; ``payout`` stands apart.
CATEGORY_GROUPS: tuple[tuple[str, str, frozenset[str]], ...] = (
    (
        "sales",
        "Sales",
        frozenset(
            {
                "sales",
                "shipping",
                "gift_wrap",
                "tax",
                "facilitator_tax",
                "promotion",
                "restocking_fee",
                "receivable",
            }
        ),
    ),
    ("refunds", "Refunds", frozenset({"refund", "refund_commission"})),
    (
        "fees",
        "Fees",
        frozenset(
            {
                "fee_referral",
                "fee_fba",
                "fee_closing",
                "fee_other",
                "storage",
                "inventory_fees",
                "subscription",
                "advertising",
                "shipping_labels",
            }
        ),
    ),
    ("reserves", "Reserves", frozenset({"reserve_carried_in", "reserve_carried_out"})),
    # Everything else (reimbursements, adjustments, transfers, other, a booked difference, and
    # any category a later rule table adds) lands here, so the groups always sum to the total.
    ("other", "Other", frozenset()),
)
GROUP_NAMES: tuple[str, ...] = tuple(name for name, _, _ in CATEGORY_GROUPS)
GROUP_LABELS: Mapping[str, str] = {name: label for name, label, _ in CATEGORY_GROUPS}
_GROUP_OF = {category: name for name, _, members in CATEGORY_GROUPS for category in members}

#: Outbox statuses as a bookkeeper names them (``sending`` is still pending: its outcome is
#: looked up on the next push).
DOCUMENT_STATES: tuple[str, ...] = ("posted", "pending", "failed", "in_doubt", "undone")
_DOCUMENT_STATE = {
    outbox.DONE: "posted",
    outbox.PENDING: "pending",
    outbox.SENDING: "pending",
    outbox.FAILED: "failed",
    outbox.IN_DOUBT: "in_doubt",
    outbox.UNDONE: "undone",
}

_ACTIONS = {
    HOLD: (
        "Nothing of this settlement is booked or posted. Do what the reason says: book a "
        "corrected copy of the report (ml-connector ingest-settlement FILE), or, where the hold "
        "allows it, release it with a documented decision (docs/reconciliation.md, "
        "'Releasing a hold')."
    ),
    UNMAPPED: (
        "Nothing of this settlement is booked. Add a posting rule for each combination named "
        "to the flow's configuration (docs/reconciliation.md, 'Lines no rule covers') and run "
        "again; the settlement is then booked whole."
    ),
}
_UNBALANCED_ACTION = (
    "The books do not tie out with Amazon for this settlement. Look at its whole history with "
    "'ml-connector audit {settlement_id}': an entry was probably reversed or corrected by hand."
)
_ORDERS_ACTION = (
    "Look at the orders named: each is open on Assets:Amazon:Receivable or was paid without an "
    "invoice. A later settlement usually pays an order still open; anything else is a finding "
    "for the bookkeeper."
)


def group_of(category: str) -> str:
    """The group (``sales``, ``refunds``, ``fees``, ``reserves``, ``other``) of a category."""
    return _GROUP_OF.get(category, "other")


def group_totals(breakdown: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """The breakdown summed into :data:`CATEGORY_GROUPS` (``payout`` left out), every group present."""
    totals = dict.fromkeys(GROUP_NAMES, Decimal(0))
    for category, amount in breakdown.items():
        if category != CATEGORY_PAYOUT:
            totals[group_of(category)] += amount
    return totals


@dataclass(frozen=True)
class DocumentProblem:
    """One document of a settlement that a person must look at (refused or in doubt)."""

    key: str
    target: str
    state: str  # failed | in_doubt
    description: str
    last_error: str

    def to_dict(self) -> dict[str, str]:
        return {
            "key": self.key,
            "target": self.target,
            "state": self.state,
            "description": self.description,
            "last_error": self.last_error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DocumentProblem:
        return cls(
            key=data["key"],
            target=data["target"],
            state=data["state"],
            description=data["description"],
            last_error=data["last_error"],
        )


@dataclass(frozen=True)
class OutboxSummary:
    """Where the documents rendered from one settlement stand, counted per state."""

    counts: Mapping[str, int]  # every state of DOCUMENT_STATES, zero included
    targets: tuple[str, ...] = ()
    problems: tuple[DocumentProblem, ...] = ()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __getitem__(self, state: str) -> int:
        return self.counts[state]

    def to_dict(self) -> dict[str, Any]:
        return {
            **{state: self.counts[state] for state in DOCUMENT_STATES},
            "targets": list(self.targets),
            "problems": [p.to_dict() for p in self.problems],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutboxSummary:
        return cls(
            counts={state: int(data[state]) for state in DOCUMENT_STATES},
            targets=tuple(data["targets"]),
            problems=tuple(DocumentProblem.from_dict(p) for p in data["problems"]),
        )


@dataclass(frozen=True)
class SettlementReport:
    """One settlement of one flow: its status, its reconciliation when booked, what to do if not.

    ``deposit`` is what Amazon says it paid (negative: charged); it comes from the ledger for a
    booked settlement and from the stored report's summary row otherwise (None when the report
    has no summary row or was not stored). ``reconciliation`` is None unless booked.
    """

    flow: str
    settlement_id: str
    status: str  # booked | hold | unmapped (or another status booking may record)
    mode: str
    currency: str | None
    deposit: Decimal | None
    start: dt.date | None = None
    end: dt.date | None = None
    deposit_date: dt.date | None = None
    reason: str = ""
    source: str = ""
    reconciliation: SettlementReconciliation | None = None
    outbox: OutboxSummary | None = None
    error: str = ""  # booked, yet its entries could not be reconciled (the message says why)

    @property
    def booked_total(self) -> Decimal:
        """What the books moved to the bank for this settlement (zero when nothing is booked)."""
        return self.reconciliation.paid if self.reconciliation is not None else Decimal(0)

    @property
    def difference(self) -> Decimal | None:
        """Amazon's deposit minus what the books moved to the bank (None if the deposit is unknown)."""
        return None if self.deposit is None else self.deposit - self.booked_total

    @property
    def balanced(self) -> bool:
        """Booked, and the ledger ties out with Amazon (``SettlementReconciliation.balanced``)."""
        return (
            self.status == BOOKED
            and self.reconciliation is not None
            and self.reconciliation.balanced
        )

    @property
    def reconciles(self) -> bool:
        """Balanced and, in per-order mode, every invoice settled for its amount."""
        return (
            self.balanced and self.reconciliation is not None and self.reconciliation.orders_match
        )

    @property
    def groups(self) -> dict[str, Decimal]:
        """The breakdown summed into :data:`CATEGORY_GROUPS` (all zero when nothing is booked)."""
        breakdown = self.reconciliation.breakdown if self.reconciliation is not None else {}
        return group_totals(breakdown)

    @property
    def issues(self) -> tuple[str, ...]:
        """Every reason, in plain words, why this settlement needs a person (empty when none)."""
        found: list[str] = []
        if self.status != BOOKED:
            found.append(self.reason or f"The settlement is {self.status}; booking gave no reason.")
            return tuple(found)
        if self.error:
            found.append(self.error)
        rec = self.reconciliation
        if rec is None:
            return tuple(found)
        cur = rec.currency
        if rec.clearing_balance != 0:
            found.append(
                f"The clearing accounts do not net to zero for this settlement: "
                f"{money(rec.clearing_balance, cur)} is left on them."
            )
        if rec.difference != rec.booked_difference:
            found.append(
                f"The lines put {money(rec.lines_sum, cur)} into clearing but Amazon reports "
                f"{money(rec.total_amount, cur)}: {money(rec.difference - rec.booked_difference, cur)} "
                "is not explained by the books."
            )
        if rec.paid != rec.total_amount:
            found.append(
                f"The bank account received {money(rec.paid, cur)} for this settlement but "
                f"Amazon reports {money(rec.total_amount, cur)}."
            )
        for label, findings in (
            ("invoiced but not settled by this settlement", rec.invoiced_unsettled),
            ("settled without an invoice", rec.settled_uninvoiced),
            ("settled for another amount than invoiced", rec.amount_differences),
        ):
            if findings:
                first = findings[0]
                found.append(
                    f"{len(findings)} order(s) {label}, e.g. order {first.order_id}: invoiced "
                    f"{money(first.invoiced, cur)}, settled {money(first.settled, cur)}."
                )
        return tuple(found)

    @property
    def action(self) -> str:
        """What to do about :attr:`issues`, in one paragraph (empty when nothing is wrong)."""
        if self.status in _ACTIONS:
            return _ACTIONS[self.status]
        if self.status != BOOKED:
            return (
                f"The settlement is {self.status}: it is not in the books. Run the flow again "
                "to book it, or look at 'ml-connector alerts'."
            )
        if not self.balanced:
            return _UNBALANCED_ACTION.format(settlement_id=self.settlement_id)
        if not self.reconciles:
            return _ORDERS_ACTION
        return ""

    @property
    def document_issues(self) -> tuple[str, ...]:
        """Documents of this settlement the target refused or that are in doubt, in words."""
        if self.outbox is None:
            return ()
        lines = []
        for problem in self.outbox.problems:
            if problem.state == "failed":
                lines.append(
                    f"{problem.target} refused document {problem.key}"
                    f"{': ' + problem.last_error if problem.last_error else ''}. Fix the cause, "
                    "then 'ml-connector replay' and 'ml-connector sync'."
                )
            else:
                lines.append(
                    f"Document {problem.key} may or may not be in {problem.target}. Look for it "
                    f"there, then 'ml-connector replay --id {problem.key} --confirm TARGET_ID' "
                    "(it is there) or '--resend' (it is not)."
                )
        return tuple(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data, money as decimal strings.

        The fixed keys of ``reconcile --json`` come first (``settlement_id``, ``currency``,
        ``total_amount``, ``lines_sum``, ``clearing_balance``, ``balanced``); for a settlement
        with nothing booked, ``lines_sum`` and ``clearing_balance`` are null.
        """
        cur = self.currency
        rec = self.reconciliation
        data: dict[str, Any]
        if rec is not None:
            data = rec.to_dict()
            data["entry_ids"] = list(rec.entry_ids)
        else:
            data = {
                "settlement_id": self.settlement_id,
                "currency": cur,
                "total_amount": _amount_text(self.deposit, cur),
                "lines_sum": None,
                "clearing_balance": None,
                "balanced": False,
                "mode": self.mode,
            }
        data.update(
            {
                "flow": self.flow,
                "status": self.status,
                "reconciles": self.reconciles,
                "reason": self.reason,
                "issues": list(self.issues),
                "action": self.action,
                "source": self.source,
                "deposit": _amount_text(self.deposit, cur),
                "booked_total": _amount_text(self.booked_total, cur) if cur else None,
                "deposit_difference": _amount_text(self.difference, cur),
                "start": _date_text(self.start),
                "end": _date_text(self.end),
                "deposit_date": _date_text(self.deposit_date),
                "error": self.error,
                "outbox": self.outbox.to_dict() if self.outbox is not None else None,
            }
        )
        return data

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text (exact decimal strings)."""
        return jsoncodec.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SettlementReport:
        """The inverse of :meth:`to_dict` (derived keys are recomputed, not read)."""
        cur = data["currency"]
        rec = _reconciliation_from_dict(data) if data["lines_sum"] is not None else None
        return cls(
            flow=data["flow"],
            settlement_id=data["settlement_id"],
            status=data["status"],
            mode=data["mode"],
            currency=cur,
            deposit=_amount(data["deposit"], cur, "deposit"),
            start=_date(data["start"]),
            end=_date(data["end"]),
            deposit_date=_date(data["deposit_date"]),
            reason=data["reason"],
            source=data["source"],
            reconciliation=rec,
            outbox=OutboxSummary.from_dict(data["outbox"]) if data["outbox"] is not None else None,
            error=data["error"],
        )


@dataclass(frozen=True)
class CurrencyTotals:
    """One currency's settlements added up (a flow may settle in several currencies)."""

    currency: str
    settlements: int
    by_status: Mapping[str, int]
    deposits: Decimal  # Amazon's totals, where known
    booked: Decimal  # what the books moved to the bank
    unknown_deposits: int  # settlements whose deposit could not be read (no summary row)
    groups: Mapping[str, Decimal]  # booked settlements only

    @property
    def difference(self) -> Decimal:
        return self.deposits - self.booked

    def to_dict(self) -> dict[str, Any]:
        cur = self.currency
        return {
            "currency": cur,
            "settlements": self.settlements,
            "by_status": dict(self.by_status),
            "deposits": format_amount(self.deposits, cur),
            "booked": format_amount(self.booked, cur),
            "difference": format_amount(self.difference, cur),
            "unknown_deposits": self.unknown_deposits,
            "groups": {name: format_amount(v, cur) for name, v in self.groups.items()},
        }


@dataclass(frozen=True)
class FlowReconciliation:
    """Every settlement of a flow (or of every flow), reconciled; iterates over its settlements."""

    flow: str | None
    generated_at: dt.datetime
    settlements: tuple[SettlementReport, ...] = field(default=())

    def __iter__(self) -> Iterator[SettlementReport]:
        return iter(self.settlements)

    def __len__(self) -> int:
        return len(self.settlements)

    @property
    def ok(self) -> bool:
        """Every settlement is booked and reconciles (what exit code 0 of ``reconcile`` means)."""
        return all(s.reconciles for s in self.settlements)

    @property
    def problems(self) -> tuple[SettlementReport, ...]:
        """Settlements that do not reconcile, are on hold, or have unmapped lines."""
        return tuple(s for s in self.settlements if not s.reconciles)

    @property
    def document_problems(self) -> tuple[SettlementReport, ...]:
        """Settlements with documents refused by a target or in doubt."""
        return tuple(s for s in self.settlements if s.document_issues)

    @property
    def flows(self) -> tuple[str, ...]:
        return tuple(sorted({s.flow for s in self.settlements}))

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(sorted({s.currency for s in self.settlements if s.currency}))

    @property
    def totals(self) -> dict[str, CurrencyTotals]:
        """Per currency: counts by status, Amazon's deposits, what was booked, and the groups."""
        result = {}
        for cur in self.currencies:
            own = [s for s in self.settlements if s.currency == cur]
            groups = dict.fromkeys(GROUP_NAMES, Decimal(0))
            for s in own:
                for name, amount in s.groups.items():
                    groups[name] += amount
            result[cur] = CurrencyTotals(
                currency=cur,
                settlements=len(own),
                by_status=dict(sorted(Counter(s.status for s in own).items())),
                deposits=sum((s.deposit for s in own if s.deposit is not None), Decimal(0)),
                booked=sum((s.booked_total for s in own), Decimal(0)),
                unknown_deposits=sum(1 for s in own if s.deposit is None),
                groups=groups,
            )
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "generated_at": self.generated_at.isoformat(),
            "ok": self.ok,
            "totals": {cur: t.to_dict() for cur, t in self.totals.items()},
            "settlements": [s.to_dict() for s in self.settlements],
        }

    def to_json(self) -> str:
        """The report as JSON text: exact decimal strings, never a float."""
        return jsoncodec.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FlowReconciliation:
        """Read back what :meth:`to_dict` wrote; money comes back as the exact same Decimals."""
        try:
            return cls(
                flow=data["flow"],
                generated_at=dt.datetime.fromisoformat(data["generated_at"]),
                settlements=tuple(SettlementReport.from_dict(s) for s in data["settlements"]),
            )
        except KeyError as exc:
            raise ConfigError(f"not a reconciliation report: key {exc} is missing") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> FlowReconciliation:
        return cls.from_dict(jsoncodec.loads(text))


def money(amount: Decimal, currency: str) -> str:
    """An amount as a person reads it: ``1,234.56 USD``, ``-1,500 JPY``."""
    return f"{require_exact(amount, currency):,} {currency}"


def _amount_text(amount: Decimal | None, currency: str | None) -> str | None:
    if amount is None or currency is None:
        return None
    return format_amount(amount, currency)


def _amount(text: str | None, currency: str | None, name: str) -> Decimal | None:
    if text is None:
        return None
    if currency is None:
        raise ConfigError(f"reconciliation report: {name} {text!r} without a currency")
    return require_exact(Decimal(text), currency, field=name)


def _date_text(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text is not None else None


def _findings(items: Sequence[Mapping[str, str]], cur: str) -> tuple[OrderFinding, ...]:
    return tuple(
        OrderFinding(
            order_id=item["order_id"],
            invoiced=require_exact(Decimal(item["invoiced"]), cur, field="invoiced"),
            settled=require_exact(Decimal(item["settled"]), cur, field="settled"),
        )
        for item in items
    )


def _reconciliation_from_dict(data: Mapping[str, Any]) -> SettlementReconciliation:
    cur = data["currency"]

    def exact(name: str) -> Decimal:
        return require_exact(Decimal(data[name]), cur, field=name)

    per_order = data["mode"] == MODE_PER_ORDER
    return SettlementReconciliation(
        settlement_id=data["settlement_id"],
        currency=cur,
        mode=data["mode"],
        total_amount=exact("total_amount"),
        lines_sum=exact("lines_sum"),
        clearing_balance=exact("clearing_balance"),
        booked_difference=exact("booked_difference"),
        paid=exact("paid"),
        breakdown={
            name: require_exact(Decimal(v), cur, field=f"breakdown {name}")
            for name, v in data["breakdown"].items()
        },
        invoiced_unsettled=_findings(data["invoiced_unsettled"], cur) if per_order else (),
        settled_uninvoiced=_findings(data["settled_uninvoiced"], cur) if per_order else (),
        amount_differences=_findings(data["amount_differences"], cur) if per_order else (),
        entry_ids=tuple(data["entry_ids"]),
    )


# --- building the report from the database ---------------------------------------------------


def reconcile_all(
    database: Database,
    *,
    flow: str | None = None,
    settlement_id: str | None = None,
    now: dt.datetime | None = None,
) -> FlowReconciliation:
    """Reconcile every settlement booking has seen for ``flow`` (every flow when None).

    ``settlement_id`` narrows the report to one settlement (of each flow that has it). Reads
    only: nothing is booked, posted or resolved. Settlements come per flow, by deposit date.
    """
    with database.engine.connect() as conn:
        rows = [
            row
            for row in booked_settlements(conn, flow=flow)
            if settlement_id is None or row.settlement_id == settlement_id
        ]
        documents = _documents_by_entry(conn, flow)
        headers = {
            (row.flow, row.settlement_id): _stored_header(conn, row.flow, row.settlement_id)
            for row in rows
            if row.status != BOOKED
        }
    reports = []
    for row in rows:
        if row.status == BOOKED:
            entries = database.ledger.entries_with_meta(META_SETTLEMENT_ID, row.settlement_id)
            report = _booked(row, entries)
            ids = {e.id for e in entries}
        else:
            report = _not_booked(row, headers[(row.flow, row.settlement_id)])
            ids = set()
        reports.append(_with_outbox(report, documents, ids, settlement_source(row.settlement_id)))
    # Per flow, in the order the money arrived; settlements of unknown date last.
    reports.sort(key=lambda s: (s.flow, s.deposit_date or dt.date.max, s.settlement_id))
    return FlowReconciliation(
        flow=flow,
        generated_at=now or dt.datetime.now(dt.UTC),
        settlements=tuple(reports),
    )


def _meta_date(entries: Sequence[JournalEntry], key: str) -> dt.date | None:
    for entry in entries:
        value = entry.meta.get(key)
        if value:
            return dt.datetime.fromisoformat(value).date()
    return None


def _booked(row: Any, entries: Sequence[JournalEntry]) -> SettlementReport:
    common: dict[str, Any] = {
        "flow": row.flow,
        "settlement_id": row.settlement_id,
        "status": row.status,
        "mode": row.mode,
        "reason": row.reason,
        "source": row.source,
        "start": _meta_date(entries, META_START),
        "end": _meta_date(entries, META_END),
        "deposit_date": _meta_date(entries, META_DEPOSIT_DATE),
    }
    try:
        rec = reconcile_settlement(row.settlement_id, entries)
    except InputError as exc:
        # Recorded as booked yet not reconcilable from the ledger: a finding, not a crash.
        return SettlementReport(
            **common,
            currency=None,
            deposit=None,
            error=f"Recorded as booked, but its entries cannot be reconciled: {exc}",
        )
    return SettlementReport(
        **common, currency=rec.currency, deposit=rec.total_amount, reconciliation=rec
    )


@dataclass(frozen=True)
class _StoredHeader:
    currency: str | None
    deposit: Decimal | None
    start: dt.date | None
    end: dt.date | None
    deposit_date: dt.date | None


def _stored_header(conn: Connection, flow: str, settlement_id: str) -> _StoredHeader | None:
    """The summary row of the newest stored report of a settlement not booked (None: not stored).

    Only the column header and the summary row are read, however long the report.
    """
    records = [
        r
        for r in rawstore.records_for(conn, amazon_id=settlement_id)
        if r.flow == flow and r.kind == RAW_KIND
    ]
    if not records:
        return None
    newest = records[-1]
    try:
        with open_settlement_file(io.BytesIO(newest.body), source=f"raw record {newest.id}") as f:
            header = f.header
            currency = f.currency
    except InputError:
        return None  # unreadable: the booking's own reason already says what is wrong with it
    if header is None:
        return _StoredHeader(currency, None, None, None, None)
    return _StoredHeader(
        currency=header.currency,
        deposit=header.total_amount,
        start=header.start.date(),
        end=header.end.date(),
        deposit_date=header.deposit_date.date(),
    )


def _not_booked(row: Any, header: _StoredHeader | None) -> SettlementReport:
    return SettlementReport(
        flow=row.flow,
        settlement_id=row.settlement_id,
        status=row.status,
        mode=row.mode,
        currency=header.currency if header else None,
        deposit=header.deposit if header else None,
        start=header.start if header else None,
        end=header.end if header else None,
        deposit_date=header.deposit_date if header else None,
        reason=row.reason,
        source=row.source,
    )


def _documents_by_entry(
    conn: Connection, flow: str | None
) -> dict[tuple[str, str], list[outbox.OutboxEntry]]:
    """Outbox documents indexed by (flow, entry id) and by (flow, source ref)."""
    index: defaultdict[tuple[str, str], list[outbox.OutboxEntry]] = defaultdict(list)
    for item in outbox.entries(conn, flow=flow):
        for entry_id in item.document.entry_ids:
            index[(item.flow, entry_id)].append(item)
        index[(item.flow, item.document.source_ref)].append(item)
    return index


def _with_outbox(
    report: SettlementReport,
    documents: Mapping[tuple[str, str], list[outbox.OutboxEntry]],
    entry_ids: set[str],
    source_ref: str,
) -> SettlementReport:
    found: dict[str, outbox.OutboxEntry] = {}
    for key in (*sorted(entry_ids), source_ref):
        for item in documents.get((report.flow, key), ()):
            found.setdefault(item.document.key, item)
    if not found:
        return report
    counts = dict.fromkeys(DOCUMENT_STATES, 0)
    problems = []
    for item in sorted(found.values(), key=lambda i: i.seq):
        state = _DOCUMENT_STATE[item.status]  # every outbox status has a state: a new one must too
        counts[state] += 1
        if state in ("failed", "in_doubt"):
            problems.append(
                DocumentProblem(
                    key=item.document.key,
                    target=item.target,
                    state=state,
                    description=item.document.description,
                    last_error=item.last_error,
                )
            )
    summary = OutboxSummary(
        counts=counts,
        targets=tuple(sorted({i.target for i in found.values()})),
        problems=tuple(problems),
    )
    return dataclasses.replace(report, outbox=summary)
