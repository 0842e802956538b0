"""Booking a settlement: its lines and deposit become balanced journal entries, or a hold.

The accounting (``shared/DESIGN.md`` §3, ``docs/reconciliation.md``):

- every line posts its ``amount`` to its marketplace's clearing account and the opposite to the
  account its combination's rule names; a line with a blank or unknown marketplace-name belongs
  to the settlement's main marketplace (the one most lines name, ties to the first code in
  alphabetical order);
- the payout entry takes out of each clearing account exactly what that marketplace's lines put
  in, and posts the total to the payout bank account (credits it when the total is negative:
  Amazon charged you), so every clearing account nets to zero for the settlement;
- **summary** mode books one settlement entry with the lines grouped by account, marketplace and
  category; **per-order** mode first books each order's item-price and promotion lines as an
  order entry (Dr receivable, Cr income, tax, promotions), and the settlement moves those
  amounts from clearing to the receivable instead of booking the income again, in receivable
  entries of at most :data:`RECEIVABLE_BATCH` orders each (Cr receivable per order, Dr clearing,
  orders in id order), each balanced, so neither an entry nor memory grows with the orders;
- with ``split_by_month`` the settlement entry is cut into one entry per calendar month of the
  lines' posted dates; the payout stays one entry on the deposit date.

Everything is derived from the settlement id and what each entry is, and grouped in a fixed
order, so booking the same settlement twice, or its lines in any order, yields identical entries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from types import MappingProxyType
from typing import Literal

from ml_connector.ledger.accounts import validate_account_path
from ml_connector.ledger.entries import (
    JournalEntry,
    Posting,
    balanced_entry,
    entry_id,
    entry_ids,
    exact_posting,
    frozen_meta,
)
from ml_connector.ledger.errors import ConnectorError, InputError
from ml_connector.ledger.marketplaces import by_site
from ml_connector.ledger.money import format_amount
from ml_connector.ledger.posting.checks import (
    HOLD_LINES_DO_NOT_SUM,
    HOLD_RESERVE_UNPAIRED,
    HoldReason,
    UnmappedCombination,
    first_settlement_id,
    hold_reasons,
    money_text,
    unmapped_combinations,
)
from ml_connector.ledger.posting.conventions import (
    CATEGORY_CLEARING,
    CATEGORY_PAYOUT,
    CATEGORY_RECEIVABLE,
    CATEGORY_UNRECONCILED,
    DEFAULT_PAYOUT_ACCOUNT,
    KIND_ORDER,
    KIND_PAYOUT,
    KIND_SETTLEMENT,
    META_BATCH,
    META_CURRENCY,
    META_DEPOSIT_DATE,
    META_DIFFERENCE,
    META_DIFFERENCE_ACCOUNT,
    META_END,
    META_MODE,
    META_MONTH,
    META_ORDER_ID,
    META_RELEASE_NOTE,
    META_RELEASED_HOLDS,
    META_SETTLEMENT_ID,
    META_START,
    META_TOTAL,
    MODE_PER_ORDER,
    MODES,
    RECEIVABLE_ACCOUNT,
    clearing_account,
    home_marketplace,
    is_clearing,
    order_source,
    posting_memo,
    settlement_source,
)
from ml_connector.ledger.posting.tally import SettlementTally
from ml_connector.ledger.rules import RuleTable
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine

Mode = Literal["summary", "per-order"]

#: Orders per receivable entry in per-order mode: the settlement pays its orders' receivables
#: in entries of at most this many orders, so memory and entry size stay bounded.
RECEIVABLE_BATCH = 1000
Status = Literal["booked", "hold", "unmapped"]


class OrdersApart(ConnectorError):
    """One pass cannot make this settlement's order entries: an order's invoiced lines come
    apart (its entry was made when its first run of lines ended), or an invoiced line names no
    known marketplace (it belongs to the main one, known only at the end). Book the file with
    :func:`plan_settlement` and a second pass instead; nothing of the first pass may be kept."""


def payout_entry_id(settlement_id: str) -> str:
    """The id of a settlement's payout entry, which every booking of it has: known before its
    lines are read, it tells whether the settlement was booked (and rolled back) before."""
    return entry_id("amazon", "settlement", settlement_id, "payout")


@dataclass(frozen=True, slots=True)
class Booking:
    """The outcome of booking one settlement.

    ``status`` is ``booked`` (``entries`` holds everything to write), ``hold`` (a check failed:
    see ``hold_reasons``) or ``unmapped`` (some lines have no rule: see ``unmapped``). A held or
    unmapped settlement has no entries: it books whole or not at all. Both lists are filled
    whatever the status, so one run shows everything to fix.
    """

    settlement_id: str
    status: Status
    entries: tuple[JournalEntry, ...]
    hold_reasons: tuple[HoldReason, ...]
    unmapped: tuple[UnmappedCombination, ...]

    @property
    def booked(self) -> bool:
        return self.status == "booked"


@dataclass(frozen=True, slots=True)
class HoldRelease:
    """A bookkeeper's documented decision to book a held settlement anyway.

    ``book_difference_to`` releases a ``lines_do_not_sum`` hold: the difference between the
    lines and Amazon's total is booked, visibly, to that account. ``accept_unpaired_reserve``
    releases a ``reserve_unpaired`` hold. ``note`` (required) says why; it is kept in the
    entries' metadata with the decision.
    """

    note: str
    book_difference_to: str | None = None
    accept_unpaired_reserve: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.note, str) or not self.note.strip():
            raise InputError(
                "releasing a hold needs a note saying why", field="note", value=self.note
            )
        if self.book_difference_to is not None:
            _require_booking_account(self.book_difference_to, "book_difference_to")
        if self.book_difference_to is None and not self.accept_unpaired_reserve:
            raise InputError(
                "the decision releases nothing: give book_difference_to or accept_unpaired_reserve",
                field="release",
            )

    @property
    def codes(self) -> frozenset[str]:
        """The hold codes this decision releases."""
        codes = set()
        if self.book_difference_to is not None:
            codes.add(HOLD_LINES_DO_NOT_SUM)
        if self.accept_unpaired_reserve:
            codes.add(HOLD_RESERVE_UNPAIRED)
        return frozenset(codes)


def _require_booking_account(account: str, field: str) -> str:
    validate_account_path(account)
    if is_clearing(account):
        raise InputError(
            "must not be a clearing account: the clearing account is what the booking "
            "balances against",
            field=field,
            value=account,
        )
    return account


def book_settlement(
    header: SettlementHeader | None,
    lines: Iterable[SettlementLine],
    rules: RuleTable,
    *,
    mode: Mode = "summary",
    split_by_month: bool = False,
    payout_account: str = DEFAULT_PAYOUT_ACCOUNT,
    reserve_carried_in: Decimal | None = None,
) -> Booking:
    """Book one settlement (its summary row ``header`` and all its ``lines``) with ``rules``.

    ``reserve_carried_in``, the reserve balance the books hold before this settlement in its
    currency, lets a lone reserve line (the first reserve, or the last release) book without a
    hold; without it such a line holds the settlement for a person to confirm.

    Summary mode reads ``lines`` once, as they come; per-order mode keeps them for its second
    pass. To book a file too large to hold, use :func:`plan_settlement`.
    """
    kept = tuple(lines) if mode == MODE_PER_ORDER else lines
    plan = plan_settlement(
        header,
        kept,
        rules,
        mode=mode,
        split_by_month=split_by_month,
        payout_account=payout_account,
        reserve_carried_in=reserve_carried_in,
    )
    return plan.booking(kept if plan.needs_second_pass else ())


def release_hold(
    header: SettlementHeader,
    lines: Iterable[SettlementLine],
    rules: RuleTable,
    decision: HoldRelease,
    *,
    mode: Mode = "summary",
    split_by_month: bool = False,
    payout_account: str = DEFAULT_PAYOUT_ACCOUNT,
) -> Booking:
    """Book a held settlement under ``decision``, recording the decision in every entry.

    Only the holds the decision names are released; any other hold still holds the settlement
    (and a ``summary_missing``, ``foreign_line`` or ``mixed_currencies`` hold cannot be released:
    those need a corrected file). A decision naming a hold the settlement does not have is an
    error, so a stale decision is never applied to a corrected file by accident.
    """
    kept = tuple(lines) if mode == MODE_PER_ORDER else lines
    plan = plan_settlement(
        header,
        kept,
        rules,
        mode=mode,
        split_by_month=split_by_month,
        payout_account=payout_account,
        decision=decision,
    )
    return plan.booking(kept if plan.needs_second_pass else ())


def plan_settlement(
    header: SettlementHeader | None,
    lines: Iterable[SettlementLine],
    rules: RuleTable,
    *,
    mode: Mode | str = "summary",
    split_by_month: bool = False,
    payout_account: str = DEFAULT_PAYOUT_ACCOUNT,
    reserve_carried_in: Decimal | None = None,
    decision: HoldRelease | None = None,
    tally: SettlementTally | None = None,
) -> SettlementPlan:
    """The first (in summary mode the only) pass of booking: ``lines`` are read once, as they
    stream, and only sums per group are kept (:class:`~.tally.SettlementTally`).

    The plan says whether the settlement books (its status, hold reasons, unmapped
    combinations) and makes its entries: :meth:`SettlementPlan.entries` needs the same lines a
    second time in per-order mode (``needs_second_pass``), to make each order's entry.
    Arguments mean what they mean for :func:`book_settlement` and :func:`release_hold`;
    ``tally`` is an empty tally to fill (the one-pass path shares its rule look-ups).
    """
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}", field="mode", value=mode)
    _require_booking_account(payout_account, "payout_account")
    if tally is None:
        tally = SettlementTally(
            rules,
            per_order=mode == MODE_PER_ORDER,
            settlement_id=header.settlement_id if header else None,
            currency=header.currency if header else None,
        )
    tally.feed(lines)
    holds = hold_reasons(header, tally, reserve_carried_in)
    settlement_id = header.settlement_id if header else first_settlement_id(tally)
    if decision is not None:
        present = {hold.code for hold in holds}
        stale = decision.codes - present
        if stale:
            raise InputError(
                f"settlement {settlement_id} is not held for {', '.join(sorted(stale))}; "
                "the decision does not apply to this file",
                field="release",
                value=sorted(stale),
            )
        holds = tuple(hold for hold in holds if hold.code not in decision.codes)
    unmapped = unmapped_combinations(tally)
    if holds or unmapped or header is None:
        status: Status = "hold" if holds or header is None else "unmapped"
        return SettlementPlan(settlement_id, status, holds, unmapped, None)
    book = _SettlementBook(header, tally, mode, split_by_month, payout_account, decision)
    return SettlementPlan(settlement_id, "booked", (), (), book)


def plan_settlement_in_one_pass(
    header: SettlementHeader,
    lines: Iterable[SettlementLine],
    rules: RuleTable,
    *,
    write: Callable[[list[JournalEntry]], None],
    split_by_month: bool = False,
    payout_account: str = DEFAULT_PAYOUT_ACCOUNT,
    reserve_carried_in: Decimal | None = None,
    chunk: int = 2000,
) -> SettlementPlan:
    """Per-order mode in one pass: :func:`plan_settlement`, with each order's entry made as
    soon as its lines end and handed to ``write`` in lists of up to ``chunk`` entries, while
    the lines stream (Amazon's files keep an order's lines together).

    ``write`` sees order entries before anyone knows whether the settlement books: the caller
    writes them inside a transaction it rolls back unless the returned plan is booked, and then
    writes :meth:`SettlementPlan.settlement_entries` after them. Raises :class:`OrdersApart`
    (from the middle of the lines) when one pass cannot do it; the caller rolls back and books
    with two passes.
    """
    invoicer = _OrderInvoicer(header, _settlement_meta(header, MODE_PER_ORDER, None, Decimal(0)))
    tally = SettlementTally(
        rules, per_order=True, settlement_id=header.settlement_id, currency=header.currency
    )
    plan_lines = invoicer.watch(lines, tally, write, chunk)
    return plan_settlement(
        header,
        plan_lines,
        rules,
        mode=MODE_PER_ORDER,
        split_by_month=split_by_month,
        payout_account=payout_account,
        reserve_carried_in=reserve_carried_in,
        tally=tally,
    )


class SettlementPlan:
    """A settlement after its first pass: whether it books, and its entries to come.

    ``status``, ``hold_reasons`` and ``unmapped`` mean what they mean on :class:`Booking`. A
    booked plan makes its entries from its sums; per-order mode's order entries also need the
    settlement's lines once more (``needs_second_pass``), in any order.
    """

    __slots__ = ("settlement_id", "status", "hold_reasons", "unmapped", "_book")

    def __init__(
        self,
        settlement_id: str,
        status: Status,
        hold_reasons: tuple[HoldReason, ...],
        unmapped: tuple[UnmappedCombination, ...],
        book: _SettlementBook | None,
    ) -> None:
        self.settlement_id = settlement_id
        self.status = status
        self.hold_reasons = hold_reasons
        self.unmapped = unmapped
        self._book = book

    @property
    def booked(self) -> bool:
        return self._book is not None

    @property
    def needs_second_pass(self) -> bool:
        """Whether :meth:`entries` needs the lines again (a booked per-order settlement)."""
        return self._book is not None and self._book.per_order

    def settlement_entries(self) -> tuple[JournalEntry, ...]:
        """The settlement entries (one, or one per month) and the payout entry, last.

        Made from the first pass's sums alone; empty unless the settlement books.
        """
        return self._book.settlement_entries() if self._book is not None else ()

    def order_entries(self, lines: Iterable[SettlementLine]) -> Iterator[JournalEntry]:
        """Per-order mode: each order's invoice entry, made from a second pass over ``lines``.

        Entries come as the lines do: an order's entry once its adjacent lines end (an order
        whose lines the first pass saw apart waits for the end of the lines). Raises
        :class:`InputError` at the end if ``lines`` are not the lines of the first pass.
        """
        if self._book is None or not self._book.per_order:
            return iter(())
        return self._book.order_entries(lines)

    def entries(self, lines: Iterable[SettlementLine] = ()) -> Iterator[JournalEntry]:
        """Every entry to write: order entries (per-order mode, from ``lines``), then
        :meth:`settlement_entries`."""
        yield from self.order_entries(lines)
        yield from self.closing_entries()

    def receivable_entries(self) -> Iterator[JournalEntry]:
        """Per-order mode: the entries in which the settlement pays its orders' receivables,
        made from the first pass's sums, :data:`RECEIVABLE_BATCH` orders each in order id order
        (so they do not depend on the order of the lines), one at a time as they are read."""
        if self._book is None or not self._book.per_order:
            return iter(())
        return self._book.receivable_entries()

    def closing_entries(self) -> Iterator[JournalEntry]:
        """Every entry after the order entries: :meth:`receivable_entries`, then
        :meth:`settlement_entries` (the payout last)."""
        yield from self.receivable_entries()
        yield from self.settlement_entries()

    def booking(self, lines: Iterable[SettlementLine] = ()) -> Booking:
        """The whole outcome in memory, order entries sorted by order id (as
        :func:`book_settlement` returns it)."""
        if self._book is None:
            return Booking(self.settlement_id, self.status, (), self.hold_reasons, self.unmapped)
        orders = sorted(self.order_entries(lines), key=lambda entry: entry.meta[META_ORDER_ID])
        return Booking(self.settlement_id, "booked", (*orders, *self.closing_entries()), (), ())


# A grouped amount on the target side: (account, marketplace, category, order id).
_Target = tuple[str, str, str, str]


@dataclass
class _Part:
    """What one settlement entry (the whole settlement, or one month of it) accumulates."""

    clearing: defaultdict[str, Decimal]
    targets: defaultdict[_Target, Decimal]
    last_posted: dt.date
    # Per-order mode: what the invoiced lines put in clearing, per marketplace; the receivable
    # entries move it to the receivable, the payout takes it out with the rest.
    invoiced: defaultdict[str, Decimal]

    @classmethod
    def empty(cls, day: dt.date) -> _Part:
        return cls(defaultdict(Decimal), defaultdict(Decimal), day, defaultdict(Decimal))


class _Order:
    """One order's invoiced lines, summed: receivable per marketplace, credits per account."""

    __slots__ = ("receivable", "credits", "first_posted")

    def __init__(self, day: dt.date) -> None:
        self.receivable: defaultdict[str, Decimal] = defaultdict(Decimal)
        self.credits: defaultdict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        self.first_posted = day

    def merge(self, other: _Order) -> None:
        for marketplace, amount in other.receivable.items():
            self.receivable[marketplace] += amount
        for key, amount in other.credits.items():
            self.credits[key] += amount
        self.first_posted = min(self.first_posted, other.first_posted)


class _SettlementBook:
    """Builds the entries of one settlement that passed every check, from its tally."""

    def __init__(
        self,
        header: SettlementHeader,
        tally: SettlementTally,
        mode: str,
        split_by_month: bool,
        payout_account: str,
        decision: HoldRelease | None,
    ) -> None:
        self.header = header
        self.tally = tally
        self.mode = mode
        self.per_order = mode == MODE_PER_ORDER
        self.split_by_month = split_by_month
        self.payout_account = payout_account
        self.decision = decision
        self.currency = header.currency
        self.end_day = header.end.date()
        self.main_marketplace = tally.main_marketplace(home_marketplace(header.currency))
        self._codes: dict[str, str] = {}
        self._settlement_entries: tuple[JournalEntry, ...] | None = None
        self.meta = _settlement_meta(header, mode, decision, self.difference)
        self._invoicer = _OrderInvoicer(header, self.meta)

    @property
    def difference(self) -> Decimal:
        """What Amazon's total says beyond the lines (zero unless a hold was released)."""
        total: Decimal = self.header.total_amount
        lines_sum: Decimal = self.tally.lines_sum
        return total - lines_sum

    def marketplace_code(self, site: str) -> str:
        """The marketplace a ``marketplace-name`` stands for; blank or unknown: the main one."""
        code = self._codes.get(site)
        if code is None:
            found = by_site(site)
            code = self._codes[site] = found.code if found is not None else self.main_marketplace
        return code

    def settlement_entries(self) -> tuple[JournalEntry, ...]:
        # Made once: in per-order mode the settlement entry has a posting per order.
        if self._settlement_entries is None:
            parts = self._parts()
            made = [
                entry
                for key, part in sorted(parts.items())
                if (entry := self._settlement_entry(key, part)) is not None
            ]
            self._settlement_entries = (*made, self._payout_entry(parts.values()))
        return self._settlement_entries

    def receivable_entries(self) -> Iterator[JournalEntry]:
        """Per-order mode: Cr the receivable of each order the settlement pays, Dr the clearing
        account of its marketplace, :data:`RECEIVABLE_BATCH` orders per entry (per month with
        ``split_by_month``), in order id order, each entry balanced on its own. Made one at a
        time from the tally's per-order sums, so no entry grows with the settlement."""
        split, end_day, groups = self.split_by_month, self.end_day, self.tally.groups
        # The tally's own keys, sorted in place: no copy of the per-order sums is made.
        invoiced = [key for key in groups if key[2] is None]
        if split:
            invoiced.sort(key=lambda key: (f"{key[0] or end_day:%Y-%m}", key[3]))
        else:
            invoiced.sort(key=itemgetter(3))
        batch: dict[tuple[str, str], Decimal] = {}
        batch_key, last_order, last_day, number, orders = "", "", end_day, 0, 0
        for group in invoiced:
            posted, site, _rule, order_id = group
            day = posted or end_day
            key = f"{day:%Y-%m}" if split else ""
            marketplace = self.marketplace_code(site)
            amount = groups[group]
            if batch and (
                key != batch_key or (order_id != last_order and orders >= RECEIVABLE_BATCH)
            ):
                entry = self._receivable_entry(batch_key, number, batch, last_day)
                if entry is not None:
                    number += 1
                    yield entry
                batch = {}
            if not batch:
                batch_key, last_day, orders, last_order = key, day, 0, ""
            if order_id != last_order:
                orders += 1
            last_order, last_day = order_id, max(last_day, day)
            batch[(order_id, marketplace)] = batch.get((order_id, marketplace), 0) + amount
        if batch:
            entry = self._receivable_entry(batch_key, number, batch, last_day)
            if entry is not None:
                yield entry

    def _receivable_entry(
        self, key: str, number: int, batch: dict[tuple[str, str], Decimal], last_day: dt.date
    ) -> JournalEntry | None:
        currency = self.currency
        clearing: defaultdict[str, Decimal] = defaultdict(Decimal)
        cleared = []
        # Sorted: the batch was filled in the order of the tally, which follows the lines.
        for (order_id, marketplace), amount in sorted(batch.items()):
            if amount != 0:
                clearing[marketplace] += amount
                cleared.append(
                    Posting(
                        RECEIVABLE_ACCOUNT,
                        -amount,
                        currency,
                        marketplace,
                        posting_memo(CATEGORY_RECEIVABLE, order_id),
                    )
                )
        postings = [
            Posting(clearing_account(mp), amount, currency, mp, posting_memo(CATEGORY_CLEARING))
            for mp, amount in sorted(clearing.items())
            if amount != 0
        ]
        postings += cleared
        if len(postings) < 2:
            return None  # every order in the batch netted to zero: nothing to pay
        sid = self.header.settlement_id
        orders = f"orders {min(batch)[0]} to {max(batch)[0]}"
        if self.split_by_month:
            description = f"Amazon settlement {sid} pays {orders}, lines posted in {key}"
            meta = {**self.meta, META_MONTH: key, META_BATCH: str(number)}
            day = last_day
        else:
            description = f"Amazon settlement {sid} pays {orders}"
            meta = {**self.meta, META_BATCH: str(number)}
            day = self.end_day
        return JournalEntry(
            id=entry_id(
                "amazon", "settlement", sid, "receivable", *([key] if key else []), str(number)
            ),
            date=day,
            description=description,
            source_ref=settlement_source(sid),
            postings=tuple(postings),
            kind=KIND_SETTLEMENT,
            meta=meta,
        )

    # --- settlement entries ----------------------------------------------------------------

    def _parts(self) -> dict[str, _Part]:
        parts: dict[str, _Part] = {}
        for (posted, site, rule, _order), amount in self.tally.groups.items():
            day = posted or self.end_day
            key = f"{day:%Y-%m}" if self.split_by_month else ""
            part = parts.get(key)
            if part is None:
                part = parts[key] = _Part.empty(day)
            part.last_posted = max(part.last_posted, day)
            marketplace = self.marketplace_code(site)
            if rule is None:
                # An invoiced line: the settlement pays the order's receivable, in the
                # receivable entries (:meth:`receivable_entries`), not in this part's entry.
                part.invoiced[marketplace] += amount
                continue
            part.clearing[marketplace] += amount
            part.targets[(rule.account, marketplace, rule.category, "")] -= amount
        difference_account = self.decision.book_difference_to if self.decision else None
        if difference_account is not None:
            # The released difference goes with the settlement's last month, where Amazon
            # closed the settlement and the missing amount would have been.
            last = parts[max(parts)] if parts else parts.setdefault("", _Part.empty(self.end_day))
            last.clearing[self.main_marketplace] += self.difference
            target = (difference_account, self.main_marketplace, CATEGORY_UNRECONCILED, "")
            last.targets[target] -= self.difference
        return parts

    def _settlement_entry(self, key: str, part: _Part) -> JournalEntry | None:
        postings = [
            Posting(
                clearing_account(mp), amount, self.currency, mp, posting_memo(CATEGORY_CLEARING)
            )
            for mp, amount in sorted(part.clearing.items())
        ]
        postings += [
            Posting(account, amount, self.currency, mp, posting_memo(category, order_id))
            for (account, mp, category, order_id), amount in sorted(part.targets.items())
        ]
        postings = [p for p in postings if p.amount != 0]
        if len(postings) < 2:
            return None  # everything in this part netted to zero: nothing to book
        sid = self.header.settlement_id
        period = f"{self.header.start.date()} to {self.header.end.date()}"
        if self.split_by_month:
            description = f"Amazon settlement {sid} ({period}), lines posted in {key}"
            ident = entry_id("amazon", "settlement", sid, "lines", key)
            meta = {**self.meta, META_MONTH: key}
            day = part.last_posted
        else:
            description = f"Amazon settlement {sid} ({period})"
            ident = entry_id("amazon", "settlement", sid, "lines")
            meta = self.meta
            day = self.end_day
        return JournalEntry(
            id=ident,
            date=day,
            description=description,
            source_ref=settlement_source(sid),
            postings=tuple(postings),
            kind=KIND_SETTLEMENT,
            meta=meta,
        )

    # --- payout ------------------------------------------------------------------------------

    def _payout_entry(self, parts: Iterable[_Part]) -> JournalEntry:
        """The deposit (or charge). Always booked, even when nothing moved: it is the record
        that the settlement was booked, and it carries the settlement's facts."""
        put_in: defaultdict[str, Decimal] = defaultdict(Decimal)
        for part in parts:
            for marketplace, amount in part.clearing.items():
                put_in[marketplace] += amount
            for marketplace, amount in part.invoiced.items():
                put_in[marketplace] += amount
        total = self.header.total_amount
        clearing_memo = posting_memo(CATEGORY_CLEARING)
        postings = [
            Posting(clearing_account(mp), -amount, self.currency, mp, clearing_memo)
            for mp, amount in sorted(put_in.items())
            if amount != 0
        ]
        if not postings:
            # A settlement of zero with nothing in clearing: a zero leg keeps the entry whole.
            zero = Decimal(0)
            mp = self.main_marketplace
            postings.append(Posting(clearing_account(mp), zero, self.currency, mp, clearing_memo))
        postings.append(
            Posting(
                self.payout_account,
                total,
                self.currency,
                self.main_marketplace,
                posting_memo(CATEGORY_PAYOUT),
            )
        )
        sid = self.header.settlement_id
        amount_text = money_text(abs(total), self.currency)
        if total > 0:
            description = f"Amazon payout for settlement {sid}: deposit of {amount_text}"
        elif total < 0:
            description = (
                f"Amazon charge for settlement {sid}: {amount_text} taken from the bank account "
                "(the settlement was negative, so Amazon charged rather than paid)"
            )
        else:
            description = (
                f"Amazon settlement {sid} paid nothing: its marketplaces offset each other"
            )
        return JournalEntry(
            id=payout_entry_id(sid),
            date=self.header.deposit_date.date(),
            description=description,
            source_ref=settlement_source(sid),
            postings=tuple(postings),
            kind=KIND_PAYOUT,
            meta=self.meta,
        )

    # --- per-order invoices ------------------------------------------------------------------

    def order_entries(self, lines: Iterable[SettlementLine]) -> Iterator[JournalEntry]:
        tally, end_day = self.tally, self.end_day
        waiting: dict[str, _Order] = {}  # orders whose lines come apart: complete at the end
        current: _Order | None = None
        current_id = ""
        count, total = 0, Decimal(0)
        for line in lines:
            rule, invoiced = tally.kind_of(line)
            order_id = line.order_id
            if not (invoiced and order_id) or rule is None:
                continue
            count += 1
            total += line.amount
            day = line.posted_date or end_day
            if current is None or order_id != current_id:
                if current is not None:
                    entry = self._finish_order(current_id, current, waiting)
                    if entry is not None:
                        yield entry
                current, current_id = _Order(day), order_id
            elif day < current.first_posted:
                current.first_posted = day
            marketplace = self.marketplace_code(line.marketplace)
            current.receivable[marketplace] += line.amount
            current.credits[(rule.account, marketplace, rule.category)] -= line.amount
        if current is not None:
            entry = self._finish_order(current_id, current, waiting)
            if entry is not None:
                yield entry
        if count != tally.invoiced_lines or total != tally.invoiced_sum:
            raise InputError(
                f"settlement {self.header.settlement_id}: the second pass over its lines saw "
                f"{count} invoiced line(s) summing to {total}, the first {tally.invoiced_lines} "
                f"summing to {tally.invoiced_sum}; the file changed while it was booked",
                field="lines",
            )
        for order_id in sorted(waiting):
            entry = self._order_entry(order_id, waiting[order_id])
            if entry is not None:
                yield entry

    def _finish_order(
        self, order_id: str, order: _Order, waiting: dict[str, _Order]
    ) -> JournalEntry | None:
        """The entry of an order whose lines just ended, or None while more may come."""
        if order_id not in self.tally.split_orders:
            return self._order_entry(order_id, order)
        if order_id in waiting:
            waiting[order_id].merge(order)
        else:
            waiting[order_id] = order
        return None

    def _order_entry(self, order_id: str, order: _Order) -> JournalEntry | None:
        return self._invoicer.entry(order_id, order)


def _settlement_meta(
    header: SettlementHeader, mode: str, decision: HoldRelease | None, difference: Decimal
) -> dict[str, str]:
    """The metadata every entry of a settlement carries (and a released hold's decision)."""
    meta = {
        META_SETTLEMENT_ID: header.settlement_id,
        META_TOTAL: format_amount(header.total_amount, header.currency),
        META_CURRENCY: header.currency,
        META_DEPOSIT_DATE: header.deposit_date.isoformat(),
        META_START: header.start.isoformat(),
        META_END: header.end.isoformat(),
        META_MODE: mode,
    }
    if decision is not None:
        meta[META_RELEASED_HOLDS] = ",".join(sorted(decision.codes))
        meta[META_RELEASE_NOTE] = decision.note.strip()
        if decision.book_difference_to is not None:
            meta[META_DIFFERENCE_ACCOUNT] = decision.book_difference_to
            meta[META_DIFFERENCE] = format_amount(difference, header.currency)
    return meta


class _OrderInvoicer:
    """Makes per-order mode's order entries: one per order, from its invoiced lines' sums."""

    def __init__(self, header: SettlementHeader, meta: dict[str, str]) -> None:
        self.header = header
        self.meta = meta
        self.currency = header.currency
        self.end_day = header.end.date()
        self._receivable_memo = posting_memo(CATEGORY_RECEIVABLE)
        self._memos: dict[str, str] = {}
        # Every order entry's metadata is the settlement's plus its order id: the keys that
        # sort before and after the order id's, frozen once (frozen_meta checks them).
        base = frozen_meta({key: value for key, value in meta.items() if key != META_ORDER_ID})
        self._meta_before = {k: v for k, v in base.items() if k < META_ORDER_ID}
        self._meta_after = {k: v for k, v in base.items() if k > META_ORDER_ID}
        self._order_entry_id = entry_ids("amazon", "settlement", header.settlement_id, "order")

    def entry(self, order_id: str, order: _Order) -> JournalEntry | None:
        """The order's invoice entry; None when its charges and discounts cancel out.

        Made by :func:`exact_posting` and :func:`balanced_entry`: the same checks as the
        constructors (amounts on the minor unit, the entry balanced), without their copies.
        """
        currency, memos = self.currency, self._memos
        postings = [
            exact_posting(RECEIVABLE_ACCOUNT, amount, currency, mp, self._receivable_memo)
            for mp, amount in sorted(order.receivable.items())
            if amount != 0
        ]
        for (account, mp, category), amount in sorted(order.credits.items()):
            if amount != 0:
                memo = memos.get(category)
                if memo is None:
                    memo = memos[category] = posting_memo(category)
                postings.append(exact_posting(account, amount, currency, mp, memo))
        if len(postings) < 2:
            return None  # the order's charges and discounts cancel out: nothing to invoice
        sid = self.header.settlement_id
        return balanced_entry(
            id=self._order_entry_id(order_id),
            date=order.first_posted,
            description=f"Amazon order {order_id} (settled in {sid})",
            source_ref=order_source(order_id),
            postings=tuple(postings),
            kind=KIND_ORDER,
            meta=MappingProxyType(
                {**self._meta_before, META_ORDER_ID: order_id, **self._meta_after}
            ),
        )

    def watch(
        self,
        lines: Iterable[SettlementLine],
        tally: SettlementTally,
        write: Callable[[list[JournalEntry]], None],
        chunk: int,
    ) -> Iterator[SettlementLine]:
        """``lines`` unchanged, making each order's entry as its run of lines ends and passing
        them to ``write`` in lists of ``chunk``. Raises :class:`OrdersApart` as soon as an
        order's lines come back after another's, or an invoiced line's marketplace is unknown.
        ``tally`` must be the tally that feeds on what this yields (it tells the orders apart).
        """
        kinds, kind_of, end_day = tally.kinds, tally.kind_of, self.end_day
        codes: dict[str, str] = {}
        made: list[JournalEntry] = []
        current: _Order | None = None
        current_id = ""
        for line in lines:
            yield line
            order_id = line.order_id
            if not order_id:
                continue
            # The tally has classified the line already (it fed on it before asking for more).
            kind = kinds.get((line.transaction_type, line.amount_type, line.amount_description))
            rule, invoiced = kind if kind is not None else kind_of(line)
            if not invoiced or rule is None:
                continue
            day = line.posted_date or end_day
            if current is None or order_id != current_id:
                if current is not None:
                    entry = self.entry(current_id, current)
                    if entry is not None:
                        made.append(entry)
                        if len(made) >= chunk:
                            write(made)
                            made = []
                # ``tally`` has fed on this line already (it reads what this yields): it
                # knows whether the order's lines came back, without a set of our own.
                if order_id in tally.split_orders:
                    raise OrdersApart(
                        f"settlement {self.header.settlement_id}: the lines of order {order_id} "
                        f"come apart (again at {line.source} line {line.line_no})"
                    )
                current, current_id = _Order(day), order_id
            elif day < current.first_posted:
                current.first_posted = day
            site = line.marketplace
            marketplace = codes.get(site)
            if marketplace is None:
                found = by_site(site)
                if found is None:
                    raise OrdersApart(
                        f"settlement {self.header.settlement_id}: {line.source} line "
                        f"{line.line_no} names no known marketplace ({site!r})"
                    )
                marketplace = codes[site] = found.code
            current.receivable[marketplace] += line.amount
            current.credits[(rule.account, marketplace, rule.category)] -= line.amount
        if current is not None:
            entry = self.entry(current_id, current)
            if entry is not None:
                made.append(entry)
        if made:
            write(made)
