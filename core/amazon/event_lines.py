"""A closed financial event group, read back as the settlement lines its report would carry.

``getReports`` only sees the last 90 days of settlement reports; older settlements are reached
through Finances v0 (``listFinancialEventGroups`` + ``listFinancialEventsByGroupId``). This
module turns one *closed* group and its events into a :class:`SettlementHeader` and
:class:`SettlementLine` records in the V2 flat file's vocabulary, so the same posting rules book
them. What maps exactly and what is approximated:

===============================  ================================================================
event                            settlement line(s): (transaction-type, amount-type, description)
===============================  ================================================================
``ShipmentEventList``            ``Order``: ``ItemChargeList`` -> (ItemPrice, ChargeType),
                                 ``ItemFeeList`` -> (ItemFees, FeeType), ``PromotionList`` ->
                                 (Promotion, Principal | Shipping), ``ItemTaxWithheldList`` ->
                                 (ItemWithheldTax, ChargeType); order-level ``OrderChargeList``
                                 / ``OrderFeeList`` / ``ShipmentFeeList`` the same way
``RefundEventList``              ``Refund``: the same from the ``...AdjustmentList`` fields
``ServiceFeeEventList``          (other-transaction, other-transaction, FeeDescription or FeeType)
``ProductAdsPaymentEventList``   (ServiceFee, Cost of Advertising, TransactionTotalAmount),
                                 amount ``transactionValue``
``AdjustmentEventList``          (other-transaction, FBA Inventory Reimbursement,
                                 AdjustmentType in CamelCase) for ``*REIMBURSEMENT*`` types,
                                 (other-transaction, other-transaction, AdjustmentType) otherwise
===============================  ================================================================

Approximations, stated once here and in ``docs/amazon.md``:

- **Reserves have no event.** The group's ``BeginningBalance`` is the reserve released from the
  previous settlement: it becomes a ``Previous Reserve Amount Balance`` line. Whatever remains
  between ``OriginalTotal`` and the lines is the reserve held back this period: a
  ``Current Reserve Amount`` line. So the lines sum to the total by construction, and any event
  Amazon did not send (a deferred one, say) would hide inside that derived reserve; the report,
  when it arrives, is compared line by line and the differences are reported.
- A promotion's description (Principal or Shipping) is read from ``PromotionType`` (Shipping
  when it names shipping). Service fees carry no posted date in the model: they are dated at
  the group's end. The released reserve is dated at the group's start, the held one at its end.
- Events that add up to less than the total (a "held" reserve that would be positive) mean
  events are missing: such a group raises :class:`EventsIncomplete`.
- Event lists not in the table (chargebacks, retrocharges, loans, ...) are not converted: such a
  group raises :class:`UnsupportedEvents` instead of being booked with a guessed meaning.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from ml_connector.core.errors import InputError
from ml_connector.ledger.money import require_exact
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine

BACKFILL_PREFIX = "FEG-"
SUPPORTED_LISTS = frozenset(
    {
        "ShipmentEventList",
        "RefundEventList",
        "ServiceFeeEventList",
        "ProductAdsPaymentEventList",
        "AdjustmentEventList",
    }
)
RESERVE_RELEASED = ("other-transaction", "other-transaction", "Previous Reserve Amount Balance")
RESERVE_HELD = ("other-transaction", "other-transaction", "Current Reserve Amount")


class UnsupportedEvents(InputError):
    """A group holds events of a kind this conversion does not know how to book faithfully."""


class EventsIncomplete(InputError):
    """The events explain more than the group's total: some are missing (a held reserve is
    never positive), so the derived reserve would be a guess."""


def backfill_settlement_id(group_id: str) -> str:
    """The settlement id a backfilled group is booked under (``FEG-`` + the group id).

    Finances v0 does not give a group's settlement id, so the group id stands in for it; a
    report arriving later for the same period is recognised by its period, not its id.
    """
    return BACKFILL_PREFIX + group_id


def parse_instant(value: object, *, field: str) -> dt.datetime:
    """An ISO 8601 instant from Amazon as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        raise InputError("expected an ISO 8601 date-time", field=field, value=value)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError("not an ISO 8601 date-time", field=field, value=value) from None
    if parsed.tzinfo is None:
        raise InputError("date-time without a time zone", field=field, value=value)
    return parsed.astimezone(dt.UTC)


def _money(value: object, *, field: str, currency: str | None = None) -> tuple[Decimal, str]:
    """``(amount, currency)`` of a Finances ``Currency`` object, exact for its currency."""
    if not isinstance(value, Mapping):
        raise InputError("expected a Currency object", field=field, value=value)
    code = value.get("CurrencyCode")
    if not isinstance(code, str) or not code:
        raise InputError("CurrencyCode is missing", field=f"{field}.CurrencyCode", value=code)
    if currency is not None and code != currency:
        raise InputError(f"the group is in {currency}", field=f"{field}.CurrencyCode", value=code)
    amount = value.get("CurrencyAmount")
    if isinstance(amount, int) and not isinstance(amount, bool):
        amount = Decimal(amount)
    return require_exact(amount, code, field=f"{field}.CurrencyAmount"), code


def _camel(name: str) -> str:
    """``REVERSAL_REIMBURSEMENT`` -> ``ReversalReimbursement``."""
    return "".join(part.capitalize() for part in re.split(r"[_\s]+", name) if part)


class _Lines:
    """Accumulates lines for one group, numbered in the order the events came."""

    def __init__(self, settlement_id: str, currency: str, source: str) -> None:
        self.settlement_id = settlement_id
        self.currency = currency
        self.source = source
        self.lines: list[SettlementLine] = []

    def add(
        self,
        combination: tuple[str, str, str],
        money: object,
        *,
        field: str,
        posted: dt.datetime | None,
        **extra: Any,
    ) -> None:
        amount, _ = _money(money, field=field, currency=self.currency)
        transaction_type, amount_type, description = combination
        self.lines.append(
            SettlementLine(
                settlement_id=self.settlement_id,
                line_no=len(self.lines) + 1,
                transaction_type=transaction_type,
                amount_type=amount_type,
                amount_description=description,
                amount=amount,
                currency=self.currency,
                posted_date=posted.date() if posted else None,
                posted_at=posted,
                source=self.source,
                **extra,
            )
        )

    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


def _order_event(out: _Lines, event: Mapping[str, Any], refund: bool, where: str) -> None:
    transaction_type = "Refund" if refund else "Order"
    suffix = "AdjustmentList" if refund else "List"
    posted = parse_instant(event.get("PostedDate"), field=f"{where}.PostedDate")
    order_id = str(event.get("AmazonOrderId") or "")
    seller_order_id = str(event.get("SellerOrderId") or "")
    common: dict[str, Any] = {
        "order_id": order_id,
        "merchant_order_id": "" if seller_order_id == order_id else seller_order_id,
        "marketplace": str(event.get("MarketplaceName") or ""),
    }
    for list_name, amount_type, kind in (
        (f"OrderCharge{suffix}", "ItemPrice", "Charge"),
        (f"OrderFee{suffix}", "ItemFees", "Fee"),
        (f"ShipmentFee{suffix}", "ItemFees", "Fee"),
    ):
        for n, charge in enumerate(event.get(list_name) or []):
            out.add(
                (transaction_type, amount_type, str(charge.get(f"{kind}Type") or "")),
                charge.get(f"{kind}Amount"),
                field=f"{where}.{list_name}[{n}]",
                posted=posted,
                **common,
            )
    for i, item in enumerate(event.get(f"ShipmentItem{suffix}") or []):
        item_where = f"{where}.ShipmentItem{suffix}[{i}]"
        quantity = item.get("QuantityShipped")
        per_item: dict[str, Any] = {
            **common,
            "order_item_code": str(item.get("OrderItemId") or ""),
            "sku": str(item.get("SellerSKU") or ""),
            "quantity": quantity if isinstance(quantity, int) else None,
        }
        for n, charge in enumerate(item.get(f"ItemCharge{suffix}") or []):
            out.add(
                (transaction_type, "ItemPrice", str(charge.get("ChargeType") or "")),
                charge.get("ChargeAmount"),
                field=f"{item_where}.ItemCharge{suffix}[{n}]",
                posted=posted,
                **per_item,
            )
        for n, withheld in enumerate(item.get("ItemTaxWithheldList") or []):
            for m, tax in enumerate(withheld.get("TaxesWithheld") or []):
                out.add(
                    (transaction_type, "ItemWithheldTax", str(tax.get("ChargeType") or "")),
                    tax.get("ChargeAmount"),
                    field=f"{item_where}.ItemTaxWithheldList[{n}].TaxesWithheld[{m}]",
                    posted=posted,
                    **per_item,
                )
        for n, fee in enumerate(item.get(f"ItemFee{suffix}") or []):
            out.add(
                (transaction_type, "ItemFees", str(fee.get("FeeType") or "")),
                fee.get("FeeAmount"),
                field=f"{item_where}.ItemFee{suffix}[{n}]",
                posted=posted,
                **per_item,
            )
        for n, promotion in enumerate(item.get(f"Promotion{suffix}") or []):
            kind = str(promotion.get("PromotionType") or "")
            description = "Shipping" if "ship" in kind.casefold() else "Principal"
            out.add(
                (transaction_type, "Promotion", description),
                promotion.get("PromotionAmount"),
                field=f"{item_where}.Promotion{suffix}[{n}]",
                posted=posted,
                promotion_id=str(promotion.get("PromotionId") or ""),
                **per_item,
            )


def _other_events(
    out: _Lines, name: str, event: Mapping[str, Any], where: str, end: dt.datetime
) -> None:
    if name == "ServiceFeeEventList":
        for n, fee in enumerate(event.get("FeeList") or []):
            description = str(event.get("FeeDescription") or fee.get("FeeType") or "")
            # ServiceFeeEvent has no posted date in the model: dated at the group's end.
            out.add(
                ("other-transaction", "other-transaction", description),
                fee.get("FeeAmount"),
                field=f"{where}.FeeList[{n}]",
                posted=end,
                sku=str(event.get("SellerSKU") or ""),
            )
    elif name == "ProductAdsPaymentEventList":
        out.add(
            ("ServiceFee", "Cost of Advertising", "TransactionTotalAmount"),
            event.get("transactionValue"),
            field=f"{where}.transactionValue",
            posted=parse_instant(event.get("postedDate"), field=f"{where}.postedDate"),
        )
    elif name == "AdjustmentEventList":
        kind = str(event.get("AdjustmentType") or "")
        if not kind:
            raise InputError("AdjustmentType is missing", field=f"{where}.AdjustmentType")
        if "REIMBURSEMENT" in kind.upper():
            combination = ("other-transaction", "FBA Inventory Reimbursement", _camel(kind))
        else:
            combination = ("other-transaction", "other-transaction", kind)
        items = event.get("AdjustmentItemList") or []
        sku = str(items[0].get("SellerSKU") or "") if len(items) == 1 else ""
        quantity_text = items[0].get("Quantity") if len(items) == 1 else None
        out.add(
            combination,
            event.get("AdjustmentAmount"),
            field=f"{where}.AdjustmentAmount",
            posted=parse_instant(event.get("PostedDate"), field=f"{where}.PostedDate"),
            sku=sku,
            quantity=int(str(quantity_text)) if str(quantity_text or "").isdigit() else None,
        )


def settlement_from_events(
    group: Mapping[str, Any], pages: Iterable[Mapping[str, Any]]
) -> tuple[SettlementHeader, list[SettlementLine]]:
    """The settlement of a closed ``FinancialEventGroup`` from its ``FinancialEvents`` pages.

    Raises :class:`InputError` (naming the group and the field) for an open group or a missing
    or inexact amount, and :class:`UnsupportedEvents` for event lists it does not convert.
    """
    group_id = group.get("FinancialEventGroupId")
    if not isinstance(group_id, str) or not group_id:
        raise InputError("FinancialEventGroupId is missing", field="FinancialEventGroupId")
    where = f"financial event group {group_id}"
    if group.get("ProcessingStatus") != "Closed":
        raise InputError(
            f"{where} is not closed: it is no settlement yet",
            field="ProcessingStatus",
            value=group.get("ProcessingStatus"),
        )
    total, currency = _money(group.get("OriginalTotal"), field=f"{where} OriginalTotal")
    start = parse_instant(
        group.get("FinancialEventGroupStart"), field=f"{where} FinancialEventGroupStart"
    )
    end = parse_instant(
        group.get("FinancialEventGroupEnd"), field=f"{where} FinancialEventGroupEnd"
    )
    deposit = parse_instant(group.get("FundTransferDate"), field=f"{where} FundTransferDate")
    settlement_id = backfill_settlement_id(group_id)
    source = f"financial events of group {group_id}"
    out = _Lines(settlement_id, currency, source)
    beginning = group.get("BeginningBalance")
    released = (
        _money(beginning, field=f"{where} BeginningBalance", currency=currency)[0]
        if beginning is not None
        else Decimal(0)
    )
    if released:
        out.add(RESERVE_RELEASED, beginning, field=f"{where} BeginningBalance", posted=start)
    for p, page in enumerate(pages):
        unknown = sorted(
            name for name, events in page.items() if events and name not in SUPPORTED_LISTS
        )
        if unknown:
            raise UnsupportedEvents(
                f"{where} holds events the backfill does not convert: {', '.join(unknown)}; "
                "book this settlement from its report (download it from Seller Central)",
                field="FinancialEvents",
                value=unknown,
            )
        for name in sorted(SUPPORTED_LISTS):
            for n, event in enumerate(page.get(name) or []):
                event_where = f"{where} page {p + 1} {name}[{n}]"
                if name in ("ShipmentEventList", "RefundEventList"):
                    _order_event(out, event, name == "RefundEventList", event_where)
                else:
                    _other_events(out, name, event, event_where, end)
    held = total - out.total()
    if held > 0:
        raise EventsIncomplete(
            f"{where}: the events add up to {out.total()} {currency} but Amazon paid {total}; "
            "events are missing (Amazon serves events by group for two years only)",
            field="OriginalTotal",
            value=str(total),
        )
    if held:
        out.add(
            RESERVE_HELD,
            {"CurrencyCode": currency, "CurrencyAmount": held},
            field=f"{where} derived reserve",
            posted=end - dt.timedelta(seconds=1),
        )
    header = SettlementHeader(
        settlement_id=settlement_id,
        start=start,
        end=end,
        deposit_date=deposit,
        total_amount=total,
        currency=currency,
        source=source,
    )
    return header, out.lines
