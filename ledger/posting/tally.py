"""One pass over a settlement's lines: everything its checks and its entries need.

A settlement report can hold a million lines; booking must not hold them. :class:`SettlementTally`
reads the lines once, as they stream from the file, and keeps only sums per *group* (posted day,
marketplace, the rule the line matched, and in per-order mode the order an invoiced line
belongs to), with counts and one example line per settlement id, currency and unmapped
combination. Its memory is bounded by the number of distinct groups, never by the lines.

The checks (:mod:`.checks`) and the settlement and payout entries (:mod:`.booking`) are computed
from a tally alone. Per-order mode's order entries need each order's lines by rule, which a tally
does not keep: they come from a second pass over the same lines, and the tally records what
that pass needs (which orders' invoiced lines are not contiguous, and the count and sum it
must see again).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ml_connector.ledger.marketplaces import by_site
from ml_connector.ledger.rules import Rule, RuleTable
from ml_connector.ledger.settlement import SettlementLine

# Per-order mode invoices these: what the customer was charged for an order, and its discounts.
INVOICED_TRANSACTION = "order"
INVOICED_AMOUNT_TYPES = frozenset({"itemprice", "promotion"})

#: A group of lines summed together: (posted day or None, marketplace-name as written, the rule
#: the lines matched or None for per-order receivable lines, the order id of those or "").
GroupKey = tuple[dt.date | None, str, Rule | None, str]


def combination_key(line: SettlementLine) -> tuple[str, str, str]:
    """A line's combination as rules compare it: trimmed and case-folded."""
    transaction_type, amount_type, amount_description = line.combination
    return (
        transaction_type.strip().casefold(),
        amount_type.strip().casefold(),
        amount_description.strip().casefold(),
    )


def file_position(line: SettlementLine) -> tuple[str, int]:
    """Where a line sits in its source: the order "first line" means, whatever the feed order."""
    return (line.source, line.line_no)


def is_invoiced_combination(transaction_type: str, amount_type: str) -> bool:
    """Whether per-order mode invoices lines of this kind (when they name an order)."""
    return (
        transaction_type.strip().casefold() == INVOICED_TRANSACTION
        and amount_type.strip().casefold() in INVOICED_AMOUNT_TYPES
    )


class Seen:
    """How many lines share something, and the first of them in the file."""

    __slots__ = ("count", "first")

    def __init__(self, line: SettlementLine) -> None:
        self.count = 1
        self.first = line

    def add(self, line: SettlementLine) -> None:
        self.count += 1
        if file_position(line) < file_position(self.first):
            self.first = line


def _note(seen: dict[Any, Seen], key: Any, line: SettlementLine) -> None:
    found = seen.get(key)
    if found is None:
        seen[key] = Seen(line)
    else:
        found.add(line)


class SettlementTally:
    """The sums, counts and examples of a settlement's lines, gathered in one pass.

    ``settlement_id`` and ``currency`` are the summary row's, when the file has one: lines of
    that settlement and currency are only counted, any other line is noted with its example.
    Feed it every line (:meth:`feed`, in any order and any number of calls); then read:

    - ``lines``, ``lines_sum``: how many lines, and their sum;
    - ``other_ids``, ``other_currencies``: each settlement id and currency other than the
      expected ones (every one when none is expected), with its count and first line;
    - ``unmapped``: each combination no rule matched (trimmed, case-folded), count and first line;
    - ``marketplaces``: lines per ``marketplace-name`` as written;
    - ``groups``: the amount of each :data:`GroupKey` (mapped lines only);
    - ``first_line``: the first line fed (its currency names a settlement's amounts in messages);
    - ``split_orders``: per-order mode, orders whose invoiced lines are not all adjacent;
      ``invoiced_lines`` and ``invoiced_sum`` count and sum the invoiced lines.
    """

    def __init__(
        self,
        rules: RuleTable,
        *,
        per_order: bool,
        settlement_id: str | None = None,
        currency: str | None = None,
    ) -> None:
        self.rules = rules
        self.per_order = per_order
        self.settlement_id = settlement_id
        self.currency = currency
        self.lines = 0
        self.lines_sum = Decimal(0)
        self.other_ids: dict[str, Seen] = {}
        self.other_currencies: dict[str, Seen] = {}
        self.unmapped: dict[tuple[str, str, str], Seen] = {}
        self.marketplaces: dict[str, int] = {}
        self.groups: dict[GroupKey, Decimal] = {}
        self.first_line: SettlementLine | None = None
        self.split_orders: set[str] = set()
        self.invoiced_lines = 0
        self.invoiced_sum = Decimal(0)
        self._orders_seen: set[str] = set()
        self._last_order = ""
        # Combination as written -> (rule or None, invoiced in per-order mode when it has an
        # order id). A file spells a few dozen combinations; matching is a dict look-up per line.
        self._kinds: dict[tuple[str, str, str], tuple[Rule | None, bool]] = {}

    @property
    def kinds(self) -> dict[tuple[str, str, str], tuple[Rule | None, bool]]:
        """What :meth:`kind_of` has answered so far, by combination as written (read only)."""
        return self._kinds

    def kind_of(self, line: SettlementLine) -> tuple[Rule | None, bool]:
        """The rule ``line`` matches (None: unmapped) and whether per-order mode invoices it."""
        combination = (line.transaction_type, line.amount_type, line.amount_description)
        kind = self._kinds.get(combination)
        if kind is None:
            rule = self.rules.match_combination(*combination)
            invoiced = self.per_order and is_invoiced_combination(*combination[:2])
            kind = self._kinds[combination] = (rule, invoiced)
        return kind

    def feed(self, lines: Iterable[SettlementLine]) -> SettlementTally:
        """Add ``lines`` to the tally; returns the tally."""
        # The hot loop of booking: locals instead of attributes, dict look-ups only.
        kinds, kind_of = self._kinds, self.kind_of
        groups, marketplaces = self.groups, self.marketplaces
        expected_id, expected_currency = self.settlement_id, self.currency
        count, total = 0, Decimal(0)
        invoiced_count, invoiced_total = 0, Decimal(0)
        for line in lines:
            if self.first_line is None:
                self.first_line = line
            count += 1
            amount = line.amount
            total += amount
            if line.settlement_id != expected_id:
                _note(self.other_ids, line.settlement_id, line)
            if line.currency != expected_currency:
                _note(self.other_currencies, line.currency, line)
            marketplace = line.marketplace
            marketplaces[marketplace] = marketplaces.get(marketplace, 0) + 1
            kind = kinds.get((line.transaction_type, line.amount_type, line.amount_description))
            rule, invoiced = kind if kind is not None else kind_of(line)
            if rule is None:
                _note(self.unmapped, combination_key(line), line)
                continue
            order_id = line.order_id
            if invoiced and order_id:
                group: GroupKey = (line.posted_date, marketplace, None, order_id)
                invoiced_count += 1
                invoiced_total += amount
                if order_id != self._last_order:
                    self._order_run(order_id)
            else:
                group = (line.posted_date, marketplace, rule, "")
            groups[group] = groups.get(group, 0) + amount
        self.lines += count
        self.lines_sum += total
        self.invoiced_lines += invoiced_count
        self.invoiced_sum += invoiced_total
        return self

    def _order_run(self, order_id: str) -> None:
        """An order's invoiced lines start (again): note orders that come back after a gap."""
        if order_id in self._orders_seen:
            self.split_orders.add(order_id)
        else:
            self._orders_seen.add(order_id)
        self._last_order = order_id

    def main_marketplace(self, home: str) -> str:
        """The marketplace most lines name; ties go to the alphabetically first code.

        ``home`` is the answer when no line names a known marketplace.
        """
        counts: dict[str, int] = {}
        for site, lines in self.marketplaces.items():
            found = by_site(site)
            if found is not None:
                counts[found.code] = counts.get(found.code, 0) + lines
        if not counts:
            return home
        return min(counts.items(), key=lambda item: (-item[1], item[0]))[0]

    def reserve_sums(self, categories: Iterable[str]) -> dict[str, Decimal]:
        """The amount of the mapped lines of each of ``categories`` that has any line."""
        wanted = frozenset(categories)
        sums: dict[str, Decimal] = {}
        for (_day, _site, rule, _order), amount in self.groups.items():
            if rule is not None and rule.category in wanted:
                sums[rule.category] = sums.get(rule.category, Decimal(0)) + amount
        return sums
