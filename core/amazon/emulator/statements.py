"""Settlement reports of the generated seller, in the V2 flat-file vocabulary.

A closed :class:`~.truth.EventGroup` becomes one ``(SettlementHeader, [SettlementLine, ...])``:
the header carries the period and ``total-amount``, each transaction amount one line. Line
numbers are the physical lines of the V2 document (line 1 is the column header, line 2 the
summary row), so a parser reading the served file finds the same numbers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ml_connector.core.amazon.emulator.truth import EventGroup, Kind, Transaction
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine

REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
FIRST_DATA_LINE = 3  # after the column header and the summary row

# (transaction-type, amount-type, amount-description) of the transactions that are not order
# items; order items carry their own amount-type and amount-description.
NON_ORDER_ROWS: dict[Kind, tuple[str, str, str]] = {
    Kind.STORAGE_FEE: ("other-transaction", "other-transaction", "Storage Fee"),
    Kind.SUBSCRIPTION_FEE: ("other-transaction", "other-transaction", "Subscription Fee"),
    Kind.ADVERTISING: ("ServiceFee", "Cost of Advertising", "TransactionTotalAmount"),
    Kind.REIMBURSEMENT: (
        "other-transaction",
        "FBA Inventory Reimbursement",
        "ReversalReimbursement",
    ),
    Kind.RESERVE_RELEASED: (
        "other-transaction",
        "other-transaction",
        "Previous Reserve Amount Balance",
    ),
    Kind.RESERVE_HELD: ("other-transaction", "other-transaction", "Current Reserve Amount"),
}
ORDER_TRANSACTION_TYPES = {Kind.SHIPMENT: "Order", Kind.REFUND: "Refund"}


def settlement_of(group: EventGroup) -> tuple[SettlementHeader, list[SettlementLine]]:
    """The settlement report of a closed period; its lines sum exactly to ``total-amount``."""
    if group.deposit_date is None:
        raise ValueError(f"event group {group.group_id} is still open and has no settlement")
    header = SettlementHeader(
        settlement_id=group.settlement_id,
        start=group.start,
        end=group.end,
        deposit_date=group.deposit_date,
        total_amount=group.total,
        currency=group.currency,
        source=group.document_id,
    )
    lines: list[SettlementLine] = []
    for transaction in group.transactions:
        for line in _lines_of(group, transaction, FIRST_DATA_LINE + len(lines)):
            lines.append(line)
    return header, lines


def _lines_of(group: EventGroup, t: Transaction, first_line_no: int) -> list[SettlementLine]:
    common: dict[str, Any] = {
        "settlement_id": group.settlement_id,
        "currency": t.currency,
        "posted_date": t.posted.date(),
        "posted_at": t.posted,
        "source": group.document_id,
    }
    if t.kind in ORDER_TRANSACTION_TYPES:
        lines: list[SettlementLine] = []
        for item in t.items:
            for amount in item.amounts:
                lines.append(
                    SettlementLine(
                        line_no=first_line_no + len(lines),
                        transaction_type=ORDER_TRANSACTION_TYPES[t.kind],
                        amount_type=amount.amount_type,
                        amount_description=amount.description,
                        amount=amount.amount,
                        marketplace=t.marketplace.site,
                        order_id=t.order_id,
                        merchant_order_id=t.merchant_order_id,
                        adjustment_id=t.adjustment_id,
                        shipment_id=t.shipment_id,
                        fulfillment_id=t.fulfillment_id,
                        order_item_code=item.order_item_id,
                        sku=item.sku,
                        quantity=item.quantity,
                        promotion_id=item.promotion_id if amount.amount_type == "Promotion" else "",
                        **common,
                    )
                )
        return lines
    transaction_type, amount_type, description = NON_ORDER_ROWS[t.kind]
    return [
        SettlementLine(
            line_no=first_line_no,
            transaction_type=transaction_type,
            amount_type=amount_type,
            amount_description=description,
            amount=t.amount,
            sku=t.sku,
            quantity=t.quantity or None,
            **common,
        )
    ]


def lines_total(lines: list[SettlementLine]) -> Decimal:
    """The sum of the lines' amounts (the reconciliation every settlement must pass)."""
    return sum((line.amount for line in lines), Decimal(0))
