"""Reconciling a settlement from the ledger alone: did the books, the report and the bank agree?

Everything here is computed from journal entries (never from the settlement file again), using
what booking wrote into them (:mod:`ml_connector.ledger.posting.conventions`): the settlement's
facts in entry metadata and each posting's category in its memo. So a reconciliation can be
rerun at any time, and it also sees reversals and corrections made since the booking.

The checks (``docs/reconciliation.md`` explains them for a bookkeeper):

- the clearing accounts net to zero over the settlement's entries (``clearing_balance``);
- the lines put into clearing what Amazon says the settlement totals (``lines_sum`` against
  ``total_amount``), apart from a difference a bookkeeper booked deliberately when releasing a
  hold (``booked_difference``);
- the payout entry moved exactly the total to the bank (``paid``);
- in per-order mode, every invoiced order was settled for the amount invoiced.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ml_connector.ledger.entries import JournalEntry
from ml_connector.ledger.errors import InputError
from ml_connector.ledger.money import format_amount, require_exact
from ml_connector.ledger.posting.conventions import (
    CATEGORY_CLEARING,
    CATEGORY_PAYOUT,
    CATEGORY_RECEIVABLE,
    CATEGORY_UNRECONCILED,
    KIND_ORDER,
    KIND_PAYOUT,
    KIND_SETTLEMENT,
    META_CURRENCY,
    META_MODE,
    META_ORDER_ID,
    META_SETTLEMENT_ID,
    META_TOTAL,
    MODE_PER_ORDER,
    RECEIVABLE_ACCOUNT,
    is_clearing,
    memo_category,
    memo_order_id,
)


@dataclass(frozen=True, slots=True)
class OrderFinding:
    """One order whose invoice and settlement do not match (either may be zero: absent)."""

    order_id: str
    invoiced: Decimal
    settled: Decimal

    @property
    def difference(self) -> Decimal:
        """Invoiced minus settled: what is still open on the receivable for this order."""
        return self.invoiced - self.settled

    def to_dict(self, currency: str) -> dict[str, str]:
        return {
            "order_id": self.order_id,
            "invoiced": format_amount(self.invoiced, currency),
            "settled": format_amount(self.settled, currency),
            "difference": format_amount(self.difference, currency),
        }


@dataclass(frozen=True, slots=True)
class SettlementReconciliation:
    """The reconciliation of one settlement, as its ledger entries show it.

    ``breakdown`` maps each report category to what it added to (positive) or took from
    (negative) the settlement, so the categories other than ``payout`` sum to the total;
    ``payout`` is what reached (or, negative, left) the bank. Reserves show as
    ``reserve_carried_out`` (held back from this settlement) and ``reserve_carried_in``
    (released from the previous one).
    """

    settlement_id: str
    currency: str
    mode: str
    total_amount: Decimal
    lines_sum: Decimal
    clearing_balance: Decimal
    booked_difference: Decimal
    paid: Decimal
    breakdown: Mapping[str, Decimal]
    invoiced_unsettled: tuple[OrderFinding, ...] = ()
    settled_uninvoiced: tuple[OrderFinding, ...] = ()
    amount_differences: tuple[OrderFinding, ...] = ()
    entry_ids: tuple[str, ...] = field(default=())

    @property
    def difference(self) -> Decimal:
        """Amazon's total minus what the lines put into clearing."""
        return self.total_amount - self.lines_sum

    @property
    def balanced(self) -> bool:
        """Clearing nets to zero, the lines (plus any booked difference) make the total, and the
        total reached the bank."""
        return (
            self.clearing_balance == 0
            and self.difference == self.booked_difference
            and self.paid == self.total_amount
        )

    @property
    def orders_match(self) -> bool:
        """Per-order mode: every invoiced order settled for its invoiced amount."""
        return not (self.invoiced_unsettled or self.settled_uninvoiced or self.amount_differences)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: money as decimal strings; the six fixed keys first, then extras."""
        cur = self.currency
        data: dict[str, Any] = {
            "settlement_id": self.settlement_id,
            "currency": cur,
            "total_amount": format_amount(self.total_amount, cur),
            "lines_sum": format_amount(self.lines_sum, cur),
            "clearing_balance": format_amount(self.clearing_balance, cur),
            "balanced": self.balanced,
            "mode": self.mode,
            "difference": format_amount(self.difference, cur),
            "booked_difference": format_amount(self.booked_difference, cur),
            "paid": format_amount(self.paid, cur),
            "breakdown": {name: format_amount(v, cur) for name, v in self.breakdown.items()},
        }
        if self.mode == MODE_PER_ORDER:
            data["orders_match"] = self.orders_match
            data["invoiced_unsettled"] = [f.to_dict(cur) for f in self.invoiced_unsettled]
            data["settled_uninvoiced"] = [f.to_dict(cur) for f in self.settled_uninvoiced]
            data["amount_differences"] = [f.to_dict(cur) for f in self.amount_differences]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def reconcile_settlement(
    settlement_id: str, entries: Sequence[JournalEntry]
) -> SettlementReconciliation:
    """Reconcile settlement ``settlement_id`` from ``entries``.

    ``entries`` may hold anything (typically every entry whose metadata names the settlement);
    the settlement and payout entries of ``settlement_id`` are picked out by their metadata, and
    every ``order`` entry given is taken as an invoice to check against the settlement (per-order
    mode). Reversals are included as they are: a reversed entry and its reversal cancel out.
    """
    own = [
        e
        for e in entries
        if e.kind in (KIND_SETTLEMENT, KIND_PAYOUT)
        and e.meta.get(META_SETTLEMENT_ID) == settlement_id
    ]
    if not own:
        raise InputError(
            "no settlement or payout entries for this settlement among the entries given",
            source=f"settlement {settlement_id}",
            field=META_SETTLEMENT_ID,
            value=settlement_id,
        )
    currency, total, mode = _facts(settlement_id, own)
    clearing_in = clearing_balance = paid = booked_difference = Decimal(0)
    breakdown: defaultdict[str, Decimal] = defaultdict(Decimal)
    settled: defaultdict[str, Decimal] = defaultdict(Decimal)
    for entry in own:
        for posting in entry.postings:
            if posting.currency != currency:
                raise InputError(
                    f"posting in {posting.currency} in a {currency} settlement",
                    source=f"entry {entry.id}",
                    field="currency",
                    value=posting.currency,
                )
            category = memo_category(posting.memo)
            if is_clearing(posting.account):
                clearing_balance += posting.amount
                if entry.kind == KIND_SETTLEMENT:
                    clearing_in += posting.amount
                continue
            if entry.kind == KIND_PAYOUT:
                paid += posting.amount
                continue
            # The other side of the lines: its negation is what the category gave the deposit.
            breakdown[category or "other"] -= posting.amount
            if category == CATEGORY_UNRECONCILED:
                booked_difference -= posting.amount
            if category == CATEGORY_RECEIVABLE and posting.account == RECEIVABLE_ACCOUNT:
                settled[memo_order_id(posting.memo)] -= posting.amount
    breakdown[CATEGORY_PAYOUT] = paid
    findings: tuple[tuple[OrderFinding, ...], ...] = ((), (), ())
    if mode == MODE_PER_ORDER:
        findings = _order_findings(entries, settled, currency)
    return SettlementReconciliation(
        settlement_id=settlement_id,
        currency=currency,
        mode=mode,
        total_amount=total,
        lines_sum=clearing_in - booked_difference,
        clearing_balance=clearing_balance,
        booked_difference=booked_difference,
        paid=paid,
        breakdown=dict(sorted((k, v) for k, v in breakdown.items() if k != CATEGORY_CLEARING)),
        invoiced_unsettled=findings[0],
        settled_uninvoiced=findings[1],
        amount_differences=findings[2],
        entry_ids=tuple(sorted(e.id for e in own)),
    )


def _facts(settlement_id: str, own: Sequence[JournalEntry]) -> tuple[str, Decimal, str]:
    """Currency, total and mode, as every original (non-reversal) entry must agree on them."""
    originals = [e for e in own if e.reverses is None] or list(own)
    seen = {
        (e.meta.get(META_CURRENCY), e.meta.get(META_TOTAL), e.meta.get(META_MODE))
        for e in originals
    }
    if len(seen) != 1:
        raise InputError(
            "the settlement's entries disagree on currency, total or mode; "
            "were two different files booked under one settlement id?",
            source=f"settlement {settlement_id}",
            value=sorted(str(s) for s in seen),
        )
    currency, total_text, mode = seen.pop()
    if currency is None or total_text is None or mode is None:
        raise InputError(
            "entries lack the currency, total_amount or mode metadata booking writes",
            source=f"settlement {settlement_id}",
        )
    total = require_exact(Decimal(total_text), currency, field=META_TOTAL)
    return currency, total, mode


def _order_findings(
    entries: Sequence[JournalEntry], settled: Mapping[str, Decimal], currency: str
) -> tuple[tuple[OrderFinding, ...], tuple[OrderFinding, ...], tuple[OrderFinding, ...]]:
    invoiced: defaultdict[str, Decimal] = defaultdict(Decimal)
    for entry in entries:
        if entry.kind != KIND_ORDER:
            continue
        order_id = entry.meta.get(META_ORDER_ID, "")
        for posting in entry.postings:
            if posting.account == RECEIVABLE_ACCOUNT and posting.currency == currency:
                invoiced[order_id] += posting.amount
    unsettled, uninvoiced, differing = [], [], []
    zero = Decimal(0)
    for order_id in sorted(invoiced.keys() | settled.keys()):
        finding = OrderFinding(order_id, invoiced.get(order_id, zero), settled.get(order_id, zero))
        if order_id not in settled:
            unsettled.append(finding)
        elif order_id not in invoiced:
            uninvoiced.append(finding)
        elif finding.difference != 0:
            differing.append(finding)
    return tuple(unsettled), tuple(uninvoiced), tuple(differing)
