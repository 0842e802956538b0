"""Which order entries (invoices) each settlement entry pays, in per-order mode.

A per-order settlement clears the receivable its orders were invoiced to, in entries of a batch
of orders each; each receivable credit's memo names its order. Targets that record payments
against invoices (Xero, Wave) need, for every settlement entry, the invoices it pays: this is
that lookup, in one place, from the booked entries alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from ml_connector.ledger.entries import JournalEntry
from ml_connector.ledger.posting.conventions import (
    KIND_ORDER,
    KIND_SETTLEMENT,
    META_ORDER_ID,
    META_SETTLEMENT_ID,
    RECEIVABLE_ACCOUNT,
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
