"""Which order entries (invoices) each settlement entry pays, in per-order mode.

A per-order settlement clears the receivable its orders were invoiced to, in entries of a batch
of orders each; each receivable credit's memo names its order. Targets that record payments
against invoices (Xero, Wave) need, for every settlement entry, the invoices it pays: this is
that lookup, in one place, from the booked entries alone, and (:func:`invoice_payments`) how
a settlement entry's receivable credits group against those invoices.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ml_connector.ledger.entries import JournalEntry
from ml_connector.ledger.posting.conventions import (
    KIND_ORDER,
    KIND_SETTLEMENT,
    META_ORDER_ID,
    META_SETTLEMENT_ID,
    RECEIVABLE_ACCOUNT,
    is_clearing,
    memo_order_id,
)


def invoices_paid(entries: Sequence[JournalEntry]) -> dict[str, list[JournalEntry]]:
    """For each settlement entry among ``entries`` (by id), the order entries it pays.

    Orders come in order-id order. A receivable credit whose memo names no order (entries
    booked before memos named them) pays all of its settlement's orders.
    """
    orders: defaultdict[str, defaultdict[str, list[JournalEntry]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for entry in entries:
        if entry.kind == KIND_ORDER:
            settlement = orders[entry.meta.get(META_SETTLEMENT_ID, "")]
            settlement[entry.meta.get(META_ORDER_ID, "")].append(entry)
    paid: dict[str, list[JournalEntry]] = {}
    for entry in entries:
        if entry.kind != KIND_SETTLEMENT:
            continue
        of_settlement: dict[str, list[JournalEntry]] = orders.get(
            entry.meta.get(META_SETTLEMENT_ID, ""), {}
        )
        named = {
            memo_order_id(p.memo)
            for p in entry.postings
            if p.account == RECEIVABLE_ACCOUNT and p.amount < 0
        }
        if "" in named:
            named = set(of_settlement)
        paid[entry.id] = [
            order for order_id in sorted(named) for order in of_settlement.get(order_id, ())
        ]
    return paid


@dataclass(frozen=True)
class PaymentGroup:
    """What a settlement entry pays in one currency and marketplace.

    ``owed`` is the receivable the entry clears there; ``invoices`` the receivable debits of the
    paid order entries there, one ``(order, amount)`` per debit, in order-id order;
    ``clearing`` the entry's clearing accounts there (a payment needs exactly one).
    """

    currency: str
    marketplace: str | None
    owed: Decimal
    invoices: tuple[tuple[JournalEntry, Decimal], ...]
    clearing: tuple[str, ...]

    @property
    def invoiced(self) -> Decimal:
        """What the invoices of this group billed; equal to ``owed`` when they can be paid."""
        return sum((amount for _order, amount in self.invoices), Decimal(0))


def invoice_payments(entry: JournalEntry, orders: Sequence[JournalEntry]) -> list[PaymentGroup]:
    """The groups ``entry`` pays ``orders`` (its :func:`invoices_paid`) in, by currency and
    marketplace; empty when the entry clears no receivable."""
    owed: defaultdict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    for posting in entry.postings:
        if posting.account == RECEIVABLE_ACCOUNT and posting.amount < 0:
            owed[(posting.currency, posting.marketplace)] -= posting.amount
    billed: defaultdict[tuple[str, str | None], list[tuple[JournalEntry, Decimal]]] = defaultdict(
        list
    )
    for order in orders:
        for posting in order.postings:
            if posting.account == RECEIVABLE_ACCOUNT and posting.amount > 0:
                billed[(posting.currency, posting.marketplace)].append((order, posting.amount))
    groups = []
    for (currency, marketplace), amount in sorted(
        owed.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
    ):
        clearing = sorted(
            {
                p.account
                for p in entry.postings
                if is_clearing(p.account)
                and p.marketplace == marketplace
                and p.currency == currency
            }
        )
        invoices = sorted(
            billed.get((currency, marketplace), []),
            key=lambda pair: pair[0].meta.get(META_ORDER_ID, ""),
        )
        groups.append(PaymentGroup(currency, marketplace, amount, tuple(invoices), tuple(clearing)))
    return groups
