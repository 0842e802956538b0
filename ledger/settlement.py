"""Settlement records: what Amazon paid and the lines that explain it, as plain data.

These are source-agnostic: the flat-file parser (both V1 and V2 layouts) and the Finances API
mapping in ``ml_connector.core.amazon`` produce them, the posting rules in this package turn them
into journal entries. Field names follow Amazon's V2 settlement report columns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from ml_connector.ledger.money import exact_or_none, require_exact


@dataclass(frozen=True, slots=True)
class SettlementHeader:
    """The settlement summary: the deposit Amazon made (or charged) and its period."""

    settlement_id: str
    start: dt.datetime
    end: dt.datetime
    deposit_date: dt.datetime
    total_amount: Decimal
    currency: str
    source: str = ""  # file name or report document id the header was read from

    def __post_init__(self) -> None:
        require_exact(
            self.total_amount,
            self.currency,
            field=f"total-amount of settlement {self.settlement_id}",
        )


@dataclass(frozen=True, slots=True)
class SettlementLine:
    """One amount line of a settlement (one V2 row; a V1 row yields one line per amount column).

    ``line_no`` is the 1-based physical line in the source file (or the position in the event
    list for Finances API data); with ``source`` it is the audit link back to the original.
    """

    settlement_id: str
    line_no: int
    transaction_type: str
    amount_type: str
    amount_description: str
    amount: Decimal
    currency: str
    marketplace: str = ""
    order_id: str = ""
    merchant_order_id: str = ""
    adjustment_id: str = ""
    shipment_id: str = ""
    fulfillment_id: str = ""
    posted_date: dt.date | None = None
    posted_at: dt.datetime | None = None
    order_item_code: str = ""
    merchant_order_item_id: str = ""
    merchant_adjustment_item_id: str = ""
    sku: str = ""
    quantity: int | None = None
    promotion_id: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        # The field's text is built only for an amount that fails: a million lines pass here.
        if exact_or_none(self.amount, self.currency) is None:
            require_exact(
                self.amount,
                self.currency,
                field=f"amount of settlement {self.settlement_id} line {self.line_no}",
            )

    @property
    def combination(self) -> tuple[str, str, str]:
        """The (transaction-type, amount-type, amount-description) triple rules match on."""
        return (self.transaction_type, self.amount_type, self.amount_description)


# Each field's slot, in field order: line_from_values fills a record slot by slot.
_new = object.__new__
_SLOT_SETTERS = tuple(SettlementLine.__dict__[f.name].__set__ for f in fields(SettlementLine))


def line_from_values(values: tuple[Any, ...]) -> SettlementLine:
    """``SettlementLine(*values)``, every field given in order, for readers that make one per
    row of a large file: the same check of the amount, without the constructor's per-field
    overhead (a frozen record's fields are set one call at a time)."""
    if len(values) != len(_SLOT_SETTERS) or exact_or_none(values[5], values[6]) is None:
        # The constructor words the error (or checks a currency not met before).
        return SettlementLine(*values)
    line = _new(SettlementLine)
    for setter, value in zip(_SLOT_SETTERS, values, strict=True):
        setter(line, value)
    return line
