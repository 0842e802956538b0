"""Comparing the lines Finances API events describe with the settlement report's lines.

The engine can build :class:`SettlementLine` records from Finances API events before the report
arrives. When the report comes, the report is authoritative; :func:`compare_lines` says where
the two disagree, keyed by order id and combination, so the engine reports differences instead
of booking the same money twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ml_connector.ledger.money import format_amount
from ml_connector.ledger.posting.checks import combination_key
from ml_connector.ledger.settlement import SettlementLine

DifferenceKind = Literal["missing_in_report", "missing_in_events", "amount_differs"]


@dataclass(frozen=True, slots=True)
class LineDifference:
    """Where events and report disagree for one order (``""``: not order-related) and combination."""

    order_id: str
    transaction_type: str
    amount_type: str
    amount_description: str
    currency: str
    event_amount: Decimal
    report_amount: Decimal
    event_lines: int
    report_lines: int

    @property
    def combination(self) -> tuple[str, str, str]:
        return (self.transaction_type, self.amount_type, self.amount_description)

    @property
    def difference(self) -> Decimal:
        """Events minus report: what the events say beyond the report."""
        return self.event_amount - self.report_amount

    @property
    def kind(self) -> DifferenceKind:
        if self.report_lines == 0:
            return "missing_in_report"
        if self.event_lines == 0:
            return "missing_in_events"
        return "amount_differs"

    def to_dict(self) -> dict[str, object]:
        return {
            "order_id": self.order_id,
            "transaction_type": self.transaction_type,
            "amount_type": self.amount_type,
            "amount_description": self.amount_description,
            "currency": self.currency,
            "kind": self.kind,
            "event_amount": format_amount(self.event_amount, self.currency),
            "report_amount": format_amount(self.report_amount, self.currency),
            "difference": format_amount(self.difference, self.currency),
            "event_lines": self.event_lines,
            "report_lines": self.report_lines,
        }


_Key = tuple[str, tuple[str, str, str], str]  # order id, combination key, currency


@dataclass
class _Side:
    amount: Decimal
    count: int
    example: SettlementLine


def _sum_by_key(lines: Iterable[SettlementLine]) -> dict[_Key, _Side]:
    sides: dict[_Key, _Side] = {}
    for line in lines:
        key = (line.order_id.strip(), combination_key(line), line.currency)
        side = sides.get(key)
        if side is None:
            sides[key] = _Side(line.amount, 1, line)
        else:
            side.amount += line.amount
            side.count += 1
            if (line.source, line.line_no) < (side.example.source, side.example.line_no):
                side.example = line
    return sides


def compare_lines(
    event_lines: Iterable[SettlementLine], report_lines: Iterable[SettlementLine]
) -> list[LineDifference]:
    """Every (order id, combination, currency) whose amounts differ between the two sources.

    Amounts are summed per key on each side (an order's two shipments may be two lines in one
    source and one in the other), so only real differences are reported. Combinations compare
    as rules do (case and surrounding blanks ignored). The result is sorted by order id, then
    combination, then currency; it is empty when the sources agree.
    """
    events = _sum_by_key(event_lines)
    report = _sum_by_key(report_lines)
    differences = []
    for key in sorted(events.keys() | report.keys()):
        event_side, report_side = events.get(key), report.get(key)
        event_amount = event_side.amount if event_side else Decimal(0)
        report_amount = report_side.amount if report_side else Decimal(0)
        if event_side and report_side and event_amount == report_amount:
            continue
        # Name the combination as the report spells it, falling back to the events' spelling.
        present = [side for side in (report_side, event_side) if side is not None]
        named = present[0].example
        order_id, _, currency = key
        differences.append(
            LineDifference(
                order_id=order_id,
                transaction_type=named.transaction_type,
                amount_type=named.amount_type,
                amount_description=named.amount_description,
                currency=currency,
                event_amount=event_amount,
                report_amount=report_amount,
                event_lines=event_side.count if event_side else 0,
                report_lines=report_side.count if report_side else 0,
            )
        )
    return differences
