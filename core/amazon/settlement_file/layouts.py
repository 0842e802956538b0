"""The two settlement flat-file layouts: their columns, and how V1's amount columns map to lines.

V2 (``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``) has one amount per row, in Amazon's 23 columns
(``shared/reference/amazon/FACTS.md`` §9); some published files add a 24th ``promotion-id``
column, which is read when present. The older flat file (V1) has 36 columns and spreads a row's
amounts over typed column pairs (``price-type``/``price-amount`` ...) and three untyped amount
columns.

Amazon's changelog gives the V1 -> V2 rule for typed pairs: the pair's *type name* becomes the
amount-type, the *type value* the amount-description, the amount the amount. The amount-type
each pair names is in :data:`V1_AMOUNT_COLUMNS`. For the columns with no type column Amazon states
no rule; this reader uses the column name as the amount-type and, because V2 never leaves the
description empty, takes the description from the column that explains it (the
``other-fee-reason-description``) or else from the row's transaction-type, which is what names a
non-order amount in V1 (``Current Reserve Amount``, ``Storage Fee``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ml_connector.ledger.errors import InputError

Layout = Literal["v2", "v1"]

#: The columns every settlement row starts with; the summary row fills only these.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
)

V2_COLUMNS: tuple[str, ...] = (
    *SUMMARY_COLUMNS,
    "transaction-type",
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "amount",
    "fulfillment-id",
    "posted-date",
    "posted-date-time",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
)

#: The V2 variant seen in second sources, with the promotion id as a 24th column.
V2_COLUMNS_WITH_PROMOTION: tuple[str, ...] = (*V2_COLUMNS, "promotion-id")

V1_COLUMNS: tuple[str, ...] = (
    *SUMMARY_COLUMNS,
    "transaction-type",
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "shipment-fee-type",
    "shipment-fee-amount",
    "order-fee-type",
    "order-fee-amount",
    "fulfillment-id",
    "posted-date",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
    "price-type",
    "price-amount",
    "item-related-fee-type",
    "item-related-fee-amount",
    "misc-fee-amount",
    "other-fee-amount",
    "other-fee-reason-description",
    "promotion-id",
    "promotion-type",
    "promotion-amount",
    "direct-payment-type",
    "direct-payment-amount",
    "other-amount",
)


@dataclass(frozen=True, slots=True)
class V1AmountColumn:
    """One V1 amount column and the V2 amount-type its amounts become.

    ``description_column`` names the column holding the amount-description (the pair's type
    column), or is None when the description is the row's transaction-type. ``typed`` is True
    for Amazon's type/amount pairs, whose amount is meaningless without its type.
    """

    amount_column: str
    amount_type: str
    description_column: str | None
    typed: bool

    @property
    def amount_index(self) -> int:
        return V1_COLUMNS.index(self.amount_column)

    @property
    def description_index(self) -> int | None:
        if self.description_column is None:
            return None
        return V1_COLUMNS.index(self.description_column)


#: V1's amount columns in file order; a V1 row yields its lines in this order.
V1_AMOUNT_COLUMNS: tuple[V1AmountColumn, ...] = (
    V1AmountColumn("shipment-fee-amount", "ShipmentFees", "shipment-fee-type", True),
    V1AmountColumn("order-fee-amount", "OrderFees", "order-fee-type", True),
    V1AmountColumn("price-amount", "ItemPrice", "price-type", True),
    V1AmountColumn("item-related-fee-amount", "ItemFees", "item-related-fee-type", True),
    V1AmountColumn("misc-fee-amount", "misc-fee-amount", None, False),
    V1AmountColumn("other-fee-amount", "other-fee-amount", "other-fee-reason-description", False),
    V1AmountColumn("promotion-amount", "Promotion", "promotion-type", True),
    V1AmountColumn("direct-payment-amount", "DirectPayment", "direct-payment-type", True),
    V1AmountColumn("other-amount", "other-amount", None, False),
)

V1_COLUMN_FOR_AMOUNT_TYPE: dict[str, V1AmountColumn] = {c.amount_type: c for c in V1_AMOUNT_COLUMNS}


def layout_of(header_cells: list[str], *, source: str, line: int) -> tuple[Layout, int]:
    """The layout a header line announces and its column count; any other header is an error.

    Column names are compared without surrounding spaces and case-insensitively.
    """
    names = tuple(cell.strip().lower() for cell in header_cells)
    if names in (V2_COLUMNS, V2_COLUMNS_WITH_PROMOTION):
        return "v2", len(names)
    if names == V1_COLUMNS:
        return "v1", len(names)
    raise InputError(
        f"not a settlement flat-file header: expected the {len(V2_COLUMNS)} V2 columns "
        f"or the {len(V1_COLUMNS)} V1 columns, got {len(names)} columns" + _first_difference(names),
        source=source,
        line=line,
        value="\t".join(header_cells)[:200],
    )


def _first_difference(names: tuple[str, ...]) -> str:
    """A hint naming the first column that departs from the nearest layout."""
    expected = V1_COLUMNS if len(names) > len(V2_COLUMNS_WITH_PROMOTION) else V2_COLUMNS
    for position, (got, want) in enumerate(zip(names, expected, strict=False), start=1):
        if got != want:
            return f"; column {position} is {got!r} where {want!r} was expected"
    return ""
